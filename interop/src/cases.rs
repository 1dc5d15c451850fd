//! The case catalogue: every case's name, written spec, deterministic payloads and what is
//! asserted. This is the one place cases are defined; `interop list` prints it.

use crate::manifest::Feature;
use crate::toxic::Toxic;
use interop_wire::{DEFAULT_MESSAGE, Mode, Transport};
use std::sync::Arc;

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
    /// The exact bytes, shared: a case's payloads are cloned for every process and attempt.
    pub bytes: Arc<[u8]>,
    /// How they are handed to the client.
    pub via: Via,
}

impl Payload {
    fn arg(text: impl Into<String>) -> Self {
        Payload { bytes: text.into().into_bytes().into(), via: Via::Arg }
    }

    fn file(bytes: Vec<u8>) -> Self {
        Payload { bytes: bytes.into(), via: Via::File }
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
    /// The client must refuse before sending anything: exit 2 with one `error:` line naming the
    /// problem (`needle`), nothing on stdout, and nothing in the server's log.
    ClientRefuses {
        /// What the client is asked to send.
        payloads: Vec<Payload>,
        /// Text its error line must contain.
        needle: &'static str,
    },
    /// A server (the harness's own) accepts and never replies; a client with `--timeout-ms
    /// timeout_ms` must exit 4 within the timeout plus [`SILENT_MARGIN_MS`].
    Silent {
        /// The client's `--timeout-ms`.
        timeout_ms: u64,
    },
    /// The server is killed (SIGKILL) with a connection open and started again at once on the
    /// same port: the bind must succeed and the payload be delivered to the new server.
    Restart(Payload),
    /// A fault breaks the connection: the client must fail (with `code` if given) and one
    /// `error:` line, and the server must log no message at all (errors are expected).
    Broken {
        /// What the client tries to send.
        payloads: Vec<Payload>,
        /// The exit code expected, if one is (e.g. 4 for a connection that hangs).
        code: Option<i32>,
    },
    /// The server runs with `--max-connections` [`BUSY_LIMIT`] and the harness holds that many
    /// connections to it: the client must be turned away with `ERR busy` (exit 5, an error line
    /// with `ERR busy`), and the server must log nothing from it and go on to exit 0.
    Busy(Payload),
    /// The harness closes the server's stdout after its `listening on` line: the client must get
    /// `ERR output`, not an acknowledgement (exit 5, an error line with `ERR output`), and the
    /// server must exit 3 on its own, with one `error:` line on stderr (PROTOCOL.md §5).
    LogFailure(Payload),
}

/// The `--max-connections` of the `busy` case, and how many connections the harness holds.
pub const BUSY_LIMIT: usize = 2;

impl CaseKind {
    /// The payloads each client process is given, in the order the client sends them: files
    /// first, then arguments (PROTOCOL.md §6). Empty for cases that send nothing.
    pub fn processes(&self) -> Vec<Vec<Payload>> {
        let processes = match self {
            CaseKind::Deliver(processes) => processes.clone(),
            CaseKind::ClientRefuses { payloads, .. } => vec![payloads.clone()],
            CaseKind::Restart(payload) | CaseKind::Busy(payload) | CaseKind::LogFailure(payload) => {
                vec![vec![payload.clone()]]
            }
            CaseKind::Broken { payloads, .. } => vec![payloads.clone()],
            CaseKind::Refused | CaseKind::Silent { .. } => vec![Vec::new()],
        };
        let sending_order = |payloads: Vec<Payload>| {
            let (files, args): (Vec<_>, Vec<_>) = payloads.into_iter().partition(|p| p.via == Via::File);
            files.into_iter().chain(args).collect()
        };
        processes.into_iter().map(sending_order).collect()
    }

    /// Whether a server implementation takes part.
    pub fn uses_server(&self) -> bool {
        !matches!(self, CaseKind::Refused | CaseKind::Silent { .. })
    }
}

/// How much longer than its `--timeout-ms` a client may take to give up on a silent server, counted
/// from when it connected (so a slow process start-up does not count), to its exit.
pub const SILENT_MARGIN_MS: u64 = 2500;

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
    /// The transport.
    pub transport: Transport,
    /// The host servers listen on and clients connect to (TCP and UDP).
    pub host: &'static str,
    /// Extra client arguments (`--pipeline`, `--half-close`).
    pub client_args: &'static [&'static str],
    /// What server and client must support.
    pub needs: Vec<Feature>,
    /// For Unix sockets: leave a stale socket file at the path before the server starts.
    pub stale_socket: bool,
    /// A network fault the harness's relay applies to the client → server bytes (TCP only).
    pub fault: Option<Toxic>,
    /// The clients' `--timeout-ms`, when not the default.
    pub timeout_ms: Option<u64>,
    /// Extra server arguments (`--max-connections 2`).
    pub server_args: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, spec: &'static str, mode: Mode, kind: CaseKind) -> Case {
        Case {
            name,
            spec,
            mode,
            kind,
            transport: Transport::Tcp,
            host: "127.0.0.1",
            client_args: &[],
            needs: Vec::new(),
            stale_socket: false,
            fault: None,
            timeout_ms: None,
            server_args: &[],
        }
    }

    /// The case `base`, renamed, through `toxic`; `breaks` says whether the fault must break the
    /// delivery (the client fails, with this exit code if given; the server logs nothing) or
    /// leave it intact.
    fn faulty(
        base: &Case,
        (name, spec): (&'static str, &'static str),
        toxic: Toxic,
        breaks: Option<Option<i32>>,
    ) -> Case {
        let mut case = base.clone();
        case.name = name;
        case.spec = spec;
        case.fault = Some(toxic);
        if let Some(code) = breaks {
            let payloads = base.kind.processes().into_iter().next().unwrap_or_default();
            case.kind = CaseKind::Broken { payloads, code };
        }
        case
    }

    fn ipv6(mut self) -> Case {
        self.host = "::1";
        self.needs.push(Feature::Ipv6);
        self
    }

    fn unix(mut self) -> Case {
        self.transport = Transport::Unix;
        self.needs.push(Feature::Unix);
        self
    }

    fn udp(mut self) -> Case {
        self.transport = Transport::Udp;
        self.needs.push(Feature::Udp);
        self
    }

    fn client_args(mut self, args: &'static [&'static str], need: Feature) -> Case {
        self.client_args = args;
        self.needs.push(need);
        self
    }
}

/// Size of the `large` case's payload.
pub const LARGE_BYTES: usize = 8 * 1024 * 1024;

/// Number of messages in the `many` case.
pub const MANY_MESSAGES: usize = 200;

/// Number of client processes in the `concurrent` case.
pub const CONCURRENT_CLIENTS: usize = 16;

/// The tutorial's message.
fn hello() -> Payload {
    Payload::arg(DEFAULT_MESSAGE)
}

/// Every case, in a stable order.
pub fn catalogue() -> Vec<Case> {
    let one = |payload| CaseKind::Deliver(vec![vec![payload]]);
    let several = |payloads: Vec<Payload>| CaseKind::Deliver(vec![payloads]);
    let mixed = || {
        vec![
            Payload::arg("first"),
            Payload::arg(""),
            Payload::file((0..=255).collect()),
            Payload::arg("last ✓"),
        ]
    };
    let mut cases = vec![
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
            "16 client processes at once against one server, raw, 2 messages each; every one is \
             attributed to its own connection, nothing mixed up.",
            Mode::Raw,
            CaseKind::Deliver(
                (1..=CONCURRENT_CLIENTS)
                    .map(|c| (1..=2).map(|m| Payload::arg(format!("client {c:02} message {m}"))).collect())
                    .collect(),
            ),
        ),
        Case::new(
            "refused",
            "Nothing listens on the port (bound, never listening): the client exits 3, promptly, \
             with one error line on stderr and nothing on stdout.",
            Mode::Raw,
            CaseKind::Refused,
        ),
        Case::new(
            "ipv6",
            "The tutorial's message, raw, over TCP on ::1; addresses print as [::1]:port.",
            Mode::Raw,
            one(hello()),
        )
        .ipv6(),
        Case::new(
            "ipv6-framed",
            "Text, empty, binary and text again, framed, over TCP on ::1.",
            Mode::Framed,
            several(mixed()),
        )
        .ipv6(),
        Case::new(
            "unix",
            "The tutorial's message, raw, over a Unix socket whose path holds a stale socket file from \
             an earlier run; peers are named by process id.",
            Mode::Raw,
            one(hello()),
        )
        .unix()
        .stale(),
        Case::new(
            "unix-framed",
            "Text, empty, binary and text again, framed, over a Unix socket.",
            Mode::Framed,
            several(mixed()),
        )
        .unix(),
        Case::new(
            "unix-long-path",
            "A Unix socket path of 150 bytes: the client refuses it with a clear error (exit 2).",
            Mode::Raw,
            CaseKind::ClientRefuses { payloads: vec![hello()], needle: "too long" },
        )
        .unix(),
        Case::new(
            "udp",
            "Datagrams: text, empty, binary and one of exactly 65,507 bytes (the maximum), each \
             logged once and acknowledged.",
            Mode::Raw,
            several({
                let mut payloads = mixed();
                payloads.push(Payload::file(pseudo_random(interop_wire::MAX_UDP_PAYLOAD, 0x0d06)));
                payloads
            }),
        )
        .udp(),
        Case::new(
            "udp-too-large",
            "A 65,508-byte message over UDP: the client refuses it before sending anything (exit 2); \
             the server logs nothing.",
            Mode::Raw,
            CaseKind::ClientRefuses {
                payloads: vec![Payload::file(pseudo_random(interop_wire::MAX_UDP_PAYLOAD + 1, 0x0d07))],
                needle: "65507",
            },
        )
        .udp(),
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
        Case::new(
            "read-timeout",
            "The server accepts and never replies: a framed client with --timeout-ms 1000 exits 4 \
             within the timeout plus a margin, counted from when it connected.",
            Mode::Framed,
            CaseKind::Silent { timeout_ms: 1000 },
        ),
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
    ];
    let base = |name: &str| cases.iter().find(|c| c.name == name).cloned().expect("a catalogue case");
    // Small pieces, each read by the server on its own: a server that takes one read for a
    // message fails these every time, however loaded the machine.
    let fine = |size: usize| Toxic::Slicer {
        average_size: size,
        size_variation: size / 2 + 1,
        delay_us: 300,
        one_piece_per_read: true,
    };
    let mut faulty = vec![
        Case::faulty(
            &base("hello"),
            (
                "hello+slicer",
                "hello, its stream cut into 1-5 byte pieces: the server must still log it whole",
            ),
            fine(3),
            None,
        ),
        Case::faulty(
            &base("utf8"),
            ("utf8+slicer", "utf8 in 1-4 byte pieces, splitting multi-byte characters across reads"),
            fine(2),
            None,
        ),
        Case::faulty(
            &base("multiline"),
            ("multiline+slicer", "multiline in 1-7 byte pieces: line ends arrive alone"),
            fine(4),
            None,
        ),
        Case::faulty(
            &base("empty-frames"),
            ("empty-frames+slicer", "empty-frames in 1-4 byte pieces: length prefixes split across reads"),
            fine(2),
            None,
        ),
        Case::faulty(&base("binary"), ("binary+slicer", "binary in 3-11 byte pieces"), fine(7), None),
        Case::faulty(
            &base("large"),
            ("large+slicer", "8 MiB in pieces of 700-2100 bytes"),
            Toxic::Slicer { average_size: 1400, size_variation: 700, delay_us: 0, one_piece_per_read: false },
            None,
        ),
        Case::faulty(
            &base("hello"),
            ("hello+latency", "hello delayed 100 ± 30 ms on the way"),
            Toxic::Latency { latency: 100, jitter: 30 },
            None,
        ),
        Case::faulty(
            &base("binary"),
            ("binary+bandwidth", "binary at 5 KB/s"),
            Toxic::Bandwidth { rate: 5 },
            None,
        ),
        Case::faulty(
            &base("binary"),
            (
                "binary+limit_data",
                "the connection is cut after 100 of binary's 260 bytes: the client fails, the server logs nothing",
            ),
            Toxic::LimitData { bytes: 100 },
            Some(None),
        ),
        Case::faulty(
            &base("hello"),
            (
                "hello+reset_peer",
                "the connection is reset as hello arrives: the client fails, the server logs nothing",
            ),
            Toxic::ResetPeer { timeout: 0 },
            Some(None),
        ),
        Case::faulty(
            &base("hello"),
            (
                "hello+timeout",
                "nothing gets through, nothing comes back: the client times out (exit 4) after its --timeout-ms 1000, the server logs nothing",
            ),
            Toxic::Timeout { timeout: 0 },
            Some(Some(4)),
        ),
    ];
    // A client facing a connection that hangs gives up after its --timeout-ms.
    if let Some(hang) = faulty.last_mut() {
        hang.timeout_ms = Some(1000);
    }
    cases.extend(faulty);
    cases
}

impl Case {
    /// Gives the clients a shorter `--timeout-ms`: a server that gets the case wrong then fails
    /// it in seconds rather than after the default ten.
    fn timeout_ms(mut self, ms: u64) -> Case {
        self.timeout_ms = Some(ms);
        self
    }

    fn server_args(mut self, args: &'static [&'static str], need: Feature) -> Case {
        self.server_args = args;
        self.needs.push(need);
        self
    }

    fn stale(mut self) -> Case {
        self.stale_socket = true;
        self
    }
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
    fn the_busy_case_holds_as_many_connections_as_the_server_may_serve() {
        let busy = catalogue().into_iter().find(|c| c.name == "busy").unwrap();
        assert_eq!(busy.server_args, ["--max-connections", &BUSY_LIMIT.to_string()]);
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
        let CaseKind::Deliver(processes) = &case.kind else { panic!() };
        assert!(processes[0][0].text().unwrap().chars().any(|c| c.len_utf8() == 4));
    }
}
