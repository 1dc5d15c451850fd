//! Running one attempt of a cell: prepare (tools, builds, payload files) once, then start the
//! server, run the clients, stop the server and check what it logged. The result is data
//! ([`Attempt`]); nothing here prints.

use crate::build::{BuildStatus, build};
use crate::cases::{BUSY_LIMIT, Case, CaseKind, Payload, SILENT_MARGIN_MS, Via};
use crate::check::check_delivery;
use crate::doctor::{ToolCheck, check_tool};
use crate::events::{Emitter, EventKind};
use crate::manifest::{Implementation, Manifest, Placeholders};
use crate::plan::Cell;
use crate::process::{
    CommandSpec, GroupChild, Output, Registry, drain, run_to_end, signal_group, wait_or_kill,
};
use crate::relay::{self, Recorded, Relay};
use crate::results::{Attempt, ProcessLog};
use crate::toxic::Toxic;
use interop_wire::json::{ClientReport, LISTENING_PREFIX, ServerEvent};
use interop_wire::{Mode, Transport, addr_string};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

/// The `--timeout-ms` every client gets.
pub const CLIENT_TIMEOUT_MS: u64 = 10_000;
/// How long a client process may run before its group is killed, by default.
pub const CLIENT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to print its `listening on` line.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, once the clients have exited, the harness waits for the server to finish every
/// connection they made (a `closed` or `error` event each) before it stops the server. A correct
/// server needs milliseconds; the margin is for a loaded machine. Only a server that never
/// finishes a connection makes a cell wait this long, and that cell fails anyway.
pub const SERVER_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the relay lets a connection held open by a `timeout` fault stay open after the
/// clients exited: nothing passes through it, so there is nothing to wait for.
const HELD_CONNECTION_GRACE: Duration = Duration::from_millis(300);
/// The port repro commands use, so a person can paste them as they are.
pub const REPRO_PORT: u16 = interop_wire::DEFAULT_PORT;

/// What every cell needs: paths, and the state of each implementation.
#[derive(Debug)]
pub struct Context {
    /// Placeholder values.
    pub places: Placeholders,
    /// Why an implementation cannot run (missing tool, failed build), by name; also why a case's
    /// payload files are missing, under `payload:<case>`.
    pub broken: HashMap<String, String>,
    /// Every tool the implementations need, as checked.
    pub tools: Vec<(String, ToolCheck)>,
    /// Every implementation's build.
    pub builds: Vec<(String, BuildStatus)>,
    /// Where `--file` payloads are written.
    pub payload_dir: PathBuf,
}

/// Checks tools and builds every implementation the cells use, and writes payload files.
pub async fn prepare(
    manifest: &Manifest,
    cells: &[Cell],
    places: Placeholders,
    emitter: &Emitter,
) -> Context {
    let mut used: Vec<&Implementation> = Vec::new();
    for cell in cells {
        for imp in [&*cell.server, &*cell.client] {
            if !used.iter().any(|u| u.name == imp.name) {
                used.push(imp);
            }
        }
    }
    let Prepared { mut broken, tools, builds } =
        prepare_implementations(manifest, &used, &places, emitter).await;
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
                        broken.insert(
                            payload_key(cell.case.name),
                            format!("cannot write {}: {err}", path.display()),
                        );
                    }
                }
            }
        }
    }
    Context { places, broken, tools, builds, payload_dir }
}

/// The state of a set of implementations after [`prepare_implementations`].
#[derive(Debug, Default)]
pub struct Prepared {
    /// Why each unusable one cannot run, by name.
    pub broken: HashMap<String, String>,
    /// The tools they need, as checked, in first-use order.
    pub tools: Vec<(String, ToolCheck)>,
    /// Their builds, in order.
    pub builds: Vec<(String, BuildStatus)>,
}

/// Checks the tools of `imps` and builds them when stale.
pub async fn prepare_implementations(
    manifest: &Manifest,
    imps: &[&Implementation],
    places: &Placeholders,
    emitter: &Emitter,
) -> Prepared {
    let mut prepared = Prepared::default();
    // Check every tool first, all at once: a JVM's version check alone takes ~0.1 s.
    let mut names: Vec<&String> = imps.iter().flat_map(|imp| &imp.tools).collect();
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(*n));
    let checks = names.iter().map(|name| {
        let tool = manifest.tools[*name].clone();
        tokio::spawn(async move { check_tool(&tool).await })
    });
    let checks: Vec<_> = checks.collect();
    for (name, check) in names.iter().zip(checks) {
        let check = check.await.unwrap_or_else(|err| ToolCheck::Missing(format!("check failed: {err}")));
        prepared.tools.push(((*name).clone(), check));
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

/// The key under which [`Context::broken`] records that a case's payload files could not be written.
fn payload_key(case: &str) -> String {
    format!("payload:{case}")
}

fn payload_path(dir: &std::path::Path, case: &str, process: usize, message: usize) -> PathBuf {
    dir.join(case).join(format!("client{}-message{}.bin", process + 1, message + 1))
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
        cwd: imp.run.cwd.as_deref().map_or_else(|| places.root.clone(), |c| PathBuf::from(expand(c))),
    }
}

impl Context {
    /// The arguments that select the case's transport: `--host H` or `--transport unix --path P`,
    /// plus `--transport udp`.
    fn transport_args(case: &Case, port: u16, path: &Path) -> Vec<String> {
        let mut args = Vec::new();
        match case.transport {
            Transport::Unix => {
                args.extend(["--transport".into(), "unix".into(), "--path".into()]);
                args.push(path.to_string_lossy().into_owned());
            }
            Transport::Tcp | Transport::Udp => {
                args.extend(["--host".into(), case.host.into(), "--port".into(), port.to_string()]);
                if case.transport == Transport::Udp {
                    args.extend(["--transport".into(), "udp".into()]);
                }
            }
        }
        args
    }

    pub(crate) fn server_command(&self, cell: &Cell, port: u16, path: &Path) -> CommandSpec {
        let mut args = Self::transport_args(&cell.case, port, path);
        args.extend(["--mode", cell.case.mode.as_str(), "--format", "json"].map(String::from));
        args.extend(cell.case.server_args.iter().map(|a| a.to_string()));
        command(&self.places, &cell.server, args)
    }

    pub(crate) fn client_command(
        &self,
        cell: &Cell,
        (port, path): (u16, &Path),
        process: usize,
        payloads: &[Payload],
        timeout_ms: u64,
    ) -> CommandSpec {
        // The `unix-long-path` case: the server listens on a good path, the client is given one
        // that cannot be a socket address.
        let too_long;
        let path = if matches!(cell.case.kind, CaseKind::ClientRefuses { .. })
            && cell.case.transport == Transport::Unix
        {
            too_long = path.with_file_name(format!("{}-{}.sock", "x".repeat(120), std::process::id()));
            too_long.as_path()
        } else {
            path
        };
        let mut args = Self::transport_args(&cell.case, port, path);
        args.extend(["--mode", cell.case.mode.as_str(), "--format", "json"].map(String::from));
        args.extend(["--timeout-ms".into(), timeout_ms.to_string()]);
        args.extend(cell.case.client_args.iter().map(|a| a.to_string()));
        for (m, _) in payloads.iter().enumerate().filter(|(_, p)| p.via == Via::File) {
            args.push("--file".into());
            args.push(
                payload_path(&self.payload_dir, cell.case.name, process, m).to_string_lossy().into_owned(),
            );
        }
        args.push("--".into());
        args.extend(
            payloads.iter().filter(|p| p.via == Via::Arg).filter_map(|p| p.text().map(str::to_owned)),
        );
        command(&self.places, &cell.client, args)
    }

    /// Runs one attempt of `cell` (which must be supported; see [`Cell::unsupported`]).
    /// With `record`, the clients talk to the server through a recording relay (TCP only). A
    /// client process still running after `client_timeout` is killed, with its process group.
    pub async fn attempt(&self, cell: &Cell, record: bool, client_timeout: Duration) -> Attempt {
        let started = Instant::now();
        let mut attempt = Attempt {
            passed: false,
            reason: None,
            duration_ms: 0,
            server: None,
            clients: Vec::new(),
            transcript: None,
        };
        let problems = if let Some(why) = self.blocked(cell) {
            vec![why.to_string()]
        } else {
            let socket = UnixPath::new();
            let record = record && cell.case.transport == Transport::Tcp;
            match &cell.case.kind {
                CaseKind::Refused => self.refused(cell, client_timeout, &mut attempt).await,
                CaseKind::Silent { timeout_ms } => {
                    self.silent(cell, *timeout_ms, client_timeout, &mut attempt).await
                }
                CaseKind::Restart(_) => self.restart(cell, &socket.path, client_timeout, &mut attempt).await,
                CaseKind::Busy(_) => self.busy(cell, &socket.path, client_timeout, &mut attempt).await,
                CaseKind::LogFailure(_) => {
                    self.log_failure(cell, &socket.path, client_timeout, &mut attempt).await
                }
                CaseKind::Deliver(_) | CaseKind::ClientRefuses { .. } | CaseKind::Broken { .. } => {
                    self.deliver(cell, &socket.path, record, client_timeout, &mut attempt).await
                }
            }
        };
        attempt.passed = problems.is_empty();
        attempt.reason = (!problems.is_empty()).then(|| problems.join("\n"));
        attempt.duration_ms = millis(started.elapsed());
        attempt
    }

    /// Why `cell` cannot run at all (a missing tool, a failed build, unwritable payloads): a
    /// failure no retry can fix.
    pub fn blocked(&self, cell: &Cell) -> Option<&str> {
        let mut needed = vec![cell.client.name.clone(), payload_key(cell.case.name)];
        if cell.case.kind.uses_server() {
            needed.push(cell.server.name.clone());
        }
        needed.iter().find_map(|n| self.broken.get(n)).map(String::as_str)
    }

    /// Shell lines that reproduce the cell by hand: the `interop repro` command (with
    /// `--manifest` when the run used another manifest than the repository's), then the bare
    /// server and client commands on port 8099.
    pub fn repro(&self, cell: &Cell, manifest: Option<&Path>) -> Vec<String> {
        let manifest = manifest
            .map(|m| format!(" --manifest {}", shell_words::quote(&m.to_string_lossy())))
            .unwrap_or_default();
        let mut lines = vec![format!("cargo run -q -p interop --{manifest} repro {}", cell.name())];
        let path = UnixPath::for_repro(cell);
        let at = (REPRO_PORT, path.as_path());
        let server = || self.server_command(cell, REPRO_PORT, &path).shell();
        match &cell.case.kind {
            CaseKind::Refused => {
                lines.push(format!("# nothing may listen on port {REPRO_PORT}; the client must exit 3"))
            }
            CaseKind::Silent { .. } => lines.push(format!(
                "# terminal 1, a server that accepts and never replies: nc -l 127.0.0.1 {REPRO_PORT}"
            )),
            CaseKind::Restart(_) => {
                lines.push(format!("# by hand, terminal 1: {}", server()));
                lines.push("# connect to it, kill it with SIGKILL, start it again at once, then:".into());
            }
            CaseKind::Busy(_) => {
                lines.push(format!("# by hand, terminal 1: {}", server()));
                lines.push(format!(
                    "# terminal 2, hold {BUSY_LIMIT} connections: for i in $(seq {BUSY_LIMIT}); do nc 127.0.0.1 {REPRO_PORT} & done"
                ));
                lines.push("# then, turned away with ERR busy (exit 5):".into());
            }
            CaseKind::LogFailure(_) => {
                lines.push(format!(
                    "# by hand, terminal 1, its stdout closed after the first line: {} | (read -r line && echo \"$line\")",
                    server()
                ));
                lines.push("# then, answered ERR output (exit 5) while the server exits 3:".into());
            }
            CaseKind::Deliver(_) | CaseKind::ClientRefuses { .. } | CaseKind::Broken { .. } => {
                lines.push(format!("# by hand, terminal 1: {}", server()));
                if let Some(toxic) = cell.case.fault {
                    lines.push(format!(
                        "# the harness put its relay with the {} fault ({toxic:?}) between them; `repro` does too",
                        toxic.name()
                    ));
                }
            }
        }
        let processes = cell.case.kind.processes();
        let timeout = self.client_timeout_ms(cell);
        let concurrent = processes.len() > 1;
        for (p, payloads) in processes.iter().enumerate() {
            let line = self.client_command(cell, at, p, payloads, timeout).shell();
            lines.push(if concurrent { format!("({line}) &") } else { line });
        }
        if concurrent {
            lines.push("wait".into());
        }
        lines
    }

    /// The `--timeout-ms` the case gives its clients.
    fn client_timeout_ms(&self, cell: &Cell) -> u64 {
        match cell.case.kind {
            CaseKind::Silent { timeout_ms } => timeout_ms,
            _ => cell.case.timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS),
        }
    }

    async fn refused(&self, cell: &Cell, client_timeout: Duration, attempt: &mut Attempt) -> Vec<String> {
        // A socket bound but never listening: connecting to it is refused, and since we hold the
        // port nobody else can take it while the client runs (no port race).
        let socket = match tokio::net::TcpSocket::new_v4()
            .and_then(|s| s.bind(([127, 0, 0, 1], 0).into()).map(|()| s))
        {
            Ok(socket) => socket,
            Err(err) => return vec![format!("harness: cannot bind a socket: {err}")],
        };
        let port = match socket.local_addr() {
            Ok(addr) => addr.port(),
            Err(err) => return vec![format!("harness: {err}")],
        };
        let out = match self.run_client(cell, (port, Path::new("")), client_timeout, attempt).await {
            Ok(out) => out,
            Err(problem) => return vec![problem],
        };
        drop(socket);
        let mut problems = expect_client_error(&out, 3, "(refused)", None);
        if out.duration >= Duration::from_millis(CLIENT_TIMEOUT_MS) {
            problems.push(format!("took {:?}, not before its --timeout-ms", out.duration));
        }
        problems
    }

    /// Read timeout: the harness accepts connections itself and never answers.
    async fn silent(
        &self,
        cell: &Cell,
        timeout_ms: u64,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(listener) => listener,
            Err(err) => return vec![format!("harness: cannot listen: {err}")],
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        // Accept and hold every connection, reading nothing, replying nothing. The client's clock
        // starts when it is connected, not when its process starts: a JVM on a loaded machine can
        // take seconds to get that far, and that is not what the case measures.
        let (connected_tx, connected_rx) = watch::channel(None::<Instant>);
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connected_tx.send_if_modified(|at| at.is_none() && at.replace(Instant::now()).is_none());
                held.push(stream);
            }
        });
        let out = self.run_client(cell, (port, Path::new("")), client_timeout, attempt).await;
        let gave_up = Instant::now();
        holder.abort();
        let out = match out {
            Ok(out) => out,
            Err(problem) => return vec![problem],
        };
        let mut problems = expect_client_error(&out, 4, "(timeout)", None);
        let limit = Duration::from_millis(timeout_ms + SILENT_MARGIN_MS);
        let waited = connected_rx.borrow().map_or(out.duration, |at| gave_up.saturating_duration_since(at));
        if waited > limit {
            problems.push(format!(
                "waited {} ms after connecting before giving up, more than its --timeout-ms \
                 {timeout_ms} plus {SILENT_MARGIN_MS} ms",
                waited.as_millis()
            ));
        }
        problems
    }

    /// Runs the cell's single client process, recording it in `attempt`.
    async fn run_client(
        &self,
        cell: &Cell,
        at: (u16, &Path),
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Result<Output, String> {
        let payloads = cell.case.kind.processes().into_iter().next().unwrap_or_default();
        let spec = self.client_command(cell, at, 0, &payloads, self.client_timeout_ms(cell));
        let out = run_to_end(&spec, client_timeout)
            .await
            .map_err(|err| format!("cannot start client `{}`: {err}", spec.shell()))?;
        attempt.clients.push(process_log(&spec, &out));
        Ok(out)
    }

    /// Restart: start the server, hold a connection to it, kill it, start it again on the same
    /// port at once, and deliver the payload to the new one.
    async fn restart(
        &self,
        cell: &Cell,
        path: &Path,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        let first = match Server::start(self, cell, 0, path, ServerStdout::Read).await {
            Ok(server) => server,
            Err(problem) => return vec![problem],
        };
        let Some(port) = first.port else { return vec!["restart needs a TCP server".into()] };
        // An open connection with unread bytes: the kill leaves the port with a connection in it.
        let mut held = tokio::net::TcpStream::connect((cell.case.host, port)).await.ok();
        if let Some(held) = held.as_mut() {
            use tokio::io::AsyncWriteExt as _;
            let _ = held.write_all(b"unfinished").await;
        }
        first.kill().await;
        drop(held);
        self.deliver_to(cell, path, false, client_timeout, attempt, Some(port)).await
    }

    /// Busy: start the server with its connection limit, hold that many connections (accepted:
    /// the server said `connected` for each), then the client must be turned away.
    async fn busy(
        &self,
        cell: &Cell,
        path: &Path,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        let mut server = match Server::start(self, cell, 0, path, ServerStdout::Read).await {
            Ok(server) => server,
            Err(problem) => return vec![problem],
        };
        let Some(port) = server.port else { return vec!["busy needs a TCP server".into()] };
        let mut held = Vec::new();
        for _ in 0..BUSY_LIMIT {
            match tokio::net::TcpStream::connect((cell.case.host, port)).await {
                Ok(stream) => held.push(stream),
                Err(err) => {
                    server.kill().await;
                    return vec![format!("harness: cannot connect to the server: {err}")];
                }
            }
        }
        let peers: Vec<String> = held.iter().filter_map(|s| s.local_addr().ok()).map(addr_string).collect();
        let mut problems = Vec::new();
        if !server.wait_connected(&peers, SERVER_SETTLE_TIMEOUT).await {
            problems.push(format!(
                "the server did not log `connected` for the {BUSY_LIMIT} held connections within {SERVER_SETTLE_TIMEOUT:?}"
            ));
        }
        let out = self.run_client(cell, (port, path), client_timeout, attempt).await;
        // Give the slots back; the server must finish both connections and stop cleanly.
        drop(held);
        server.settle(&peers, SERVER_SETTLE_TIMEOUT).await;
        let (log, lines, stop_problems) = server.stop().await;
        attempt.server = Some(log);
        let out = match out {
            Ok(out) => out,
            Err(problem) => return vec![problem],
        };
        problems.extend(expect_client_error(&out, 5, "(protocol error)", Some("ERR busy")));
        problems.extend(stop_problems);
        let (events, unparsed) = parse_events(&lines);
        problems.extend(unparsed);
        if let Some(ServerEvent::Message { len, .. }) =
            events.iter().find(|e| matches!(e, ServerEvent::Message { .. }))
        {
            problems.push(format!("the server logged a message ({len} bytes) although it was full"));
        }
        if !events
            .iter()
            .any(|e| matches!(e, ServerEvent::Error { conn: None, error, .. } if error.starts_with("busy")))
        {
            problems.push("the server logged no `busy` error event for the connection it turned away".into());
        }
        problems
    }

    /// Log failure: start the server, close its stdout after the `listening on` line, then the
    /// client must get `ERR output`, and the server must exit 3 by itself.
    async fn log_failure(
        &self,
        cell: &Cell,
        path: &Path,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        let server = match Server::start(self, cell, 0, path, ServerStdout::CloseAfterListening).await {
            Ok(server) => server,
            Err(problem) => return vec![problem],
        };
        let port = server.port.unwrap_or(0);
        let out = self.run_client(cell, (port, path), client_timeout, attempt).await;
        let (log, status) = server.exit_on_its_own(SERVER_STOP_TIMEOUT).await;
        let stderr = log.stderr.clone();
        attempt.server = Some(log);
        let out = match out {
            Ok(out) => out,
            Err(problem) => return vec![problem],
        };
        // The server's side first: how a server gets this wrong is what a known failure names.
        let mut problems = Vec::new();
        match status {
            Some(status) if status.code() == Some(EXIT_SERVER_OUTPUT) => {}
            Some(status) => problems.push(format!(
                "the server exited with {status}, not exit code {EXIT_SERVER_OUTPUT} (its log could not be written)"
            )),
            None => problems.push(format!(
                "the server was still running {SERVER_STOP_TIMEOUT:?} after its client, with its log gone; killed"
            )),
        }
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != 1 || !lines[0].starts_with("error: ") {
            problems.push(format!("the server's stderr is not one `error: ` line: {stderr:?}"));
        }
        problems.extend(expect_client_error(&out, 5, "(protocol error)", Some("ERR output")));
        problems
    }

    async fn deliver(
        &self,
        cell: &Cell,
        path: &Path,
        record: bool,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        self.deliver_to(cell, path, record, client_timeout, attempt, None).await
    }

    /// Starts the server (on `fixed_port` if given), runs every client process at once, stops the
    /// server and checks what it logged against what the clients report.
    async fn deliver_to(
        &self,
        cell: &Cell,
        path: &Path,
        record: bool,
        client_timeout: Duration,
        attempt: &mut Attempt,
        fixed_port: Option<u16>,
    ) -> Vec<String> {
        if cell.case.stale_socket {
            // A socket file nobody listens on, as a crashed earlier run leaves behind.
            drop(std::os::unix::net::UnixListener::bind(path));
        }
        let mut server =
            match Server::start(self, cell, fixed_port.unwrap_or(0), path, ServerStdout::Read).await {
                Ok(server) => server,
                Err(problem) => {
                    attempt.server = Some(ProcessLog {
                        command: self.server_command(cell, fixed_port.unwrap_or(0), path).shell(),
                        exit: "did not start".into(),
                        stdout: String::new(),
                        stderr: String::new(),
                    });
                    return vec![problem];
                }
            };
        // The relay records (--record) and applies the case's fault, if it has one.
        let relay = match (record || cell.case.fault.is_some(), server.addr) {
            (true, Some(addr)) => match Relay::start_with(addr, cell.case.fault).await {
                Ok(relay) => Some(relay),
                Err(err) => {
                    server.kill().await;
                    return vec![format!("harness: cannot start the recording relay: {err}")];
                }
            },
            _ => None,
        };
        let port = relay.as_ref().map_or(server.port.unwrap_or(0), |r| r.addr().port());

        // All client processes start at once (the `concurrent` case has 16).
        let timeout_ms = self.client_timeout_ms(cell);
        let clients: Vec<_> = cell
            .case
            .kind
            .processes()
            .iter()
            .enumerate()
            .map(|(p, payloads)| {
                let spec = self.client_command(cell, (port, path), p, payloads, timeout_ms);
                tokio::spawn(async move {
                    let out = run_to_end(&spec, client_timeout).await;
                    (spec, out)
                })
            })
            .collect();
        let mut problems = Vec::new();
        let mut outputs: Vec<Output> = Vec::with_capacity(clients.len());
        for client in clients {
            match client.await {
                Ok((spec, Ok(output))) => {
                    attempt.clients.push(process_log(&spec, &output));
                    outputs.push(output);
                }
                Ok((spec, Err(err))) => {
                    problems.push(format!("cannot start client `{}`: {err}", spec.shell()))
                }
                Err(err) => problems.push(format!("harness: client task failed: {err}")),
            }
        }
        // The clients have exited, but the server may not be done with their connections (it may
        // not even have accepted them yet): stopping it now would race it. So first wait until it
        // has finished every connection the clients made, through the relay or directly.
        let recorded = match relay {
            Some(relay) => {
                // A connection still open after the clients exited is held by the server; wait for
                // it to close, except one that a `timeout` fault holds on purpose.
                let grace = match cell.case.fault {
                    Some(Toxic::Timeout { .. }) => HELD_CONNECTION_GRACE,
                    _ => SERVER_SETTLE_TIMEOUT,
                };
                Some(relay.finish(grace).await)
            }
            None => None,
        };
        let peers = match &recorded {
            // Without an upstream connection (port 0) the server never saw it.
            Some(recorded) => {
                recorded.iter().filter(|r| r.relay.port() != 0).map(|r| addr_string(r.relay)).collect()
            }
            None => connection_peers(&outputs),
        };
        server.settle(&peers, SERVER_SETTLE_TIMEOUT).await;
        let (log, server_lines, stop_problems) = server.stop().await;
        attempt.server = Some(log);
        problems.extend(stop_problems);
        // Through the relay the server sees the relay's address; translate it back to the
        // client's, so that messages still match the client that sent them.
        let through_relay: HashMap<String, String> =
            recorded.iter().flatten().map(|r| (addr_string(r.relay), addr_string(r.client))).collect();
        let (events, unparsed) = parse_events(&server_lines);
        problems.extend(unparsed);
        let events: Vec<ServerEvent> =
            events.into_iter().map(|e| translate_peer(e, &through_relay)).collect();
        match &cell.case.kind {
            CaseKind::ClientRefuses { needle, .. } => {
                let out = outputs.first();
                problems.extend(
                    out.map_or_else(Vec::new, |out| expect_client_error(out, 2, "(usage)", Some(needle))),
                );
                if events.iter().any(|e| matches!(e, ServerEvent::Message { .. })) {
                    problems
                        .push("the server logged a message, but the client should have sent nothing".into());
                }
            }
            CaseKind::Broken { code, .. } => {
                let out = outputs.first();
                problems.extend(out.map_or_else(Vec::new, |out| match code {
                    Some(code) => expect_client_error(out, *code, "", None),
                    None if out.success() => {
                        vec!["the client reported success through a broken connection".into()]
                    }
                    None => expect_client_error(out, out.code().unwrap_or(-1), "", None),
                }));
                // What was cut must not be logged, not even in part; errors are what it should cause.
                problems.retain(|p| !p.starts_with("server reported an error"));
                if let Some(ServerEvent::Message { len, .. }) =
                    events.iter().find(|e| matches!(e, ServerEvent::Message { .. }))
                {
                    problems.push(format!(
                        "the server logged a message ({len} bytes) from a connection the fault cut"
                    ));
                }
            }
            _ => {
                let received =
                    recorded.as_deref().map(|r| received_messages(cell.case.mode, r)).unwrap_or_default();
                let processes = cell.case.kind.processes();
                let expect = (cell.case.mode, cell.case.transport);
                problems.extend(check_delivery(expect, &processes, &outputs, &events, &received));
            }
        }
        attempt.transcript = recorded.as_deref().map(|r| relay::transcript(r, TRANSCRIPT_DUMP_BYTES));
        problems
    }
}

/// A server's JSON lines as events, and a problem for each line that is not one.
fn parse_events(lines: &[String]) -> (Vec<ServerEvent>, Vec<String>) {
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for line in lines {
        match serde_json::from_str::<ServerEvent>(line) {
            Ok(event) => events.push(event),
            Err(err) => {
                problems.push(format!("server printed a line that is not a JSON event ({err}): {line:?}"))
            }
        }
    }
    (events, problems)
}

/// The problems with a client that should have failed with `code` and one `error:` line.
fn expect_client_error(out: &Output, code: i32, meaning: &str, needle: Option<&str>) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.code() != Some(code) {
        let last = stderr.lines().last().unwrap_or("");
        problems.push(format!("expected exit code {code} {meaning}, got {}: {last}", out.status_text()));
    }
    if !out.stdout.is_empty() {
        problems.push(format!("printed on stdout: {:?}", String::from_utf8_lossy(&out.stdout)));
    }
    match stderr.lines().find(|l| l.starts_with("error: ")) {
        None => problems.push(format!("no `error: ` line on stderr: {stderr:?}")),
        Some(line) => {
            if let Some(needle) = needle.filter(|n| !line.contains(*n)) {
                problems.push(format!("the error line does not mention {needle:?}: {line}"));
            }
        }
    }
    problems
}

/// A Unix socket path for one attempt: short (paths hold at most 107 bytes) and unique, in the
/// temporary directory; removed when dropped, and registered meanwhile so that an interrupted or
/// killed run removes it too. The `unix-long-path` case gets one that is too long.
struct UnixPath {
    path: PathBuf,
}

impl UnixPath {
    fn new() -> UnixPath {
        let path = Self::unique();
        Registry::global().track_file(&path);
        UnixPath { path }
    }

    /// A fresh path; nothing is created there.
    fn unique() -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("interop-{}-{n}.sock", std::process::id()))
    }

    fn for_repro(cell: &Cell) -> PathBuf {
        if cell.case.transport == Transport::Unix { Self::unique() } else { PathBuf::new() }
    }
}

impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        Registry::global().forget_file(&self.path);
    }
}

/// A running server process, its address once it said where it listens.
struct Server {
    child: GroupChild,
    spec: CommandSpec,
    /// Its TCP or UDP address; `None` for Unix sockets.
    addr: Option<SocketAddr>,
    port: Option<u16>,
    first_line: String,
    /// Every line after the first, once stdout ends.
    rest: tokio::task::JoinHandle<Vec<String>>,
    /// The connections it has finished so far, as it prints them.
    progress: watch::Receiver<Progress>,
    stderr: tokio::task::JoinHandle<Vec<u8>>,
}

/// The exit code of a server whose log could not be written (PROTOCOL.md §5).
pub const EXIT_SERVER_OUTPUT: i32 = 3;

/// What the harness does with a server's stdout after its `listening on` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerStdout {
    /// Reads every event.
    Read,
    /// Closes it: the server's next write fails (the `log-failure` case).
    CloseAfterListening,
}

/// How far a server has got with its connections, from the events it printed so far.
#[derive(Debug, Default)]
struct Progress {
    /// Connections accepted (a `connected` event), by peer.
    connected: HashMap<String, usize>,
    /// Connections finished (a `closed` or `error` event), by peer.
    finished: HashMap<String, usize>,
    /// Its stdout ended: it exited, and nothing more will come.
    ended: bool,
}

impl Server {
    /// Starts the cell's server and reads its `listening on` line.
    async fn start(
        context: &Context,
        cell: &Cell,
        port: u16,
        path: &Path,
        after_listening: ServerStdout,
    ) -> Result<Server, String> {
        let spec = context.server_command(cell, port, path);
        let mut child =
            spec.spawn().map_err(|err| format!("cannot start server `{}`: {err}", spec.shell()))?;
        let stderr = drain(child.take_stderr());
        let stdout = child.take_stdout().ok_or("harness: server stdout not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(SERVER_START_TIMEOUT, lines.next_line()).await;
        let problem = match first {
            Ok(Ok(Some(line))) => match line.strip_prefix(LISTENING_PREFIX) {
                Some(addr) if addr.starts_with("unix:") => {
                    let (rest, rx) = follow(lines, after_listening);
                    return Ok(Server {
                        child,
                        spec,
                        addr: None,
                        port: None,
                        first_line: line,
                        rest,
                        progress: rx,
                        stderr,
                    });
                }
                Some(addr) => match addr.parse::<SocketAddr>() {
                    Ok(addr) => {
                        let (rest, rx) = follow(lines, after_listening);
                        let port = Some(addr.port());
                        return Ok(Server {
                            child,
                            spec,
                            addr: Some(addr),
                            port,
                            first_line: line,
                            rest,
                            progress: rx,
                            stderr,
                        });
                    }
                    Err(_) => format!("server's first line is {line:?}, not `listening on <ip>:<port>`"),
                },
                None => format!("server's first line is {line:?}, not `listening on <address>`"),
            },
            Ok(_) => "server exited before printing `listening on`".to_string(),
            Err(_) => format!("server printed nothing for {SERVER_START_TIMEOUT:?}"),
        };
        signal_group(&child, Signal::SIGKILL);
        let _ = child.wait().await;
        let stderr = stderr.await.unwrap_or_default();
        let tail = String::from_utf8_lossy(&stderr);
        Err(format!("{problem}; server stderr: {}", tail.trim()))
    }

    /// SIGKILL, no grace: a crash.
    async fn kill(mut self) {
        signal_group(&self.child, Signal::SIGKILL);
        let _ = self.child.wait().await;
    }

    /// Waits (at most `limit`) until the server has finished a connection from each of `peers`
    /// (one per occurrence), or has exited.
    async fn settle(&mut self, peers: &[String], limit: Duration) {
        let mut wanted: HashMap<&str, usize> = HashMap::new();
        for peer in peers {
            *wanted.entry(peer).or_default() += 1;
        }
        let done = |p: &Progress| {
            p.ended || wanted.iter().all(|(peer, n)| p.finished.get(*peer).is_some_and(|f| f >= n))
        };
        // Past the limit the server is stopped anyway, and the checks say what it did not log.
        let _ = tokio::time::timeout(limit, self.progress.wait_for(done)).await;
    }

    /// Waits (at most `limit`) until the server has accepted a connection from each of `peers`;
    /// says whether it did.
    async fn wait_connected(&mut self, peers: &[String], limit: Duration) -> bool {
        let done = |p: &Progress| p.ended || peers.iter().all(|peer| p.connected.contains_key(peer));
        let waited = tokio::time::timeout(limit, self.progress.wait_for(done)).await;
        waited.is_ok_and(|p| p.is_ok_and(|p| !p.ended))
    }

    /// Waits (at most `limit`) for the server to exit by itself, then kills it; returns its log
    /// and its exit status (`None`: it was still running).
    async fn exit_on_its_own(mut self, limit: Duration) -> (ProcessLog, Option<std::process::ExitStatus>) {
        let status = wait_or_kill(&mut self.child, limit).await;
        let lines = self.rest.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        let log = ProcessLog {
            command: self.spec.shell(),
            exit: status.map_or_else(|| format!("still running after {limit:?}; killed"), |s| s.to_string()),
            stdout: cut(format!("{}\n{}", self.first_line, lines.join("\n")).as_bytes()),
            stderr: cut(&stderr),
        };
        (log, status)
    }

    /// SIGTERM, then its output; a server that exited early, or not cleanly, is a problem.
    async fn stop(mut self) -> (ProcessLog, Vec<String>, Vec<String>) {
        let mut problems = Vec::new();
        if let Ok(Some(status)) = self.child.try_wait() {
            problems.push(format!("server exited early, during the case ({status})"));
        }
        signal_group(&self.child, Signal::SIGTERM);
        let status = wait_or_kill(&mut self.child, SERVER_STOP_TIMEOUT).await;
        match status {
            Some(status) if status.success() => {}
            Some(status) => problems.push(format!("server did not exit 0 after SIGTERM: {status}")),
            None => {
                problems.push(format!("server still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"))
            }
        }
        let lines = self.rest.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        let log = ProcessLog {
            command: self.spec.shell(),
            exit: status.map_or_else(
                || format!("still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"),
                |s| s.to_string(),
            ),
            stdout: cut(format!("{}\n{}", self.first_line, lines.join("\n")).as_bytes()),
            stderr: cut(&stderr),
        };
        (log, lines, problems)
    }
}

/// Follows a server's stdout after its first line: reads it to the end, or closes it at once.
fn follow(
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    stdout: ServerStdout,
) -> (tokio::task::JoinHandle<Vec<String>>, watch::Receiver<Progress>) {
    let (progress, rx) = watch::channel(Progress::default());
    let rest = match stdout {
        ServerStdout::Read => tokio::spawn(collect_lines(lines, progress)),
        ServerStdout::CloseAfterListening => {
            drop(lines);
            progress.send_modify(|p| p.ended = true);
            tokio::spawn(async { Vec::new() })
        }
    };
    (rest, rx)
}

/// Reads a server's lines to the end, telling `progress` of every connection it starts and
/// finishes.
async fn collect_lines(
    mut lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    progress: watch::Sender<Progress>,
) -> Vec<String> {
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str(&line) {
            Ok(ServerEvent::Closed { peer, .. } | ServerEvent::Error { peer: Some(peer), .. }) => {
                progress.send_modify(|p| *p.finished.entry(peer).or_default() += 1);
            }
            Ok(ServerEvent::Connected { peer, .. }) => {
                progress.send_modify(|p| *p.connected.entry(peer).or_default() += 1);
            }
            _ => {}
        }
        rest.push(line);
    }
    progress.send_modify(|p| p.ended = true);
    rest
}

/// The connections the clients report having used (their `local` addresses, once per
/// connection): the server's `peer` for each. UDP has no connections to finish.
fn connection_peers(outputs: &[Output]) -> Vec<String> {
    let mut peers: Vec<String> = outputs
        .iter()
        .flat_map(|out| String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|line| serde_json::from_str::<ClientReport>(&line).ok())
        .filter(|report| report.transport != Transport::Udp)
        .map(|report| report.local)
        .collect();
    peers.sort();
    peers.dedup();
    peers
}

/// How many bytes of each direction a transcript shows as a hex dump.
pub const TRANSCRIPT_DUMP_BYTES: usize = 4096;

/// The messages the server received, rebuilt from what the relay forwarded, by (client address,
/// sequence number): raw mode, the whole stream; framed mode, each complete frame.
fn received_messages(mode: Mode, recorded: &[Recorded]) -> HashMap<(String, u64), Vec<u8>> {
    let mut received = HashMap::new();
    for connection in recorded {
        let client = addr_string(connection.client);
        match mode {
            Mode::Raw => {
                received.insert((client, 1), connection.to_server.clone());
            }
            Mode::Framed => {
                // Every complete frame: what went over the wire, not what a server would accept.
                // None can be longer than the recording, and one cut off at its end is no message.
                let recorded = u32::try_from(connection.to_server.len()).unwrap_or(u32::MAX);
                let mut decoder = interop_wire::frame::Decoder::new(recorded);
                let mut rest = &connection.to_server[..];
                let mut seq = 0;
                while let Ok(Some(payload)) = decoder.decode(&mut rest) {
                    seq += 1;
                    received.insert((client.clone(), seq), payload);
                }
            }
        }
    }
    received
}

fn translate_peer(event: ServerEvent, map: &HashMap<String, String>) -> ServerEvent {
    let fix = |peer: String| map.get(&peer).cloned().unwrap_or(peer);
    match event {
        ServerEvent::Connected { conn, peer, local } => {
            ServerEvent::Connected { conn, peer: fix(peer), local }
        }
        ServerEvent::Message { conn, peer, seq, len, sha256, text } => {
            ServerEvent::Message { conn, peer: fix(peer), seq, len, sha256, text }
        }
        ServerEvent::Closed { conn, peer, messages } => {
            ServerEvent::Closed { conn, peer: fix(peer), messages }
        }
        ServerEvent::Error { conn, peer, error } => ServerEvent::Error { conn, peer: peer.map(fix), error },
        other => other,
    }
}

/// Longest stdout or stderr kept per process in reports.
pub const LOG_LIMIT: usize = 64 * 1024;

/// Lossy UTF-8 of `bytes`, keeping the last [`LOG_LIMIT`] bytes (the end explains a failure).
fn cut(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= LOG_LIMIT {
        return text.into_owned();
    }
    let from = text.ceil_char_boundary(text.len() - LOG_LIMIT);
    format!("[{} bytes cut]\n{}", from, &text[from..])
}

fn process_log(spec: &CommandSpec, out: &Output) -> ProcessLog {
    ProcessLog {
        command: spec.shell(),
        exit: out.status_text(),
        stdout: cut(&out.stdout),
        stderr: cut(&out.stderr),
    }
}

/// Whole milliseconds of `d`, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
