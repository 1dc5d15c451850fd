//! The accept loop and the two per-connection protocols (PROTOCOL.md §2, §3, §5).
//!
//! Invariants:
//! - A connection permit is taken *before* `accept`, so at most `max_connections` are served and
//!   the rest wait in the kernel's backlog instead of in our memory.
//! - A message's size is checked before its buffer is allocated or grown past the maximum, so
//!   memory is bounded by `max_connections × max_message_bytes`.
//! - A connection's events are emitted in order: `Connected`, its `Message`s, then exactly one of
//!   `Closed` or `Error`. Nothing is emitted for a partial message.
//! - In framed mode a message's event is emitted before its ACK is written, so an acknowledged
//!   message is always in the log.

use interop_wire::frame::{FrameError, read_frame, write_frame};
use interop_wire::reply::{ERR_TOO_LARGE, Reply};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, MessageView, Mode, addr_string};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Bound and accepting.
    Listening {
        /// The bound address.
        addr: SocketAddr,
        /// The server's mode.
        mode: Mode,
    },
    /// A connection was accepted.
    Connected {
        /// Connection number, from 1.
        conn: u64,
        /// The client's address.
        peer: SocketAddr,
        /// Our end.
        local: SocketAddr,
    },
    /// A whole message arrived.
    Message {
        /// Connection number.
        conn: u64,
        /// The client's address.
        peer: SocketAddr,
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
        peer: SocketAddr,
        /// Messages it carried.
        messages: u64,
    },
    /// A connection failed (`conn` set) or the server hit a problem of its own.
    Error {
        /// The connection, if the error belongs to one.
        conn: Option<(u64, SocketAddr)>,
        /// What went wrong.
        error: String,
    },
}

/// Event sink shared by all tasks. Bounded, so a stalled stdout slows the server down instead of
/// queueing without limit.
type Events = mpsc::Sender<Event>;

/// Serves `listener` until `shutdown` completes, then lets in-flight connections finish for up to
/// `config.shutdown_grace` and returns. Every observation is sent to `events`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    events: Events,
    shutdown: impl Future,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    emit(
        &events,
        Event::Listening {
            addr,
            mode: config.mode,
        },
    )
    .await;
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
            Ok((stream, peer, permit)) => {
                backoff = Duration::from_secs(1);
                let conn = next_conn;
                next_conn += 1;
                let (config, events) = (config.clone(), events.clone());
                tasks.spawn(async move {
                    serve(stream, conn, peer, &config, &events).await;
                    drop(permit);
                });
            }
            Err(err) => {
                // Out of file descriptors and the like: say so, then back off rather than spin.
                emit(
                    &events,
                    Event::Error {
                        conn: None,
                        error: format!("accept failed: {err}"),
                    },
                )
                .await;
                tokio::select! {
                    _ = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(64));
            }
        }
    }

    drop(listener);
    let drained = timeout(config.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
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
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> io::Result<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    // The semaphore is never closed, so acquiring can only fail if it were.
    let permit = permits.clone().acquire_owned().await.map_err(io::Error::other)?;
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, permit))
}

async fn emit(events: &Events, event: Event) {
    // The receiver only goes away when the process is exiting; losing events then is fine.
    let _ = events.send(event).await;
}

/// Runs one connection to its end and reports how it ended.
async fn serve(mut stream: TcpStream, conn: u64, peer: SocketAddr, config: &Config, events: &Events) {
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(err) => {
            let error = format!("local address unavailable: {err}");
            emit(
                events,
                Event::Error {
                    conn: Some((conn, peer)),
                    error,
                },
            )
            .await;
            return;
        }
    };
    emit(events, Event::Connected { conn, peer, local }).await;
    // Acks are small writes answered by the client's next frame: don't let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let served = match config.mode {
        Mode::Raw => serve_raw(&mut stream, conn, peer, config, events).await,
        Mode::Framed => serve_framed(&mut stream, conn, peer, config, events).await,
    };
    let event = match served {
        Ok(messages) => Event::Closed { conn, peer, messages },
        Err(error) => Event::Error {
            conn: Some((conn, peer)),
            error,
        },
    };
    emit(events, event).await;
}

/// Raw mode: the message is everything up to EOF. Returns the number of messages (always 1).
async fn serve_raw(
    stream: &mut TcpStream,
    conn: u64,
    peer: SocketAddr,
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
    emit(
        events,
        Event::Message {
            conn,
            peer,
            seq: 1,
            view,
        },
    )
    .await;
    // Closing (on drop) is the only answer raw mode has; shut down politely first.
    let _ = stream.shutdown().await;
    Ok(1)
}

/// Framed mode: read frames until EOF between frames, acknowledging each.
async fn serve_framed(
    stream: &mut TcpStream,
    conn: u64,
    peer: SocketAddr,
    config: &Config,
    events: &Events,
) -> Result<u64, String> {
    let (mut reader, mut writer) = stream.split();
    let mut seq = 0u64;
    loop {
        let frame = match timeout(
            config.idle_timeout,
            read_frame(&mut reader, config.max_message_bytes),
        )
        .await
        {
            Err(_) => return Err(idle_error(config, 0)),
            Ok(frame) => frame,
        };
        let payload = match frame {
            Ok(Some(payload)) => payload,
            Ok(None) => return Ok(seq),
            Err(FrameError::TooLarge { len, max }) => {
                let reply = Reply::Err {
                    code: ERR_TOO_LARGE.into(),
                    detail: format!("{len} > {max}"),
                };
                let _ = write_frame(&mut writer, reply.to_string().as_bytes()).await;
                let _ = writer.shutdown().await;
                // Read (and drop) what the peer already sent for a moment, so that closing does
                // not reset the connection and destroy the ERR reply before the client reads it.
                let mut sink = vec![0u8; 64 * 1024];
                let _ = timeout(Duration::from_secs(1), async {
                    while let Ok(1..) = reader.read(&mut sink).await {}
                })
                .await;
                return Err(format!(
                    "frame {} too large: {len} bytes > maximum {max}",
                    seq + 1
                ));
            }
            Err(err) => return Err(format!("frame {}: {err}", seq + 1)),
        };
        seq += 1;
        let view = MessageView::of(&payload);
        let ack = Reply::Ack {
            seq,
            digest: view.digest,
        };
        emit(
            events,
            Event::Message {
                conn,
                peer,
                seq,
                view,
            },
        )
        .await;
        if let Err(err) = write_frame(&mut writer, ack.to_string().as_bytes()).await {
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

/// Converts an event to its JSON line form (PROTOCOL.md §8.1).
impl From<&Event> for interop_wire::json::ServerEvent {
    fn from(event: &Event) -> Self {
        use interop_wire::json::ServerEvent as J;
        match event {
            Event::Listening { addr, mode } => J::Listening {
                addr: addr_string(*addr),
                mode: *mode,
            },
            Event::Connected { conn, peer, local } => J::Connected {
                conn: *conn,
                peer: addr_string(*peer),
                local: addr_string(*local),
            },
            Event::Message {
                conn,
                peer,
                seq,
                view,
            } => J::Message {
                conn: *conn,
                peer: addr_string(*peer),
                seq: *seq,
                len: view.digest.len,
                sha256: view.digest.sha256_hex(),
                text: view.text.clone(),
            },
            Event::Closed { conn, peer, messages } => J::Closed {
                conn: *conn,
                peer: addr_string(*peer),
                messages: *messages,
            },
            Event::Error { conn, error } => J::Error {
                conn: conn.map(|(conn, _)| conn),
                peer: conn.map(|(_, peer)| addr_string(peer)),
                error: error.clone(),
            },
        }
    }
}
