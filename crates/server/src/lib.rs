//! The interop server as a library; `src/bin/interop-server.rs` only parses arguments and calls it.
//!
//! - [`server`]: the accept loop and the per-connection protocol ([`server::run`]); it reports
//!   everything that happens as [`Event`]s and prints nothing.
//! - [`output`]: turns events into the text (tutorial) or JSON lines on stdout, one whole record
//!   at a time, on its own thread.
//! - [`cli`]: the command line.

pub mod cli;
pub mod output;
pub mod server;

pub use server::{Config, Event, run};
