//! The case catalogue: every case's name, written spec, deterministic payloads and what is
//! asserted. This is the one place cases are defined; `interop list` prints it.

use interop_wire::{DEFAULT_MESSAGE, Mode};

/// How a payload reaches the client program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// As a `MESSAGE` argument (text without NUL).
    Arg,
    /// As a `--file PATH` (any bytes, any size).
    File,
}

/// One message a client is asked to send.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// How they are handed to the client.
    pub via: Via,
}

impl Payload {
    fn arg(text: impl Into<String>) -> Self {
        Payload {
            bytes: text.into().into_bytes(),
            via: Via::Arg,
        }
    }

    fn file(bytes: Vec<u8>) -> Self {
        Payload {
            bytes,
            via: Via::File,
        }
    }

    /// The payload as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// What a case does.
#[derive(Clone, Debug)]
pub enum CaseKind {
    /// Start one client process per entry, all at once, each sending its payloads in order;
    /// every payload must reach the server byte for byte, in order, and nothing else may.
    Deliver(Vec<Vec<Payload>>),
    /// No server listens on the port; the client must exit with code 3 (refused) before its
    /// `--timeout-ms` runs out, print nothing on stdout and one `error:` line on stderr.
    Refused,
}

/// One case of the catalogue.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name, used in cell names.
    pub name: &'static str,
    /// What it checks, in a sentence or two.
    pub spec: &'static str,
    /// The protocol mode of server and client.
    pub mode: Mode,
    /// What happens and what is asserted.
    pub kind: CaseKind,
}

/// Size of the `large` case's payload.
pub const LARGE_BYTES: usize = 8 * 1024 * 1024;

/// Number of messages in the `many` case.
pub const MANY_MESSAGES: usize = 200;

/// Number of client processes in the `concurrent` case.
pub const CONCURRENT_CLIENTS: usize = 16;

/// Every case, in a stable order.
pub fn catalogue() -> Vec<Case> {
    let deliver_one = |payload| CaseKind::Deliver(vec![vec![payload]]);
    vec![
        Case {
            name: "hello",
            spec: "The tutorial's message `Hello SocketServer!!!`, raw: one connection, EOF ends it.",
            mode: Mode::Raw,
            kind: deliver_one(Payload::arg(DEFAULT_MESSAGE)),
        },
        Case {
            name: "utf8",
            spec: "Chinese text, accented Latin and 4-byte emoji, raw; the server's text must equal it.",
            mode: Mode::Raw,
            kind: deliver_one(Payload::arg("你好，世界！Grüße aus Köln 🦀🚀 (4-byte: 😀)")),
        },
        Case {
            name: "empty",
            spec: "The empty message, raw: connect and shut down at once; the server records 0 bytes.",
            mode: Mode::Raw,
            kind: deliver_one(Payload::arg("")),
        },
        Case {
            name: "empty-frames",
            spec: "Zero-length frames around a non-empty one, framed; each is acknowledged as 0 bytes.",
            mode: Mode::Framed,
            kind: CaseKind::Deliver(vec![vec![
                Payload::arg(""),
                Payload::arg("between"),
                Payload::arg(""),
            ]]),
        },
        Case {
            name: "multiline",
            spec: "Text with LF, CRLF, tabs, a blank line and no final newline, raw; no line is a message.",
            mode: Mode::Raw,
            kind: deliver_one(Payload::arg(
                "first line\nsecond line\r\n\tindented\n\nlast line, no newline",
            )),
        },
        Case {
            name: "binary",
            spec: "All 256 byte values 00..ff in order (NUL included, not UTF-8), framed, from a file.",
            mode: Mode::Framed,
            kind: deliver_one(Payload::file((0..=255).collect())),
        },
        Case {
            name: "large",
            spec: "8 MiB of deterministic pseudo-random bytes, framed, from a file: far past any single read.",
            mode: Mode::Framed,
            kind: deliver_one(Payload::file(pseudo_random(LARGE_BYTES, 0x5eed))),
        },
        Case {
            name: "many",
            spec: "200 numbered messages on one framed connection; each acknowledged, all in order.",
            mode: Mode::Framed,
            kind: CaseKind::Deliver(vec![
                (1..=MANY_MESSAGES)
                    .map(|i| Payload::arg(format!("message {i:03} of {MANY_MESSAGES}")))
                    .collect(),
            ]),
        },
        Case {
            name: "concurrent",
            spec: "16 client processes at once against one server, raw, 2 messages each; every one is \
                   attributed to its own connection, nothing mixed up.",
            mode: Mode::Raw,
            kind: CaseKind::Deliver(
                (1..=CONCURRENT_CLIENTS)
                    .map(|c| {
                        (1..=2)
                            .map(|m| Payload::arg(format!("client {c:02} message {m}")))
                            .collect()
                    })
                    .collect(),
            ),
        },
        Case {
            name: "refused",
            spec: "Nothing listens on the port (bound, never listening): the client exits 3, promptly, \
                   with one error line on stderr and nothing on stdout.",
            mode: Mode::Raw,
            kind: CaseKind::Refused,
        },
    ]
}

/// `len` bytes from xorshift64*, the same on every run and machine.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_payloads_deterministic() {
        let cases = catalogue();
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        assert_eq!(pseudo_random(64, 7), pseudo_random(64, 7));
        assert_ne!(pseudo_random(64, 7), pseudo_random(64, 8));
    }

    #[test]
    fn argument_payloads_are_text_without_nul() {
        for case in catalogue() {
            if let CaseKind::Deliver(processes) = &case.kind {
                for payload in processes.iter().flatten().filter(|p| p.via == Via::Arg) {
                    assert!(payload.text().is_some_and(|t| !t.contains('\0')), "{}", case.name);
                }
            }
        }
    }

    #[test]
    fn utf8_case_has_a_four_byte_character() {
        let case = catalogue().into_iter().find(|c| c.name == "utf8").unwrap();
        let CaseKind::Deliver(processes) = &case.kind else {
            panic!()
        };
        assert!(processes[0][0].text().unwrap().chars().any(|c| c.len_utf8() == 4));
    }
}
