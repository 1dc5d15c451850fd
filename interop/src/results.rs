//! What a run found, as data: the model every reporter reads and the `--json` report's schema
//! (documented in docs/REPORTS.md). Reporters never look at anything else, so a report written as
//! JSON can be rendered again later (e.g. merged from CI partitions).

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

/// Partition `index` of `count` (1-based) of a run split across machines (`--partition K/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "PartitionRepr")]
pub struct Partition {
    /// Which one, from 1 to `count`.
    pub index: usize,
    /// How many partitions the run was split into.
    pub count: usize,
}

/// What a report's `partition` may be: an object, or the `"K/N"` string of schema 1.
#[derive(Deserialize)]
#[serde(untagged)]
enum PartitionRepr {
    Object { index: usize, count: usize },
    Text(String),
}

/// A partition that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// K is out of range.
    #[error("partition {index}/{count} must have 1 <= K <= N")]
    OutOfRange {
        /// K.
        index: usize,
        /// N.
        count: usize,
    },
    /// Not `K/N` at all (or out of range), as written.
    #[error("partition {0:?} must be K/N with 1 <= K <= N, e.g. 1/3")]
    Malformed(String),
}

impl TryFrom<PartitionRepr> for Partition {
    type Error = PartitionError;

    fn try_from(repr: PartitionRepr) -> Result<Self, PartitionError> {
        match repr {
            PartitionRepr::Object { index, count } => Partition::new(index, count),
            PartitionRepr::Text(text) => text.parse(),
        }
    }
}

impl Partition {
    /// Partition `index` of `count`, with 1 ≤ index ≤ count.
    pub fn new(index: usize, count: usize) -> Result<Partition, PartitionError> {
        if index == 0 || index > count {
            return Err(PartitionError::OutOfRange { index, count });
        }
        Ok(Partition { index, count })
    }
}

impl std::str::FromStr for Partition {
    type Err = PartitionError;

    /// Parses `K/N` with 1 ≤ K ≤ N.
    fn from_str(text: &str) -> Result<Self, PartitionError> {
        let bad = || PartitionError::Malformed(text.to_owned());
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        Partition::new(k, n).map_err(|_| bad())
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
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

/// One thing wrong with an attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Whose part went wrong.
    pub kind: ProblemKind,
    /// What went wrong, for a person (may span lines, e.g. a byte diff).
    pub detail: String,
}

/// Whose part of an attempt went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The cell cannot run here: a tool is missing, a build failed, a payload file cannot be
    /// written. No retry fixes it.
    Setup,
    /// The harness could not do its own part (bind a socket, start the relay).
    Harness,
    /// The server: it did not start, printed what is not an event, reported an error, logged what
    /// it should not have, or did not stop as it should.
    Server,
    /// A client: it exited with the wrong code, printed the wrong thing, or took too long.
    Client,
    /// The bytes: what a client sent and what the server logged differ.
    Delivery,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Problem {
        Problem { kind, detail: detail.into() }
    }

    /// A [`ProblemKind::Setup`] problem.
    pub fn setup(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemKind::Setup, detail)
    }

    /// A [`ProblemKind::Harness`] problem.
    pub fn harness(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemKind::Harness, detail)
    }

    /// A [`ProblemKind::Server`] problem.
    pub fn server(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemKind::Server, detail)
    }

    /// A [`ProblemKind::Client`] problem.
    pub fn client(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemKind::Client, detail)
    }

    /// A [`ProblemKind::Delivery`] problem.
    pub fn delivery(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemKind::Delivery, detail)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// A process as run: its command, how it ended, what it printed (each stream cut at 64 KiB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessLog {
    /// The shell line that runs it.
    pub command: String,
    /// How it ended (a string in JSON: `exit code 0`, `killed by signal 9`, …).
    pub exit: Exit,
    /// Its stdout (lossy UTF-8).
    pub stdout: String,
    /// Its stderr (lossy UTF-8).
    pub stderr: String,
}

/// How a process ended. JSON holds its [`Display`](std::fmt::Display) form, which
/// [`FromStr`](std::str::FromStr) reads back; a form this version does not know is kept as
/// [`Exit::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Exit {
    /// `exit code N`: it exited by itself with code N.
    Code(i32),
    /// `killed by signal N`: a signal ended it (not the harness's timeout).
    Signal(i32),
    /// `timed out after S s and was killed`: the harness killed it (and its process group) after
    /// waiting this long, in milliseconds (reports show tenths of a second).
    TimedOut(u64),
    /// `did not start`: it could not be started, or did not get ready.
    DidNotStart,
    /// Any other text (from a report written by another version).
    Other(String),
}

impl Exit {
    /// Whether it exited by itself with code 0.
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }

    /// A process the harness killed after waiting `waited` for it.
    pub fn timed_out(waited: std::time::Duration) -> Exit {
        // Kept to tenths of a second, as shown, so a report read back compares equal.
        Exit::TimedOut(u64::try_from(waited.as_millis().div_ceil(100) * 100).unwrap_or(u64::MAX))
    }

    /// How a process with this status ended.
    pub fn of(status: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt as _;
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            _ => Exit::Other(status.to_string()),
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(signal) => write!(f, "killed by signal {signal}"),
            Exit::TimedOut(ms) => write!(f, "timed out after {:.1} s and was killed", *ms as f64 / 1000.0),
            Exit::DidNotStart => f.write_str("did not start"),
            Exit::Other(text) => f.write_str(text),
        }
    }
}

impl From<String> for Exit {
    fn from(text: String) -> Exit {
        let number = |prefix: &str| text.strip_prefix(prefix).and_then(|n| n.parse().ok());
        let timed_out = text
            .strip_prefix("timed out after ")
            .and_then(|t| t.strip_suffix(" s and was killed"))
            .and_then(|secs| secs.parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 0.0);
        if let Some(code) = number("exit code ") {
            Exit::Code(code)
        } else if let Some(signal) = number("killed by signal ") {
            Exit::Signal(signal)
        } else if let Some(secs) = timed_out {
            Exit::TimedOut((secs * 1000.0).round() as u64)
        } else if text == "did not start" {
            Exit::DidNotStart
        } else {
            Exit::Other(text)
        }
    }
}

impl From<&str> for Exit {
    fn from(text: &str) -> Exit {
        Exit::from(text.to_owned())
    }
}

impl From<Exit> for String {
    fn from(exit: Exit) -> String {
        exit.to_string()
    }
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

    /// Merges reports (e.g. CI partitions'), each with a label naming it in errors (its file).
    ///
    /// Refuses what would make the merged counts lie: a cell in more than one report, a partition
    /// given twice, partitions of splits into different counts, and a split with a partition
    /// missing (any report that is a partition needs all its siblings). Reports that are not
    /// partitions merge with anything whose cells they do not share. A complete split's cells come
    /// back in plan order, as one unsplit run would list them.
    pub fn merge(reports: Vec<(String, RunReport)>) -> Result<RunReport, MergeError> {
        check_partitions(&reports)?;
        let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        let mut duplicates = Vec::new();
        for (label, report) in &reports {
            for cell in &report.cells {
                if let Some(first) = seen.insert(&cell.name, label) {
                    duplicates.push(format!("{} ({first}, {label})", cell.name));
                }
            }
        }
        if !duplicates.is_empty() {
            return Err(MergeError::DuplicateCells(duplicates));
        }
        // Partition K of N holds plan cells K-1, K-1+N, K-1+2N, …: interleave them back.
        let mut keyed: Vec<((usize, usize), CellReport)> = Vec::new();
        let mut merged: Option<RunReport> = None;
        for (_, mut report) in reports {
            let cells = std::mem::take(&mut report.cells);
            keyed.extend(cells.into_iter().enumerate().map(|(j, cell)| {
                let key = match report.partition {
                    Some(p) => (0, j * p.count + p.index - 1),
                    None => (1, 0),
                };
                (key, cell)
            }));
            let Some(all) = merged.as_mut() else {
                merged = Some(report);
                continue;
            };
            all.started_unix_ms = all.started_unix_ms.min(report.started_unix_ms);
            all.duration_ms = all.duration_ms.max(report.duration_ms);
            all.interrupted |= report.interrupted;
            for tool in report.toolchains {
                if !all.toolchains.iter().any(|t| t.name == tool.name) {
                    all.toolchains.push(tool);
                }
            }
            for build in report.builds {
                if !all.builds.iter().any(|b| b.name == build.name) {
                    all.builds.push(build);
                }
            }
        }
        let mut merged = merged.ok_or(MergeError::Empty)?;
        // A stable sort: reports that are not partitions keep their order, after the split's cells.
        keyed.sort_by_key(|(key, _)| *key);
        merged.cells = keyed.into_iter().map(|(_, cell)| cell).collect();
        // Checked complete above, so the merged partitions are the whole plan.
        merged.partition = None;
        Ok(merged)
    }
}

/// Why reports cannot be merged. Each message is one line and names what is wrong.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No reports.
    #[error("no report to merge")]
    Empty,
    /// Partitions of splits into different numbers of partitions.
    #[error("{0} is partition {1} but {2} is partition {3}: partitions of different splits cannot be merged")]
    DifferentCounts(String, Partition, String, Partition),
    /// The same partition twice (e.g. the same file given twice).
    #[error("partition {1} is given twice: {0} and {2}")]
    DuplicatePartition(String, Partition, String),
    /// Partitions of the split that no report is.
    #[error("{}", missing_message(.0))]
    MissingPartitions(Vec<Partition>),
    /// Cells found in more than one report, as `name (first label, second label)`.
    #[error("{} in more than one report: {}", cells_word(.0.len()), bounded(.0))]
    DuplicateCells(Vec<String>),
}

/// Names shown before "… and N more" in a merge error.
const SHOWN: usize = 3;

fn bounded(items: &[impl std::fmt::Display]) -> String {
    let shown: Vec<String> = items.iter().take(SHOWN).map(ToString::to_string).collect();
    match items.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} … and {more} more", shown.join(", ")),
    }
}

fn cells_word(n: usize) -> String {
    if n == 1 { "1 cell is".into() } else { format!("{n} cells are") }
}

fn missing_message(missing: &[Partition]) -> String {
    match missing {
        [one] => format!("partition {one} is missing"),
        many => format!("partitions {} are missing", bounded(many)),
    }
}

/// The partition checks of [`RunReport::merge`].
fn check_partitions(reports: &[(String, RunReport)]) -> Result<(), MergeError> {
    let parts: Vec<(&String, Partition)> =
        reports.iter().filter_map(|(label, r)| r.partition.map(|p| (label, p))).collect();
    let Some(&(first_label, first)) = parts.first() else {
        return if reports.is_empty() { Err(MergeError::Empty) } else { Ok(()) };
    };
    let mut by_index: Vec<Option<&String>> = vec![None; first.count];
    for &(label, p) in &parts {
        if p.count != first.count {
            return Err(MergeError::DifferentCounts(first_label.clone(), first, label.clone(), p));
        }
        if let Some(earlier) = by_index[p.index - 1].replace(label) {
            return Err(MergeError::DuplicatePartition(earlier.clone(), p, label.clone()));
        }
    }
    let missing: Vec<Partition> = (1..=first.count)
        .filter(|i| by_index[i - 1].is_none())
        .map(|index| Partition { index, count: first.count })
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(MergeError::MissingPartitions(missing)) }
}

/// Whole milliseconds of `d`, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(status: Status) -> CellReport {
        CellReport { status, ..cell("s/c/hello") }
    }

    #[test]
    fn exits_read_back_as_written() {
        use std::time::Duration;
        for exit in [
            Exit::Code(0),
            Exit::Code(-1),
            Exit::Signal(9),
            Exit::timed_out(Duration::from_millis(60_000)),
            Exit::timed_out(Duration::from_millis(10_042)),
            Exit::DidNotStart,
            Exit::Other("exit status: 0".into()),
        ] {
            let json = serde_json::to_string(&exit).unwrap();
            assert_eq!(serde_json::from_str::<Exit>(&json).unwrap(), exit, "{json}");
        }
        assert_eq!(
            Exit::timed_out(Duration::from_millis(10_042)).to_string(),
            "timed out after 10.1 s and was killed"
        );
        assert_eq!(Exit::from("exit code 0"), Exit::Code(0));
        assert!(Exit::Code(0).success() && !Exit::Code(3).success() && !Exit::Signal(15).success());
    }

    #[test]
    fn an_interrupted_run_never_looks_green() {
        let mut report = RunReport { cells: vec![with_status(Status::Pass)], ..RunReport::default() };
        assert!(!report.failed());
        assert_eq!(report.statuses(), Status::ALL, "no not-run column when nothing was cut");
        report.interrupted = true;
        assert!(report.failed(), "even when every cell that ran passed");
        report.cells.push(CellReport { status: Status::NotRun, ..cell("s/c/utf8") });
        assert!(Status::NotRun.fails_run());
        assert_eq!(report.statuses().last(), Some(&Status::NotRun));
        let other = RunReport { cells: vec![cell("s/c/other")], ..RunReport::default() };
        let merged = RunReport::merge(vec![("a.json".into(), report), ("b.json".into(), other)]).unwrap();
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

    fn cell(name: &str) -> CellReport {
        let parts: Vec<&str> = name.split('/').collect();
        CellReport { duration_ms: 1, ..CellReport::new(parts[0], parts[1], parts[2]) }
    }

    /// The plan `s/c/0` … `s/c/{n-1}`, as partition `part` of it would report.
    fn report(n: usize, part: Option<(usize, usize)>) -> RunReport {
        let names = (0..n).map(|i| format!("s/c/{i}"));
        let cells = match part {
            Some((k, count)) => names.skip(k - 1).step_by(count).map(|n| cell(&n)).collect(),
            None => names.map(|n| cell(&n)).collect(),
        };
        RunReport {
            schema: SCHEMA.into(),
            partition: part.map(|(index, count)| Partition { index, count }),
            cells,
            ..RunReport::default()
        }
    }

    fn named(reports: &[(&str, RunReport)]) -> Vec<(String, RunReport)> {
        reports.iter().map(|(label, r)| (label.to_string(), r.clone())).collect()
    }

    #[test]
    fn a_complete_split_merges_back_into_plan_order() {
        let parts = [
            ("c.json", report(8, Some((3, 3)))),
            ("a.json", report(8, Some((1, 3)))),
            ("b.json", report(8, Some((2, 3)))),
        ];
        let merged = RunReport::merge(named(&parts)).unwrap();
        assert_eq!(merged.cells, report(8, None).cells);
        assert_eq!(merged.partition, None);
        // Whole runs of different selections merge too, in order.
        let (a, mut b) = (report(2, None), report(4, None));
        b.cells.drain(..2);
        let merged = RunReport::merge(named(&[("a", a), ("b", b)])).unwrap();
        assert_eq!(merged.cells, report(4, None).cells);
    }

    #[test]
    fn the_same_report_twice_names_the_duplicate_cells() {
        let r = report(5, None);
        let err = RunReport::merge(named(&[("r.json", r.clone()), ("r.json", r)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "5 cells are in more than one report: s/c/0 (r.json, r.json), s/c/1 (r.json, r.json), \
             s/c/2 (r.json, r.json) … and 2 more"
        );
        let mut one = report(1, None);
        one.cells[0].name = "s/c/7".into();
        let err = RunReport::merge(named(&[("a", report(8, None)), ("b", one)])).unwrap_err();
        assert_eq!(err.to_string(), "1 cell is in more than one report: s/c/7 (a, b)");
    }

    #[test]
    fn partitions_must_be_one_complete_split() {
        let merge = |parts: &[(&str, RunReport)]| RunReport::merge(named(parts)).unwrap_err().to_string();
        let p = |k, n| report(9, Some((k, n)));
        assert_eq!(merge(&[("1", p(1, 3)), ("1", p(1, 3))]), "partition 1/3 is given twice: 1 and 1");
        assert_eq!(merge(&[("1", p(1, 3)), ("3", p(3, 3))]), "partition 2/3 is missing");
        assert_eq!(merge(&[("2", p(2, 3))]), "partitions 1/3, 3/3 are missing");
        assert_eq!(merge(&[("2", p(2, 6))]), "partitions 1/6, 3/6, 4/6 … and 2 more are missing");
        assert_eq!(
            merge(&[("a", p(1, 2)), ("b", p(2, 3))]),
            "a is partition 1/2 but b is partition 2/3: partitions of different splits cannot be merged"
        );
        assert_eq!(RunReport::merge(Vec::new()), Err(MergeError::Empty));
    }

    #[test]
    fn partitions_serialize_as_objects_and_old_strings_still_read() {
        let r = report(3, Some((2, 3)));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["partition"], serde_json::json!({"index": 2, "count": 3}));
        let mut old = json.clone();
        old["partition"] = "2/3".into();
        let back: RunReport = serde_json::from_value(old).unwrap();
        assert_eq!(back.partition, Some(Partition { index: 2, count: 3 }));
        let mut bad = json;
        bad["partition"] = serde_json::json!({"index": 4, "count": 3});
        assert!(serde_json::from_value::<RunReport>(bad).is_err());
    }
}
