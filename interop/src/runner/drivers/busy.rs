//! `busy`: the server runs with a connection limit, the harness holds that many connections, and
//! the client must be turned away with `ERR busy` (exit 5). When the harness is the client (the
//! conformance cell), it reads the `ERR busy` itself.

use super::conformance::peer;
use super::trial::{Trial, expect_client_error};
use crate::catalogue::BUSY_LIMIT;
use crate::results::Problem;
use crate::runner::server::{ServerStdout, parse_events};
use crate::runner::timeouts::{ACCEPT_STALL_TIMEOUT, SERVER_SETTLE_TIMEOUT};
use interop_wire::addr_string;
use interop_wire::json::ServerEvent;

/// Busy: start the server with its connection limit, hold that many connections (accepted:
/// the server said `connected` for each), then the client must be turned away.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    let (cell, path) = (t.cell, t.path);
    let mut server = match t.start_server(0, ServerStdout::Read).await {
        Ok(server) => server,
        Err(problem) => return vec![problem],
    };
    let Some(port) = server.port else { return vec![Problem::harness("busy needs a TCP server")] };
    let mut held = Vec::new();
    for _ in 0..BUSY_LIMIT {
        match tokio::net::TcpStream::connect((cell.case.host, port)).await {
            Ok(stream) => held.push(stream),
            Err(err) => {
                server.kill().await;
                return vec![Problem::harness(format!("harness: cannot connect to the server: {err}"))];
            }
        }
    }
    let peers: Vec<String> = held.iter().filter_map(|s| s.local_addr().ok()).map(addr_string).collect();
    let mut problems = Vec::new();
    if !server.wait_connected(&peers, ACCEPT_STALL_TIMEOUT).await {
        problems.push(Problem::server(format!(
            "the server did not log `connected` for the {BUSY_LIMIT} held connections (none more in {ACCEPT_STALL_TIMEOUT:?})"
        )));
    }
    let out = if t.by_harness() {
        Err(turned_away((cell.case.host, port)).await)
    } else {
        Ok(t.run_client((port, path)).await)
    };
    // Give the slots back; the server must finish both connections and stop cleanly.
    drop(held);
    server.settle(&peers, SERVER_SETTLE_TIMEOUT).await;
    let (log, lines, stop_problems) = server.stop().await;
    t.attempt.server = Some(log);
    match out {
        Ok(Ok(out)) => problems.extend(expect_client_error(&out, 5, "(protocol error)", Some("ERR busy"))),
        Ok(Err(problem)) => return vec![problem],
        Err(harness) => problems.extend(harness),
    }
    problems.extend(stop_problems);
    let (events, unparsed) = parse_events(&lines);
    problems.extend(unparsed);
    if let Some(ServerEvent::Message { len, .. }) =
        events.iter().find(|e| matches!(e, ServerEvent::Message { .. }))
    {
        problems
            .push(Problem::server(format!("the server logged a message ({len} bytes) although it was full")));
    }
    if !events
        .iter()
        .any(|e| matches!(e, ServerEvent::Error { conn: None, error, .. } if error.starts_with("busy")))
    {
        problems.push(Problem::server(
            "the server logged no `busy` error event for the connection it turned away",
        ));
    }
    problems
}

/// The harness as the connection over the limit: it must read `ERR busy` at once.
async fn turned_away((host, port): (&str, u16)) -> Vec<Problem> {
    let outcome = async {
        let addr = tokio::net::lookup_host((host, port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| Problem::harness(format!("harness: cannot resolve {host}")))?;
        let mut stream = peer::connect(addr).await?;
        peer::expect_err(&mut stream, interop_wire::reply::ERR_BUSY, "a connection over the limit").await?;
        peer::finish(&mut stream).await.map(drop)
    };
    outcome.await.err().into_iter().collect()
}
