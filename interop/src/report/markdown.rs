//! A Markdown summary, for `$GITHUB_STEP_SUMMARY` (which GitHub drops above 1 MiB): the counts, one
//! table per server (cases down, clients across), every problem with its bounded reason and repro
//! commands, and one line per known-failure entry. The JSON report has every line.

use super::bounded::{self, Limit};
use crate::results::{RunReport, Status};
use std::fmt;

/// Problems shown with their detail; the rest are only named, so that the summary stays small
/// however much fails.
const DETAILED: usize = 30;
/// A problem's reason in the summary: tighter than the other files, it is read on a web page.
const REASON: Limit = Limit { head: 20, tail: 0, alike: 3, width: 300 };

fn mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Fail => "❌",
        Status::Known => "🟡 known",
        Status::Flaky => "🔁 flaky",
        Status::UnexpectedPass => "⚠️ XPASS",
        Status::Unsupported => "➖",
        Status::Skipped => "⏭️ skip",
        Status::NotRun => "⏹️ not run",
    }
}

/// Escapes text for a table cell or a line of Markdown.
fn inline(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace('<', "&lt;").replace('\n', " ")
}

/// The report as Markdown.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    write(&mut out, report).expect("a String accepts every write");
    out
}

/// [`render`], written to `out`.
pub fn write(out: &mut impl fmt::Write, report: &RunReport) -> fmt::Result {
    let verdict = match (report.interrupted, report.failed()) {
        (true, _) => "⏹️ interrupted",
        (false, true) => "❌ failed",
        (false, false) => "✅ passed",
    };
    let seconds = report.duration_ms as f64 / 1000.0;
    writeln!(out, "## interop: {verdict}\n\n{} in {seconds:.1} s\n", super::counts(report))?;
    let legend: Vec<String> = report
        .statuses()
        .iter()
        .filter(|s| report.count(**s) > 0)
        .map(|s| format!("{} {}", mark(*s), super::meaning(*s)))
        .collect();
    writeln!(out, "{}\n", legend.join(" · "))?;
    for (server, clients, cases) in super::grid(report) {
        writeln!(out, "### {}\n", inline(server))?;
        let header: Vec<String> = clients.iter().map(|c| inline(c)).collect();
        writeln!(out, "| case | {} |", header.join(" | "))?;
        writeln!(out, "|---|{}", "---|".repeat(clients.len()))?;
        for case in cases {
            let marks: Vec<&str> = clients
                .iter()
                .map(|client| super::cell(report, server, client, case).map_or("", |c| mark(c.status)))
                .collect();
            writeln!(out, "| {} | {} |", inline(case), marks.join(" | "))?;
        }
        writeln!(out)?;
    }
    let problems = super::problems(report);
    if !problems.is_empty() {
        writeln!(out, "### Problems\n")?;
    }
    for cell in problems.iter().take(DETAILED) {
        let reason = bounded::bound(cell.reason.as_deref().unwrap_or(""), REASON).to_string();
        let rate = super::flake_rate(cell).map(|r| format!(" ({r})")).unwrap_or_default();
        writeln!(
            out,
            "<details><summary>{} <code>{}</code>{}</summary>\n",
            mark(cell.status),
            inline(&cell.name),
            inline(&rate)
        )?;
        // Fenced blocks take the text verbatim; a longer fence than any run of backticks inside keeps it closed.
        let fence = "`".repeat(3 + longest_backtick_run(&reason));
        writeln!(out, "{fence}text\n{reason}\n{fence}\n")?;
        if let Some(known) = &cell.known {
            writeln!(out, "Known failure entry `{}`: {}\n", inline(&known.cell), inline(&known.why))?;
        }
        if !cell.repro.is_empty() {
            let repro = cell.repro.join("\n");
            let fence = "`".repeat(3 + longest_backtick_run(&repro));
            writeln!(out, "Reproduce:\n\n{fence}sh\n{repro}\n{fence}\n")?;
        }
        writeln!(out, "</details>\n")?;
    }
    if problems.len() > DETAILED {
        let rest: Vec<&str> = problems[DETAILED..].iter().map(|c| c.name.as_str()).collect();
        writeln!(out, "… and {} more: {}\n", rest.len(), inline(&bounded::list(&rest, 50)))?;
    }
    let known = super::known_entries(report);
    if !known.is_empty() {
        writeln!(out, "### Known failures\n\n| cells | entry | why |\n|---|---|---|")?;
        for (entry, n) in known {
            writeln!(out, "| {n} | `{}` | {} |", inline(&entry.cell), inline(&entry.why))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{sample, stable_snapshot};

    /// What a reader of `$GITHUB_STEP_SUMMARY` sees for the sample report (every status).
    #[test]
    fn markdown_snapshot() {
        stable_snapshot(|| insta::assert_snapshot!(render(&sample())));
    }
}
