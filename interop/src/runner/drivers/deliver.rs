//! Delivery, the common case: start the server, run every client process at once (through the
//! relay when recording or when the case has a fault), wait until the server has finished their
//! connections, stop it, and check what it logged against what the clients report. The cases a
//! fault breaks, and those whose client must refuse its arguments, check their own outcome.
//!
//! A `reusable` server is taken from the run's pool of servers instead, when one is idle, and
//! left running for the next cell when this one passed with it (see `runner::pool`).

use super::trial::{Trial, expect_client_error};
use crate::catalogue::CaseKind;
use crate::check::check_delivery;
use crate::plan::Cell;
use crate::process::{Output, run_to_end};
use crate::relay::{self, Recorded, Relay};
use crate::results::{Exit, Problem, ProcessLog};
use crate::runner::logs::process_log;
use crate::runner::pool;
use crate::runner::server::{ServerStdout, parse_events};
use crate::runner::timeouts::{HELD_CONNECTION_GRACE, SERVER_SETTLE_TIMEOUT};
use crate::toxic::Toxic;
use interop_wire::json::{ClientReport, ServerEvent};
use interop_wire::{Mode, Transport, addr_string};
use std::collections::HashMap;

/// Delivers to a server started on any port, through the relay when `t.record` says so.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    let record = t.record;
    to(t, record, None).await
}

/// Starts the server (on `fixed_port` if given), runs every client process at once, stops the
/// server and checks what it logged against what the clients report.
pub async fn to(t: &mut Trial<'_>, record: bool, fixed_port: Option<u16>) -> Vec<Problem> {
    let (cell, path, client_timeout) = (t.cell, t.path, t.client_timeout);
    if cell.case.stale_socket {
        // A socket file nobody listens on, as a crashed earlier run leaves behind.
        drop(std::os::unix::net::UnixListener::bind(path));
    }
    // A server shared with other cells, if the cell may have one (never on a fixed port).
    let key = fixed_port.is_none().then(|| pool::key(t.prepared, cell, path)).flatten();
    let kept = key.as_deref().and_then(|key| t.pool.take(key));
    let mut server = match kept {
        Some(mut server) => {
            server.begin();
            if !server.idle() {
                // It was idle when the cell before gave it back: it exited since, on its own.
                let (log, _, mut problems) = server.stop().await;
                t.attempt.server = Some(log);
                problems.push(Problem::server(
                    "the server, kept running after an earlier cell it served well, was no longer \
                     running when this cell began",
                ));
                return problems;
            }
            server
        }
        None => match t.start_server(fixed_port.unwrap_or(0), ServerStdout::Read).await {
            Ok(server) => server,
            Err(problem) => {
                t.attempt.server = Some(ProcessLog {
                    command: t.prepared.server_command(cell, fixed_port.unwrap_or(0), path).shell(),
                    exit: Exit::DidNotStart,
                    stdout: String::new(),
                    stderr: String::new(),
                });
                return vec![problem];
            }
        },
    };
    // The relay records (--record) and applies the case's fault, if it has one.
    let relay = match (record || cell.case.fault.is_some(), server.addr) {
        (true, Some(addr)) => match Relay::start_with(addr, cell.case.fault).await {
            Ok(relay) => Some(relay),
            Err(err) => {
                server.kill().await;
                return vec![Problem::harness(format!("harness: cannot start the recording relay: {err}"))];
            }
        },
        _ => None,
    };
    let port = relay.as_ref().map_or(server.port.unwrap_or(0), |r| r.addr().port());

    // All client processes start at once (the `concurrent` case has 16).
    let timeout_ms = t.prepared.client_timeout_ms(cell);
    let clients: Vec<_> = cell
        .case
        .kind
        .processes()
        .iter()
        .enumerate()
        .map(|(p, payloads)| {
            let spec = t.prepared.client_command(cell, (port, path), p, payloads, timeout_ms);
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
                t.attempt.clients.push(process_log(&spec, &output));
                outputs.push(output);
            }
            Ok((spec, Err(err))) => {
                problems.push(Problem::harness(format!("cannot start client `{}`: {err}", spec.shell())))
            }
            Err(err) => problems.push(Problem::harness(format!("harness: client task failed: {err}"))),
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
    let settled = server.settle(&peers, SERVER_SETTLE_TIMEOUT).await;
    t.attempt.transcript = recorded.as_deref().map(|r| relay::transcript(r, TRANSCRIPT_DUMP_BYTES));
    // A shared server that served this cell well, and finished with it, goes on to the next
    // cell; any other is stopped, and its exit checked, as a server of the cell's own is.
    if let Some(key) = key.as_deref().filter(|_| settled && problems.is_empty()) {
        let (log, lines) = server.keep();
        if judge(cell, &outputs, &lines, recorded.as_deref()).is_empty() && server.idle() {
            match t.pool.give_back(key, server) {
                None => {
                    t.attempt.server = Some(log);
                    return problems;
                }
                Some(unwanted) => server = unwanted,
            }
        }
    }
    let (log, server_lines, stop_problems) = server.stop().await;
    t.attempt.server = Some(log);
    problems.extend(stop_problems);
    problems.extend(judge(cell, &outputs, &server_lines, recorded.as_deref()));
    problems
}

/// What the server's lines and the clients' outputs say of the cell: its problems.
fn judge(
    cell: &Cell,
    outputs: &[Output],
    server_lines: &[String],
    recorded: Option<&[Recorded]>,
) -> Vec<Problem> {
    // Through the relay the server sees the relay's address; translate it back to the
    // client's, so that messages still match the client that sent them.
    let through_relay: HashMap<String, String> =
        recorded.iter().copied().flatten().map(|r| (addr_string(r.relay), addr_string(r.client))).collect();
    let (events, mut problems) = parse_events(server_lines);
    let events: Vec<ServerEvent> = events.into_iter().map(|e| translate_peer(e, &through_relay)).collect();
    match &cell.case.kind {
        CaseKind::ClientRefuses { needle, .. } => {
            let out = outputs.first();
            problems.extend(
                out.map_or_else(Vec::new, |out| expect_client_error(out, 2, "(usage)", Some(needle))),
            );
            if events.iter().any(|e| matches!(e, ServerEvent::Message { .. })) {
                problems.push(Problem::server(
                    "the server logged a message, but the client should have sent nothing",
                ));
            }
        }
        CaseKind::Broken { code, .. } => {
            let out = outputs.first();
            problems.extend(out.map_or_else(Vec::new, |out| match code {
                Some(code) => expect_client_error(out, *code, "", None),
                None if out.success() => {
                    vec![Problem::client("the client reported success through a broken connection")]
                }
                None => expect_client_error(out, out.code().unwrap_or(-1), "", None),
            }));
            // What was cut must not be logged, not even in part; errors are what it should cause.
            problems.retain(|p| !p.detail.starts_with("server reported an error"));
            if let Some(ServerEvent::Message { len, .. }) =
                events.iter().find(|e| matches!(e, ServerEvent::Message { .. }))
            {
                problems.push(Problem::server(format!(
                    "the server logged a message ({len} bytes) from a connection the fault cut"
                )));
            }
        }
        _ => {
            let received = recorded.map(|r| received_messages(cell.case.mode, r)).unwrap_or_default();
            let processes = cell.case.kind.processes();
            let expect = (cell.case.mode, cell.case.transport);
            problems.extend(check_delivery(expect, &processes, outputs, &events, &received));
        }
    }
    problems
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
