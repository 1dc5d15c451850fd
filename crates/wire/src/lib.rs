//! The interop wire protocol, as specified in `docs/PROTOCOL.md`. Every Rust program in the
//! workspace (server, client, harness) speaks the protocol through this crate and nowhere else.
//!
//! - [`frame`]: framed mode's 4-byte big-endian length prefix, read and written over tokio streams,
//!   decoded from bytes in any pieces by the sans-IO [`frame::Decoder`], or from a buffer the
//!   caller keeps by [`frame::decode`], and encoded into a `Vec` by [`frame::encode`].
//! - [`reply`]: the server's reply frames (`ACK <seq> <len> <sha256>`, `ERR <code> <detail>`).
//! - [`digest`]: a message's length and SHA-256, the identity every check compares.
//! - [`display`]: how a message is printed (text, or a summary line with an escaped preview).
//! - [`json`]: the JSON lines the server (events) and the clients (delivery reports) print.
//! - [`Mode`]: raw (one message per connection, ended by EOF) or framed.
//! - `cli` (with the `clap` feature): what the command lines of the server and the client share.

#[cfg(feature = "clap")]
pub mod cli;
pub mod digest;
pub mod display;
pub mod frame;
pub mod json;
pub mod reply;

pub use digest::Digest;
pub use display::MessageView;
pub use frame::{FrameError, read_frame, write_frame};
pub use reply::Reply;

use std::fmt;
use std::str::FromStr;

/// The default port of servers and clients.
pub const DEFAULT_PORT: u16 = 8099;

/// The server's default limit on one message, in bytes (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

/// The message a client sends when it is given none.
pub const DEFAULT_MESSAGE: &str = "Hello SocketServer!!!";

/// How messages travel on a connection. Server and client must agree; it cannot be seen on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One message per connection; the sender's EOF ends it; no reply.
    #[default]
    Raw,
    /// Length-prefixed frames, many per connection, each acknowledged.
    Framed,
}

impl Mode {
    /// The name used on command lines and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Raw => "raw",
            Mode::Framed => "framed",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a mode name that is neither `raw` nor `framed`.
#[derive(Debug, thiserror::Error)]
#[error("unknown mode {0:?} (expected raw or framed)")]
pub struct UnknownMode(String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Mode::Raw),
            "framed" => Ok(Mode::Framed),
            other => Err(UnknownMode(other.to_owned())),
        }
    }
}

/// What carries the bytes (PROTOCOL.md §10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP over IPv4 or IPv6.
    #[default]
    Tcp,
    /// Unix domain stream sockets (`--path`).
    Unix,
    /// UDP: one datagram per message, each acknowledged.
    Udp,
}

impl Transport {
    /// The name used on command lines and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest message one UDP datagram carries (the IPv4 limit: 65,535 − 8 − 20).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// The longest Unix socket path Linux accepts, in bytes (`sun_path` is 108 with the NUL).
pub const MAX_UNIX_PATH: usize = 107;

/// Checks a Unix socket path's length (PROTOCOL.md §10.2).
pub fn check_unix_path(path: &std::path::Path) -> Result<(), String> {
    let len = path.as_os_str().len();
    if len > MAX_UNIX_PATH {
        return Err(format!("unix socket path too long: {len} bytes, at most {MAX_UNIX_PATH}"));
    }
    Ok(())
}

/// How a Unix-socket peer is named: by its process id (PROTOCOL.md §10.2).
pub fn pid_string(pid: impl fmt::Display) -> String {
    format!("pid:{pid}")
}

/// An address as the protocol prints it: `ip:port`, `[ipv6]:port`, with IPv4-mapped IPv6
/// addresses (`::ffff:127.0.0.1`, seen by a dual-stack listener) shown as the IPv4 they are, so
/// both ends of a connection print the same string.
pub fn addr_string(addr: std::net::SocketAddr) -> String {
    std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port()).to_string()
}
