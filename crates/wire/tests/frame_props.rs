//! Property tests of framed mode's three readers, [`Decoder`], [`read_frame`] and [`decode`],
//! against PROTOCOL.md §3.1 and §3.5:
//!
//! - any split of a stream of frames into pieces gives back exactly those frames, from all three;
//! - any bytes at all (garbage, or garbage after valid frames) give what the protocol says, from
//!   all three, without a panic and without the decoder holding more than the maximum;
//! - a prefix over the maximum (`FF FF FF FF` and the like) is `TooLarge` once its 4 bytes are in,
//!   with nothing allocated by the decoder and nothing more read or taken by any of them;
//! - EOF exactly between frames is a clean end, and EOF anywhere inside a frame is `Truncated` with
//!   the part cut, the bytes it needed and the bytes that came, never a message.
//!
//! The `proptest!` tests run proptest's default number of cases on small inputs, so
//! `cargo test -p interop-wire` stays fast. `long_randomized_run` is ignored by default: it runs the
//! same properties on larger inputs for `INTEROP_FUZZ_SECS` seconds (default 60), e.g.
//!
//! ```text
//! INTEROP_FUZZ_SECS=120 cargo test -p interop-wire --test frame_props -- --ignored --nocapture
//! ```

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use interop_wire::frame::{
    DecodeError, Decoder, FrameError, FramePart, HEADER_LEN, decode, encode, read_frame,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use tokio::io::{AsyncRead, ReadBuf};

/// How large the generated inputs get.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    /// Largest maximum given to the readers in the tests of arbitrary bytes.
    max_max: u32,
    /// Longest payload in the tests of valid streams.
    max_payload: usize,
    /// Most frames (or pieces of garbage) in one stream.
    max_frames: usize,
    /// Most cuts when splitting a stream into reads.
    max_cuts: usize,
}

/// For `cargo test`: small maxima, so that lengths near the maximum come up often.
const QUICK: Sizes = Sizes { max_max: 4095, max_payload: 64, max_frames: 8, max_cuts: 16 };

/// For `long_randomized_run`.
const LONG: Sizes = Sizes { max_max: 256 * 1024, max_payload: 16 * 1024, max_frames: 32, max_cuts: 64 };

/// What a reader made of a stream.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The payloads, in order.
    frames: Vec<Vec<u8>>,
    /// `None` for a clean end, else the error's `Debug` form (`FrameError` is not `PartialEq`).
    error: Option<String>,
    /// How many bytes of the stream the reader took.
    taken: usize,
}

/// What PROTOCOL.md §3.1 and §3.5 say a reader makes of `bytes`, written as plainly as possible.
fn expected(bytes: &[u8], max: u32) -> Outcome {
    let mut frames = Vec::new();
    let mut rest = bytes;
    let error = loop {
        if rest.is_empty() {
            break None;
        }
        if rest.len() < HEADER_LEN {
            break Some(FrameError::Truncated {
                part: FramePart::Header,
                expected: HEADER_LEN,
                got: rest.len(),
            });
        }
        let (head, payload) = rest.split_at(HEADER_LEN);
        let len = u32::from_be_bytes(head.try_into().unwrap());
        if len > max {
            // Only the prefix is read; the rest stays in the stream.
            let taken = bytes.len() - payload.len();
            return Outcome {
                frames,
                error: Some(format!("{:?}", FrameError::TooLarge { len, max })),
                taken,
            };
        }
        let len = len as usize;
        if payload.len() < len {
            break Some(FrameError::Truncated {
                part: FramePart::Payload,
                expected: len,
                got: payload.len(),
            });
        }
        frames.push(payload[..len].to_vec());
        rest = &payload[len..];
    };
    Outcome { frames, error: error.map(|e| format!("{e:?}")), taken: bytes.len() }
}

/// Cuts `bytes` at the positions `cuts` pick, in order. Empty pieces are kept: a decoder must take
/// them in its stride.
fn split<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut start = 0;
    let mut pieces = Vec::with_capacity(at.len() + 1);
    for end in at.into_iter().chain([bytes.len()]) {
        pieces.push(&bytes[start..end]);
        start = end;
    }
    pieces
}

/// Feeds `pieces` to a [`Decoder`], checking at every step what its documentation promises: it never
/// holds more than `max`, `Ok(None)` means the piece was used up, its only error is `TooLarge`
/// after taking no more than a prefix, and it stays failed after that.
fn decode_pieces(max: u32, pieces: &[&[u8]]) -> Result<Outcome, TestCaseError> {
    let mut decoder = Decoder::new(max);
    let mut frames = Vec::new();
    let mut taken = 0;
    for piece in pieces {
        let mut input = *piece;
        loop {
            let before = input.len();
            let result = decoder.decode(&mut input);
            taken += before - input.len();
            prop_assert!(
                decoder.buffered_capacity() <= max as usize,
                "{decoder:?} holds {} bytes",
                decoder.buffered_capacity()
            );
            match result {
                Ok(Some(payload)) => {
                    prop_assert_eq!(decoder.buffered_capacity(), 0, "a returned payload is not kept");
                    frames.push(payload);
                }
                Ok(None) => {
                    prop_assert!(input.is_empty(), "Ok(None) with {} bytes left", input.len());
                    break;
                }
                Err(err) => {
                    let FrameError::TooLarge { len, max: said_max } = err else {
                        return Err(TestCaseError::fail(format!("decode failed with {err:?}")));
                    };
                    prop_assert!(len > max && said_max == max, "{err:?}");
                    prop_assert!(before - input.len() <= HEADER_LEN, "took more than a prefix");
                    prop_assert_eq!(decoder.buffered_capacity(), 0);
                    let left = input.len();
                    let again = decoder.decode(&mut input);
                    let again_len = matches!(again, Err(FrameError::TooLarge { len: l, .. }) if l == len);
                    prop_assert!(again_len, "decode after TooLarge gave {:?}", again);
                    prop_assert_eq!(input.len(), left, "a failed decoder takes nothing");
                    let finish = decoder.finish();
                    let finish_len = matches!(finish, Err(FrameError::TooLarge { len: l, .. }) if l == len);
                    prop_assert!(finish_len, "finish after TooLarge gave {:?}", finish);
                    return Ok(Outcome { frames, error: Some(format!("{err:?}")), taken });
                }
            }
        }
    }
    let error = decoder.finish().err().map(|e| format!("{e:?}"));
    Ok(Outcome { frames, error, taken })
}

/// An [`AsyncRead`] that returns one piece per read (less when the read's buffer is smaller, the
/// rest on the next read), then EOF. Unlike `tokio_test::io::Builder` it does not insist that every
/// byte be read, which a reader that stops at an error does not do.
struct Pieces {
    /// What is still to be read, no piece empty (an empty read is EOF).
    pieces: VecDeque<Vec<u8>>,
    /// Bytes handed out so far.
    taken: usize,
}

impl Pieces {
    fn new(pieces: &[&[u8]]) -> Self {
        Pieces { pieces: pieces.iter().filter(|p| !p.is_empty()).map(|p| p.to_vec()).collect(), taken: 0 }
    }
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(piece) = self.pieces.front_mut() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.pieces.pop_front();
            }
            self.taken += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// Calls [`read_frame`] on `pieces`, delivered one per read, until the end or the first error.
fn read_pieces(max: u32, pieces: &[&[u8]]) -> Outcome {
    let mut reader = Pieces::new(pieces);
    let mut frames = Vec::new();
    let error = tokio_test::block_on(async {
        loop {
            match read_frame(&mut reader, max).await {
                Ok(Some(payload)) => frames.push(payload),
                Ok(None) => return None,
                Err(err) => return Some(format!("{err:?}")),
            }
        }
    });
    Outcome { frames, error, taken: reader.taken }
}

/// What EOF means for the bytes left in a buffer that [`decode`] found incomplete: a clean end
/// when there are none, else the cut frame, as [`Decoder::finish`] and [`read_frame`] name it.
fn leftover_at_eof(buf: &[u8]) -> Option<FrameError> {
    match buf.split_first_chunk::<HEADER_LEN>() {
        None if buf.is_empty() => None,
        None => Some(FrameError::Truncated { part: FramePart::Header, expected: HEADER_LEN, got: buf.len() }),
        Some((head, payload)) => Some(FrameError::Truncated {
            part: FramePart::Payload,
            expected: u32::from_be_bytes(*head) as usize,
            got: payload.len(),
        }),
    }
}

/// Appends `pieces` one by one to a buffer and calls [`decode`] on it after each, as its
/// documentation shows, checking what it promises: a frame is its prefix and the payload borrowed
/// from the buffer, `Incomplete` means less than a whole frame is there, and `TooLarge` comes from
/// the 4 bytes of the prefix alone, worded as [`FrameError::TooLarge`].
fn decode_buffered(max: u32, pieces: &[&[u8]]) -> Result<Outcome, TestCaseError> {
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut taken = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        let mut start = 0;
        loop {
            let rest = &buf[start..];
            match decode(rest, max) {
                Ok((payload, took)) => {
                    prop_assert_eq!(took, HEADER_LEN + payload.len());
                    prop_assert!(
                        std::ptr::eq(payload, &rest[HEADER_LEN..took]),
                        "not borrowed from the buffer"
                    );
                    frames.push(payload.to_vec());
                    start += took;
                }
                Err(DecodeError::Incomplete) => {
                    let whole = rest
                        .split_first_chunk::<HEADER_LEN>()
                        .is_some_and(|(head, payload)| payload.len() >= u32::from_be_bytes(*head) as usize);
                    prop_assert!(!whole, "Incomplete with a whole frame of {} bytes there", rest.len());
                    break;
                }
                Err(err @ DecodeError::TooLarge { len, max: said_max }) => {
                    prop_assert!(len > max && said_max == max, "{err:?}");
                    let frame_error = FrameError::TooLarge { len, max };
                    prop_assert_eq!(err.to_string(), frame_error.to_string());
                    prop_assert_eq!(decode(&rest[..HEADER_LEN], max), Err(err), "from the prefix alone");
                    prop_assert_eq!(decode(&rest[..HEADER_LEN - 1], max), Err(DecodeError::Incomplete));
                    taken += start + HEADER_LEN;
                    return Ok(Outcome { frames, error: Some(format!("{frame_error:?}")), taken });
                }
            }
        }
        buf.drain(..start);
        taken += start;
    }
    let error = leftover_at_eof(&buf).map(|e| format!("{e:?}"));
    taken += buf.len();
    Ok(Outcome { frames, error, taken })
}

/// All three readers, fed `bytes` in the pieces `cuts` make, do what the protocol says.
fn check_all(max: u32, bytes: &[u8], cuts: &[Index]) -> TestCaseResult {
    let want = expected(bytes, max);
    let pieces = split(bytes, cuts);
    prop_assert_eq!(&decode_pieces(max, &pieces)?, &want, "Decoder");
    prop_assert_eq!(&read_pieces(max, &pieces), &want, "read_frame");
    prop_assert_eq!(&decode_buffered(max, &pieces)?, &want, "decode");
    Ok(())
}

/// Payloads as they go on the wire.
fn wire_bytes(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payloads.iter().map(|p| HEADER_LEN + p.len()).sum());
    for payload in payloads {
        encode(payload, &mut bytes).unwrap();
    }
    bytes
}

/// `len` bytes that differ from position to position (a cheap stand-in for `vec(any::<u8>(), len)`
/// at sizes where generating each byte would dominate the run), from `seed` by splitmix64.
fn filled(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut bytes: Vec<u8> = (0..len.div_ceil(8)).flat_map(|_| next().to_le_bytes()).collect();
    bytes.truncate(len);
    bytes
}

/// A payload whose length `len` picks.
fn payload(len: impl Strategy<Value = usize>) -> impl Strategy<Value = Vec<u8>> {
    (len, any::<u64>()).prop_map(|(len, seed)| filled(len, seed))
}

/// Where to cut a stream into reads.
fn cuts(sizes: Sizes) -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..=sizes.max_cuts)
}

/// A stream of valid frames, split anywhere: the frames come back, all and only them.
/// The maximum is the longest payload plus `slack` (0 to 2), so a frame of exactly the maximum
/// comes up often.
fn split_stream(payloads: Vec<Vec<u8>>, slack: u32, cuts: Vec<Index>) -> TestCaseResult {
    let bytes = wire_bytes(&payloads);
    let max = payloads.iter().map(|p| p.len() as u32).max().unwrap_or(0) + slack;
    let whole = Outcome { frames: payloads, error: None, taken: bytes.len() };
    prop_assert_eq!(&expected(&bytes, max), &whole, "the model itself");
    check_all(max, &bytes, &cuts)
}

fn split_stream_cases(sizes: Sizes) -> impl Strategy<Value = (Vec<Vec<u8>>, u32, Vec<Index>)> {
    (prop::collection::vec(payload(0..=sizes.max_payload), 0..=sizes.max_frames), 0..=2u32, cuts(sizes))
}

/// Any bytes at all: both readers agree with the model, and the decoder's checks in
/// [`decode_pieces`] hold at every step.
fn noisy_stream(max: u32, bytes: Vec<u8>, cuts: Vec<Index>) -> TestCaseResult {
    check_all(max, &bytes, &cuts)
}

/// A stream of pieces that make the readers work: valid frames with lengths up to and just past
/// the maximum, lone prefixes (often huge) and short runs of random bytes, or else all random; a
/// third of them cut short anywhere.
fn noisy_stream_cases(sizes: Sizes) -> impl Strategy<Value = (u32, Vec<u8>, Vec<Index>)> {
    let max = prop_oneof![1 => Just(0), 1 => 0..=4u32, 4 => 0..=sizes.max_max];
    (max, cuts(sizes)).prop_flat_map(move |(max, cuts)| {
        let len = prop_oneof![
            4 => 0..=max as usize,
            1 => Just(max as usize),
            1 => Just(max as usize + 1),
        ];
        let frame = payload(len).prop_map(|p| wire_bytes(&[p]));
        let prefix =
            prop_oneof![any::<u32>(), 0..=max.saturating_add(1)].prop_map(|len| len.to_be_bytes().to_vec());
        let garbage = prop::collection::vec(any::<u8>(), 0..=8);
        let piece = prop_oneof![8 => frame, 1 => prefix, 1 => garbage];
        let stream = prop_oneof![
            4 => prop::collection::vec(piece, 0..=sizes.max_frames).prop_map(|pieces| pieces.concat()),
            1 => prop::collection::vec(any::<u8>(), 0..=4 * sizes.max_frames),
        ];
        let end = prop::option::weighted(1.0 / 3.0, any::<Index>());
        let stream = (stream, end).prop_map(|(mut bytes, end)| {
            if let Some(end) = end {
                bytes.truncate(end.index(bytes.len() + 1));
            }
            bytes
        });
        (Just(max), stream, Just(cuts))
    })
}

/// Valid frames, then a prefix over the maximum, then anything: `TooLarge` right after that prefix,
/// with nothing held and nothing after it read.
fn huge_prefix(max: u32, before: Vec<Vec<u8>>, len: u32, after: Vec<u8>, cuts: Vec<Index>) -> TestCaseResult {
    let mut bytes = wire_bytes(&before);
    bytes.extend_from_slice(&len.to_be_bytes());
    let taken = bytes.len();
    bytes.extend_from_slice(&after);
    let want =
        Outcome { frames: before, error: Some(format!("{:?}", FrameError::TooLarge { len, max })), taken };
    prop_assert_eq!(&expected(&bytes, max), &want, "the model itself");
    check_all(max, &bytes, &cuts)
}

/// `huge_prefix`'s arguments.
type HugePrefixCase = (u32, Vec<Vec<u8>>, u32, Vec<u8>, Vec<Index>);

fn huge_prefix_cases(sizes: Sizes) -> impl Strategy<Value = HugePrefixCase> {
    (0..=sizes.max_max).prop_flat_map(move |max| {
        let before = prop::collection::vec(payload(0..=(max as usize).min(sizes.max_payload)), 0..=3);
        let len = prop_oneof![Just(u32::MAX), Just(max + 1), (max + 1)..=u32::MAX];
        (Just(max), before, len, prop::collection::vec(any::<u8>(), 0..=16), cuts(sizes))
    })
}

/// Where each frame of `wire_bytes(payloads)` ends.
fn frame_ends(payloads: &[Vec<u8>]) -> Vec<usize> {
    payloads
        .iter()
        .scan(0, |end, payload| {
            *end += HEADER_LEN + payload.len();
            Some(*end)
        })
        .collect()
}

/// Where EOF after `offset` bytes of `wire_bytes(payloads)` falls (`ends` from [`frame_ends`]): how
/// many frames are complete, and the part cut with the bytes it needed and the bytes that came, if
/// EOF is inside a frame.
fn eof_at(payloads: &[Vec<u8>], ends: &[usize], offset: usize) -> (usize, Option<(FramePart, usize, usize)>) {
    let complete = ends.partition_point(|&end| end <= offset);
    let start = if complete == 0 { 0 } else { ends[complete - 1] };
    let cut = match offset - start {
        0 => None,
        got if got < HEADER_LEN => Some((FramePart::Header, HEADER_LEN, got)),
        got => Some((FramePart::Payload, payloads[complete].len(), got - HEADER_LEN)),
    };
    (complete, cut)
}

/// The error EOF gives at a cut [`eof_at`] found, in [`Outcome`]'s form.
fn eof_error(cut: Option<(FramePart, usize, usize)>) -> Option<String> {
    cut.map(|(part, expected, got)| format!("{:?}", FrameError::Truncated { part, expected, got }))
}

/// EOF after any number of bytes of a valid stream: a clean end exactly between frames, else
/// `Truncated` naming the part, the bytes it needed and the bytes that came; the cut frame is never
/// returned. Checked for both readers at one random offset, and for the decoder, fed one byte at a
/// time, at every offset.
fn eof_inside(payloads: Vec<Vec<u8>>, offset: Index, cuts: Vec<Index>) -> TestCaseResult {
    let bytes = wire_bytes(&payloads);
    let max = payloads.iter().map(|p| p.len() as u32).max().unwrap_or(0);
    let offset = offset.index(bytes.len() + 1);
    let ends = frame_ends(&payloads);
    let (complete, cut) = eof_at(&payloads, &ends, offset);
    let want = Outcome { frames: payloads[..complete].to_vec(), error: eof_error(cut), taken: offset };
    prop_assert_eq!(&expected(&bytes[..offset], max), &want, "the model itself");
    check_all(max, &bytes[..offset], &cuts)?;

    let mut decoder = Decoder::new(max);
    let mut complete = 0;
    for offset in 0..=bytes.len() {
        let (want_complete, cut) = eof_at(&payloads, &ends, offset);
        prop_assert_eq!(complete, want_complete, "frames after {} bytes", offset);
        // Compared field by field, not as text: this runs for every byte of the stream.
        let finish = decoder.finish();
        let as_expected = match (&finish, cut) {
            (Ok(()), None) => true,
            (&Err(FrameError::Truncated { part, expected, got }), Some(cut)) => (part, expected, got) == cut,
            _ => false,
        };
        prop_assert!(as_expected, "EOF after {} bytes: {:?}, expected {:?}", offset, finish, eof_error(cut));
        if let Some(byte) = bytes.get(offset) {
            let mut input = std::slice::from_ref(byte);
            while let Some(payload) = decoder.decode(&mut input)? {
                prop_assert_eq!(&payload, &payloads[complete]);
                complete += 1;
            }
        }
    }
    Ok(())
}

fn eof_inside_cases(sizes: Sizes) -> impl Strategy<Value = (Vec<Vec<u8>>, Index, Vec<Index>)> {
    (prop::collection::vec(payload(0..=sizes.max_payload), 1..=sizes.max_frames), any::<Index>(), cuts(sizes))
}

proptest! {
    #[test]
    fn any_split_of_a_stream_gives_the_same_frames((payloads, slack, cuts) in split_stream_cases(QUICK)) {
        split_stream(payloads, slack, cuts)?;
    }

    #[test]
    fn any_bytes_decode_as_the_protocol_says_within_the_maximum((max, bytes, cuts) in noisy_stream_cases(QUICK)) {
        noisy_stream(max, bytes, cuts)?;
    }

    #[test]
    fn a_prefix_over_the_maximum_is_too_large_after_four_bytes(
        (max, before, len, after, cuts) in huge_prefix_cases(QUICK)
    ) {
        huge_prefix(max, before, len, after, cuts)?;
    }

    #[test]
    fn eof_is_clean_between_frames_and_truncation_inside_one((payloads, offset, cuts) in eof_inside_cases(QUICK)) {
        eof_inside(payloads, offset, cuts)?;
    }
}

/// Cases per runner in the long run; between runners it checks the clock.
const LONG_BATCH: u32 = 64;

/// One property's share of the long run.
#[derive(Debug, Default)]
struct Tally {
    /// Cases run and passed.
    cases: u64,
    /// Time spent on them, generating included.
    time: Duration,
}

/// Runs `test` on `LONG_BATCH` fresh random cases of `strategy` and adds them to `tally`; on a
/// failure, panics with the smallest failing case proptest finds.
fn run_batch<S: Strategy>(
    name: &str,
    tally: &mut Tally,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
    S::Value: Debug,
{
    // Not saved: proptest replays a file's saved seeds in every test of the file, and the quick
    // tests draw from smaller strategies. The panic shows the failing case.
    let config = Config { cases: LONG_BATCH, failure_persistence: None, ..Config::default() };
    let start = Instant::now();
    if let Err(err) = TestRunner::new(config).run(&strategy, test) {
        panic!("{name}: {err}");
    }
    tally.cases += u64::from(LONG_BATCH);
    tally.time += start.elapsed();
}

/// The properties above on larger inputs ([`LONG`]: maxima up to 256 KiB, payloads up to 16 KiB, up
/// to 32 frames and 64 cuts), in rounds of `LONG_BATCH` random cases each, for `INTEROP_FUZZ_SECS`
/// seconds (default 60). Prints how many cases of each ran, and how long they took.
#[test]
#[ignore = "runs for a minute or more: INTEROP_FUZZ_SECS=<secs> cargo test -p interop-wire --test frame_props -- --ignored"]
fn long_randomized_run() {
    let secs: u64 = match std::env::var("INTEROP_FUZZ_SECS") {
        Ok(s) => s.parse().unwrap_or_else(|_| panic!("INTEROP_FUZZ_SECS={s:?}: expected whole seconds")),
        Err(_) => 60,
    };
    let start = Instant::now();
    let mut tallies = [
        ("split_stream", Tally::default()),
        ("noisy_stream", Tally::default()),
        ("huge_prefix", Tally::default()),
        ("eof_inside", Tally::default()),
    ];
    while start.elapsed() < Duration::from_secs(secs) {
        let [split, noisy, huge, eof] = &mut tallies;
        run_batch(split.0, &mut split.1, split_stream_cases(LONG), |(p, s, c)| split_stream(p, s, c));
        run_batch(noisy.0, &mut noisy.1, noisy_stream_cases(LONG), |(m, b, c)| noisy_stream(m, b, c));
        run_batch(huge.0, &mut huge.1, huge_prefix_cases(LONG), |(m, b, l, a, c)| huge_prefix(m, b, l, a, c));
        run_batch(eof.0, &mut eof.1, eof_inside_cases(LONG), |(p, o, c)| eof_inside(p, o, c));
    }
    for (name, tally) in &tallies {
        println!("long_randomized_run: {name}: {} cases in {:.1} s", tally.cases, tally.time.as_secs_f64());
    }
    let cases: u64 = tallies.iter().map(|(_, t)| t.cases).sum();
    println!("long_randomized_run: {cases} cases in all in {:.1} s", start.elapsed().as_secs_f64());
}
