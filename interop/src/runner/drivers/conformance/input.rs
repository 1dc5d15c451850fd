//! Bad input (PROTOCOL.md §3.5, §10.3): the server answers or drops it, logs it as an error and
//! never as a message, and serves on.

use super::peer::{self, connect, exchange, expect_err, local, send};
use super::{Trial, address, stop};
use crate::results::Problem;
use crate::runner::server::Server;
use crate::runner::timeouts::{ACCEPT_STALL_TIMEOUT, PEER_REPLY_TIMEOUT};
use interop_wire::frame::announce;
use interop_wire::reply::{ERR_TOO_LARGE, Reply};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, Digest, MAX_UDP_PAYLOAD, addr_string};
use std::time::Duration;

/// A request of another protocol: `GET ` read as a length prefix is 1,195,725,856.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: interop\r\n\r\n";

/// An honest message after the bad input: the server must still serve.
pub(super) const AFTER: &[u8] = b"still serving";

/// Garbage, then an honest connection.
pub async fn garbage(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let (mut problems, mut bad) = (Vec::new(), Vec::new());
    if let Err(problem) = too_large_answer(addr, HTTP_REQUEST, "an HTTP request", &mut bad).await {
        problems.push(problem);
    }
    then_honest(t, server, addr, (bad, "the connection that sent an HTTP request"), problems).await
}

/// `FF FF FF FF`, then the maximum plus one, then an honest connection.
pub async fn too_large(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let (mut problems, mut bad) = (Vec::new(), Vec::new());
    for len in [u32::MAX, DEFAULT_MAX_MESSAGE_BYTES + 1] {
        // The prefix alone: the answer must not wait for a payload.
        let what = format!("a length prefix of {len} with no payload");
        match too_large_answer(addr, &announce(len), &what, &mut bad).await {
            Ok(detail) if !detail.contains(&len.to_string()) => problems
                .push(Problem::server(format!("`ERR too-large {detail}` does not name the length {len}"))),
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
    }
    let bad = (bad, "a connection whose length prefix was over the maximum");
    then_honest(t, server, addr, bad, problems).await
}

/// Sends `bytes` (`what`) on a new connection, whose peer goes into `bad`, and expects
/// `ERR too-large`; returns its detail.
async fn too_large_answer(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    what: &str,
    bad: &mut Vec<String>,
) -> Result<String, Problem> {
    let mut stream = connect(addr).await?;
    bad.push(local(&stream));
    send(&mut stream, bytes).await?;
    expect_err(&mut stream, ERR_TOO_LARGE, what).await
}

/// An honest connection after the `bad` ones (named `what`); then stops the server and checks
/// that the bad ones were refused and the honest one served.
async fn then_honest(
    t: &mut Trial<'_>,
    server: Server,
    addr: std::net::SocketAddr,
    (bad, what): (Vec<String>, &str),
    mut problems: Vec<Problem>,
) -> Vec<Problem> {
    let good = honest(addr, &mut problems).await;
    let peers = [&bad[..], std::slice::from_ref(&good)].concat();
    let mut found = stop(t, server, &peers, problems).await;
    for peer in &bad {
        found.refused(peer, what);
    }
    found.delivered(&good, "the connection after the bad input", &[AFTER]);
    found.problems
}

/// EOF in a payload, and in a length prefix.
pub async fn eof_mid_frame(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    let mut peers = Vec::new();
    for (bytes, what) in [
        ([&announce(10)[..], b"abc"].concat(), "EOF after 3 of 10 payload bytes"),
        (vec![0, 0], "EOF after 2 bytes of a length prefix"),
    ] {
        let outcome = async {
            let mut stream = connect(addr).await?;
            peers.push(local(&stream));
            send(&mut stream, &bytes).await?;
            if peer::finish(&mut stream).await? {
                return Err(Problem::server(format!("the server acknowledged a frame cut by {what}")));
            }
            Ok(())
        };
        if let Err(problem) = outcome.await {
            problems.push(problem);
        }
    }
    let mut found = stop(t, server, &peers, problems).await;
    for peer in peers.iter().take(1) {
        found.refused(peer, "the connection that ended inside a payload");
    }
    for peer in peers.iter().skip(1) {
        found.refused(peer, "the connection that ended inside a length prefix");
    }
    found.problems
}

/// A reset inside a frame, then an honest connection.
pub async fn rst_mid_frame(t: &mut Trial<'_>, mut server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    let mut peers = Vec::new();
    match connect(addr).await {
        Ok(mut stream) => {
            let peer = local(&stream);
            peers.push(peer.clone());
            // Reset only once the server has the connection, so that it is its to end.
            if !server.wait_connected(std::slice::from_ref(&peer), ACCEPT_STALL_TIMEOUT).await {
                problems.push(Problem::server("the server did not log `connected` for the connection"));
            }
            if let Err(problem) = send(&mut stream, &[&announce(10)[..], b"abc"].concat()).await {
                problems.push(problem);
            }
            // Give the bytes a moment to be read; the reset must not overtake them in the test's
            // intent, although a server must cope either way.
            tokio::time::sleep(Duration::from_millis(50)).await;
            reset(stream);
        }
        Err(problem) => return vec![problem],
    }
    let good = honest(addr, &mut problems).await;
    peers.push(good.clone());
    let mut found = stop(t, server, &peers, problems).await;
    found.refused(&peers[0], "the connection reset inside a frame");
    found.delivered(&good, "the connection after it", &[AFTER]);
    found.problems
}

/// A datagram one byte over the maximum, then an honest one from the same socket.
pub async fn udp_oversize(t: &mut Trial<'_>, server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let outcome = async {
        let bind: std::net::SocketAddr =
            if addr.is_ipv6() { "[::1]:0" } else { "127.0.0.1:0" }.parse().expect("a literal address");
        let socket = tokio::net::UdpSocket::bind(bind)
            .await
            .map_err(|err| Problem::harness(format!("harness: cannot bind a UDP socket: {err}")))?;
        socket.connect(addr).await.map_err(|err| Problem::harness(format!("harness: {err}")))?;
        let peer = socket.local_addr().map(addr_string).unwrap_or_default();
        let oversize = crate::catalogue::pseudo_random(MAX_UDP_PAYLOAD + 1, 0x0d08);
        socket.send(&oversize).await.map_err(|err| {
            Problem::harness(format!("harness: cannot send a {}-byte datagram: {err}", oversize.len()))
        })?;
        let mut problems = Vec::new();
        let mut buf = vec![0u8; 2048];
        // No reply may come; a second is long enough for one that would.
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
            problems.push(Problem::server(format!(
                "the server answered the oversized datagram: {:?}",
                String::from_utf8_lossy(&buf[..n])
            )));
        }
        socket.send(AFTER).await.map_err(|err| Problem::harness(format!("harness: {err}")))?;
        let want = Reply::Ack { seq: 1, digest: Digest::of(AFTER) };
        match tokio::time::timeout(PEER_REPLY_TIMEOUT, socket.recv(&mut buf)).await {
            Ok(Ok(n)) if Reply::parse(&buf[..n]).is_ok_and(|r| r == want) => {}
            Ok(Ok(n)) => problems.push(Problem::server(format!(
                "the datagram after it was answered {:?}, not `{want}` (an oversized datagram is no message and takes no number)",
                String::from_utf8_lossy(&buf[..n])
            ))),
            Ok(Err(err)) => problems.push(Problem::server(format!("no answer to the datagram after it: {err}"))),
            Err(_) => problems.push(Problem::server(format!(
                "no answer to the datagram after it within {PEER_REPLY_TIMEOUT:?}"
            ))),
        }
        Ok::<_, Problem>((peer, problems))
    };
    let (peer, problems) = match outcome.await {
        Ok(found) => found,
        Err(problem) => (String::new(), vec![problem]),
    };
    // UDP has no close: nothing to wait for once the honest datagram was answered.
    let mut found = stop(t, server, &[], problems).await;
    if !found.errored(&peer) {
        found.problems.push(Problem::server("the server logged no `error` event for the oversized datagram"));
    }
    found.delivered(&peer, "the socket", &[AFTER]);
    found.problems
}

/// An honest connection: one message, acknowledged, then an orderly end. Returns its peer (empty
/// if it could not connect), with what went wrong in `problems`.
pub(super) async fn honest(addr: std::net::SocketAddr, problems: &mut Vec<Problem>) -> String {
    let mut peer = String::new();
    let outcome = async {
        let mut stream = connect(addr).await?;
        peer = local(&stream);
        exchange(&mut stream, AFTER, 1).await?;
        peer::finish(&mut stream).await.map(drop)
    };
    if let Err(problem) = outcome.await {
        problems.push(problem);
    }
    peer
}

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
pub(super) fn reset(stream: tokio::net::TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
