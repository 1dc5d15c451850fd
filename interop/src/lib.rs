//! The interop harness: manifest → plan → run (events, never prints) → reporters.
//!
//! - [`manifest`]: `interop.toml`, the implementations and the tools they need.
//! - [`cases`]: the case catalogue, with specs and deterministic payloads.
//! - [`plan`]: the cells (server × client × case) a run covers.
//! - [`build`]: building implementations when their inputs changed.
//! - [`process`]: child processes in their own process groups, with timeouts.
//! - [`run`]: preparing a run and running cells, reporting [`run::RunEvent`]s.
//! - [`check`]: the byte-exact delivery assertions.
//! - [`doctor`]: toolchain checks.
//! - [`report`]: the terminal reporter.
//! - [`cli`]: the `interop` command line.

pub mod build;
pub mod cases;
pub mod check;
pub mod cli;
pub mod doctor;
pub mod manifest;
pub mod plan;
pub mod process;
pub mod report;
pub mod run;

use manifest::{MANIFEST_FILE, Placeholders};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the repository is: its root (holding `interop.toml`) and Cargo's target directory.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The manifest file.
    pub manifest: PathBuf,
    /// Placeholder values (`{root}`, `{target}`).
    pub places: Placeholders,
}

impl Workspace {
    /// Finds the workspace: `manifest` if given; else `INTEROP_ROOT`; else the nearest directory
    /// at or above the current one holding `interop.toml`; else the one this crate was built from.
    pub fn locate(manifest: Option<&Path>) -> Workspace {
        let manifest = manifest.map(Path::to_path_buf).unwrap_or_else(|| {
            let from_env = std::env::var_os("INTEROP_ROOT").map(PathBuf::from);
            let from_cwd = std::env::current_dir().ok().and_then(|cwd| {
                cwd.ancestors()
                    .find(|d| d.join(MANIFEST_FILE).is_file())
                    .map(Path::to_path_buf)
            });
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf);
            from_env
                .or(from_cwd)
                .or(built_from)
                .unwrap_or_default()
                .join(MANIFEST_FILE)
        });
        let manifest = std::path::absolute(&manifest).unwrap_or(manifest);
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let target = std::path::absolute(&target).unwrap_or(target);
        Workspace {
            manifest,
            places: Placeholders { root, target },
        }
    }
}

/// Runs `cells` with at most `jobs` at a time, reporting each as it finishes. Results come back in
/// plan order.
pub async fn run_cells(
    context: Arc<run::Context>,
    cells: Vec<plan::Cell>,
    jobs: usize,
    on: Arc<dyn Fn(run::RunEvent) + Send + Sync>,
) -> Vec<Arc<run::CellResult>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let tasks: Vec<_> = cells
        .into_iter()
        .map(|cell| {
            let (context, permits, on) = (context.clone(), permits.clone(), on.clone());
            tokio::spawn(async move {
                // Never closed, so acquiring cannot fail.
                let _permit = permits.acquire_owned().await.ok();
                on(run::RunEvent::CellStarted { name: cell.name() });
                let result = Arc::new(context.run_cell(&cell).await);
                on(run::RunEvent::CellFinished(result.clone()));
                result
            })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(result) = task.await {
            results.push(result);
        }
    }
    results
}
