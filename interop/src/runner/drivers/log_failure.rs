//! `log-failure`: the server's stdout is closed after its `listening on` line; the client must get
//! `ERR output` (exit 5), and the server must exit 3 by itself with one `error:` line. When the
//! harness is the client (the conformance cell), it sends the message and reads the `ERR output`.

use super::conformance::peer;
use super::trial::{Trial, expect_client_error};
use crate::results::Problem;
use crate::runner::server::{EXIT_SERVER_OUTPUT, ServerStdout};
use crate::runner::timeouts::SERVER_STOP_TIMEOUT;

/// Log failure: start the server, close its stdout after the `listening on` line, then the
/// client must get `ERR output`, and the server must exit 3 by itself.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    let path = t.path;
    let mut problems_from_harness = Vec::new();
    let server = match t.start_server(0, ServerStdout::CloseAfterListening).await {
        Ok(server) => server,
        Err(problem) => return vec![problem],
    };
    let port = server.port.unwrap_or(0);
    let out = if t.by_harness() {
        let addr = server.addr;
        Err(not_logged(addr).await)
    } else {
        Ok(t.run_client((port, path)).await)
    };
    let (log, _, status) = server.exit_on_its_own(SERVER_STOP_TIMEOUT).await;
    let stderr = log.stderr.clone();
    t.attempt.server = Some(log);
    let out = match out {
        Ok(Ok(out)) => Some(out),
        Ok(Err(problem)) => return vec![problem],
        Err(harness) => {
            problems_from_harness = harness;
            None
        }
    };
    // The server's side first: how a server gets this wrong is what a known failure names.
    let mut problems = Vec::new();
    match status {
        Some(status) if status.code() == Some(EXIT_SERVER_OUTPUT) => {}
        Some(status) => problems.push(Problem::server(format!(
            "the server exited with {status}, not exit code {EXIT_SERVER_OUTPUT} (its log could not be written)"
        ))),
        None => problems.push(Problem::server(format!(
            "the server was still running {SERVER_STOP_TIMEOUT:?} after its client, with its log gone; killed"
        ))),
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 1 || !lines[0].starts_with("error: ") {
        problems.push(Problem::server(format!("the server's stderr is not one `error: ` line: {stderr:?}")));
    }
    match out {
        Some(out) => problems.extend(expect_client_error(&out, 5, "(protocol error)", Some("ERR output"))),
        None => problems.extend(problems_from_harness),
    }
    problems
}

/// The harness as the client: its message must be answered `ERR output`, not acknowledged.
async fn not_logged(addr: Option<std::net::SocketAddr>) -> Vec<Problem> {
    let outcome = async {
        let addr = addr.ok_or_else(|| Problem::harness("log-failure needs a TCP server"))?;
        let mut stream = peer::connect(addr).await?;
        peer::send(&mut stream, &peer::frame(interop_wire::DEFAULT_MESSAGE.as_bytes())).await?;
        let what = "a message the server cannot log";
        peer::expect_err(&mut stream, interop_wire::reply::ERR_OUTPUT, what).await.map(drop)
    };
    outcome.await.err().into_iter().collect()
}
