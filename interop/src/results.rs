//! What a run found, as data: the model every reporter reads and the `--json` report's schema
//! (documented in docs/REPORTS.md). Reporters never look at anything else, so a report written as
//! JSON can be rendered again later (e.g. merged from CI partitions).

use serde::{Deserialize, Serialize};

/// The `schema` value of this version of the JSON report. Bumped on any incompatible change.
pub const SCHEMA: &str = "interop-report/1";

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Wall time of the whole run, including builds.
    pub duration_ms: u64,
    /// `K/N` when this run is one partition of a split run.
    pub partition: Option<String>,
    /// The run was interrupted (SIGINT, SIGTERM, SIGHUP): cells it did not finish are `not-run`,
    /// and the run fails. Absent in reports written before it existed, which were never
    /// interrupted.
    #[serde(default)]
    pub interrupted: bool,
    /// Every tool the run's implementations need, with the version found.
    pub toolchains: Vec<Toolchain>,
    /// What happened to each implementation's build.
    pub builds: Vec<BuildRecord>,
    /// Every cell, in plan order.
    pub cells: Vec<CellReport>,
}

/// A tool and its version (or why it is missing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// Name in the manifest's `[tools]`.
    pub name: String,
    /// First line of its version output, when found.
    pub version: Option<String>,
    /// Why it is unusable, when it is.
    pub missing: Option<String>,
}

/// One implementation's build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Implementation name.
    pub name: String,
    /// `not-needed`, `fresh` (inputs unchanged, not rebuilt), `built` or `failed`.
    pub status: String,
    /// Build time, when it was built.
    pub duration_ms: Option<u64>,
    /// The failure, when it failed.
    pub error: Option<String>,
}

/// A cell's final status, after retries, repeats and known failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every attempt passed.
    Pass,
    /// It failed (or failed differently from its known-failure entry): fails the run.
    Fail,
    /// It failed the way its known-failure entry says: does not fail the run.
    Known,
    /// It both failed and passed (on a retry, or across repeats): does not fail the run.
    Flaky,
    /// It passed although a known-failure entry says it fails: fails the run.
    UnexpectedPass,
    /// The server or client does not support the case (declared in the manifest).
    Unsupported,
    /// The run was interrupted before the cell ran, or while it ran: fails the run. Only an
    /// interrupted run has such cells, so it is not in [`Status::ALL`] (see
    /// [`RunReport::statuses`]).
    NotRun,
}

impl Status {
    /// Whether this status makes the run fail.
    pub fn fails_run(self) -> bool {
        matches!(self, Status::Fail | Status::UnexpectedPass | Status::NotRun)
    }

    /// Short mark used in matrices.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "ok",
            Status::Fail => "FAIL",
            Status::Known => "known",
            Status::Flaky => "flaky",
            Status::UnexpectedPass => "XPASS",
            Status::Unsupported => "n/a",
            Status::NotRun => "NORUN",
        }
    }

    /// Every status a finished run gives its cells, in the order summaries list them.
    pub const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::Known,
        Status::Flaky,
        Status::UnexpectedPass,
        Status::Unsupported,
    ];

    /// The name used in JSON and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Known => "known",
            Status::Flaky => "flaky",
            Status::UnexpectedPass => "unexpected-pass",
            Status::Unsupported => "unsupported",
            Status::NotRun => "not-run",
        }
    }
}

/// Everything about one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellReport {
    /// `server/client/case`.
    pub name: String,
    /// Server name.
    pub server: String,
    /// Client name.
    pub client: String,
    /// Case name.
    pub case: String,
    /// The case's written spec.
    pub spec: String,
    /// `raw` or `framed`.
    pub mode: String,
    /// Final status.
    pub status: Status,
    /// Why it failed (or is known, unsupported, an unexpected pass); `None` for a clean pass.
    pub reason: Option<String>,
    /// The known-failure entry that matched this cell, if any.
    pub known: Option<KnownRef>,
    /// Wall time of all attempts.
    pub duration_ms: u64,
    /// Failed attempts / attempts, when the cell ran more than once.
    pub flake_rate: Option<f64>,
    /// Each attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Shell lines that reproduce the cell by hand.
    pub repro: Vec<String>,
}

/// A known-failure entry, as matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRef {
    /// The cell pattern.
    pub cell: String,
    /// The expected failure (a prefix of the reason).
    pub failure: String,
    /// Why it fails: a link or a sentence.
    pub why: String,
}

/// One run of a cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Whether this attempt passed.
    pub passed: bool,
    /// What went wrong, when it failed.
    pub reason: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
    /// The server's process, when one ran.
    pub server: Option<ProcessLog>,
    /// Every client process.
    pub clients: Vec<ProcessLog>,
    /// The bytes on the wire, with `--record`.
    pub transcript: Option<Transcript>,
}

/// A process as run: its command, how it ended, what it printed (each stream cut at 64 KiB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessLog {
    /// The shell line that runs it.
    pub command: String,
    /// `exit code 0`, `killed by signal 9`, `timed out after 60.0 s and was killed`.
    pub exit: String,
    /// Its stdout (lossy UTF-8).
    pub stdout: String,
    /// Its stderr (lossy UTF-8).
    pub stderr: String,
}

/// The bytes that crossed the recording relay in one cell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// One entry per connection, in the order they were accepted.
    pub connections: Vec<ConnectionTranscript>,
}

/// One relayed connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTranscript {
    /// The client's address (its `local` in its JSON report).
    pub client: String,
    /// The relay's address on the server side (the server's `peer` for this connection).
    pub relay: String,
    /// Bytes from client to server.
    pub client_to_server: Direction,
    /// Bytes from server to client.
    pub server_to_client: Direction,
    /// How the connection ended, e.g. `client closed`, `server reset: …`.
    pub end: String,
}

/// One direction of a relayed connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Direction {
    /// Total bytes.
    pub len: u64,
    /// SHA-256 of all of them.
    pub sha256: String,
    /// Hex dump with a UTF-8 view of the first bytes (see `dump_limit`).
    pub dump: String,
    /// Bytes shown in `dump`; `len > dump_limit` means it was cut.
    pub dump_limit: u64,
}

impl Attempt {
    /// Its processes with a label: the server (if one ran), then each client.
    pub fn processes(&self) -> impl Iterator<Item = (&'static str, &ProcessLog)> {
        self.server.iter().map(|l| ("server", l)).chain(self.clients.iter().map(|l| ("client", l)))
    }
}

impl ConnectionTranscript {
    /// Both directions, labelled.
    pub fn directions(&self) -> [(&'static str, &Direction); 2] {
        [("client -> server", &self.client_to_server), ("server -> client", &self.server_to_client)]
    }
}

impl RunReport {
    /// How many cells have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.cells.iter().filter(|c| c.status == status).count()
    }

    /// Whether the run as a whole failed. An interrupted run always has.
    pub fn failed(&self) -> bool {
        self.interrupted || self.cells.iter().any(|c| c.status.fails_run()) || self.cells.is_empty()
    }

    /// The statuses reports list: [`Status::ALL`], then [`Status::NotRun`] if any cell has it (so
    /// a run that was not interrupted reads as it always did).
    pub fn statuses(&self) -> Vec<Status> {
        let not_run = self.cells.iter().any(|c| c.status == Status::NotRun);
        Status::ALL.into_iter().chain(not_run.then_some(Status::NotRun)).collect()
    }

    /// Adds another report's cells (e.g. another CI partition's) to this one.
    pub fn merge(&mut self, other: RunReport) {
        self.started_unix_ms = self.started_unix_ms.min(other.started_unix_ms);
        self.duration_ms = self.duration_ms.max(other.duration_ms);
        self.partition = None;
        self.interrupted |= other.interrupted;
        for tool in other.toolchains {
            if !self.toolchains.iter().any(|t| t.name == tool.name) {
                self.toolchains.push(tool);
            }
        }
        for build in other.builds {
            if !self.builds.iter().any(|b| b.name == build.name) {
                self.builds.push(build);
            }
        }
        self.cells.extend(other.cells);
    }

    /// `12 passed, 1 failed, 2 known, 0 flaky, 0 unexpected-pass, 3 unsupported (18 cells)`; an
    /// interrupted run adds its `not-run` count and ends with `, INTERRUPTED`.
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self
            .statuses()
            .iter()
            .map(|s| match s {
                Status::Pass => format!("{} passed", self.count(*s)),
                Status::Fail => format!("{} failed", self.count(*s)),
                other => format!("{} {}", self.count(*other), other.name()),
            })
            .collect();
        let interrupted = if self.interrupted { ", INTERRUPTED" } else { "" };
        format!("{} ({} cells){interrupted}", parts.join(", "), self.cells.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(status: Status) -> CellReport {
        CellReport {
            name: "s/c/hello".into(),
            server: "s".into(),
            client: "c".into(),
            case: "hello".into(),
            spec: String::new(),
            mode: "raw".into(),
            status,
            reason: None,
            known: None,
            duration_ms: 0,
            flake_rate: None,
            attempts: vec![],
            repro: vec![],
        }
    }

    #[test]
    fn an_interrupted_run_never_looks_green() {
        let mut report = RunReport { cells: vec![cell(Status::Pass)], ..RunReport::default() };
        assert!(!report.failed());
        assert_eq!(report.statuses(), Status::ALL, "no not-run column when nothing was cut");
        report.interrupted = true;
        assert!(report.failed(), "even when every cell that ran passed");
        report.cells.push(cell(Status::NotRun));
        assert!(Status::NotRun.fails_run());
        assert_eq!(report.statuses().last(), Some(&Status::NotRun));
        assert!(
            report.summary_line().ends_with(", 1 not-run (2 cells), INTERRUPTED"),
            "{}",
            report.summary_line()
        );
        let mut merged = RunReport::default();
        merged.merge(report);
        assert!(merged.interrupted, "merging keeps the mark");
    }

    #[test]
    fn reports_from_before_interruptions_existed_still_parse() {
        let json = r#"{"schema":"interop-report/1","started_unix_ms":0,"duration_ms":0,"partition":null,
                       "toolchains":[],"builds":[],"cells":[]}"#;
        let report: RunReport = serde_json::from_str(json).unwrap();
        assert!(!report.interrupted);
        let json = serde_json::to_string(&RunReport { interrupted: true, ..RunReport::default() }).unwrap();
        assert!(json.contains(r#""interrupted":true"#), "{json}");
    }
}
