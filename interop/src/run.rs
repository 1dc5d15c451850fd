//! Running one attempt of a cell: prepare (tools, builds, payload files) once, then start the
//! server, run the clients, stop the server and check what it logged. The result is data
//! ([`Attempt`]); nothing here prints.

use crate::build::{BuildStatus, build};
use crate::cases::{CaseKind, Payload, Via};
use crate::check::check_delivery;
use crate::doctor::{ToolCheck, check_tool};
use crate::manifest::{Implementation, Manifest, Placeholders};
use crate::plan::Cell;
use crate::process::{CommandSpec, Output, drain, run_to_end, signal_group, wait_or_kill};
use crate::relay::{self, Recorded, Relay};
use crate::results::{Attempt, ProcessLog};
use crate::runner::EventKind;
use interop_wire::json::{LISTENING_PREFIX, ServerEvent};
use interop_wire::{Mode, addr_string};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The `--timeout-ms` every client gets.
pub const CLIENT_TIMEOUT_MS: u64 = 10_000;
/// How long a client process may run before its group is killed, by default.
pub const CLIENT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to print its `listening on` line.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
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
    on: &dyn Fn(EventKind),
) -> Context {
    let mut used: Vec<&Implementation> = Vec::new();
    for cell in cells {
        for imp in [&*cell.server, &*cell.client] {
            if !used.iter().any(|u| u.name == imp.name) {
                used.push(imp);
            }
        }
    }
    let Prepared {
        mut broken,
        tools,
        builds,
    } = prepare_implementations(manifest, &used, &places, on).await;
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
        tools,
        builds,
        payload_dir,
    }
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
    on: &dyn Fn(EventKind),
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
        let check = check
            .await
            .unwrap_or_else(|err| ToolCheck::Missing(format!("check failed: {err}")));
        prepared.tools.push(((*name).clone(), check));
    }
    for imp in imps {
        on(EventKind::BuildStarted {
            name: imp.name.clone(),
        });
        let mut missing = Vec::new();
        for tool_name in &imp.tools {
            let tool = &manifest.tools[tool_name];
            let check = prepared
                .tools
                .iter()
                .find(|(name, _)| name == tool_name)
                .map(|(_, c)| c.clone());
            let check = check.unwrap_or_else(|| ToolCheck::Missing("not checked".into()));
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
            prepared.broken.insert(imp.name.clone(), why.clone());
        }
        prepared.builds.push((imp.name.clone(), status.clone()));
        on(EventKind::BuildFinished {
            name: imp.name.clone(),
            status,
        });
    }
    prepared
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
    pub(crate) fn server_command(&self, server: &Implementation, mode: Mode, port: u16) -> CommandSpec {
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

    pub(crate) fn client_command(
        &self,
        cell: &Cell,
        port: u16,
        process: usize,
        payloads: &[Payload],
    ) -> CommandSpec {
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

    /// Runs one attempt of `cell` (which must be supported; see [`Cell::unsupported`]).
    /// With `record`, the clients talk to the server through a recording relay. A client
    /// process still running after `client_timeout` is killed, with its process group.
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
            match &cell.case.kind {
                CaseKind::Refused => self.refused(cell, client_timeout, &mut attempt).await,
                CaseKind::Deliver(processes) => {
                    self.deliver(cell, processes, record, client_timeout, &mut attempt)
                        .await
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
        if matches!(cell.case.kind, CaseKind::Deliver(_)) {
            needed.push(cell.server.name.clone());
        }
        needed.iter().find_map(|n| self.broken.get(n)).map(String::as_str)
    }

    /// Shell lines that reproduce the cell by hand: the `interop repro` command (with
    /// `--manifest` when the run used another manifest than the repository's), then the bare
    /// server and client commands on port 8099.
    pub fn repro(&self, cell: &Cell, manifest: Option<&std::path::Path>) -> Vec<String> {
        let manifest = manifest
            .map(|m| format!(" --manifest {}", shell_words::quote(&m.to_string_lossy())))
            .unwrap_or_default();
        let mut lines = vec![format!(
            "cargo run -q -p interop --{manifest} repro {}",
            cell.name()
        )];
        let processes = match &cell.case.kind {
            CaseKind::Refused => {
                lines.push(format!(
                    "# nothing may listen on port {REPRO_PORT}; the client must exit 3"
                ));
                vec![Vec::new()]
            }
            CaseKind::Deliver(processes) => {
                let server = self.server_command(&cell.server, cell.case.mode, REPRO_PORT);
                lines.push(format!("# by hand, terminal 1: {}", server.shell()));
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
        let spec = self.client_command(cell, port, 0, &[]);
        let out = match run_to_end(&spec, client_timeout).await {
            Ok(out) => out,
            Err(err) => return vec![format!("cannot start client `{}`: {err}", spec.shell())],
        };
        drop(socket);
        attempt.clients.push(process_log(&spec, &out));
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
        problems
    }

    async fn deliver(
        &self,
        cell: &Cell,
        processes: &[Vec<Payload>],
        record: bool,
        client_timeout: Duration,
        attempt: &mut Attempt,
    ) -> Vec<String> {
        let spec = self.server_command(&cell.server, cell.case.mode, 0);
        let mut server = match spec.spawn() {
            Ok(server) => server,
            Err(err) => return vec![format!("cannot start server `{}`: {err}", spec.shell())],
        };
        let server_err = drain(server.stderr.take());
        let Some(stdout) = server.stdout.take() else {
            return vec!["harness: server stdout not captured".into()];
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(SERVER_START_TIMEOUT, lines.next_line()).await;
        let started = match first {
            Ok(Ok(Some(line))) => match line
                .strip_prefix(LISTENING_PREFIX)
                .and_then(|a| a.parse::<SocketAddr>().ok())
            {
                Some(addr) => Ok(addr),
                None => Err(format!(
                    "server's first line is {line:?}, not `listening on <ip>:<port>`"
                )),
            },
            Ok(_) => Err("server exited before printing `listening on`".to_string()),
            Err(_) => Err(format!("server printed nothing for {SERVER_START_TIMEOUT:?}")),
        };
        let server_addr = match started {
            Ok(addr) => addr,
            Err(why) => {
                signal_group(&server, Signal::SIGKILL);
                let status = server.wait().await.ok();
                let stderr = server_err.await.unwrap_or_default();
                attempt.server = Some(ProcessLog {
                    command: spec.shell(),
                    exit: status.map_or_else(|| "unknown".into(), |s| s.to_string()),
                    stdout: String::new(),
                    stderr: cut(&stderr),
                });
                return vec![why];
            }
        };
        let server_out = tokio::spawn(async move {
            let mut rest = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                rest.push(line);
            }
            rest
        });
        let relay = if record {
            match Relay::start(server_addr).await {
                Ok(relay) => Some(relay),
                Err(err) => {
                    signal_group(&server, Signal::SIGKILL);
                    return vec![format!("harness: cannot start the recording relay: {err}")];
                }
            }
        } else {
            None
        };
        let port = relay.as_ref().map_or(server_addr.port(), |r| r.addr().port());

        // All client processes start at once (the `concurrent` case has 16).
        let clients: Vec<_> = processes
            .iter()
            .enumerate()
            .map(|(p, payloads)| {
                let spec = self.client_command(cell, port, p, payloads);
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
        let recorded = match relay {
            Some(relay) => Some(relay.finish(Duration::from_secs(2)).await),
            None => None,
        };

        if let Ok(Some(status)) = server.try_wait() {
            problems.push(format!("server exited early, during the case ({status})"));
        }
        signal_group(&server, Signal::SIGTERM);
        let status = wait_or_kill(&mut server, SERVER_STOP_TIMEOUT).await;
        match status {
            Some(status) if status.success() => {}
            Some(status) => problems.push(format!("server did not exit 0 after SIGTERM: {status}")),
            None => problems.push(format!(
                "server still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"
            )),
        }
        let server_lines = server_out.await.unwrap_or_default();
        let server_stderr = server_err.await.unwrap_or_default();
        attempt.server = Some(ProcessLog {
            command: spec.shell(),
            exit: status.map_or_else(
                || format!("still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"),
                |s| s.to_string(),
            ),
            stdout: cut(format!("{LISTENING_PREFIX}{server_addr}\n{}", server_lines.join("\n")).as_bytes()),
            stderr: cut(&server_stderr),
        });
        // Through the relay the server sees the relay's address; translate it back to the
        // client's, so that messages still match the client that sent them.
        let through_relay: HashMap<String, String> = recorded
            .iter()
            .flatten()
            .map(|r| (addr_string(r.relay), addr_string(r.client)))
            .collect();
        let mut events = Vec::new();
        for line in &server_lines {
            match serde_json::from_str::<ServerEvent>(line) {
                Ok(event) => events.push(translate_peer(event, &through_relay)),
                Err(err) => problems.push(format!(
                    "server printed a line that is not a JSON event ({err}): {line:?}"
                )),
            }
        }
        let received = recorded
            .as_deref()
            .map(|r| received_messages(cell.case.mode, r))
            .unwrap_or_default();
        if problems.is_empty() || !outputs.is_empty() {
            problems.extend(check_delivery(
                cell.case.mode,
                processes,
                &outputs,
                &events,
                &received,
            ));
        }
        attempt.transcript = recorded
            .as_deref()
            .map(|r| relay::transcript(r, TRANSCRIPT_DUMP_BYTES));
        problems
    }
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
                let mut rest = &connection.to_server[..];
                let mut seq = 0;
                while rest.len() >= 4 {
                    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    if rest.len() - 4 < len {
                        break;
                    }
                    seq += 1;
                    received.insert((client.clone(), seq), rest[4..4 + len].to_vec());
                    rest = &rest[4 + len..];
                }
            }
        }
    }
    received
}

fn translate_peer(event: ServerEvent, map: &HashMap<String, String>) -> ServerEvent {
    let fix = |peer: String| map.get(&peer).cloned().unwrap_or(peer);
    match event {
        ServerEvent::Connected { conn, peer, local } => ServerEvent::Connected {
            conn,
            peer: fix(peer),
            local,
        },
        ServerEvent::Message {
            conn,
            peer,
            seq,
            len,
            sha256,
            text,
        } => ServerEvent::Message {
            conn,
            peer: fix(peer),
            seq,
            len,
            sha256,
            text,
        },
        ServerEvent::Closed { conn, peer, messages } => ServerEvent::Closed {
            conn,
            peer: fix(peer),
            messages,
        },
        ServerEvent::Error { conn, peer, error } => ServerEvent::Error {
            conn,
            peer: peer.map(fix),
            error,
        },
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
