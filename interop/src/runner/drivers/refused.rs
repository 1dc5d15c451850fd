//! `refused`: nothing listens; the client must say so and exit 3, before its timeout.

use super::trial::{Trial, expect_client_error};
use crate::results::Problem;
use crate::runner::timeouts::CLIENT_TIMEOUT_MS;
use std::path::Path;
use std::time::Duration;

/// Runs the client against a port that is bound but never listening.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    // A socket bound but never listening: connecting to it is refused, and since we hold the
    // port nobody else can take it while the client runs (no port race).
    let socket =
        match tokio::net::TcpSocket::new_v4().and_then(|s| s.bind(([127, 0, 0, 1], 0).into()).map(|()| s)) {
            Ok(socket) => socket,
            Err(err) => return vec![Problem::harness(format!("harness: cannot bind a socket: {err}"))],
        };
    let port = match socket.local_addr() {
        Ok(addr) => addr.port(),
        Err(err) => return vec![Problem::harness(format!("harness: {err}"))],
    };
    let out = match t.run_client((port, Path::new(""))).await {
        Ok(out) => out,
        Err(problem) => return vec![problem],
    };
    drop(socket);
    let mut problems = expect_client_error(&out, 3, "(refused)", None);
    if out.duration >= Duration::from_millis(CLIENT_TIMEOUT_MS) {
        problems.push(Problem::client(format!("took {:?}, not before its --timeout-ms", out.duration)));
    }
    problems
}
