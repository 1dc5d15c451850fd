//! `cargo test -p interop`: the whole matrix, one test per server × client × case cell, named like
//! `rust-server/java/utf8` and filterable as usual (`cargo test -p interop -- java`).
//!
//! A missing toolchain fails its cells with doctor's message. To opt out of an implementation
//! explicitly, set `INTEROP_SKIP` to a comma-separated list of implementation names or languages
//! (`INTEROP_SKIP=java`); its cells are then reported as ignored, never as passed.

use interop::Workspace;
use interop::known::{KNOWN_FAILURES_FILE, KnownFailures};
use interop::manifest::Manifest;
use interop::plan::{Cell, Filter, plan};
use interop::report::terminal;
use interop::results::Status;
use interop::run::prepare;
use interop::runner::{EventKind, RunOptions, run_cell};
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
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
    let cells = plan(&manifest, &Filter::default()).expect("an empty filter names nothing unknown");
    let skip: Vec<String> = std::env::var("INTEROP_SKIP")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let skipped = |cell: &Cell| {
        [&cell.server, &cell.client]
            .into_iter()
            .find(|imp| skip.iter().any(|s| *s == imp.name || *s == imp.language))
            .map(|imp| imp.name.clone())
    };

    // Build only what the selected, runnable cells need; a filtered run stays quick.
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("tokio runtime"));
    let wanted: Vec<Cell> = cells
        .iter()
        .filter(|c| selected(&args, &c.name()) && skipped(c).is_none() && c.unsupported().is_none())
        .cloned()
        .collect();
    let progress = |event: EventKind| {
        if let EventKind::BuildFinished { name, status } = event {
            eprintln!("{}", terminal::build_line(&name, &status));
        }
    };
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

    let trials = cells
        .into_iter()
        .map(|cell| {
            let name = cell.name();
            if let Some(why) = cell.unsupported() {
                eprintln!("unsupported: {name}: {why}");
                return Trial::test(name, || Ok(())).with_kind("unsupported").with_ignored_flag(true);
            }
            if let Some(imp) = skipped(&cell) {
                return Trial::test(name, || Ok(()))
                    .with_kind(format!("INTEROP_SKIP={imp}"))
                    .with_ignored_flag(true);
            }
            let (context, runtime, options) = (context.clone(), runtime.clone(), options.clone());
            Trial::test(name, move || {
                let report = runtime.block_on(run_cell(&context, &cell, &options, &|_| {}));
                match report.status {
                    Status::Pass => Ok(()),
                    // One line each: the detail of a known failure is in its entry, and a
                    // reason can run to thousands of lines.
                    Status::Known | Status::Flaky => {
                        eprintln!("{}", terminal::one_line(&report));
                        Ok(())
                    }
                    Status::Fail | Status::UnexpectedPass | Status::Unsupported => {
                        Err(Failed::from(terminal::problem_text(&report)))
                    }
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Whether libtest's name filter selects `name` (substring, or `--exact`, minus `--skip`).
fn selected(args: &Arguments, name: &str) -> bool {
    let matches = |pattern: &str| {
        if args.exact { name == pattern } else { name.contains(pattern) }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}
