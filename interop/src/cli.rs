//! The `interop` command line: parses arguments, wires manifest → plan → runner → reporters, and
//! maps outcomes to exit codes.

use crate::bench::report::REFERENCE;
use crate::bench::{self, BenchError, BenchEvent, BenchOptions, Load, Subject, Subjects};
use crate::doctor::{ToolCheck, doctor};
use crate::events::{Emitter, EventKind, RunEvent};
use crate::known::{KNOWN_FAILURES_FILE, KnownFailures};
use crate::manifest::{Implementation, Manifest, Role};
use crate::pattern::NamePattern;
use crate::plan::{Cell, Filter, OptOut, plan};
use crate::process::{GRACE, Registry, Signals};
use crate::report::terminal::{Terminal, TerminalMode};
use crate::report::{html, json, junit, markdown, terminal};
use crate::results::{Partition, RunReport};
use crate::runner::{RunOptions, partition};
use crate::runner::{command, prepare, prepare_implementations};
use crate::{Workspace, script};
use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Exit code: everything passed (known failures and flaky cells included).
pub const EXIT_OK: u8 = 0;
/// Exit code: a cell failed or passed unexpectedly, or doctor found a missing tool.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the harness itself could not do its job (bad manifest, unknown name, …).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: the run was interrupted (SIGINT, SIGTERM or SIGHUP alike: 128 + SIGINT's number, as
/// a shell reports Ctrl-C), after its processes were stopped and its reports written.
pub const EXIT_INTERRUPTED: u8 = 130;

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
    Run(RunArgs),
    /// Run one cell once, with the recording relay, and show everything: commands, output,
    /// transcript, verdict.
    Repro {
        /// The cell, `server/client/case`.
        cell: String,
        /// Print a standalone bash script that runs the cell's commands instead.
        #[arg(long)]
        script: bool,
    },
    /// Print a bash script that runs the selected cells' commands bare, one after another (no
    /// checks): what the harness does, minus the harness; used by the benchmark.
    Script(Selection),
    /// Render reports again from JSON reports (several: merged, e.g. from CI partitions). Fails
    /// (exit 2) on a cell in two reports, a partition given twice or missing, or partitions of
    /// different splits.
    Report {
        /// JSON reports written by `interop run --json`.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where to write what.
        #[command(flatten)]
        outputs: Outputs,
    },
    /// Measure every server on the same loads, side by side, with the harness's own load
    /// generator; print a table with ratios to rust-server (docs/BENCH.md).
    Bench(BenchArgs),
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

/// Which cells. Names are globs (`*`, `?`, `[…]`; quote them from the shell), e.g.
/// `--case 'utf8*'`; one matching nothing is an error that suggests the nearest name.
/// `INTEROP_SKIP=java,go` (names or languages) keeps those implementations' cells in the plan but
/// reports them skipped, not run.
#[derive(Debug, Default, Args)]
pub struct Selection {
    /// Only servers matching this glob (repeatable).
    #[arg(long = "server", value_name = "GLOB")]
    pub servers: Vec<String>,
    /// Only clients matching this glob (repeatable).
    #[arg(long = "client", value_name = "GLOB")]
    pub clients: Vec<String>,
    /// Only cases matching this glob (repeatable).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// Leave out every cell whose name (server/client/case), server, client or case matches this
    /// glob (repeatable): `--skip java`, `--skip 'large*'`, `--skip 'tutorial-server/*/udp*'`.
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Only partition K of N (1-based), e.g. 2/4: deterministic, for splitting CI across machines.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
}

/// Report files to write.
#[derive(Debug, Args)]
pub struct Outputs {
    /// JUnit XML.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// JSON report (docs/REPORTS.md).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Self-contained HTML report.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Markdown summary (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}

/// `interop run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which cells.
    #[command(flatten)]
    pub selection: Selection,
    /// Cells run at once (default: number of cores).
    #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Re-run a failing cell up to N times; one that passes on a retry is reported flaky.
    #[arg(long, default_value_t = 0, value_name = "N", conflicts_with = "repeat")]
    pub retries: u32,
    /// Run every cell N times and report a flake rate per cell.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Kill a client process (and its process group) still running after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// When interrupted, give the run's processes this long between SIGTERM and SIGKILL.
    #[arg(long, default_value_t = GRACE.as_secs(), value_name = "SECS")]
    pub grace: u64,
    /// Put a recording relay between clients and server; keep each cell's wire transcript.
    #[arg(long)]
    pub record: bool,
    /// Known failures (default: known-failures.toml at the root, if present).
    #[arg(long, value_name = "PATH")]
    pub known_failures: Option<PathBuf>,
    /// Rewrite the known-failures file from this run's failures (entries for cells the run left
    /// out are kept).
    #[arg(long)]
    pub update_known_failures: bool,
    /// Report files.
    #[command(flatten)]
    pub outputs: Outputs,
}

/// `interop bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Only servers matching this glob (repeatable; default: every server in the manifest).
    #[arg(long = "only", value_name = "GLOB")]
    pub only: Vec<String>,
    /// Only this load (repeatable; default: every load).
    #[arg(long = "load", value_enum, value_name = "LOAD")]
    pub loads: Vec<Load>,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub secs: f64,
    /// Measured repetitions per figure, after one warm-up; the figure is their median.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub reps: u32,
    /// Connections the `idle` load holds open.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=11_000))]
    pub idle_connections: usize,
    /// Write the figures as JSON (schema interop-bench/1, docs/BENCH.md).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the figures as a self-contained HTML page of bar charts.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
}

/// Runs the command line; the returned code is the process's exit code.
pub fn main(cli: Cli) -> anyhow::Result<u8> {
    let workspace = Workspace::locate(cli.manifest.as_deref());
    // Absolute, so that repro commands work from any directory.
    let manifest_arg = cli.manifest.is_some().then_some(workspace.manifest.as_path());
    let manifest = Manifest::load(&workspace.manifest)?;
    if !matches!(cli.command, Command::List | Command::Report { .. }) {
        // Every other command starts processes: should this one die without cleaning up, the
        // watchdog ends them.
        if let Err(err) = Registry::global().start_watchdog() {
            eprintln!(
                "warning: cannot start the watchdog that ends the run's processes if interop dies: {err}"
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::List => {
            print!("{}", list(&manifest));
            Ok(EXIT_OK)
        }
        Command::Doctor => runtime.block_on(doctor_command(&manifest)),
        Command::Build => runtime.block_on(async {
            let all: Vec<_> = manifest.implementations.iter().collect();
            let show = Emitter::new(Arc::new(|event: RunEvent| {
                if let EventKind::BuildFinished { name, status } = event.kind {
                    println!("{}", terminal::build_line(&name, &status));
                }
            }));
            let prepared = prepare_implementations(&manifest, &all, &workspace.places, &show).await;
            Ok(if prepared.broken.is_empty() { EXIT_OK } else { EXIT_FAILED })
        }),
        Command::Client { name, args } => runtime.block_on(async {
            let Some(client) = manifest.get(&name).filter(|i| i.role == Role::Client) else {
                bail!("no client named {name:?} in {}", workspace.manifest.display());
            };
            let prepared =
                prepare_implementations(&manifest, &[client], &workspace.places, &Emitter::silent()).await;
            if let Some(why) = prepared.broken.get(&name) {
                bail!("{why}");
            }
            let spec = command(&workspace.places, client, args);
            let status = std::process::Command::new(&spec.argv[0])
                .args(&spec.argv[1..])
                .envs(spec.env.iter().map(|(k, v)| (k, v)))
                .current_dir(&spec.cwd)
                .status()
                .with_context(|| format!("cannot run `{}`", spec.shell()))?;
            Ok(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(EXIT_FAILED))
        }),
        Command::Run(args) => runtime.block_on(run_command(&manifest, manifest_arg, &workspace, args)),
        Command::Bench(args) => runtime.block_on(bench_command(&manifest, &workspace, args)),
        Command::Repro { cell, script: as_script } => {
            let cells = select(&manifest, &Selection::default())?;
            let Some(cell) = cells.into_iter().find(|c| c.name() == cell) else {
                bail!("no cell {cell:?}; `interop list` shows servers, clients and cases");
            };
            runtime.block_on(async {
                let context = prepare(
                    &manifest,
                    std::slice::from_ref(&cell),
                    workspace.places.clone(),
                    &Emitter::silent(),
                )
                .await;
                if as_script {
                    print!("{}", script::script(&context, &[cell]));
                    return Ok(EXIT_OK);
                }
                let options = RunOptions { record: true, ..RunOptions::default() };
                // A server of its own, as the shell lines above start it.
                let pool = crate::runner::ServerPool::default();
                let report =
                    crate::runner::run_cell(&context, &pool, &cell, &options, &Emitter::silent()).await;
                print!("{}", script::explain(&report));
                Ok(if report.status.fails_run() { EXIT_FAILED } else { EXIT_OK })
            })
        }
        Command::Script(selection) => {
            let mut cells = select(&manifest, &selection)?;
            // Left out on purpose (INTEROP_SKIP): not built, not scripted.
            cells.retain(|c| c.skipped.is_none());
            runtime.block_on(async {
                let context = prepare(&manifest, &cells, workspace.places.clone(), &Emitter::silent()).await;
                print!("{}", script::script(&context, &cells));
                Ok(EXIT_OK)
            })
        }
        Command::Report { inputs, outputs } => {
            let mut reports = Vec::new();
            for input in &inputs {
                let text = std::fs::read_to_string(input)
                    .with_context(|| format!("cannot read {}", input.display()))?;
                let report =
                    json::parse(&text).map_err(|err| anyhow::anyhow!("{}: {err}", input.display()))?;
                reports.push((input.display().to_string(), report));
            }
            let report = RunReport::merge(reports)?;
            write_outputs(&report, &outputs)?;
            print!("{}", terminal::summary(&report));
            Ok(if report.failed() { EXIT_FAILED } else { EXIT_OK })
        }
    }
}

async fn bench_command(manifest: &Manifest, workspace: &Workspace, args: BenchArgs) -> anyhow::Result<u8> {
    if !(args.secs.is_finite() && args.secs > 0.0) {
        bail!("--secs must be a positive number of seconds, not {}", args.secs);
    }
    let patterns = args
        .only
        .iter()
        .map(|glob| NamePattern::new(glob).with_context(|| format!("--only {glob:?} is not a glob")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let servers: Vec<_> = manifest
        .with_role(Role::Server)
        .filter(|s| patterns.is_empty() || patterns.iter().any(|p| p.matches(&s.name)))
        .collect();
    if servers.is_empty() {
        bail!("--only {:?} matches no server", args.only);
    }
    // Ctrl-C (or SIGTERM, SIGHUP) stops every server and client the bench started, as in `run`.
    let signals = Signals::listen().context("cannot catch SIGINT, SIGTERM and SIGHUP")?;
    tokio::spawn(stop_on_signals(signals, GRACE));
    let loads: Vec<Load> =
        Load::ALL.into_iter().filter(|l| args.loads.is_empty() || args.loads.contains(l)).collect();
    let clients: Vec<_> =
        if loads.contains(&Load::Clients) { manifest.with_role(Role::Client).collect() } else { Vec::new() };
    let reference = manifest.get(REFERENCE).filter(|s| s.role == Role::Server);
    if !clients.is_empty() && reference.is_none() {
        bail!("the clients load sends to {REFERENCE}, which the manifest does not have");
    }
    // Each server as the bench runs it (its `bench` build and command where it has them), the
    // clients as the matrix runs them; each built once.
    let reference = reference.filter(|_| !clients.is_empty());
    let mut wanted: Vec<_> = servers.iter().copied().chain(reference).map(bench::bench_variant).collect();
    wanted.extend(clients.iter().map(|c| (*c).clone()));
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|imp| seen.insert(imp.name.clone()));
    let show = Emitter::new(Arc::new(|event: RunEvent| {
        if let EventKind::BuildFinished { name, status } = event.kind {
            eprintln!("{}", terminal::build_line(&name, &status));
        }
    }));
    let refs: Vec<_> = wanted.iter().collect();
    let ready = prepare_implementations(manifest, &refs, &workspace.places, &show).await;
    // Its command as the bench runs it (named as in the manifest), or why it cannot run.
    let subject = |imp: &Implementation| {
        let built = if imp.role == Role::Server { bench::bench_variant(imp) } else { imp.clone() };
        let command = match ready.broken.get(&built.name) {
            Some(why) => Err(BenchError::NotReady(why.clone())),
            None => {
                let mut spec = command(&workspace.places, &built, Vec::new());
                if let Some(program) = ready.programs.get(&spec.argv[0]) {
                    spec.argv[0].clone_from(program);
                }
                Ok(spec)
            }
        };
        Subject { name: imp.name.clone(), command }
    };
    let subjects = Subjects {
        servers: servers.iter().map(|s| subject(s)).collect(),
        reference: reference.map(subject),
        clients: clients.iter().map(|c| subject(c)).collect(),
    };
    let options = BenchOptions {
        time: Duration::from_secs_f64(args.secs),
        reps: args.reps,
        loads,
        log_dir: workspace.places.target.join("interop").join("bench"),
        idle_connections: args.idle_connections,
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |event: BenchEvent| match event {
        BenchEvent::Planned(n) => bar.inc_length(n),
        BenchEvent::Measured(what) => {
            bar.set_message(what);
            bar.inc(1);
        }
    };
    let report = bench::run(&subjects, &options, &progress).await;
    bar.finish_and_clear();
    if Registry::global().interrupted() {
        // Its figures were cut short: none is shown, none is written.
        eprintln!("interop: the bench was interrupted; its processes are stopped, and no figure is kept");
        return Ok(EXIT_INTERRUPTED);
    }
    print!("{}", bench::report::table(&report, &options.loads));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        let page = bench::html::render(&report);
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let failed = report.servers.iter().any(|s| !s.errors.is_empty())
        || report.clients.iter().any(|c| c.error.is_some());
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

async fn doctor_command(manifest: &Manifest) -> anyhow::Result<u8> {
    let mut missing = false;
    for row in doctor(manifest).await {
        let needed = row.needed_by.join(", ");
        match row.check {
            ToolCheck::Found(version) => println!("ok       {:<8} {version}  (for {needed})", row.name),
            ToolCheck::Missing(why) => {
                missing = true;
                println!("MISSING  {:<8} {why}  (for {needed})\n         install: {}", row.name, row.install);
            }
        }
    }
    Ok(if missing { EXIT_FAILED } else { EXIT_OK })
}

fn select(manifest: &Manifest, selection: &Selection) -> anyhow::Result<Vec<Cell>> {
    let filter = Filter {
        servers: selection.servers.clone(),
        clients: selection.clients.clone(),
        cases: selection.cases.clone(),
        skip: selection.skip.clone(),
        opt_out: OptOut::from_env()?,
    };
    let cells = plan(manifest, &filter)?;
    Ok(match selection.partition {
        Some(part) => partition(cells, part),
        None => cells,
    })
}

async fn run_command(
    manifest: &Manifest,
    manifest_arg: Option<&Path>,
    workspace: &Workspace,
    args: RunArgs,
) -> anyhow::Result<u8> {
    // From here on SIGINT, SIGTERM and SIGHUP stop the run instead of killing interop outright.
    let signals = Signals::listen().context("cannot catch SIGINT, SIGTERM and SIGHUP")?;
    tokio::spawn(stop_on_signals(signals, std::time::Duration::from_secs(args.grace)));
    let cells = select(manifest, &args.selection)?;
    let known_path =
        args.known_failures.clone().unwrap_or_else(|| workspace.places.root.join(KNOWN_FAILURES_FILE));
    let known = KnownFailures::load(&known_path, args.known_failures.is_some())?;
    let jobs =
        args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    let options = RunOptions {
        jobs,
        retries: args.retries,
        repeat: args.repeat,
        record: args.record,
        known: known.clone(),
        known_file: display_path(&known_path, &workspace.places.root),
        partition: args.selection.partition,
        client_timeout: std::time::Duration::from_secs(args.timeout),
        manifest: manifest_arg.map(Path::to_path_buf),
    };
    let terminal = Arc::new(Mutex::new(Terminal::new(TerminalMode::detect())));
    let listener = {
        let terminal = terminal.clone();
        Arc::new(move |event: RunEvent| {
            if let Ok(mut terminal) = terminal.lock() {
                terminal.event(&event);
            }
        })
    };
    let report = crate::runner::run(manifest, cells, workspace.places.clone(), options, listener).await;
    print!("{}", terminal::summary(&report));
    write_outputs(&report, &args.outputs)?;
    if report.interrupted {
        // A partial run says nothing about the cells it did not run: the known-failures file stays.
        return Ok(EXIT_INTERRUPTED);
    }
    if args.update_known_failures {
        let updated = known.from_run(&report.cells);
        updated.save(&known_path)?;
        println!("wrote {} ({} entries)", known_path.display(), updated.entries.len());
    }
    Ok(if report.failed() { EXIT_FAILED } else { EXIT_OK })
}

/// The first signal stops the run's processes (SIGTERM, `grace`, SIGKILL); the runner then
/// winds down and the reports are written. A second signal cuts the grace short; one after the
/// processes are gone leaves at once, without reports.
async fn stop_on_signals(mut signals: Signals, grace: std::time::Duration) {
    let first = signals.next().await;
    eprintln!(
        "\ninterop: {first}: stopping the run: SIGTERM to its processes, SIGKILL in {} s \
         (Ctrl-C again: at once)",
        grace.as_secs()
    );
    let hurry = async {
        let second = signals.next().await;
        eprintln!("interop: {second}: killing the run's processes now");
    };
    Registry::global().terminate(grace, hurry).await;
    let last = signals.next().await;
    eprintln!("interop: {last}: leaving without writing reports");
    std::process::exit(EXIT_INTERRUPTED.into());
}

fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Turns a report into a file's contents.
type Renderer = fn(&RunReport) -> anyhow::Result<String>;

/// Writes every report file asked for. A report that cannot be rendered or written is an error,
/// never an empty file.
pub fn write_outputs(report: &RunReport, outputs: &Outputs) -> anyhow::Result<()> {
    let renderers: [(&Option<PathBuf>, Renderer); 4] = [
        (&outputs.junit, |r| Ok(junit::render(r)?)),
        (&outputs.json, |r| Ok(json::render(r)?)),
        (&outputs.html, |r| Ok(html::render(r))),
        (&outputs.markdown, |r| Ok(markdown::render(r))),
    ];
    for (path, render) in renderers {
        if let Some(path) = path {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let text = render(report).with_context(|| format!("cannot render {}", path.display()))?;
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// `interop list`.
pub fn list(manifest: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let width = manifest.implementations.iter().map(|i| i.name.len()).max().unwrap_or(0);
    for (title, role) in [("servers", Role::Server), ("clients", Role::Client)] {
        let _ = writeln!(out, "{title}:");
        for imp in manifest.with_role(role) {
            let modes: Vec<&str> = imp.modes.iter().map(|m| m.as_str()).collect();
            let supports: Vec<&str> = imp.supports.iter().map(|f| f.as_str()).collect();
            let supports = if supports.is_empty() { "-".to_string() } else { supports.join(", ") };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<10}  modes: {}; supports: {supports}",
                imp.name,
                imp.language,
                modes.join(", ")
            );
        }
    }
    let cases = crate::catalogue::catalogue();
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let _ = writeln!(out, "cases:");
    for case in cases {
        let fault = case.fault.map(|f| format!(" {}", f.name())).unwrap_or_default();
        let how = format!("{} {}{fault}", case.mode.as_str(), case.transport);
        let _ = writeln!(out, "  {:<width$}  {how:<22}  {}", case.name, case.spec);
    }
    out
}

/// Process entry point: maps errors and outcomes to exit codes.
pub fn entry() -> ExitCode {
    // A copy of interop started as the watchdog of another does only that.
    if let Some(code) = crate::process::watchdog_main() {
        return code;
    }
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
