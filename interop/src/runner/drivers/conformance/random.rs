//! Random input (PROTOCOL.md §3): connections whose byte streams are built, each from its own
//! fixed seed, out of valid frames, garbage, length prefixes over the maximum and a frame cut at
//! the end. What the server must make of a stream is not guessed: the wire crate's decoder walks
//! it ([`oracle`]) and says exactly which messages it holds and how the connection must end.
//!
//! A failure names its connection's seed; [`Plan::new`] with the connection's number rebuilds the
//! same stream on any machine.

use super::input::{AFTER, honest, reset};
use super::peer::{connect, local, send};
use super::{Findings, Trial, address, stop};
use crate::catalogue::pseudo_random;
use crate::results::Problem;
use crate::runner::server::Server;
use crate::runner::timeouts::PEER_REPLY_TIMEOUT;
use interop_wire::frame::{DecodeError, announce, decode, encode};
use interop_wire::json::ServerEvent;
use interop_wire::reply::{ERR_TOO_LARGE, MAX_REPLY_BYTES, Reply};
use interop_wire::{DEFAULT_MAX_MESSAGE_BYTES, Digest};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// How many random connections.
pub const CONNECTIONS: usize = 24;

/// The most bytes one connection sends. Small enough that the harness can write it all before it
/// reads a reply: the stream fits in the socket buffers, and so do its replies (fewer than one
/// `ACK` per 4 bytes sent, about 80 bytes each, and far fewer with payloads averaging 150 bytes).
pub const MAX_STREAM_BYTES: usize = 8 * 1024;

/// The seed of connection 0; connection `i` has `FIRST_SEED + i`.
pub const FIRST_SEED: u64 = 0x5eed_0000;

/// Every this many connections, one ends with a reset instead of an orderly shutdown (4 of 24)...
const RESET_EVERY: usize = 6;

/// ...the one with this remainder: connections 2, 8, 14 and 20, whose streams (from their seeds)
/// end between frames, but for connection 8's, which ends at a length over the maximum.
const RESET_AT: usize = 2;

/// The most pieces a stream is built from (fewer if [`MAX_STREAM_BYTES`] is reached first).
const MAX_PIECES: u64 = 40;

/// The longest payload of a valid frame in a stream.
const MAX_PAYLOAD: u64 = 300;

/// The most bytes a cut frame at the end of a stream takes: a prefix and one byte less than the
/// longest payload it announces.
const MAX_CUT: usize = 4 + MAX_PAYLOAD as usize - 1;

/// How many problems of one kind (replies, log) a cell reports before it only counts the rest.
const SHOWN: usize = 4;

/// The server's maximum: the harness starts every server with the default.
const MAX: u32 = DEFAULT_MAX_MESSAGE_BYTES;

/// A small seeded generator: splitmix64 to spread the seed, then xorshift64* (as in
/// [`pseudo_random`]), so that neighbouring seeds give unrelated streams.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        // xorshift's state must never be zero.
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is immaterial for these small `n`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `n` random bytes.
    fn bytes(&mut self, n: u64) -> Vec<u8> {
        pseudo_random(n as usize, self.next())
    }
}

/// A stream of at most [`MAX_STREAM_BYTES`], from `rng`: up to [`MAX_PIECES`] pieces, each most
/// likely a valid frame (0–300 random bytes, a fifth of them empty), otherwise garbage (1–48
/// random bytes), a plausible length prefix (under 4 KiB, so the frames after it are read as its
/// payload) with a few bytes, or a length prefix over the maximum with a few bytes; then, one
/// time in three, a frame cut short (inside its prefix or its payload).
fn stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let pieces = rng.below(MAX_PIECES + 1);
    for _ in 0..pieces {
        let piece = match rng.below(64) {
            0 => {
                let len = 1 + rng.below(48);
                rng.bytes(len)
            }
            1 => {
                let mut piece = vec![0, 0, rng.below(16) as u8, rng.below(256) as u8];
                let len = rng.below(64);
                piece.extend(rng.bytes(len));
                piece
            }
            2 => {
                let len = MAX + 1 + rng.below(u64::from(u32::MAX - MAX)) as u32;
                let mut piece = announce(len).to_vec();
                let after = rng.below(64);
                piece.extend(rng.bytes(after));
                piece
            }
            _ => {
                let len = if rng.below(5) == 0 { 0 } else { rng.below(MAX_PAYLOAD + 1) };
                let mut piece = Vec::new();
                encode(&rng.bytes(len), &mut piece).expect("a small payload");
                piece
            }
        };
        if out.len() + piece.len() > MAX_STREAM_BYTES - MAX_CUT {
            break;
        }
        out.extend_from_slice(&piece);
    }
    if rng.below(3) == 0 {
        if rng.below(2) == 0 {
            let len = 1 + rng.below(3);
            out.extend(rng.bytes(len));
        } else {
            let len = 1 + rng.below(MAX_PAYLOAD);
            out.extend_from_slice(&announce(len as u32));
            let got = rng.below(len);
            out.extend(rng.bytes(got));
        }
    }
    out
}

/// How a stream ends, as the decoder reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Exactly between frames: the normal end (`closed`).
    Clean,
    /// A length prefix over the maximum: `ERR too-large`, and an `error` event. Nothing after it
    /// is a message.
    TooLarge {
        /// The announced length.
        len: u32,
    },
    /// Inside a frame, with `left` bytes of it sent: an `error` event, and no message for it.
    Truncated {
        /// The bytes of the cut frame.
        left: usize,
    },
}

/// What a server must make of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The messages, in order.
    pub messages: Vec<Digest>,
    /// How the stream ends.
    pub end: End,
}

/// Walks `stream` with the wire crate's decoder, as a correct server reads it: each whole frame is
/// a message, up to a length over the maximum or the end of the stream.
pub fn oracle(stream: &[u8]) -> Expected {
    let mut messages = Vec::new();
    let mut rest = stream;
    loop {
        match decode(rest, MAX) {
            Ok((payload, taken)) => {
                messages.push(Digest::of(payload));
                rest = &rest[taken..];
            }
            Err(DecodeError::TooLarge { len, .. }) => {
                return Expected { messages, end: End::TooLarge { len } };
            }
            Err(DecodeError::Incomplete) if rest.is_empty() => return Expected { messages, end: End::Clean },
            Err(DecodeError::Incomplete) => {
                return Expected { messages, end: End::Truncated { left: rest.len() } };
            }
        }
    }
}

impl Expected {
    /// The replies an orderly-ended connection must get, in order.
    fn replies(&self) -> Vec<Want> {
        let acks = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, digest)| Want::Ack(Reply::Ack { seq: i as u64 + 1, digest: *digest }));
        let err = match self.end {
            End::TooLarge { len } => Some(Want::TooLarge(len)),
            End::Clean | End::Truncated { .. } => None,
        };
        acks.chain(err).collect()
    }

    /// The messages as the server logs them: (seq, len, sha256).
    fn logged(&self) -> Vec<(u64, u64, String)> {
        self.messages.iter().enumerate().map(|(i, d)| (i as u64 + 1, d.len, d.sha256_hex())).collect()
    }
}

impl fmt::Display for Expected {
    /// What the stream holds, for a person: `7 whole frames, then a frame cut after 5 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} whole frame(s), then ", self.messages.len())?;
        match self.end {
            End::Clean => f.write_str("EOF"),
            End::TooLarge { len } => write!(f, "a length of {len} > {MAX}"),
            End::Truncated { left } => write!(f, "a frame cut after {left} bytes"),
        }
    }
}

/// One reply the harness expects.
#[derive(Clone, Debug)]
enum Want {
    /// Exactly this `ACK`.
    Ack(Reply),
    /// `ERR too-large`, naming this length.
    TooLarge(u32),
}

impl Want {
    fn matches(&self, got: &Reply) -> bool {
        match (self, got) {
            (Want::Ack(want), got) => want == got,
            // §3.5 words it `ERR too-large <length> > <max>`; as in the `too-large` case, the
            // harness asks only that the detail names the length.
            (Want::TooLarge(len), Reply::Err { code, detail }) => {
                code == ERR_TOO_LARGE && detail.split(' ').any(|word| word == len.to_string())
            }
            (Want::TooLarge(_), Reply::Ack { .. }) => false,
        }
    }
}

impl fmt::Display for Want {
    /// As [`brief`] shows a reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Want::Ack(reply) => f.write_str(&brief(reply)),
            Want::TooLarge(len) => write!(f, "`ERR {ERR_TOO_LARGE} {len} > {MAX}`"),
        }
    }
}

/// A reply for a problem line: an `ACK`'s hash cut to 16 digits (enough to tell two apart, or to
/// find in a log), an `ERR`'s detail to 80 characters.
fn brief(reply: &Reply) -> String {
    match reply {
        Reply::Ack { seq, digest } => format!("`ACK {seq} {} {}…`", digest.len, &digest.sha256_hex()[..16]),
        Reply::Err { .. } => {
            let text = reply.to_string();
            match text.char_indices().nth(80) {
                Some((cut, _)) => format!("`{}…`", &text[..cut]),
                None => format!("`{text}`"),
            }
        }
    }
}

/// One random connection: what it sends, how it ends, and what the server must make of it.
#[derive(Debug)]
pub struct Plan {
    /// Its number, from 0.
    pub index: usize,
    /// The seed its stream is built from.
    pub seed: u64,
    /// What it sends.
    pub bytes: Vec<u8>,
    /// `Some(k)`: it reads `k` `ACK`s, then resets the connection. `None`: it shuts down its write
    /// side, then reads every reply until the server closes.
    pub reset_after: Option<usize>,
    /// What the server must make of `bytes`.
    pub expected: Expected,
}

impl Plan {
    /// Connection `index`, the same on every run and machine.
    pub fn new(index: usize) -> Plan {
        let seed = FIRST_SEED + index as u64;
        let mut rng = Rng::new(seed);
        let bytes = stream(&mut rng);
        let expected = oracle(&bytes);
        let reset_after =
            (index % RESET_EVERY == RESET_AT).then(|| rng.below(expected.messages.len() as u64 + 1) as usize);
        Plan { index, seed, bytes, reset_after, expected }
    }

    /// How problems name it, with what it sends and how it ends: `connection 3 (seed 0x5eed0003:
    /// 7 whole frame(s), then EOF; reset after 2 ACK(s))`.
    fn name(&self) -> String {
        let end = match self.reset_after {
            Some(k) => format!("reset after {k} ACK(s)"),
            None => "orderly end".to_owned(),
        };
        format!("connection {} (seed {:#x}: {}; {end})", self.index, self.seed, self.expected)
    }
}

/// How reading replies stopped.
#[derive(Debug)]
enum Stop {
    /// The server closed the connection (or the harness read as many as it wanted).
    Eof,
    /// Reading failed (a reset).
    Failed(String),
    /// Nothing came for [`PEER_REPLY_TIMEOUT`].
    Timeout,
    /// A reply frame that is no reply.
    Malformed(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Eof => f.write_str("the server closed the connection"),
            Stop::Failed(err) => write!(f, "reading failed: {err}"),
            Stop::Timeout => write!(f, "nothing came for {PEER_REPLY_TIMEOUT:?}"),
            Stop::Malformed(err) => write!(f, "a reply frame is no reply: {err}"),
        }
    }
}

/// Reads reply frames until the server closes, or until `limit` have come.
async fn read_replies(stream: &mut TcpStream, limit: Option<usize>) -> (Vec<Reply>, Stop) {
    let mut replies = Vec::new();
    while limit.is_none_or(|limit| replies.len() < limit) {
        let read = interop_wire::frame::read_frame(stream, MAX_REPLY_BYTES);
        let stop = match tokio::time::timeout(PEER_REPLY_TIMEOUT, read).await {
            Ok(Ok(Some(payload))) => match Reply::parse(&payload) {
                Ok(reply) => {
                    replies.push(reply);
                    continue;
                }
                Err(err) => Stop::Malformed(err.to_string()),
            },
            Ok(Ok(None)) => Stop::Eof,
            Ok(Err(err)) => Stop::Failed(err.to_string()),
            Err(_) => Stop::Timeout,
        };
        return (replies, stop);
    }
    (replies, Stop::Eof)
}

/// A problem unless `got` are exactly the replies `want`, ended as they should be: `full` means
/// `want` is every reply the connection gets, so the server must then close it.
fn check_replies(plan: &Plan, want: &[Want], (got, stop): (&[Reply], &Stop), full: bool) -> Option<Problem> {
    let wrong = |i: usize| match (want.get(i), got.get(i)) {
        (Some(w), Some(g)) => !w.matches(g),
        _ => true,
    };
    let differ = (0..want.len().max(got.len())).filter(|&i| wrong(i)).count();
    let Some(first) = (0..want.len().max(got.len())).find(|&i| wrong(i)) else {
        return match stop {
            // A reset once every reply has come loses nothing: as good as a close here.
            Stop::Eof | Stop::Failed(_) => None,
            Stop::Timeout if full => Some(Problem::server(format!(
                "{}: the server kept the connection open {PEER_REPLY_TIMEOUT:?} after its last reply",
                plan.name()
            ))),
            Stop::Timeout => None,
            Stop::Malformed(_) => Some(Problem::server(format!(
                "{}: after the {} replies expected, {stop}",
                plan.name(),
                want.len()
            ))),
        };
    };
    let what = match (want.get(first), got.get(first)) {
        (Some(w), Some(g)) => format!("reply {} was {}, expected {w}", first + 1, brief(g)),
        (Some(w), None) => format!("reply {} never came ({stop}), expected {w}", first + 1),
        (None, Some(g)) => format!("reply {} was {}, after the last one expected", first + 1, brief(g)),
        (None, None) => unreachable!("`first` is within one of the two"),
    };
    Some(Problem::server(format!(
        "{}: {what}; {differ} of {} replies wrong or missing",
        plan.name(),
        want.len()
    )))
}

/// What one connection did, for the checks of the server's log.
#[derive(Debug)]
struct Outcome {
    /// Its number.
    index: usize,
    /// The server's name for it (empty: it was never made).
    peer: String,
    /// How many `ACK`s it read and verified, in order from the first, before it reset the
    /// connection: their messages must be in the log (log, then acknowledge).
    acked: usize,
    /// What went wrong on the wire.
    problems: Vec<Problem>,
}

impl Outcome {
    /// A connection the harness could not make.
    fn failed(plan: &Plan, problem: Problem) -> Outcome {
        Outcome { index: plan.index, peer: String::new(), acked: 0, problems: vec![named(plan, problem)] }
    }
}

/// Writes the whole stream, shuts down the write side, then reads every reply until the server
/// closes.
async fn orderly(addr: SocketAddr, plan: &Plan) -> Outcome {
    let mut stream = match connect(addr).await {
        Ok(stream) => stream,
        Err(problem) => return Outcome::failed(plan, problem),
    };
    let mut outcome = Outcome { index: plan.index, peer: local(&stream), acked: 0, problems: Vec::new() };
    if let Err(problem) = send(&mut stream, &plan.bytes).await {
        outcome.problems.push(named(plan, problem));
        return outcome;
    }
    let _ = stream.shutdown().await;
    let (got, stop) = read_replies(&mut stream, None).await;
    outcome.problems.extend(check_replies(plan, &plan.expected.replies(), (&got, &stop), true));
    outcome
}

/// Writes the whole stream on `stream` (a connection the server has logged), reads the first
/// `k` `ACK`s, then resets the connection.
async fn with_reset(mut stream: TcpStream, plan: &Plan) -> Outcome {
    let k = plan.reset_after.unwrap_or_default();
    let mut outcome = Outcome { index: plan.index, peer: local(&stream), acked: 0, problems: Vec::new() };
    match send(&mut stream, &plan.bytes).await {
        Ok(()) => {
            let want = &plan.expected.replies()[..k];
            let (got, stop) = read_replies(&mut stream, Some(k)).await;
            outcome.acked = got.iter().zip(want).take_while(|(g, w)| w.matches(g)).count();
            outcome.problems.extend(check_replies(plan, want, (&got, &stop), false));
        }
        Err(problem) => outcome.problems.push(named(plan, problem)),
    }
    reset(stream);
    outcome
}

/// `problem`, saying which connection it is about.
fn named(plan: &Plan, problem: Problem) -> Problem {
    Problem::new(problem.kind, format!("{}: {}", plan.name(), problem.detail))
}

/// The first [`SHOWN`] of `problems`, and a count of the rest.
fn bounded(mut problems: Vec<Problem>) -> Vec<Problem> {
    if problems.len() > SHOWN {
        let rest = problems.split_off(SHOWN);
        let kind = rest[0].kind;
        problems.push(Problem::new(kind, format!("… and {} more", rest.len())));
    }
    problems
}

/// [`CONNECTIONS`] random streams, then an honest connection; then the server's log.
pub async fn random_input(t: &mut Trial<'_>, mut server: Server) -> Vec<Problem> {
    let addr = match address(&server) {
        Ok(addr) => addr,
        Err(problem) => return vec![problem],
    };
    let plans: Vec<Arc<Plan>> = (0..CONNECTIONS).map(|i| Plan::new(i).into()).collect();
    let (orderly_plans, reset_plans): (Vec<_>, Vec<_>) =
        plans.iter().cloned().partition(|p| p.reset_after.is_none());
    // Two batches, each all at once: the orderly connections, then those that reset. A server
    // that serves one connection at a time (the tutorial's) then gets the first batch's streams
    // whole, so that how it fails them does not depend on timing.
    let tasks: Vec<_> = orderly_plans
        .into_iter()
        .map(|plan| tokio::spawn(async move { orderly(addr, &plan).await }))
        .collect();
    let (mut outcomes, mut problems) = join(tasks).await;
    let mut connected = Vec::new();
    for plan in reset_plans {
        match connect(addr).await {
            Ok(stream) => connected.push((plan, stream)),
            Err(problem) => outcomes.push(Outcome::failed(&plan, problem)),
        }
    }
    // Reset only once the server has the connections, so that each is the server's to end: a
    // connection reset while still in the accept queue has no peer address left to ask for.
    let peers: Vec<String> = connected.iter().map(|(_, stream)| local(stream)).collect();
    let mut waited = None;
    if !server.wait_connected(&peers, PEER_REPLY_TIMEOUT).await {
        waited = Some(Problem::server(format!(
            "the server did not log `connected` for each of the {} connections to reset within \
             {PEER_REPLY_TIMEOUT:?}",
            peers.len()
        )));
    }
    let tasks: Vec<_> = connected
        .into_iter()
        .map(|(plan, stream)| tokio::spawn(async move { with_reset(stream, &plan).await }))
        .collect();
    let (more, failed) = join(tasks).await;
    outcomes.extend(more);
    problems.extend(failed);
    outcomes.sort_by_key(|o| o.index);
    // By connection, so that the first problem is the same on every run.
    let wire = outcomes.iter().flat_map(|o| o.problems.iter().cloned()).chain(waited);
    problems.extend(bounded(wire.collect()));
    let good = honest(addr, &mut problems).await;
    let peers: Vec<String> = outcomes.iter().map(|o| o.peer.clone()).chain([good.clone()]).collect();
    let mut found = stop(t, server, &peers, problems).await;
    let mut logged = Vec::new();
    for outcome in outcomes.iter().filter(|o| !o.peer.is_empty()) {
        logged.extend(check_log(&found, &plans[outcome.index], outcome));
    }
    found.problems.extend(bounded(logged));
    found.delivered(&good, "the connection after the random input", &[AFTER]);
    found.problems
}

/// The outcomes of connection tasks, and a problem for each task that failed.
async fn join(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> (Vec<Outcome>, Vec<Problem>) {
    let (mut outcomes, mut problems) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => {
                problems.push(Problem::harness(format!("harness: a connection's task failed: {err}")))
            }
        }
    }
    (outcomes, problems)
}

/// The problems with what the server logged for one connection: its messages, and how it ended.
fn check_log(found: &Findings, plan: &Plan, outcome: &Outcome) -> Vec<Problem> {
    let mut problems = Vec::new();
    let got: Vec<(u64, u64, String)> =
        found.messages(&outcome.peer).into_iter().map(|(s, l, h)| (s, l, h.to_owned())).collect();
    let want = plan.expected.logged();
    let first_difference = got.iter().zip(&want).position(|(g, w)| g != w);
    let short = |(s, l, h): &(u64, u64, String)| format!("({s}, {l}, {})", &h[..h.len().min(12)]);
    let wrong = match plan.reset_after {
        None => first_difference.is_some() || got.len() != want.len(),
        // A reset may cut the server short anywhere after the last ACK the harness read.
        Some(_) => first_difference.is_some() || got.len() > want.len() || got.len() < outcome.acked,
    };
    if wrong {
        let at = first_difference.unwrap_or(got.len().min(want.len()));
        let detail = match (got.get(at), want.get(at)) {
            (Some(g), Some(w)) => {
                format!("message {} is {} (seq, len, sha256), expected {}", at + 1, short(g), short(w))
            }
            (Some(g), None) => format!("message {} is {}, after the last one expected", at + 1, short(g)),
            (None, Some(w)) => format!("message {} is missing, expected {}", at + 1, short(w)),
            (None, None) => String::new(),
        };
        let rule = match plan.reset_after {
            None => format!("expected exactly {}", want.len()),
            Some(_) => format!(
                "expected the first {} to {} (those acknowledged before the reset, up to all)",
                outcome.acked,
                want.len()
            ),
        };
        problems.push(Problem::delivery(format!(
            "{}: the server logged {} message(s), {rule}: {detail}",
            plan.name(),
            got.len()
        )));
    }
    let ends: Vec<&ServerEvent> = found
        .events
        .iter()
        .filter(|e| {
            matches!(e, ServerEvent::Closed { peer, .. } | ServerEvent::Error { peer: Some(peer), .. }
                if *peer == outcome.peer)
        })
        .collect();
    // A reset sends no FIN, so the server never reads EOF on this connection, even when every
    // byte sent was a whole frame: the kernel reports the reset as an error (ECONNRESET, or EPIPE
    // on a write) to its next read or write, whichever comes first, and a correct server logs an
    // `error` for it. Only how many messages it logged first depends on timing (checked above as
    // a prefix). A server that logs `closed` here ignored a failed read or write.
    let closes = plan.reset_after.is_none() && plan.expected.end == End::Clean;
    let ended = match ends.as_slice() {
        [ServerEvent::Closed { messages, .. }] if closes && *messages == want.len() as u64 => None,
        [ServerEvent::Error { .. }] if !closes => None,
        [] => Some("ended without a `closed` or `error` event".to_owned()),
        [ServerEvent::Closed { messages, .. }] => Some(format!("ended with `closed` ({messages} messages)")),
        [ServerEvent::Error { error, .. }] => Some(format!("ended with `error` ({error:?})")),
        more => Some(format!("has {} `closed`/`error` events, not one", more.len())),
    };
    if let Some(ended) = ended {
        let expected = if closes {
            format!("`closed` with {} messages", want.len())
        } else if plan.reset_after.is_some() {
            "`error` (a reset)".to_owned()
        } else {
            "`error`".to_owned()
        };
        problems
            .push(Problem::server(format!("{}: the connection {ended}, expected {expected}", plan.name())));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        super::super::peer::frame(payload)
    }

    #[test]
    fn streams_are_the_same_on_every_run_and_differ_between_seeds() {
        for index in 0..CONNECTIONS {
            let (a, b) = (Plan::new(index), Plan::new(index));
            assert_eq!(a.bytes, b.bytes, "connection {index}");
            assert_eq!(a.reset_after, b.reset_after);
            assert!(a.bytes.len() <= MAX_STREAM_BYTES, "connection {index}: {} bytes", a.bytes.len());
        }
        // Neighbouring seeds are unrelated (xorshift alone would make 2k and 2k + 1 the same).
        let streams: std::collections::HashSet<Vec<u8>> =
            (0..CONNECTIONS).map(|i| Plan::new(i).bytes).collect();
        assert_eq!(streams.len(), CONNECTIONS);
        // Connection 0's stream, pinned, so that a change to the generator is a deliberate one
        // (the coverage test below then says whether the battery still covers every ending).
        let first = Plan::new(0);
        assert_eq!(first.seed, 0x5eed_0000);
        assert_eq!(
            Digest::of(&first.bytes).sha256_hex(),
            "36f57f7cf125995fae64deffb7a1889e2f65f84f4d594715da3959971aebb1d0"
        );
    }

    #[test]
    fn the_battery_covers_every_ending_both_ways() {
        let plans: Vec<Plan> = (0..CONNECTIONS).map(Plan::new).collect();
        let orderly = |end: fn(&End) -> bool| {
            plans.iter().filter(|p| p.reset_after.is_none() && end(&p.expected.end)).count()
        };
        assert!(orderly(|e| *e == End::Clean) >= 3, "orderly connections ending between frames");
        assert!(orderly(|e| matches!(e, End::TooLarge { .. })) >= 3, "ending at a length over the maximum");
        assert!(orderly(|e| matches!(e, End::Truncated { .. })) >= 3, "ending inside a frame");
        let resets: Vec<&Plan> = plans.iter().filter(|p| p.reset_after.is_some()).collect();
        assert_eq!(resets.len(), CONNECTIONS / RESET_EVERY);
        assert!(resets.iter().any(|p| p.reset_after > Some(0)), "a reset after some ACKs");
        assert!(resets.iter().any(|p| p.expected.end == End::Clean), "a reset after whole frames only");
        assert!(resets.iter().any(|p| matches!(p.expected.end, End::TooLarge { .. })), "a reset after `ERR`");
        // Many messages in all, not just endings.
        assert!(plans.iter().map(|p| p.expected.messages.len()).sum::<usize>() > 100);
    }

    #[test]
    fn no_stream_asks_a_server_for_much_memory() {
        // A cut frame's prefix within the maximum may be allocated by a server at once; keep that
        // small, so that the case tests framing, not memory.
        for index in 0..CONNECTIONS {
            let plan = Plan::new(index);
            if let End::Truncated { left } = plan.expected.end {
                let cut = &plan.bytes[plan.bytes.len() - left..];
                if let Some(head) = cut.first_chunk::<4>() {
                    let len = u32::from_be_bytes(*head);
                    assert!(len < 64 * 1024, "connection {index} announces {len} bytes");
                }
            }
        }
    }

    #[test]
    fn the_oracle_reads_hand_built_streams_as_a_server_must() {
        let empty = oracle(&[]);
        assert_eq!(empty, Expected { messages: vec![], end: End::Clean });

        let two = [frame(b"abc"), frame(b"")].concat();
        assert_eq!(
            oracle(&two),
            Expected { messages: vec![Digest::of(b"abc"), Digest::of(b"")], end: End::Clean }
        );

        // A length over the maximum ends the stream: nothing after it is a message.
        let over = [frame(b"one"), (MAX + 1).to_be_bytes().to_vec(), frame(b"two")].concat();
        assert_eq!(
            oracle(&over),
            Expected { messages: vec![Digest::of(b"one")], end: End::TooLarge { len: MAX + 1 } }
        );
        assert_eq!(oracle(&u32::MAX.to_be_bytes()).end, End::TooLarge { len: u32::MAX });
        // Exactly the maximum is a length a server must wait for; here it is cut.
        assert_eq!(oracle(&MAX.to_be_bytes()).end, End::Truncated { left: 4 });

        // Cut inside a payload, and inside a prefix.
        let cut = [frame(b"whole"), vec![0, 0, 0, 10], b"abc".to_vec()].concat();
        assert_eq!(
            oracle(&cut),
            Expected { messages: vec![Digest::of(b"whole")], end: End::Truncated { left: 7 } }
        );
        assert_eq!(oracle(&[0, 0]).end, End::Truncated { left: 2 });

        // A plausible length swallows the frame after it as its payload.
        let swallow = [vec![0, 0, 0, 6], frame(b"hi")].concat();
        assert_eq!(oracle(&swallow), Expected { messages: vec![Digest::of(&frame(b"hi"))], end: End::Clean });
    }

    #[test]
    fn expected_replies_are_acks_then_the_err() {
        let expected = oracle(&[frame(b"abc"), u32::MAX.to_be_bytes().to_vec()].concat());
        let replies = expected.replies();
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0].to_string(), "`ACK 1 3 ba7816bf8f01cfea…`");
        let err = |detail: &str| Reply::Err { code: ERR_TOO_LARGE.into(), detail: detail.into() };
        assert!(replies[1].matches(&err("4294967295 > 16777216")));
        assert!(replies[1].matches(&err("frame of 4294967295 bytes")));
        assert!(!replies[1].matches(&err("42949672950 > 16777216")), "the length, not a prefix of it");
        assert!(!replies[1].matches(&err("")));
        assert!(!replies[1].matches(&Reply::Err { code: "busy".into(), detail: "4294967295".into() }));
        assert!(!replies[0].matches(&Reply::Ack { seq: 2, digest: Digest::of(b"abc") }));
    }

    #[test]
    fn check_replies_names_the_first_difference_and_counts() {
        let plan =
            Plan { index: 7, seed: 7, bytes: vec![], reset_after: None, expected: oracle(&frame(b"x")) };
        let want = plan.expected.replies();
        let ack = |seq, payload: &[u8]| Reply::Ack { seq, digest: Digest::of(payload) };
        assert!(check_replies(&plan, &want, (&[ack(1, b"x")], &Stop::Eof), true).is_none());
        let reset = Stop::Failed("reset".into());
        assert!(check_replies(&plan, &want, (&[ack(1, b"x")], &reset), true).is_none());
        let problem = check_replies(&plan, &want, (&[ack(1, b"y"), ack(2, b"z")], &Stop::Eof), true).unwrap();
        assert!(problem.detail.contains("reply 1 was `ACK 1 1 "), "{}", problem.detail);
        assert!(problem.detail.contains("2 of 1 replies wrong or missing"), "{}", problem.detail);
        let problem = check_replies(&plan, &want, (&[], &Stop::Timeout), true).unwrap();
        assert!(problem.detail.contains("reply 1 never came (nothing came for"), "{}", problem.detail);
        let problem = check_replies(&plan, &want, (&[ack(1, b"x")], &Stop::Timeout), true).unwrap();
        assert!(problem.detail.contains("kept the connection open"), "{}", problem.detail);
    }

    #[test]
    fn bounded_keeps_a_few_and_counts_the_rest() {
        let many: Vec<Problem> = (0..10).map(|i| Problem::server(format!("p{i}"))).collect();
        let kept = bounded(many);
        assert_eq!(kept.len(), SHOWN + 1);
        assert_eq!(kept[SHOWN].detail, "… and 6 more");
        assert_eq!(bounded(vec![Problem::server("one")]).len(), 1);
    }
}
