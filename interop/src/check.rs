//! The assertions of a delivery case: every message each client reports sending appears in the
//! server's log for that client's connection (matched by the client's local address), in order,
//! with the same length and SHA-256 as the case's payload, the same text where it is text, and
//! nothing else appears.

use crate::catalogue::Payload;
use crate::hexdump::hex_bytes;
use crate::process::Output;
use crate::results::Problem;
use interop_wire::json::{AckCheck, ClientReport, ServerEvent};
use interop_wire::{Digest, Mode, Transport};
use std::collections::{HashMap, VecDeque};

/// A message as the server logged it.
#[derive(Clone, Debug)]
struct Logged {
    conn: u64,
    seq: u64,
    len: u64,
    sha256: String,
    text: Option<String>,
}

/// Checks one delivery case. Returns every problem found (empty: the cell passes): the clients'
/// own as [`ProblemKind::Client`](crate::results::ProblemKind::Client), the bytes' as
/// `Delivery`, and the server's error events, last, as `Server`.
///
/// `received` holds, where known (from `--record`), the bytes the server received per (client
/// address, sequence number); with them, or with the server's text, a mismatch shows a byte diff.
pub fn check_delivery(
    (mode, transport): (Mode, Transport),
    expected: &[Vec<Payload>],
    clients: &[Output],
    server: &[ServerEvent],
    received: &HashMap<(String, u64), Vec<u8>>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    // By peer, in the order the server logged them. A peer is a client's address, or for Unix
    // sockets its process id, which several connections of one client share: they are then told
    // apart by their order.
    let mut logged: HashMap<String, VecDeque<Logged>> = HashMap::new();
    // Reported after the clients' problems: a failure's first line says what the client saw.
    let mut server_errors = Vec::new();
    for event in server {
        match event {
            ServerEvent::Message { conn, peer, seq, len, sha256, text } => {
                let entry =
                    Logged { conn: *conn, seq: *seq, len: *len, sha256: sha256.clone(), text: text.clone() };
                logged.entry(peer.clone()).or_default().push_back(entry);
            }
            ServerEvent::Error { peer, error, .. } => {
                server_errors.push(Problem::server(format!(
                    "server reported an error for {}: {error}",
                    peer.as_deref().unwrap_or("itself")
                )));
            }
            _ => {}
        }
    }

    for (process, (payloads, output)) in expected.iter().zip(clients).enumerate() {
        let who = if expected.len() > 1 { format!("client #{}", process + 1) } else { "client".to_string() };
        if !output.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("(nothing on stderr)");
            problems.push(Problem::client(format!("{who} failed ({}): {last}", output.status_text())));
            continue;
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut reports = Vec::new();
        for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<ClientReport>(line) {
                Ok(report) => reports.push(report),
                Err(err) => problems.push(Problem::client(format!(
                    "{who} printed a line that is not a JSON report ({err}): {line:?}"
                ))),
            }
        }
        if reports.len() != payloads.len() {
            problems.push(Problem::delivery(format!(
                "{who} reported {} deliveries, the case sent {}",
                reports.len(),
                payloads.len()
            )));
        }
        let mut previous_conn: Option<u64> = None;
        for (index, (report, payload)) in reports.iter().zip(payloads).enumerate() {
            let n = index + 1;
            let want = Digest::of(&payload.bytes);
            // Framed and UDP number the messages of one connection (socket); raw has one each.
            let numbered = mode == Mode::Framed || transport == Transport::Udp;
            let (want_sha, want_seq) = (want.sha256_hex(), if numbered { n as u64 } else { 1 });
            let mut problem =
                |p: String| problems.push(Problem::delivery(format!("{who}, message {n}: {p}")));
            if report.len != want.len || report.sha256 != want_sha {
                problem(format!(
                    "client says it sent {} bytes sha256 {}, but the payload is {} bytes sha256 {want_sha}",
                    report.len, report.sha256, want.len
                ));
            }
            let want_ack = if numbered { AckCheck::Verified } else { AckCheck::None };
            if report.transport != transport {
                problem(format!("report says transport {}; expected {transport}", report.transport));
            }
            if report.mode != mode || report.ack != want_ack || report.seq != want_seq {
                problem(format!(
                    "report says mode {} seq {} ack {:?}; expected mode {mode} seq {want_seq} ack {want_ack:?}",
                    report.mode, report.seq, report.ack
                ));
            }
            let Some(got) = logged.get_mut(&report.local).and_then(VecDeque::pop_front) else {
                problem(format!("the server never logged message {} from {}", report.seq, report.local));
                continue;
            };
            if got.seq != report.seq {
                problem(format!(
                    "the server logged it as message {} of its connection, not {}",
                    got.seq, report.seq
                ));
            }
            if got.len != want.len || got.sha256 != want_sha {
                let bytes = received.get(&(report.local.clone(), report.seq)).cloned();
                let diff = match bytes.or_else(|| got.text.clone().map(String::into_bytes)) {
                    Some(bytes) => byte_diff(&payload.bytes, &bytes),
                    None => "(run with --record to see the bytes)".into(),
                };
                problem(format!(
                    "the server received {} bytes sha256 {} instead of {} bytes sha256 {want_sha}\n{diff}",
                    got.len, got.sha256, want.len
                ));
            } else if let Some(text) =
                payload.text().filter(|t| t.len() <= interop_wire::display::PRINT_LIMIT)
                && got.text.as_deref() != Some(text)
            {
                problem(format!("the server's text {:?} differs from the payload {text:?}", got.text));
            }
            // Raw: one connection per message, opened in order. Framed: all on one connection.
            let in_order = match previous_conn {
                None => true,
                Some(prev) if numbered => got.conn == prev,
                Some(prev) => got.conn > prev,
            };
            if !in_order {
                problem(format!(
                    "arrived on connection {} after connection {previous_conn:?}: out of order",
                    got.conn
                ));
            }
            previous_conn = Some(got.conn);
        }
    }

    let mut extra: Vec<_> =
        logged.into_iter().flat_map(|(peer, l)| l.into_iter().map(move |l| (peer.clone(), l))).collect();
    extra.sort_by_key(|(_, l)| (l.conn, l.seq));
    for (peer, got) in extra {
        let seq = got.seq;
        problems.push(Problem::delivery(format!(
            "the server logged a message no client reported: {peer} seq {seq}, {} bytes sha256 {}",
            got.len, got.sha256
        )));
    }
    problems.extend(server_errors);
    problems
}

/// Where two byte strings first differ, with a short hex and text window of both sides.
pub fn byte_diff(expected: &[u8], received: &[u8]) -> String {
    const WINDOW: usize = 8;
    let at =
        expected.iter().zip(received).position(|(a, b)| a != b).unwrap_or(expected.len().min(received.len()));
    let headline = match (at == received.len(), at == expected.len()) {
        (true, true) => return "the bytes are identical".into(),
        (true, false) => format!(
            "received {} of {} bytes: the last {} are missing, from offset {at}",
            received.len(),
            expected.len(),
            expected.len() - at
        ),
        (false, true) => format!(
            "received {} extra bytes after the expected {}, from offset {at}",
            received.len() - at,
            expected.len()
        ),
        (false, false) => format!("first difference at offset {at}"),
    };
    let from = at.saturating_sub(WINDOW);
    let window = |bytes: &[u8]| {
        let slice = &bytes[from.min(bytes.len())..(at + WINDOW).min(bytes.len())];
        format!("@{from}: {:<48} \"{}\"", hex_bytes(slice), interop_wire::display::escape(slice))
    };
    format!("{headline}\n  expected {}\n  received {}", window(expected), window(received))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Via;
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;
    use std::time::Duration;

    fn payload(text: &str) -> Payload {
        Payload { bytes: text.as_bytes().into(), via: Via::Arg }
    }

    fn report(local: &str, seq: u64, bytes: &[u8], mode: Mode) -> String {
        let digest = Digest::of(bytes);
        let ack = if mode == Mode::Framed { AckCheck::Verified } else { AckCheck::None };
        let report = ClientReport {
            seq,
            local: local.into(),
            peer: "127.0.0.1:9".into(),
            mode,
            len: digest.len,
            sha256: digest.sha256_hex(),
            ack,
            transport: Transport::Tcp,
        };
        serde_json::to_string(&report).unwrap()
    }

    fn client(code: i32, lines: &[String]) -> Output {
        let stdout = lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
        Output {
            status: Some(ExitStatus::from_raw(code << 8)),
            stdout,
            stderr: b"error: boom\n".to_vec(),
            duration: Duration::ZERO,
        }
    }

    fn logged(conn: u64, peer: &str, seq: u64, bytes: &[u8]) -> ServerEvent {
        let digest = Digest::of(bytes);
        ServerEvent::Message {
            conn,
            peer: peer.into(),
            seq,
            len: digest.len,
            sha256: digest.sha256_hex(),
            text: std::str::from_utf8(bytes).ok().map(str::to_owned),
        }
    }

    #[test]
    fn byte_diffs_show_where_and_what() {
        assert_eq!(
            byte_diff(b"Hello SocketServer!!!", b"Hello SocketServer!!"),
            "received 20 of 21 bytes: the last 1 are missing, from offset 20\n  \
             expected @12: 53 65 72 76 65 72 21 21 21                       \"Server!!!\"\n  \
             received @12: 53 65 72 76 65 72 21 21                          \"Server!!\""
        );
        assert!(byte_diff(b"abcdef", b"abXdef").starts_with("first difference at offset 2\n"));
        assert!(byte_diff(b"ab", b"abc").starts_with("received 1 extra bytes"));
        assert_eq!(byte_diff(b"same", b"same"), "the bytes are identical");
    }

    #[test]
    fn exact_framed_delivery_passes() {
        let expected = vec![vec![payload("a"), payload("b")]];
        let out = client(0, &[report("c:1", 1, b"a", Mode::Framed), report("c:1", 2, b"b", Mode::Framed)]);
        let server = [logged(1, "c:1", 1, b"a"), logged(1, "c:1", 2, b"b")];
        assert_eq!(
            check_delivery((Mode::Framed, Transport::Tcp), &expected, &[out], &server, &HashMap::new()),
            Vec::<Problem>::new()
        );
    }

    #[test]
    fn a_dropped_last_byte_is_caught_on_the_server_side() {
        let expected = vec![vec![payload("abc")]];
        let out = client(0, &[report("c:1", 1, b"abc", Mode::Raw)]);
        let server = [logged(1, "c:1", 1, b"ab")];
        let problems =
            check_delivery((Mode::Raw, Transport::Tcp), &expected, &[out], &server, &HashMap::new());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].detail.contains("the server received 2 bytes"), "{problems:?}");
    }

    #[test]
    fn a_client_lying_about_what_it_sent_is_caught() {
        let expected = vec![vec![payload("abc")]];
        let out = client(0, &[report("c:1", 1, b"abd", Mode::Raw)]);
        let server = [logged(1, "c:1", 1, b"abd")];
        let problems =
            check_delivery((Mode::Raw, Transport::Tcp), &expected, &[out], &server, &HashMap::new());
        assert!(problems.iter().any(|p| p.detail.contains("but the payload is 3 bytes")), "{problems:?}");
    }

    #[test]
    fn missing_extra_and_out_of_order_messages_are_each_named() {
        let expected = vec![vec![payload("a"), payload("b")]];
        let out = client(0, &[report("c:1", 1, b"a", Mode::Raw), report("c:2", 1, b"b", Mode::Raw)]);
        // b arrived on an earlier connection than a; and a stranger's message is in the log.
        let server = [logged(2, "c:1", 1, b"a"), logged(1, "c:2", 1, b"b"), logged(3, "x:9", 1, b"zzz")];
        let problems =
            check_delivery((Mode::Raw, Transport::Tcp), &expected, &[out], &server, &HashMap::new());
        assert!(problems.iter().any(|p| p.detail.contains("out of order")), "{problems:?}");
        assert!(problems.iter().any(|p| p.detail.contains("no client reported: x:9")), "{problems:?}");

        let out = client(0, &[report("c:1", 1, b"a", Mode::Raw)]);
        let problems = check_delivery((Mode::Raw, Transport::Tcp), &expected, &[out], &[], &HashMap::new());
        assert!(
            problems.iter().any(|p| p.detail.contains("reported 1 deliveries, the case sent 2")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.detail.contains("never logged")), "{problems:?}");
    }

    #[test]
    fn a_failing_client_and_a_server_error_fail_the_cell() {
        let expected = vec![vec![payload("a")]];
        let server =
            [ServerEvent::Error { conn: Some(1), peer: Some("c:1".into()), error: "truncated".into() }];
        let problems = check_delivery(
            (Mode::Raw, Transport::Tcp),
            &expected,
            &[client(3, &[])],
            &server,
            &HashMap::new(),
        );
        assert!(
            problems.iter().any(|p| p.detail.contains("client failed (exit code 3): error: boom")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.detail.contains("truncated")), "{problems:?}");
    }

    #[test]
    fn text_must_match_not_just_the_hash() {
        let expected = vec![vec![payload("héllo")]];
        let out = client(0, &[report("c:1", 1, "héllo".as_bytes(), Mode::Raw)]);
        let mut event = logged(1, "c:1", 1, "héllo".as_bytes());
        if let ServerEvent::Message { text, .. } = &mut event {
            *text = Some("hello".into());
        }
        let problems =
            check_delivery((Mode::Raw, Transport::Tcp), &expected, &[out], &[event], &HashMap::new());
        assert!(problems.iter().any(|p| p.detail.contains("text")), "{problems:?}");
    }
}
