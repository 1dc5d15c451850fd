//! A server's life: started on a stale Unix socket path; stopped by SIGTERM while connections
//! stream.

use super::peer::{self, exchange, frame, reply, send};
use super::{Trial, address, stop};
use crate::results::Problem;
use crate::runner::server::Server;
use crate::runner::timeouts::{PEER_REPLY_TIMEOUT, SERVER_STOP_TIMEOUT};
use interop_wire::json::ServerEvent;
use interop_wire::reply::Reply;
use interop_wire::{Digest, addr_string};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Connections streaming at SIGTERM.
pub const STREAMS: usize = 5;

/// How long they go on streaming after SIGTERM, into the grace period.
pub const AFTER_SIGTERM: Duration = Duration::from_millis(300);

/// The server's shutdown grace period (PROTOCOL.md §5), and the second it has to exit after it.
pub const GRACE_AND_EXIT: Duration = Duration::from_secs(6);

/// What one streaming connection sent and had acknowledged.
struct Stream {
    peer: String,
    acked: Vec<(u64, Digest)>,
    problem: Option<Problem>,
}

/// SIGTERM while connections stream; every acknowledged message must be in the log.
pub async fn sigterm_drain(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let (acked_tx, acked_rx) = watch::channel([0usize; STREAMS]);
    let streams: Vec<_> = (0..STREAMS)
        .map(|c| {
            let (mut stop, acked) = (stop_rx.clone(), acked_tx.clone());
            tokio::spawn(async move {
                let mut found = Stream { peer: String::new(), acked: Vec::new(), problem: None };
                let outcome = async {
                    let mut stream = peer::connect(addr).await?;
                    found.peer = stream.local_addr().map(addr_string).unwrap_or_default();
                    for seq in 1.. {
                        if *stop.borrow_and_update() {
                            break;
                        }
                        let payload = format!("stream {c} message {seq}");
                        send(&mut stream, &frame(payload.as_bytes())).await?;
                        match reply(&mut stream).await? {
                            Some(Reply::Ack { seq: got, digest }) if got == seq => {
                                found.acked.push((seq, digest));
                                acked.send_modify(|n| n[c] += 1);
                            }
                            other => {
                                return Err(Problem::server(format!(
                                    "stream {c}: message {seq} was answered {other:?}, not its ACK"
                                )));
                            }
                        }
                    }
                    peer::finish(&mut stream).await.map(drop)
                };
                found.problem = outcome.await.err();
                found
            })
        })
        .collect();
    drop(acked_tx);
    let mut problems = Vec::new();
    // Streaming for real before the signal: a few acknowledgements on each connection.
    let mut acked_rx = acked_rx;
    let streaming = acked_rx.wait_for(|n| n.iter().all(|n| *n >= 3));
    if tokio::time::timeout(PEER_REPLY_TIMEOUT, streaming).await.is_err() {
        problems.push(Problem::server(format!(
            "{STREAMS} connections did not get 3 messages each acknowledged within {PEER_REPLY_TIMEOUT:?}"
        )));
        // Not streaming, so nothing to drain: stop it, and the streams end with it.
        let _ = stop_tx.send(true);
        return stop(t, server, &[], problems).await.problems;
    }
    server.terminate();
    let signalled = Instant::now();
    tokio::time::sleep(AFTER_SIGTERM).await;
    let _ = stop_tx.send(true);
    let mut sent = Vec::new();
    for stream in streams {
        match stream.await {
            Ok(found) => {
                problems.extend(found.problem.clone());
                sent.push(found);
            }
            Err(err) => problems.push(Problem::harness(format!("harness: a streaming task failed: {err}"))),
        }
    }
    let (log, lines, status) = server.exit_on_its_own(SERVER_STOP_TIMEOUT).await;
    let exited = signalled.elapsed();
    t.attempt.server = Some(log);
    match status {
        Some(status) if status.success() => {}
        Some(status) => {
            problems.push(Problem::server(format!("the server exited with {status} after SIGTERM, not 0")))
        }
        None => problems.push(Problem::server(format!(
            "the server was still running {SERVER_STOP_TIMEOUT:?} after SIGTERM; killed"
        ))),
    }
    if status.is_some() && exited > GRACE_AND_EXIT + AFTER_SIGTERM {
        problems.push(Problem::server(format!(
            "the server exited {} ms after SIGTERM, later than its 5 s grace plus 1 s",
            exited.as_millis()
        )));
    }
    let (events, unparsed) = crate::runner::server::parse_events(&lines);
    problems.extend(unparsed);
    for found in &sent {
        let logged: Vec<(u64, String)> = events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Message { peer, seq, sha256, .. } if *peer == found.peer => {
                    Some((*seq, sha256.clone()))
                }
                _ => None,
            })
            .collect();
        let missing: Vec<u64> = found
            .acked
            .iter()
            .filter(|(seq, digest)| !logged.contains(&(*seq, digest.sha256_hex())))
            .map(|(seq, _)| *seq)
            .collect();
        if !missing.is_empty() {
            problems.push(Problem::delivery(format!(
                "{}: the server acknowledged messages {missing:?} but its log does not have them",
                found.peer
            )));
        }
        let ends = events
            .iter()
            .filter(|e| {
                matches!(e, ServerEvent::Closed { peer, .. } | ServerEvent::Error { peer: Some(peer), .. } if *peer == found.peer)
            })
            .count();
        if ends != 1 {
            problems.push(Problem::server(format!(
                "{}: the connection has {ends} `closed`/`error` events, not one",
                found.peer
            )));
        }
    }
    problems
}

/// A stale socket file at the path: the server replaces it and serves.
pub async fn unix_stale(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let mut problems = Vec::new();
    let outcome = async {
        let connect = tokio::net::UnixStream::connect(t.path);
        let mut stream = match tokio::time::timeout(PEER_REPLY_TIMEOUT, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                return Err(Problem::server(format!("cannot connect to {}: {err}", t.path.display())));
            }
            Err(_) => {
                return Err(Problem::server(format!("connecting took more than {PEER_REPLY_TIMEOUT:?}")));
            }
        };
        exchange(&mut stream, b"over a stale path", 1).await?;
        peer::finish(&mut stream).await.map(drop)
    };
    if let Err(problem) = outcome.await {
        problems.push(problem);
    }
    // Over a Unix socket the server names its peer by process id.
    let peer = interop_wire::pid_string(std::process::id());
    let mut found = stop(t, server, std::slice::from_ref(&peer), problems).await;
    found.delivered(&peer, "the connection over the stale path", &[b"over a stale path"]);
    found.problems
}
