//! One relayed connection: its task connects upstream, copies each direction (pumps) byte for byte,
//! passes half-closes on as half-closes and resets as resets, and says how the connection ended.
//!
//! Each connection is relayed by one task that runs both directions concurrently. Both directions
//! live in that one task on purpose: after a peer resets, the kernel reports the reset (`SO_ERROR`)
//! once, to whichever call comes first, and a later read on that socket returns a plain EOF. Because
//! the two directions are polled in turn rather than in parallel, the direction that saw the reset
//! has flagged the side as broken before the other one can mistake the EOF for a clean close.

use super::faults::{Faults, Flow};
use super::record::{Entry, lock};
use crate::toxic::Toxic;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

/// Largest single read; each read is forwarded as soon as it returns, whatever its size.
const READ_CHUNK: usize = 64 * 1024;
/// Once a write showed that one side is gone, how long the other direction may take to deliver what
/// that side sent before it went (it normally takes no time: the socket is dead, reads return at once).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// The relay's lifecycle, broadcast to the accept loop and the connection tasks. Dropping the
/// sender (a `Relay` dropped without `finish`) counts as `Cut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Running,
    Stopped,
    Cut,
}

/// Returns when the phase is `want` or later (or the `Relay` is gone).
pub(super) async fn reached(phase: &mut watch::Receiver<Phase>, want: Phase) {
    let _ = phase
        .wait_for(|p| match want {
            Phase::Running => true,
            Phase::Stopped => *p != Phase::Running,
            Phase::Cut => *p == Phase::Cut,
        })
        .await;
}

/// Closes `stream` with a reset (SO_LINGER 0), so that its peer sees ECONNRESET rather than EOF.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

pub(super) async fn relay_connection(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::Relay;
    use crate::relay::testing::{LIMIT, echo_server, exchange, payload, read_until_end, serve};
    use tokio::net::TcpListener;
    use tokio::sync::{mpsc, oneshot};
    use tokio::time::timeout;

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
}
