//! The recording relay of `interop run --record`: it sits between a client and the server of a cell,
//! relays every connection byte for byte (half-closes and resets included) and records what crossed
//! the wire in each direction, so a failing cell can show exactly what was sent.
//!
//! Each connection is relayed by one task that runs both directions concurrently. Both directions
//! live in that one task on purpose: after a peer resets, the kernel reports the reset (`SO_ERROR`)
//! once, to whichever call comes first, and a later read on that socket returns a plain EOF. Because
//! the two directions are polled in turn rather than in parallel, the direction that saw the reset
//! has flagged the side as broken before the other one can mistake the EOF for a clean close.

use crate::results::{ConnectionTranscript, Direction, Transcript};
use crate::toxic::Toxic;
use interop_wire::addr_string;
use std::fmt::{self, Write as _};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Largest single read; each read is forwarded as soon as it returns, whatever its size.
const READ_CHUNK: usize = 64 * 1024;
/// Once a write showed that one side is gone, how long the other direction may take to deliver what
/// that side sent before it went (it normally takes no time: the socket is dead, reads return at once).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// After cutting, how long `finish` waits for the connection tasks to reset their sockets before
/// aborting them.
const CUT_MARGIN: Duration = Duration::from_secs(1);
/// How long a `one_piece_per_read` slicer waits for the server to read a piece before it sends
/// the next one anyway. A server that is reading takes microseconds, or seconds on a loaded
/// machine; one that waits this long has stopped reading (it took what it had for a message).
pub const READ_WAIT_LIMIT: Duration = Duration::from_secs(5);
/// How often the server's receive queue is looked at while waiting for it to read.
const READ_POLL: Duration = Duration::from_millis(1);

/// A running relay: accepts on [`Relay::addr`] and relays each connection to the upstream server.
pub struct Relay {
    addr: SocketAddr,
    phase: watch::Sender<Phase>,
    acceptor: JoinHandle<JoinSet<()>>,
    entries: Arc<Mutex<Vec<Arc<Mutex<Entry>>>>>,
}

/// What one relayed connection carried, and how it ended.
#[derive(Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The client's address as the relay saw it (= the client's local address).
    pub client: SocketAddr,
    /// The relay's local address on its upstream connection (= the server's peer). When the upstream
    /// connection could not be made, the unspecified address of the upstream's family, port 0.
    pub relay: SocketAddr,
    /// Every byte the client sent.
    pub to_server: Vec<u8>,
    /// Every byte the server sent.
    pub to_client: Vec<u8>,
    /// How it ended: `client closed, then server closed`, `server reset: …`,
    /// `cannot connect upstream: …`, `… cut after grace`.
    pub end: String,
}

impl fmt::Debug for Recorded {
    // Payloads can be megabytes: show their lengths, not their bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorded")
            .field("client", &self.client)
            .field("relay", &self.relay)
            .field("to_server_len", &self.to_server.len())
            .field("to_client_len", &self.to_client.len())
            .field("end", &self.end)
            .finish()
    }
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// The relay's lifecycle, broadcast to the accept loop and the connection tasks. Dropping the
/// sender (a `Relay` dropped without `finish`) counts as `Cut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    Stopped,
    Cut,
}

/// A connection's record while it is being relayed; shared so that `finish` keeps what was
/// recorded even of a connection whose task had to be aborted.
#[derive(Debug)]
struct Entry {
    client: SocketAddr,
    relay: Option<SocketAddr>,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    end: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Relay {
    /// Listens on `127.0.0.1:0` (or `[::1]:0` when upstream is IPv6) and relays every connection to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Relay> {
        Relay::start_with(upstream, None).await
    }

    /// Like [`Relay::start`], applying `toxic` to every connection's client → server bytes.
    pub async fn start_with(upstream: SocketAddr, toxic: Option<Toxic>) -> io::Result<Relay> {
        let loopback = if upstream.is_ipv6() {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let listener = TcpListener::bind(SocketAddr::new(loopback, 0)).await?;
        let addr = listener.local_addr()?;
        let (phase, phase_rx) = watch::channel(Phase::Running);
        let entries = Arc::new(Mutex::new(Vec::new()));
        let acceptor = tokio::spawn(accept_loop(listener, upstream, toxic, phase_rx, Arc::clone(&entries)));
        Ok(Relay { addr, phase, acceptor, entries })
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits up to `grace` for open relayed connections to finish, then cuts
    /// the rest (resetting both of their sockets), and returns what was recorded, in accept order.
    pub async fn finish(self, grace: Duration) -> Vec<Recorded> {
        let Relay { phase, acceptor, entries, .. } = self;
        phase.send_replace(Phase::Stopped);
        // The accept loop stops at once and hands over its tasks; the listener is closed with it.
        let mut tasks = acceptor.await.unwrap_or_default();
        if tokio::time::timeout(grace, join_all(&mut tasks)).await.is_err() {
            phase.send_replace(Phase::Cut);
            if tokio::time::timeout(CUT_MARGIN, join_all(&mut tasks)).await.is_err() {
                tasks.shutdown().await;
            }
        }
        let entries = std::mem::take(&mut *lock(&entries));
        entries
            .iter()
            .map(|entry| {
                let mut entry = lock(entry);
                let unspecified = match entry.client {
                    SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                };
                Recorded {
                    client: entry.client,
                    relay: entry.relay.unwrap_or(SocketAddr::new(unspecified, 0)),
                    to_server: std::mem::take(&mut entry.to_server),
                    to_client: std::mem::take(&mut entry.to_client),
                    end: entry.end.take().unwrap_or_else(|| "cut after grace (task aborted)".to_owned()),
                }
            })
            .collect()
    }
}

async fn join_all(tasks: &mut JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
}

/// Returns when the phase is `want` or later (or the `Relay` is gone).
async fn reached(phase: &mut watch::Receiver<Phase>, want: Phase) {
    let _ = phase
        .wait_for(|p| match want {
            Phase::Running => true,
            Phase::Stopped => *p != Phase::Running,
            Phase::Cut => *p == Phase::Cut,
        })
        .await;
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    toxic: Option<Toxic>,
    phase: watch::Receiver<Phase>,
    entries: Arc<Mutex<Vec<Arc<Mutex<Entry>>>>>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let mut stop = phase.clone();
    loop {
        tokio::select! {
            biased;
            () = reached(&mut stop, Phase::Stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    tasks.spawn(relay_connection(client, upstream, toxic, new_entry(&entries, peer), phase.clone()));
                }
                // Out of descriptors, or a handshake aborted before accept: retry shortly, don't spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
        while tasks.try_join_next().is_some() {}
    }
    // Connections the kernel completed before the stop count as accepted before it: take them too.
    // (Through std, because a non-blocking accept says for certain whether one is waiting.)
    if let Ok(listener) = listener.into_std() {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if let Ok(client) =
                        stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream))
                    {
                        tasks.spawn(relay_connection(
                            client,
                            upstream,
                            toxic,
                            new_entry(&entries, peer),
                            phase.clone(),
                        ));
                    }
                }
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {}
                Err(_) => break,
            }
        }
    }
    tasks
}

/// Adds the record of a newly accepted connection, in accept order.
fn new_entry(entries: &Mutex<Vec<Arc<Mutex<Entry>>>>, client: SocketAddr) -> Arc<Mutex<Entry>> {
    let entry = Arc::new(Mutex::new(Entry {
        client,
        relay: None,
        to_server: Vec::new(),
        to_client: Vec::new(),
        end: None,
    }));
    lock(entries).push(Arc::clone(&entry));
    entry
}

/// Closes `stream` with a reset (SO_LINGER 0), so that its peer sees ECONNRESET rather than EOF.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn relay_connection(
    client: TcpStream,
    upstream: SocketAddr,
    toxic: Option<Toxic>,
    entry: Arc<Mutex<Entry>>,
    mut phase: watch::Receiver<Phase>,
) {
    let end = relay_streams(client, upstream, toxic, &entry, &mut phase).await;
    lock(&entry).end = Some(end);
}

/// Which end of a relayed connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// How one direction (reading from one side, writing to the other) ended.
#[derive(Debug)]
enum Pumped {
    /// The source sent EOF, and it was passed on as a write shutdown.
    Eof,
    /// EOF from a source already known to be reset (the reset was reported to a write to it).
    EofAfterReset,
    /// Reading the source failed: a reset, usually.
    ReadFailed(io::Error),
    /// Writing to (or shutting down) the destination failed: it is gone.
    WriteFailed(io::Error),
    /// A toxic ended the connection (limit_data, reset_peer, timeout); both sides get a reset.
    Cut(String),
}

/// Copies `src` to `dst`, each read recorded in `entry` and forwarded at once, until EOF (passed
/// on as a shutdown of `dst`'s write side) or an error.
async fn pump<R, W>(
    src: &mut R,
    dst: &mut W,
    src_broken: &AtomicBool,
    dst_broken: &AtomicBool,
    entry: &Mutex<Entry>,
    to_server: bool,
    mut faults: Option<Faults>,
) -> Pumped
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; READ_CHUNK];
    let toxic = faults.as_ref().map(|f| f.toxic);
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                src_broken.store(true, Ordering::SeqCst);
                return Pumped::ReadFailed(e);
            }
        };
        let chunk = &buf[..n];
        {
            let mut entry = lock(entry);
            if to_server {
                entry.to_server.extend_from_slice(chunk);
            } else {
                entry.to_client.extend_from_slice(chunk);
            }
        }
        let written = match faults.as_mut() {
            Some(faults) => match faults.forward(dst, chunk).await {
                Ok(Flow::Go) => Ok(()),
                Ok(Flow::Cut(why)) => return Pumped::Cut(why),
                Err(e) => Err(e),
            },
            None => dst.write_all(chunk).await,
        };
        if let Err(e) = written {
            dst_broken.store(true, Ordering::SeqCst);
            return Pumped::WriteFailed(e);
        }
    }
    if let Some(Toxic::Timeout { .. }) = toxic {
        // Nothing got through, so nothing ends either: hold until the relay is finished.
        std::future::pending::<()>().await;
    }
    if src_broken.load(Ordering::SeqCst) {
        return Pumped::EofAfterReset;
    }
    match dst.shutdown().await {
        Ok(()) => Pumped::Eof,
        Err(e) => {
            dst_broken.store(true, Ordering::SeqCst);
            Pumped::WriteFailed(e)
        }
    }
}

/// What a toxic decided about the rest of a connection.
enum Flow {
    /// Keep relaying.
    Go,
    /// Cut the connection, for this reason.
    Cut(String),
}

/// A toxic's state on one connection's client → server direction.
struct Faults {
    toxic: Toxic,
    /// The upstream connection as `(server, relay)` addresses: where the server's end of it is
    /// found in the kernel's socket table.
    upstream: (SocketAddr, SocketAddr),
    /// Bytes let through so far.
    passed: u64,
    /// Deterministic pseudo-random numbers (xorshift64), for slice sizes and jitter.
    state: u64,
}

impl Faults {
    fn new(toxic: Toxic, upstream: (SocketAddr, SocketAddr)) -> Faults {
        Faults { toxic, upstream, passed: 0, state: 0x9e37_79b9_7f4a_7c15 }
    }

    /// A number in `0..=bound`.
    fn next(&mut self, bound: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % (bound + 1)
    }

    /// `base` ± `variation`, at least `floor`.
    fn around(&mut self, base: u64, variation: u64, floor: u64) -> u64 {
        (base + self.next(2 * variation)).saturating_sub(variation).max(floor)
    }

    /// Forwards `chunk` to `dst` as the toxic says.
    async fn forward<W: AsyncWrite + Unpin>(&mut self, dst: &mut W, chunk: &[u8]) -> io::Result<Flow> {
        match self.toxic {
            Toxic::Slicer { average_size, size_variation, delay_us, one_piece_per_read } => {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let size = self.around(average_size as u64, size_variation as u64, 1) as usize;
                    let (piece, after) = rest.split_at(size.min(rest.len()));
                    dst.write_all(piece).await?;
                    dst.flush().await?;
                    rest = after;
                    if one_piece_per_read {
                        read_by_server(self.upstream, READ_WAIT_LIMIT).await;
                    }
                    if !rest.is_empty() && delay_us > 0 {
                        tokio::time::sleep(Duration::from_micros(delay_us)).await;
                    }
                }
            }
            Toxic::Bandwidth { rate } => {
                // Pieces of at most a 10th of a second's worth, each followed by its time.
                let per_piece = (rate.max(1) * 100) as usize;
                for piece in chunk.chunks(per_piece) {
                    dst.write_all(piece).await?;
                    tokio::time::sleep(Duration::from_micros(piece.len() as u64 * 1000 / rate.max(1))).await;
                }
            }
            Toxic::Latency { latency, jitter } => {
                let delay = self.around(latency, jitter, 0);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                dst.write_all(chunk).await?;
            }
            Toxic::LimitData { bytes } => {
                let room = bytes.saturating_sub(self.passed) as usize;
                let through = &chunk[..room.min(chunk.len())];
                dst.write_all(through).await?;
                dst.flush().await?;
                self.passed += through.len() as u64;
                if self.passed >= bytes {
                    return Ok(Flow::Cut(format!("limit_data: cut after {bytes} bytes")));
                }
            }
            Toxic::ResetPeer { timeout } => {
                tokio::time::sleep(Duration::from_millis(timeout)).await;
                return Ok(Flow::Cut(format!("reset_peer: reset after {timeout} ms")));
            }
            Toxic::Timeout { timeout } => {
                // Swallowed. With a timeout, the connection is cut once it has passed.
                if timeout > 0 {
                    tokio::time::sleep(Duration::from_millis(timeout)).await;
                    return Ok(Flow::Cut(format!("timeout: cut after {timeout} ms")));
                }
            }
        }
        Ok(Flow::Go)
    }
}

/// Waits until the server has read every byte sent to it on the connection `(server, relay)`:
/// the receive queue of its end of the connection, in the kernel's socket table
/// (`/proc/net/tcp`, `tcp6`), is empty, or that end is gone (closed). At most `limit`.
async fn read_by_server((server, relay): (SocketAddr, SocketAddr), limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let table = if server.is_ipv6() { procfs::net::tcp6() } else { procfs::net::tcp() };
        // Without the table there is nothing to wait for: fall back to the slicer's delay alone.
        let Ok(table) = table else { return };
        let unread = table
            .iter()
            .find(|e| e.local_address == server && e.remote_address == relay)
            .map_or(0, |e| e.rx_queue);
        if unread == 0 {
            return;
        }
        tokio::time::sleep(READ_POLL).await;
    }
}

fn failure(side: Side, e: &io::Error) -> String {
    let what = match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            "reset"
        }
        _ => "error",
    };
    format!("{} {what}: {e}", side.name())
}

/// Relays one accepted connection until it ends; returns how it ended.
async fn relay_streams(
    mut client: TcpStream,
    upstream: SocketAddr,
    toxic: Option<Toxic>,
    entry: &Mutex<Entry>,
    phase: &mut watch::Receiver<Phase>,
) -> String {
    // Best effort: without it data still flows, only later.
    let _ = client.set_nodelay(true);
    let connected = tokio::select! {
        biased;
        () = reached(phase, Phase::Cut) => {
            reset(client);
            return "cut after grace (while connecting upstream)".to_owned();
        }
        connected = TcpStream::connect(upstream) => connected,
    };
    let mut server = match connected {
        Ok(server) => server,
        Err(e) => {
            reset(client);
            return format!("cannot connect upstream: {e}");
        }
    };
    let _ = server.set_nodelay(true);
    lock(entry).relay = server.local_addr().ok();

    let client_broken = AtomicBool::new(false);
    let server_broken = AtomicBool::new(false);
    let mut events: Vec<String> = Vec::new();
    let clean = {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let faults = match (toxic, server_read.local_addr()) {
            (Some(toxic), Ok(relay)) => Some(Faults::new(toxic, (upstream, relay))),
            _ => None,
        };
        let up =
            pump(&mut client_read, &mut server_write, &client_broken, &server_broken, entry, true, faults);
        let down =
            pump(&mut server_read, &mut client_write, &server_broken, &client_broken, entry, false, None);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        let mut drain_deadline: Option<Instant> = None;
        loop {
            if up_done && down_done {
                break !client_broken.load(Ordering::SeqCst) && !server_broken.load(Ordering::SeqCst);
            }
            let (side, pumped) = tokio::select! {
                biased;
                () = reached(phase, Phase::Cut) => {
                    events.push("cut after grace".to_owned());
                    break false;
                }
                () = tokio::time::sleep_until(drain_deadline.unwrap_or_else(Instant::now)),
                    if drain_deadline.is_some() =>
                {
                    events.push(format!("cut: still open {} s after that", DRAIN_LIMIT.as_secs()));
                    break false;
                }
                pumped = &mut up, if !up_done => {
                    up_done = true;
                    (Side::Client, pumped)
                }
                pumped = &mut down, if !down_done => {
                    down_done = true;
                    (Side::Server, pumped)
                }
            };
            let other = match side {
                Side::Client => Side::Server,
                Side::Server => Side::Client,
            };
            match pumped {
                Pumped::Eof => events.push(format!("{} closed", side.name())),
                Pumped::Cut(why) => {
                    events.push(why);
                    break false;
                }
                // Its reset was already recorded when a write to it failed.
                Pumped::EofAfterReset => break false,
                // A reset (or other failure) of `side`: everything it sent has been passed on; pass
                // the reset on too, at once.
                Pumped::ReadFailed(e) => {
                    events.push(failure(side, &e));
                    break false;
                }
                // `other` is gone; let its own direction deliver what it sent before, then reset.
                Pumped::WriteFailed(e) => {
                    events.push(format!("{} (on write)", failure(other, &e)));
                    drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_LIMIT);
                }
            }
        }
    };
    if !clean {
        // Pass a reset on as a reset; a cut resets both sides.
        reset(client);
        reset(server);
    }
    events.join(", then ")
}

fn direction(bytes: &[u8], dump_limit: usize) -> Direction {
    Direction {
        len: bytes.len() as u64,
        sha256: interop_wire::Digest::of(bytes).sha256_hex(),
        dump: hex_dump(bytes, dump_limit),
        dump_limit: dump_limit as u64,
    }
}

/// The report form: per direction len, sha256 (64 lowercase hex), and a dump of at most `dump_limit`
/// bytes.
pub fn transcript(recorded: &[Recorded], dump_limit: usize) -> Transcript {
    Transcript {
        connections: recorded
            .iter()
            .map(|r| ConnectionTranscript {
                client: addr_string(r.client),
                relay: addr_string(r.relay),
                client_to_server: direction(&r.to_server, dump_limit),
                server_to_client: direction(&r.to_client, dump_limit),
                end: r.end.clone(),
            })
            .collect(),
    }
}

/// Classic hex dump of at most `limit` bytes, 16 a line, with a text view (printable ASCII as is,
/// anything else `.`):
///
/// ```text
/// 00000000  48 65 6c 6c 6f 20 53 6f  63 6b 65 74 53 65 72 76  |Hello SocketServ|
/// ```
///
/// When the bytes shown are UTF-8 with some non-ASCII, a `utf-8:` block follows with them as text
/// (control characters other than `\n` and `\t` escaped as `\u{..}`; when the dump was cut inside a
/// character, the text stops before it). When bytes were left out, a last line says how many:
/// `... (N more bytes)`. Every line ends with `\n`; no bytes give an empty string.
pub fn hex_dump(bytes: &[u8], limit: usize) -> String {
    let shown = &bytes[..bytes.len().min(limit)];
    let cut = bytes.len() - shown.len();
    let mut out = String::new();
    for (i, line) in shown.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", i * 16);
        for j in 0..16 {
            if j == 8 {
                out.push(' ');
            }
            match line.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str(" |");
        out.extend(line.iter().map(|&b| if b == b' ' || b.is_ascii_graphic() { char::from(b) } else { '.' }));
        out.push_str("|\n");
    }
    let text = match std::str::from_utf8(shown) {
        Ok(text) => Some(text),
        // Cut inside a character: the text before it.
        Err(e) if cut > 0 && e.error_len().is_none() => std::str::from_utf8(&shown[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    if let Some(text) = text
        && !text.is_ascii()
    {
        out.push_str("utf-8:\n");
        for c in text.chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                let _ = write!(out, "{}", c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    if cut > 0 {
        let _ = writeln!(out, "... ({cut} more bytes)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use tokio::sync::{Barrier, mpsc, oneshot};
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(30);

    /// An upstream server on 127.0.0.1 that runs `handler` for every connection.
    async fn serve<F, Fut>(handler: F) -> SocketAddr
    where
        F: Fn(TcpStream, SocketAddr) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                tokio::spawn(handler(stream, peer));
            }
        });
        addr
    }

    /// Echoes each connection; passes the client's EOF on as its own.
    async fn echo_server() -> SocketAddr {
        serve(|mut stream, _| async move {
            let (mut r, mut w) = stream.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        })
        .await
    }

    fn payload(len: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Writes `data` then shuts down, while reading everything the other side sends.
    async fn exchange(stream: TcpStream, data: Vec<u8>) -> io::Result<Vec<u8>> {
        let (mut r, mut w) = stream.into_split();
        let writer = tokio::spawn(async move {
            w.write_all(&data).await?;
            w.shutdown().await
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).await?;
        writer.await.map_err(io::Error::other)??;
        Ok(got)
    }

    /// Reads until EOF or an error; returns the bytes read and the error, if any.
    async fn read_until_end(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Some(e)),
            }
        }
    }

    /// An upstream that counts its reads and sends back how many bytes and reads it saw.
    async fn counting_server() -> SocketAddr {
        serve(|mut stream, _| async move {
            let (mut bytes, mut reads) = (0usize, 0usize);
            let mut buf = [0u8; 65536];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                bytes += n;
                reads += 1;
            }
            let _ = stream.write_all(format!("{bytes} {reads}").as_bytes()).await;
            let _ = stream.shutdown().await;
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn slicer_delivers_every_byte_in_many_small_pieces() {
        let toxic =
            Toxic::Slicer { average_size: 3, size_variation: 2, delay_us: 200, one_piece_per_read: false };
        let relay = Relay::start_with(counting_server().await, Some(toxic)).await.unwrap();
        let client = TcpStream::connect(relay.addr()).await.unwrap();
        let reply = exchange(client, payload(300)).await.unwrap();
        let reply = String::from_utf8(reply).unwrap();
        let (bytes, reads) = reply.split_once(' ').unwrap();
        assert_eq!(bytes, "300");
        assert!(reads.parse::<usize>().unwrap() >= 300 / 5, "sliced into {reads} reads");
        let recorded = relay.finish(Duration::from_secs(1)).await;
        assert_eq!(recorded[0].to_server, payload(300));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn one_piece_per_read_holds_even_for_a_server_slower_than_the_slicer() {
        // A server that dawdles before every read (200 ms before the first, 5 ms before the
        // others): with a delay alone, its reads would see many pieces at once.
        let server = serve(|mut stream, _| async move {
            let (mut bytes, mut largest) = (0usize, 0usize);
            let mut buf = [0u8; 65536];
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                bytes += n;
                largest = largest.max(n);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = stream.write_all(format!("{bytes} {largest}").as_bytes()).await;
            let _ = stream.shutdown().await;
        })
        .await;
        let toxic =
            Toxic::Slicer { average_size: 3, size_variation: 2, delay_us: 0, one_piece_per_read: true };
        let relay = Relay::start_with(server, Some(toxic)).await.unwrap();
        let client = TcpStream::connect(relay.addr()).await.unwrap();
        let reply = String::from_utf8(exchange(client, payload(60)).await.unwrap()).unwrap();
        let (bytes, largest) = reply.split_once(' ').unwrap();
        assert_eq!(bytes, "60");
        assert!(largest.parse::<usize>().unwrap() <= 5, "a read saw {largest} bytes: more than one piece");
        relay.finish(Duration::from_secs(1)).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn limit_data_cuts_after_its_bytes_and_resets_the_client() {
        let relay =
            Relay::start_with(counting_server().await, Some(Toxic::LimitData { bytes: 100 })).await.unwrap();
        let mut client = TcpStream::connect(relay.addr()).await.unwrap();
        client.write_all(&payload(300)).await.unwrap();
        let (got, err) = read_until_end(&mut client).await;
        assert!(got.is_empty() && err.is_some(), "the client sees a reset, not a reply: {got:?} {err:?}");
        let recorded = relay.finish(Duration::from_secs(1)).await;
        assert!(recorded[0].end.contains("limit_data: cut after 100 bytes"), "{}", recorded[0].end);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn timeout_lets_nothing_through() {
        let relay =
            Relay::start_with(counting_server().await, Some(Toxic::Timeout { timeout: 0 })).await.unwrap();
        let mut client = TcpStream::connect(relay.addr()).await.unwrap();
        client.write_all(b"swallowed").await.unwrap();
        client.shutdown().await.unwrap();
        let mut buf = [0u8; 16];
        let waited = tokio::time::timeout(Duration::from_millis(300), client.read(&mut buf)).await;
        assert!(waited.is_err(), "nothing comes back while the fault holds the connection");
        let recorded = relay.finish(Duration::from_millis(100)).await;
        assert!(recorded[0].end.contains("cut"), "{}", recorded[0].end);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn relays_8_mib_exactly_both_ways() {
        let relay = Relay::start(echo_server().await).await.expect("start");
        let data = payload(8 << 20);
        let client = TcpStream::connect(relay.addr()).await.expect("connect");
        let local = client.local_addr().expect("local");
        let got = timeout(LIMIT, exchange(client, data.clone())).await.expect("in time").expect("exchange");
        assert!(got == data, "echo differs: {} bytes back of {}", got.len(), data.len());
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded.len(), 1);
        let r = &recorded[0];
        assert_eq!(r.client, local);
        assert!(r.to_server == data && r.to_client == data, "{r:?}");
        assert_eq!(r.end, "client closed, then server closed");
    }

    #[tokio::test]
    async fn client_half_close_still_gets_the_reply() {
        let upstream = serve(|mut stream, _| async move {
            let mut got = Vec::new();
            if stream.read_to_end(&mut got).await.is_ok() {
                let _ = stream.write_all(format!("got {} bytes", got.len()).as_bytes()).await;
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        client.write_all(b"Hello SocketServer!!!").await.expect("write");
        client.shutdown().await.expect("shutdown");
        let (got, err) = timeout(LIMIT, read_until_end(&mut client)).await.expect("in time");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got, b"got 21 bytes");
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded[0].to_server, b"Hello SocketServer!!!");
        assert_eq!(recorded[0].to_client, b"got 21 bytes");
        assert_eq!(recorded[0].end, "client closed, then server closed");
    }

    #[tokio::test]
    async fn server_half_close_still_gets_the_client_data() {
        let (tx, rx) = mpsc::unbounded_channel();
        let upstream = serve(move |mut stream, _| {
            let tx = tx.clone();
            async move {
                let _ = stream.write_all(b"hello").await;
                let _ = stream.shutdown().await;
                let mut got = Vec::new();
                let _ = tx.send(stream.read_to_end(&mut got).await.map(|_| got).map_err(|e| e.kind()));
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        let (got, err) = timeout(LIMIT, read_until_end(&mut client)).await.expect("in time");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got, b"hello");
        client.write_all(b"late data").await.expect("write after the server's EOF");
        client.shutdown().await.expect("shutdown");
        let mut rx = rx;
        let server_got = timeout(LIMIT, rx.recv()).await.expect("in time").expect("sent");
        assert_eq!(server_got, Ok(b"late data".to_vec()));
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded[0].to_server, b"late data");
        assert_eq!(recorded[0].end, "server closed, then client closed");
    }

    #[tokio::test]
    async fn server_reset_reaches_the_client_after_its_data() {
        let upstream = serve(|mut stream, _| async move {
            let mut buf = [0u8; 5];
            if stream.read_exact(&mut buf).await.is_ok() {
                let _ = stream.write_all(b"bye").await;
                reset(stream);
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        client.write_all(b"hello").await.expect("write");
        let (got, err) = timeout(LIMIT, read_until_end(&mut client)).await.expect("in time");
        assert_eq!(got, b"bye");
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::ConnectionReset));
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded[0].to_server, b"hello");
        assert_eq!(recorded[0].to_client, b"bye");
        assert!(recorded[0].end.starts_with("server reset: "), "{}", recorded[0].end);
    }

    #[tokio::test]
    async fn server_reset_while_client_writes_is_a_reset() {
        // The server reads 4 bytes, replies, and closes with unread data: the kernel sends a reset,
        // which the relay may learn from a failed write rather than from a read.
        let upstream = serve(|mut stream, _| async move {
            let mut buf = [0u8; 4];
            if stream.read_exact(&mut buf).await.is_ok() {
                let _ = stream.write_all(b"ERR too-large").await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(stream);
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        let chunk = payload(64 << 10);
        let write: io::Result<()> = timeout(LIMIT, async {
            loop {
                client.write_all(&chunk).await?;
            }
        })
        .await
        .expect("in time");
        let _: io::Error = write.expect_err("writing fails on the reset");
        let (got, err) = timeout(LIMIT, read_until_end(&mut client)).await.expect("in time");
        // The reset was reported to the failed write; the reply sent before it is still readable.
        assert_eq!(got, b"ERR too-large", "{err:?}");
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded[0].to_client, b"ERR too-large");
        assert!(recorded[0].end.starts_with("server reset: "), "{}", recorded[0].end);
    }

    #[tokio::test]
    async fn client_reset_reaches_the_server() {
        let (tx, rx) = oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let upstream = serve(move |mut stream, _| {
            let tx = lock(&tx).take();
            async move {
                let mut got = Vec::new();
                let result = stream.read_to_end(&mut got).await;
                if let Some(tx) = tx {
                    let _ = tx.send((got, result.map_err(|e| e.kind())));
                }
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        client.write_all(b"abc").await.expect("write");
        tokio::time::sleep(Duration::from_millis(100)).await;
        reset(client);
        let (got, result) = timeout(LIMIT, rx).await.expect("in time").expect("sent");
        assert_eq!(got, b"abc");
        assert_eq!(result, Err(io::ErrorKind::ConnectionReset));
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert!(recorded[0].end.starts_with("client reset: "), "{}", recorded[0].end);
    }

    #[tokio::test]
    async fn upstream_down_resets_the_client() {
        let upstream = {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            listener.local_addr().expect("addr")
        };
        let relay = Relay::start(upstream).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        let (got, err) = timeout(Duration::from_secs(2), read_until_end(&mut client)).await.expect("quickly");
        assert!(got.is_empty());
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::ConnectionReset));
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert!(recorded[0].end.starts_with("cannot connect upstream: "), "{}", recorded[0].end);
        assert_eq!(recorded[0].relay, "0.0.0.0:0".parse::<SocketAddr>().expect("addr"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn records_32_concurrent_connections_separately() {
        const N: usize = 32;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let upstream = serve(move |mut stream, peer| {
            let tx = tx.clone();
            async move {
                let mut got = Vec::new();
                if stream.read_to_end(&mut got).await.is_ok() {
                    let _ = stream.write_all(&got).await;
                    let _ = tx.send((peer, got));
                }
            }
        })
        .await;
        let relay = Relay::start(upstream).await.expect("start");
        let barrier = Arc::new(Barrier::new(N));
        let mut clients = JoinSet::new();
        for i in 0..N {
            let (addr, barrier) = (relay.addr(), Arc::clone(&barrier));
            clients.spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let local = stream.local_addr()?;
                barrier.wait().await; // all 32 open at once
                let message = format!("message {i}").into_bytes();
                stream.write_all(&message).await?;
                stream.shutdown().await?;
                let mut back = Vec::new();
                stream.read_to_end(&mut back).await?;
                assert_eq!(back, message);
                io::Result::Ok((message, local))
            });
        }
        let mut local_of = std::collections::HashMap::new();
        while let Some(done) = timeout(LIMIT, clients.join_next()).await.expect("in time") {
            let (message, local) = done.expect("client task").expect("client io");
            local_of.insert(message, local);
        }
        let mut peer_of = std::collections::HashMap::new();
        for _ in 0..N {
            let (peer, got) = timeout(LIMIT, rx.recv()).await.expect("in time").expect("sent");
            peer_of.insert(got, peer);
        }
        let recorded = relay.finish(Duration::from_secs(5)).await;
        assert_eq!(recorded.len(), N);
        for r in &recorded {
            assert_eq!(Some(&r.client), local_of.get(&r.to_server), "{r:?}");
            assert_eq!(Some(&r.relay), peer_of.get(&r.to_server), "{r:?}");
            assert_eq!(r.to_client, r.to_server);
            assert_eq!(r.end, "client closed, then server closed");
        }
        let distinct: std::collections::HashSet<_> = recorded.iter().map(|r| &r.to_server).collect();
        assert_eq!(distinct.len(), N);
    }

    #[tokio::test]
    async fn finish_cuts_what_is_still_open_after_grace() {
        let relay = Relay::start(echo_server().await).await.expect("start");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        client.write_all(b"partial").await.expect("write");
        let mut back = [0u8; 7];
        timeout(LIMIT, client.read_exact(&mut back)).await.expect("in time").expect("echo");
        let grace = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let recorded = relay.finish(grace).await;
        let took = started.elapsed();
        assert!(took >= grace && took < grace + Duration::from_millis(1500), "{took:?}");
        assert_eq!(recorded[0].to_server, b"partial");
        assert_eq!(recorded[0].to_client, b"partial");
        assert_eq!(recorded[0].end, "cut after grace");
        let (_, err) = timeout(Duration::from_secs(2), read_until_end(&mut client)).await.expect("quickly");
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::ConnectionReset));
    }

    #[tokio::test]
    async fn finish_waits_for_connections_that_end_within_grace_and_stops_accepting() {
        let relay = Relay::start(echo_server().await).await.expect("start");
        let addr = relay.addr();
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.write_all(b"slow").await.expect("write");
        let closer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = client.shutdown().await;
            read_until_end(&mut client).await
        });
        let started = std::time::Instant::now();
        let recorded = relay.finish(Duration::from_secs(10)).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(recorded[0].end, "client closed, then server closed");
        let (got, err) = closer.await.expect("closer");
        assert!(err.is_none());
        assert_eq!(got, b"slow");
        assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
    }

    #[test]
    fn hex_dump_format() {
        assert_eq!(
            hex_dump(b"Hello SocketServer!!!", 64),
            "00000000  48 65 6c 6c 6f 20 53 6f  63 6b 65 74 53 65 72 76  |Hello SocketServ|\n\
             00000010  65 72 21 21 21                                    |er!!!|\n"
        );
        assert_eq!(
            hex_dump(b"a\x00bc", 64),
            "00000000  61 00 62 63                                       |a.bc|\n"
        );
        assert_eq!(hex_dump(b"", 64), "");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            hex_dump(&all, 20),
            "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n\
             00000010  10 11 12 13                                       |....|\n\
             ... (236 more bytes)\n"
        );
        assert_eq!(hex_dump(&all, 0), "... (256 more bytes)\n");
    }

    #[test]
    fn hex_dump_utf8_block() {
        assert_eq!(
            hex_dump("héllo\r\n".as_bytes(), 64),
            "00000000  68 c3 a9 6c 6c 6f 0d 0a                           |h..llo..|\n\
             utf-8:\n\
             héllo\\u{d}\n"
        );
        // Cut inside the "é": the text stops before it.
        assert_eq!(
            hex_dump("hé\tx".as_bytes(), 2),
            "00000000  68 c3                                             |h.|\n... (3 more bytes)\n"
        );
        assert_eq!(
            hex_dump("éé".as_bytes(), 3),
            "00000000  c3 a9 c3                                          |...|\nutf-8:\né\n... (1 more bytes)\n"
        );
        // Not UTF-8, or plain ASCII: no block.
        assert!(!hex_dump(b"\xff\xfe", 64).contains("utf-8"));
        assert!(!hex_dump(b"plain\n", 64).contains("utf-8"));
    }

    #[test]
    fn transcript_lengths_and_digests() {
        let recorded = [Recorded {
            client: "127.0.0.1:5000".parse().expect("addr"),
            relay: "[::ffff:127.0.0.1]:6000".parse().expect("addr"),
            to_server: b"Hello SocketServer!!!".to_vec(),
            to_client: Vec::new(),
            end: "client closed, then server closed".to_owned(),
        }];
        let t = transcript(&recorded, 16);
        assert_eq!(t.connections.len(), 1);
        let c = &t.connections[0];
        assert_eq!(c.client, "127.0.0.1:5000");
        assert_eq!(c.relay, "127.0.0.1:6000");
        assert_eq!(c.client_to_server.len, 21);
        assert_eq!(
            c.client_to_server.sha256,
            "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807"
        );
        assert_eq!(c.client_to_server.dump_limit, 16);
        assert!(c.client_to_server.dump.ends_with("|Hello SocketServ|\n... (5 more bytes)\n"));
        assert_eq!(c.server_to_client.len, 0);
        assert_eq!(
            c.server_to_client.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(c.server_to_client.dump, "");
        assert_eq!(c.end, "client closed, then server closed");
        let big = [Recorded { to_server: payload(300), ..recorded[0].clone() }];
        let t = transcript(&big, 64);
        assert_eq!(t.connections[0].client_to_server.len, 300);
        assert_eq!(
            t.connections[0].client_to_server.sha256,
            interop_wire::Digest::of(&payload(300)).sha256_hex()
        );
        assert!(t.connections[0].client_to_server.dump.ends_with("... (236 more bytes)\n"));
    }
}
