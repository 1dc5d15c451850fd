//! `silent-server`: the harness accepts and never answers; the client must time out (exit 4)
//! within its `--timeout-ms` and a margin, counted from when it connected.

use super::trial::{Trial, expect_client_error};
use crate::catalogue::SILENT_MARGIN_MS;
use crate::results::Problem;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Read timeout: the harness accepts connections itself and never answers.
pub async fn run(t: &mut Trial<'_>, timeout_ms: u64) -> Vec<Problem> {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(listener) => listener,
        Err(err) => return vec![Problem::harness(format!("harness: cannot listen: {err}"))],
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
    let out = t.run_client((port, Path::new(""))).await;
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
        problems.push(Problem::client(format!(
            "waited {} ms after connecting before giving up, more than its --timeout-ms \
             {timeout_ms} plus {SILENT_MARGIN_MS} ms",
            waited.as_millis()
        )));
    }
    problems
}
