//! How the relay applies a [`Toxic`] to a connection's client → server bytes: [`Faults`] holds the
//! toxic's state on one connection and forwards each chunk as the toxic says. The toxics themselves
//! are plain data, in [`crate::toxic`].

use crate::toxic::Toxic;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// How long a `one_piece_per_read` slicer waits for the server to read a piece before it sends
/// the next one anyway. A server that is reading takes microseconds, or seconds on a loaded
/// machine; one that waits this long has stopped reading (it took what it had for a message).
pub const READ_WAIT_LIMIT: Duration = Duration::from_secs(5);
/// How often the server's receive queue is looked at while waiting for it to read.
const READ_POLL: Duration = Duration::from_millis(1);

/// What a toxic decided about the rest of a connection.
pub(super) enum Flow {
    /// Keep relaying.
    Go,
    /// Cut the connection, for this reason.
    Cut(String),
}

/// A toxic's state on one connection's client → server direction.
pub(super) struct Faults {
    pub(super) toxic: Toxic,
    /// The upstream connection as `(server, relay)` addresses: where the server's end of it is
    /// found in the kernel's socket table.
    upstream: (SocketAddr, SocketAddr),
    /// Bytes let through so far.
    passed: u64,
    /// Deterministic pseudo-random numbers (xorshift64), for slice sizes and jitter.
    state: u64,
}

impl Faults {
    pub(super) fn new(toxic: Toxic, upstream: (SocketAddr, SocketAddr)) -> Faults {
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
    pub(super) async fn forward<W: AsyncWrite + Unpin>(
        &mut self,
        dst: &mut W,
        chunk: &[u8],
    ) -> io::Result<Flow> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::Relay;
    use crate::relay::testing::{exchange, payload, read_until_end, serve};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

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
}
