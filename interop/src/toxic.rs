//! Network faults as plain data, named and parameterised as in Toxiproxy. The catalogue says
//! which case gets which; the relay applies them. This module imports neither.

/// A network fault applied to the client → server direction, named and parameterised as in
/// Toxiproxy (PROTOCOL-independent: the bytes stay the same, only their timing and fate change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toxic {
    /// Splits each read into pieces of `average_size` ± `size_variation` bytes (at least 1),
    /// written separately with `delay_us` between them.
    Slicer {
        /// Mean piece size in bytes.
        average_size: usize,
        /// Largest deviation from the mean.
        size_variation: usize,
        /// Pause between pieces, in microseconds.
        delay_us: u64,
        /// Not in Toxiproxy: write each piece only once the server has read all the bytes before
        /// it (its socket's receive queue is empty), so that no read of the server's ever sees
        /// two pieces. A delay only makes that likely; a loaded machine can stall a server for
        /// longer than any delay, and then one read sees the whole message and hides a server
        /// that takes one read for a message. A server that stops reading holds the next piece
        /// back for at most the relay's `READ_WAIT_LIMIT`.
        one_piece_per_read: bool,
    },
    /// Forwards at most `rate` KB/s.
    Bandwidth {
        /// KB (1000 bytes) per second.
        rate: u64,
    },
    /// Delays every chunk by `latency` ± `jitter` milliseconds.
    Latency {
        /// Milliseconds.
        latency: u64,
        /// Largest deviation, milliseconds.
        jitter: u64,
    },
    /// Forwards the first `bytes` bytes, then cuts the connection (both sides reset).
    LimitData {
        /// Bytes let through.
        bytes: u64,
    },
    /// Resets both sides `timeout` ms after the client's first data (0: at once).
    ResetPeer {
        /// Milliseconds.
        timeout: u64,
    },
    /// Lets nothing through; after `timeout` ms (0: never) cuts the connection.
    Timeout {
        /// Milliseconds.
        timeout: u64,
    },
}

impl Toxic {
    /// Toxiproxy's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            Toxic::Slicer { .. } => "slicer",
            Toxic::Bandwidth { .. } => "bandwidth",
            Toxic::Latency { .. } => "latency",
            Toxic::LimitData { .. } => "limit_data",
            Toxic::ResetPeer { .. } => "reset_peer",
            Toxic::Timeout { .. } => "timeout",
        }
    }
}
