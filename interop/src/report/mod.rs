//! Reporters: each reads the same [`RunReport`] (and, for the terminal, the run's events).
//!
//! - [`terminal`]: progress (a bar on a TTY, plain lines otherwise), then matrices and failures.
//! - [`junit`]: JUnit XML via quick-junit.
//! - [`json`]: the versioned JSON report (docs/REPORTS.md), the only one with every line.
//! - [`markdown`]: a summary for `$GITHUB_STEP_SUMMARY`.
//! - [`html`]: one self-contained page with the grid, each cell's commands, output and transcript.
//!
//! All but JSON show reasons, diffs and logs through [`bounded`], so none of them grows with a
//! reason's thousands of lines.

pub mod bounded;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
#[cfg(test)]
mod sample;
pub mod terminal;

use crate::results::{CellReport, KnownRef, RunReport, Status};

/// Servers, then for each its clients and cases, in report order (first appearance).
pub(crate) fn grid(report: &RunReport) -> Vec<(&str, Vec<&str>, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for cell in &report.cells {
        let index = match out.iter().position(|(s, _, _)| *s == cell.server) {
            Some(i) => i,
            None => {
                out.push((&cell.server, Vec::new(), Vec::new()));
                out.len() - 1
            }
        };
        let (_, clients, cases) = &mut out[index];
        if !clients.contains(&cell.client.as_str()) {
            clients.push(&cell.client);
        }
        if !cases.contains(&cell.case.as_str()) {
            cases.push(&cell.case);
        }
    }
    out
}

/// The cell at (server, client, case).
pub(crate) fn cell<'a>(
    report: &'a RunReport,
    server: &str,
    client: &str,
    case: &str,
) -> Option<&'a CellReport> {
    report.cells.iter().find(|c| c.server == server && c.client == client && c.case == case)
}

/// The statuses that are problems, in the order reports list them: fails, unexpected passes, flakes.
pub(crate) const PROBLEMS: [Status; 3] = [Status::Fail, Status::UnexpectedPass, Status::Flaky];

/// The problem cells, fails first, then unexpected passes, then flaky cells; each in plan order.
pub(crate) fn problems(report: &RunReport) -> Vec<&CellReport> {
    PROBLEMS.iter().flat_map(|s| report.cells.iter().filter(move |c| c.status == *s)).collect()
}

/// Each known-failure entry that known cells matched, with how many, in first-seen order.
/// A known cell without an entry (from an old report) is grouped under its reason's first line.
pub(crate) fn known_entries(report: &RunReport) -> Vec<(KnownRef, usize)> {
    let mut out: Vec<(KnownRef, usize)> = Vec::new();
    for cell in report.cells.iter().filter(|c| c.status == Status::Known) {
        let entry = cell.known.clone().unwrap_or_else(|| KnownRef {
            cell: cell.name.clone(),
            failure: String::new(),
            why: cell.reason.as_deref().and_then(|r| r.lines().next()).unwrap_or("").to_string(),
        });
        match out.iter_mut().find(|(e, _)| e.cell == entry.cell && e.why == entry.why) {
            Some((_, n)) => *n += 1,
            None => out.push((entry, 1)),
        }
    }
    out
}

/// A status in a few words, for legends: what the mark means.
pub(crate) fn meaning(status: Status) -> &'static str {
    match status {
        Status::Pass => "passed",
        Status::Fail => "failed",
        Status::Known => "failed as expected",
        Status::Flaky => "failed, then passed",
        Status::UnexpectedPass => "passed, but expected to fail",
        Status::Unsupported => "not supported",
        Status::Skipped => "left out on purpose (INTEROP_SKIP)",
        Status::NotRun => "not run: the run was interrupted",
    }
}

/// The counts, problems first, without zero categories:
/// `3 failed, 402 passed, 50 known, 25 unsupported (480 cells)`.
pub(crate) fn counts(report: &RunReport) -> String {
    let order = [
        (Status::Fail, "failed"),
        (Status::UnexpectedPass, "unexpected pass"),
        (Status::Flaky, "flaky"),
        (Status::NotRun, "not run"),
        (Status::Pass, "passed"),
        (Status::Known, "known"),
        (Status::Unsupported, "unsupported"),
        (Status::Skipped, "skipped"),
    ];
    let parts: Vec<String> = order
        .iter()
        .map(|(status, word)| (report.count(*status), word))
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| match (n, *word) {
            (n, "unexpected pass") if n > 1 => format!("{n} unexpected passes"),
            (n, word) => format!("{n} {word}"),
        })
        .collect();
    let cells = match report.cells.len() {
        1 => "1 cell".to_string(),
        n => format!("{n} cells"),
    };
    if parts.is_empty() {
        format!("no cells ran ({cells})")
    } else {
        format!("{} ({cells})", parts.join(", "))
    }
}

/// For a cell whose attempts disagreed (`--repeat`, `--retries`): `flake rate 20%, 1 of 5 attempts
/// failed`. `None` for a steady cell.
pub(crate) fn flake_rate(cell: &CellReport) -> Option<String> {
    let rate = cell.flake_rate.filter(|r| *r > 0.0 && *r < 1.0)?;
    let failed = cell.attempts.iter().filter(|a| !a.passed).count();
    Some(format!("flake rate {:.0}%, {failed} of {} attempts failed", rate * 100.0, cell.attempts.len()))
}

/// A cell with nothing in it, for reporters' tests to fill in.
#[cfg(test)]
pub(crate) fn blank_cell(server: &str, client: &str, case: &str, status: Status) -> CellReport {
    CellReport { status, ..CellReport::new(server, client, case) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str, status: Status) -> CellReport {
        blank_cell("s", "c", name, status)
    }

    #[test]
    fn counts_leave_out_zero_categories() {
        let mut report = RunReport::default();
        assert_eq!(counts(&report), "no cells ran (0 cells)");
        report.cells = vec![cell("a", Status::Pass), cell("b", Status::Pass), cell("c", Status::Fail)];
        assert_eq!(counts(&report), "1 failed, 2 passed (3 cells)");
        report.cells.push(cell("d", Status::UnexpectedPass));
        report.cells.push(cell("e", Status::UnexpectedPass));
        assert_eq!(counts(&report), "1 failed, 2 unexpected passes, 2 passed (5 cells)");
    }

    #[test]
    fn known_cells_group_by_entry() {
        let entry = |cell: &str| KnownRef { cell: cell.into(), failure: "f".into(), why: "w".into() };
        let mut report = RunReport::default();
        for (name, pattern) in [("a", "*/large*"), ("b", "*/slicer"), ("c", "*/large*")] {
            report.cells.push(CellReport { known: Some(entry(pattern)), ..cell(name, Status::Known) });
        }
        let groups = known_entries(&report);
        assert_eq!(groups, vec![(entry("*/large*"), 2), (entry("*/slicer"), 1)]);
    }
}
