//! The command lines the runner builds: each implementation's command with the protocol's
//! arguments (PROTOCOL.md §5, §6) for a cell, and the repro lines a person can paste.

use super::prepare::{Prepared, payload_path};
use super::timeouts::CLIENT_TIMEOUT_MS;
use super::unix_path::UnixPath;
use crate::catalogue::{BUSY_LIMIT, Case, CaseKind, Payload, Via};
use crate::manifest::{Implementation, Placeholders};
use crate::plan::Cell;
use crate::process::CommandSpec;
use interop_wire::Transport;
use std::path::{Path, PathBuf};

/// The port repro commands use, so a person can paste them as they are.
pub const REPRO_PORT: u16 = interop_wire::DEFAULT_PORT;

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

impl Prepared {
    /// The server's command for `cell`, listening on `port` (TCP, UDP) or `path` (Unix).
    pub fn server_command(&self, cell: &Cell, port: u16, path: &Path) -> CommandSpec {
        let mut args = transport_args(&cell.case, port, path);
        args.extend(["--mode", cell.case.mode.as_str(), "--format", "json"].map(String::from));
        args.extend(cell.case.server_args.iter().map(|a| a.to_string()));
        self.direct(command(&self.places, &cell.server, args))
    }

    /// `spec`, starting the program its tool's `executable_args` named in place of the tool's
    /// command (a version manager's shim) when there is one.
    fn direct(&self, mut spec: CommandSpec) -> CommandSpec {
        if let Some(program) = spec.argv.first().and_then(|first| self.ready.programs.get(first)) {
            spec.argv[0].clone_from(program);
        }
        spec
    }

    /// The command of client process `process` of `cell`, sending `payloads` to the server at
    /// `port` or `path`.
    pub fn client_command(
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
        let mut args = transport_args(&cell.case, port, path);
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
        self.direct(command(&self.places, &cell.client, args))
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
        if cell.client.is_conformance_peer() {
            // No client program: the harness is the client, so only `repro` replays it all.
            lines.push(format!("# the server alone, by hand: {}", server()));
            lines.push(format!("# the client is the harness itself: {}", cell.case.spec));
            return lines;
        }
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
            CaseKind::Deliver(_)
            | CaseKind::ClientRefuses { .. }
            | CaseKind::Broken { .. }
            | CaseKind::Conformance(_) => {
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
    pub fn client_timeout_ms(&self, cell: &Cell) -> u64 {
        match cell.case.kind {
            CaseKind::Silent { timeout_ms } => timeout_ms,
            _ => cell.case.timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS),
        }
    }
}
