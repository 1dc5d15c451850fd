//! JUnit XML with quick-junit: one testsuite per server, one testcase per cell. Every testcase has
//! a `name` (the cell) and a `classname` (`interop.<server>.<client>`). Failures carry the reason
//! and the repro commands, and the failed attempt's process output; known failures and unsupported
//! cells are skipped with their reason; flaky cells pass with their failed attempts as flaky runs.
//! Passing testcases carry no output, and every reason and log is bounded
//! ([`Limit::FILE`](super::bounded::Limit::FILE)): the JSON report has them whole.

use super::bounded::{self, Limit};
use crate::results::{CellReport, RunReport, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::time::Duration;

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("interop");
    junit.set_time(Duration::from_millis(report.duration_ms));
    for (server, _, _) in super::grid(report) {
        let mut suite = TestSuite::new(server);
        let cells = report.cells.iter().filter(|c| c.server == server);
        suite.add_test_cases(cells.map(test_case));
        junit.add_test_suite(suite);
    }
    if report.interrupted {
        // Skipped not-run cells alone would leave the file green: an interrupted run is an error.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type("interrupted");
        status.set_message(format!(
            "the run was interrupted: {} of {} cells did not run or did not finish",
            report.count(Status::NotRun),
            report.cells.len()
        ));
        let mut suite = TestSuite::new("interop");
        suite.add_test_case(TestCase::new("interrupted", status));
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

/// A reason's first line, for a `message` attribute.
fn first_line(text: &str) -> String {
    bounded::truncate(text.lines().next().unwrap_or(""), Limit::FILE.width)
}

fn test_case(cell: &CellReport) -> TestCase {
    let reason = cell.reason.as_deref().unwrap_or("");
    let shown = bounded::bound(reason, Limit::FILE).to_string();
    let status = match cell.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Flaky => {
            let mut reruns = Vec::new();
            for attempt in cell.attempts.iter().filter(|a| !a.passed) {
                let reason = attempt.reason.as_deref().unwrap_or("");
                let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                rerun.set_time(Duration::from_millis(attempt.duration_ms));
                rerun.set_message(first_line(reason));
                rerun.set_description(bounded::bound(reason, Limit::FILE).to_string());
                reruns.push(rerun);
            }
            TestCaseStatus::Success { flaky_runs: reruns }
        }
        Status::Fail | Status::UnexpectedPass => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(first_line(reason));
            status.set_type(cell.status.name());
            status.set_description(format!("{shown}\n\nreproduce by hand:\n{}", cell.repro.join("\n")));
            status
        }
        Status::Known | Status::Unsupported | Status::Skipped | Status::NotRun => {
            let mut status = TestCaseStatus::skipped();
            status.set_type(cell.status.name());
            let why = cell.known.as_ref().map(|k| format!(" ({})", k.why)).unwrap_or_default();
            status.set_message(format!("{}: {}{why}", cell.status.name(), first_line(reason)));
            status.set_description(shown);
            status
        }
    };
    let mut case = TestCase::new(&cell.name, status);
    case.set_classname(format!("interop.{}.{}", cell.server, cell.client));
    case.set_time(Duration::from_millis(cell.duration_ms));
    // Output only where it explains a failure: the last failed attempt of a cell that fails the run.
    let failed = cell.attempts.iter().rev().find(|a| !a.passed);
    if let Some(attempt) = failed.filter(|_| cell.status.fails_run()) {
        let mut out = String::new();
        let mut err = String::new();
        for (label, log) in attempt.processes() {
            let head = format!("--- {label}: {} ({})\n", log.command, log.exit);
            out.push_str(&format!("{head}{}\n", bounded::bound(&log.stdout, Limit::FILE)));
            err.push_str(&format!("{head}{}\n", bounded::bound(&log.stderr, Limit::FILE)));
        }
        case.set_system_out(out);
        case.set_system_err(err);
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Attempt, ProcessLog};

    fn cell(status: Status, reason: &str) -> CellReport {
        let log = ProcessLog {
            command: "server".into(),
            exit: "exit code 0".into(),
            stdout: "{\"event\":\"message\",\"seq\":1}\n".repeat(5_000),
            stderr: String::new(),
        };
        CellReport {
            reason: Some(reason.into()),
            duration_ms: 5,
            attempts: vec![Attempt {
                passed: status == Status::Pass,
                reason: Some(reason.into()),
                problems: Vec::new(),
                duration_ms: 5,
                server: Some(log),
                clients: vec![],
                transcript: None,
            }],
            repro: vec!["cargo run -q -p interop -- repro s/c/large".into()],
            ..super::super::blank_cell("s", "c", "large", status)
        }
    }

    fn render_one(cell: CellReport) -> String {
        render(&RunReport { cells: vec![cell], ..RunReport::default() }).unwrap()
    }

    #[test]
    fn passing_cases_carry_no_output() {
        let xml = render_one(cell(Status::Pass, ""));
        assert!(!xml.contains("system-out") && !xml.contains("system-err"), "{xml}");
    }

    #[test]
    fn long_reasons_and_logs_are_bounded() {
        let reason =
            format!("client failed (exit code 5)\n{}", "server logged seq 7, 1020 bytes\n".repeat(8_000));
        let xml = render_one(cell(Status::Fail, &reason));
        assert!(xml.len() < 16 * 1024, "{} bytes", xml.len());
        assert!(xml.contains("… and 7,995 more like it"), "{xml}");
        assert!(xml.contains("<system-out>"));
        let known = render_one(cell(Status::Known, &reason));
        assert!(known.len() < 8 * 1024 && !known.contains("system-out"), "{known}");
    }
}
