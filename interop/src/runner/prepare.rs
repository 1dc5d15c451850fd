//! Preparing a run, once: the tools each implementation needs, their builds, and the payload files
//! that cases send with `--file`. The result, [`Prepared`], is read-only afterwards: every cell
//! reads it, none changes it.

use crate::build::{BuildStatus, build};
use crate::catalogue::Via;
use crate::doctor::{ToolCheck, check_tool, locate_tool};
use crate::events::{Emitter, EventKind};
use crate::manifest::{Implementation, Manifest, Placeholders};
use crate::plan::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What every cell needs: paths, and the state of each implementation.
#[derive(Debug)]
pub struct Prepared {
    /// Placeholder values.
    pub places: Placeholders,
    /// Where `--file` payloads are written.
    pub payload_dir: PathBuf,
    /// The implementations' tools and builds; also why a case's payload files are missing, under
    /// `payload:<case>` in [`Implementations::broken`].
    pub ready: Implementations,
}

impl Prepared {
    /// Why `cell` cannot run at all (a missing tool, a failed build, unwritable payloads): a
    /// failure no retry can fix.
    pub fn blocked(&self, cell: &Cell) -> Option<&str> {
        let mut needed = vec![cell.client.name.clone(), payload_key(cell.case.name)];
        if cell.case.kind.uses_server() {
            needed.push(cell.server.name.clone());
        }
        needed.iter().find_map(|n| self.ready.broken.get(n)).map(String::as_str)
    }
}

/// Checks tools and builds every implementation the cells use, and writes payload files.
pub async fn prepare(
    manifest: &Manifest,
    cells: &[Cell],
    places: Placeholders,
    emitter: &Emitter,
) -> Prepared {
    let mut used: Vec<&Implementation> = Vec::new();
    for cell in cells {
        for imp in [&*cell.server, &*cell.client] {
            if !used.iter().any(|u| u.name == imp.name) {
                used.push(imp);
            }
        }
    }
    let mut ready = prepare_implementations(manifest, &used, &places, emitter).await;
    let payload_dir = places.target.join("interop").join("payloads");
    let mut written = Vec::new();
    for cell in cells {
        if written.contains(&cell.case.name) {
            continue;
        }
        written.push(cell.case.name);
        {
            for (p, payloads) in cell.case.kind.processes().iter().enumerate() {
                for (m, payload) in payloads.iter().enumerate().filter(|(_, x)| x.via == Via::File) {
                    let path = payload_path(&payload_dir, cell.case.name, p, m);
                    if let Err(err) = write_if_changed(&path, &payload.bytes) {
                        ready.broken.insert(
                            payload_key(cell.case.name),
                            format!("cannot write {}: {err}", path.display()),
                        );
                    }
                }
            }
        }
    }
    Prepared { places, payload_dir, ready }
}

/// The state of a set of implementations after [`prepare_implementations`].
#[derive(Debug, Default)]
pub struct Implementations {
    /// Why each unusable one cannot run, by name.
    pub broken: HashMap<String, String>,
    /// The tools they need, as checked, in first-use order.
    pub tools: Vec<(String, ToolCheck)>,
    /// Their builds, in order.
    pub builds: Vec<(String, BuildStatus)>,
    /// The program each tool's `command` really runs, where its `executable_args` said (a
    /// version manager's shim skipped), by command.
    pub programs: HashMap<String, String>,
}

/// Checks the tools of `imps` and builds them when stale.
pub async fn prepare_implementations(
    manifest: &Manifest,
    imps: &[&Implementation],
    places: &Placeholders,
    emitter: &Emitter,
) -> Implementations {
    let mut prepared = Implementations::default();
    // Check every tool first, all at once: a JVM's version check alone takes ~0.1 s.
    let mut names: Vec<&String> = imps.iter().flat_map(|imp| &imp.tools).collect();
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(*n));
    let checks = names.iter().map(|name| {
        let tool = manifest.tools[*name].clone();
        tokio::spawn(async move {
            let check = check_tool(&tool).await;
            let program = match check {
                ToolCheck::Found(_) => locate_tool(&tool).await,
                ToolCheck::Missing(_) => None,
            };
            (check, program.map(|program| (tool.command, program)))
        })
    });
    let checks: Vec<_> = checks.collect();
    for (name, check) in names.iter().zip(checks) {
        let (check, program) =
            check.await.unwrap_or_else(|err| (ToolCheck::Missing(format!("check failed: {err}")), None));
        prepared.tools.push(((*name).clone(), check));
        prepared.programs.extend(program);
    }
    for imp in imps {
        emitter.emit(EventKind::BuildStarted { name: imp.name.clone() });
        let mut missing = Vec::new();
        for tool_name in &imp.tools {
            let tool = &manifest.tools[tool_name];
            let check = prepared.tools.iter().find(|(name, _)| name == tool_name).map(|(_, c)| c.clone());
            let check = check.unwrap_or_else(|| ToolCheck::Missing("not checked".into()));
            if let ToolCheck::Missing(why) = check {
                missing.push(format!("{tool_name} is missing ({why}); install: {}", tool.install));
            }
        }
        let status = if missing.is_empty() {
            build(imp, places).await
        } else {
            BuildStatus::Failed(format!(
                "{} cannot run: {}. See `interop doctor`.",
                imp.name,
                missing.join("; ")
            ))
        };
        if let BuildStatus::Failed(why) = &status {
            prepared.broken.insert(imp.name.clone(), why.clone());
        }
        prepared.builds.push((imp.name.clone(), status.clone()));
        emitter.emit(EventKind::BuildFinished { name: imp.name.clone(), status });
    }
    prepared
}

/// The key under which [`Implementations::broken`] records that a case's payload files could not be written.
fn payload_key(case: &str) -> String {
    format!("payload:{case}")
}

/// Where the `--file` payload `message` of client `process` of `case` is written.
pub(super) fn payload_path(dir: &Path, case: &str, process: usize, message: usize) -> PathBuf {
    dir.join(case).join(format!("client{}-message{}.bin", process + 1, message + 1))
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
}
