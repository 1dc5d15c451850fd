//! Delivering messages: raw mode (PROTOCOL.md §2), framed mode (§3, with pipelining and
//! half-close, §11) over TCP or Unix sockets, and UDP datagrams (§10.3); every step under the
//! `--timeout-ms` limit, every failure classified into an exit code (§7).

use crate::cli::Args;
use crate::exit::{ClientError, ExitKind};
use interop_wire::cli::Format;
use interop_wire::frame::{FrameError, encode, read_frame, write_frame};
use interop_wire::json::{AckCheck, ClientReport};
use interop_wire::reply::{MAX_REPLY_BYTES, Reply};
use interop_wire::{MAX_UDP_PAYLOAD, MessageView, Mode, Transport, addr_string, pid_string};
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket, UnixStream};

/// Sends every message the arguments name and writes one output entry per delivered message to
/// `out`, flushing each, so that what was delivered before a failure is already printed.
pub fn run(args: &Args, out: &mut impl Write) -> Result<(), ClientError> {
    let payloads = args.payloads().map_err(|err| ClientError::new(ExitKind::Other, err.to_string()))?;
    if args.transport == Transport::Udp {
        // Refuse before anything is sent (PROTOCOL.md §10.3).
        if let Some((i, p)) = payloads.iter().enumerate().find(|(_, p)| p.len() > MAX_UDP_PAYLOAD) {
            return Err(ClientError::new(
                ExitKind::Usage,
                format!(
                    "message {} is {} bytes; a UDP datagram carries at most {MAX_UDP_PAYLOAD}",
                    i + 1,
                    p.len()
                ),
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| ClientError::new(ExitKind::Other, format!("cannot start runtime: {err}")))?;
    runtime.block_on(async {
        let mut session = Session { args, out };
        match (args.transport, args.mode) {
            (Transport::Udp, _) => session.send_udp(&payloads).await,
            (_, Mode::Raw) => {
                for payload in &payloads {
                    session.send_raw(payload).await?;
                }
                Ok(())
            }
            (_, Mode::Framed) => session.send_framed(&payloads).await,
        }
    })
}

/// A connected byte stream: TCP or Unix.
trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for S {}

/// A connected stream with both ends' printed addresses.
struct Connection {
    stream: Box<dyn Stream>,
    local: String,
    peer: String,
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
            ClientError::new(ExitKind::Timeout, format!("timed out after {} ms {what}", self.args.timeout_ms))
        })
    }

    /// Connects over TCP or a Unix socket, as the arguments say.
    async fn connect(&self) -> Result<Connection, ClientError> {
        let cannot = |target: &str, err: io::Error| {
            // A reset that wins the race with the handshake's completion means the server was
            // there and broke the connection: exit 1 like any reset, not "cannot connect".
            let kind = if err.kind() == io::ErrorKind::ConnectionReset {
                ExitKind::Other
            } else {
                ExitKind::Connect
            };
            ClientError::new(kind, format!("cannot connect to {target}: {err}"))
        };
        if let (Transport::Unix, Some(path)) = (self.args.transport, &self.args.path) {
            let target = format!("unix:{}", path.display());
            let stream = self.limited(format!("connecting to {target}"), UnixStream::connect(path)).await?;
            let stream = stream.map_err(|err| cannot(&target, err))?;
            // An unnamed Unix socket is known to the server by our process id (PROTOCOL.md §10.2).
            return Ok(Connection {
                stream: Box::new(stream),
                local: pid_string(std::process::id()),
                peer: target,
            });
        }
        let (host, port) = (self.args.host.as_str(), self.args.port);
        let target = format!("{host}:{port}");
        self.limited(format!("connecting to {target}"), self.connect_tcp(&target)).await?
    }

    /// Connects to each address the host resolves to, in order, until one connects.
    async fn connect_tcp(&self, target: &str) -> Result<Connection, ClientError> {
        let cannot = |err: io::Error| {
            ClientError::new(ExitKind::Connect, format!("cannot connect to {target}: {err}"))
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in
            tokio::net::lookup_host((self.args.host.as_str(), self.args.port)).await.map_err(cannot)?
        {
            let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
            let socket = socket.map_err(cannot)?;
            // A second descriptor of the socket, for when connecting reports a reset: the socket
            // that connect() takes is closed by then, but what the server sent before it broke
            // the connection (ERR busy, say) is still in the receive buffer (PROTOCOL.md §3.4).
            let spare = socket.as_fd().try_clone_to_owned().map_err(cannot)?;
            match socket.connect(addr).await {
                Ok(stream) => {
                    // Framed mode is stop-and-wait with small frames: Nagle would only add latency.
                    let _ = stream.set_nodelay(true);
                    let local = stream.local_addr().map_err(|err| ClientError::io("local address", &err))?;
                    // The address connected to: the peer's, which a reset makes unreadable.
                    let (local, peer) = (addr_string(local), addr_string(addr));
                    return Ok(Connection { stream: Box::new(stream), local, peer });
                }
                // The server was there and broke the connection: exit 1 like any reset, not
                // "cannot connect", unless it said why.
                Err(err)
                    if matches!(err.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) =>
                {
                    if self.args.mode == Mode::Framed
                        && let Ok(mut spare) = spare_stream(spare)
                        && let Some(explained) = err_reply_within_a_second(&mut spare, 1).await
                    {
                        return Err(explained);
                    }
                    return Err(ClientError::new(
                        ExitKind::Other,
                        format!("cannot connect to {target}: {err}"),
                    ));
                }
                Err(err) => last = err,
            }
        }
        Err(cannot(last))
    }

    /// Raw mode: connect, write, shut down the write side, wait for the server's EOF.
    async fn send_raw(&mut self, payload: &[u8]) -> Result<(), ClientError> {
        let Connection { mut stream, local, peer } = self.connect().await?;
        let sent = async {
            stream.write_all(payload).await?;
            stream.shutdown().await
        };
        self.limited("sending", sent).await?.map_err(|err| ClientError::io("sending failed", &err))?;
        // Anything the server sends back is ignored; its EOF says it has finished with us.
        self.limited("waiting for the server to close", drain(&mut stream))
            .await?
            .map_err(|err| ClientError::io("waiting for the server to close", &err))?;
        self.report(payload, 1, &local, &peer, AckCheck::None)
    }

    /// Framed mode: one connection; stop-and-wait (each frame written, then its ACK read), or
    /// with `--pipeline`/`--half-close` every frame first, then every ACK.
    async fn send_framed(&mut self, payloads: &[Vec<u8>]) -> Result<(), ClientError> {
        let Connection { mut stream, local, peer } = self.connect().await?;
        let pipelined = self.args.pipeline || self.args.half_close;
        // A pipelined write that failed: the replies already sent are read as if it had not
        // (§11), and this error stands only if none of them explains it.
        let mut write_failure: Option<io::Error> = None;
        if pipelined {
            let mut batch = Vec::new();
            for payload in payloads {
                encode(payload, &mut batch).map_err(|err| {
                    ClientError::new(
                        ExitKind::Usage,
                        format!("a message of {} bytes does not fit a frame", err.len),
                    )
                })?;
            }
            let written = async {
                stream.write_all(&batch).await?;
                if self.args.half_close {
                    stream.shutdown().await?;
                }
                stream.flush().await
            };
            if let Err(err) = self.limited("sending the frames", written).await? {
                write_failure = Some(err);
            }
        }
        let write_failed =
            |err: &io::Error| ClientError::io(format!("sending the {} frames failed", payloads.len()), err);
        for (index, payload) in payloads.iter().enumerate() {
            let seq = index as u64 + 1;
            if !pipelined {
                let written =
                    self.limited(format!("sending message {seq}"), write_frame(&mut stream, payload)).await?;
                if let Err(err) = written {
                    return Err(explain_write_failure(&mut stream, seq, &err).await);
                }
            }
            let reply = self.limited(
                format!("waiting for the ack of message {seq}"),
                read_frame(&mut stream, MAX_REPLY_BYTES),
            );
            let reply = match (reply.await?, &write_failure) {
                (Ok(Some(reply)), _) => reply,
                // The connection broke where the write did: that is the failure.
                (_, Some(err)) => return Err(write_failed(err)),
                (Ok(None) | Err(FrameError::Truncated { .. }), None) => {
                    return Err(ClientError::new(
                        ExitKind::Protocol,
                        format!("server closed the connection before acknowledging message {seq}"),
                    ));
                }
                (Err(err @ FrameError::TooLarge { .. }), None) => {
                    return Err(ClientError::new(
                        ExitKind::Protocol,
                        format!("reply to message {seq}: {err}"),
                    ));
                }
                (Err(FrameError::Io(err)), None) => {
                    return Err(ClientError::io(format!("reading the ack of message {seq}"), &err));
                }
            };
            if let Err(err) = check_ack(seq, payload, &reply) {
                // After a failed write only an ERR explains it; any other odd reply does not.
                let explained = err_reply(seq, &reply).is_some();
                return Err(match &write_failure {
                    Some(write_err) if !explained => write_failed(write_err),
                    _ => err,
                });
            }
            self.report(payload, seq, &local, &peer, AckCheck::Verified)?;
        }
        let closed = async {
            if !self.args.half_close {
                stream.shutdown().await?;
            }
            drain(&mut stream).await
        };
        // Everything is acknowledged by now; a slow or odd close is not a delivery failure.
        let _ = tokio::time::timeout(self.args.timeout(), closed).await;
        Ok(())
    }

    /// UDP: one connected socket, one datagram per message, each acknowledged by a datagram.
    async fn send_udp(&mut self, payloads: &[Vec<u8>]) -> Result<(), ClientError> {
        let (host, port) = (self.args.host.as_str(), self.args.port);
        let target = format!("{host}:{port}");
        let server = tokio::net::lookup_host((host, port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| ClientError::new(ExitKind::Connect, format!("cannot resolve {target}")))?;
        let any: std::net::SocketAddr =
            if server.is_ipv6() { ([0u16; 8], 0).into() } else { ([0u8; 4], 0).into() };
        let socket =
            UdpSocket::bind(any).await.map_err(|err| ClientError::io("binding a UDP socket", &err))?;
        socket
            .connect(server)
            .await
            .map_err(|err| ClientError::new(ExitKind::Connect, format!("{target}: {err}")))?;
        let local = addr_string(socket.local_addr().map_err(|err| ClientError::io("local address", &err))?);
        let peer = addr_string(server);
        let mut buf = vec![0u8; MAX_REPLY_BYTES as usize + 1];
        for (index, payload) in payloads.iter().enumerate() {
            let seq = index as u64 + 1;
            let sent = self.limited(format!("sending datagram {seq}"), socket.send(payload)).await?;
            sent.map_err(|err| udp_error(&target, seq, err))?;
            let received =
                self.limited(format!("waiting for the ack of datagram {seq}"), socket.recv(&mut buf)).await?;
            let n = received.map_err(|err| udp_error(&target, seq, err))?;
            if n > MAX_REPLY_BYTES as usize {
                return Err(ClientError::new(
                    ExitKind::Protocol,
                    format!("reply to datagram {seq} is too long"),
                ));
            }
            check_ack(seq, payload, &buf[..n])?;
            self.report(payload, seq, &local, &peer, AckCheck::Verified)?;
        }
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
                    transport: self.args.transport,
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

/// Reads and discards everything until EOF.
async fn drain(stream: &mut Box<dyn Stream>) -> io::Result<()> {
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// After a failed write the server may have rejected a frame with an ERR reply and closed: that
/// reply explains the failure better than the broken pipe does.
async fn explain_write_failure(stream: &mut Box<dyn Stream>, seq: u64, err: &io::Error) -> ClientError {
    match err_reply_within_a_second(stream, seq).await {
        Some(explained) => explained,
        None => ClientError::io(format!("sending message {seq} failed"), err),
    }
}

/// Reads one reply frame, for up to a second (PROTOCOL.md §3.4): if it is an ERR reply to
/// message `seq`, the error that reports it.
async fn err_reply_within_a_second(stream: &mut Box<dyn Stream>, seq: u64) -> Option<ClientError> {
    match tokio::time::timeout(Duration::from_secs(1), read_frame(stream, MAX_REPLY_BYTES)).await {
        Ok(Ok(Some(reply))) => err_reply(seq, &reply),
        _ => None,
    }
}

/// The spare descriptor of a socket whose connect reported a reset, as a stream to read from.
fn spare_stream(spare: OwnedFd) -> io::Result<Box<dyn Stream>> {
    let stream = std::net::TcpStream::from(spare);
    stream.set_nonblocking(true)?;
    Ok(Box::new(TcpStream::from_std(stream)?))
}

fn udp_error(target: &str, seq: u64, err: io::Error) -> ClientError {
    // A port nobody listens on answers with ICMP "port unreachable", reported as refused.
    if err.kind() == io::ErrorKind::ConnectionRefused {
        return ClientError::new(ExitKind::Connect, format!("cannot reach {target}: {err}"));
    }
    ClientError::io(format!("datagram {seq}"), &err)
}

/// If `reply` is an `ERR` reply, the error that reports it (PROTOCOL.md §3.3), message `seq` being
/// the one waited on.
fn err_reply(seq: u64, reply: &[u8]) -> Option<ClientError> {
    let report = Reply::parse(reply).ok()?.err_report(seq)?;
    Some(ClientError::new(ExitKind::Protocol, report))
}

/// Requires `reply` to be `ACK seq len(payload) sha256(payload)`.
fn check_ack(seq: u64, payload: &[u8], reply: &[u8]) -> Result<(), ClientError> {
    if let Some(err) = err_reply(seq, reply) {
        return Err(err);
    }
    let protocol = |message: String| ClientError::new(ExitKind::Protocol, message);
    match Reply::parse(reply).map_err(|err| protocol(format!("reply to message {seq}: {err}")))? {
        // Not UTF-8 would be malformed, but any ERR reply was reported above.
        Reply::Err { .. } => Err(protocol(format!("server rejected message {seq}"))),
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
        let good = Reply::Ack { seq: 2, digest: interop_wire::Digest::of(b"abc") }.to_string();
        assert!(check_ack(2, b"abc", good.as_bytes()).is_ok());
        for (seq, payload) in [(1, &b"abc"[..]), (2, b"abd"), (2, b"ab")] {
            let err = check_ack(seq, payload, good.as_bytes()).unwrap_err();
            assert_eq!(err.kind, ExitKind::Protocol);
        }
        let err = check_ack(1, b"x", b"ERR too-large 5 > 4").unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ExitKind::Protocol, "server rejected message 1: ERR too-large 5 > 4")
        );
        assert_eq!(check_ack(1, b"x", b"nonsense").unwrap_err().kind, ExitKind::Protocol);
    }

    #[test]
    fn err_replies_are_reported_as_received_after_a_phrase_for_their_code() {
        let err = check_ack(3, b"x", b"ERR busy 2 connections open").unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ExitKind::Protocol, "server is busy: ERR busy 2 connections open")
        );
        let err = check_ack(3, b"x", b"ERR output writing output: disk full").unwrap_err();
        assert_eq!(err.message, "server could not log message 3: ERR output writing output: disk full");
        let err = check_ack(1, b"x", b"ERR odd line\nbreak\t\x7f").unwrap_err();
        assert_eq!(err.message, r"server rejected message 1: ERR odd line\x0abreak\x09\x7f");
        assert_eq!(check_ack(1, b"x", b"ERR busy").unwrap_err().message, "server is busy: ERR busy");
        // Not UTF-8: not a reply at all.
        let err = check_ack(2, b"x", b"ERR too-large \xff").unwrap_err();
        assert!(err.message.starts_with("reply to message 2: malformed reply"), "{}", err.message);
        assert!(err_reply(1, b"ERR ").is_none() && err_reply(1, b"ERR").is_none());
    }
}
