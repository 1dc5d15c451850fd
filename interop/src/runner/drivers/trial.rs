//! One attempt in progress: what every driver needs (the prepared run, the cell, its socket path,
//! the options), and the [`Attempt`] record it fills in as processes start and end.

use crate::plan::Cell;
use crate::process::{Output, run_to_end};
use crate::results::{Attempt, Problem};
use crate::runner::logs::process_log;
use crate::runner::pool::ServerPool;
use crate::runner::prepare::Prepared;
use crate::runner::server::{Server, ServerStdout};
use std::path::Path;
use std::time::Duration;

/// One attempt of a cell, as its driver runs it.
pub struct Trial<'a> {
    /// The run's tools, builds and payload files.
    pub prepared: &'a Prepared,
    /// The cell.
    pub cell: &'a Cell,
    /// Servers shared between cells.
    pub pool: &'a ServerPool,
    /// This attempt's Unix socket path (used by the Unix transport only).
    pub path: &'a Path,
    /// Whether clients talk to the server through the recording relay (TCP only).
    pub record: bool,
    /// How long a client process may run before its process group is killed.
    pub client_timeout: Duration,
    /// What the attempt did so far: its processes' logs, its transcript.
    pub attempt: Attempt,
}

impl Trial<'_> {
    /// Whether the harness itself is the client (a `<server>/conformance/<case>` cell).
    pub fn by_harness(&self) -> bool {
        self.cell.client.is_conformance_peer()
    }

    /// Starts the cell's server on `port` (0: any) or the attempt's path.
    pub async fn start_server(&self, port: u16, stdout: ServerStdout) -> Result<Server, Problem> {
        Server::start(self.prepared.server_command(self.cell, port, self.path), stdout).await
    }

    /// Runs the cell's single client process against `at`, recording it in the attempt.
    pub async fn run_client(&mut self, at: (u16, &Path)) -> Result<Output, Problem> {
        let cell = self.cell;
        let payloads = cell.case.kind.processes().into_iter().next().unwrap_or_default();
        let spec =
            self.prepared.client_command(cell, at, 0, &payloads, self.prepared.client_timeout_ms(cell));
        let out = run_to_end(&spec, self.client_timeout)
            .await
            .map_err(|err| Problem::harness(format!("cannot start client `{}`: {err}", spec.shell())))?;
        self.attempt.clients.push(process_log(&spec, &out));
        Ok(out)
    }
}

/// The problems with a client that should have failed with `code` and one `error:` line.
pub fn expect_client_error(out: &Output, code: i32, meaning: &str, needle: Option<&str>) -> Vec<Problem> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.code() != Some(code) {
        let last = stderr.lines().last().unwrap_or("");
        problems.push(Problem::client(format!(
            "expected exit code {code} {meaning}, got {}: {last}",
            out.status_text()
        )));
    }
    if !out.stdout.is_empty() {
        problems
            .push(Problem::client(format!("printed on stdout: {:?}", String::from_utf8_lossy(&out.stdout))));
    }
    match stderr.lines().find(|l| l.starts_with("error: ")) {
        None => problems.push(Problem::client(format!("no `error: ` line on stderr: {stderr:?}"))),
        Some(line) => {
            if let Some(needle) = needle.filter(|n| !line.contains(*n)) {
                problems.push(Problem::client(format!("the error line does not mention {needle:?}: {line}")));
            }
        }
    }
    problems
}
