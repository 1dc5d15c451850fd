//! `cargo test -p interop`: the whole matrix, one test per server × client × case cell, named like
//! `rust-server/java/utf8` and filterable as usual (`cargo test -p interop -- java`).
//!
//! A missing toolchain fails its cells with doctor's message. To opt out of an implementation
//! explicitly, set `INTEROP_SKIP` to a comma-separated list of implementation names or languages
//! (`INTEROP_SKIP=java`, read by the library as `interop run` reads it); its cells are then
//! reported as ignored with the reason, never as passed, even with `--include-ignored`.
//!
//! A filter (`cargo test -p interop -- FILTER`) keeps the output to the cells it selects: only
//! their implementations are checked and built, and nothing is printed about the others.
//!
//! SIGINT, SIGTERM or SIGHUP stop every process the tests started (SIGTERM, a grace, SIGKILL; a
//! second signal cuts the grace short) and exit 130; if this binary is killed outright, its
//! watchdog does the same (see `interop::process`).

use interop::Workspace;
use interop::events::{Emitter, EventKind, RunEvent};
use interop::known::{KNOWN_FAILURES_FILE, KnownFailures};
use interop::manifest::Manifest;
use interop::plan::{Cell, Filter, OptOut, plan};
use interop::process::{GRACE, Registry, Signals};
use interop::report::terminal;
use interop::results::Status;
use interop::runner::prepare;
use interop::runner::{RunOptions, ServerPool, run_cell};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    // The watchdog started below is a copy of this binary, and does only that.
    if let Some(code) = interop::process::watchdog_main() {
        return code;
    }
    let mut args = Arguments::from_args();
    // Most cells spend their time waiting (on sockets, timeouts, process start-up), so run twice
    // as many at once as there are cores unless told otherwise (`-- --test-threads N`).
    if args.test_threads.is_none() {
        args.test_threads = Some(2 * std::thread::available_parallelism().map_or(1, |n| n.get()));
    }
    let workspace = Workspace::locate(None);
    let manifest = match Manifest::load(&workspace.manifest) {
        Ok(manifest) => manifest,
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let filter = match OptOut::from_env() {
        Ok(opt_out) => Filter { opt_out, ..Filter::default() },
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cells = match plan(&manifest, &filter) {
        Ok(cells) => cells,
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };

    // Build only what the selected, runnable cells need; a filtered run stays quick.
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    if let Err(err) = Registry::global().start_watchdog() {
        eprintln!("warning: cannot start the watchdog that ends the tests' processes if this dies: {err}");
    }
    let signals = {
        let _inside = runtime.enter();
        Signals::listen().expect("catch SIGINT, SIGTERM and SIGHUP")
    };
    runtime.spawn(stop_on_signals(signals));
    let wanted: Vec<Cell> = cells
        .iter()
        .filter(|c| {
            !args.list && selected(&args, &c.name()) && c.skipped.is_none() && c.unsupported().is_none()
        })
        .cloned()
        .collect();
    let progress = Emitter::new(Arc::new(|event: RunEvent| {
        if let EventKind::BuildFinished { name, status } = event.kind {
            eprintln!("{}", terminal::build_line(&name, &status));
        }
    }));
    // Known failures apply here as in `interop run`: a cell failing as its entry says passes
    // (and says so), one passing despite an entry fails.
    let known_path = workspace.places.root.join(KNOWN_FAILURES_FILE);
    let options = match KnownFailures::load(&known_path, false) {
        Ok(known) => Arc::new(RunOptions { known, ..RunOptions::default() }),
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let context =
        Arc::new(runtime.block_on(prepare(&manifest, &wanted, workspace.places.clone(), &progress)));
    // A `reusable` server serves its delivery cells one after another, not one process each.
    let pool = Arc::new(ServerPool::for_cells(&context, &wanted, 1));

    // libtest-mimic runs the trials in the order given: the costliest first, so that no long
    // cell starts last and keeps the run going while the other threads have nothing left to do
    // (`--list` keeps the plan's order).
    let mut cells = cells;
    if !args.list {
        cells.sort_by_cached_key(|cell| std::cmp::Reverse(cell.cost()));
    }
    let trials = cells
        .into_iter()
        .map(|cell| {
            let name = cell.name();
            // Ignored, with why as its kind (libtest prints it, and only for cells the filter
            // selects); with `--include-ignored` still ignored, with the reason, never passed.
            let ignored = match (cell.unsupported(), &cell.skipped) {
                (Some(why), _) => Some(("unsupported".to_string(), why)),
                (None, Some(why)) => Some((why.clone(), why.clone())),
                (None, None) => None,
            };
            if let Some((kind, why)) = ignored {
                return Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why)))
                    .with_kind(kind)
                    .with_ignored_flag(true);
            }
            let (context, pool, runtime, options) =
                (context.clone(), pool.clone(), runtime.clone(), options.clone());
            Trial::test(name, move || {
                let report = runtime.block_on(run_cell(&context, &pool, &cell, &options, &Emitter::silent()));
                match report.status {
                    Status::Pass => Ok(()),
                    // One line each: the detail of a known failure is in its entry, and a
                    // reason can run to thousands of lines.
                    Status::Known | Status::Flaky => {
                        eprintln!("{}", terminal::one_line(&report));
                        Ok(())
                    }
                    Status::Fail
                    | Status::UnexpectedPass
                    | Status::Unsupported
                    | Status::Skipped
                    | Status::NotRun => Err(Failed::from(terminal::problem_text(&report))),
                }
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    runtime.block_on(pool.close());
    conclusion.exit_code()
}

/// The first signal stops every process the tests started, then exits 130: the remaining trials
/// could only fail. A second signal cuts the grace short.
async fn stop_on_signals(mut signals: Signals) {
    let first = signals.next().await;
    eprintln!(
        "\n{first}: stopping every process of the tests (SIGKILL in {} s; again: at once)",
        GRACE.as_secs()
    );
    Registry::global()
        .terminate(GRACE, async {
            signals.next().await;
        })
        .await;
    eprintln!("{first}: every process of the tests is stopped; exiting");
    std::process::exit(130);
}

/// Whether libtest's name filter selects `name` (substring, or `--exact`, minus `--skip`).
fn selected(args: &Arguments, name: &str) -> bool {
    let matches = |pattern: &str| {
        if args.exact { name == pattern } else { name.contains(pattern) }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}
