//! The terminal reporter. While running: a progress bar on an interactive terminal (indicatif),
//! plain lines otherwise (pipes, CI). At the end: one table per server (rows cases, columns
//! clients), then every problem with its reason, the tail of the processes' stderr, the transcript
//! when recorded, and the repro commands, all bounded (see [`super::bounded`]); then one line per
//! known-failure entry, and last the counts and the failing cells' names. Colour only on a TTY, and
//! never with `NO_COLOR`.

use super::bounded::{self, Bounded, Limit};
use crate::build::BuildStatus;
use crate::events::{EventKind, RunEvent};
use crate::results::{CellReport, RunReport, Status};
use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt;
use std::io::IsTerminal as _;

/// How the terminal is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminalMode {
    /// Draw a progress bar (else print one line per finished cell).
    pub progress_bar: bool,
    /// Use colour.
    pub colour: bool,
}

impl TerminalMode {
    /// From the environment: a bar only on a TTY outside CI; colour only on a TTY without `NO_COLOR`.
    pub fn detect() -> Self {
        let tty = std::io::stdout().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        TerminalMode { progress_bar: tty && !ci, colour: tty && !no_colour }
    }
}

/// Prints progress and the final report.
#[derive(Debug)]
pub struct Terminal {
    mode: TerminalMode,
    bar: Option<ProgressBar>,
}

impl Terminal {
    /// A reporter for `mode`.
    pub fn new(mode: TerminalMode) -> Self {
        console::set_colors_enabled(mode.colour);
        Terminal { mode, bar: None }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// Reacts to one event.
    pub fn event(&mut self, event: &RunEvent) {
        match &event.kind {
            EventKind::RunStarted { cells, jobs } => {
                if self.mode.progress_bar {
                    let bar =
                        ProgressBar::with_draw_target(Some(*cells as u64), ProgressDrawTarget::stdout());
                    bar.set_style(
                        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    self.bar = Some(bar);
                } else {
                    println!("running {cells} cells, {jobs} at a time");
                }
            }
            EventKind::BuildStarted { name } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("building {name}"));
                }
            }
            EventKind::BuildFinished { name, status } => self.line(build_line(name, status)),
            EventKind::CellStarted { name } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(name.clone());
                }
            }
            EventKind::AttemptFinished { name, number, passed } => {
                if let Some(bar) = &self.bar {
                    let verdict = if *passed { "passed" } else { "failed" };
                    bar.set_message(format!("{name}: attempt {number} {verdict}"));
                }
            }
            EventKind::CellFinished(cell) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    if cell.status.fails_run() || cell.status == Status::Flaky {
                        bar.println(progress_line(cell));
                    }
                } else {
                    println!("{}", progress_line(cell));
                }
            }
            EventKind::RunFinished => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

/// The line printed for an implementation's build.
pub fn build_line(name: &str, status: &BuildStatus) -> String {
    match status {
        BuildStatus::NotNeeded => format!("build  {name}: nothing to build"),
        BuildStatus::Fresh => format!("build  {name}: up to date, not rebuilt"),
        BuildStatus::Built { duration } => format!("build  {name}: built in {:.1} s", duration.as_secs_f64()),
        BuildStatus::Failed(why) => format!("build  {name}: FAILED: {}", why.lines().next().unwrap_or("")),
    }
}

fn progress_line(cell: &CellReport) -> String {
    // An unsteady cell (`--repeat`) shows its flake rate as soon as it is known.
    let attempts = match super::flake_rate(cell) {
        Some(rate) => format!(", {rate}"),
        None if cell.attempts.len() > 1 => format!(", {} attempts", cell.attempts.len()),
        None => String::new(),
    };
    format!(
        "{:<5} {} ({} ms{attempts})",
        style(cell.status).apply_to(cell.status.mark()),
        cell.name,
        cell.duration_ms
    )
}

fn style(status: Status) -> Style {
    match status {
        Status::Pass => Style::new().green(),
        Status::Fail | Status::UnexpectedPass => Style::new().red().bold(),
        Status::Known => Style::new().yellow(),
        Status::Flaky => Style::new().magenta(),
        Status::Unsupported | Status::Skipped => Style::new().dim(),
        Status::NotRun => Style::new().red(),
    }
}

/// Lines of a green run stay within this many columns (wider only for problems' own text).
pub const WIDTH: usize = 100;

/// Failing cells named in the last line before "… and N more".
const NAMED: usize = 5;

/// The final report: one table per server (cases down, clients across), a legend, the problems
/// (each with its bounded reason and repro), one line per known-failure entry, and a last line with
/// the counts, the duration and the failing cells' names.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    write_summary(&mut out, report).expect("a String accepts every write");
    out
}

/// [`summary`], written to `out`.
pub fn write_summary(out: &mut impl fmt::Write, report: &RunReport) -> fmt::Result {
    for (server, clients, cases) in super::grid(report) {
        table(out, report, server, &clients, &cases)?;
    }
    legend(out, report)?;
    for cell in super::problems(report) {
        problem(out, cell)?;
    }
    known(out, report)?;
    if report.interrupted {
        writeln!(
            out,
            "\n{} the run was interrupted: {} of {} did not run or did not finish",
            style(Status::Fail).apply_to("INTERRUPTED"),
            report.count(Status::NotRun),
            bounded::plural(report.cells.len(), "cell")
        )?;
    }
    writeln!(out, "\n{}", last_line(report))
}

/// One server's table: a row per case, a column per client.
fn table(
    out: &mut impl fmt::Write,
    report: &RunReport,
    server: &str,
    clients: &[&str],
    cases: &[&str],
) -> fmt::Result {
    let first = cases.iter().map(|c| c.chars().count()).max().unwrap_or(0).max(server.chars().count());
    // Wide enough for the longest mark ("known", "flaky", "XPASS").
    let widths: Vec<usize> = clients.iter().map(|c| c.chars().count().max(5)).collect();
    write!(out, "\n{}{}", Style::new().bold().apply_to(server), " ".repeat(first - server.chars().count()))?;
    for (i, (client, width)) in clients.iter().zip(&widths).enumerate() {
        // The last column is not padded: no trailing blanks.
        let width = if i + 1 == clients.len() { 0 } else { *width };
        write!(out, "  {client:<width$}")?;
    }
    writeln!(out)?;
    for case in cases {
        write!(out, "{case:<first$}")?;
        for (i, (client, width)) in clients.iter().zip(&widths).enumerate() {
            let width = if i + 1 == clients.len() { 0 } else { *width };
            let (mark, status) = super::cell(report, server, client, case)
                .map_or(("·", Status::Unsupported), |c| (c.status.mark(), c.status));
            // Pad before styling: escape codes have no width.
            write!(out, "  {}", style(status).apply_to(format!("{mark:<width$}")))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// What each mark in the tables means, for the statuses that occur; wrapped at [`WIDTH`].
fn legend(out: &mut impl fmt::Write, report: &RunReport) -> fmt::Result {
    let items: Vec<String> = report
        .statuses()
        .iter()
        .filter(|s| report.count(**s) > 0)
        .map(|s| format!("{} = {}", s.mark(), super::meaning(*s)))
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.chars().count() + 3 + item.chars().count() > WIDTH {
            writeln!(out, "{line}")?;
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&item);
    }
    writeln!(out, "{line}")
}

/// One line per known-failure entry: how many cells it covered, its pattern and why.
fn known(out: &mut impl fmt::Write, report: &RunReport) -> fmt::Result {
    let entries = super::known_entries(report);
    if entries.is_empty() {
        return Ok(());
    }
    let cells = report.count(Status::Known);
    writeln!(
        out,
        "\n{} ({}, {}):",
        style(Status::Known).apply_to("known failures"),
        bounded::plural(cells, "cell"),
        bounded::plural(entries.len(), "entry")
    )?;
    let digits = entries.iter().map(|(_, n)| n.to_string().len()).max().unwrap_or(1);
    for (entry, n) in entries {
        let line = format!("  {n:>digits$} × {}: {}", entry.cell, entry.why);
        writeln!(out, "{}", bounded::truncate(&line, WIDTH))?;
    }
    Ok(())
}

/// `FAILED 3 failed, 402 passed, 50 known, 25 unsupported (480 cells) in 131.2 s: a/b/c, …`;
/// `INTERRUPTED …` for an interrupted run (its not-run cells are counted, not named).
pub fn last_line(report: &RunReport) -> String {
    let failing: Vec<&str> = report
        .cells
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::UnexpectedPass))
        .map(|c| c.name.as_str())
        .collect();
    let verdict = match (report.interrupted, report.failed()) {
        (true, _) => "INTERRUPTED",
        (false, true) => "FAILED",
        (false, false) => "PASSED",
    };
    let mut line =
        format!("{verdict} {} in {:.1} s", super::counts(report), report.duration_ms as f64 / 1000.0);
    if !failing.is_empty() {
        line.push_str(": ");
        line.push_str(&bounded::list(&failing, NAMED));
    }
    let status = if report.failed() { Status::Fail } else { Status::Pass };
    style(status).apply_to(line).to_string()
}

/// A cell in one line of at most [`WIDTH`] columns, for a cell that needs no detail: `name: known
/// (tutorial-server/*/large*: one recv(1024) is …)`, `name: flaky (flake rate 20%, …): reason`.
pub fn one_line(cell: &CellReport) -> String {
    // A flaky cell's reason starts by counting its attempts, as its flake rate does: show the
    // first failure instead.
    let failure = cell.attempts.iter().find(|a| !a.passed).and_then(|a| a.reason.as_deref());
    let reason = if cell.status == Status::Flaky { failure } else { cell.reason.as_deref() };
    let first = reason.and_then(|r| r.lines().next()).unwrap_or("");
    let line = match (&cell.known, super::flake_rate(cell)) {
        (Some(known), _) if cell.status == Status::Known => {
            format!("{}: known ({}: {})", cell.name, known.cell, known.why)
        }
        (_, Some(rate)) => format!("{}: {} ({rate}): {first}", cell.name, cell.status.name()),
        _ => format!("{}: {}: {first}", cell.name, cell.status.name()),
    };
    bounded::truncate(&line, WIDTH)
}

/// What the terminal shows for a problem cell: reason, stderr tails, transcript, repro; bounded, so
/// that one cell never takes more than a screenful or two (at most 80 lines).
pub fn problem_text(cell: &CellReport) -> String {
    let mut out = String::new();
    problem(&mut out, cell).expect("a String accepts every write");
    out
}

// What one problem shows at most, chosen so that the worst case stays within 80 lines: a reason
// of 12 lines with a note after each 3 and at the end (17), stderr of 2 processes (15), 1
// connection's transcript (14), and the repro commands (at most 16: the `concurrent` case's 8
// by-hand client commands fold "like it").
/// Processes whose stderr is shown for one problem.
const PROCESSES: usize = 2;
/// Connections whose transcript is shown for one problem.
const CONNECTIONS: usize = 1;
/// Hex dump lines shown per direction.
const DUMP: Limit = Limit { head: 4, tail: 0, alike: 4, width: 120 };
/// Repro commands: never cut within a line (they are for copying), the last one (`wait`) kept.
const REPRO: Limit = Limit { head: 6, tail: 1, alike: 3, width: 10_000 };

fn problem(out: &mut impl fmt::Write, cell: &CellReport) -> fmt::Result {
    let mark = if cell.status == Status::Flaky { "FLAKY" } else { cell.status.mark() };
    let about = match super::flake_rate(cell) {
        Some(rate) => format!(" ({rate})"),
        None if cell.attempts.len() > 1 => format!(" ({} attempts)", cell.attempts.len()),
        None => String::new(),
    };
    writeln!(out, "\n{} {}{about}", style(cell.status).apply_to(mark), cell.name)?;
    indented(out, &bounded::bound(cell.reason.as_deref().unwrap_or(""), Limit::TERMINAL), 4)?;
    if let Some(attempt) = cell.attempts.iter().rev().find(|a| !a.passed) {
        let logs: Vec<_> = attempt.processes().filter(|(_, l)| !l.stderr.trim().is_empty()).collect();
        for (label, log) in logs.iter().take(PROCESSES) {
            writeln!(out, "    {label} stderr ({}), last lines:", log.exit)?;
            indented(out, &bounded::bound(&log.stderr, Limit::TERMINAL_LOG), 6)?;
        }
        if logs.len() > PROCESSES {
            writeln!(out, "    … and {} more processes with stderr", logs.len() - PROCESSES)?;
        }
        if let Some(transcript) = &attempt.transcript {
            for (i, conn) in transcript.connections.iter().enumerate().take(CONNECTIONS) {
                writeln!(out, "    connection {} {} -> {} ({})", i + 1, conn.client, conn.relay, conn.end)?;
                for (arrow, dir) in conn.directions() {
                    writeln!(out, "      {arrow}: {} bytes", dir.len)?;
                    indented(out, &bounded::bound(&dir.dump, DUMP), 6)?;
                }
            }
            if transcript.connections.len() > CONNECTIONS {
                writeln!(out, "    … and {} more connections", transcript.connections.len() - CONNECTIONS)?;
            }
        }
    }
    if !cell.repro.is_empty() {
        writeln!(out, "    reproduce:")?;
        indented(out, &bounded::bound(&cell.repro.join("\n"), REPRO), 6)?;
    }
    Ok(())
}

fn indented(out: &mut impl fmt::Write, text: &Bounded, by: usize) -> fmt::Result {
    for piece in text.pieces() {
        writeln!(out, "{:by$}{piece}", "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Attempt, KnownRef, ProcessLog, RunReport};

    fn attempt(passed: bool, reason: Option<&str>) -> Attempt {
        Attempt {
            passed,
            reason: reason.map(String::from),
            problems: Vec::new(),
            duration_ms: 40,
            server: Some(ProcessLog {
                command: "interop-server --port 0".into(),
                exit: "exit code 0".into(),
                stdout: String::new(),
                stderr: String::new(),
            }),
            clients: vec![ProcessLog {
                command: "client --port 41000".into(),
                exit: if passed { "exit code 0" } else { "exit code 5" }.into(),
                stdout: String::new(),
                stderr: if passed { String::new() } else { "Traceback\n  File x\nValueError: ack".into() },
            }],
            transcript: None,
        }
    }

    fn cell(server: &str, client: &str, case: &str, status: Status) -> CellReport {
        let name = format!("{server}/{client}/{case}");
        let logged: String = (1..=8_193)
            .map(|seq| format!("\nthe server logged a message no client reported: 127.0.0.1:37850 seq {seq}"))
            .collect();
        let (reason, known, attempts) = match status {
            Status::Pass => (None, None, vec![attempt(true, None)]),
            Status::Fail => {
                let reason = format!("client failed (exit code 5): ack mismatch{logged}");
                (Some(reason.clone()), None, vec![attempt(false, Some(&reason))])
            }
            Status::Known => {
                let entry = KnownRef {
                    cell: format!("{server}/*/{case}"),
                    failure: "client failed".into(),
                    why: "one recv(1024) is not a message: the server acknowledges the first 1020 bytes of an 8 MiB frame".into(),
                };
                (
                    Some(format!("client failed (exit code 5){logged}")),
                    Some(entry),
                    vec![attempt(false, None)],
                )
            }
            Status::Flaky => (
                Some("flaky: 1 of 4 attempts failed; first failure:\nconnection reset".into()),
                None,
                vec![
                    attempt(false, Some("connection reset")),
                    attempt(true, None),
                    attempt(true, None),
                    attempt(true, None),
                ],
            ),
            Status::UnexpectedPass => (
                Some(format!("unexpected pass: remove the entry for {name:?} from known-failures.toml")),
                None,
                vec![attempt(true, None)],
            ),
            Status::Unsupported => (Some("node does not support mode framed".into()), None, vec![]),
            Status::Skipped => (Some("INTEROP_SKIP=node".into()), None, vec![]),
            Status::NotRun => (Some("the run was interrupted".into()), None, vec![]),
        };
        let failed = attempts.iter().filter(|a| !a.passed).count();
        CellReport {
            reason,
            known,
            duration_ms: 40 * attempts.len() as u64,
            flake_rate: (attempts.len() > 1).then(|| failed as f64 / attempts.len() as f64),
            attempts,
            repro: if status == Status::Unsupported {
                vec![]
            } else {
                vec![format!("cargo run -q -p interop -- repro {name}")]
            },
            ..super::super::blank_cell(server, client, case, status)
        }
    }

    /// Two servers, two clients, three cases, every status.
    fn sample() -> RunReport {
        let mut cells = Vec::new();
        for server in ["rust-server", "tutorial-server"] {
            for client in ["java", "node"] {
                for case in ["hello", "large", "binary+limit_data"] {
                    let status = match (server, client, case) {
                        ("rust-server", "java", "hello") => Status::Fail,
                        ("rust-server", "node", "hello") => Status::Flaky,
                        ("rust-server", "node", "binary+limit_data") => Status::UnexpectedPass,
                        ("tutorial-server", _, "large" | "binary+limit_data") => Status::Known,
                        (_, "node", "large") => Status::Unsupported,
                        _ => Status::Pass,
                    };
                    cells.push(cell(server, client, case, status));
                }
            }
        }
        RunReport { duration_ms: 131_234, cells, ..RunReport::default() }
    }

    #[test]
    fn summary_snapshot() {
        console::set_colors_enabled(false);
        insta::assert_snapshot!(summary(&sample()));
    }

    #[test]
    fn a_green_run_stays_within_the_width() {
        console::set_colors_enabled(false);
        let mut report = sample();
        report.cells.retain(|c| !super::super::PROBLEMS.contains(&c.status));
        let text = summary(&report);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(
            text.trim_end().ends_with("PASSED 4 passed, 4 known, 1 unsupported (9 cells) in 131.2 s"),
            "{text}"
        );
    }

    #[test]
    fn one_failing_cell_takes_at_most_80_lines() {
        console::set_colors_enabled(false);
        let mut failing = cell("s", "c", "concurrent", Status::Fail);
        // The worst case: a reason whose runs of 5 lines alternate in shape (a note after every 3
        // lines), many processes with stderr, many recorded connections, many repro commands.
        let reason: String =
            (0..400).map(|i| if i % 10 < 5 { format!("sent {i}\n") } else { format!("got {i}\n") }).collect();
        failing.reason = Some(reason);
        let noisy = attempt(false, failing.reason.as_deref());
        failing.attempts[0].clients = vec![noisy.clients[0].clone(); 16];
        let dump = (0..256).map(|i| format!("{:08x}  {}\n", i * 16, "41 ".repeat(16))).collect::<String>();
        let direction =
            crate::results::Direction { len: 4096, sha256: "0".repeat(64), dump, dump_limit: 4096 };
        let connection = crate::results::ConnectionTranscript {
            client: "127.0.0.1:1".into(),
            relay: "127.0.0.1:2".into(),
            client_to_server: direction.clone(),
            server_to_client: direction,
            end: "client closed".into(),
        };
        failing.attempts[0].transcript =
            Some(crate::results::Transcript { connections: vec![connection; 16] });
        failing.repro = (1..=16).map(|i| format!("(client {i} --port 8099) &")).collect();
        failing.repro.push("wait".into());
        let text = problem_text(&failing);
        assert!(text.lines().count() <= 80, "{} lines:\n{text}", text.lines().count());
        assert!(text.contains("    sent 2\n    … and 2 more like it\n    got 5\n"), "{text}");
        assert!(text.contains("    got 17\n    … and 382 more lines\n"), "{text}");
        assert!(text.contains("… and 14 more processes with stderr"), "{text}");
        assert!(text.contains("… and 15 more connections"), "{text}");
        assert!(
            text.contains("(client 3 --port 8099) &\n      … and 13 more like it\n      wait\n"),
            "{text}"
        );
        // A huge reason of one shape folds into one note.
        let large = cell("s", "c", "large", Status::Fail);
        assert!(problem_text(&large).contains("… and 8,190 more like it"));
    }

    #[test]
    fn known_and_flaky_cells_take_one_line() {
        let report = sample();
        for cell in report.cells.iter().filter(|c| matches!(c.status, Status::Known | Status::Flaky)) {
            let line = one_line(cell);
            assert!(!line.contains('\n') && line.chars().count() <= WIDTH, "{line}");
        }
        let flaky = report.cells.iter().find(|c| c.status == Status::Flaky).unwrap();
        assert_eq!(
            one_line(flaky),
            "rust-server/node/hello: flaky (flake rate 25%, 1 of 4 attempts failed): connection reset"
        );
    }
}
