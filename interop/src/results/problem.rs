//! What went wrong in an attempt, one problem at a time, with whose part it was.

use serde::{Deserialize, Serialize};

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
