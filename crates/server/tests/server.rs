//! The server in-process on 127.0.0.1:0, driven with raw bytes on real sockets.

use interop_server::log::{self, Log};
use interop_server::{Config, ServeError, run};
use interop_wire::digest::parse_sha256_hex;
use interop_wire::json::ServerEvent;
use interop_wire::reply::Reply;
use interop_wire::{Digest, MessageView, Mode, read_frame, write_frame};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

struct TestServer {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<ServerEvent>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// A sink that keeps every event, in order; with `fail_on_message`, the first message breaks it
/// (as a full disk would) and nothing from then on is written.
struct Memory {
    events: mpsc::UnboundedSender<ServerEvent>,
    fail_on_message: bool,
}

impl log::Sink for Memory {
    fn write(&mut self, event: &ServerEvent, _: Option<&MessageView>) -> std::io::Result<()> {
        if self.fail_on_message && matches!(event, ServerEvent::Message { .. }) {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        let _ = self.events.send(event.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn memory_log(fail_on_message: bool) -> (Log, mpsc::UnboundedReceiver<ServerEvent>) {
    let (events, rx) = mpsc::unbounded_channel();
    (Log::new(Memory { events, fail_on_message }), rx)
}

async fn start(config: Config) -> TestServer {
    start_with(config, false).await
}

async fn start_with(config: Config, fail_on_message: bool) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (log, events) = memory_log(fail_on_message);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, log, stopped));
    TestServer { addr, events, stop, task }
}

impl TestServer {
    /// Stops the server and returns every event it emitted.
    async fn finish(mut self) -> Vec<ServerEvent> {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
        let mut all = Vec::new();
        while let Some(event) = self.events.recv().await {
            all.push(event);
        }
        all
    }
}

fn framed() -> Config {
    Config { mode: Mode::Framed, max_message_bytes: 1024, ..Config::default() }
}

fn messages(events: &[ServerEvent]) -> Vec<(u64, u64, Digest)> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Message { conn, seq, len, sha256, .. } => {
                let sha256 = parse_sha256_hex(sha256).expect("a message event's sha256 is 64 hex digits");
                Some((*conn, *seq, Digest { len: *len, sha256 }))
            }
            _ => None,
        })
        .collect()
}

fn errors(events: &[ServerEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Error { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

async fn send_framed_ok(addr: SocketAddr, payloads: &[&[u8]]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for (i, payload) in payloads.iter().enumerate() {
        write_frame(&mut stream, payload).await.unwrap();
        let reply = read_frame(&mut stream, 1024).await.unwrap().unwrap();
        let expected = Reply::Ack { seq: i as u64 + 1, digest: Digest::of(payload) };
        assert_eq!(Reply::parse(&reply).unwrap(), expected);
    }
}

#[tokio::test]
async fn raw_reads_until_eof_whatever_the_write_pattern() {
    let server = start(Config::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for piece in [&b"Hello "[..], b"Socket", b"Server!!!"] {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "raw mode sends nothing back");
    let events = server.finish().await;
    assert_eq!(messages(&events), vec![(1, 1, Digest::of(b"Hello SocketServer!!!"))]);
    assert!(matches!(events.last(), Some(ServerEvent::Closed { messages: 1, .. })));
}

#[tokio::test]
async fn a_raw_message_of_exactly_the_maximum_many_reads_long_is_logged_whole() {
    let max = 1 << 20;
    let server = start(Config { max_message_bytes: max, ..Config::default() }).await;
    let message: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&message).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    let events = server.finish().await;
    assert_eq!(messages(&events), vec![(1, 1, Digest::of(&message))]);
}

#[tokio::test]
async fn raw_message_over_the_maximum_is_an_error_not_a_message() {
    let server = start(Config { max_message_bytes: 10, ..Config::default() }).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let _ = stream.write_all(&[b'x'; 11]).await;
    let _ = stream.shutdown().await;
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink).await;
    let events = server.finish().await;
    assert!(messages(&events).is_empty());
    assert_eq!(errors(&events), vec!["message too large: more than 10 bytes".to_string()]);
}

#[tokio::test]
async fn framed_acks_every_message_including_empty_and_back_to_back() {
    let server = start(framed()).await;
    send_framed_ok(server.addr, &[b"one", b"", "二".as_bytes()]).await;
    // Three frames in a single write: the server must split out exactly those.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&[0, 0, 0, 1, b'a', 0, 0, 0, 0, 0, 0, 0, 2, b'b', b'c']).await.unwrap();
    for (seq, payload) in [(1, &b"a"[..]), (2, b""), (3, b"bc")] {
        let reply = read_frame(&mut stream, 1024).await.unwrap().unwrap();
        assert_eq!(Reply::parse(&reply).unwrap(), Reply::Ack { seq, digest: Digest::of(payload) });
    }
    drop(stream);
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 6);
}

#[tokio::test]
async fn garbage_and_a_4_gib_prefix_get_err_and_the_server_serves_the_next_client() {
    let server = start(framed()).await;
    for garbage in [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], &[0xff, 0xff, 0xff, 0xff]] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(garbage).await.unwrap();
        let reply = read_frame(&mut stream, 1024).await.unwrap().unwrap();
        let reply = Reply::parse(&reply).unwrap();
        assert!(matches!(&reply, Reply::Err { code, .. } if code == "too-large"), "{reply:?}");
        // And then the server closes.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        assert!(rest.is_empty());
    }
    send_framed_ok(server.addr, &[b"still serving"]).await;
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 1);
    let errors = errors(&events);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[1].contains("4294967295 bytes > maximum 1024"), "{errors:?}");
}

#[tokio::test]
async fn eof_mid_frame_records_nothing_for_the_partial_message() {
    let server = start(framed()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    write_frame(&mut stream, b"whole").await.unwrap();
    let _ = read_frame(&mut stream, 1024).await.unwrap();
    stream.write_all(&[0, 0, 0, 10, b'p', b'a', b'r']).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    let events = server.finish().await;
    assert_eq!(messages(&events), vec![(1, 1, Digest::of(b"whole"))]);
    assert_eq!(
        errors(&events),
        vec!["frame 2: truncated frame: expected 10 payload bytes, got 3".to_string()]
    );
}

#[tokio::test]
async fn frames_that_arrive_a_byte_at_a_time_are_read_whole() {
    // The first bytes of a connection are read before its buffer exists; a prefix split across
    // them and the buffered reads after must still make one frame.
    let server = start(framed()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for payload in [&b"one"[..], b"two, longer"] {
        let mut frame = Vec::new();
        interop_wire::frame::encode(payload, &mut frame).unwrap();
        for byte in frame {
            stream.write_all(&[byte]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        read_frame(&mut stream, 1024).await.unwrap().unwrap();
    }
    drop(stream);
    let events = server.finish().await;
    let expected = vec![(1, 1, Digest::of(b"one")), (1, 2, Digest::of(b"two, longer"))];
    assert_eq!(messages(&events), expected);
}

#[tokio::test]
async fn a_framed_peer_that_never_sends_idles_out() {
    let server = start(Config { idle_timeout: Duration::from_millis(300), ..framed() }).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest).await;
    let events = server.finish().await;
    assert_eq!(errors(&events), ["idle timeout: nothing completed for 300 ms (0 bytes pending)"]);
}

#[tokio::test]
async fn each_frame_starts_a_new_idle_period() {
    // Twelve frames 200 ms apart: 2.4 s, over two idle periods, and never 1 s without a frame.
    // Then silence, which idles out.
    let server = start(Config { idle_timeout: Duration::from_secs(1), ..framed() }).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for i in 1..=12u64 {
        let payload = format!("frame {i}");
        write_frame(&mut stream, payload.as_bytes()).await.unwrap();
        assert_eq!(reply(&mut stream).await, Reply::Ack { seq: i, digest: Digest::of(payload.as_bytes()) });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 12);
    assert_eq!(errors(&events), ["idle timeout: nothing completed for 1000 ms (0 bytes pending)"]);
}

#[tokio::test]
async fn a_stalled_peer_blocks_nobody_and_idles_out() {
    // Long enough that the five busy connections never idle out between their own reads on a
    // loaded machine; the stalled one still idles out within a second.
    let config = Config { idle_timeout: Duration::from_secs(1), ..framed() };
    let server = start(config).await;
    // Half a frame, then silence.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(&[0, 0, 0, 100, 1, 2]).await.unwrap();
    for i in 0..5 {
        send_framed_ok(server.addr, &[format!("meanwhile {i}").as_bytes()]).await;
    }
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest).await; // the server gives up on it
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 5);
    assert!(errors(&events)[0].starts_with("idle timeout"), "{:?}", errors(&events));
}

#[tokio::test]
async fn a_raw_peer_that_idles_out_is_reset_never_closed_in_order() {
    // Raw mode's orderly close says "recorded" (PROTOCOL.md §2); an idle peer recorded nothing.
    let server = start(Config { idle_timeout: Duration::from_millis(300), ..Config::default() }).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(b"never ended").await.unwrap();
    let mut rest = Vec::new();
    let err = stalled.read_to_end(&mut rest).await.expect_err("a reset, never an orderly EOF");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    let events = server.finish().await;
    assert!(messages(&events).is_empty());
    assert!(errors(&events)[0].starts_with("idle timeout"), "{:?}", errors(&events));
}

/// Waits for the next `Connected` event, keeping every other event in `seen`.
async fn next_connected(server: &mut TestServer, seen: &mut Vec<ServerEvent>) {
    while let Some(event) = server.events.recv().await {
        let connected = matches!(event, ServerEvent::Connected { .. });
        seen.push(event);
        if connected {
            return;
        }
    }
    panic!("the server ended before another connection was accepted");
}

/// Reads one reply frame and parses it.
async fn reply<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Reply {
    Reply::parse(&read_frame(stream, 1024).await.unwrap().expect("a reply frame")).unwrap()
}

#[tokio::test]
async fn over_the_limit_a_framed_client_is_told_busy_at_once_and_holds_no_slot() {
    let mut server = start(Config { max_connections: 2, ..framed() }).await;
    let mut seen = Vec::new();
    let first = TcpStream::connect(server.addr).await.unwrap();
    next_connected(&mut server, &mut seen).await;
    let _second = TcpStream::connect(server.addr).await.unwrap();
    next_connected(&mut server, &mut seen).await;
    // The third is answered before it sends anything, and closed.
    for _ in 0..3 {
        let mut third = TcpStream::connect(server.addr).await.unwrap();
        let busy = reply(&mut third).await;
        assert_eq!(
            busy,
            Reply::Err {
                code: "busy".into(),
                detail: "2 connections open, the most this server serves (--max-connections)".into()
            }
        );
        assert_eq!(read_frame(&mut third, 1024).await.unwrap(), None, "then EOF");
    }
    // A slot that is given back is taken by the next client.
    drop(first);
    let served = async {
        loop {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            write_frame(&mut stream, b"served").await.unwrap();
            if let Reply::Ack { .. } = reply(&mut stream).await {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), served).await.expect("served once a slot is free");
    seen.extend(server.finish().await);
    let busy: Vec<_> = errors(&seen).into_iter().filter(|e| e.starts_with("busy: ")).collect();
    assert!(!busy.is_empty() && busy.len() <= 3, "{busy:?}");
    assert!(busy[0].ends_with("over --max-connections 2"), "{busy:?}");
    // Turned-away connections have no events of their own: 2 held + the one served.
    assert_eq!(seen.iter().filter(|e| matches!(e, ServerEvent::Connected { .. })).count(), 3);
}

#[tokio::test]
async fn over_the_limit_a_raw_client_is_reset() {
    let mut server = start(Config { max_connections: 1, ..Config::default() }).await;
    let mut seen = Vec::new();
    let _held = TcpStream::connect(server.addr).await.unwrap();
    next_connected(&mut server, &mut seen).await;
    let mut turned_away = TcpStream::connect(server.addr).await.unwrap();
    let _ = turned_away.write_all(b"not recorded").await;
    let _ = turned_away.shutdown().await;
    let mut rest = Vec::new();
    let err = turned_away.read_to_end(&mut rest).await.expect_err("a reset, never an orderly EOF");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    seen.extend(server.finish().await);
    assert!(messages(&seen).is_empty());
}

#[tokio::test]
async fn a_broken_log_means_err_output_instead_of_an_ack_and_the_server_stops() {
    let mut server = start_with(framed(), true).await;
    let mut seen = Vec::new();
    // One connection waits between frames, the other sends the message the log cannot take.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    next_connected(&mut server, &mut seen).await;
    let mut sender = TcpStream::connect(server.addr).await.unwrap();
    next_connected(&mut server, &mut seen).await;
    write_frame(&mut sender, b"lost?").await.unwrap();
    let expected = Reply::Err {
        code: "output".into(),
        detail: "writing output: No space left on device (os error 28)".into(),
    };
    assert_eq!(reply(&mut sender).await, expected);
    assert_eq!(reply(&mut idle).await, expected);
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.task).await.expect("stops on its own");
    let err = stopped.unwrap().unwrap_err();
    assert!(matches!(err, ServeError::Output(_)), "{err}");
    assert!(messages(&seen).is_empty());
}

#[tokio::test]
async fn a_broken_log_resets_a_raw_connection_instead_of_closing_it() {
    let server = start_with(Config::default(), true).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"not recorded").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let err = stream.read_to_end(&mut rest).await.expect_err("a reset, never an orderly EOF");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.task).await.expect("stops on its own");
    assert!(matches!(stopped.unwrap(), Err(ServeError::Output(_))));
}

#[tokio::test]
async fn connections_open_after_the_grace_period_are_cut_each_with_its_error() {
    let config = Config { shutdown_grace: Duration::from_millis(300), ..framed() };
    let mut server = start(config).await;
    let mut seen = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        write_frame(&mut stream, b"acknowledged").await.unwrap();
        assert!(matches!(reply(&mut stream).await, Reply::Ack { .. }));
        streams.push(stream);
    }
    let (stop, _) = oneshot::channel();
    let _ = std::mem::replace(&mut server.stop, stop).send(());
    seen.extend(server.finish().await);
    let mut cut: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Error { conn: Some(conn), error, .. } => Some((*conn, error.as_str())),
            _ => None,
        })
        .collect();
    cut.sort();
    let expected = "shutdown: cut off after the 300 ms grace period";
    assert_eq!(cut, [(1, expected), (2, expected), (3, expected)]);
    assert_eq!(messages(&seen).len(), 3);
    assert_eq!(
        errors(&seen).last().map(String::as_str),
        Some("shutdown: closed 3 connection(s) still open after 300 ms")
    );
    // And the clients see the connection end.
    for mut stream in streams {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    }
}

#[tokio::test]
async fn shutdown_lets_in_flight_connections_finish() {
    let mut server = start(framed()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    write_frame(&mut stream, b"before").await.unwrap();
    let _ = read_frame(&mut stream, 1024).await.unwrap();
    let (stop, _) = oneshot::channel();
    let stop = std::mem::replace(&mut server.stop, stop);
    let _ = stop.send(());
    // Still served after shutdown began.
    write_frame(&mut stream, b"after").await.unwrap();
    let reply = read_frame(&mut stream, 1024).await.unwrap().unwrap();
    assert!(Reply::parse(&reply).is_ok());
    drop(stream);
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 2);
    assert!(errors(&events).is_empty());
}

#[tokio::test]
async fn unix_sockets_replace_a_stale_file_and_name_peers_by_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    // A stale socket file: bound, then the listener dropped without removing it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let listener = interop_server::server::bind_unix(&path).unwrap();
    let (log, mut events) = memory_log(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, framed(), log, stopped));
    // A live server is not replaced.
    assert!(interop_server::server::bind_unix(&path).unwrap_err().to_string().contains("address in use"));
    let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    write_frame(&mut stream, b"over unix").await.unwrap();
    let reply = read_frame(&mut stream, 1024).await.unwrap().unwrap();
    assert_eq!(Reply::parse(&reply).unwrap(), Reply::Ack { seq: 1, digest: Digest::of(b"over unix") });
    drop(stream);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    let me = format!("pid:{}", std::process::id());
    assert!(all.iter().any(|e| matches!(e, ServerEvent::Message { peer, .. } if *peer == me)), "{all:?}");
    // Not a socket: never deleted.
    let file = dir.path().join("file");
    std::fs::write(&file, "keep me").unwrap();
    assert!(interop_server::server::bind_unix(&file).is_err());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test]
async fn udp_acknowledges_each_datagram_and_never_logs_a_truncated_one() {
    // Over IPv4 a datagram cannot exceed 65,507 bytes at all (EMSGSIZE); IPv6 allows 65,527, so
    // only there can a client send one that the server must recognise as too large.
    let Ok(socket) = tokio::net::UdpSocket::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback: cannot send an oversized datagram here");
        return;
    };
    let addr = socket.local_addr().unwrap();
    let (log, mut events) = memory_log(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(interop_server::udp::run(socket, Config::default(), log, stopped));
    let client = tokio::net::UdpSocket::bind("[::1]:0").await.unwrap();
    client.connect(addr).await.unwrap();
    let max = vec![7u8; interop_wire::MAX_UDP_PAYLOAD];
    let mut buf = vec![0u8; 2048];
    for (seq, payload) in [(1, &b"first"[..]), (2, b""), (3, &max[..])] {
        client.send(payload).await.unwrap();
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(Reply::parse(&buf[..n]).unwrap(), Reply::Ack { seq, digest: Digest::of(payload) });
    }
    // One byte over the maximum: truncated by the kernel into our buffer, so never logged.
    client.send(&vec![8u8; interop_wire::MAX_UDP_PAYLOAD + 1]).await.unwrap();
    let no_reply = tokio::time::timeout(Duration::from_millis(300), client.recv(&mut buf)).await;
    assert!(no_reply.is_err(), "no ack for a truncated datagram");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    assert_eq!(messages(&all).len(), 3);
    assert!(errors(&all)[0].contains("truncated"), "{all:?}");
}

#[tokio::test]
async fn udp_never_logs_a_datagram_over_max_message_bytes() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (log, mut events) = memory_log(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let config = Config { max_message_bytes: 8, ..Config::default() };
    let task = tokio::spawn(interop_server::udp::run(socket, config, log, stopped));
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.connect(addr).await.unwrap();
    let mut buf = vec![0u8; 2048];
    client.send(b"nine byte").await.unwrap();
    let no_reply = tokio::time::timeout(Duration::from_millis(300), client.recv(&mut buf)).await;
    assert!(no_reply.is_err(), "no ack for a datagram over the limit");
    // It took no sequence number: the next one is message 1.
    client.send(b"eight by").await.unwrap();
    let n = client.recv(&mut buf).await.unwrap();
    assert_eq!(Reply::parse(&buf[..n]).unwrap(), Reply::Ack { seq: 1, digest: Digest::of(b"eight by") });
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    assert_eq!(messages(&all).len(), 1);
    assert_eq!(errors(&all), ["datagram too large: 9 bytes > maximum 8; not logged"], "{all:?}");
}
