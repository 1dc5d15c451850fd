//! The client command line, the same in every language (PROTOCOL.md §6).

use clap::Parser;
use interop_wire::cli::{Format, unix_path};
use interop_wire::{DEFAULT_MESSAGE, DEFAULT_PORT, Mode, Transport};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Connects to an interop server and sends messages: raw (one per connection) or framed (all on
/// one connection, each acknowledged and verified). Exit codes: 0 ok, 1 other error, 2 usage,
/// 3 cannot connect, 4 timeout, 5 protocol error.
#[derive(Debug, Parser)]
#[command(name = "interop-client", version)]
pub struct Args {
    /// Server host name or IP.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// raw: one message per connection, ended by EOF. framed: length-prefixed, acknowledged.
    #[arg(long, value_enum, default_value_t = Mode::Raw)]
    pub mode: Mode,
    /// text: each message as the server prints it. json: one delivery report per line.
    #[arg(long, default_value_t = Format::Text, value_parser = Format::parser(
        "Each delivered message, printed as in PROTOCOL.md §4",
        "One JSON delivery report per line (PROTOCOL.md §8.2)",
    ))]
    pub format: Format,
    /// Limit for connecting and for each read or write, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// tcp, unix (with --path) or udp (one acknowledged datagram per message).
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    pub transport: Transport,
    /// The Unix socket's path, with --transport unix.
    #[arg(long, required_if_eq("transport", "unix"), value_parser = unix_path)]
    pub path: Option<PathBuf>,
    /// Framed mode: write every frame at once, then read the acknowledgements.
    #[arg(long)]
    pub pipeline: bool,
    /// Framed mode: like --pipeline, shutting down the write side before reading.
    #[arg(long)]
    pub half_close: bool,
    /// Send this file's bytes as one message (repeatable; files go before MESSAGE arguments).
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Messages to send, each as its own message (default: "Hello SocketServer!!!").
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<OsString>,
}

impl Args {
    /// Checks what clap cannot: combinations (PROTOCOL.md §6, §11). An error is a usage error.
    pub fn validate(&self) -> Result<(), String> {
        let batch =
            if self.half_close { Some("--half-close") } else { self.pipeline.then_some("--pipeline") };
        if let Some(flag) = batch {
            if self.mode != Mode::Framed {
                return Err(format!("{flag} needs --mode framed"));
            }
            if self.transport == Transport::Udp {
                return Err(format!("{flag} needs a stream transport (tcp or unix), not udp"));
            }
        }
        Ok(())
    }

    /// The per-operation timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The payloads to send, in order: files, then arguments, or the default message.
    pub fn payloads(&self) -> std::io::Result<Vec<Vec<u8>>> {
        let mut payloads = Vec::with_capacity(self.files.len() + self.messages.len());
        for path in &self.files {
            let bytes = std::fs::read(path).map_err(|err| {
                std::io::Error::new(err.kind(), format!("cannot read {}: {err}", path.display()))
            })?;
            payloads.push(bytes);
        }
        // On Unix an argument is bytes; send exactly those (UTF-8 when the shell gave UTF-8).
        payloads.extend(
            self.messages.iter().map(|m| std::os::unix::ffi::OsStrExt::as_bytes(m.as_os_str()).to_vec()),
        );
        if payloads.is_empty() {
            payloads.push(DEFAULT_MESSAGE.as_bytes().to_vec());
        }
        Ok(payloads)
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
    fn default_message_and_order() {
        let args = Args::parse_from(["c"]);
        assert_eq!(args.payloads().unwrap(), vec![DEFAULT_MESSAGE.as_bytes().to_vec()]);
        let args = Args::parse_from(["c", "--port=1", "a", "", "--", "--b"]);
        assert_eq!(args.payloads().unwrap(), vec![b"a".to_vec(), vec![], b"--b".to_vec()]);
        assert!(Args::try_parse_from(["c", "--port", "0"]).is_err());
        assert!(Args::try_parse_from(["c", "--mode", "udp"]).is_err());
        assert!(Args::try_parse_from(["c", "--timeout-ms", "0"]).is_err());
    }

    #[test]
    fn transport_combinations() {
        assert!(Args::try_parse_from(["c", "--transport", "unix"]).is_err());
        let long = format!("/tmp/{}", "x".repeat(120));
        let err = Args::try_parse_from(["c", "--transport", "unix", "--path", &long]).unwrap_err();
        assert!(err.to_string().contains("unix socket path too long"), "{err}");
        let pipeline_raw = Args::parse_from(["c", "--pipeline"]);
        assert_eq!(pipeline_raw.validate().unwrap_err(), "--pipeline needs --mode framed");
        let half_close_udp =
            Args::parse_from(["c", "--half-close", "--mode", "framed", "--transport", "udp"]);
        assert!(half_close_udp.validate().unwrap_err().contains("not udp"));
        assert!(Args::parse_from(["c", "--half-close", "--mode", "framed"]).validate().is_ok());
    }
}
