//! The load generator of `interop bench`: the loads of docs/BENCH.md, each against one server's
//! address for a fixed time, counting only what the server acknowledged correctly. Every reply is
//! checked (number, length and SHA-256, computed once per payload): a fast server that acknowledges
//! the wrong bytes has no figure, only an error.

use interop_wire::Digest;
use interop_wire::frame::{HEADER_LEN, read_frame, write_frame};
use interop_wire::reply::{MAX_REPLY_BYTES, Reply};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// What one load achieved: how many messages (or connections) and payload bytes the server
/// acknowledged, in how long.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Messages acknowledged (`small`, `stream`) or connections served (`raw`).
    pub count: u64,
    /// Payload bytes acknowledged.
    pub bytes: u64,
    /// From the first byte sent to the last reply read.
    pub elapsed: Duration,
}

impl Tally {
    /// Counted things per second.
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Payload megabytes (10^6 bytes) per second.
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the load was doing.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The server answered something other than the expected acknowledgement.
    #[error("wrong reply: {0}")]
    Reply(String),
    /// The server did not accept or answer in time.
    #[error("{0}")]
    Timeout(String),
    /// A task of the load panicked or was cancelled.
    #[error("load task failed: {0}")]
    Task(String),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> LoadError {
    move |source| LoadError::Io { what, source }
}

/// Reads one reply and checks it acknowledges message `seq` with `expected`'s length and hash.
/// `exact`: the ACK as this crate writes it, if at hand; a reply with the same bytes needs no
/// parsing.
async fn expect_ack<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    seq: u64,
    expected: &Digest,
    exact: &[u8],
) -> Result<(), LoadError> {
    let payload = match read_frame(reader, MAX_REPLY_BYTES).await {
        Ok(Some(payload)) => payload,
        Ok(None) => return Err(LoadError::Reply(format!("the server closed before acknowledging {seq}"))),
        Err(err) => return Err(LoadError::Reply(format!("reading the reply to {seq}: {err}"))),
    };
    if payload == exact {
        return Ok(());
    }
    match Reply::parse(&payload) {
        Ok(Reply::Ack { seq: got, digest }) if got == seq && digest == *expected => Ok(()),
        Ok(reply) => Err(LoadError::Reply(format!("to message {seq}: {reply}"))),
        Err(err) => Err(LoadError::Reply(err.to_string())),
    }
}

/// `stream`: one framed connection, `payload`-sized frames written back to back with up to
/// `window` of them unacknowledged, for `time`.
pub async fn stream(
    addr: SocketAddr,
    payload: usize,
    window: usize,
    time: Duration,
) -> Result<Tally, LoadError> {
    let socket = TcpStream::connect(addr).await.map_err(io("connecting"))?;
    socket.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::new(reader);
    let body = Arc::new(pattern(payload));
    let digest = Digest::of(&body);
    let credit = Arc::new(Semaphore::new(window.max(1)));
    let started = Instant::now();
    let deadline = started + time;
    let sender = {
        let (body, credit) = (body.clone(), credit.clone());
        tokio::spawn(async move {
            let mut sent = 0u64;
            while Instant::now() < deadline {
                let permit = credit.acquire().await.map_err(|err| LoadError::Task(err.to_string()))?;
                permit.forget();
                write_frame(&mut writer, &body).await.map_err(io("writing a frame"))?;
                sent += 1;
            }
            Ok::<_, LoadError>((sent, writer))
        })
    };
    let mut acked = 0u64;
    let mut sent = None;
    let mut sender = Some(sender);
    loop {
        if sent.is_some_and(|s| acked >= s) {
            break;
        }
        tokio::select! {
            done = async { sender.as_mut().expect("polled only while running").await }, if sender.is_some() => {
                sender = None;
                let (count, writer) = done.map_err(|err| LoadError::Task(err.to_string()))??;
                drop(writer);
                sent = Some(count);
            }
            ack = expect_ack(&mut reader, acked + 1, &digest, &[]) => {
                ack?;
                acked += 1;
                credit.add_permits(1);
            }
        }
    }
    Ok(Tally { count: acked, bytes: acked * payload as u64, elapsed: started.elapsed() })
}

/// `small`: `connections` framed connections at once, each sending `payload`-sized messages
/// stop-and-wait (the next only once the last is acknowledged), for `time`.
pub async fn small(
    addr: SocketAddr,
    connections: usize,
    payload: usize,
    time: Duration,
) -> Result<Tally, LoadError> {
    let body = Arc::new(pattern(payload));
    let digest = Arc::new(Digest::of(&body));
    // Every connection first, so that the clock runs only while all of them send.
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let socket = TcpStream::connect(addr).await.map_err(io("connecting"))?;
        socket.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
        sockets.push(socket);
    }
    let started = Instant::now();
    // Every message costs the generator CPU that the server does not get, so the loop does the
    // least it can: the frame is encoded once, the time is looked at by one timer, not per
    // message, and a reply is checked by comparing it with the expected one's bytes (parsed
    // only when they differ, to say what is wrong).
    let stop = Arc::new(AtomicBool::new(false));
    let timer = tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::time::sleep(time).await;
            stop.store(true, Ordering::Relaxed);
        }
    });
    let mut frame = Vec::new();
    interop_wire::frame::encode(&body, &mut frame)
        .map_err(|err| LoadError::Io { what: "encoding", source: err.into() })?;
    let frame = Arc::new(frame);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|socket| {
            let (frame, digest, stop) = (frame.clone(), digest.clone(), stop.clone());
            // A reply in one read, not two (its length prefix, then the rest): the generator's
            // own system calls are CPU the server under test does not get.
            let mut socket = BufReader::new(socket);
            tokio::spawn(async move {
                let mut seq = 0u64;
                let mut expected = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    socket.write_all(&frame).await.map_err(io("writing a frame"))?;
                    seq += 1;
                    expected.clear();
                    Reply::Ack { seq, digest: *digest }.encode_frame(&mut expected);
                    expect_ack(&mut socket, seq, &digest, &expected[HEADER_LEN..]).await?;
                }
                Ok::<u64, LoadError>(seq)
            })
        })
        .collect();
    let tally = total(tasks, payload, started).await;
    timer.abort();
    tally
}

/// `raw`: `parallel` loops, each opening a raw connection, writing `payload`-sized bytes, shutting
/// its write side and reading to the server's end of stream (raw mode's acknowledgement,
/// PROTOCOL.md §2), then the next, for `time`.
pub async fn raw(
    addr: SocketAddr,
    parallel: usize,
    payload: usize,
    time: Duration,
) -> Result<Tally, LoadError> {
    let body = Arc::new(pattern(payload));
    let started = Instant::now();
    let deadline = started + time;
    let tasks: Vec<_> = (0..parallel)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut served = 0u64;
                let mut rest = Vec::new();
                while Instant::now() < deadline {
                    let mut socket = connect_from_anywhere(addr).await.map_err(io("connecting"))?;
                    socket.write_all(&body).await.map_err(io("writing"))?;
                    socket.shutdown().await.map_err(io("shutting down the write side"))?;
                    rest.clear();
                    socket.read_to_end(&mut rest).await.map_err(io("waiting for the server to close"))?;
                    if !rest.is_empty() {
                        return Err(LoadError::Reply(format!("a raw server sent {} bytes", rest.len())));
                    }
                    served += 1;
                }
                Ok::<u64, LoadError>(served)
            })
        })
        .collect();
    total(tasks, payload, started).await
}

/// Connects to `addr` from the next of the loopback addresses 127.0.0.2 to 127.0.0.254 when
/// `addr` is IPv4 loopback (from any address otherwise).
///
/// `raw` opens tens of thousands of connections a second, and each one it closes waits in
/// TIME_WAIT on this side for a minute. With them all on one source address, `connect` searches a
/// crowded ephemeral port range for a free port, and that search (in the kernel, on the load
/// generator's CPU) became what `raw` measured, whatever the server. Spread over 253 source
/// addresses, each has its own port range.
async fn connect_from_anywhere(addr: SocketAddr) -> std::io::Result<TcpStream> {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
    let std::net::IpAddr::V4(ip) = addr.ip() else { return TcpStream::connect(addr).await };
    if !ip.is_loopback() {
        return TcpStream::connect(addr).await;
    }
    let host = 2 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 253;
    let socket = tokio::net::TcpSocket::new_v4()?;
    // The port is chosen by `connect`, which only needs the 4-tuple to be unique; `bind` alone
    // would need a port no other socket of that address holds, TIME_WAIT ones included.
    nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::IpBindAddressNoPort, &true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    socket.connect(addr).await
}

/// The tally of `tasks` that each counted messages of `payload` bytes since `started`.
async fn total(
    tasks: Vec<tokio::task::JoinHandle<Result<u64, LoadError>>>,
    payload: usize,
    started: Instant,
) -> Result<Tally, LoadError> {
    let mut count = 0;
    for task in tasks {
        count += task.await.map_err(|err| LoadError::Task(err.to_string()))??;
    }
    Ok(Tally { count, bytes: count * payload as u64, elapsed: started.elapsed() })
}

/// `len` bytes of printable text, so that a server's log of it stays readable.
fn pattern(len: usize) -> Vec<u8> {
    b"interop bench ".iter().copied().cycle().take(len).collect()
}

/// Round-trip times, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latencies {
    /// One per try, sorted.
    pub millis: Vec<f64>,
}

impl Latencies {
    /// The `q` quantile (0.5: the median), by the nearest rank; 0 for none.
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.millis.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.millis[rank - 1]
    }
}

/// `idle`: opens `connections` framed connections that send nothing and holds them; with them
/// open, calls `while_held` (which measures the server's memory), then times `tries` fresh round
/// trips (connect, one `payload`-sized frame, its acknowledgement, close), one after another.
/// Every wait is bounded by `patience`.
pub async fn idle<F: std::future::Future<Output = ()>>(
    addr: SocketAddr,
    connections: usize,
    tries: usize,
    payload: usize,
    patience: Duration,
    while_held: impl FnOnce() -> F,
) -> Result<Latencies, LoadError> {
    let mut held = Vec::with_capacity(connections);
    for _ in 0..connections {
        let socket = tokio::time::timeout(patience, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                LoadError::Timeout(format!("no connection within {patience:?} ({} held)", held.len()))
            })?
            .map_err(io("connecting an idle connection"))?;
        held.push(socket);
    }
    while_held().await;
    let body = pattern(payload);
    let digest = Digest::of(&body);
    let mut millis = Vec::with_capacity(tries);
    for _ in 0..tries {
        let started = Instant::now();
        let round_trip = async {
            let mut socket = TcpStream::connect(addr).await.map_err(io("connecting"))?;
            socket.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
            write_frame(&mut socket, &body).await.map_err(io("writing a frame"))?;
            expect_ack(&mut socket, 1, &digest, &[]).await
        };
        tokio::time::timeout(patience, round_trip)
            .await
            .map_err(|_| LoadError::Timeout(format!("no acknowledgement within {patience:?}")))??;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    drop(held);
    millis.sort_by(f64::total_cmp);
    Ok(Latencies { millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `expect_ack` on one reply frame whose payload is `reply`.
    fn check(reply: &str, exact: &[u8]) -> Result<(), LoadError> {
        let mut input = Vec::new();
        interop_wire::frame::encode(reply.as_bytes(), &mut input).unwrap();
        let digest = Digest::of(b"abc");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(expect_ack(&mut &input[..], 7, &digest, exact))
    }

    #[test]
    fn a_reply_is_checked_by_its_meaning_when_its_bytes_are_not_the_expected_ones() {
        let ack = Reply::Ack { seq: 7, digest: Digest::of(b"abc") }.to_string();
        check(&ack, ack.as_bytes()).unwrap();
        check(&ack, b"").unwrap();
        // Another spelling of the same ACK: a leading zero.
        check(&ack.replacen("ACK 7", "ACK 07", 1), ack.as_bytes()).unwrap();
        let wrong = Reply::Ack { seq: 7, digest: Digest::of(b"abd") }.to_string();
        let err = check(&wrong, ack.as_bytes()).unwrap_err();
        assert!(matches!(err, LoadError::Reply(_)), "{err}");
        assert!(check(&ack.replacen("ACK 7", "ACK 8", 1), ack.as_bytes()).is_err());
        assert!(check("ERR output disk full", ack.as_bytes()).is_err());
    }
}
