//! A whole run: prepare, then every cell with its attempts (retries, repeats), known failures
//! applied, `-j N` at a time. It reports progress as [`RunEvent`](crate::events::RunEvent)s and
//! returns a [`RunReport`]; it never prints.
//!
//! - [`mod@prepare`]: tools, builds and payload files, once; read-only afterwards;
//! - [`commands`]: each implementation's command line for a cell, and repro lines;
//! - `drivers`: one attempt of a cell, by a driver per case kind (`deliver`, `refused`, `silent`,
//!   `restart`, `busy`, `log_failure`), each given a `Trial`;
//! - `server`: a server process as a cell sees it;
//! - `pool`: servers shared between cells (a `reusable` server's delivery cells over TCP);
//! - [`timeouts`]: how long each awaited thing may take;
//! - `logs`, `unix_path`: what reports keep of a process; attempts' socket paths.
//!
//! Once the process's [`Registry`] is interrupted (its processes are being stopped), no cell and
//! no attempt starts; cells that did not run, or did not finish, are `not-run`, and the report is
//! marked interrupted.

pub mod commands;
mod drivers;
mod logs;
mod pool;
pub mod prepare;
mod server;
pub mod timeouts;
mod unix_path;

pub use commands::{REPRO_PORT, command};
pub use pool::ServerPool;
pub use prepare::{Implementations, Prepared, prepare, prepare_implementations};
pub use timeouts::{CLIENT_PROCESS_TIMEOUT, CLIENT_TIMEOUT_MS};

use crate::build::BuildStatus;
use crate::doctor::ToolCheck;
use crate::events::{Emitter, EventKind, Listener};
use crate::known::KnownFailures;
use crate::manifest::{Manifest, Placeholders};
use crate::plan::Cell;
use crate::process::{Phase, Registry};
use crate::results::{
    Attempt, BuildRecord, BuildState, CellReport, Partition, RunReport, SCHEMA, Status, Toolchain, millis,
};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Cells at once.
    pub jobs: usize,
    /// Re-run a failing cell up to this many times; passing on a retry makes it flaky.
    pub retries: u32,
    /// Run every cell this many times (at least 1) and report a flake rate.
    pub repeat: u32,
    /// Put the recording relay between clients and server and keep transcripts.
    pub record: bool,
    /// Known failures, and the file they came from (for messages).
    pub known: KnownFailures,
    /// The known-failures file's path, as shown in messages.
    pub known_file: String,
    /// Which partition of a split run this is, when it is one (recorded in the report).
    pub partition: Option<Partition>,
    /// How long a client process may run before it is killed.
    pub client_timeout: Duration,
    /// The manifest, when not the repository's own (repro commands then name it).
    pub manifest: Option<std::path::PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: 1,
            retries: 0,
            repeat: 1,
            record: false,
            known: KnownFailures::default(),
            known_file: crate::known::KNOWN_FAILURES_FILE.into(),
            partition: None,
            client_timeout: CLIENT_PROCESS_TIMEOUT,
            manifest: None,
        }
    }
}

/// Prepares and runs `cells`, returning the report.
pub async fn run(
    manifest: &Manifest,
    cells: Vec<Cell>,
    places: Placeholders,
    options: RunOptions,
    on: Listener,
) -> RunReport {
    let emitter = Emitter::new(on);
    let started = emitter.started();
    let started_unix_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, millis);
    emitter.emit(EventKind::RunStarted { cells: cells.len(), jobs: options.jobs });
    // A skipped cell's implementations are left out on purpose, often because their toolchain is
    // not installed here: neither check nor build them for it.
    let to_prepare: Vec<Cell> = cells.iter().filter(|c| c.skipped.is_none()).cloned().collect();
    let context = Arc::new(prepare(manifest, &to_prepare, places, &emitter).await);
    let pool = Arc::new(ServerPool::for_cells(&context, &cells, options.repeat.max(1)));
    let cells = run_cells((context.clone(), pool.clone()), cells, &options, emitter.clone()).await;
    pool.close().await;
    let report = RunReport {
        schema: SCHEMA.into(),
        started_unix_ms,
        duration_ms: millis(started.elapsed()),
        partition: options.partition,
        toolchains: context
            .ready
            .tools
            .iter()
            .map(|(name, check)| Toolchain {
                name: name.clone(),
                version: match check {
                    ToolCheck::Found(v) => Some(v.clone()),
                    ToolCheck::Missing(_) => None,
                },
                missing: match check {
                    ToolCheck::Found(_) => None,
                    ToolCheck::Missing(why) => Some(why.clone()),
                },
            })
            .collect(),
        builds: context.ready.builds.iter().map(|(name, status)| build_record(name, status)).collect(),
        cells,
        interrupted: Registry::global().interrupted(),
    };
    emitter.emit(EventKind::RunFinished);
    report
}

fn build_record(name: &str, status: &BuildStatus) -> BuildRecord {
    let (status, duration_ms, error) = match status {
        BuildStatus::NotNeeded => (BuildState::NotNeeded, None, None),
        BuildStatus::Fresh => (BuildState::Fresh, None, None),
        BuildStatus::Built { duration } => (BuildState::Built, Some(millis(*duration)), None),
        BuildStatus::Failed(why) => (BuildState::Failed, None, Some(why.clone())),
    };
    BuildRecord { name: name.into(), status, duration_ms, error }
}

async fn run_cells(
    (context, pool): (Arc<Prepared>, Arc<ServerPool>),
    cells: Vec<Cell>,
    options: &RunOptions,
    emitter: Emitter,
) -> Vec<CellReport> {
    // Longest first (most client processes, then most payload bytes), so that with -j N the run
    // does not end with one slow cell running alone; reports still come back in plan order.
    let mut queue: Vec<(usize, Cell)> = cells.into_iter().enumerate().collect();
    queue.sort_by_cached_key(|(index, cell)| (std::cmp::Reverse(cell.cost()), *index));
    let total = queue.len();
    let queue = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(queue)));
    let workers: Vec<_> = (0..options.jobs.clamp(1, total.max(1)))
        .map(|_| {
            let (context, pool, queue, emitter, options) =
                (context.clone(), pool.clone(), queue.clone(), emitter.clone(), options.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                let registry = Registry::global();
                while !registry.interrupted() {
                    // The lock is held only to pop; a poisoned lock means another worker panicked.
                    let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                    let Some((index, cell)) = next else { break };
                    emitter.emit(EventKind::CellStarted { name: cell.name() });
                    // An interrupted cell ends when its processes are killed; should it hang on
                    // anything else, it is given up (dropping it kills and removes what it holds).
                    let give_up = async {
                        registry.reached(Phase::Stopped).await;
                        tokio::time::sleep(WRAP_UP).await;
                    };
                    let report = tokio::select! {
                        report = run_cell(&context, &pool, &cell, &options, &emitter) => report,
                        () = give_up => not_run(&context, &cell, &options, INTERRUPTED_WHILE_RUNNING),
                    };
                    emitter.emit(EventKind::CellFinished(Arc::new(report.clone())));
                    done.push((index, report));
                }
                done
            })
        })
        .collect();
    let mut reports: Vec<Option<CellReport>> = vec![None; total];
    for worker in workers {
        match worker.await {
            Ok(done) => {
                for (index, report) in done {
                    reports[index] = Some(report);
                }
            }
            // A panic in the harness itself: say so loudly rather than lose cells.
            Err(err) => panic!("harness worker failed: {err}"),
        }
    }
    // Cells still queued were never started: the run was interrupted. One that could not have
    // run anyway says so.
    let left: Vec<(usize, Cell)> = queue.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default();
    for (index, cell) in left {
        reports[index] = Some(match cell.unsupported() {
            Some(why) => CellReport { status: Status::Unsupported, reason: Some(why), ..blank(&cell) },
            None => not_run(&context, &cell, options, NOT_STARTED),
        });
    }
    reports.into_iter().flatten().collect()
}

/// How long a cell may take to end after every process of an interrupted run was killed.
const WRAP_UP: Duration = Duration::from_secs(5);

/// The reason of a cell an interrupted run never started.
const NOT_STARTED: &str = "not run: the run was interrupted before this cell started";

/// The reason of a cell an interrupted run cut short.
const INTERRUPTED_WHILE_RUNNING: &str =
    "not run: the run was interrupted while this cell ran; its attempts were cut short and prove nothing";

/// The report of a cell the interrupted run did not run (or not to its end).
fn not_run(context: &Prepared, cell: &Cell, options: &RunOptions, reason: &str) -> CellReport {
    CellReport {
        status: Status::NotRun,
        reason: Some(reason.into()),
        repro: context.repro(cell, options.manifest.as_deref()),
        ..blank(cell)
    }
}

/// A cell's report before it ran.
fn blank(cell: &Cell) -> CellReport {
    CellReport {
        spec: cell.case.spec.into(),
        mode: cell.case.mode,
        ..CellReport::new(&cell.server.name, &cell.client.name, cell.case.name)
    }
}

/// Runs one cell: its attempts, then its final status with known failures applied; `not-run` if
/// the process's [`Registry`] was interrupted before it ended. Its server may be one of `pool`'s.
pub async fn run_cell(
    context: &Prepared,
    pool: &ServerPool,
    cell: &Cell,
    options: &RunOptions,
    emitter: &Emitter,
) -> CellReport {
    let mut report = blank(cell);
    if let Some(why) = cell.unsupported() {
        report.status = Status::Unsupported;
        report.reason = Some(why);
        return report;
    }
    if let Some(why) = &cell.skipped {
        report.status = Status::Skipped;
        report.reason = Some(why.clone());
        return report;
    }
    report.repro = context.repro(cell, options.manifest.as_deref());
    let started = Instant::now();
    let repeat = options.repeat.max(1);
    // Retrying cannot fix a missing tool or a failed build.
    let retries = if context.blocked(cell).is_some() { 0 } else { options.retries };
    let limit = if repeat > 1 { repeat } else { 1 + retries };
    let registry = Registry::global();
    for number in 1..=limit {
        if registry.interrupted() {
            break;
        }
        let attempt = drivers::attempt((context, pool), cell, options.record, options.client_timeout).await;
        emitter.emit(EventKind::AttemptFinished {
            name: report.name.clone(),
            number,
            passed: attempt.passed,
        });
        let passed = attempt.passed;
        report.attempts.push(attempt);
        if passed && repeat == 1 {
            break;
        }
    }
    report.duration_ms = millis(started.elapsed());
    if registry.interrupted() {
        // Attempts cut short by the interruption failed for that reason alone.
        report.status = Status::NotRun;
        report.reason = Some(INTERRUPTED_WHILE_RUNNING.into());
        return report;
    }
    let (status, reason) = verdict(&report.attempts);
    report.status = status;
    report.reason = reason;
    report.failure = report.attempts.iter().find(|a| !a.passed).and_then(|a| a.reason.clone());
    if report.attempts.len() > 1 {
        let failed = report.attempts.iter().filter(|a| !a.passed).count();
        report.flake_rate = Some(failed as f64 / report.attempts.len() as f64);
    }
    options.known.classify(&mut report, &options.known_file);
    report
}

/// Pass if every attempt passed, fail if every one failed, flaky otherwise; the reason is the
/// first failure's.
fn verdict(attempts: &[Attempt]) -> (Status, Option<String>) {
    let first_failure = attempts.iter().find(|a| !a.passed).and_then(|a| a.reason.clone());
    let passes = attempts.iter().filter(|a| a.passed).count();
    match (passes, first_failure) {
        (_, None) => (Status::Pass, None),
        (0, reason) => (Status::Fail, reason),
        (_, Some(reason)) => {
            let n = attempts.len();
            (
                Status::Flaky,
                Some(format!("flaky: {} of {n} attempts failed; first failure:\n{reason}", n - passes)),
            )
        }
    }
}

/// Selects one partition of the plan: every N-th cell, starting at the K-th (1-based).
/// Deterministic for a given plan, and balanced across partitions to within one cell.
pub fn partition(cells: Vec<Cell>, part: Partition) -> Vec<Cell> {
    cells.into_iter().enumerate().filter(|(i, _)| i % part.count == part.index - 1).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(passed: bool) -> Attempt {
        Attempt {
            passed,
            reason: (!passed).then(|| "broken".to_string()),
            problems: Vec::new(),
            duration_ms: 1,
            server: None,
            clients: vec![],
            transcript: None,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&[attempt(true)]).0, Status::Pass);
        assert_eq!(verdict(&[attempt(false), attempt(false)]), (Status::Fail, Some("broken".into())));
        let (status, reason) = verdict(&[attempt(false), attempt(true)]);
        assert_eq!(status, Status::Flaky);
        assert!(reason.unwrap().starts_with("flaky: 1 of 2 attempts failed"));
    }

    #[test]
    fn partitions_cover_every_cell_once() {
        assert_eq!("2/3".parse(), Ok(Partition { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "x/3", "3", "1/0"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
        let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = Manifest::load(&manifest_dir.join("../interop.toml")).unwrap();
        let all = crate::plan::plan(&manifest, &Default::default()).unwrap();
        let mut seen: Vec<String> = (1..=3)
            .flat_map(|k| partition(all.clone(), Partition { index: k, count: 3 }))
            .map(|c| c.name())
            .collect();
        seen.sort();
        let mut names: Vec<String> = all.iter().map(Cell::name).collect();
        names.sort();
        assert_eq!(seen, names);
    }
}
