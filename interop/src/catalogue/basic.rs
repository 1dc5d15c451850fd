//! The basic cases: one message or many, text or bytes, small or large, one client or eight, over
//! TCP on 127.0.0.1.

use super::case::{Case, CaseKind};
use super::payload::{Payload, hello, pseudo_random};
use interop_wire::Mode;

/// Size of the `large` case's payload.
pub const LARGE_BYTES: usize = 8 * 1024 * 1024;

/// Number of messages in the `many` case.
pub const MANY_MESSAGES: usize = 200;

/// Number of client processes in the `concurrent` case. Eight connect at once as well as sixteen
/// would; each process start costs a JVM's or an interpreter's start-up, in 30 cells.
pub const CONCURRENT_CLIENTS: usize = 8;

/// Messages each client process of the `concurrent` case sends, each on its own connection.
pub const CONCURRENT_MESSAGES: usize = 4;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    let one = |payload| CaseKind::Deliver(vec![vec![payload]]);
    let several = |payloads: Vec<Payload>| CaseKind::Deliver(vec![payloads]);
    vec![
        Case::new(
            "hello",
            "The tutorial's message `Hello SocketServer!!!`, raw: one connection, EOF ends it.",
            Mode::Raw,
            one(hello()),
        ),
        Case::new(
            "utf8",
            "Chinese text, accented Latin and 4-byte emoji, raw; the server's text must equal it.",
            Mode::Raw,
            one(Payload::arg("你好，世界！Grüße aus Köln 🦀🚀 (4-byte: 😀)")),
        ),
        Case::new(
            "empty",
            "The empty message, raw: connect and shut down at once; the server records 0 bytes.",
            Mode::Raw,
            one(Payload::arg("")),
        ),
        Case::new(
            "empty-frames",
            "Zero-length frames around a non-empty one, framed; each is acknowledged as 0 bytes.",
            Mode::Framed,
            several(vec![Payload::arg(""), Payload::arg("between"), Payload::arg("")]),
        ),
        Case::new(
            "multiline",
            "Text with LF, CRLF, tabs, a blank line and no final newline, raw; no line is a message.",
            Mode::Raw,
            one(Payload::arg("first line\nsecond line\r\n\tindented\n\nlast line, no newline")),
        ),
        Case::new(
            "binary",
            "All 256 byte values 00..ff in order (NUL included, not UTF-8), framed, from a file.",
            Mode::Framed,
            one(Payload::file((0..=255).collect())),
        ),
        Case::new(
            "large",
            "8 MiB of deterministic pseudo-random bytes, framed, from a file: far past any single read.",
            Mode::Framed,
            one(Payload::file(pseudo_random(LARGE_BYTES, 0x5eed))),
        ),
        Case::new(
            "many",
            "200 numbered messages on one framed connection; each acknowledged, all in order.",
            Mode::Framed,
            several(
                (1..=MANY_MESSAGES)
                    .map(|i| Payload::arg(format!("message {i:03} of {MANY_MESSAGES}")))
                    .collect(),
            ),
        ),
        Case::new(
            "concurrent",
            "8 client processes at once against one server, raw, 4 messages each; every one is \
             attributed to its own connection, nothing mixed up.",
            Mode::Raw,
            CaseKind::Deliver(
                (1..=CONCURRENT_CLIENTS)
                    .map(|c| {
                        (1..=CONCURRENT_MESSAGES)
                            .map(|m| Payload::arg(format!("client {c:02} message {m}")))
                            .collect()
                    })
                    .collect(),
            ),
        ),
    ]
}
