//! The HTML reporter: one self-contained page (inline CSS, a few lines of optional script, nothing
//! fetched) with the run's header, the problems first, the matrix (one row per case; a column per
//! client, grouped by server, so the whole of it fits a 1400 px window) with a "problems only"
//! switch, the known-failure entries, and, behind every matrix cell, that cell's detail: reason,
//! known-failure entry, repro commands, and every attempt's processes and transcript. Reasons, logs
//! and dumps are bounded ([`Limit::FILE`]); the JSON report keeps them whole.
//!
//! The "problems only" switch is a checkbox that a CSS `:has()` rule reads, so it needs no script.
//!
//! A detail is a `<section id="cell-…">` shown by the CSS `:target` rule, so links work with
//! JavaScript disabled; the script only adds copy buttons and closes a detail on Escape. Every string
//! from the report is escaped, and ids are derived from cell names injectively and then deduplicated.

use super::bounded::{self, Limit, plural};
use crate::results::{
    Attempt, BuildRecord, BuildState, CellReport, ConnectionTranscript, Direction, KnownRef, ProcessLog,
    RunReport, Status, Toolchain,
};
use indicatif::HumanCount;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Display, Write as _};

/// A stream longer than this (in lines or bytes) starts collapsed.
const COLLAPSE_LINES: usize = 30;
const COLLAPSE_BYTES: usize = 4096;
/// Client processes shown per attempt (the `concurrent` case has 16, all alike).
const CLIENTS: usize = 4;
/// A passing attempt's output: the first lines, enough to see what it did.
const QUIET: Limit = Limit { head: 8, tail: 0, alike: 3, width: 300 };
/// The longest reason put in a `title` tooltip.
const TITLE_CHARS: usize = 300;

const CSS: &str = r#"
:root{--fg:#1f2328;--mute:#656d76;--line:#d8dee4;--soft:#f6f8fa;font:15px/1.45 system-ui,sans-serif;color:var(--fg)}
body{margin:0 auto;padding:1rem 1.25rem 3rem;max-width:88rem}
h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;margin:1.8rem 0 .6rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}h2 code,h3 code{font-size:.95em}h4{font-size:.95rem;margin:.9rem 0 .3rem}
a{color:#0b5cad}code,pre,.st,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem;margin:.3rem 0;overflow:auto;max-height:32rem}
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}pre.bad{background:#fff5f5;border-color:#f3c1c1}
table{border-collapse:collapse}th,td{padding:.25rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;white-space:nowrap}.scroll{overflow-x:auto}
.muted{color:var(--mute)}.bad{color:#a4161a}.verdict{font-weight:700;padding:.1rem .5rem;border-radius:4px}
.verdict.bad{background:#fbd5d5}.verdict.good{background:#d9f2dc;color:#1a6b2a}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}dt{color:var(--mute)}dd{margin:0;min-width:0}
.st{display:inline-block;min-width:3.6em;padding:.1rem .35rem;border-radius:4px;text-align:center;font-weight:600;text-decoration:none;border:1px solid transparent}
.st-pass{background:#d9f2dc;color:#1a6b2a;border-color:#9fd7a8}.st-fail{background:#e5484d;color:#fff}
.st-known{background:#fdeccb;color:#7a4f00;border-color:#f0c674}.st-flaky{background:#eadcf8;color:#5b2691;border-color:#c9a8ee}
.st-unexpected-pass{background:repeating-linear-gradient(135deg,#fbd5d5 0 5px,#fff 5px 10px);color:#a4161a;border:1px dashed #e5484d}
.st-unsupported,.st-skipped{background:#f1f1f1;color:#8a8f96;border-color:#e2e2e2}
.st-not-run{background:#fff;color:#a4161a;border:1px dashed #a4161a}
.matrix td,.matrix th{border:1px solid var(--line);text-align:center;padding:.15rem .3rem}.matrix tbody th{text-align:left;position:sticky;left:0;background:#fff}
.matrix thead th{position:sticky;top:0;background:#fff;font-size:.85rem}.matrix thead tr+tr th{top:1.9rem}
.matrix .first{border-left:3px solid #8c959f}.matrix .st{min-width:3.2em;font-size:.8rem}
.matrix a.st:hover,.problems a.st:hover{outline:2px solid #0b5cad}.matrix tbody tr:hover th,.matrix tbody tr:hover td{background:#f3f6fa}
#known code{white-space:nowrap}.switch{display:inline-flex;gap:.4rem;align-items:center;margin:.2rem 0 .6rem;font-weight:600;cursor:pointer}
body:has(#only-problems:checked) .matrix tr.quiet{display:none}.only-note{display:none}
body:has(#only-problems:checked) .only-note{display:block}
.legend{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;padding:0;list-style:none}
.problems li{margin:.35rem 0;list-style:none}.problems{padding:0}
.cell{display:none}
.cell:target{display:block;position:fixed;inset:1.2rem;overflow:auto;background:#fff;border-radius:8px;padding:0 1.5rem 1.5rem;box-shadow:0 0 0 100vmax #1f232866,0 8px 30px #0004;z-index:1}
.bar{position:sticky;top:0;background:#fff;padding:.8rem 0 .4rem;border-bottom:1px solid var(--line);display:flex;gap:1rem;align-items:center}
.bar h2{margin:0;flex:1;overflow-wrap:anywhere}.close{font-weight:600;text-decoration:none;white-space:nowrap}
details{margin:.3rem 0}summary{cursor:pointer}.attempt{border:1px solid var(--line);border-radius:6px;padding:.4rem .8rem;margin:.6rem 0}
.attempt>summary{font-weight:600}.proc{border-left:3px solid var(--line);padding-left:.7rem;margin:.5rem 0}
.copyw{position:relative}pre.copy{padding-right:4rem}button.copy{position:absolute;top:.35rem;right:.35rem;font-size:.75rem}
.tools{display:flex;flex-wrap:wrap;gap:0 3rem}.tools table{margin-bottom:.5rem}td.n{white-space:nowrap}.note{color:#8a5a00}
@media (max-width:40rem){body{padding:.6rem}.cell:target{inset:0;border-radius:0;padding:0 .7rem 1rem}dl{gap:.1rem .7rem}}
@media print{.cell{display:block;position:static;box-shadow:none;break-before:page}.close,button.copy{display:none}}
"#;

/// Copy buttons for repro blocks, and Escape closes an open detail. The page works without it.
const SCRIPT: &str = r#"
document.querySelectorAll('pre.copy').forEach(function(p){var b=document.createElement('button');
var w=document.createElement('div');w.className='copyw';p.parentNode.insertBefore(w,p);w.appendChild(p);w.appendChild(b);
b.className='copy';b.type='button';b.textContent='copy';b.onclick=function(){navigator.clipboard.writeText(p.textContent)
.then(function(){b.textContent='copied'},function(){b.textContent='select and copy'})}});
document.addEventListener('keydown',function(e){var c=document.querySelector('.cell:target .close');if(e.key==='Escape'&&c)c.click()});
"#;

/// Renders the whole report as one HTML5 document.
pub fn render(report: &RunReport) -> String {
    let ids = Ids::new(report);
    let mut out = String::with_capacity(64 * 1024);
    let verdict = verdict(report);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>interop {verdict}: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&super::counts(report))
    );
    header(&mut out, report);
    problems(&mut out, report, &ids);
    legend(&mut out, report);
    matrix(&mut out, report, &ids);
    known_entries(&mut out, report);
    for (i, cell) in report.cells.iter().enumerate() {
        detail(&mut out, cell, &ids.cells[i], &ids.servers[cell.server.as_str()]);
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// The ids of every cell (by index) and every server's matrix: safe, unique, stable.
struct Ids<'a> {
    cells: Vec<String>,
    servers: HashMap<&'a str, String>,
}

impl<'a> Ids<'a> {
    fn new(report: &'a RunReport) -> Self {
        let mut used: HashSet<String> =
            ["top", "problems", "legend", "only-problems", "known"].map(String::from).into();
        let cells = report.cells.iter().map(|c| unique_id(&mut used, "cell-", &c.name)).collect();
        let servers = unique(report.cells.iter().map(|c| c.server.as_str()))
            .into_iter()
            .map(|s| (s, unique_id(&mut used, "server-", s)))
            .collect();
        Ids { cells, servers }
    }
}

/// `prefix` + `name` with ASCII letters, digits and `-` kept, `/` as `.`, anything else as `_<hex>_`
/// (injective), then `-2`, `-3`… when it is already taken (duplicate names).
fn unique_id(used: &mut HashSet<String>, prefix: &str, name: &str) -> String {
    let mut base = String::from(prefix);
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' => base.push(c),
            '/' => base.push('.'),
            c => {
                let _ = write!(base, "_{:x}_", u32::from(c));
            }
        }
    }
    let mut id = base.clone();
    let mut n = 1;
    while !used.insert(id.clone()) {
        n += 1;
        id = format!("{base}-{n}");
    }
    id
}

/// `INTERRUPTED`, `FAILED` or `PASSED`.
fn verdict(report: &RunReport) -> &'static str {
    match (report.interrupted, report.failed()) {
        (true, _) => "INTERRUPTED",
        (false, true) => "FAILED",
        (false, false) => "PASSED",
    }
}

fn header(out: &mut String, report: &RunReport) {
    let failed = report.failed();
    let _ = write!(
        out,
        "<header id=\"top\">\n<h1>interop run <span class=\"verdict {}\">{}</span></h1>\n<dl>\n\
         <dt>started</dt><dd>{}</dd>\n<dt>duration</dt><dd>{}</dd>\n",
        if failed { "bad" } else { "good" },
        verdict(report),
        utc(report.started_unix_ms),
        duration(report.duration_ms),
    );
    if let Some(partition) = &report.partition {
        let _ = writeln!(out, "<dt>partition</dt><dd>{partition}</dd>");
    }
    let _ = write!(out, "<dt>cells</dt><dd>{}", esc(&super::counts(report)));
    if report.cells.is_empty() {
        out.push_str(" <span class=\"bad\">(no cells ran: the run fails)</span>");
    }
    out.push_str("</dd>\n</dl>\n");
    out.push_str("<div class=\"tools\">\n");
    toolchains(out, &report.toolchains);
    builds(out, &report.builds);
    out.push_str("</div>\n</header>\n");
}

fn toolchains(out: &mut String, tools: &[Toolchain]) {
    if tools.is_empty() {
        return;
    }
    out.push_str("<details open><summary>toolchains</summary><div class=\"scroll\"><table>\n");
    for tool in tools {
        let (class, text) = match (&tool.version, &tool.missing) {
            (_, Some(missing)) => ("bad", format!("missing: {missing}")),
            (Some(version), None) => ("", version.clone()),
            (None, None) => ("muted", "version unknown".to_string()),
        };
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"{class}\"><code>{}</code></td></tr>",
            esc(&tool.name),
            esc(&text)
        );
    }
    out.push_str("</table></div></details>\n");
}

fn builds(out: &mut String, builds: &[BuildRecord]) {
    if builds.is_empty() {
        return;
    }
    out.push_str("<details open><summary>builds</summary><div class=\"scroll\"><table>\n");
    for build in builds {
        let failed = build.status == BuildState::Failed;
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"n{}\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&build.name),
            if failed { " bad" } else { "" },
            build.status.name(),
            build.duration_ms.map(duration).unwrap_or_default()
        );
        if let Some(error) = &build.error {
            let _ =
                writeln!(out, "<tr><td colspan=\"3\"><pre class=\"wrap bad\">{}</pre></td></tr>", esc(error));
        }
    }
    out.push_str("</table></div></details>\n");
}

/// Failed, unexpected-pass and flaky cells, first, each linking to its detail.
fn problems(out: &mut String, report: &RunReport, ids: &Ids) {
    out.push_str("<section id=\"problems\">\n<h2>Problems</h2>\n");
    let mut any = false;
    for status in super::PROBLEMS {
        for (i, cell) in report.cells.iter().enumerate().filter(|(_, c)| c.status == status) {
            if !any {
                out.push_str("<ul class=\"problems\">\n");
                any = true;
            }
            let id = &ids.cells[i];
            let _ =
                write!(out, "<li>{} <a href=\"#{id}\"><code>{}</code></a>", badge(cell, id), esc(&cell.name));
            if let Some(rate) = super::flake_rate(cell) {
                let _ = write!(out, " <span class=\"muted\">({rate})</span>");
            }
            if let Some(reason) = &cell.reason {
                let mut lines = reason.lines();
                let first = lines.next().unwrap_or("");
                let more = lines.count();
                let _ = write!(
                    out,
                    "<br><span class=\"mono muted\">{}</span>",
                    esc(&bounded::truncate(first, 300))
                );
                if more > 0 {
                    let _ = write!(out, " <span class=\"muted\">(+{} lines)</span>", HumanCount(more as u64));
                }
            }
            out.push_str("</li>\n");
        }
    }
    if any {
        out.push_str("</ul>\n");
    } else {
        out.push_str("<p>None: no cell failed, passed unexpectedly or was flaky.</p>\n");
    }
    out.push_str("</section>\n");
}

fn describe(status: Status) -> &'static str {
    match status {
        Status::Pass => "every attempt passed",
        Status::Fail => "fails the run",
        Status::Known => "failed as its known-failure entry says",
        Status::Flaky => "failed and passed; does not fail the run",
        Status::UnexpectedPass => "passed although known to fail; fails the run",
        Status::Unsupported => "the server or client does not support the case",
        Status::Skipped => "its server or client is left out on purpose (INTEROP_SKIP); not run",
        Status::NotRun => "the run was interrupted before it ran or while it ran; fails the run",
    }
}

/// The legend: each status's mark, what it means, how many cells have it; and the switch.
fn legend(out: &mut String, report: &RunReport) {
    out.push_str("<section id=\"legend\">\n<h2>Matrix</h2>\n<ul class=\"legend\">\n");
    for status in report.statuses() {
        let _ = writeln!(
            out,
            "<li><span class=\"st st-{}\">{}</span> {}: <b>{}</b> <span class=\"muted\">({})</span></li>",
            status.name(),
            status.mark(),
            super::meaning(status),
            report.count(status),
            describe(status)
        );
    }
    out.push_str(
        "</ul>\n<label class=\"switch\"><input type=\"checkbox\" id=\"only-problems\"> problems only \
         <span class=\"muted\">(hide the cases where no cell failed, passed unexpectedly or was flaky)</span>\
         </label>\n",
    );
    if super::problems(report).is_empty() {
        out.push_str("<p class=\"only-note muted\">No case has a problem.</p>\n");
    }
    out.push_str("</section>\n");
}

fn badge(cell: &CellReport, id: &str) -> String {
    let mut title = format!("{}: {}", cell.name, cell.status.name());
    if let Some(reason) = &cell.reason {
        title.push('\n');
        title.extend(reason.chars().take(TITLE_CHARS));
        if reason.chars().nth(TITLE_CHARS).is_some() {
            title.push('…');
        }
    }
    format!(
        "<a class=\"st st-{}\" href=\"#{id}\" title=\"{}\">{}</a>",
        cell.status.name(),
        esc(&title),
        cell.status.mark()
    )
}

/// The whole matrix as one table: a row per case, a column per client grouped under its server.
/// A row with no problem is `quiet`, for the "problems only" switch.
fn matrix(out: &mut String, report: &RunReport, ids: &Ids) {
    let grid = super::grid(report);
    let cases = unique(grid.iter().flat_map(|(_, _, cases)| cases.iter().copied()));
    out.push_str("<div class=\"scroll\"><table class=\"matrix\">\n<thead><tr><th rowspan=\"2\">case</th>");
    for (server, clients, _) in &grid {
        let _ = write!(
            out,
            "<th colspan=\"{}\" class=\"first\" id=\"{}\"><code>{}</code></th>",
            clients.len(),
            ids.servers[server],
            esc(server)
        );
    }
    out.push_str("</tr>\n<tr>");
    for (_, clients, _) in &grid {
        for (n, client) in clients.iter().enumerate() {
            let class = if n == 0 { " class=\"first\"" } else { "" };
            let _ = write!(out, "<th{class}><code>{}</code></th>", esc(client));
        }
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for case in &cases {
        let row: Vec<(usize, &CellReport)> =
            report.cells.iter().enumerate().filter(|(_, c)| c.case == *case).collect();
        let quiet = row.iter().all(|(_, c)| !super::PROBLEMS.contains(&c.status));
        let _ = write!(
            out,
            "<tr{}><th><code>{}</code></th>",
            if quiet { " class=\"quiet\"" } else { "" },
            esc(case)
        );
        for (server, clients, _) in &grid {
            for (n, client) in clients.iter().enumerate() {
                out.push_str(if n == 0 { "<td class=\"first\">" } else { "<td>" });
                let mut found = false;
                for (i, cell) in row.iter().filter(|(_, c)| c.server == *server && c.client == *client) {
                    out.push_str(&badge(cell, &ids.cells[*i]));
                    found = true;
                }
                if !found {
                    out.push_str("<span class=\"muted\" title=\"not in this run\">·</span>");
                }
                out.push_str("</td>");
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// One row per known-failure entry: how many cells it covered, its pattern, and why.
fn known_entries(out: &mut String, report: &RunReport) {
    let entries = super::known_entries(report);
    if entries.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"known\">\n<h2>Known failures</h2>\n<div class=\"scroll\"><table>\n\
         <thead><tr><th>cells</th><th>entry</th><th>expected failure</th><th>why</th></tr></thead>\n<tbody>\n",
    );
    for (entry, n) in entries {
        let _ = write!(
            out,
            "<tr><td class=\"n\">{n}</td><td><code>{}</code></td><td><code>{}</code></td><td>",
            esc(&entry.cell),
            esc(&entry.failure),
        );
        why(out, &entry.why);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn detail(out: &mut String, cell: &CellReport, id: &str, server_id: &str) {
    let _ = write!(
        out,
        "<section class=\"cell\" id=\"{id}\" aria-label=\"cell {name}\">\n<div class=\"bar\">\
         <span class=\"st st-{status}\">{mark}</span><h2><code>{name}</code></h2>\
         <a class=\"close\" href=\"#{server_id}\" title=\"back to the matrix\">✕ close</a></div>\n<dl>\n\
         <dt>status</dt><dd>{status} <span class=\"muted\">· {desc}</span></dd>\n\
         <dt>server</dt><dd><code>{server}</code></dd>\n<dt>client</dt><dd><code>{client}</code></dd>\n\
         <dt>case</dt><dd><code>{case}</code></dd>\n<dt>mode</dt><dd>{mode}</dd>\n\
         <dt>duration</dt><dd>{duration}</dd>\n<dt>attempts</dt><dd>{attempts}</dd>\n",
        name = esc(&cell.name),
        status = cell.status.name(),
        mark = cell.status.mark(),
        desc = describe(cell.status),
        server = esc(&cell.server),
        client = esc(&cell.client),
        case = esc(&cell.case),
        mode = cell.mode.as_str(),
        duration = duration(cell.duration_ms),
        attempts = cell.attempts.len(),
    );
    if let Some(rate) = cell.flake_rate {
        let failed = cell.attempts.iter().filter(|a| !a.passed).count();
        let _ = writeln!(
            out,
            "<dt>flake rate</dt><dd>{:.0}% <span class=\"muted\">({failed} of {} attempts failed)</span></dd>",
            rate * 100.0,
            cell.attempts.len()
        );
    }
    out.push_str("</dl>\n");
    if let Some(reason) = &cell.reason {
        let class = if cell.status.fails_run() { "wrap bad" } else { "wrap" };
        let _ = write!(out, "<h3>reason</h3>\n<pre class=\"{class}\">");
        bounded_text(out, reason, Limit::FILE);
        out.push_str("</pre>\n");
    }
    if let Some(known) = &cell.known {
        known_entry(out, known);
    }
    if !cell.repro.is_empty() {
        let _ = writeln!(
            out,
            "<h3>reproduce by hand</h3>\n<pre class=\"wrap copy\">{}</pre>",
            esc(&cell.repro.join("\n"))
        );
    }
    if !cell.spec.is_empty() {
        let _ = writeln!(out, "<h3>spec</h3>\n<pre class=\"wrap\">{}</pre>", esc(&cell.spec));
    }
    if !cell.attempts.is_empty() {
        out.push_str("<h3>attempts</h3>\n");
    }
    // Many attempts (`--repeat 20`) are mostly alike: the first failed and the first passed one
    // show each kind, the last shows how it ended; the JSON report has every one.
    let shown = shown_attempts(&cell.attempts);
    for &n in &shown {
        attempt_html(out, cell, &cell.attempts[n], n + 1);
    }
    let hidden = cell.attempts.len() - shown.len();
    if hidden > 0 {
        let failed =
            (0..cell.attempts.len()).filter(|n| !shown.contains(n) && !cell.attempts[*n].passed).count();
        let _ = writeln!(
            out,
            "<p class=\"muted\">… and {hidden} more {} ({failed} failed), in the JSON report</p>",
            if hidden == 1 { "attempt" } else { "attempts" }
        );
    }
    out.push_str("</section>\n");
}

/// Which attempts a cell's section shows (indices, in order): the first failed, the first passed
/// and the last.
fn shown_attempts(attempts: &[Attempt]) -> Vec<usize> {
    let mut shown: Vec<usize> = [
        attempts.iter().position(|a| !a.passed),
        attempts.iter().position(|a| a.passed),
        attempts.len().checked_sub(1),
    ]
    .into_iter()
    .flatten()
    .collect();
    shown.sort_unstable();
    shown.dedup();
    shown
}

fn known_entry(out: &mut String, known: &KnownRef) {
    let _ = write!(
        out,
        "<h3>known failure</h3>\n<dl>\n<dt>cell pattern</dt><dd><code>{}</code></dd>\n\
         <dt>expected failure</dt><dd><code>{}</code></dd>\n<dt>why</dt><dd>",
        esc(&known.cell),
        esc(&known.failure)
    );
    why(out, &known.why);
    out.push_str("</dd>\n</dl>\n");
}

/// A known-failure entry's `why`: a link when it is an http(s) address, else text.
fn why(out: &mut String, why: &str) {
    if why.starts_with("http://") || why.starts_with("https://") {
        let _ = write!(out, "<a href=\"{0}\" rel=\"noreferrer\">{0}</a>", esc(why));
    } else {
        let _ = write!(out, "{}", esc(why));
    }
}

fn attempt_html(out: &mut String, cell: &CellReport, attempt: &Attempt, n: usize) {
    let total = cell.attempts.len();
    let _ = writeln!(
        out,
        "<details class=\"attempt\"{}><summary>attempt {n} of {total}: <span class=\"{}\">{}</span> \
         <span class=\"muted\">in {}</span></summary>",
        if !attempt.passed || total == 1 { " open" } else { "" },
        if attempt.passed { "" } else { "bad" },
        if attempt.passed { "passed" } else { "failed" },
        duration(attempt.duration_ms)
    );
    // A lone attempt's reason is usually the cell's, shown above.
    let repeats = total == 1 && attempt.reason == cell.reason;
    if let Some(reason) = attempt.reason.as_ref().filter(|_| !repeats) {
        out.push_str("<pre class=\"wrap bad\">");
        bounded_text(out, reason, Limit::FILE);
        out.push_str("</pre>\n");
    }
    // A passing attempt's output rarely matters: a few lines of it, and the JSON report has the rest.
    let limit = if attempt.passed { QUIET } else { Limit::FILE };
    if let Some(server) = &attempt.server {
        process(out, "server", server, limit);
    }
    for (i, client) in attempt.clients.iter().enumerate().take(CLIENTS) {
        let label =
            if attempt.clients.len() == 1 { "client".to_string() } else { format!("client {}", i + 1) };
        process(out, &label, client, limit);
    }
    if attempt.clients.len() > CLIENTS {
        let _ = writeln!(
            out,
            "<p class=\"note\">… and {} more clients (the JSON report has them all)</p>",
            attempt.clients.len() - CLIENTS
        );
    }
    if let Some(transcript) = &attempt.transcript {
        let _ = writeln!(out, "<h4>transcript: {}</h4>", plural(transcript.connections.len(), "connection"));
        for (i, conn) in transcript.connections.iter().enumerate() {
            connection(out, i + 1, conn);
        }
    }
    out.push_str("</details>\n");
}

fn process(out: &mut String, label: &str, log: &ProcessLog, limit: Limit) {
    let ok = log.exit.success();
    let _ = write!(
        out,
        "<div class=\"proc\"><h4>{label} <span class=\"{}\">{}</span></h4>\n<pre class=\"wrap\">$ {}</pre>\n",
        if ok { "muted" } else { "bad" },
        esc(&log.exit.to_string()),
        esc(&log.command)
    );
    stream(out, "stdout", &log.stdout, limit);
    stream(out, "stderr", &log.stderr, limit);
    out.push_str("</div>\n");
}

fn stream(out: &mut String, label: &str, text: &str, limit: Limit) {
    if text.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">{label}: empty</p>");
        return;
    }
    let lines = text.lines().count();
    let long = lines > COLLAPSE_LINES || text.len() > COLLAPSE_BYTES;
    let cut = if text.len() >= 64 * 1024 { ", probably cut at 64 KiB" } else { "" };
    let _ = write!(
        out,
        "<details{}><summary>{label} <span class=\"muted\">({}, {} bytes{cut})</span></summary><pre>",
        if long { "" } else { " open" },
        plural(lines, "line"),
        HumanCount(text.len() as u64),
    );
    bounded_text(out, text, limit);
    out.push_str("</pre></details>\n");
}

/// Hex dump lines shown per direction: a repeated payload folds after a few lines.
const DUMP: Limit = Limit { head: 64, tail: 0, alike: 8, width: 200 };

/// `text` bounded by `limit` and escaped; the notes for what was left out are marked as such.
fn bounded_text(out: &mut String, text: &str, limit: Limit) {
    let shown = bounded::bound(text, limit);
    for (i, piece) in shown.pieces().iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match piece {
            bounded::Piece::Line { text, cut } => {
                let _ = write!(out, "{}", esc(text));
                if *cut > 0 {
                    let _ = write!(
                        out,
                        "<span class=\"note\">… ({} more characters)</span>",
                        HumanCount(*cut as u64)
                    );
                }
            }
            note => {
                let _ = write!(out, "<span class=\"note\">{}</span>", esc(&note.to_string()));
            }
        }
    }
    if shown.is_cut() {
        out.push_str("\n<span class=\"note\">(shortened here: the JSON report has every line)</span>");
    }
}

fn connection(out: &mut String, n: usize, conn: &ConnectionTranscript) {
    let _ = writeln!(
        out,
        "<div class=\"proc\"><p><b>connection {n}</b>: <code>{}</code> → <code>{}</code> \
         <span class=\"muted\">· {}</span></p>",
        esc(&conn.client),
        esc(&conn.relay),
        esc(&conn.end)
    );
    direction(out, "client → server", &conn.client_to_server);
    direction(out, "server → client", &conn.server_to_client);
    out.push_str("</div>\n");
}

fn direction(out: &mut String, label: &str, dir: &Direction) {
    let cut = if dir.len > dir.dump_limit {
        format!(", <span class=\"note\">dump cut: first {} bytes shown</span>", HumanCount(dir.dump_limit))
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<details{}><summary>{label}: {} bytes{cut}</summary>\n<p class=\"mono muted\">sha256 {}</p>\n",
        if dir.dump.lines().count() > COLLAPSE_LINES { "" } else { " open" },
        HumanCount(dir.len),
        esc(&dir.sha256)
    );
    if !dir.dump.is_empty() {
        out.push_str("<pre>");
        bounded_text(out, &dir.dump, DUMP);
        out.push_str("</pre>");
    }
    out.push_str("</details>\n");
}

/// The distinct values, in first-seen order.
fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|s| seen.insert(*s)).collect()
}

/// Escapes text for element content and quoted attributes. Control characters (but tab and newline)
/// are shown as their Unicode control pictures, e.g. ESC as `␛`; a `\r` before `\n` is dropped.
struct Esc<'a>(&'a str);

fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\n' | '\t' => f.write_char(c)?,
                '\r' if chars.peek() == Some(&'\n') => {}
                '\u{7f}' => f.write_char('\u{2421}')?,
                c if u32::from(c) < 0x20 => {
                    f.write_char(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'))?
                }
                c if ('\u{80}'..='\u{9f}').contains(&c) => f.write_char('\u{fffd}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
fn utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{SCHEMA, Transcript};

    const HOSTILE: &str = "</pre><script>alert('x')</script><img src=x onerror=\"alert(1)\"> & \u{1b}[31m";

    fn log(command: &str, exit: &str, stdout: &str, stderr: &str) -> ProcessLog {
        ProcessLog {
            command: command.into(),
            exit: exit.into(),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    fn hexdump(bytes: &[u8]) -> String {
        crate::hexdump::hex_dump(bytes, bytes.len())
    }

    fn dir(bytes: &[u8], limit: usize) -> Direction {
        Direction {
            len: bytes.len() as u64,
            sha256: format!("{:064x}", bytes.len() * 7919),
            dump: hexdump(&bytes[..bytes.len().min(limit)]),
            dump_limit: limit as u64,
        }
    }

    #[test]
    fn twenty_attempts_show_the_first_failed_the_first_passed_and_the_last() {
        let twenty: Vec<Attempt> = (0..20)
            .map(|n| attempt(n != 3 && n != 7, (n == 3 || n == 7).then_some("broken"), "", b"x"))
            .collect();
        assert_eq!(shown_attempts(&twenty), vec![0, 3, 19]);
        assert_eq!(shown_attempts(&twenty[..1]), vec![0]);
        assert_eq!(shown_attempts(&[]), Vec::<usize>::new());
        let mut cell = super::super::blank_cell("s", "c", "hello", Status::Flaky);
        cell.attempts = twenty;
        let mut out = String::new();
        detail(&mut out, &cell, "cell-s.c.hello", "server-s");
        assert_eq!(out.matches("<details class=\"attempt\"").count(), 3);
        assert!(out.contains("… and 17 more attempts (1 failed), in the JSON report"), "{out}");
    }

    fn attempt(passed: bool, reason: Option<&str>, client_out: &str, sent: &[u8]) -> Attempt {
        let server_out = format!("listening on 127.0.0.1:41233\nHello: 127.0.0.1:41240\n{client_out}");
        Attempt {
            passed,
            reason: reason.map(String::from),
            duration_ms: 412,
            server: Some(log(
                "target/debug/interop-server --port 0 --format json",
                if passed { "exit code 0" } else { "killed by signal 9" },
                &server_out,
                "",
            )),
            clients: vec![log(
                "java -cp java-client/target/classes interop.Client --port 41237 'Hello SocketServer!!!'",
                if passed { "exit code 0" } else { "exit code 1" },
                client_out,
                if passed {
                    ""
                } else {
                    "Exception in thread \"main\" java.net.SocketException: Connection reset\n\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:328)"
                },
            )],
            transcript: Some(Transcript {
                connections: vec![ConnectionTranscript {
                    client: "127.0.0.1:41240".into(),
                    relay: "127.0.0.1:41241".into(),
                    client_to_server: dir(sent, 64),
                    server_to_client: dir(b"", 64),
                    end: if passed {
                        "client closed".into()
                    } else {
                        "server reset: connection reset by peer".into()
                    },
                }],
            }),
        }
    }

    fn cell(server: &str, client: &str, case: &str, status: Status, reason: Option<&str>) -> CellReport {
        let name = format!("{server}/{client}/{case}");
        let attempts = match status {
            Status::Pass | Status::UnexpectedPass => {
                vec![attempt(true, None, "Hello SocketServer!!!", b"Hello SocketServer!!!")]
            }
            Status::Fail | Status::Known => {
                vec![attempt(
                    false,
                    reason,
                    "sent 1048576 bytes",
                    &[0x68, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x00, 0xff].repeat(20),
                )]
            }
            Status::Flaky => vec![
                attempt(false, reason, "sent 21 bytes", b"Hello SocketServer!!!"),
                attempt(true, None, "sent 21 bytes", b"Hello SocketServer!!!"),
                attempt(true, None, "sent 21 bytes", b"Hello SocketServer!!!"),
            ],
            Status::Unsupported | Status::Skipped | Status::NotRun => vec![],
        };
        CellReport {
            name: name.clone(),
            server: server.into(),
            client: client.into(),
            case: case.into(),
            spec: format!(
                "The client sends the {case} payload, then closes; the server prints it byte for byte."
            ),
            mode: if case == "framed" { interop_wire::Mode::Framed } else { interop_wire::Mode::Raw },
            status,
            reason: reason.map(String::from),
            known: matches!(status, Status::Known | Status::UnexpectedPass).then(|| KnownRef {
                cell: format!("*/{client}/{case}"),
                failure: reason.unwrap_or("payload differs").lines().next().unwrap_or("").into(),
                why: if status == Status::Known {
                    "https://example.invalid/issues/12".into()
                } else {
                    "the Python client drops a trailing NUL (to be fixed)".into()
                },
            }),
            duration_ms: attempts.iter().map(|a| a.duration_ms).sum(),
            flake_rate: (attempts.len() > 1)
                .then(|| attempts.iter().filter(|a| !a.passed).count() as f64 / attempts.len() as f64),
            attempts,
            repro: if status == Status::Unsupported {
                vec![]
            } else {
                vec![
                    "cargo run -p interop-server -- --port 8099".into(),
                    format!("cargo run -p interop -- client {client} -- --port 8099 --case {case}"),
                ]
            },
        }
    }

    /// Two servers, three clients, five cases, every status, a hostile process output.
    pub(super) fn sample() -> RunReport {
        let mut cells = Vec::new();
        for server in ["rust-server", "python-server"] {
            for client in ["rust", "java", "python"] {
                for case in ["hello", "utf8", "empty", "large", "framed"] {
                    let (status, reason) = match (server, client, case) {
                        ("rust-server", "java", "utf8") => (
                            Status::Fail,
                            Some(
                                "server printed 19 bytes, client sent 20\nfirst difference at byte 7: expected c3 a9, got 3f\n  expected: hé€\n  received: h?€",
                            ),
                        ),
                        ("python-server", "rust", "large") => {
                            (Status::Fail, Some("timed out after 60.0 s and was killed"))
                        }
                        (_, "python", "empty") => {
                            (Status::Known, Some("payload differs: server printed nothing"))
                        }
                        ("rust-server", "rust", "large") => {
                            (Status::Flaky, Some("attempt 1: connection reset by peer"))
                        }
                        ("python-server", "java", "utf8") => (
                            Status::UnexpectedPass,
                            Some("passed, but known-failure entry */java/utf8 says it fails"),
                        ),
                        (_, "python", "framed") | ("python-server", _, "framed") => {
                            (Status::Unsupported, Some("python does not support mode framed (interop.toml)"))
                        }
                        ("python-server", "java", "large") => {
                            (Status::Skipped, Some("INTEROP_SKIP=java leaves out java"))
                        }
                        _ => (Status::Pass, None),
                    };
                    cells.push(cell(server, client, case, status, reason));
                }
            }
        }
        // Hostile process output in one failing cell.
        cells[6].attempts[0].clients[0].stdout = format!("{HOSTILE}\nline 2\n");
        RunReport {
            schema: SCHEMA.into(),
            started_unix_ms: 1_774_094_400_123,
            duration_ms: 83_400,
            partition: Some(crate::results::Partition { index: 2, count: 3 }),
            interrupted: false,
            toolchains: vec![
                Toolchain {
                    name: "cargo".into(),
                    version: Some("cargo 1.95.0 (f2d3ce0bd 2026-03-21)".into()),
                    missing: None,
                },
                Toolchain {
                    name: "java".into(),
                    version: Some("openjdk 17.0.14 2025-01-21".into()),
                    missing: None,
                },
                Toolchain { name: "python3".into(), version: Some("Python 3.11.2".into()), missing: None },
                Toolchain {
                    name: "mvn".into(),
                    version: None,
                    missing: Some("not found on PATH: apt-get install maven".into()),
                },
            ],
            builds: vec![
                BuildRecord {
                    name: "rust".into(),
                    status: BuildState::Fresh,
                    duration_ms: None,
                    error: None,
                },
                BuildRecord {
                    name: "java".into(),
                    status: BuildState::Built,
                    duration_ms: Some(4_210),
                    error: None,
                },
                BuildRecord {
                    name: "python".into(),
                    status: BuildState::NotNeeded,
                    duration_ms: None,
                    error: None,
                },
                BuildRecord {
                    name: "python-server".into(),
                    status: BuildState::Failed,
                    duration_ms: Some(310),
                    error: Some("pip: error: <no such option> --break-system-packages".into()),
                },
            ],
            cells,
        }
    }

    /// Checks that tags outside `<script>`/`<style>` nest properly: true only if no text from the
    /// report opened or closed an element.
    fn assert_balanced(html: &str) {
        const VOID: [&str; 5] = ["meta", "br", "img", "link", "input"];
        let mut stack: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            let end = rest.find('>').expect("unterminated tag");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            let closing = tag.starts_with('/');
            let name: String =
                tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if closing {
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "misnested </{name}>");
            } else if !VOID.contains(&name.as_str()) {
                if name == "script" || name == "style" {
                    let close = format!("</{name}>");
                    rest = &rest[rest.find(&close).expect("unclosed raw text element")..];
                }
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!(" {attr}=\"");
        html.match_indices(&needle)
            .map(|(i, _)| {
                let rest = &html[i + needle.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect()
    }

    /// The `<section class="cell">` of the cell with this id.
    fn detail_of<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html.find(&format!("<section class=\"cell\" id=\"{id}\"")).expect("no detail");
        let len = html[start..].find("</section>").unwrap();
        &html[start..start + len]
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut report = sample();
        let c = &mut report.cells[0];
        c.name = HOSTILE.into();
        c.server = HOSTILE.into();
        c.client = HOSTILE.into();
        c.case = HOSTILE.into();
        c.spec = HOSTILE.into();
        // `mode` is an enum: nothing hostile can be in it.
        c.reason = Some(HOSTILE.into());
        c.repro = vec![HOSTILE.into()];
        c.known = Some(KnownRef {
            cell: HOSTILE.into(),
            failure: HOSTILE.into(),
            why: format!("https://x/\"{HOSTILE}"),
        });
        let a = &mut c.attempts[0];
        a.reason = Some(HOSTILE.into());
        a.clients[0] = log(HOSTILE, HOSTILE, HOSTILE, HOSTILE);
        let t = &mut a.transcript.as_mut().unwrap().connections[0];
        t.client = HOSTILE.into();
        t.end = HOSTILE.into();
        t.client_to_server.dump = HOSTILE.into();
        t.client_to_server.sha256 = HOSTILE.into();
        report.cells[1].known =
            Some(KnownRef { cell: "x".into(), failure: "y".into(), why: "javascript:alert(1)".into() });
        report.toolchains[0].version = Some(HOSTILE.into());
        report.toolchains[3].missing = Some(HOSTILE.into());
        report.builds[3].error = Some(HOSTILE.into());
        report.builds[0].name = HOSTILE.into();
        let html = render(&report);
        assert!(!html.contains("<script>alert"), "unescaped script");
        assert!(!html.contains("<img"), "unescaped img");
        assert!(!html.contains("\u{1b}"), "raw escape character");
        assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("onerror=&quot;alert(1)&quot;"));
        assert!(html.contains("\u{241b}[31m"), "ESC shown as a control picture");
        assert!(!html.contains("href=\"javascript:"), "only http(s) reasons become links");
        assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
        assert_balanced(&html);
    }

    #[test]
    fn every_status_is_in_the_legend_and_grid() {
        let report = sample();
        let html = render(&report);
        let legend = &html[html.find("<section id=\"legend\"").unwrap()..];
        let legend = &legend[..legend.find("</section>").unwrap()];
        for status in Status::ALL {
            let name = status.name();
            assert!(legend.contains(&format!("<span class=\"st st-{name}\">{}</span>", status.mark())));
            let count = format!("{}: <b>{}</b>", super::super::meaning(status), report.count(status));
            assert!(legend.contains(&count), "{name} count");
            let in_grid = format!("<a class=\"st st-{name}\" href=\"#cell-");
            assert!(html.matches(&in_grid).count() >= report.count(status), "{name} in grid");
            assert!(report.count(status) > 0, "the sample has every status");
        }
        // One badge per cell in the matrices, plus one per problem.
        let problems = report
            .cells
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::UnexpectedPass | Status::Flaky))
            .count();
        assert_eq!(html.matches("<a class=\"st st-").count(), report.cells.len() + problems);
        // One table: a row per case, the servers' clients across.
        assert_eq!(html.matches("<table class=\"matrix\">").count(), 1);
        assert!(html.contains(
            "<th colspan=\"3\" class=\"first\" id=\"server-rust-server\"><code>rust-server</code>"
        ));
        assert!(html.contains("<th colspan=\"3\" class=\"first\" id=\"server-python-server\">"));
        assert!(html.contains("<tr><th><code>utf8</code></th>"), "a row with a problem is not quiet");
        assert!(html.contains("<tr class=\"quiet\"><th><code>hello</code></th>"));
        assert!(html.contains("<input type=\"checkbox\" id=\"only-problems\">"));
        // The legend says what each mark means, once ("known known" was unreadable).
        assert!(!legend.contains("known known") && !legend.contains("flaky flaky"));
        assert!(html.contains("title=\"rust-server/java/utf8: fail\nserver printed 19 bytes"));
    }

    #[test]
    fn failing_cell_detail_has_repro_transcript_and_logs() {
        let html = render(&sample());
        let d = detail_of(&html, "cell-rust-server.java.utf8");
        assert!(d.contains("cargo run -p interop -- client java -- --port 8099 --case utf8"));
        assert!(d.contains("<pre class=\"wrap copy\">"));
        assert!(d.contains("first difference at byte 7"));
        assert!(d.contains("connection 1</b>: <code>127.0.0.1:41240</code> → <code>127.0.0.1:41241</code>"));
        assert!(
            d.contains("client → server: 160 bytes, <span class=\"note\">dump cut: first 64 bytes shown")
        );
        assert!(d.contains("00000000  68 c3 a9 e2 82 ac 00 ff"));
        assert!(d.contains("sha256 "));
        assert!(d.contains("server reset: connection reset by peer"));
        assert!(d.contains("java.net.SocketException: Connection reset"));
        assert!(d.contains("killed by signal 9"));
        let known = detail_of(&html, "cell-rust-server.python.empty");
        assert!(known.contains("<a href=\"https://example.invalid/issues/12\" rel=\"noreferrer\">"));
        assert!(known.contains("<code>*/python/empty</code>"));
        let flaky = detail_of(&html, "cell-rust-server.rust.large");
        assert!(flaky.contains("flake rate</dt><dd>33% <span class=\"muted\">(1 of 3 attempts failed)"));
        assert!(flaky.contains("attempt 3 of 3"));
        // Problems come before the matrices, fails first.
        let problems = html.find("id=\"problems\"").unwrap();
        assert!(problems < html.find("id=\"legend\"").unwrap());
        let fail = html[problems..].find("rust-server/java/utf8").unwrap();
        let flaky = html[problems..].find("rust-server/rust/large").unwrap();
        assert!(fail < flaky);
    }

    #[test]
    fn nothing_is_fetched() {
        let html = render(&sample());
        let lower = html.to_ascii_lowercase();
        for needle in ["<script src", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url("] {
            assert!(!lower.contains(needle), "{needle}");
        }
        for url in ["http://", "https://"] {
            for (i, _) in lower.match_indices(url) {
                // Only in links (the known-failure `why`), never a resource.
                assert!(
                    lower[..i].ends_with("<a href=\"") || lower[..i].ends_with("rel=\"noreferrer\">"),
                    "{url} at {i}"
                );
            }
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_balanced(&html);
    }

    #[test]
    fn ids_are_unique_and_links_resolve() {
        let mut report = sample();
        // Names that could collide if ids were built naively, and a duplicate.
        let base = report.cells[0].clone();
        for name in ["a/b c", "a/b_20_c", "a.b c", "a/b\"c", "a/b/c-2", "a/b/c", "a/b/c", "é/ü/✓", ""] {
            report.cells.push(CellReport { name: name.into(), ..base.clone() });
        }
        let html = render(&report);
        let ids = attr_values(&html, "id");
        let set: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len(), "duplicate ids");
        for id in &ids {
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)), "unsafe id {id}");
        }
        assert_eq!(ids.iter().filter(|i| i.starts_with("cell-")).count(), report.cells.len());
        for href in attr_values(&html, "href").iter().filter(|h| h.starts_with('#')) {
            assert!(set.contains(&href[1..]), "dangling link {href}");
        }
        assert_balanced(&html);
    }

    #[test]
    fn long_output_starts_collapsed() {
        let mut out = String::new();
        stream(&mut out, "stdout", "short\n", Limit::FILE);
        assert!(out.starts_with("<details open><summary>stdout <span class=\"muted\">(1 line, 6 bytes)"));
        out.clear();
        stream(&mut out, "stderr", &"x\n".repeat(500), Limit::FILE);
        assert!(out.starts_with("<details><summary>stderr <span class=\"muted\">(500 lines, 1,000 bytes)"));
        out.clear();
        stream(&mut out, "stdout", "", Limit::FILE);
        assert_eq!(out, "<p class=\"muted\">stdout: empty</p>\n");
    }

    #[test]
    fn long_reasons_and_logs_are_bounded() {
        let mut report = sample();
        let logged: String = (1..=8_200)
            .map(|seq| format!("\nthe server logged a message no client reported: 127.0.0.1:1 seq {seq}"))
            .collect();
        report.cells[1].reason = Some(format!("client failed (exit code 5){logged}"));
        report.cells[1].attempts[0].server.as_mut().unwrap().stdout = logged.repeat(3);
        let html = render(&report);
        let d = detail_of(&html, "cell-rust-server.rust.utf8");
        assert!(d.contains("<span class=\"note\">… and 8,195 more like it</span>"), "{d}");
        assert!(d.contains("the JSON report has every line"));
        assert!(d.len() < 40_000, "{} bytes", d.len());
        assert_balanced(&html);
    }

    #[test]
    fn empty_report_renders() {
        let html = render(&RunReport::default());
        assert!(html.contains("FAILED"));
        assert!(html.contains("no cells ran"));
        assert_balanced(&html);
    }

    #[test]
    fn formats_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(4_107_542_399_000), "2100-02-28 23:59:59 UTC");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(duration(3_720_000), "1 h 02 min");
        assert_eq!(HumanCount(1_234_567).to_string(), "1,234,567");
        assert_eq!(HumanCount(999).to_string(), "999");
    }

    /// `INTEROP_HTML_SAMPLE=sample.html cargo test` writes the sample report there, to look at.
    #[test]
    fn writes_sample_when_asked() {
        if let Some(path) = std::env::var_os("INTEROP_HTML_SAMPLE") {
            std::fs::write(path, render(&sample())).unwrap();
        }
    }
}
