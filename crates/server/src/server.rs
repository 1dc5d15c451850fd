//! The accept loop and the per-connection protocols (PROTOCOL.md §2, §3, §5, §10), over TCP, Unix
//! domain stream sockets and UDP.
//!
//! Invariants:
//! - A connection permit is taken *before* `accept`, so at most `max_connections` are served and
//!   the rest wait in the kernel's backlog instead of in our memory.
//! - A message's size is checked before its buffer is allocated or grown past the maximum, so
//!   memory is bounded by `max_connections × max_message_bytes`.
//! - A connection's events are emitted in order: `Connected`, its `Message`s, then exactly one of
//!   `Closed` or `Error`. Nothing is emitted for a partial message.
//! - In framed mode (and over UDP) a message's event is emitted before its ACK is written, so an
//!   acknowledged message is always in the log.

use interop_wire::frame::{FrameError, read_frame, write_frame};
use interop_wire::reply::{ERR_TOO_LARGE, Reply};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, MAX_UDP_PAYLOAD, MessageView, Mode, addr_string, pid_string};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// How the server behaves; see `interop-server --help`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Raw or framed.
    pub mode: Mode,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: u32,
    /// Most connections served at once.
    pub max_connections: usize,
    /// How long a connection may sit without completing a read (raw) or a frame (framed).
    pub idle_timeout: Duration,
    /// How long in-flight connections may take to finish after shutdown is requested.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Raw,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Everything the server observes, in the order it happens. The output module prints these.
/// Addresses are already in their printed form (`127.0.0.1:5555`, `[::1]:5555`, `pid:42`,
/// `unix:/tmp/s.sock`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Bound and accepting.
    Listening {
        /// The bound address.
        addr: String,
        /// The server's mode.
        mode: Mode,
    },
    /// A connection was accepted (UDP: the first datagram from a new peer arrived).
    Connected {
        /// Connection number, from 1.
        conn: u64,
        /// The client's address.
        peer: String,
        /// Our end.
        local: String,
    },
    /// A whole message arrived.
    Message {
        /// Connection number.
        conn: u64,
        /// The client's address.
        peer: String,
        /// Message number on the connection, from 1.
        seq: u64,
        /// What is kept of the message for printing.
        view: MessageView,
    },
    /// The connection ended normally after `messages` messages.
    Closed {
        /// Connection number.
        conn: u64,
        /// The client's address.
        peer: String,
        /// Messages it carried.
        messages: u64,
    },
    /// A connection failed (`conn` set) or the server hit a problem of its own.
    Error {
        /// The connection, if the error belongs to one.
        conn: Option<(u64, String)>,
        /// What went wrong.
        error: String,
    },
}

/// Event sink shared by all tasks. Bounded, so a stalled stdout slows the server down instead of
/// queueing without limit.
type Events = mpsc::Sender<Event>;

/// A stream connection's two ends, as printed.
#[derive(Debug)]
pub struct Ends {
    /// The client's address (`pid:<pid>` for Unix sockets).
    pub peer: String,
    /// Ours.
    pub local: String,
}

/// Something that accepts stream connections: a TCP or a Unix listener.
pub trait Acceptor: Send + 'static {
    /// The connection type.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The listening address, as printed.
    fn local(&self) -> io::Result<String>;
    /// Waits for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, Ends)>> + Send;
}

impl Acceptor for TcpListener {
    type Stream = tokio::net::TcpStream;

    fn local(&self) -> io::Result<String> {
        self.local_addr().map(addr_string)
    }

    async fn accept(&self) -> io::Result<(Self::Stream, Ends)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        let local = stream.local_addr()?;
        // Acks are small writes answered by the client's next frame: don't let Nagle hold them.
        let _ = stream.set_nodelay(true);
        Ok((stream, Ends { peer: addr_string(peer), local: addr_string(local) }))
    }
}

/// A Unix listener that knows its path (the socket's own address does not print usefully).
#[derive(Debug)]
pub struct UnixAcceptor {
    /// The listener.
    pub listener: UnixListener,
    /// The path it is bound to.
    pub path: PathBuf,
}

impl Acceptor for UnixAcceptor {
    type Stream = tokio::net::UnixStream;

    fn local(&self) -> io::Result<String> {
        Ok(format!("unix:{}", self.path.display()))
    }

    async fn accept(&self) -> io::Result<(Self::Stream, Ends)> {
        let (stream, _) = self.listener.accept().await?;
        // An unnamed client socket has no address; its process id identifies it (PROTOCOL §10.2).
        let peer = match stream.peer_cred().ok().and_then(|c| c.pid()) {
            Some(pid) => pid_string(pid),
            None => "pid:unknown".into(),
        };
        Ok((stream, Ends { peer, local: self.local()? }))
    }
}

/// Serves `listener` until `shutdown` completes, then lets in-flight connections finish for up to
/// `config.shutdown_grace` and returns. Every observation is sent to `events`.
pub async fn run<A: Acceptor>(
    listener: A,
    config: Config,
    events: Events,
    shutdown: impl Future,
) -> io::Result<()> {
    emit(&events, Event::Listening { addr: listener.local()?, mode: config.mode }).await;
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut tasks = JoinSet::new();
    let mut next_conn = 1u64;
    let mut backoff = Duration::from_secs(1);
    tokio::pin!(shutdown);

    loop {
        // Reap finished connection tasks so the set does not grow with every connection served.
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        match accepted {
            Ok((stream, ends, permit)) => {
                backoff = Duration::from_secs(1);
                let conn = next_conn;
                next_conn += 1;
                let (config, events) = (config.clone(), events.clone());
                tasks.spawn(async move {
                    serve(stream, conn, ends, &config, &events).await;
                    drop(permit);
                });
            }
            Err(err) => {
                // Out of file descriptors and the like: say so, then back off rather than spin.
                emit(&events, Event::Error { conn: None, error: format!("accept failed: {err}") }).await;
                tokio::select! {
                    _ = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(64));
            }
        }
    }

    drop(listener);
    let drained = timeout(config.shutdown_grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        let open = tasks.len();
        tasks.shutdown().await;
        let error = format!(
            "shutdown: closed {open} connection(s) still open after {} ms",
            config.shutdown_grace.as_millis()
        );
        emit(&events, Event::Error { conn: None, error }).await;
    }
    Ok(())
}

/// Waits for a connection permit, then for a connection.
async fn accept<A: Acceptor>(
    listener: &A,
    permits: &Arc<Semaphore>,
) -> io::Result<(A::Stream, Ends, tokio::sync::OwnedSemaphorePermit)> {
    // The semaphore is never closed, so acquiring can only fail if it were.
    let permit = permits.clone().acquire_owned().await.map_err(io::Error::other)?;
    let (stream, ends) = listener.accept().await?;
    Ok((stream, ends, permit))
}

async fn emit(events: &Events, event: Event) {
    // The receiver only goes away when the process is exiting; losing events then is fine.
    let _ = events.send(event).await;
}

/// Runs one connection to its end and reports how it ended.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    conn: u64,
    ends: Ends,
    config: &Config,
    events: &Events,
) {
    let Ends { peer, local } = ends;
    emit(events, Event::Connected { conn, peer: peer.clone(), local }).await;
    let served = match config.mode {
        Mode::Raw => serve_raw(&mut stream, conn, &peer, config, events).await,
        Mode::Framed => serve_framed(&mut stream, conn, &peer, config, events).await,
    };
    let event = match served {
        Ok(messages) => Event::Closed { conn, peer, messages },
        Err(error) => Event::Error { conn: Some((conn, peer)), error },
    };
    emit(events, event).await;
}

/// Raw mode: the message is everything up to EOF. Returns the number of messages (always 1).
async fn serve_raw<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: u64,
    peer: &str,
    config: &Config,
    events: &Events,
) -> Result<u64, String> {
    let max = config.max_message_bytes as usize;
    let mut message = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match timeout(config.idle_timeout, stream.read(&mut chunk)).await {
            Err(_) => return Err(idle_error(config, message.len())),
            Ok(Err(err)) => return Err(format!("read failed after {} bytes: {err}", message.len())),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            break;
        }
        if message.len() + n > max {
            return Err(format!("message too large: more than {max} bytes"));
        }
        message.extend_from_slice(&chunk[..n]);
    }
    let view = MessageView::of(&message);
    emit(events, Event::Message { conn, peer: peer.into(), seq: 1, view }).await;
    // Closing (on drop) is the only answer raw mode has; shut down politely first.
    let _ = stream.shutdown().await;
    Ok(1)
}

/// Framed mode: read frames until EOF between frames, acknowledging each.
async fn serve_framed<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: u64,
    peer: &str,
    config: &Config,
    events: &Events,
) -> Result<u64, String> {
    let mut seq = 0u64;
    loop {
        let frame = match timeout(config.idle_timeout, read_frame(stream, config.max_message_bytes)).await {
            Err(_) => return Err(idle_error(config, 0)),
            Ok(frame) => frame,
        };
        let payload = match frame {
            Ok(Some(payload)) => payload,
            Ok(None) => return Ok(seq),
            Err(FrameError::TooLarge { len, max }) => {
                let reply = Reply::Err { code: ERR_TOO_LARGE.into(), detail: format!("{len} > {max}") };
                let _ = write_frame(stream, reply.to_string().as_bytes()).await;
                let _ = stream.shutdown().await;
                // Read (and drop) what the peer already sent for a moment, so that closing does
                // not reset the connection and destroy the ERR reply before the client reads it.
                let mut sink = vec![0u8; 64 * 1024];
                let _ = timeout(Duration::from_secs(1), async {
                    while let Ok(1..) = stream.read(&mut sink).await {}
                })
                .await;
                return Err(format!("frame {} too large: {len} bytes > maximum {max}", seq + 1));
            }
            Err(err) => return Err(format!("frame {}: {err}", seq + 1)),
        };
        seq += 1;
        let view = MessageView::of(&payload);
        let ack = Reply::Ack { seq, digest: view.digest };
        emit(events, Event::Message { conn, peer: peer.into(), seq, view }).await;
        if let Err(err) = write_frame(stream, ack.to_string().as_bytes()).await {
            return Err(format!("writing ack {seq} failed: {err}"));
        }
    }
}

fn idle_error(config: &Config, got: usize) -> String {
    format!(
        "idle timeout: nothing completed for {} ms ({got} bytes pending)",
        config.idle_timeout.as_millis()
    )
}

/// Serves UDP until `shutdown` completes (PROTOCOL.md §10.3): every datagram is a message, logged
/// and then acknowledged to its sender; a datagram larger than the maximum is never logged.
pub async fn run_udp(
    socket: UdpSocket,
    config: Config,
    events: Events,
    shutdown: impl Future,
) -> io::Result<()> {
    let local = addr_string(socket.local_addr()?);
    emit(&events, Event::Listening { addr: local.clone(), mode: config.mode }).await;
    // One byte more than the largest datagram: a full buffer means the kernel truncated it.
    let mut buf = vec![0u8; MAX_UDP_PAYLOAD + 1];
    // Per peer: its connection number and how many datagrams it sent. Bounded: when a flood of
    // new peers fills it, the oldest numbering is forgotten (their next datagram starts anew).
    let mut peers: HashMap<std::net::SocketAddr, (u64, u64)> = HashMap::new();
    let mut next_conn = 1u64;
    tokio::pin!(shutdown);
    loop {
        let (n, from) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(err) => {
                    // ICMP errors from earlier sends surface here (e.g. a client that left).
                    emit(&events, Event::Error { conn: None, error: format!("receive failed: {err}") }).await;
                    continue;
                }
            },
        };
        let peer = addr_string(from);
        if peers.len() >= config.max_connections && !peers.contains_key(&from) {
            peers.clear();
        }
        let (conn, seq) = match peers.get_mut(&from) {
            Some((conn, seq)) => {
                *seq += 1;
                (*conn, *seq)
            }
            None => {
                let conn = next_conn;
                next_conn += 1;
                peers.insert(from, (conn, 1));
                emit(&events, Event::Connected { conn, peer: peer.clone(), local: local.clone() }).await;
                (conn, 1)
            }
        };
        if n > MAX_UDP_PAYLOAD {
            let error = format!("datagram {seq} truncated: larger than {MAX_UDP_PAYLOAD} bytes; not logged");
            emit(&events, Event::Error { conn: Some((conn, peer)), error }).await;
            continue;
        }
        let view = MessageView::of(&buf[..n]);
        let ack = Reply::Ack { seq, digest: view.digest };
        emit(&events, Event::Message { conn, peer: peer.clone(), seq, view }).await;
        if let Err(err) = socket.send_to(ack.to_string().as_bytes(), from).await {
            emit(
                &events,
                Event::Error { conn: Some((conn, peer)), error: format!("sending ack {seq}: {err}") },
            )
            .await;
        }
    }
}

/// Binds a Unix listener at `path` (PROTOCOL.md §10.2): a stale socket file nobody listens on is
/// removed first; a live one, or anything that is not a socket, is an error.
pub fn bind_unix(path: &std::path::Path) -> io::Result<UnixAcceptor> {
    use std::os::unix::fs::FileTypeExt as _;
    interop_wire::check_unix_path(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket; not removing it", path.display()),
            ));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("address in use: a server listens on {}", path.display()),
                ));
            }
            // Nobody listens: a stale file from an earlier run.
            Err(_) => std::fs::remove_file(path)?,
        }
    }
    Ok(UnixAcceptor { listener: UnixListener::bind(path)?, path: path.to_owned() })
}

/// Converts an event to its JSON line form (PROTOCOL.md §8.1).
impl From<&Event> for interop_wire::json::ServerEvent {
    fn from(event: &Event) -> Self {
        use interop_wire::json::ServerEvent as J;
        match event {
            Event::Listening { addr, mode } => J::Listening { addr: addr.clone(), mode: *mode },
            Event::Connected { conn, peer, local } => {
                J::Connected { conn: *conn, peer: peer.clone(), local: local.clone() }
            }
            Event::Message { conn, peer, seq, view } => J::Message {
                conn: *conn,
                peer: peer.clone(),
                seq: *seq,
                len: view.digest.len,
                sha256: view.digest.sha256_hex(),
                text: view.text.clone(),
            },
            Event::Closed { conn, peer, messages } => {
                J::Closed { conn: *conn, peer: peer.clone(), messages: *messages }
            }
            Event::Error { conn, error } => J::Error {
                conn: conn.as_ref().map(|(conn, _)| *conn),
                peer: conn.as_ref().map(|(_, peer)| peer.clone()),
                error: error.clone(),
            },
        }
    }
}
