//! The recording relay of `interop run --record`: it sits between a client and the server of a cell,
//! relays every connection byte for byte (half-closes and resets included) and records what crossed
//! the wire in each direction, so a failing cell can show exactly what was sent.
//!
//! - `mod.rs`: the [`Relay`]: start it, accept connections, finish it (stop accepting, wait,
//!   cut what is still open) and get what was recorded.
//! - `connection.rs`: one relayed connection: connecting upstream, both directions copied byte for
//!   byte, half-closes and resets passed on, how it ended; and the relay's phase (running, stopped,
//!   cut) that its tasks watch.
//! - `faults.rs`: how a [`Toxic`] (plain data, in [`crate::toxic`]) is applied to the client →
//!   server bytes.
//! - `record.rs`: what was recorded of each connection ([`Recorded`]) and its report form
//!   ([`transcript`]), whose dumps are [`crate::hexdump`]'s.
//! - `testing.rs` (tests only): the upstream servers, clients and payloads the tests share.

mod connection;
mod faults;
mod record;
#[cfg(test)]
mod testing;

pub use crate::hexdump::hex_dump;
pub use faults::READ_WAIT_LIMIT;
pub use record::{Recorded, transcript};

use crate::toxic::Toxic;
use connection::{Phase, reached, relay_connection};
use record::{Entry, lock, new_entry};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// After cutting, how long `finish` waits for the connection tasks to reset their sockets before
/// aborting them.
const CUT_MARGIN: Duration = Duration::from_secs(1);

/// A running relay: accepts on [`Relay::addr`] and relays each connection to the upstream server.
pub struct Relay {
    addr: SocketAddr,
    phase: watch::Sender<Phase>,
    acceptor: JoinHandle<JoinSet<()>>,
    entries: Arc<Mutex<Vec<Arc<Mutex<Entry>>>>>,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish_non_exhaustive()
    }
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
        entries.iter().map(|entry| lock(entry).take()).collect()
    }
}

async fn join_all(tasks: &mut JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::testing::{LIMIT, echo_server, read_until_end, serve};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::{Barrier, mpsc};
    use tokio::time::timeout;

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
}
