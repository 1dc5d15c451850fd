//! A server process as a cell sees it: started, its `listening on` line read, its events followed
//! as it prints them (so the runner knows when it has finished each connection), then stopped with
//! SIGTERM (or killed, or left to exit by itself) and its log kept.
//!
//! A server shared between cells (see `pool`) is not stopped after a cell: [`Server::begin`] starts
//! a new cell's share of its output, and [`Server::keep`] ends one, leaving the process running.

use super::logs::cut;
use super::timeouts::{SERVER_START_TIMEOUT, SERVER_STOP_TIMEOUT};
use crate::process::{CommandSpec, GroupChild, signal_group, wait_or_kill};
use crate::results::{Exit, Problem, ProcessLog};
use interop_wire::json::{LISTENING_PREFIX, ServerEvent};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running server process, its address once it said where it listens.
#[derive(Debug)]
pub struct Server {
    child: GroupChild,
    spec: CommandSpec,
    /// Its TCP or UDP address; `None` for Unix sockets.
    pub addr: Option<SocketAddr>,
    /// Its TCP or UDP port; `None` for Unix sockets.
    pub port: Option<u16>,
    first_line: String,
    /// Reads its stdout to the end, into `progress`.
    reader: JoinHandle<()>,
    /// The current cell's lines after the first, and how far it got with its connections.
    progress: watch::Sender<Progress>,
    /// The current cell's share of its stderr, and the task that reads it to the end.
    stderr: (Arc<Mutex<Vec<u8>>>, JoinHandle<()>),
}

/// The exit code of a server whose log could not be written (PROTOCOL.md §5).
pub const EXIT_SERVER_OUTPUT: i32 = 3;

/// What the harness does with a server's stdout after its `listening on` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerStdout {
    /// Reads every event.
    Read,
    /// Closes it: the server's next write fails (the `log-failure` case).
    CloseAfterListening,
}

/// What a server printed during the current cell (since it started, or since [`Server::begin`]),
/// and how far it has got with its connections.
#[derive(Debug, Default)]
struct Progress {
    /// Every line after the first.
    lines: Vec<String>,
    /// Connections accepted (a `connected` event), by peer.
    connected: HashMap<String, usize>,
    /// Every `connected` event.
    connected_conns: usize,
    /// Connections finished (a `closed` or `error` event), by peer.
    finished: HashMap<String, usize>,
    /// Connections finished, counted by their `closed` or `error` event with a `conn`, whatever
    /// peer they name (a server may not know one, e.g. a connection reset before it asked).
    finished_conns: usize,
    /// Nothing more will come: its stdout ended, or the harness closed it.
    ended: bool,
    /// Its stdout ended, by its own doing: it exited (or closed its log, which is as bad).
    closed_by_server: bool,
}

impl Server {
    /// Starts the server `spec` runs and reads its `listening on` line.
    pub async fn start(spec: CommandSpec, after_listening: ServerStdout) -> Result<Server, Problem> {
        let mut child = spec
            .spawn()
            .map_err(|err| Problem::harness(format!("cannot start server `{}`: {err}", spec.shell())))?;
        let stderr = collect_bytes(child.take_stderr());
        let stdout =
            child.take_stdout().ok_or_else(|| Problem::harness("harness: server stdout not captured"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(SERVER_START_TIMEOUT, lines.next_line()).await;
        let problem = match first {
            Ok(Ok(Some(line))) => {
                let addr = match line.strip_prefix(LISTENING_PREFIX) {
                    Some(addr) if addr.starts_with("unix:") => Ok(None),
                    Some(addr) => addr.parse::<SocketAddr>().map(Some).map_err(|_| {
                        format!("server's first line is {line:?}, not `listening on <ip>:<port>`")
                    }),
                    None => Err(format!("server's first line is {line:?}, not `listening on <address>`")),
                };
                match addr {
                    Ok(addr) => {
                        let (reader, progress) = follow(lines, after_listening);
                        return Ok(Server {
                            child,
                            spec,
                            addr,
                            port: addr.map(|a| a.port()),
                            first_line: line,
                            reader,
                            progress,
                            stderr,
                        });
                    }
                    Err(problem) => problem,
                }
            }
            Ok(_) => "server exited before printing `listening on`".to_string(),
            Err(_) => format!("server printed nothing for {SERVER_START_TIMEOUT:?}"),
        };
        signal_group(&child, Signal::SIGKILL);
        let _ = child.wait().await;
        let _ = stderr.1.await;
        let tail = take(&stderr.0);
        Err(Problem::server(format!("{problem}; server stderr: {}", String::from_utf8_lossy(&tail).trim())))
    }

    /// SIGKILL, no grace: a crash.
    pub async fn kill(mut self) {
        signal_group(&self.child, Signal::SIGKILL);
        let _ = self.child.wait().await;
    }

    /// Starts a new cell's share of the server's output: what it printed before is forgotten,
    /// and [`Server::settle`] counts only the connections it finishes from now on. For a server
    /// kept from an earlier cell, which finished every connection it accepted (see
    /// [`Server::idle`]), so that nothing it prints from now on can belong to that cell.
    pub fn begin(&self) {
        self.progress.send_modify(|p| {
            *p = Progress { ended: p.ended, ..Progress::default() };
        });
        drop(take(&self.stderr.0));
    }

    /// Waits (at most `limit`) until the server has finished a connection from each of `peers`
    /// (one per occurrence), or as many connections as there are `peers` whatever peers they
    /// name, or has exited. Says whether it did.
    pub async fn settle(&mut self, peers: &[String], limit: Duration) -> bool {
        let mut wanted: HashMap<&str, usize> = HashMap::new();
        for peer in peers {
            *wanted.entry(peer).or_default() += 1;
        }
        let done = |p: &Progress| {
            p.ended
                || (!peers.is_empty() && p.finished_conns >= peers.len())
                || wanted.iter().all(|(peer, n)| p.finished.get(*peer).is_some_and(|f| f >= n))
        };
        // Past the limit the server is stopped anyway, and the checks say what it did not log.
        let mut progress = self.progress.subscribe();
        tokio::time::timeout(limit, progress.wait_for(done)).await.is_ok()
    }

    /// Waits until the server has accepted a connection from each of `peers`, as long as it
    /// keeps accepting: it gives up when `stall` passes with no new one. Says whether it did.
    pub async fn wait_connected(&mut self, peers: &[String], stall: Duration) -> bool {
        let accepted = |p: &Progress| peers.iter().filter(|peer| p.connected.contains_key(*peer)).count();
        let mut progress = self.progress.subscribe();
        loop {
            let (so_far, ended) = {
                let progress = progress.borrow();
                (accepted(&progress), progress.ended)
            };
            if ended {
                return false;
            }
            if so_far == peers.len() {
                return true;
            }
            let more = |p: &Progress| p.ended || accepted(p) > so_far;
            if tokio::time::timeout(stall, progress.wait_for(more)).await.is_err() {
                return false;
            }
        }
    }

    /// The lines it printed after the first during this cell, so far.
    pub fn lines(&self) -> Vec<String> {
        self.progress.borrow().lines.clone()
    }

    /// Whether it can serve another cell as if it had just started: still running, and every
    /// connection it accepted during this cell finished.
    pub fn idle(&mut self) -> bool {
        let finished = {
            let p = self.progress.borrow();
            !p.ended && p.finished_conns >= p.connected_conns
        };
        finished && matches!(self.child.try_wait(), Ok(None))
    }

    /// This cell's share of a server that goes on running (for the next cell): its log, which
    /// says so, and the lines it printed after the first during the cell, so far.
    pub fn keep(&self) -> (ProcessLog, Vec<String>) {
        let lines = self.lines();
        let stderr = self.stderr.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (self.process_log(Exit::StillRunning, &lines, &stderr), lines)
    }

    /// Waits (at most `limit`) for the server to exit by itself, then kills it; returns its log,
    /// the lines it printed after the first, and its exit status (`None`: it was still running).
    pub async fn exit_on_its_own(
        mut self,
        limit: Duration,
    ) -> (ProcessLog, Vec<String>, Option<std::process::ExitStatus>) {
        let status = wait_or_kill(&mut self.child, limit).await;
        let (log, lines) = self.log(status, limit).await;
        (log, lines, status)
    }

    /// Sends it SIGTERM and returns at once.
    pub fn terminate(&self) {
        signal_group(&self.child, Signal::SIGTERM);
    }

    /// SIGTERM, then its output; a server that exited early, or not cleanly, is a problem.
    pub async fn stop(mut self) -> (ProcessLog, Vec<String>, Vec<Problem>) {
        let mut problems = Vec::new();
        // A server that closed its stdout is exiting, if it has not yet: let it, rather than
        // send a SIGTERM that races its exit.
        if self.progress.borrow().closed_by_server {
            let _ = tokio::time::timeout(SERVER_STOP_TIMEOUT, self.child.wait()).await;
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            problems.push(Problem::server(format!("server exited early, during the case ({status})")));
        }
        signal_group(&self.child, Signal::SIGTERM);
        let status = wait_or_kill(&mut self.child, SERVER_STOP_TIMEOUT).await;
        match status {
            Some(status) if status.success() => {}
            Some(status) => {
                problems.push(Problem::server(format!("server did not exit 0 after SIGTERM: {status}")))
            }
            None => problems.push(Problem::server(format!(
                "server still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"
            ))),
        }
        let (log, lines) = self.log(status, SERVER_STOP_TIMEOUT).await;
        (log, lines, problems)
    }

    /// Once it has exited (`status`), or been killed after `waited`: its log for the report, and
    /// the lines it printed after the first.
    async fn log(
        mut self,
        status: Option<std::process::ExitStatus>,
        waited: Duration,
    ) -> (ProcessLog, Vec<String>) {
        let _ = (&mut self.reader).await;
        let _ = (&mut self.stderr.1).await;
        let mut lines = Vec::new();
        self.progress.send_if_modified(|p| {
            lines = std::mem::take(&mut p.lines);
            false
        });
        let exit = status.map_or_else(|| Exit::timed_out(waited), Exit::of);
        (self.process_log(exit, &lines, &take(&self.stderr.0)), lines)
    }

    fn process_log(&self, exit: Exit, lines: &[String], stderr: &[u8]) -> ProcessLog {
        ProcessLog {
            command: self.spec.shell(),
            exit,
            stdout: cut(format!("{}\n{}", self.first_line, lines.join("\n")).as_bytes()),
            stderr: cut(stderr),
        }
    }
}

/// Follows a server's stdout after its first line: reads it to the end, or closes it at once.
fn follow(
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    stdout: ServerStdout,
) -> (JoinHandle<()>, watch::Sender<Progress>) {
    let progress = watch::Sender::new(Progress::default());
    let reader = match stdout {
        ServerStdout::Read => tokio::spawn(collect_lines(lines, progress.clone())),
        ServerStdout::CloseAfterListening => {
            // Really closed: no child spawned meanwhile for another cell may keep it open.
            crate::process::Registry::global().drop_between_spawns(lines);
            progress.send_modify(|p| p.ended = true);
            tokio::spawn(async {})
        }
    };
    (reader, progress)
}

/// Tells `progress` of a `closed` or `error` event: of `peer`, and of a connection if it has a
/// `conn` (an `error` without one is the server's own, or a UDP datagram's).
fn finish(p: &mut Progress, peer: Option<String>, connection: bool) {
    if let Some(peer) = peer {
        *p.finished.entry(peer).or_default() += 1;
    }
    p.finished_conns += usize::from(connection);
}

/// Reads a server's lines to the end into `progress`, with every connection it starts and
/// finishes.
async fn collect_lines(
    mut lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    progress: watch::Sender<Progress>,
) {
    while let Ok(Some(line)) = lines.next_line().await {
        let event = serde_json::from_str(&line);
        progress.send_modify(|p| {
            match event {
                Ok(ServerEvent::Closed { peer, .. }) => finish(p, Some(peer), true),
                Ok(ServerEvent::Error { conn, peer, .. }) => finish(p, peer, conn.is_some()),
                Ok(ServerEvent::Connected { peer, .. }) => {
                    *p.connected.entry(peer).or_default() += 1;
                    p.connected_conns += 1;
                }
                _ => {}
            }
            p.lines.push(line);
        });
    }
    progress.send_modify(|p| {
        p.ended = true;
        p.closed_by_server = true;
    });
}

/// Reads a pipe to its end on its own task, into a buffer that can be taken at any time.
fn collect_bytes(
    pipe: Option<impl AsyncRead + Unpin + Send + 'static>,
) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let filled = buffer.clone();
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = vec![0; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
            filled.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&chunk[..n]);
        }
    });
    (buffer, task)
}

/// What `buffer` holds, leaving it empty.
fn take(buffer: &Mutex<Vec<u8>>) -> Vec<u8> {
    std::mem::take(&mut *buffer.lock().unwrap_or_else(PoisonError::into_inner))
}

/// A server's JSON lines as events, and a problem for each line that is not one.
pub fn parse_events(lines: &[String]) -> (Vec<ServerEvent>, Vec<Problem>) {
    let mut events = Vec::new();
    let mut problems = Vec::new();
    for line in lines {
        match serde_json::from_str::<ServerEvent>(line) {
            Ok(event) => events.push(event),
            Err(err) => problems.push(Problem::server(format!(
                "server printed a line that is not a JSON event ({err}): {line:?}"
            ))),
        }
    }
    (events, problems)
}
