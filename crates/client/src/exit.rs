//! Client exit codes, identical in every language (PROTOCOL.md §7).

use std::io;

/// Why a client failed; each maps to one documented exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// 1: unreadable file, reset or broken connection, other I/O errors.
    Other = 1,
    /// 2: bad command line.
    Usage = 2,
    /// 3: refused, unreachable, or unresolvable host.
    Connect = 3,
    /// 4: connecting, writing or waiting took longer than `--timeout-ms`.
    Timeout = 4,
    /// 5: ERR reply, bad or mismatched acknowledgement, close before the acknowledgement.
    Protocol = 5,
}

impl ExitKind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A client failure: the message for stderr and the exit code it implies.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    /// Which exit code.
    pub kind: ExitKind,
    /// One line for humans.
    pub message: String,
}

impl ClientError {
    /// An error of `kind`.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        ClientError { kind, message: message.into() }
    }

    /// Classifies an I/O error met during an exchange, after connecting.
    pub fn io(context: impl std::fmt::Display, err: &io::Error) -> Self {
        let kind = if err.kind() == io::ErrorKind::TimedOut { ExitKind::Timeout } else { ExitKind::Other };
        ClientError::new(kind, format!("{context}: {err}"))
    }
}
