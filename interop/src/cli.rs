//! The `interop` command line.

use crate::doctor::{ToolCheck, doctor};
use crate::manifest::{Manifest, Role};
use crate::plan::{Filter, plan};
use crate::run::{Outcome, command, prepare, prepare_implementations};
use crate::{Workspace, report, run_cells};
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code: everything passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a cell failed, or doctor found a missing tool.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the harness itself could not do its job (bad manifest, unknown name, …).
pub const EXIT_ERROR: u8 = 2;

/// Proves that clients in different languages deliver their messages byte for byte to servers.
#[derive(Debug, Parser)]
#[command(name = "interop", version)]
pub struct Cli {
    /// The manifest (default: interop.toml at the repository root).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the matrix (or part of it), print it, exit 1 if any cell fails.
    Run {
        /// Only this server (repeatable).
        #[arg(long = "server", value_name = "NAME")]
        servers: Vec<String>,
        /// Only this client (repeatable).
        #[arg(long = "client", value_name = "NAME")]
        clients: Vec<String>,
        /// Only this case (repeatable).
        #[arg(long = "case", value_name = "NAME")]
        cases: Vec<String>,
        /// Cells run at once (default: number of cores).
        #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
    },
    /// List servers, clients and cases.
    List,
    /// Check every tool the manifest needs: found, version, how to install what is missing.
    Doctor,
    /// Build every implementation whose inputs changed.
    Build,
    /// Run a manifest client by name, e.g. `interop client java -- --port 8099 hi`.
    Client {
        /// The client's name in the manifest.
        name: String,
        /// Arguments for the client (PROTOCOL.md §6).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// Runs the command line; the returned code is the process's exit code.
pub fn main(cli: Cli) -> anyhow::Result<u8> {
    let workspace = Workspace::locate(cli.manifest.as_deref());
    let manifest = Manifest::load(&workspace.manifest)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::List => {
            print!("{}", list(&manifest));
            Ok(EXIT_OK)
        }
        Command::Doctor => runtime.block_on(async {
            let rows = doctor(&manifest).await;
            let mut missing = false;
            for row in rows {
                let needed = row.needed_by.join(", ");
                match row.check {
                    ToolCheck::Found(version) => {
                        println!("ok       {:<8} {version}  (for {needed})", row.name)
                    }
                    ToolCheck::Missing(why) => {
                        missing = true;
                        println!(
                            "MISSING  {:<8} {why}  (for {needed})\n         install: {}",
                            row.name, row.install
                        );
                    }
                }
            }
            Ok(if missing { EXIT_FAILED } else { EXIT_OK })
        }),
        Command::Build => runtime.block_on(async {
            let all: Vec<_> = manifest.implementations.iter().collect();
            let broken = prepare_implementations(&manifest, &all, &workspace.places, &print_progress).await;
            Ok(if broken.is_empty() { EXIT_OK } else { EXIT_FAILED })
        }),
        Command::Client { name, args } => runtime.block_on(async {
            let Some(client) = manifest.get(&name).filter(|i| i.role == Role::Client) else {
                bail!("no client named {name:?} in {}", workspace.manifest.display());
            };
            let broken = prepare_implementations(&manifest, &[client], &workspace.places, &|_| {}).await;
            if let Some(why) = broken.get(&name) {
                bail!("{why}");
            }
            let spec = command(&workspace.places, client, args);
            let status = std::process::Command::new(&spec.argv[0])
                .args(&spec.argv[1..])
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .current_dir(&spec.cwd)
                .status()
                .with_context(|| format!("cannot run `{}`", spec.shell()))?;
            Ok(status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(EXIT_FAILED))
        }),
        Command::Run {
            servers,
            clients,
            cases,
            jobs,
        } => runtime.block_on(async {
            let cells = plan(
                &manifest,
                &Filter {
                    servers,
                    clients,
                    cases,
                },
            )?;
            let jobs = jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                |j| j as usize,
            );
            let context =
                Arc::new(prepare(&manifest, &cells, workspace.places.clone(), &print_progress).await);
            let results = run_cells(context, cells, jobs, Arc::new(print_progress)).await;
            print!("{}", report::summary(&results));
            let failed = results.iter().any(|r| matches!(r.outcome, Outcome::Fail(_)));
            Ok(if failed { EXIT_FAILED } else { EXIT_OK })
        }),
    }
}

fn print_progress(event: crate::run::RunEvent) {
    if let Some(line) = report::progress_line(&event) {
        println!("{line}");
    }
}

/// `interop list`.
pub fn list(manifest: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (title, role) in [("servers", Role::Server), ("clients", Role::Client)] {
        let _ = writeln!(out, "{title}:");
        for imp in manifest.with_role(role) {
            let modes: Vec<&str> = imp.modes.iter().map(|m| m.as_str()).collect();
            let _ = writeln!(
                out,
                "  {:<14} {:<8} modes: {}",
                imp.name,
                imp.language,
                modes.join(", ")
            );
        }
    }
    let _ = writeln!(out, "cases:");
    for case in crate::cases::catalogue() {
        let _ = writeln!(out, "  {:<14} {:<7} {}", case.name, case.mode.as_str(), case.spec);
    }
    out
}

/// Process entry point: maps errors and outcomes to exit codes.
pub fn entry() -> ExitCode {
    let cli = Cli::parse();
    match main(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
