//! The client cases: what a client does when nothing listens, when the server never answers, and
//! with its options `--half-close` and `--pipeline`.

use super::case::{Case, CaseKind};
use super::payload::Payload;
use crate::manifest::Feature;
use interop_wire::Mode;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    let several = |payloads: Vec<Payload>| CaseKind::Deliver(vec![payloads]);
    vec![
        Case::new(
            "refused",
            "Nothing listens on the port (bound, never listening): the client exits 3, promptly, \
             with one error line on stderr and nothing on stdout.",
            Mode::Raw,
            CaseKind::Refused,
        ),
        Case::new(
            "read-timeout",
            "The server accepts and never replies: a framed client with --timeout-ms 1000 exits 4 \
             within the timeout plus a margin, counted from when it connected.",
            Mode::Framed,
            CaseKind::Silent { timeout_ms: 1000 },
        ),
        Case::new(
            "half-close",
            "Framed, --half-close: the client writes 3 frames, shuts down its write side, and still \
             reads every acknowledgement.",
            Mode::Framed,
            several(vec![Payload::arg("one"), Payload::arg("two"), Payload::arg("three")]),
        )
        .client_args(&["--half-close"], Feature::HalfClose),
        Case::new(
            "back-to-back",
            "Framed, --pipeline: 5 frames written in one write; the server splits out exactly those.",
            Mode::Framed,
            several((1..=5).map(|i| Payload::arg(format!("frame {i}"))).collect()),
        )
        .client_args(&["--pipeline"], Feature::Pipeline)
        .timeout_ms(3000),
    ]
}
