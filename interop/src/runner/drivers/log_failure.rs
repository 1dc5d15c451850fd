//! `log-failure`: the server's stdout is closed after its `listening on` line; the client must get
//! `ERR output` (exit 5), and the server must exit 3 by itself with one `error:` line.

use super::trial::{Trial, expect_client_error};
use crate::results::Problem;
use crate::runner::server::{EXIT_SERVER_OUTPUT, ServerStdout};
use crate::runner::timeouts::SERVER_STOP_TIMEOUT;

/// Log failure: start the server, close its stdout after the `listening on` line, then the
/// client must get `ERR output`, and the server must exit 3 by itself.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    let path = t.path;
    let server = match t.start_server(0, ServerStdout::CloseAfterListening).await {
        Ok(server) => server,
        Err(problem) => return vec![problem],
    };
    let port = server.port.unwrap_or(0);
    let out = t.run_client((port, path)).await;
    let (log, status) = server.exit_on_its_own(SERVER_STOP_TIMEOUT).await;
    let stderr = log.stderr.clone();
    t.attempt.server = Some(log);
    let out = match out {
        Ok(out) => out,
        Err(problem) => return vec![problem],
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
    problems.extend(expect_client_error(&out, 5, "(protocol error)", Some("ERR output")));
    problems
}
