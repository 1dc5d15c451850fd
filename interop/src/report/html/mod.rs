//! The HTML reporter: one self-contained page (inline CSS, a few lines of optional script, nothing
//! fetched) with the run's header, the problems first, the matrix (one row per case; a column per
//! client, grouped by server, so the whole of it fits a 1400 px window) with a "problems only"
//! switch, the known-failure entries, and, behind every matrix cell, that cell's detail: reason,
//! known-failure entry, repro commands, and every attempt's processes and transcript. Reasons, logs
//! and dumps are bounded ([`Limit::FILE`](super::bounded::Limit::FILE)); the JSON report keeps them whole.
//!
//! The "problems only" switch is a checkbox that a CSS `:has()` rule reads, so it needs no script.
//!
//! A detail is a `<section id="cell-…">` shown by the CSS `:target` rule, so links work with
//! JavaScript disabled; the script only adds copy buttons and closes a detail on Escape. Ids are
//! derived from cell names injectively and then deduplicated.
//!
//! # Layout
//!
//! - this module: [`render`], the page's frame, ids, and the formatting shared by the parts;
//! - `page`: the sections of the page (header, problems, legend, matrix, known failures);
//! - `cell`: one cell's detail (attempts, processes, bounded output, transcripts);
//! - `style.css` and `script.js`: the page's stylesheet and script, included at compile time.
//!
//! # Why maud
//!
//! The markup is written with [maud]'s `html!` macro rather than askama's template files: the page is
//! nested loops over the report model with a small decision in nearly every element, which maud keeps
//! as Rust expressions in place, checked at compile time (a tag left open does not compile); and maud
//! escapes every spliced value with the named entities the page has always used (`&lt;`, `&amp;`,
//! `&quot;`; askama 0.16 writes numeric ones). Report text is spliced as `Text`, which shows
//! control characters as their Unicode control pictures and writes `'` as `&#39;` around maud's
//! escaping, so no string from the report can open an element, end an attribute, or colour the
//! page with terminal escapes. The stylesheet and script are ours and are emitted as they are
//! ([`PreEscaped`]).

mod cell;
mod page;
#[cfg(test)]
mod tests;

use crate::results::{RunReport, Status};
use maud::{DOCTYPE, PreEscaped, Render, html};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The page's stylesheet.
pub(crate) const CSS: &str = include_str!("style.css");
/// Copy buttons for repro blocks, and Escape closes an open detail. The page works without it.
const SCRIPT: &str = include_str!("script.js");

/// Renders the whole report as one HTML5 document.
pub fn render(report: &RunReport) -> String {
    let ids = Ids::new(report);
    let counts = super::counts(report);
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            "\n"
            head {
                "\n" meta charset="utf-8";
                "\n" meta name="viewport" content="width=device-width, initial-scale=1";
                "\n" title { "interop " (verdict(report)) ": " (counts) }
                "\n" style { (PreEscaped(CSS)) } "\n"
            }
            "\n"
            body {
                "\n"
                (page::header(report))
                (page::problems(report, &ids))
                (page::legend(report))
                (page::matrix(report, &ids))
                (page::known_entries(report))
                @for (i, cell) in report.cells.iter().enumerate() {
                    (cell::detail(cell, &ids.cells[i], &ids.servers[cell.server.as_str()]))
                }
                script { (PreEscaped(SCRIPT)) } "\n"
            }
            "\n"
        }
        "\n"
    }
    .into_string()
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

/// The distinct values, in first-seen order.
fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|s| seen.insert(*s)).collect()
}

/// `INTERRUPTED`, `FAILED` or `PASSED`.
fn verdict(report: &RunReport) -> &'static str {
    match (report.interrupted, report.failed()) {
        (true, _) => "INTERRUPTED",
        (false, true) => "FAILED",
        (false, false) => "PASSED",
    }
}

/// What a status means for the run, after its mark: in the legend and in each cell's detail.
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

/// Text from the report, spliced into the page: escaped by maud, and besides that with control
/// characters (but tab and newline) shown as their Unicode control pictures, e.g. ESC as `␛`, C1
/// controls as `�`, a `\r` before `\n` dropped; and `'` written as `&#39;`, as everywhere the page
/// ever escaped it.
struct Text<'a>(&'a str);

impl Render for Text<'_> {
    fn render_to(&self, out: &mut String) {
        let mut shown = String::with_capacity(self.0.len());
        let mut chars = self.0.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' | '\t' => shown.push(c),
                '\r' if chars.peek() == Some(&'\n') => {}
                '\u{7f}' => shown.push('\u{2421}'),
                c if u32::from(c) < 0x20 => {
                    shown.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'))
                }
                c if ('\u{80}'..='\u{9f}').contains(&c) => shown.push('\u{fffd}'),
                c => shown.push(c),
            }
        }
        for (i, piece) in shown.split('\'').enumerate() {
            if i > 0 {
                out.push_str("&#39;");
            }
            piece.render_to(out);
        }
    }
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
///
/// Kept by hand: indicatif's `HumanDuration` rounds to one unit in words (`12 seconds`,
/// `4 minutes`), which loses the tenths a cell's time needs, and the report has always used this
/// format (the tests pin it).
fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(unix_ms: u64) -> String {
    match i64::try_from(unix_ms).ok().and_then(chrono::DateTime::from_timestamp_millis) {
        Some(time) => time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{unix_ms} ms after 1970-01-01 UTC"),
    }
}
