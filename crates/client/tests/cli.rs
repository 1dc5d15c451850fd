//! The `interop-client` binary against real sockets: exit codes and output (PROTOCOL.md §6–7).

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn client() -> Command {
    let mut cmd = Command::cargo_bin("interop-client").unwrap();
    cmd.env_clear().timeout(Duration::from_secs(20));
    cmd
}

/// A raw-mode server on a thread that accepts `n` connections and returns what each sent.
fn raw_server(n: usize) -> (u16, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        (0..n)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                let mut got = Vec::new();
                stream.read_to_end(&mut got).unwrap();
                got
            })
            .collect()
    });
    (port, handle)
}

#[test]
fn raw_sends_each_message_on_its_own_connection_and_prints_it() {
    let (port, server) = raw_server(2);
    client().args(["--port", &port.to_string(), "first", "第二"]).assert().success().stdout("first\n第二\n");
    assert_eq!(server.join().unwrap(), vec![b"first".to_vec(), "第二".as_bytes().to_vec()]);
}

#[test]
fn file_payloads_go_first_and_binary_is_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.bin");
    let all: Vec<u8> = (0..=255).collect();
    std::fs::write(&path, &all).unwrap();
    let (port, server) = raw_server(2);
    client().args(["--port", &port.to_string(), "after", "--file"]).arg(&path).assert().success().stdout(
        predicate::str::starts_with("[binary message: 256 bytes, sha256 40aff2e9")
            .and(predicate::str::ends_with("after\n")),
    );
    assert_eq!(server.join().unwrap(), vec![all, b"after".to_vec()]);
}

#[test]
fn refused_exits_3_at_once() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    client()
        .args(["--port", &port.to_string()])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::starts_with("error: cannot connect"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_server_that_never_closes_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    client()
        .args(["--port", &port.to_string(), "--timeout-ms", "300", "hi"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("timed out after 300 ms"));
    drop(listener);
}

#[test]
fn a_wrong_ack_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut frame = [0u8; 7];
        stream.read_exact(&mut frame).unwrap();
        // Acknowledge "abc" as if it were "abd".
        let ack = format!("ACK 1 3 {}", interop_wire::Digest::of(b"abd").sha256_hex());
        stream.write_all(&(ack.len() as u32).to_be_bytes()).unwrap();
        stream.write_all(ack.as_bytes()).unwrap();
    });
    client()
        .args(["--port", &port.to_string(), "--mode", "framed", "abc"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("ack mismatch for message 1"));
    server.join().unwrap();
}

#[test]
fn a_broken_pipelined_write_still_reports_the_acks_and_the_err() {
    // PROTOCOL.md §11: the server acknowledges message 1, rejects message 2 (32 MiB) from its
    // length alone and closes unread, which resets the connection while the client still writes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 5];
        stream.read_exact(&mut first).unwrap();
        let ack = format!("ACK 1 1 {}", interop_wire::Digest::of(b"a").sha256_hex());
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).unwrap();
        let err = format!("ERR too-large {} > 1000", u32::from_be_bytes(header));
        // Both replies in one write, sent at once: closing with unread data resets the connection
        // and throws away whatever is still queued to be sent (Nagle would hold a second write).
        stream.set_nodelay(true).unwrap();
        let mut replies = Vec::new();
        for reply in [ack, err] {
            replies.extend_from_slice(&(reply.len() as u32).to_be_bytes());
            replies.extend_from_slice(reply.as_bytes());
        }
        stream.write_all(&replies).unwrap();
        // Closed with most of message 2 unread: the kernel resets the connection.
    });
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (dir.path().join("small"), dir.path().join("large"));
    std::fs::write(&small, b"a").unwrap();
    std::fs::write(&large, vec![7u8; 32 << 20]).unwrap();
    client()
        .args(["--port", &port.to_string(), "--mode", "framed", "--format", "json", "--pipeline"])
        .arg("--file")
        .arg(&small)
        .arg("--file")
        .arg(&large)
        .assert()
        .code(5)
        .stdout(predicate::str::contains(r#""seq":1"#).and(predicate::str::contains(r#""seq":2"#).not()))
        .stderr(predicate::str::contains("server rejected message 2: ERR too-large 33554432 > 1000"));
    server.join().unwrap();
}

#[test]
fn usage_and_file_errors_have_their_codes() {
    client().args(["--port", "nope"]).assert().code(2);
    client().args(["--mode", "udp"]).assert().code(2);
    client().arg("--help").assert().success().stdout(predicate::str::contains("--timeout-ms"));
    client()
        .args(["--file", "/nonexistent/file"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: cannot read /nonexistent/file"));
}

#[test]
fn ipv6_addresses_are_bracketed_in_json() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this machine; nothing to check");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        (peer.to_string(), got)
    });
    let out = client()
        .args(["--host", "::1", "--port", &port.to_string(), "--format", "json", "v6"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (peer, got) = server.join().unwrap();
    assert_eq!(got, b"v6");
    assert_eq!(report["local"], peer.as_str());
    assert_eq!(report["peer"], format!("[::1]:{port}").as_str());
    assert_eq!(report["ack"], "none");
}

const BUSY: &str = "ERR busy 2 connections open, the most this server serves (--max-connections)";
const BUSY_LINE: &str =
    "error: server is busy: ERR busy 2 connections open, the most this server serves (--max-connections)\n";
const OUTPUT: &str = "ERR output writing output: No space left on device (os error 28)";

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// Reads one frame as a server does; `None` at EOF.
fn read_frame(stream: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut payload).ok()?;
    Some(payload)
}

/// A server on a thread that serves `n` connections with `serve`, one after the other.
fn fake_server(
    n: usize,
    serve: impl Fn(std::net::TcpStream) + Send + 'static,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let handle = std::thread::spawn(move || {
        for _ in 0..n {
            let (stream, _) = listener.accept().unwrap();
            // Replies leave at once, before a close that may reset the connection.
            stream.set_nodelay(true).unwrap();
            serve(stream);
        }
    });
    (port, handle)
}

/// The ways of sending in framed mode: stop-and-wait, pipelined, half-closed (PROTOCOL.md §11).
const FRAMED: [&[&str]; 3] =
    [&["--mode", "framed"], &["--mode", "framed", "--pipeline"], &["--mode", "framed", "--half-close"]];

#[test]
fn err_busy_is_reported_as_busy_in_every_framed_way() {
    // PROTOCOL.md §5: a server at its connection limit sends ERR busy at once, without reading,
    // shuts down its write side and closes once the client has.
    let (port, server) = fake_server(FRAMED.len(), |mut stream| {
        stream.write_all(&frame(BUSY.as_bytes())).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    });
    for way in FRAMED {
        client()
            .args(["--port", &port])
            .args(way)
            .args(["one", "two"])
            .assert()
            .code(5)
            .stdout("")
            .stderr(BUSY_LINE);
    }
    server.join().unwrap();
}

#[test]
fn err_output_is_reported_with_the_message_it_answers() {
    // PROTOCOL.md §3.3: the server could not log the message, so it answers ERR output instead
    // of the ACK: for the first message, and (second run) for the second.
    let (port, server) = fake_server(2, |mut stream| {
        let first = read_frame(&mut stream).unwrap();
        if first != b"one" {
            let ack = format!("ACK 1 {} {}", first.len(), interop_wire::Digest::of(&first).sha256_hex());
            stream.write_all(&frame(ack.as_bytes())).unwrap();
            read_frame(&mut stream).unwrap();
        }
        stream.write_all(&frame(OUTPUT.as_bytes())).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    });
    client()
        .args(["--port", &port, "--mode", "framed", "one", "two"])
        .assert()
        .code(5)
        .stdout("")
        .stderr(format!("error: server could not log message 1: {OUTPUT}\n"));
    client()
        .args(["--port", &port, "--mode", "framed", "first", "second"])
        .assert()
        .code(5)
        .stdout("first\n")
        .stderr(format!("error: server could not log message 2: {OUTPUT}\n"));
    server.join().unwrap();
}

#[test]
fn err_busy_is_reported_when_the_server_closes_at_once_and_the_write_fails() {
    // The server sends ERR busy and closes without reading: at once (the client's data then
    // draws a reset), or once data has arrived (a reset at once). Either way the reset can break
    // the client's write; the ERR is already in its receive buffer and must be what it reports
    // (PROTOCOL.md §3.4, §11). A 4 MiB message is still being written when the reset lands.
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large");
    std::fs::write(&large, vec![7u8; 4 << 20]).unwrap();
    const ROUNDS: usize = 6;
    let per_round = FRAMED.len() * 2;
    let count = std::sync::atomic::AtomicUsize::new(0);
    let (port, server) = fake_server(ROUNDS * per_round, move |mut stream| {
        stream.write_all(&frame(BUSY.as_bytes())).unwrap();
        // Every other round, the server waits for the client's data: closing then resets.
        if count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) / per_round % 2 == 1 {
            let _ = stream.peek(&mut [0u8; 1]);
        }
    });
    for _ in 0..ROUNDS {
        for way in FRAMED {
            for message in [&["small"][..], &["--file", large.to_str().unwrap()][..]] {
                client()
                    .args(["--port", &port])
                    .args(way)
                    .args(message)
                    .assert()
                    .code(5)
                    .stdout("")
                    .stderr(BUSY_LINE);
            }
        }
    }
    server.join().unwrap();
}

/// Closes `stream` with a reset (SO_LINGER 0): std cannot set that, tokio can.
fn reset(stream: std::net::TcpStream) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    stream.set_nonblocking(true).unwrap();
    runtime.block_on(async { tokio::net::TcpStream::from_std(stream).unwrap().set_zero_linger() }).unwrap();
}

#[test]
fn err_busy_is_reported_when_the_server_resets_at_once_and_connecting_fails() {
    // A server that resets right after ERR busy (as a raw one turns a connection away) can reset
    // the connection before the client has even seen it connected: connect() then reports the
    // reset, but the ERR is in the receive buffer all the same.
    let (port, server) = fake_server(3 * FRAMED.len(), |mut stream| {
        stream.write_all(&frame(BUSY.as_bytes())).unwrap();
        reset(stream);
    });
    for _ in 0..3 {
        for way in FRAMED {
            client().args(["--port", &port]).args(way).arg("x").assert().code(5).stdout("").stderr(BUSY_LINE);
        }
    }
    server.join().unwrap();
}

#[test]
fn raw_mode_over_the_connection_limit_is_a_reset_and_exit_1() {
    // PROTOCOL.md §2: a raw connection turned away is reset at once, unread.
    let (port, server) = fake_server(5, reset);
    for _ in 0..5 {
        client()
            .args(["--port", &port, "hi"])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::starts_with("error: "));
    }
    server.join().unwrap();
}
