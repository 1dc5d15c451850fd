//! Partitions of a run split across machines (`--partition K/N`).

use serde::{Deserialize, Serialize};

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
