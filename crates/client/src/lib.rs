//! The interop client as a library; `src/bin/interop-client.rs` only parses arguments and calls it.
//!
//! - [`cli`]: the command line shared by every client in every language (PROTOCOL.md §6).
//! - [`exit`]: the exit codes (§7) and the error type that carries one.
//! - [`send`]: raw and framed delivery, with timeouts and acknowledgement checks.

pub mod cli;
pub mod exit;
pub mod send;

pub use cli::Args;
pub use exit::{ClientError, ExitKind};
pub use send::run;
