//! The terminal reporter. While running: a progress bar on an interactive terminal (indicatif),
//! plain lines otherwise (pipes, CI). At the end: one matrix per server (rows clients, columns
//! cases), then every problem with its reason, the tail of the processes' stderr, the transcript
//! when recorded, and the repro commands. Colour only on a TTY, and never with `NO_COLOR`.

use crate::build::BuildStatus;
use crate::results::{CellReport, RunReport, Status};
use crate::runner::{EventKind, RunEvent};
use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
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
            EventKind::RunFinished(_) => {
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
    let attempts =
        if cell.attempts.len() > 1 { format!(", {} attempts", cell.attempts.len()) } else { String::new() };
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

/// The final report: matrices, problems, summary line.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    for (server, clients, cases) in super::grid(report) {
        let first = clients.iter().map(|c| c.len()).max().unwrap_or(0).max(server.len());
        let _ = write!(out, "\n{server:<first$}");
        for case in &cases {
            let _ = write!(out, "  {case}");
        }
        out.push('\n');
        for client in &clients {
            let _ = write!(out, "{client:<first$}");
            for case in &cases {
                let (mark, status) = super::cell(report, server, client, case)
                    .map_or(("", Status::Unsupported), |c| (c.status.mark(), c.status));
                // Pad before styling: escape codes have no width.
                let _ = write!(
                    out,
                    "  {}",
                    style(status).apply_to(format!("{mark:<width$}", width = case.len()))
                );
            }
            out.push('\n');
        }
    }
    let legend =
        report.statuses().iter().map(|s| format!("{} {}", s.mark(), s.name())).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "({legend})");
    for cell in &report.cells {
        match cell.status {
            Status::Fail | Status::UnexpectedPass => problem(&mut out, cell),
            Status::Flaky => {
                let rate =
                    cell.flake_rate.map(|r| format!(" (flake rate {:.0}%)", r * 100.0)).unwrap_or_default();
                let _ = writeln!(out, "\n{} {}{rate}", style(cell.status).apply_to("FLAKY"), cell.name);
                let _ = writeln!(out, "{}", indent(cell.reason.as_deref().unwrap_or(""), 4));
            }
            Status::Known => {
                let why = cell.known.as_ref().map_or("", |k| k.why.as_str());
                let _ = writeln!(out, "\n{} {}: {why}", style(cell.status).apply_to("known"), cell.name);
            }
            Status::Pass | Status::Unsupported | Status::Skipped | Status::NotRun => {}
        }
    }
    if report.interrupted {
        let not_run = report.count(Status::NotRun);
        let _ = writeln!(
            out,
            "\n{} the run was interrupted: {not_run} of {} cells did not run or did not finish",
            style(Status::Fail).apply_to("INTERRUPTED"),
            report.cells.len()
        );
    }
    let line = report.summary_line();
    let _ = writeln!(
        out,
        "\n{}",
        if report.failed() { style(Status::Fail).apply_to(line) } else { style(Status::Pass).apply_to(line) }
    );
    out
}

/// What the terminal shows for a failed cell: reason, stderr tails, transcript, repro.
pub fn problem_text(cell: &CellReport) -> String {
    let mut out = String::new();
    problem(&mut out, cell);
    out
}

fn problem(out: &mut String, cell: &CellReport) {
    let attempts =
        if cell.attempts.len() > 1 { format!(" ({} attempts)", cell.attempts.len()) } else { String::new() };
    let _ = writeln!(out, "\n{} {}{attempts}", style(cell.status).apply_to(cell.status.mark()), cell.name);
    let _ = writeln!(out, "{}", indent(cell.reason.as_deref().unwrap_or(""), 4));
    if let Some(attempt) = cell.attempts.iter().rev().find(|a| !a.passed) {
        let logs = attempt.processes();
        for (label, log) in logs.filter(|(_, l)| !l.stderr.trim().is_empty()) {
            let tail: Vec<&str> =
                log.stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            let _ = writeln!(
                out,
                "    {label} stderr ({}), last lines:\n{}",
                log.exit,
                indent(&tail.join("\n"), 6)
            );
        }
        if let Some(transcript) = &attempt.transcript {
            for (i, conn) in transcript.connections.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "    connection {} {} -> {} ({})",
                    i + 1,
                    conn.client,
                    conn.relay,
                    conn.end
                );
                for (arrow, dir) in conn.directions() {
                    let dump: Vec<&str> = dir.dump.lines().take(8).collect();
                    let more = if dir.dump.lines().count() > 8 { "\n      …" } else { "" };
                    let _ = writeln!(
                        out,
                        "      {arrow}: {} bytes\n{}{more}",
                        dir.len,
                        indent(&dump.join("\n"), 6)
                    );
                }
            }
        }
    }
    if !cell.repro.is_empty() {
        let _ = writeln!(out, "    reproduce:\n{}", indent(&cell.repro.join("\n"), 6));
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}
