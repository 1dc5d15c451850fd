//! What reports keep of a process: its command, how it ended, and its output.

use serde::{Deserialize, Serialize};

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
    /// `still running, kept for the next cell`: a server the harness shares between cells
    /// (MANIFEST.md, `reusable`) that served this cell well and serves the next one; the cell
    /// that stops it checks its exit.
    StillRunning,
    /// Any other text (from a report written by another version).
    Other(String),
}

impl Exit {
    /// Whether it exited by itself with code 0, or is a shared server still running well.
    pub fn success(&self) -> bool {
        matches!(self, Exit::Code(0) | Exit::StillRunning)
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
            Exit::StillRunning => f.write_str(STILL_RUNNING),
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
        } else if text == STILL_RUNNING {
            Exit::StillRunning
        } else {
            Exit::Other(text)
        }
    }
}

const STILL_RUNNING: &str = "still running, kept for the next cell";

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
