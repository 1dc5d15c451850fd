//! The terminal reporter: progress lines while running, then one matrix per server (rows clients,
//! columns cases) and every failure with its reason and repro commands.

use crate::build::BuildStatus;
use crate::run::{CellResult, Outcome, RunEvent};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The mark a cell gets in the matrix.
pub fn mark(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "ok",
        Outcome::Fail(_) => "FAIL",
        Outcome::Unsupported(_) => "n/a",
    }
}

/// A progress line for an event, if it deserves one.
pub fn progress_line(event: &RunEvent) -> Option<String> {
    match event {
        RunEvent::BuildStarted { .. } | RunEvent::CellStarted { .. } => None,
        RunEvent::BuildFinished { name, status } => Some(match status {
            BuildStatus::NotNeeded => format!("build  {name}: nothing to build"),
            BuildStatus::Fresh => format!("build  {name}: up to date, not rebuilt"),
            BuildStatus::Built { duration } => {
                format!("build  {name}: built in {:.1} s", duration.as_secs_f64())
            }
            BuildStatus::Failed(why) => {
                format!("build  {name}: FAILED: {}", why.lines().next().unwrap_or(""))
            }
        }),
        RunEvent::CellFinished(result) => Some(format!(
            "{:<4} {} ({} ms)",
            mark(&result.outcome),
            result.name,
            result.duration.as_millis()
        )),
    }
}

/// The final report: matrices, then failures with repro commands, then a summary line.
pub fn summary(results: &[std::sync::Arc<CellResult>]) -> String {
    let mut out = String::new();
    let servers: Vec<&str> = unique(results.iter().map(|r| r.server.as_str()));
    for server in servers {
        let cells: Vec<_> = results.iter().filter(|r| r.server == server).collect();
        let clients = unique(cells.iter().map(|r| r.client.as_str()));
        let cases = unique(cells.iter().map(|r| r.case.as_str()));
        let first = clients
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(0)
            .max(server.len());
        let _ = write!(out, "\n{server:<first$}");
        for case in &cases {
            let _ = write!(out, "  {case}");
        }
        out.push('\n');
        for client in &clients {
            let _ = write!(out, "{client:<first$}");
            for case in &cases {
                let mark = cells
                    .iter()
                    .find(|r| r.client == *client && r.case == *case)
                    .map_or("", |r| mark(&r.outcome));
                let _ = write!(out, "  {mark:<width$}", width = case.len());
            }
            out.push('\n');
        }
    }
    for result in results {
        if let Outcome::Fail(reason) = &result.outcome {
            let _ = write!(out, "\nFAIL {}\n{}\n", result.name, indent(reason));
            if !result.repro.is_empty() {
                let _ = write!(
                    out,
                    "  reproduce by hand:\n{}\n",
                    indent(&result.repro.join("\n"))
                );
            }
        }
    }
    let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    let (passed, failed) = (
        count(|o| *o == Outcome::Pass),
        count(|o| matches!(o, Outcome::Fail(_))),
    );
    let unsupported = count(|o| matches!(o, Outcome::Unsupported(_)));
    let _ = writeln!(
        out,
        "\n{passed} passed, {failed} failed, {unsupported} unsupported ({} cells)",
        results.len()
    );
    out
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    items.filter(|i| seen.insert(*i)).collect()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
