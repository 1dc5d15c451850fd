//! `cargo test -p interop`: the whole matrix, one test per server × client × case cell, named like
//! `rust-server/java/utf8` and filterable as usual (`cargo test -p interop -- java`).
//!
//! A missing toolchain fails its cells with doctor's message. To opt out of an implementation
//! explicitly, set `INTEROP_SKIP` to a comma-separated list of implementation names or languages
//! (`INTEROP_SKIP=java`); its cells are then reported as ignored, never as passed.

use interop::manifest::Manifest;
use interop::plan::{Cell, Filter, plan};
use interop::run::{Outcome, RunEvent, prepare};
use interop::{Workspace, report};
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
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
    let progress = |event: RunEvent| {
        if let RunEvent::BuildFinished { .. } = event
            && let Some(line) = report::progress_line(&event)
        {
            eprintln!("{line}");
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
                return Trial::test(name, || Ok(()))
                    .with_kind("unsupported")
                    .with_ignored_flag(true);
            }
            if let Some(imp) = skipped(&cell) {
                return Trial::test(name, || Ok(()))
                    .with_kind(format!("INTEROP_SKIP={imp}"))
                    .with_ignored_flag(true);
            }
            let (context, runtime) = (context.clone(), runtime.clone());
            Trial::test(name, move || {
                let result = runtime.block_on(context.run_cell(&cell));
                match result.outcome {
                    Outcome::Pass => Ok(()),
                    Outcome::Fail(reason) => Err(Failed::from(format!(
                        "{reason}\nreproduce by hand:\n  {}",
                        result.repro.join("\n  ")
                    ))),
                    Outcome::Unsupported(why) => {
                        Err(Failed::from(format!("unexpectedly unsupported: {why}")))
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
        if args.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}
