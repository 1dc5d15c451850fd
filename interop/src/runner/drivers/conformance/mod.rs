//! The conformance probes: the harness itself is the client (cells `<server>/conformance/<case>`),
//! doing what a well-behaved client program never would, and then checks the server's log.
//!
//! - [`peer`]: the harness as a framed client;
//! - [`input`]: bad input: garbage, oversized and truncated frames, resets, oversized datagrams;
//! - [`random`]: seeded random streams of all of that and valid frames, checked against the decoder;
//! - [`load`]: many slow connections at once;
//! - [`lifecycle`]: SIGTERM with connections streaming, a stale Unix socket path.

mod input;
mod lifecycle;
mod load;
pub mod peer;
mod random;

use super::trial::Trial;
use crate::catalogue::Probe;
use crate::results::Problem;
use crate::runner::server::{Server, ServerStdout, parse_events};
use crate::runner::timeouts::SERVER_SETTLE_TIMEOUT;
use interop_wire::json::ServerEvent;
use std::net::SocketAddr;

/// Runs `probe` against the cell's server.
pub async fn run(t: &mut Trial<'_>, probe: Probe) -> Vec<Problem> {
    let server = match t.start_server(0, ServerStdout::Read).await {
        Ok(server) => server,
        Err(problem) => return vec![problem],
    };
    match probe {
        Probe::Garbage => input::garbage(t, server).await,
        Probe::TooLarge => input::too_large(t, server).await,
        Probe::EofMidFrame => input::eof_mid_frame(t, server).await,
        Probe::RstMidFrame => input::rst_mid_frame(t, server).await,
        Probe::RandomInput => random::random_input(t, server).await,
        Probe::UdpOversize => input::udp_oversize(t, server).await,
        Probe::Slowloris => load::slowloris(t, server).await,
        Probe::SigtermDrain => lifecycle::sigterm_drain(t, server).await,
        Probe::UnixStale => lifecycle::unix_stale(t, server).await,
    }
}

/// The server's address, for a probe over TCP or UDP.
fn address(server: &Server) -> Result<SocketAddr, Problem> {
    server.addr.ok_or_else(|| Problem::harness("this probe needs a TCP or UDP server"))
}

/// What a probe found, and the server's events once it was stopped.
struct Findings {
    problems: Vec<Problem>,
    events: Vec<ServerEvent>,
}

/// Waits until the server has finished the connections of `peers`, stops it, and parses its log.
async fn stop(
    t: &mut Trial<'_>,
    mut server: Server,
    peers: &[String],
    mut problems: Vec<Problem>,
) -> Findings {
    // An empty peer is a connection the harness could not make: nothing to wait for.
    let peers: Vec<String> = peers.iter().filter(|p| !p.is_empty()).cloned().collect();
    server.settle(&peers, SERVER_SETTLE_TIMEOUT).await;
    let (log, lines, stop_problems) = server.stop().await;
    t.attempt.server = Some(log);
    problems.extend(stop_problems);
    let (events, unparsed) = parse_events(&lines);
    problems.extend(unparsed);
    Findings { problems, events }
}

impl Findings {
    /// The messages the server logged from `peer`, as (seq, len, sha256).
    fn messages(&self, peer: &str) -> Vec<(u64, u64, &str)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Message { peer: p, seq, len, sha256, .. } if p == peer => {
                    Some((*seq, *len, sha256.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// Whether the server logged an `error` event for `peer`.
    fn errored(&self, peer: &str) -> bool {
        self.events.iter().any(|e| matches!(e, ServerEvent::Error { peer: Some(p), .. } if p == peer))
    }

    /// A problem unless `peer` (named `what`) has no message and ended with an `error` event.
    fn refused(&mut self, peer: &str, what: &str) {
        let logged = self.messages(peer).len();
        if logged > 0 {
            self.problems.push(Problem::server(format!("the server logged {logged} message(s) from {what}")));
        }
        if !self.errored(peer) {
            self.problems.push(Problem::server(format!("the server logged no `error` event for {what}")));
        }
    }

    /// A problem unless `peer` (named `what`) has exactly the messages `payloads`, in order.
    fn delivered(&mut self, peer: &str, what: &str, payloads: &[&[u8]]) {
        let got = self.messages(peer);
        let want: Vec<(u64, u64, String)> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let digest = interop_wire::Digest::of(p);
                (i as u64 + 1, digest.len, digest.sha256_hex())
            })
            .collect();
        let got: Vec<(u64, u64, String)> = got.into_iter().map(|(s, l, h)| (s, l, h.to_owned())).collect();
        if got != want {
            self.problems.push(Problem::delivery(format!(
                "the server logged {} message(s) from {what} (seq, len): {:?}; expected {:?}",
                got.len(),
                got.iter().map(|(s, l, _)| (s, l)).collect::<Vec<_>>(),
                want.iter().map(|(s, l, _)| (s, l)).collect::<Vec<_>>(),
            )));
        }
    }
}
