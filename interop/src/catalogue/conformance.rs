//! The conformance cases: the harness itself plays the client, often a hostile one, against each
//! server (cells `<server>/conformance/<case>`), to check what PROTOCOL.md §3.5, §5 and §10 ask of
//! a server where no well-behaved client program would go. The server cases `busy` and
//! `log-failure` run this way too (see [`CaseKind::for_conformance`]).

use super::case::{Case, CaseKind, Probe};
use interop_wire::Mode;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    let probe = |name, spec, mode, probe| Case::new(name, spec, mode, CaseKind::Conformance(probe));
    vec![
        probe(
            "garbage",
            "An HTTP request on a framed connection (`GET ` read as a length over the maximum): the \
             server answers `ERR too-large` and closes, logs an error and no message; a framed \
             connection after it is served.",
            Mode::Framed,
            Probe::Garbage,
        ),
        probe(
            "too-large",
            "Length prefixes `FF FF FF FF` and the maximum plus one, each on its own connection with \
             no payload sent: each is answered `ERR too-large` at once (the server reads and \
             allocates nothing for it) and logged as an error, never as a message; the server \
             serves on.",
            Mode::Framed,
            Probe::TooLarge,
        ),
        probe(
            "eof-mid-frame",
            "EOF inside a frame: after 3 of 10 payload bytes on one connection, after 2 bytes of a \
             length prefix on another. No message is logged, each connection ends with an `error` \
             event, and neither gets an ACK.",
            Mode::Framed,
            Probe::EofMidFrame,
        ),
        probe(
            "rst-mid-frame",
            "A reset (SO_LINGER 0) after 3 of 10 payload bytes: no message is logged, the \
             connection ends with an `error` event, and a framed connection after it is served.",
            Mode::Framed,
            Probe::RstMidFrame,
        ),
        probe(
            "random-input",
            "24 connections, each sending up to 8 KiB built from its own fixed seed (0x5eed0000 \
             plus its number, named in every problem): valid frames of 0–300 random bytes, random \
             garbage, lengths over the maximum, a frame cut at the end. The wire crate's decoder \
             says what each stream holds. 20 connections, all at once, write it all, shut down \
             their write side and read to EOF: the replies are exactly the expected \
             `ACK n len sha256`s in order, then `ERR too-large` if a length is over the maximum; \
             the log has exactly those messages and ends the connection with `closed` if the \
             stream ended between frames, `error` otherwise. Then 4, all at once, write it all, \
             read some ACKs and reset (SO_LINGER 0): the log has a prefix of the expected \
             messages, at least those acknowledged, and an `error` event. A framed connection \
             after them is served.",
            Mode::Framed,
            Probe::RandomInput,
        ),
        probe(
            "slowloris",
            "200 connections each dribble a length prefix one byte a second and never finish it; \
             meanwhile an honest framed connection is served within 3 s. Each dribbling \
             connection ends with an `error` event when it closes.",
            Mode::Framed,
            Probe::Slowloris,
        ),
        probe(
            "sigterm-drain",
            "5 connections stream framed messages (stop-and-wait) when the server gets SIGTERM; \
             they go on for 300 ms, then close. The server acknowledges during its grace period, \
             exits 0 within the grace (5 s) plus 1 s, and every message it acknowledged is in its \
             log.",
            Mode::Framed,
            Probe::SigtermDrain,
        ),
        probe(
            "unix-stale",
            "The server is started on a Unix socket path that holds a stale socket file (nobody \
             listening): it replaces the file, listens, and serves a framed message.",
            Mode::Framed,
            Probe::UnixStale,
        )
        .unix()
        .stale(),
        probe(
            "udp-oversize",
            "A 65,508-byte datagram (one more than a UDP message may be; sent over IPv6, which \
             carries it) is logged as an error, not as a message, and not acknowledged; the same \
             socket's next datagram is then acknowledged as its message 1.",
            Mode::Raw,
            Probe::UdpOversize,
        )
        .ipv6()
        .udp(),
    ]
}
