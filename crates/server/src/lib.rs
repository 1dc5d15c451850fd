//! The interop server as a library; `src/bin/interop-server.rs` only parses arguments and calls it.
//!
//! - [`server`]: the accept loop and the per-connection protocol ([`server::run`]); it reports
//!   everything that happens to the [`log`] as the events of PROTOCOL.md §8.1
//!   ([`ServerEvent`](interop_wire::json::ServerEvent)s), and prints nothing.
//! - [`udp`]: the same for UDP, where every datagram is a message ([`udp::run`]).
//! - [`log`]: writes events in order, batched by group commit, and tells a connection when its
//!   message's record is written, so that it may acknowledge it.
//! - [`output`]: turns events into the text (tutorial) or JSON lines on stdout, one whole record
//!   at a time.
//! - [`cli`]: the command line.

pub mod cli;
pub mod log;
pub mod output;
pub mod server;
pub mod udp;

pub use server::{Config, ServeError, run};
