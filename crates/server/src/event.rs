//! What the server observes, as events: the server emits them, the log writes them.

use interop_wire::{MessageView, Mode};

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
