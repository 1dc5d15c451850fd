//! JUnit XML with quick-junit: one testsuite per server, one testcase per cell. Every testcase has
//! a `name` (the cell) and a `classname` (`interop.<server>.<client>`). Failures carry the reason
//! and the repro commands; known failures and unsupported cells are skipped with their reason;
//! flaky cells pass with their failed attempts as flaky runs.

use crate::results::{CellReport, RunReport, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::time::Duration;

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> String {
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
    junit.to_string().unwrap_or_default()
}

fn test_case(cell: &CellReport) -> TestCase {
    let reason = cell.reason.clone().unwrap_or_default();
    let first_line = reason.lines().next().unwrap_or("").to_string();
    let status = match cell.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Flaky => {
            let mut reruns = Vec::new();
            for attempt in cell.attempts.iter().filter(|a| !a.passed) {
                let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                rerun.set_time(Duration::from_millis(attempt.duration_ms));
                rerun.set_message(attempt.reason.as_deref().and_then(|r| r.lines().next()).unwrap_or(""));
                rerun.set_description(attempt.reason.clone().unwrap_or_default());
                reruns.push(rerun);
            }
            TestCaseStatus::Success { flaky_runs: reruns }
        }
        Status::Fail | Status::UnexpectedPass => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(first_line);
            status.set_type(cell.status.name());
            status.set_description(format!("{reason}\n\nreproduce by hand:\n{}", cell.repro.join("\n")));
            status
        }
        Status::Known | Status::Unsupported | Status::Skipped | Status::NotRun => {
            let mut status = TestCaseStatus::skipped();
            status.set_type(cell.status.name());
            let why = cell.known.as_ref().map(|k| format!(" ({})", k.why)).unwrap_or_default();
            status.set_message(format!("{}: {first_line}{why}", cell.status.name()));
            status.set_description(reason);
            status
        }
    };
    let mut case = TestCase::new(&cell.name, status);
    case.set_classname(format!("interop.{}.{}", cell.server, cell.client));
    case.set_time(Duration::from_millis(cell.duration_ms));
    if let Some(last) = cell.attempts.last() {
        let mut out = String::new();
        let mut err = String::new();
        for (label, log) in last.processes() {
            out.push_str(&format!("--- {label}: {} ({})\n{}\n", log.command, log.exit, log.stdout));
            err.push_str(&format!("--- {label}: {} ({})\n{}\n", log.command, log.exit, log.stderr));
        }
        case.set_system_out(out);
        case.set_system_err(err);
    }
    case
}
