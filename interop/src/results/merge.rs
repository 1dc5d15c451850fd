//! Merging reports, e.g. those of a run's CI partitions, into one; refusing what would make the
//! merged counts lie.

use super::partition::Partition;
use super::report::{CellReport, RunReport};

impl RunReport {
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
