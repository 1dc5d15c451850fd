//! A run, its cells and their attempts: the model's main types.

use super::partition::Partition;
use super::problem::Problem;
use super::process::ProcessLog;
use interop_wire::Mode;
use serde::{Deserialize, Serialize};

/// The `schema` value of this version of the JSON report. Bumped on any incompatible change.
pub const SCHEMA: &str = "interop-report/2";

/// The previous schema, still read: it differs only in `partition`, then a `"K/N"` string.
pub const SCHEMA_V1: &str = "interop-report/1";

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Wall time of the whole run, including builds.
    pub duration_ms: u64,
    /// Which partition of a split run this is, when it is one.
    pub partition: Option<Partition>,
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
    /// What happened to it.
    pub status: BuildState,
    /// Build time, when it was built.
    pub duration_ms: Option<u64>,
    /// The failure, when it failed.
    pub error: Option<String>,
}

/// What happened to an implementation's build, as reports show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildState {
    /// It has nothing to build.
    NotNeeded,
    /// Its inputs are unchanged since it was last built, so it was not rebuilt.
    Fresh,
    /// It was built.
    Built,
    /// Its build failed (or a tool it needs is missing): its cells fail.
    Failed,
}

impl BuildState {
    /// The name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            BuildState::NotNeeded => "not-needed",
            BuildState::Fresh => "fresh",
            BuildState::Built => "built",
            BuildState::Failed => "failed",
        }
    }
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
    /// Not run: its server or client was left out on purpose (`INTEROP_SKIP`). Never a pass.
    Skipped,
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
            Status::Skipped => "skip",
            Status::NotRun => "NORUN",
        }
    }

    /// Every status a finished run gives its cells, in the order summaries list them.
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Known,
        Status::Flaky,
        Status::UnexpectedPass,
        Status::Unsupported,
        Status::Skipped,
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
            Status::Skipped => "skipped",
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
    /// The case's protocol mode (`raw` or `framed` in JSON).
    pub mode: Mode,
    /// Final status.
    pub status: Status,
    /// Why it failed (or is known, unsupported, an unexpected pass); `None` for a clean pass.
    pub reason: Option<String>,
    /// The first failed attempt's reason as the attempt gave it, before known failures or
    /// flakiness reworded [`CellReport::reason`]: what known-failure entries match. Absent in
    /// reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
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
    /// What went wrong, when it failed: its problems' details, one after the other.
    pub reason: Option<String>,
    /// What went wrong, one problem at a time, each with whose fault it is. Absent in reports
    /// written before it existed, and when the attempt passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// Wall time.
    pub duration_ms: u64,
    /// The server's process, when one ran.
    pub server: Option<ProcessLog>,
    /// Every client process.
    pub clients: Vec<ProcessLog>,
    /// The bytes on the wire, with `--record`.
    pub transcript: Option<Transcript>,
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

impl CellReport {
    /// A cell's report before it ran: passing, no attempts, no reason; `spec` empty and `mode`
    /// raw until the caller sets them.
    pub fn new(server: &str, client: &str, case: &str) -> CellReport {
        CellReport {
            name: format!("{server}/{client}/{case}"),
            server: server.into(),
            client: client.into(),
            case: case.into(),
            spec: String::new(),
            mode: Mode::Raw,
            status: Status::Pass,
            reason: None,
            failure: None,
            known: None,
            duration_ms: 0,
            flake_rate: None,
            attempts: Vec::new(),
            repro: Vec::new(),
        }
    }
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
}

/// Whole milliseconds of `d`, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
