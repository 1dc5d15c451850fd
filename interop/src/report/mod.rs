//! Reporters: each reads the same [`RunReport`] (and, for the terminal, the run's events).
//!
//! - [`terminal`]: progress (a bar on a TTY, plain lines otherwise), then matrices and failures.
//! - [`junit`]: JUnit XML via quick-junit.
//! - [`json`]: the versioned JSON report (docs/REPORTS.md).
//! - [`markdown`]: a summary for `$GITHUB_STEP_SUMMARY`.
//! - [`html`]: one self-contained page with the grid, each cell's commands, output and transcript.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use crate::results::{CellReport, RunReport};

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
