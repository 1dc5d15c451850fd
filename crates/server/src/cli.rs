//! The `interop-server` command line (PROTOCOL.md §5).

use crate::server::Config;
use clap::Parser;
use interop_wire::cli::{Format, unix_path};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_PORT, Mode, Transport};
use std::path::PathBuf;
use std::time::Duration;

/// Accepts connections forever and prints `Hello: <peer>` and every message it receives.
///
/// The first line on stdout is always `listening on <ip>:<port>`, with the port actually bound.
#[derive(Debug, Parser)]
#[command(name = "interop-server", version)]
pub struct Args {
    /// Address to listen on (loopback by default; `::1` and `0.0.0.0` work).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 takes an ephemeral port (see the `listening on` line).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// raw: one message per connection, ended by EOF. framed: length-prefixed, acknowledged.
    #[arg(long, value_enum, default_value_t = Mode::Raw)]
    pub mode: Mode,
    /// text: the tutorial's `Hello: <peer>` and message. json: one event object per line.
    #[arg(long, default_value_t = Format::Text, value_parser = Format::parser(
        "`Hello: <peer>` and the message, as the tutorial prints them",
        "One JSON event per line (PROTOCOL.md §8.1)",
    ))]
    pub format: Format,
    /// Largest message accepted, in bytes; checked before anything is allocated.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: u32,
    /// Most connections served at once; more are turned away (framed: ERR busy; raw: a reset).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// tcp, unix (with --path) or udp (one acknowledged datagram per message).
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    pub transport: Transport,
    /// The Unix socket's path, with --transport unix (a stale socket file there is replaced).
    #[arg(long, required_if_eq("transport", "unix"), value_parser = unix_path)]
    pub path: Option<PathBuf>,
    /// Close a connection that is silent (raw) or does not complete a frame (framed) for this long.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: u64,
}

impl Args {
    /// The server configuration these arguments describe.
    pub fn config(&self) -> Config {
        Config {
            mode: self.mode,
            max_message_bytes: self.max_message_bytes,
            max_connections: self.max_connections as usize,
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_tutorials() {
        let args = Args::parse_from(["interop-server"]);
        assert_eq!((args.host.as_str(), args.port, args.mode), ("127.0.0.1", 8099, Mode::Raw));
        assert_eq!(args.format, Format::Text);
        assert_eq!(args.config().max_message_bytes, 16 * 1024 * 1024);
        assert_eq!(args.transport, Transport::Tcp);
    }

    #[test]
    fn unix_needs_a_short_enough_path() {
        assert!(Args::try_parse_from(["s", "--transport", "unix"]).is_err());
        let long = format!("/tmp/{}", "x".repeat(120));
        let err = Args::try_parse_from(["s", "--transport", "unix", "--path", &long]).unwrap_err();
        assert!(err.to_string().contains("unix socket path too long: 125 bytes, at most 107"), "{err}");
        assert!(Args::try_parse_from(["s", "--transport", "unix", "--path", "/tmp/s.sock"]).is_ok());
    }
}
