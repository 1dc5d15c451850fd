//! Running a plan: prepare (tools, builds, payload files), then run cells, emitting [`RunEvent`]s.
//! Nothing here prints; reporters turn events into output.

use crate::build::{BuildStatus, build};
use crate::cases::{CaseKind, Payload, Via};
use crate::check::check_delivery;
use crate::doctor::{ToolCheck, check_tool};
use crate::manifest::{Implementation, Manifest, Placeholders};
use crate::plan::Cell;
use crate::process::{CommandSpec, Output, drain, run_to_end, signal_group, wait_or_kill};
use interop_wire::Mode;
use interop_wire::json::{LISTENING_PREFIX, ServerEvent};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The `--timeout-ms` every client gets.
pub const CLIENT_TIMEOUT_MS: u64 = 10_000;
/// How long a client process may run before its group is killed.
pub const CLIENT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to print its `listening on` line.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The port repro commands use, so a person can paste them as they are.
pub const REPRO_PORT: u16 = interop_wire::DEFAULT_PORT;

/// Something that happened during a run, for reporters.
#[derive(Clone, Debug)]
pub enum RunEvent {
    /// An implementation is being checked and built if stale.
    BuildStarted {
        /// Its name.
        name: String,
    },
    /// Its build finished (or was fresh, or unnecessary, or impossible).
    BuildFinished {
        /// Its name.
        name: String,
        /// What happened.
        status: BuildStatus,
    },
    /// A cell started.
    CellStarted {
        /// `server/client/case`.
        name: String,
    },
    /// A cell finished.
    CellFinished(Arc<CellResult>),
}

/// A cell's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asserted held.
    Pass,
    /// Something did not; the reason says what.
    Fail(String),
    /// The server or client does not implement what the case needs (declared in the manifest).
    Unsupported(String),
}

/// Everything known about a finished cell.
#[derive(Clone, Debug)]
pub struct CellResult {
    /// `server/client/case`.
    pub name: String,
    /// Server name.
    pub server: String,
    /// Client name.
    pub client: String,
    /// Case name.
    pub case: String,
    /// The verdict.
    pub outcome: Outcome,
    /// Wall time.
    pub duration: Duration,
    /// Shell lines that reproduce the cell by hand (server first, then each client).
    pub repro: Vec<String>,
}

/// What every cell needs: paths, and the state of each implementation.
#[derive(Debug)]
pub struct Context {
    /// Placeholder values.
    pub places: Placeholders,
    /// Why an implementation cannot run (missing tool, failed build), by name; also why a case's
    /// payload files are missing, under `payload:<case>`.
    pub broken: HashMap<String, String>,
    /// Where `--file` payloads are written.
    pub payload_dir: PathBuf,
}

/// Checks tools and builds every implementation the cells use, and writes payload files.
pub async fn prepare(
    manifest: &Manifest,
    cells: &[Cell],
    places: Placeholders,
    on: &dyn Fn(RunEvent),
) -> Context {
    let mut used: Vec<&Implementation> = Vec::new();
    for cell in cells {
        for imp in [&*cell.server, &*cell.client] {
            if !used.iter().any(|u| u.name == imp.name) {
                used.push(imp);
            }
        }
    }
    let mut broken = prepare_implementations(manifest, &used, &places, on).await;
    let payload_dir = places.target.join("interop").join("payloads");
    let mut written = Vec::new();
    for cell in cells {
        if written.contains(&cell.case.name) {
            continue;
        }
        written.push(cell.case.name);
        if let CaseKind::Deliver(processes) = &cell.case.kind {
            for (p, payloads) in processes.iter().enumerate() {
                for (m, payload) in payloads.iter().enumerate().filter(|(_, x)| x.via == Via::File) {
                    let path = payload_path(&payload_dir, cell.case.name, p, m);
                    if let Err(err) = write_if_changed(&path, &payload.bytes) {
                        broken.insert(
                            payload_key(cell.case.name),
                            format!("cannot write {}: {err}", path.display()),
                        );
                    }
                }
            }
        }
    }
    Context {
        places,
        broken,
        payload_dir,
    }
}

/// Checks the tools of `imps` and builds them when stale. Returns why each unusable one is broken.
pub async fn prepare_implementations(
    manifest: &Manifest,
    imps: &[&Implementation],
    places: &Placeholders,
    on: &dyn Fn(RunEvent),
) -> HashMap<String, String> {
    let mut broken = HashMap::new();
    let mut tool_checks: HashMap<&str, ToolCheck> = HashMap::new();
    for imp in imps {
        on(RunEvent::BuildStarted {
            name: imp.name.clone(),
        });
        let mut missing = Vec::new();
        for tool_name in &imp.tools {
            let tool = &manifest.tools[tool_name];
            let check = match tool_checks.get(tool_name.as_str()) {
                Some(check) => check.clone(),
                None => {
                    let check = check_tool(tool).await;
                    tool_checks.insert(tool_name, check.clone());
                    check
                }
            };
            if let ToolCheck::Missing(why) = check {
                missing.push(format!(
                    "{tool_name} is missing ({why}); install: {}",
                    tool.install
                ));
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
            broken.insert(imp.name.clone(), why.clone());
        }
        on(RunEvent::BuildFinished {
            name: imp.name.clone(),
            status,
        });
    }
    broken
}

/// The key under which [`Context::broken`] records that a case's payload files could not be written.
fn payload_key(case: &str) -> String {
    format!("payload:{case}")
}

fn payload_path(dir: &std::path::Path, case: &str, process: usize, message: usize) -> PathBuf {
    dir.join(case)
        .join(format!("client{}-message{}.bin", process + 1, message + 1))
}

fn write_if_changed(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
}

/// The command that runs `imp` with the protocol arguments `args` appended.
pub fn command(
    places: &Placeholders,
    imp: &Implementation,
    args: impl IntoIterator<Item = String>,
) -> CommandSpec {
    let expand = |s: &str| places.expand(&imp.name, s);
    let mut argv: Vec<String> = imp.run.command.iter().map(|a| expand(a)).collect();
    argv.extend(args);
    CommandSpec {
        argv,
        env: imp.run.env.iter().map(|(k, v)| (k.clone(), expand(v))).collect(),
        cwd: imp
            .run
            .cwd
            .as_deref()
            .map_or_else(|| places.root.clone(), |c| PathBuf::from(expand(c))),
    }
}

impl Context {
    fn server_command(&self, server: &Implementation, mode: Mode, port: u16) -> CommandSpec {
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--mode",
            mode.as_str(),
            "--format",
            "json",
        ];
        command(&self.places, server, args.map(String::from))
    }

    fn client_command(&self, cell: &Cell, port: u16, process: usize, payloads: &[Payload]) -> CommandSpec {
        let mut args: Vec<String> = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--mode",
            cell.case.mode.as_str(),
        ]
        .into_iter()
        .chain(["--format", "json", "--timeout-ms", &CLIENT_TIMEOUT_MS.to_string()])
        .map(String::from)
        .collect();
        for (m, _) in payloads.iter().enumerate().filter(|(_, p)| p.via == Via::File) {
            args.push("--file".into());
            args.push(
                payload_path(&self.payload_dir, cell.case.name, process, m)
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        args.push("--".into());
        args.extend(
            payloads
                .iter()
                .filter(|p| p.via == Via::Arg)
                .filter_map(|p| p.text().map(str::to_owned)),
        );
        command(&self.places, &cell.client, args)
    }

    /// Runs one cell to its verdict.
    pub async fn run_cell(&self, cell: &Cell) -> CellResult {
        let started = Instant::now();
        let (outcome, repro) = self.verdict(cell).await;
        CellResult {
            name: cell.name(),
            server: cell.server.name.clone(),
            client: cell.client.name.clone(),
            case: cell.case.name.to_string(),
            outcome,
            duration: started.elapsed(),
            repro,
        }
    }

    async fn verdict(&self, cell: &Cell) -> (Outcome, Vec<String>) {
        if let Some(why) = cell.unsupported() {
            return (Outcome::Unsupported(why), Vec::new());
        }
        let repro = self.repro(cell);
        // What the cell depends on: its client, its payload files and, unless no server is
        // involved, its server.
        let mut needed = vec![cell.client.name.clone(), payload_key(cell.case.name)];
        if matches!(cell.case.kind, CaseKind::Deliver(_)) {
            needed.push(cell.server.name.clone());
        }
        if let Some(why) = needed.iter().find_map(|n| self.broken.get(n)) {
            return (Outcome::Fail(why.clone()), repro);
        }
        let outcome = match &cell.case.kind {
            CaseKind::Refused => self.refused(cell).await,
            CaseKind::Deliver(processes) => self.deliver(cell, processes).await,
        };
        (outcome.map_or_else(Outcome::Fail, |()| Outcome::Pass), repro)
    }

    /// Shell lines that reproduce the cell by hand on port 8099.
    fn repro(&self, cell: &Cell) -> Vec<String> {
        let mut lines = Vec::new();
        let processes = match &cell.case.kind {
            CaseKind::Refused => {
                lines.push(format!(
                    "# nothing may listen on port {REPRO_PORT}; the client must exit 3"
                ));
                vec![Vec::new()]
            }
            CaseKind::Deliver(processes) => {
                lines.push(format!(
                    "# terminal 1: {}",
                    self.server_command(&cell.server, cell.case.mode, REPRO_PORT)
                        .shell()
                ));
                processes.clone()
            }
        };
        let concurrent = processes.len() > 1;
        for (p, payloads) in processes.iter().enumerate() {
            let line = self.client_command(cell, REPRO_PORT, p, payloads).shell();
            lines.push(if concurrent { format!("({line}) &") } else { line });
        }
        if concurrent {
            lines.push("wait".into());
        }
        lines
    }

    async fn refused(&self, cell: &Cell) -> Result<(), String> {
        // A socket bound but never listening: connecting to it is refused, and since we hold the
        // port nobody else can take it while the client runs (no port race).
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("harness: socket: {e}"))?;
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .map_err(|e| format!("harness: bind: {e}"))?;
        let port = socket.local_addr().map_err(|e| format!("harness: {e}"))?.port();
        let spec = self.client_command(cell, port, 0, &[]);
        let out = run_to_end(&spec, CLIENT_PROCESS_TIMEOUT)
            .await
            .map_err(|e| format!("cannot start client: {e}"))?;
        drop(socket);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        if out.code() != Some(3) {
            problems.push(format!(
                "expected exit code 3 (refused), got {}",
                out.status_text()
            ));
        }
        if out.duration >= Duration::from_millis(CLIENT_TIMEOUT_MS) {
            problems.push(format!("took {:?}, not before its --timeout-ms", out.duration));
        }
        if !out.stdout.is_empty() {
            problems.push(format!(
                "printed on stdout: {:?}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        if !stderr.lines().any(|l| l.starts_with("error: ")) {
            problems.push(format!("no `error: ` line on stderr: {stderr:?}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    async fn deliver(&self, cell: &Cell, processes: &[Vec<Payload>]) -> Result<(), String> {
        let spec = self.server_command(&cell.server, cell.case.mode, 0);
        let mut server = spec
            .spawn()
            .map_err(|e| format!("cannot start server `{}`: {e}", spec.shell()))?;
        let server_err = drain(server.stderr.take());
        let mut lines = BufReader::new(server.stdout.take().ok_or("server stdout not captured")?).lines();
        let first = tokio::time::timeout(SERVER_START_TIMEOUT, lines.next_line()).await;
        let port = match first {
            Ok(Ok(Some(line))) => match line
                .strip_prefix(LISTENING_PREFIX)
                .and_then(|a| a.rsplit_once(':'))
            {
                Some((_, port)) => port
                    .parse::<u16>()
                    .map_err(|_| format!("bad port in server's first line {line:?}"))?,
                None => {
                    return Err(self
                        .abandon(
                            server,
                            server_err,
                            format!("server's first line is {line:?}, not `listening on <ip>:<port>`"),
                        )
                        .await);
                }
            },
            Ok(_) => {
                return Err(self
                    .abandon(
                        server,
                        server_err,
                        "server exited before printing `listening on`".into(),
                    )
                    .await);
            }
            Err(_) => {
                return Err(self
                    .abandon(
                        server,
                        server_err,
                        format!("server printed nothing for {SERVER_START_TIMEOUT:?}"),
                    )
                    .await);
            }
        };
        let server_out = tokio::spawn(async move {
            let mut rest = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                rest.push(line);
            }
            rest
        });

        // All client processes start at once (the `concurrent` case has 16).
        let clients: Vec<_> = processes
            .iter()
            .enumerate()
            .map(|(p, payloads)| {
                let spec = self.client_command(cell, port, p, payloads);
                tokio::spawn(async move { run_to_end(&spec, CLIENT_PROCESS_TIMEOUT).await })
            })
            .collect();
        let mut outputs: Vec<Output> = Vec::with_capacity(clients.len());
        let mut start_error = None;
        for client in clients {
            match client.await {
                Ok(Ok(output)) => outputs.push(output),
                Ok(Err(err)) => start_error = Some(format!("cannot start client: {err}")),
                Err(err) => start_error = Some(format!("client task failed: {err}")),
            }
        }
        if let Some(err) = start_error {
            return Err(self.abandon(server, server_err, err).await);
        }

        let mut problems = Vec::new();
        if let Ok(Some(status)) = server.try_wait() {
            problems.push(format!("server exited early, during the case ({status})"));
        }
        signal_group(&server, Signal::SIGTERM);
        match wait_or_kill(&mut server, SERVER_STOP_TIMEOUT).await {
            Some(status) if status.success() => {}
            Some(status) => problems.push(format!("server did not exit 0 after SIGTERM: {status}")),
            None => problems.push(format!(
                "server still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"
            )),
        }
        let server_lines = server_out.await.unwrap_or_default();
        let mut events = Vec::new();
        for line in &server_lines {
            match serde_json::from_str::<ServerEvent>(line) {
                Ok(event) => events.push(event),
                Err(err) => problems.push(format!(
                    "server printed a line that is not a JSON event ({err}): {line:?}"
                )),
            }
        }
        problems.extend(check_delivery(cell.case.mode, processes, &outputs, &events));
        if problems.is_empty() {
            return Ok(());
        }
        let server_stderr = server_err.await.unwrap_or_default();
        let mut report = problems.join("\n");
        append_output(&mut report, "server stderr", &server_stderr);
        for (p, out) in outputs.iter().enumerate() {
            append_output(&mut report, &format!("client #{} stderr", p + 1), &out.stderr);
        }
        Err(report)
    }

    /// Kills a server that failed to start properly and returns `why` with its stderr.
    async fn abandon(
        &self,
        mut server: tokio::process::Child,
        stderr: tokio::task::JoinHandle<Vec<u8>>,
        why: String,
    ) -> String {
        signal_group(&server, Signal::SIGKILL);
        let _ = server.wait().await;
        let mut report = why;
        append_output(&mut report, "server stderr", &stderr.await.unwrap_or_default());
        report
    }
}

fn append_output(report: &mut String, label: &str, bytes: &[u8]) {
    const MAX: usize = 2000;
    if bytes.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    let text = if text.len() > MAX {
        format!("…{}", &text[text.floor_char_boundary(text.len() - MAX)..])
    } else {
        text.into_owned()
    };
    report.push_str(&format!("\n--- {label} ---\n{}", text.trim_end()));
}
