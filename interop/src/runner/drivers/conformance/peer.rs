//! The harness as a framed client: connect, send frames (or any bytes), read replies, each bound
//! by a timeout, every failure a [`Problem`] saying whose it is.

use crate::results::Problem;
use crate::runner::timeouts::PEER_REPLY_TIMEOUT;
use interop_wire::reply::{MAX_REPLY_BYTES, Reply};
use interop_wire::{Digest, addr_string};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to the server, or says why the harness could not.
pub async fn connect(addr: SocketAddr) -> Result<TcpStream, Problem> {
    match tokio::time::timeout(PEER_REPLY_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(Problem::server(format!("cannot connect to the server at {addr}: {err}"))),
        Err(_) => Err(Problem::server(format!("connecting to {addr} took more than {PEER_REPLY_TIMEOUT:?}"))),
    }
}

/// The server's name for this end of `stream` (its `peer`).
pub fn local(stream: &TcpStream) -> String {
    stream.local_addr().map(addr_string).unwrap_or_default()
}

/// Writes raw bytes (a frame, part of one, or garbage).
pub async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), Problem> {
    match tokio::time::timeout(PEER_REPLY_TIMEOUT, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            Err(Problem::server(format!("writing {} bytes to the server failed: {err}", bytes.len())))
        }
        Err(_) => Err(Problem::server(format!("the server read nothing for {PEER_REPLY_TIMEOUT:?}"))),
    }
}

/// `payload` as a frame.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    interop_wire::frame::encode(payload, &mut out).expect("a small payload");
    out
}

/// The next reply frame: `None` when the server closed the connection first.
pub async fn reply<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Option<Reply>, Problem> {
    let read = interop_wire::frame::read_frame(stream, MAX_REPLY_BYTES);
    match tokio::time::timeout(PEER_REPLY_TIMEOUT, read).await {
        Ok(Ok(Some(payload))) => Reply::parse(&payload)
            .map(Some)
            .map_err(|err| Problem::server(format!("the server's reply is not one: {err}"))),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(err)) => Err(Problem::server(format!("reading the server's reply failed: {err}"))),
        Err(_) => Err(Problem::server(format!("the server sent no reply for {PEER_REPLY_TIMEOUT:?}"))),
    }
}

/// Sends `payload` as message `seq` and checks that the reply is its `ACK`.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    payload: &[u8],
    seq: u64,
) -> Result<(), Problem> {
    send(stream, &frame(payload)).await?;
    let want = Reply::Ack { seq, digest: Digest::of(payload) };
    match reply(stream).await? {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(Problem::server(format!("message {seq} was answered `{got}`, not `{want}`"))),
        None => Err(Problem::server(format!(
            "the server closed the connection instead of acknowledging message {seq}"
        ))),
    }
}

/// Expects the next reply to be `ERR <code> …`.
pub async fn expect_err<S: AsyncRead + Unpin>(
    stream: &mut S,
    code: &str,
    after: &str,
) -> Result<String, Problem> {
    match reply(stream).await? {
        Some(Reply::Err { code: got, detail }) if got == code => Ok(detail),
        Some(other) => Err(Problem::server(format!("{after} was answered `{other}`, not `ERR {code} …`"))),
        None => Err(Problem::server(format!("{after} got no reply (the server closed), not `ERR {code} …`"))),
    }
}

/// Shuts down the write side and reads until the server closes; says whether an `ACK` came.
pub async fn finish<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Result<bool, Problem> {
    let _ = stream.shutdown().await;
    let mut rest = Vec::new();
    match tokio::time::timeout(PEER_REPLY_TIMEOUT, stream.read_to_end(&mut rest)).await {
        // A reset after the server gave up on the connection is as good as a close here.
        Ok(_) => Ok(interop_wire::frame::decode(&rest, MAX_REPLY_BYTES)
            .is_ok_and(|(payload, _)| matches!(Reply::parse(payload), Ok(Reply::Ack { .. })))),
        Err(_) => Err(Problem::server(format!(
            "the server kept the connection open {PEER_REPLY_TIMEOUT:?} after it ended"
        ))),
    }
}
