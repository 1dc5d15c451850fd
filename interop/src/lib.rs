//! The interop harness: manifest → plan → run (events, never prints) → reporters.
//!
//! - [`manifest`]: `interop.toml`, the implementations and the tools they need.
//! - [`catalogue`]: the case catalogue, by theme, with specs and deterministic payloads.
//! - [`pattern`]: the name globs that select cells and match known failures; suggestions.
//! - [`plan`]: the cells (server × client × case) a run covers, `--skip` and `INTEROP_SKIP`.
//! - [`build`]: building implementations when their inputs changed.
//! - [`process`]: child processes in their own process groups, with timeouts; the registry that
//!   ends them all on an interruption, and the watchdog that does if the harness dies.
//! - [`toxic`]: network faults as plain data (Toxiproxy's names), which cases name.
//! - [`relay`]: the recording relay behind `--record` (wire transcripts), which applies them.
//! - [`check`]: the byte-exact delivery assertions and byte diffs.
//! - [`hexdump`]: bytes as hex for people: transcript dumps, byte diff windows (imports no module).
//! - [`runner`]: a whole run: preparation (tools, builds, payloads), then each cell's attempts, each
//!   run by a driver for its case kind; retries, repeats, known failures, `-j`, partitions. Emits
//!   [`events::RunEvent`]s and returns a [`results::RunReport`]; never prints.
//! - [`events`]: the one event type the runner emits and reporters read (imports no runner).
//! - [`known`]: the known-failures file.
//! - [`results`]: the report model every reporter reads (and the JSON schema).
//! - [`report`]: reporters: terminal, JUnit, JSON, HTML, Markdown.
//! - [`script`]: cells as bare shell scripts, and one cell's run explained.
//! - [`doctor`]: toolchain checks.
//! - [`mod@bench`]: `interop bench`, every server measured side by side by a load generator of its
//!   own; emits its progress, never prints.
//! - [`cli`]: the `interop` command line.

pub mod bench;
pub mod build;
pub mod catalogue;
pub mod check;
pub mod cli;
pub mod doctor;
pub mod events;
pub mod hexdump;
pub mod known;
pub mod manifest;
pub mod pattern;
pub mod plan;
pub mod process;
pub mod relay;
pub mod report;
pub mod results;
pub mod runner;
pub mod script;
pub mod toxic;

use manifest::{MANIFEST_FILE, Placeholders};
use std::path::{Path, PathBuf};

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
                cwd.ancestors().find(|d| d.join(MANIFEST_FILE).is_file()).map(Path::to_path_buf)
            });
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
            from_env.or(from_cwd).or(built_from).unwrap_or_default().join(MANIFEST_FILE)
        });
        let manifest = std::path::absolute(&manifest).unwrap_or(manifest);
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let target = std::path::absolute(&target).unwrap_or(target);
        Workspace { manifest, places: Placeholders { root, target } }
    }
}
