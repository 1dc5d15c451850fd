//! The accept loop and the per-connection protocols (PROTOCOL.md §2, §3, §5, §10), over TCP and Unix
//! domain stream sockets (UDP: [`crate::udp`]).
//!
//! Invariants:
//! - At most `max_connections` connections are served; one over the limit is turned away at once
//!   (`ERR busy`, or a reset in raw mode) and holds no slot. At most [`TURNED_AWAY_RESERVE`] of
//!   those are open at a time; while they are, nothing is accepted and the rest wait in the
//!   kernel's backlog.
//! - A message's size is checked before its buffer is allocated, and again as it grows, so memory
//!   is bounded by `max_connections` × (at most twice `max_message_bytes`, as a `Vec` doubles, plus
//!   a framed connection's 16 KiB read buffer, made only once its peer has sent something).
//! - A connection's events are emitted in order: `Connected`, its `Message`s, then exactly one of
//!   `Closed` or `Error`. Nothing is emitted for a partial message.
//! - A message's record is written and flushed ([`Log::record`]) before its ACK is written (or, in
//!   raw mode, before the orderly close that is raw mode's only acknowledgement), so an
//!   acknowledged message is always in the log. Once the log is broken the server stops: open
//!   framed connections get `ERR output`, raw ones a reset, and `run` returns the failure.
//! - On shutdown, connections still open after the grace period are cut, each with its `Error`.

use crate::log::{Log, OutputError};
use interop_wire::frame::{FrameError, HEADER_LEN, read_frame, write_frame};
use interop_wire::json::ServerEvent;
use interop_wire::reply::{ERR_BUSY, ERR_OUTPUT, ERR_TOO_LARGE, Reply};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, MessageView, Mode, addr_string, pid_string};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, Chain};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Sleep, timeout};

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

/// A stream connection's two ends, as printed.
#[derive(Debug)]
pub struct Ends {
    /// The client's address (`pid:<pid>` for Unix sockets).
    pub peer: String,
    /// Ours.
    pub local: String,
}

/// An accepted stream connection: TCP or Unix.
pub trait Connected: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Makes closing the connection reset it, instead of an orderly FIN: how raw mode says "not
    /// recorded" (PROTOCOL.md §2).
    fn reset(&mut self);
    /// Waits until there may be something to read (bytes, or the end of the stream): it may also
    /// complete when there is not, and [`try_read`](Self::try_read) then says `WouldBlock`.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads what is there without waiting; `WouldBlock` if nothing is.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
}

impl Connected for tokio::net::TcpStream {
    fn reset(&mut self) {
        let _ = self.set_zero_linger();
    }

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        tokio::net::TcpStream::readable(self)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        tokio::net::TcpStream::try_read(self, buf)
    }
}

impl Connected for tokio::net::UnixStream {
    /// A Unix socket closed with unread input resets its peer anyway; nothing to set.
    fn reset(&mut self) {}

    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        tokio::net::UnixStream::readable(self)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        tokio::net::UnixStream::try_read(self, buf)
    }
}

/// Something that accepts stream connections: a TCP or a Unix listener.
pub trait Acceptor: Send + 'static {
    /// The connection type.
    type Stream: Connected;
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

/// At most this many connections turned away over the limit are open at once (each for at most
/// a second); while they are, nothing more is accepted.
pub const TURNED_AWAY_RESERVE: usize = 64;

/// How long a refused connection is read (and the input dropped) after its `ERR` reply, so that
/// closing does not reset the connection and destroy the reply before the client reads it.
const REFUSAL_DRAIN: Duration = Duration::from_secs(1);

/// A framed connection's read buffer: many small frames per read, and one read for a frame's
/// prefix and payload.
const READ_BUFFER: usize = 16 * 1024;

/// A raw connection's first read, and the least room each later read has.
const RAW_READ: usize = 4 * 1024;

/// Once the log is broken, how long connections get to send their `ERR output` and close. The
/// server exits within a second of the failure (PROTOCOL.md §5).
const OUTPUT_FAILURE_WAIT: Duration = Duration::from_millis(600);

/// How long the connections cut at the end of the shutdown grace period get to log their `error`.
const CUT_WAIT: Duration = Duration::from_millis(500);

/// The exit code of a server whose log could not be written (PROTOCOL.md §5).
pub const EXIT_OUTPUT: u8 = 3;

/// Why the server stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The log could not be written (PROTOCOL.md §5: exit code 3).
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The listener failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Why open connections must end now.
#[derive(Clone, Debug)]
enum Ending {
    /// The shutdown grace period is over.
    GraceOver(Duration),
    /// The log is broken.
    Output(OutputError),
}

/// Serves `listener` until `shutdown` completes, then lets in-flight connections finish for up to
/// `config.shutdown_grace`, cuts off the rest, and returns. Every observation goes to `log`.
/// Returns early, with [`ServeError::Output`], if the log breaks.
pub async fn run<A: Acceptor>(
    listener: A,
    config: Config,
    log: Log,
    shutdown: impl Future,
) -> Result<(), ServeError> {
    // Written and flushed before anything is accepted: a stdout that cannot be written stops the
    // server before it serves anyone.
    log.record(ServerEvent::Listening { addr: listener.local()?, mode: config.mode }).await?;
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let reserve = Arc::new(Semaphore::new(TURNED_AWAY_RESERVE));
    let (ending, ending_rx) = watch::channel(None);
    let mut tasks = JoinSet::new();
    let mut turned_away = JoinSet::new();
    let mut busy = BusyReport::new(config.max_connections);
    let mut next_conn = 1u64;
    let mut backoff = Duration::from_secs(1);
    tokio::pin!(shutdown);

    let broken = loop {
        // Reap finished tasks so the sets do not grow with every connection served.
        while tasks.try_join_next().is_some() {}
        while turned_away.try_join_next().is_some() {}
        let accepted = tokio::select! {
            biased;
            failure = log.failed() => break Some(failure),
            _ = &mut shutdown => break None,
            accepted = accept(&listener, &reserve) => accepted,
        };
        match accepted {
            Ok((stream, ends, reserved)) => {
                backoff = Duration::from_secs(1);
                match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        drop(reserved);
                        let conn = Connection {
                            id: next_conn,
                            peer: ends.peer.clone(),
                            config: config.clone(),
                            log: log.clone(),
                            ending: ending_rx.clone(),
                        };
                        next_conn += 1;
                        tasks.spawn(async move {
                            conn.serve(stream, ends.local).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        turned_away.spawn(turn_away(stream, config.clone(), reserved));
                        busy.turned_away(&log).await;
                    }
                }
            }
            Err(err) => {
                // Out of file descriptors and the like: say so, then back off rather than spin.
                log.emit(ServerEvent::Error {
                    conn: None,
                    peer: None,
                    error: format!("accept failed: {err}"),
                })
                .await;
                tokio::select! {
                    biased;
                    failure = log.failed() => break Some(failure),
                    _ = &mut shutdown => break None,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(64));
            }
        }
    };
    drop(listener);
    let broken = match broken {
        Some(failure) => Some(failure),
        None => {
            let all_done = async { while tasks.join_next().await.is_some() {} };
            tokio::select! {
                biased;
                failure = log.failed() => Some(failure),
                _ = timeout(config.shutdown_grace, all_done) => None,
            }
        }
    };
    turned_away.shutdown().await;
    if let Some(failure) = broken {
        // Every open connection answers `ERR output` (or is reset) and closes; the rest is cut.
        ending.send_replace(Some(Ending::Output(failure.clone())));
        let _ = timeout(OUTPUT_FAILURE_WAIT, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.shutdown().await;
        return Err(failure.into());
    }
    if !tasks.is_empty() {
        let open = tasks.len();
        ending.send_replace(Some(Ending::GraceOver(config.shutdown_grace)));
        let _ = timeout(CUT_WAIT, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.shutdown().await;
        let error = format!(
            "shutdown: closed {open} connection(s) still open after {} ms",
            config.shutdown_grace.as_millis()
        );
        log.emit(ServerEvent::Error { conn: None, peer: None, error }).await;
    }
    busy.flush(&log).await;
    Ok(())
}

/// Waits for room among the turned-away connections, then for a connection.
async fn accept<A: Acceptor>(
    listener: &A,
    reserve: &Arc<Semaphore>,
) -> io::Result<(A::Stream, Ends, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so acquiring can only fail if it were.
    let reserved = reserve.clone().acquire_owned().await.map_err(io::Error::other)?;
    let (stream, ends) = listener.accept().await?;
    Ok((stream, ends, reserved))
}

/// Logs the connections turned away over the limit: at most one event a second, counting them.
#[derive(Debug)]
struct BusyReport {
    max_connections: usize,
    last: Option<Instant>,
    unreported: u64,
}

impl BusyReport {
    fn new(max_connections: usize) -> Self {
        BusyReport { max_connections, last: None, unreported: 0 }
    }

    async fn turned_away(&mut self, log: &Log) {
        self.unreported += 1;
        if self.last.is_none_or(|last| last.elapsed() >= Duration::from_secs(1)) {
            self.flush(log).await;
        }
    }

    async fn flush(&mut self, log: &Log) {
        if self.unreported > 0 {
            let error = format!(
                "busy: turned away {} connection(s) over --max-connections {}",
                self.unreported, self.max_connections
            );
            log.emit(ServerEvent::Error { conn: None, peer: None, error }).await;
            self.unreported = 0;
            self.last = Some(Instant::now());
        }
    }
}

/// Answers a connection over the limit (PROTOCOL.md §5): framed, `ERR busy`; raw, a reset.
async fn turn_away<S: Connected>(mut stream: S, config: Arc<Config>, reserved: OwnedSemaphorePermit) {
    match config.mode {
        Mode::Raw => stream.reset(),
        Mode::Framed => {
            let detail = format!(
                "{} connections open, the most this server serves (--max-connections)",
                config.max_connections
            );
            let reply = Reply::Err { code: ERR_BUSY.into(), detail };
            refuse(&mut stream, &reply, REFUSAL_DRAIN).await;
        }
    }
    drop(reserved);
}

/// Sends `reply`, shuts down our side, then reads (and drops) what the peer sends until it closes
/// or `drain` is over, so that closing does not reset the connection and destroy the reply before
/// the client reads it.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, reply: &Reply, drain: Duration) {
    let _ = timeout(drain, async {
        let _ = write_frame(stream, reply.to_string().as_bytes()).await;
        let _ = stream.shutdown().await;
        let mut sink = vec![0u8; 64 * 1024];
        while let Ok(1..) = stream.read(&mut sink).await {}
    })
    .await;
}

/// A served connection, as its task sees it.
struct Connection {
    id: u64,
    peer: String,
    config: Arc<Config>,
    log: Log,
    ending: watch::Receiver<Option<Ending>>,
}

/// How a connection ended other than normally.
enum Failed {
    /// Logged as its `error` event.
    Error(String),
    /// The log is broken: the connection was answered and closed, and nothing more is logged.
    Output,
}

impl From<String> for Failed {
    fn from(error: String) -> Self {
        Failed::Error(error)
    }
}

/// How a connection's wait ended.
enum Waited<T> {
    /// The awaited work completed.
    Done(T),
    /// The idle deadline passed first.
    Idle,
    /// The connection must end now.
    Ending(Ending),
}

/// What cuts a connection's waits short: its idle deadline, and the end of the server.
///
/// Both last as long as the connection, not one wait: a frame costs no timer and no registration
/// with the server's ending. Moving the deadline on only changes a field; the timer, set for an
/// earlier deadline, is reset when it fires early (at most once an idle period).
struct Waits<'a, E> {
    deadline: tokio::time::Instant,
    timer: Pin<&'a mut Sleep>,
    /// Completes when the connection must end; polled only while the work waits, once the cheap
    /// look at `ended` has found nothing.
    ending: Pin<&'a mut E>,
    ended: watch::Receiver<Option<Ending>>,
}

impl<E: Future<Output = Ending>> Waits<'_, E> {
    /// Starts a new idle period, from now.
    fn restart(&mut self, idle: Duration) {
        self.deadline = tokio::time::Instant::now() + idle;
    }

    /// Runs `work` until it completes, the idle deadline passes, or the connection must end.
    async fn run<T>(&mut self, work: impl Future<Output = T>) -> Waited<T> {
        self.wait(work, true).await
    }

    /// Runs `work` until it completes or the connection must end; the deadline does not apply.
    async fn run_untimed<T>(&mut self, work: impl Future<Output = T>) -> Waited<T> {
        self.wait(work, false).await
    }

    async fn wait<T>(&mut self, work: impl Future<Output = T>, timed: bool) -> Waited<T> {
        // An atomic load: work that is always ready at once (a peer that pipelines) must still
        // see the end of the server.
        if !matches!(self.ended.has_changed(), Ok(false)) {
            return Waited::Ending(self.ending.as_mut().await);
        }
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                done = &mut work => return Waited::Done(done),
                ending = self.ending.as_mut() => return Waited::Ending(ending),
                () = self.timer.as_mut(), if timed => {
                    if tokio::time::Instant::now() >= self.deadline {
                        return Waited::Idle;
                    }
                    let deadline = self.deadline;
                    self.timer.as_mut().reset(deadline);
                }
            }
        }
    }
}

impl Connection {
    /// Runs the connection to its end and logs how it ended.
    async fn serve<S: Connected>(mut self, mut stream: S, local: String) {
        let (conn, peer) = (self.id, self.peer.clone());
        self.log.emit(ServerEvent::Connected { conn, peer: peer.clone(), local }).await;
        let grace = self.config.shutdown_grace;
        let mut watched = self.ending.clone();
        let ending = async move {
            match watched.wait_for(Option::is_some).await {
                Ok(ending) => ending.clone().unwrap_or(Ending::GraceOver(grace)),
                // The server is gone: nothing waits for this connection any more.
                Err(_) => Ending::GraceOver(grace),
            }
        };
        let timer = tokio::time::sleep(self.config.idle_timeout);
        tokio::pin!(ending, timer);
        let mut waits = Waits { deadline: timer.deadline(), timer, ending, ended: self.ending.clone() };
        let served = match self.config.mode {
            Mode::Raw => self.serve_raw(&mut stream, &mut waits).await,
            Mode::Framed => self.serve_framed(&mut stream, &mut waits).await,
        };
        let event = match served {
            Ok(messages) => ServerEvent::Closed { conn, peer, messages },
            Err(Failed::Error(error)) => {
                // No message was recorded: raw mode's orderly close would say it was (an idle
                // peer, one over the limit, one cut off at shutdown), so reset it (PROTOCOL.md §2).
                if self.config.mode == Mode::Raw {
                    stream.reset();
                }
                ServerEvent::Error { conn: Some(conn), peer: Some(peer), error }
            }
            Err(Failed::Output) => return,
        };
        self.log.emit(event).await;
    }

    /// Ends the connection for `ending`: framed, an `ERR output` for a broken log; raw, a reset.
    async fn end<S: Connected>(&self, stream: &mut S, ending: Ending) -> Failed {
        match ending {
            Ending::GraceOver(grace) => {
                Failed::Error(format!("shutdown: cut off after the {} ms grace period", grace.as_millis()))
            }
            Ending::Output(failure) => {
                self.refuse_output(stream, &failure).await;
                Failed::Output
            }
        }
    }

    async fn refuse_output<S: Connected>(&self, stream: &mut S, failure: &OutputError) {
        match self.config.mode {
            // Raw mode's orderly close would say "recorded" (PROTOCOL.md §2).
            Mode::Raw => stream.reset(),
            Mode::Framed => {
                let reply = Reply::Err { code: ERR_OUTPUT.into(), detail: failure.to_string() };
                refuse(stream, &reply, OUTPUT_FAILURE_WAIT / 2).await;
            }
        }
    }

    /// Raw mode: the message is everything up to EOF. Returns the number of messages (always 1).
    async fn serve_raw<S: Connected>(
        &mut self,
        stream: &mut S,
        waits: &mut Waits<'_, impl Future<Output = Ending>>,
    ) -> Result<u64, Failed> {
        let max = self.config.max_message_bytes as usize;
        let idle = self.config.idle_timeout;
        // Read straight into the message, which grows as it arrives: no buffer to allocate and
        // zero per connection, and no copy.
        let mut message = Vec::new();
        loop {
            if message.len() == message.capacity() {
                // Grows as a `Vec` does, doubling: never past twice the maximum.
                message.reserve(RAW_READ);
            }
            let n = match waits.run(stream.read_buf(&mut message)).await {
                Waited::Ending(ending) => return Err(self.end(stream, ending).await),
                Waited::Idle => return Err(self.idle_error(message.len()).into()),
                Waited::Done(Err(err)) => {
                    return Err(format!("read failed after {} bytes: {err}", message.len()).into());
                }
                Waited::Done(Ok(n)) => n,
            };
            if n == 0 {
                break;
            }
            if message.len() > max {
                return Err(format!("message too large: more than {max} bytes").into());
            }
            waits.restart(idle);
        }
        let view = MessageView::from_vec(message);
        let (conn, peer) = (self.id, self.peer.clone());
        if let Err(failure) = self.log.record_message(conn, peer, 1, view).await {
            self.refuse_output(stream, &failure).await;
            return Err(Failed::Output);
        }
        // Closing (on drop) is the only answer raw mode has; shut down politely first.
        let _ = stream.shutdown().await;
        Ok(1)
    }

    /// Framed mode: read frames until EOF between frames, logging, then acknowledging, each.
    async fn serve_framed<S: Connected>(
        &mut self,
        stream: &mut S,
        waits: &mut Waits<'_, impl Future<Output = Ending>>,
    ) -> Result<u64, Failed> {
        let (max, idle) = (self.config.max_message_bytes, self.config.idle_timeout);
        // A peer that has sent nothing yet costs no read buffer: 10,000 idle connections would
        // otherwise each hold a zeroed one. The first bytes (a length prefix at most) are read
        // without one, and the buffered reader starts with them.
        let mut head = [0u8; HEADER_LEN];
        let got = loop {
            match waits.run(stream.readable()).await {
                Waited::Ending(ending) => return Err(self.end(stream, ending).await),
                Waited::Idle => return Err(self.idle_error(0).into()),
                Waited::Done(Err(err)) => return Err(format!("frame 1: {err}").into()),
                Waited::Done(Ok(())) => {}
            }
            match stream.try_read(&mut head) {
                Ok(got) => break got,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(format!("frame 1: {err}").into()),
            }
        };
        if got == 0 {
            // EOF before any frame: a connection that sent nothing, and ended in order.
            return Ok(0);
        }
        // Reads through a buffer: a small frame's prefix and payload (and the next frames a
        // pipelining client already sent) come in one read, not one each. A payload larger than
        // the buffer is read straight into its own. Writes go to the stream unbuffered.
        let mut reader = BufReader::with_capacity(READ_BUFFER, (&head[..got]).chain(&mut *stream));
        let mut seq = 0u64;
        // Each ACK's frame, encoded into the one buffer.
        let mut ack = Vec::new();
        loop {
            let payload = match waits.run(read_frame(&mut reader, max)).await {
                Waited::Ending(ending) => return Err(self.end(inner(&mut reader), ending).await),
                Waited::Idle => return Err(self.idle_error(0).into()),
                Waited::Done(Ok(Some(payload))) => payload,
                Waited::Done(Ok(None)) => return Ok(seq),
                Waited::Done(Err(FrameError::TooLarge { len, max })) => {
                    let reply = Reply::Err { code: ERR_TOO_LARGE.into(), detail: format!("{len} > {max}") };
                    refuse(inner(&mut reader), &reply, REFUSAL_DRAIN).await;
                    return Err(format!("frame {} too large: {len} bytes > maximum {max}", seq + 1).into());
                }
                Waited::Done(Err(err)) => return Err(format!("frame {}: {err}", seq + 1).into()),
            };
            seq += 1;
            let view = MessageView::from_vec(payload);
            ack.clear();
            Reply::Ack { seq, digest: view.digest }.encode_frame(&mut ack);
            let (conn, peer) = (self.id, self.peer.clone());
            if let Err(failure) = self.log.record_message(conn, peer, seq, view).await {
                self.refuse_output(inner(&mut reader), &failure).await;
                return Err(Failed::Output);
            }
            // A peer that does not read its ACKs is not idle: the write has no deadline.
            match waits.run_untimed(inner(&mut reader).write_all(&ack)).await {
                Waited::Ending(ending) => return Err(self.end(inner(&mut reader), ending).await),
                Waited::Done(Err(err)) => return Err(format!("writing ack {seq} failed: {err}").into()),
                Waited::Done(Ok(())) | Waited::Idle => {}
            }
            // The next frame's idle time starts now, its ACK written.
            waits.restart(idle);
        }
    }

    fn idle_error(&self, got: usize) -> String {
        format!(
            "idle timeout: nothing completed for {} ms ({got} bytes pending)",
            self.config.idle_timeout.as_millis()
        )
    }
}

/// The stream under a framed connection's reader, for writing to it.
fn inner<'a, S: Connected>(reader: &'a mut BufReader<Chain<&[u8], &mut S>>) -> &'a mut S {
    reader.get_mut().get_mut().1
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
