//! What the relay records of each connection: an [`Entry`] while the connection is relayed, a
//! [`Recorded`] once the relay is finished, and the report's form of those, [`transcript`].

use crate::hexdump::hex_dump;
use crate::results::{ConnectionTranscript, Direction, Transcript};
use interop_wire::addr_string;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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

/// A connection's record while it is being relayed; shared so that `finish` keeps what was
/// recorded even of a connection whose task had to be aborted.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) client: SocketAddr,
    pub(super) relay: Option<SocketAddr>,
    pub(super) to_server: Vec<u8>,
    pub(super) to_client: Vec<u8>,
    pub(super) end: Option<String>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds the record of a newly accepted connection, in accept order.
pub(super) fn new_entry(entries: &Mutex<Vec<Arc<Mutex<Entry>>>>, client: SocketAddr) -> Arc<Mutex<Entry>> {
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

impl Entry {
    /// What was recorded, taken out of the entry; what never happened gets its placeholder.
    pub(super) fn take(&mut self) -> Recorded {
        let unspecified = match self.client {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        Recorded {
            client: self.client,
            relay: self.relay.unwrap_or(SocketAddr::new(unspecified, 0)),
            to_server: std::mem::take(&mut self.to_server),
            to_client: std::mem::take(&mut self.to_client),
            end: self.end.take().unwrap_or_else(|| "cut after grace (task aborted)".to_owned()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::testing::payload;

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
