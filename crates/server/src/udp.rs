//! UDP (PROTOCOL.md §10.3): every datagram is a message of its own, logged, then acknowledged to
//! its sender.

use crate::log::Log;
use crate::server::{Config, ServeError};
use interop_wire::json::ServerEvent;
use interop_wire::reply::Reply;
use interop_wire::{MAX_UDP_PAYLOAD, MessageView, addr_string};
use std::collections::HashMap;
use std::future::Future;
use tokio::net::UdpSocket;

/// Serves UDP until `shutdown` completes (PROTOCOL.md §10.3): every datagram is a message, logged
/// and then acknowledged to its sender; a datagram larger than the maximum is never logged.
pub async fn run(
    socket: UdpSocket,
    config: Config,
    log: Log,
    shutdown: impl Future,
) -> Result<(), ServeError> {
    let local = addr_string(socket.local_addr()?);
    log.record(ServerEvent::Listening { addr: local.clone(), mode: config.mode }).await?;
    // One byte more than the largest datagram: a full buffer means the kernel truncated it.
    let mut buf = vec![0u8; MAX_UDP_PAYLOAD + 1];
    // Per peer: its connection number and how many datagrams it sent. Bounded: when a flood of
    // new peers fills it, the oldest numbering is forgotten (their next datagram starts anew).
    let mut peers: HashMap<std::net::SocketAddr, (u64, u64)> = HashMap::new();
    let mut next_conn = 1u64;
    tokio::pin!(shutdown);
    loop {
        let (n, from) = tokio::select! {
            biased;
            failure = log.failed() => return Err(failure.into()),
            _ = &mut shutdown => return Ok(()),
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(err) => {
                    // ICMP errors from earlier sends surface here (e.g. a client that left).
                    let error = format!("receive failed: {err}");
                    log.emit(ServerEvent::Error { conn: None, peer: None, error }).await;
                    continue;
                }
            },
        };
        let peer = addr_string(from);
        let refused = if n > MAX_UDP_PAYLOAD {
            Some(format!("datagram truncated: larger than {MAX_UDP_PAYLOAD} bytes; not logged"))
        } else if n > config.max_message_bytes as usize {
            Some(format!("datagram too large: {n} bytes > maximum {}; not logged", config.max_message_bytes))
        } else {
            None
        };
        if let Some(error) = refused {
            // No message, so no sequence number, and no `conn`: a UDP peer's connection never
            // ends, so no error event is its last (PROTOCOL.md §10.3).
            log.emit(ServerEvent::Error { conn: None, peer: Some(peer), error }).await;
            continue;
        }
        if peers.len() >= config.max_connections && !peers.contains_key(&from) {
            peers.clear();
        }
        let (conn, seq) = match peers.get_mut(&from) {
            Some((conn, seq)) => {
                *seq += 1;
                (*conn, *seq)
            }
            None => {
                let conn = next_conn;
                next_conn += 1;
                peers.insert(from, (conn, 1));
                log.emit(ServerEvent::Connected { conn, peer: peer.clone(), local: local.clone() }).await;
                (conn, 1)
            }
        };
        let view = MessageView::of(&buf[..n]);
        let ack = Reply::Ack { seq, digest: view.digest };
        // Logged, then acknowledged; a datagram the log could not take is never acknowledged.
        log.record_message(conn, peer.clone(), seq, view).await?;
        if let Err(err) = socket.send_to(ack.to_string().as_bytes(), from).await {
            let error = format!("sending ack {seq}: {err}");
            log.emit(ServerEvent::Error { conn: Some(conn), peer: Some(peer), error }).await;
        }
    }
}
