//! A server process as a cell sees it: started, its `listening on` line read, its events followed
//! as it prints them (so the runner knows when it has finished each connection), then stopped with
//! SIGTERM (or killed, or left to exit by itself) and its log kept.

use super::logs::cut;
use super::timeouts::{SERVER_START_TIMEOUT, SERVER_STOP_TIMEOUT};
use crate::process::{CommandSpec, GroupChild, drain, signal_group, wait_or_kill};
use crate::results::{Exit, Problem, ProcessLog};
use interop_wire::json::{LISTENING_PREFIX, ServerEvent};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

/// A running server process, its address once it said where it listens.
pub struct Server {
    child: GroupChild,
    spec: CommandSpec,
    /// Its TCP or UDP address; `None` for Unix sockets.
    pub addr: Option<SocketAddr>,
    /// Its TCP or UDP port; `None` for Unix sockets.
    pub port: Option<u16>,
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
pub enum ServerStdout {
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
    /// Connections finished, counted by their `closed` or `error` event with a `conn`, whatever
    /// peer they name (a server may not know one, e.g. a connection reset before it asked).
    finished_conns: usize,
    /// Its stdout ended: it exited, and nothing more will come.
    ended: bool,
}

impl Server {
    /// Starts the server `spec` runs and reads its `listening on` line.
    pub async fn start(spec: CommandSpec, after_listening: ServerStdout) -> Result<Server, Problem> {
        let mut child = spec
            .spawn()
            .map_err(|err| Problem::harness(format!("cannot start server `{}`: {err}", spec.shell())))?;
        let stderr = drain(child.take_stderr());
        let stdout =
            child.take_stdout().ok_or_else(|| Problem::harness("harness: server stdout not captured"))?;
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
        Err(Problem::server(format!("{problem}; server stderr: {}", tail.trim())))
    }

    /// SIGKILL, no grace: a crash.
    pub async fn kill(mut self) {
        signal_group(&self.child, Signal::SIGKILL);
        let _ = self.child.wait().await;
    }

    /// Waits (at most `limit`) until the server has finished a connection from each of `peers`
    /// (one per occurrence), or as many connections as there are `peers` whatever peers they
    /// name, or has exited.
    pub async fn settle(&mut self, peers: &[String], limit: Duration) {
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
        let _ = tokio::time::timeout(limit, self.progress.wait_for(done)).await;
    }

    /// Waits until the server has accepted a connection from each of `peers`, as long as it
    /// keeps accepting: it gives up when `stall` passes with no new one. Says whether it did.
    pub async fn wait_connected(&mut self, peers: &[String], stall: Duration) -> bool {
        let accepted = |p: &Progress| peers.iter().filter(|peer| p.connected.contains_key(*peer)).count();
        loop {
            let (so_far, ended) = {
                let progress = self.progress.borrow();
                (accepted(&progress), progress.ended)
            };
            if ended {
                return false;
            }
            if so_far == peers.len() {
                return true;
            }
            let more = |p: &Progress| p.ended || accepted(p) > so_far;
            if tokio::time::timeout(stall, self.progress.wait_for(more)).await.is_err() {
                return false;
            }
        }
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
        self,
        status: Option<std::process::ExitStatus>,
        waited: Duration,
    ) -> (ProcessLog, Vec<String>) {
        let lines = self.rest.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        let log = ProcessLog {
            command: self.spec.shell(),
            exit: status.map_or_else(|| Exit::timed_out(waited), Exit::of),
            stdout: cut(format!("{}\n{}", self.first_line, lines.join("\n")).as_bytes()),
            stderr: cut(&stderr),
        };
        (log, lines)
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
            // Really closed: no child spawned meanwhile for another cell may keep it open.
            crate::process::Registry::global().drop_between_spawns(lines);
            progress.send_modify(|p| p.ended = true);
            tokio::spawn(async { Vec::new() })
        }
    };
    (rest, rx)
}

/// Tells `progress` of a `closed` or `error` event: of `peer`, and of a connection if it has a
/// `conn` (an `error` without one is the server's own, or a UDP datagram's).
fn finish(progress: &watch::Sender<Progress>, peer: Option<String>, connection: bool) {
    progress.send_modify(|p| {
        if let Some(peer) = peer {
            *p.finished.entry(peer).or_default() += 1;
        }
        p.finished_conns += usize::from(connection);
    });
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
            Ok(ServerEvent::Closed { peer, .. }) => finish(&progress, Some(peer), true),
            Ok(ServerEvent::Error { conn, peer, .. }) => finish(&progress, peer, conn.is_some()),
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
