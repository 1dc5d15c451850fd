//! The server cases: a server killed and started again, one over its connection limit, one whose
//! log cannot be written.

use super::case::{Case, CaseKind};
use super::payload::hello;
use crate::manifest::Feature;
use interop_wire::Mode;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "restart",
            "The server is killed with a connection open and restarted at once on the same port: the \
             bind succeeds and the client is served.",
            Mode::Raw,
            CaseKind::Restart(hello()),
        ),
        Case::new(
            "busy",
            "The server runs with --max-connections 2 and the harness holds two connections to it: \
             a framed client is turned away at once with `ERR busy` and exits 5 saying so; the \
             server logs nothing from it and serves on.",
            Mode::Framed,
            CaseKind::Busy(hello()),
        )
        .server_args(&["--max-connections", "2"], Feature::MaxConnections),
        Case::new(
            "log-failure",
            "The harness closes the server's stdout after its `listening on` line: a framed client \
             gets `ERR output`, never an ACK, and exits 5 saying so; the server exits 3 on its own \
             with one error line.",
            Mode::Framed,
            CaseKind::LogFailure(hello()),
        ),
    ]
}
