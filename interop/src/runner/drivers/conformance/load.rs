//! Load: many slow connections must not keep the server from serving an honest one.

use super::peer::{connect, exchange, local, send};
use super::{Trial, address, stop};
use crate::results::Problem;
use crate::runner::server::Server;
use crate::runner::timeouts::ACCEPT_STALL_TIMEOUT;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt as _;

/// How many connections dribble.
pub const SLOW_CONNECTIONS: usize = 200;

/// How soon the honest connection must be served while they do. A server that serves one
/// connection at a time never serves it (the slow ones never finish a frame); one that serves
/// them concurrently needs milliseconds.
pub const HONEST_BOUND: Duration = Duration::from_secs(3);

/// 200 connections dribble a length prefix one byte a second; an honest one is served meanwhile.
pub async fn slowloris(t: &mut Trial<'_>, mut server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    // All at once: a server that does not accept them fails in one connect timeout, not 200.
    let connects: Vec<_> = (0..SLOW_CONNECTIONS).map(|_| tokio::spawn(connect(addr))).collect();
    let mut slow = Vec::with_capacity(SLOW_CONNECTIONS);
    let mut failed = Vec::new();
    for connecting in connects {
        match connecting.await {
            Ok(Ok(stream)) => slow.push(stream),
            Ok(Err(problem)) => failed.push(problem),
            Err(err) => failed.push(Problem::harness(format!("harness: a connect task failed: {err}"))),
        }
    }
    if let Some(first) = failed.first() {
        problems.push(Problem::server(format!(
            "the server did not take all {SLOW_CONNECTIONS} slow connections: {} could not be made; \
             the first: {first}",
            failed.len()
        )));
    }
    let slow_peers: Vec<String> = slow.iter().map(local).collect();
    let taken = failed.is_empty() && server.wait_connected(&slow_peers, ACCEPT_STALL_TIMEOUT).await;
    if failed.is_empty() && !taken {
        problems.push(Problem::server(format!(
            "the server did not take all {SLOW_CONNECTIONS} slow connections: it logged \
             `connected` for no more of them in {ACCEPT_STALL_TIMEOUT:?}"
        )));
    }
    // One byte of a length prefix (00 00 00 05) a second from every slow connection, never the
    // fourth, until the honest connection is done and two bytes went out.
    let dribble = tokio::spawn(async move {
        for byte in 0..3 {
            for stream in &mut slow {
                let _ = send(stream, &[if byte == 3 { 5 } else { 0 }]).await;
            }
            if byte < 2 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        slow
    });
    let started = Instant::now();
    let mut honest_peer = String::new();
    let honest = async {
        let mut stream = connect(addr).await?;
        honest_peer = local(&stream);
        exchange(&mut stream, b"served among the slow", 1).await?;
        let _ = stream.shutdown().await;
        Ok::<_, Problem>(stream)
    };
    let honest = tokio::time::timeout(HONEST_BOUND, honest).await;
    let waited = started.elapsed();
    let _honest_stream = match honest {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(problem)) => {
            problems.push(problem);
            None
        }
        Err(_) => {
            problems.push(Problem::server(format!(
                "an honest connection was not served within {HONEST_BOUND:?} while {SLOW_CONNECTIONS} \
                 connections dribbled (still waiting after {} ms)",
                waited.as_millis()
            )));
            None
        }
    };
    // Every slow connection ends inside a length prefix (EOF after 3 of its 4 bytes).
    let slow = dribble.await.unwrap_or_default();
    drop(slow);
    // A server that did not take them all will not finish them, nor the honest one behind them:
    // wait for nothing then.
    let peers =
        if taken { [&slow_peers[..], std::slice::from_ref(&honest_peer)].concat() } else { Vec::new() };
    let mut found = stop(t, server, &peers, problems).await;
    let silent = slow_peers.iter().filter(|p| !found.errored(p)).count();
    let logged = slow_peers.iter().filter(|p| !found.messages(p).is_empty()).count();
    if silent > 0 {
        found.problems.push(Problem::server(format!(
            "{silent} of the {} slow connections ended without an `error` event (each ended inside a length prefix)",
            slow_peers.len()
        )));
    }
    if logged > 0 {
        found
            .problems
            .push(Problem::server(format!("the server logged messages from {logged} slow connections")));
    }
    found.delivered(&honest_peer, "the honest connection", &[b"served among the slow"]);
    found.problems
}
