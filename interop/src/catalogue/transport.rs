//! The transport cases: TCP over IPv6, Unix sockets (a stale socket file, a path too long), UDP
//! datagrams up to the largest.

use super::case::{Case, CaseKind};
use super::payload::{Payload, hello, mixed, pseudo_random};
use interop_wire::Mode;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    let one = |payload| CaseKind::Deliver(vec![vec![payload]]);
    let several = |payloads: Vec<Payload>| CaseKind::Deliver(vec![payloads]);
    vec![
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
    ]
}
