//! The server in-process on 127.0.0.1:0, driven with raw bytes on real sockets.

use interop_server::{Config, Event, run};
use interop_wire::reply::Reply;
use interop_wire::{Digest, Mode, read_frame, write_frame};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

struct TestServer {
    addr: SocketAddr,
    events: mpsc::Receiver<Event>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: Config) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, events) = mpsc::channel(1024);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, tx, stopped));
    TestServer { addr, events, stop, task }
}

impl TestServer {
    /// Stops the server and returns every event it emitted.
    async fn finish(mut self) -> Vec<Event> {
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

fn messages(events: &[Event]) -> Vec<(u64, u64, Digest)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { conn, seq, view, .. } => Some((*conn, *seq, view.digest)),
            _ => None,
        })
        .collect()
}

fn errors(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Error { error, .. } => Some(error.clone()),
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
    assert!(matches!(events.last(), Some(Event::Closed { messages: 1, .. })));
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
async fn connection_limit_queues_instead_of_failing() {
    let config = Config { max_connections: 1, idle_timeout: Duration::from_millis(500), ..framed() };
    let server = start(config).await;
    let _holder = TcpStream::connect(server.addr).await.unwrap();
    // Served once the holder idles out and gives its permit back.
    send_framed_ok(server.addr, &[b"after the wait"]).await;
    let events = server.finish().await;
    assert_eq!(messages(&events).len(), 1);
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
    let (tx, mut events) = mpsc::channel(1024);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, framed(), tx, stopped));
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
    assert!(all.iter().any(|e| matches!(e, Event::Message { peer, .. } if *peer == me)), "{all:?}");
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
    let (tx, mut events) = mpsc::channel(1024);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(interop_server::server::run_udp(socket, Config::default(), tx, stopped));
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
