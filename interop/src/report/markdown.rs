//! A Markdown summary, for `$GITHUB_STEP_SUMMARY`: the counts, one table per server, and every
//! problem with its reason and repro commands.

use crate::results::{RunReport, Status};
use std::fmt::Write as _;

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
    let verdict = match (report.interrupted, report.failed()) {
        (true, _) => "⏹️ interrupted",
        (false, true) => "❌ failed",
        (false, false) => "✅ passed",
    };
    let _ = writeln!(out, "## interop: {verdict}\n\n{}\n", report.summary_line());
    for (server, clients, cases) in super::grid(report) {
        let _ = writeln!(out, "### {}\n", inline(server));
        let _ =
            writeln!(out, "| client | {} |", cases.iter().map(|c| inline(c)).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(cases.len()));
        for client in clients {
            let marks: Vec<&str> = cases
                .iter()
                .map(|case| super::cell(report, server, client, case).map_or("", |c| mark(c.status)))
                .collect();
            let _ = writeln!(out, "| {} | {} |", inline(client), marks.join(" | "));
        }
        out.push('\n');
    }
    let problems: Vec<_> = report
        .cells
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::UnexpectedPass | Status::Flaky | Status::Known))
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "### Problems\n");
    }
    for cell in problems {
        let reason = cell.reason.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "<details><summary>{} <code>{}</code></summary>\n",
            mark(cell.status),
            inline(&cell.name)
        );
        // Fenced blocks take the text verbatim; a longer fence than any run of backticks inside keeps it closed.
        let fence = "`".repeat(3 + longest_backtick_run(reason));
        let _ = writeln!(out, "{fence}text\n{reason}\n{fence}\n");
        if let Some(known) = &cell.known {
            let _ = writeln!(out, "Known failure entry `{}`: {}\n", inline(&known.cell), inline(&known.why));
        }
        if !cell.repro.is_empty() {
            let _ = writeln!(out, "Reproduce:\n\n```sh\n{}\n```\n", cell.repro.join("\n"));
        }
        let _ = writeln!(out, "</details>\n");
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
