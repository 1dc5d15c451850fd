//! Honest known failures: `known-failures.toml` lists cells expected to fail, *how* they fail (a
//! prefix of the failure reason) and why. A cell that fails that way is "known" and does not fail
//! the run; one that fails another way fails it; one that passes fails it too ("unexpected pass:
//! remove the entry"), so the list cannot rot into hiding regressions.

use crate::pattern::NamePattern;
use crate::results::{CellReport, KnownRef, Status};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the default list at the repository root.
pub const KNOWN_FAILURES_FILE: &str = "known-failures.toml";

/// The list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailures {
    /// Entries, in file order; the first whose pattern matches a cell applies to it.
    #[serde(rename = "known", default)]
    pub entries: Vec<KnownEntry>,
}

/// One expected failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownEntry {
    /// Cell name or glob pattern (`*` matches anything, `/` included): `rust-server/java/*`.
    pub cell: String,
    /// The expected failure: a prefix of the failure reason.
    pub failure: String,
    /// Why it fails: a link or a sentence.
    pub why: String,
}

/// Why the list could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    /// Unreadable.
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// Not valid.
    #[error("invalid known-failures file {0}: {1}")]
    Parse(String, String),
    /// Not writable.
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

impl KnownFailures {
    /// Reads the list; a missing file is an empty list when `required` is false.
    pub fn load(path: &Path, required: bool) -> Result<KnownFailures, KnownError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Self::default()),
            Err(err) => return Err(KnownError::Read(path.display().to_string(), err)),
        };
        let list: KnownFailures = toml::from_str(&text)
            .map_err(|err| KnownError::Parse(path.display().to_string(), err.to_string()))?;
        for entry in &list.entries {
            NamePattern::new(&entry.cell).map_err(|err| {
                KnownError::Parse(path.display().to_string(), format!("cell {:?}: {err}", entry.cell))
            })?;
        }
        Ok(list)
    }

    /// The entry that applies to cell `name`.
    pub fn find(&self, name: &str) -> Option<&KnownEntry> {
        self.entries.iter().find(|e| NamePattern::new(&e.cell).is_ok_and(|p| p.matches(name)))
    }

    /// Applies the list to a cell whose attempts gave `status` (Pass, Fail or Flaky) and `reason`.
    pub fn classify(&self, cell: &mut CellReport, file: &str) {
        let Some(entry) = self.find(&cell.name) else {
            return;
        };
        cell.known = Some(KnownRef {
            cell: entry.cell.clone(),
            failure: entry.failure.clone(),
            why: entry.why.clone(),
        });
        match cell.status {
            Status::Fail => {
                let reason = cell.reason.clone().unwrap_or_default();
                let failure = cell.failure.as_deref().unwrap_or(&reason);
                if failure.starts_with(&entry.failure) {
                    cell.status = Status::Known;
                } else {
                    cell.reason = Some(format!(
                        "failed differently from its entry in {file} (expected a failure starting {:?}):\n{reason}",
                        entry.failure
                    ));
                }
            }
            Status::Pass | Status::Flaky => {
                cell.status = Status::UnexpectedPass;
                cell.reason = Some(format!(
                    "unexpected pass: remove the entry for {:?} from {file} (it said: {})",
                    entry.cell, entry.why
                ));
            }
            Status::Known
            | Status::UnexpectedPass
            | Status::Unsupported
            | Status::Skipped
            | Status::NotRun => {}
        }
    }

    /// The list a run implies: an entry for every cell that failed (or was known), keeping the
    /// `why` of entries that still apply; passing cells lose theirs. Entries that match no cell of
    /// the run (`--server`, `--case`, … left them out) stay as they are, in their place: a run
    /// says nothing about the cells it did not run.
    pub fn from_run(&self, cells: &[CellReport]) -> KnownFailures {
        let ran = |entry: &KnownEntry| {
            NamePattern::new(&entry.cell).is_ok_and(|p| cells.iter().any(|c| p.matches(&c.name)))
        };
        let mut entries: Vec<KnownEntry> = self.entries.iter().filter(|e| !ran(e)).cloned().collect();
        for cell in cells.iter().filter(|c| matches!(c.status, Status::Fail | Status::Known)) {
            let old = self.find(&cell.name);
            // A known cell keeps its entry as it was (it may be a pattern covering several).
            if cell.status == Status::Known
                && let Some(old) = old
            {
                if !entries.contains(old) {
                    entries.push(old.clone());
                }
                continue;
            }
            // The failure as the attempt gave it, not as a known-failure entry reworded it.
            let reason = cell.failure.as_deref().or(cell.reason.as_deref()).unwrap_or("");
            entries.push(KnownEntry {
                cell: cell.name.clone(),
                failure: stable_prefix(reason),
                why: old.map_or_else(
                    || "recorded by --update-known-failures: say why, or fix it".into(),
                    |o| o.why.clone(),
                ),
            });
        }
        KnownFailures { entries }
    }

    /// Writes the list, with a header saying what the file is.
    pub fn save(&self, path: &Path) -> Result<(), KnownError> {
        let body = toml::to_string_pretty(self)
            .map_err(|err| KnownError::Parse(path.display().to_string(), err.to_string()))?;
        let text = format!("{HEADER}\n{body}");
        std::fs::write(path, text).map_err(|err| KnownError::Write(path.display().to_string(), err))
    }
}

const HEADER: &str = "\
# Known failures: cells expected to fail, how, and why (docs/REPORTS.md).
# A cell that fails with a reason starting with `failure` is reported as known and does not fail
# the run; failing any other way, or passing, fails the run.
# `interop run --update-known-failures` rewrites this file from a run.
";

/// The part of a reason that stays the same from run to run: its first line, cut before the
/// first address (ports change every run) and at 100 characters.
fn stable_prefix(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or("");
    let mut end = line.len().min(100);
    for marker in ["127.", "[::", "/tmp/"] {
        if let Some(at) = line.find(marker) {
            end = end.min(at);
        }
    }
    line[..line.floor_char_boundary(end)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str, status: Status, reason: Option<&str>) -> CellReport {
        CellReport {
            name: name.into(),
            status,
            reason: reason.map(str::to_owned),
            ..CellReport::new("s", "c", "k")
        }
    }

    fn list() -> KnownFailures {
        toml::from_str(
            r#"
            [[known]]
            cell = "s/tutorial/*"
            failure = "client, message 1: the server received"
            why = "the tutorial server reads once"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn failing_the_expected_way_is_known() {
        let mut c =
            cell("s/tutorial/large", Status::Fail, Some("client, message 1: the server received 1024 bytes"));
        list().classify(&mut c, "k.toml");
        assert_eq!(c.status, Status::Known);
        assert_eq!(c.known.unwrap().why, "the tutorial server reads once");
    }

    #[test]
    fn failing_another_way_still_fails() {
        let mut c = cell("s/tutorial/large", Status::Fail, Some("client failed (exit code 4): timeout"));
        list().classify(&mut c, "k.toml");
        assert_eq!(c.status, Status::Fail);
        assert!(c.reason.unwrap().starts_with("failed differently from its entry in k.toml"));
    }

    #[test]
    fn passing_with_an_entry_is_an_unexpected_pass() {
        for status in [Status::Pass, Status::Flaky] {
            let mut c = cell("s/tutorial/hello", status, None);
            list().classify(&mut c, "k.toml");
            assert_eq!(c.status, Status::UnexpectedPass);
            assert!(c.reason.unwrap().starts_with("unexpected pass: remove the entry"));
        }
        let mut other = cell("s/rust/hello", Status::Pass, None);
        list().classify(&mut other, "k.toml");
        assert_eq!(other.status, Status::Pass);
    }

    #[test]
    fn update_records_failures_with_stable_prefixes_and_keeps_reasons() {
        let cells = [
            cell("s/tutorial/large", Status::Known, Some("client, message 1: the server received 5 bytes")),
            cell(
                "s/java/hello",
                Status::Fail,
                Some("the server never logged message 1 from 127.0.0.1:5555\nmore"),
            ),
            cell("s/rust/hello", Status::Pass, None),
        ];
        let updated = list().from_run(&cells);
        assert_eq!(updated.entries.len(), 2);
        // A cell that failed differently from its entry is recorded with its own failure.
        let mut other = cell("s/tutorial/large", Status::Fail, Some("client failed (exit code 4): timeout"));
        other.failure = other.reason.clone();
        list().classify(&mut other, "k.toml");
        let rerecorded = list().from_run(&[other]);
        assert_eq!(rerecorded.entries[0].failure, "client failed (exit code 4): timeout");
        assert_eq!(rerecorded.entries[0].why, "the tutorial server reads once");
        assert_eq!(updated.entries[0], list().entries[0]);
        assert_eq!(updated.entries[1].cell, "s/java/hello");
        assert_eq!(updated.entries[1].failure, "the server never logged message 1 from ");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        updated.save(&path).unwrap();
        assert_eq!(KnownFailures::load(&path, true).unwrap(), updated);
        assert!(KnownFailures::load(&dir.path().join("none.toml"), false).unwrap().entries.is_empty());
        assert!(KnownFailures::load(&dir.path().join("none.toml"), true).is_err());
    }

    #[test]
    fn update_keeps_the_entries_of_cells_the_run_left_out() {
        let mut known = list();
        known.entries.push(KnownEntry {
            cell: "other/java/*".into(),
            failure: "whatever".into(),
            why: "not run this time".into(),
        });
        // A run of one passing cell that no entry covers: both entries stay.
        let updated = known.from_run(&[cell("s/rust/hello", Status::Pass, None)]);
        assert_eq!(updated, known);
        // A run where the tutorial's cell passes: its entry goes, the other stays.
        let updated = known.from_run(&[cell("s/tutorial/large", Status::Pass, None)]);
        assert_eq!(updated.entries, [known.entries[1].clone()]);
    }
}
