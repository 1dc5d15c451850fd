//! Delivering messages: raw mode (PROTOCOL.md §2) and framed mode (§3), every step under the
//! `--timeout-ms` limit, every failure classified into an exit code (§7).

use crate::cli::{Args, Format};
use crate::exit::{ClientError, ExitKind};
use interop_wire::frame::{FrameError, read_frame, write_frame};
use interop_wire::json::{AckCheck, ClientReport};
use interop_wire::reply::{MAX_REPLY_BYTES, Reply};
use interop_wire::{MessageView, Mode, addr_string};
use std::future::Future;
use std::io::{self, Write};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends every message the arguments name and writes one output entry per delivered message to
/// `out`, flushing each, so that what was delivered before a failure is already printed.
pub fn run(args: &Args, out: &mut impl Write) -> Result<(), ClientError> {
    let payloads = args
        .payloads()
        .map_err(|err| ClientError::new(ExitKind::Other, err.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| ClientError::new(ExitKind::Other, format!("cannot start runtime: {err}")))?;
    runtime.block_on(async {
        let mut session = Session { args, out };
        match args.mode {
            Mode::Raw => {
                for payload in &payloads {
                    session.send_raw(payload).await?;
                }
            }
            Mode::Framed => session.send_framed(&payloads).await?,
        }
        Ok(())
    })
}

struct Session<'a, W> {
    args: &'a Args,
    out: &'a mut W,
}

impl<W: Write> Session<'_, W> {
    /// Runs `op` under the timeout; a timeout becomes exit code 4.
    async fn limited<T>(
        &self,
        what: impl std::fmt::Display,
        op: impl Future<Output = T>,
    ) -> Result<T, ClientError> {
        tokio::time::timeout(self.args.timeout(), op).await.map_err(|_| {
            ClientError::new(
                ExitKind::Timeout,
                format!("timed out after {} ms {what}", self.args.timeout_ms),
            )
        })
    }

    async fn connect(&self) -> Result<TcpStream, ClientError> {
        let (host, port) = (self.args.host.as_str(), self.args.port);
        let connected = self.limited(
            format!("connecting to {host}:{port}"),
            TcpStream::connect((host, port)),
        );
        let stream = connected.await?.map_err(|err| {
            // A reset that wins the race with the handshake's completion means the server was
            // there and broke the connection: exit 1 like any reset, not "cannot connect".
            let kind = if err.kind() == io::ErrorKind::ConnectionReset {
                ExitKind::Other
            } else {
                ExitKind::Connect
            };
            ClientError::new(kind, format!("cannot connect to {host}:{port}: {err}"))
        })?;
        // Framed mode is stop-and-wait with small frames: Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// Raw mode: connect, write, shut down the write side, wait for the server's EOF.
    async fn send_raw(&mut self, payload: &[u8]) -> Result<(), ClientError> {
        let mut stream = self.connect().await?;
        let (local, peer) = addresses(&stream)?;
        let sent = async {
            stream.write_all(payload).await?;
            stream.shutdown().await
        };
        self.limited("sending", sent)
            .await?
            .map_err(|err| ClientError::io("sending failed", &err))?;
        // Anything the server sends back is ignored; its EOF says it has finished with us.
        let mut sink = [0u8; 1024];
        let drained = async {
            while stream.read(&mut sink).await? > 0 {}
            io::Result::Ok(())
        };
        self.limited("waiting for the server to close", drained)
            .await?
            .map_err(|err| ClientError::io("waiting for the server to close", &err))?;
        self.report(payload, 1, &local, &peer, AckCheck::None)
    }

    /// Framed mode: one connection; each frame is written, then its ACK read and checked.
    async fn send_framed(&mut self, payloads: &[Vec<u8>]) -> Result<(), ClientError> {
        let mut stream = self.connect().await?;
        let (local, peer) = addresses(&stream)?;
        for (index, payload) in payloads.iter().enumerate() {
            let seq = index as u64 + 1;
            let written = self
                .limited(
                    format!("sending message {seq}"),
                    write_frame(&mut stream, payload),
                )
                .await?;
            if let Err(err) = written {
                // The server may have rejected the frame with an ERR reply and closed: that reply
                // explains the failure better than the broken pipe does.
                if let Ok(Ok(Some(reply))) =
                    tokio::time::timeout(Duration::from_secs(1), read_frame(&mut stream, MAX_REPLY_BYTES))
                        .await
                    && let Ok(Reply::Err { code, detail }) = Reply::parse(&reply)
                {
                    return Err(server_refused(seq, &code, &detail));
                }
                return Err(ClientError::io(format!("sending message {seq} failed"), &err));
            }
            let reply = self.limited(
                format!("waiting for the ack of message {seq}"),
                read_frame(&mut stream, MAX_REPLY_BYTES),
            );
            let reply = match reply.await? {
                Ok(Some(reply)) => reply,
                Ok(None) | Err(FrameError::Truncated { .. }) => {
                    return Err(ClientError::new(
                        ExitKind::Protocol,
                        format!("server closed the connection before acknowledging message {seq}"),
                    ));
                }
                Err(err @ FrameError::TooLarge { .. }) => {
                    return Err(ClientError::new(
                        ExitKind::Protocol,
                        format!("reply to message {seq}: {err}"),
                    ));
                }
                Err(FrameError::Io(err)) => {
                    return Err(ClientError::io(format!("reading the ack of message {seq}"), &err));
                }
            };
            check_ack(seq, payload, &reply)?;
            self.report(payload, seq, &local, &peer, AckCheck::Verified)?;
        }
        let closed = async {
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            io::Result::Ok(())
        };
        // Everything is acknowledged by now; a slow or odd close is not a delivery failure.
        let _ = tokio::time::timeout(self.args.timeout(), closed).await;
        Ok(())
    }

    /// Prints one delivered message.
    fn report(
        &mut self,
        payload: &[u8],
        seq: u64,
        local: &str,
        peer: &str,
        ack: AckCheck,
    ) -> Result<(), ClientError> {
        let view = MessageView::of(payload);
        let line = match self.args.format {
            Format::Text => view.line(),
            Format::Json => {
                let report = ClientReport {
                    seq,
                    local: local.to_owned(),
                    peer: peer.to_owned(),
                    mode: self.args.mode,
                    len: view.digest.len,
                    sha256: view.digest.sha256_hex(),
                    ack,
                };
                serde_json::to_string(&report)
                    .map_err(|err| ClientError::new(ExitKind::Other, err.to_string()))?
            }
        };
        let written = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        match written {
            // Nobody is reading our output any more; delivery still goes on.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|err| ClientError::new(ExitKind::Other, format!("writing output: {err}"))),
        }
    }
}

fn addresses(stream: &TcpStream) -> Result<(String, String), ClientError> {
    let local = stream
        .local_addr()
        .map_err(|err| ClientError::io("local address", &err))?;
    let peer = stream
        .peer_addr()
        .map_err(|err| ClientError::io("peer address", &err))?;
    Ok((addr_string(local), addr_string(peer)))
}

fn server_refused(seq: u64, code: &str, detail: &str) -> ClientError {
    ClientError::new(
        ExitKind::Protocol,
        format!("server rejected message {seq}: {code} {detail}"),
    )
}

/// Requires `reply` to be `ACK seq len(payload) sha256(payload)`.
fn check_ack(seq: u64, payload: &[u8], reply: &[u8]) -> Result<(), ClientError> {
    let protocol = |message: String| ClientError::new(ExitKind::Protocol, message);
    match Reply::parse(reply).map_err(|err| protocol(format!("reply to message {seq}: {err}")))? {
        Reply::Err { code, detail } => Err(server_refused(seq, &code, &detail)),
        Reply::Ack { seq: got_seq, digest } => {
            let expected = interop_wire::Digest::of(payload);
            if got_seq != seq || digest != expected {
                return Err(protocol(format!(
                    "ack mismatch for message {seq}: sent {} bytes sha256 {}, server acknowledged message {got_seq} with {} bytes sha256 {}",
                    expected.len,
                    expected.sha256_hex(),
                    digest.len,
                    digest.sha256_hex()
                )));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_must_match_sequence_length_and_hash() {
        let good = Reply::Ack {
            seq: 2,
            digest: interop_wire::Digest::of(b"abc"),
        }
        .to_string();
        assert!(check_ack(2, b"abc", good.as_bytes()).is_ok());
        for (seq, payload) in [(1, &b"abc"[..]), (2, b"abd"), (2, b"ab")] {
            let err = check_ack(seq, payload, good.as_bytes()).unwrap_err();
            assert_eq!(err.kind, ExitKind::Protocol);
        }
        let err = check_ack(1, b"x", b"ERR too-large 5 > 4").unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ExitKind::Protocol, "server rejected message 1: too-large 5 > 4")
        );
        assert_eq!(
            check_ack(1, b"x", b"nonsense").unwrap_err().kind,
            ExitKind::Protocol
        );
    }
}
