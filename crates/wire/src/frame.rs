//! Framed mode: each message is a 4-byte big-endian length, then that many payload bytes.
//!
//! Three readers, with the same rules and the same errors: [`read_frame`] pulls one frame from a
//! tokio stream; [`Decoder`] takes bytes in whatever pieces they arrive, without doing any I/O
//! itself; and [`decode`] looks at a buffer the caller keeps, and borrows the payload of the frame
//! at its start once all of it is there. Two writers: [`write_frame`] to a tokio stream, and
//! [`encode`] onto the end of a `Vec`.
//!
//! The length is checked against the caller's maximum *before* anything is allocated, so a
//! garbage or hostile prefix (`FF FF FF FF`) costs nothing. EOF exactly between frames is the
//! normal end of a connection (`Ok(None)`); EOF anywhere inside a frame is [`FrameError::Truncated`]
//! and yields no message.
//!
//! The length prefix is read and written here and nowhere else in the workspace.

use std::fmt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of the length prefix.
pub const HEADER_LEN: usize = 4;

/// Payloads up to this size are written together with their prefix in one write.
const COALESCE_LIMIT: usize = 64 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the reader accepts.
    #[error("frame too large: {len} bytes > maximum {max}")]
    TooLarge {
        /// The announced payload length.
        len: u32,
        /// The reader's maximum.
        max: u32,
    },
    /// The stream ended inside a frame.
    #[error("truncated frame: expected {expected} {part} bytes, got {got}")]
    Truncated {
        /// Which part of the frame was cut.
        part: FramePart,
        /// Bytes that part needed.
        expected: usize,
        /// Bytes that arrived before EOF.
        got: usize,
    },
    /// The underlying stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The two parts of a frame, named in truncation errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramePart {
    /// The 4-byte length prefix.
    Header,
    /// The payload.
    Payload,
}

impl std::fmt::Display for FramePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FramePart::Header => "length-prefix",
            FramePart::Payload => "payload",
        })
    }
}

/// Why [`decode`] returned no frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer holds less than one whole frame (perhaps nothing at all): not a failure, but
    /// the usual state of a buffer that is being filled. Read more onto its end and call again.
    /// At EOF, though, bytes left in the buffer are a cut frame ([`FrameError::Truncated`]).
    Incomplete,
    /// The length prefix announces more than the maximum. The same values, and the same message,
    /// as [`FrameError::TooLarge`] from [`read_frame`] and [`Decoder`]. The stream cannot be
    /// resynchronised after it.
    TooLarge {
        /// The announced payload length.
        len: u32,
        /// The reader's maximum.
        max: u32,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Incomplete => f.write_str("incomplete frame: more bytes needed"),
            // Worded by `FrameError`, so that every reader says the same.
            DecodeError::TooLarge { len, max } => FrameError::TooLarge { len, max }.fmt(f),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A payload that no frame can carry: 4 GiB or more, which a 32-bit length prefix cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("message of {len} bytes does not fit a 32-bit length prefix")]
pub struct PayloadTooLong {
    /// The payload's length in bytes.
    pub len: usize,
}

impl From<PayloadTooLong> for std::io::Error {
    /// An `InvalidInput` error, as [`write_frame`] returns it.
    fn from(err: PayloadTooLong) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err.to_string())
    }
}

/// The length prefix for a payload of `len` bytes, or `None` if it does not fit in 32 bits.
pub fn header(len: usize) -> Option<[u8; HEADER_LEN]> {
    prefix(len).ok()
}

/// The length prefix that announces `len` payload bytes, whether or not they follow. This is for a
/// peer that tests a reader's limits: a prefix over the maximum, or a frame cut short.
///
/// ```
/// use interop_wire::frame::announce;
///
/// assert_eq!(announce(u32::MAX), [0xff; 4]);
/// assert_eq!(announce(10), [0, 0, 0, 10]);
/// ```
pub fn announce(len: u32) -> [u8; HEADER_LEN] {
    len.to_be_bytes()
}

/// The length prefix for a payload of `len` bytes. Every writer goes through here.
fn prefix(len: usize) -> Result<[u8; HEADER_LEN], PayloadTooLong> {
    u32::try_from(len).map(announce).map_err(|_| PayloadTooLong { len })
}

/// Appends `payload` to `out` as one frame: its length prefix, then the payload. The synchronous
/// counterpart of [`write_frame`], for building frames (one, or several in a row) in memory.
///
/// ```
/// use interop_wire::frame::{decode, encode};
///
/// let mut out = Vec::new();
/// encode(b"abc", &mut out)?;
/// encode(b"", &mut out)?;
/// assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 0]);
/// assert_eq!(decode(&out, 1024), Ok((&b"abc"[..], 7)));
/// # Ok::<(), interop_wire::frame::PayloadTooLong>(())
/// ```
///
/// # Errors
///
/// [`PayloadTooLong`] for a payload of 4 GiB or more; `out` is then left as it was.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadTooLong> {
    let head = prefix(payload.len())?;
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    Ok(())
}

/// The payload length a prefix announces, if it is within the reader's maximum; otherwise the
/// announced length, as the error.
///
/// Every reader goes through here, so they reject the same prefixes with the same values.
fn payload_len(head: [u8; HEADER_LEN], max: u32) -> Result<usize, u32> {
    let len = u32::from_be_bytes(head);
    if len > max {
        return Err(len);
    }
    // `len <= max`, and the caller's max bounds what one frame may allocate.
    Ok(len as usize)
}

/// Decodes the frame at the start of `buf`, if all of it is there, accepting payloads of at most
/// `max` bytes: returns its payload, borrowed from `buf`, and how many bytes of `buf` the whole
/// frame takes (prefix and payload), which is where the next frame begins.
///
/// For a caller that keeps its own buffer, in the manner of mini-redis's `Frame::check` and
/// `Frame::parse`: append what arrives, call `decode` until it returns
/// [`DecodeError::Incomplete`], then drop the bytes the frames took. It keeps no state and
/// allocates nothing (the payload is a slice of `buf`, copied only if the caller wants to keep
/// it), and it applies the same rules as [`read_frame`] and [`Decoder`]. The prefix is checked
/// as soon as its 4 bytes are there, so a caller that reads only while `decode` says `Incomplete`
/// never holds more than `4 + max` bytes and one read.
///
/// ```
/// use interop_wire::frame::{DecodeError, decode};
///
/// let mut buf = Vec::new();
/// let mut frames = Vec::new();
/// // "abc" and then the empty frame, in two reads that cut the first prefix in half.
/// for read in [&[0, 0][..], &[0, 3, b'a', b'b', b'c', 0, 0, 0, 0]] {
///     buf.extend_from_slice(read);
///     let mut start = 0;
///     loop {
///         match decode(&buf[start..], 1024) {
///             Ok((payload, taken)) => {
///                 frames.push(payload.to_vec());
///                 start += taken;
///             }
///             Err(DecodeError::Incomplete) => break,
///             Err(err) => return Err(err),
///         }
///     }
///     buf.drain(..start);
/// }
/// assert_eq!(frames, [b"abc".to_vec(), Vec::new()]);
/// assert!(buf.is_empty()); // EOF here falls between frames.
/// # Ok::<(), DecodeError>(())
/// ```
///
/// # Errors
///
/// - [`DecodeError::Incomplete`] while `buf` holds less than one whole frame. This is expected,
///   not a failure; only at EOF do leftover bytes mean a cut frame.
/// - [`DecodeError::TooLarge`] as soon as the first 4 bytes of `buf` announce more than `max`,
///   whatever follows them.
pub fn decode(buf: &[u8], max: u32) -> Result<(&[u8], usize), DecodeError> {
    let Some((head, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Incomplete);
    };
    let len = payload_len(*head, max).map_err(|len| DecodeError::TooLarge { len, max })?;
    let payload = rest.get(..len).ok_or(DecodeError::Incomplete)?;
    Ok((payload, HEADER_LEN + len))
}

/// Reads as many bytes as fit in `buf`, stopping early only at EOF. Returns how many arrived.
async fn read_full<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads the next frame's payload, accepting at most `max` bytes.
///
/// Returns `Ok(None)` when the stream ends cleanly before a new frame starts.
//
// Not built on `Decoder`: this reads exactly one frame's bytes and keeps nothing between calls, so
// it reads the payload straight into the buffer it returns, where the decoder would add a copy.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: u32,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut head = [0u8; HEADER_LEN];
    let got = read_full(reader, &mut head).await?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated { part: FramePart::Header, expected: HEADER_LEN, got });
    }
    let len = payload_len(head, max).map_err(|len| FrameError::TooLarge { len, max })?;
    // Read into the buffer's spare room: a large payload's buffer is not zeroed first, only to be
    // overwritten.
    let mut payload = Vec::with_capacity(len);
    while payload.len() < len {
        let room = (len - payload.len()) as u64;
        if (&mut *reader).take(room).read_buf(&mut payload).await? == 0 {
            return Err(FrameError::Truncated {
                part: FramePart::Payload,
                expected: len,
                got: payload.len(),
            });
        }
    }
    Ok(Some(payload))
}

/// Writes `payload` as one frame (prefix, then payload) and flushes.
///
/// Fails with `InvalidInput` for a payload of 4 GiB or more, which the prefix cannot express.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> std::io::Result<()> {
    if payload.len() <= COALESCE_LIMIT {
        // One write for prefix and payload: two small writes in a row meet Nagle's algorithm and
        // the peer's delayed ACK, and cost ~40 ms per frame on a stop-and-wait connection.
        let mut frame = Vec::new();
        encode(payload, &mut frame)?;
        writer.write_all(&frame).await?;
    } else {
        writer.write_all(&prefix(payload.len())?).await?;
        writer.write_all(payload).await?;
    }
    writer.flush().await
}

/// A frame decoder that does no I/O: feed it bytes as they arrive, in pieces of any size, and it
/// returns each payload once the whole frame is in.
///
/// It applies the same rules as [`read_frame`] and returns the same errors: the length prefix is
/// checked against the maximum before anything is allocated for the payload, the only buffer is
/// one payload of at most `max` bytes (see [`buffered_capacity`](Self::buffered_capacity)), and
/// [`finish`](Self::finish) tells a clean end of input from a cut frame.
///
/// ```
/// use interop_wire::frame::{Decoder, FrameError};
///
/// let mut decoder = Decoder::new(1024);
/// let mut frames = Vec::new();
/// // "abc" and then the empty frame, in two reads that cut the first prefix in half.
/// for read in [&[0, 0][..], &[0, 3, b'a', b'b', b'c', 0, 0, 0, 0]] {
///     let mut input = read;
///     while let Some(payload) = decoder.decode(&mut input)? {
///         frames.push(payload);
///     }
/// }
/// assert_eq!(frames, [b"abc".to_vec(), Vec::new()]);
/// decoder.finish()?; // EOF here falls between frames.
/// # Ok::<(), FrameError>(())
/// ```
//
// Not built on `decode`, which needs the whole frame in one buffer: the decoder keeps no more than
// the prefix (in 4 bytes) and the payload (in its own buffer), gathered from the pieces as they come.
pub struct Decoder {
    /// The largest payload accepted, in bytes.
    max: u32,
    /// Where in the stream the decoder is.
    state: State,
}

/// The decoder's position in the stream.
enum State {
    /// Collecting a length prefix; `filled` of its bytes have arrived (0 between frames).
    Header {
        /// The prefix so far.
        head: [u8; HEADER_LEN],
        /// How many bytes of `head` have arrived.
        filled: usize,
    },
    /// Collecting a payload of `len` bytes. Always `payload.len() < len` between calls: a complete
    /// payload is returned at once.
    Payload {
        /// The length the prefix announced, already checked against the maximum.
        len: usize,
        /// The bytes so far, in a buffer allocated with capacity `len`.
        payload: Vec<u8>,
    },
    /// A prefix announced `len` bytes, more than the maximum. There is no way to find the next
    /// frame after that, so the decoder stays here.
    TooLarge {
        /// The announced length.
        len: u32,
    },
}

impl State {
    /// Between frames: nothing of the next one has arrived.
    const START: State = State::Header { head: [0; HEADER_LEN], filled: 0 };
}

impl Decoder {
    /// A decoder that accepts payloads of up to `max` bytes.
    pub fn new(max: u32) -> Self {
        Decoder { max, state: State::START }
    }

    /// Takes bytes from the front of `input` until a frame is complete, and returns its payload.
    ///
    /// It stops right after that frame and leaves the rest of `input` for the next call, so call
    /// it again until it returns `Ok(None)`, which means every byte of `input` was taken and no
    /// further frame is complete yet. An empty `input` is fine and changes nothing.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] as soon as a prefix announces more than the maximum, after taking
    /// only that prefix from `input` and before allocating anything for the payload. The stream
    /// cannot be resynchronised after that, so the decoder stays failed: every later call takes
    /// nothing and returns the same error. It never returns `Truncated` (only the caller knows when
    /// the input has ended: see [`finish`](Self::finish)), nor `Io`.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        loop {
            match &mut self.state {
                State::Header { head, filled } => {
                    let (taken, rest) = input.split_at((HEADER_LEN - *filled).min(input.len()));
                    head[*filled..*filled + taken.len()].copy_from_slice(taken);
                    *filled += taken.len();
                    *input = rest;
                    if *filled < HEADER_LEN {
                        return Ok(None);
                    }
                    match payload_len(*head, self.max) {
                        Ok(len) => self.state = State::Payload { len, payload: Vec::with_capacity(len) },
                        Err(len) => {
                            self.state = State::TooLarge { len };
                            return Err(FrameError::TooLarge { len, max: self.max });
                        }
                    }
                    // Go round again: the payload may be in `input` already, or be empty.
                }
                State::Payload { len, payload } => {
                    let (taken, rest) = input.split_at((*len - payload.len()).min(input.len()));
                    // Never reallocates: at most `len - payload.len()` bytes, into capacity `len`.
                    payload.extend_from_slice(taken);
                    *input = rest;
                    if payload.len() < *len {
                        return Ok(None);
                    }
                    let payload = std::mem::take(payload);
                    self.state = State::START;
                    return Ok(Some(payload));
                }
                State::TooLarge { len } => return Err(FrameError::TooLarge { len: *len, max: self.max }),
            }
        }
    }

    /// Whether the input may end here: `Ok(())` when it ends exactly between frames (or before the
    /// first), as a connection normally does.
    ///
    /// Call it when the stream reports EOF. It only looks, so it can be asked at any point and
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`FrameError::Truncated`] when the input would end inside a frame, naming the part that was
    /// cut ([`FramePart::Header`] or [`FramePart::Payload`]), the bytes it needed and the bytes of
    /// it that arrived: the same values [`read_frame`] reports for the same stream. Nothing of the
    /// cut frame is ever returned as a message. After a `TooLarge` from
    /// [`decode`](Self::decode), that error again.
    pub fn finish(&self) -> Result<(), FrameError> {
        match &self.state {
            State::Header { filled: 0, .. } => Ok(()),
            &State::Header { filled, .. } => {
                Err(FrameError::Truncated { part: FramePart::Header, expected: HEADER_LEN, got: filled })
            }
            State::Payload { len, payload } => {
                Err(FrameError::Truncated { part: FramePart::Payload, expected: *len, got: payload.len() })
            }
            &State::TooLarge { len } => Err(FrameError::TooLarge { len, max: self.max }),
        }
    }

    /// The heap memory the decoder holds, in bytes: the capacity of the payload buffer of the frame
    /// in progress. It is allocated once the prefix has passed the check, so it is never more than
    /// the maximum; it is 0 between frames, while a prefix is arriving (the prefix is kept in a
    /// 4-byte array inside the decoder), and after an error.
    pub fn buffered_capacity(&self) -> usize {
        match &self.state {
            State::Payload { payload, .. } => payload.capacity(),
            State::Header { .. } | State::TooLarge { .. } => 0,
        }
    }
}

impl fmt::Debug for Decoder {
    /// The position in the stream, without the payload bytes (up to `max` of them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Decoder");
        out.field("max", &self.max);
        match &self.state {
            State::Header { filled, .. } => out.field("header_bytes", filled),
            State::Payload { len, payload } => {
                out.field("payload_len", len).field("payload_bytes", &payload.len())
            }
            State::TooLarge { len } => out.field("too_large", len),
        };
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_test::io::Builder;

    const MAX: u32 = 1024;

    #[tokio::test]
    async fn reads_frames_split_across_many_reads() {
        // "abc" then the empty frame, delivered in awkward pieces.
        let mut stream = Builder::new()
            .read(&[0])
            .read(&[0, 0])
            .read(&[3, b'a'])
            .read(b"b")
            .read(&[b'c', 0, 0])
            .read(&[0, 0])
            .build();
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_payload_read_in_pieces_takes_no_more_room_than_its_length() {
        let payload: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let mut stream = Builder::new()
            .read(&header(1000).unwrap())
            .read(&payload[..1])
            .read(&payload[1..999])
            .read(&payload[999..])
            .build();
        let read = read_frame(&mut stream, MAX).await.unwrap().unwrap();
        assert_eq!(read, payload);
        assert_eq!(read.capacity(), 1000);
    }

    #[tokio::test]
    async fn several_frames_in_one_read_are_split_exactly() {
        let mut bytes = Vec::new();
        for payload in [&b"one"[..], b"", b"three"] {
            bytes.extend_from_slice(&header(payload.len()).unwrap());
            bytes.extend_from_slice(payload);
        }
        let mut stream = &bytes[..];
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), Some(b"one".to_vec()));
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), Some(b"".to_vec()));
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), Some(b"three".to_vec()));
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap(), None);
    }

    #[tokio::test]
    async fn eof_inside_the_prefix_is_truncation() {
        let mut stream: &[u8] = &[0, 0];
        let err = read_frame(&mut stream, MAX).await.unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { part: FramePart::Header, expected: 4, got: 2 }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn eof_inside_the_payload_is_truncation_and_no_message() {
        let mut stream: &[u8] = &[0, 0, 0, 10, b'x', b'y', b'z'];
        let err = read_frame(&mut stream, MAX).await.unwrap_err();
        assert_eq!(err.to_string(), "truncated frame: expected 10 payload bytes, got 3");
    }

    #[tokio::test]
    async fn oversized_prefix_is_rejected_before_reading_the_payload() {
        // A 4 GiB prefix and no payload at all: the error comes from the prefix alone.
        let mut stream: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        let err = read_frame(&mut stream, MAX).await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: u32::MAX, max: MAX }), "{err:?}");
        // Exactly the maximum is fine.
        let mut frame = header(MAX as usize).unwrap().to_vec();
        frame.resize(4 + MAX as usize, 7);
        let mut stream = &frame[..];
        assert_eq!(read_frame(&mut stream, MAX).await.unwrap().unwrap().len(), MAX as usize);
    }

    #[tokio::test]
    async fn write_frame_is_prefix_then_payload() {
        let mut out = Vec::new();
        write_frame(&mut out, b"abc").await.unwrap();
        write_frame(&mut out, b"").await.unwrap();
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 0]);
    }

    /// Feeds `pieces` to a fresh decoder, collecting every payload; stops at the first error.
    fn decode_all(max: u32, pieces: &[&[u8]]) -> (Decoder, Vec<Vec<u8>>, Option<FrameError>) {
        let mut decoder = Decoder::new(max);
        let mut frames = Vec::new();
        for piece in pieces {
            let mut input = *piece;
            loop {
                match decoder.decode(&mut input) {
                    Ok(Some(payload)) => frames.push(payload),
                    Ok(None) => break,
                    Err(err) => return (decoder, frames, Some(err)),
                }
            }
            assert!(input.is_empty(), "Ok(None) with {} bytes left", input.len());
        }
        (decoder, frames, None)
    }

    #[test]
    fn decoder_reads_frames_split_across_many_pieces() {
        // The pieces of `reads_frames_split_across_many_reads`, and an empty one.
        let pieces: [&[u8]; 7] = [&[0], &[], &[0, 0], &[3, b'a'], b"b", &[b'c', 0, 0], &[0, 0]];
        let (decoder, frames, err) = decode_all(MAX, &pieces);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames, [b"abc".to_vec(), Vec::new()]);
        decoder.finish().unwrap();
        assert_eq!(decoder.buffered_capacity(), 0);
    }

    #[test]
    fn decoder_takes_one_frame_at_a_time() {
        let bytes = [0, 0, 0, 3, b'o', b'n', b'e', 0, 0, 0, 0, 0, 0];
        let mut decoder = Decoder::new(MAX);
        let mut input = &bytes[..];
        assert_eq!(decoder.decode(&mut input).unwrap(), Some(b"one".to_vec()));
        assert_eq!(input, [0, 0, 0, 0, 0, 0], "the next frame's bytes are left in the input");
        assert_eq!(decoder.decode(&mut input).unwrap(), Some(Vec::new()));
        assert_eq!(decoder.decode(&mut input).unwrap(), None);
        assert!(input.is_empty());
        assert_eq!(
            decoder.finish().unwrap_err().to_string(),
            "truncated frame: expected 4 length-prefix bytes, got 2"
        );
    }

    #[test]
    fn decoder_eof_inside_a_frame_is_truncation_like_read_frame() {
        let (decoder, frames, _) = decode_all(MAX, &[&[0, 0]]);
        assert!(frames.is_empty());
        let err = decoder.finish().unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { part: FramePart::Header, expected: 4, got: 2 }),
            "{err:?}"
        );

        let (decoder, frames, _) = decode_all(MAX, &[&[0, 0, 0, 10, b'x', b'y', b'z']]);
        assert!(frames.is_empty());
        assert_eq!(
            decoder.finish().unwrap_err().to_string(),
            "truncated frame: expected 10 payload bytes, got 3"
        );
        // `finish` only looks: the rest of the payload can still come.
        let (mut decoder, _, _) = decode_all(MAX, &[&[0, 0, 0, 2, b'x']]);
        assert!(decoder.finish().is_err());
        assert_eq!(decoder.decode(&mut &b"y"[..]).unwrap(), Some(b"xy".to_vec()));
        decoder.finish().unwrap();
    }

    #[test]
    fn decoder_rejects_an_oversized_prefix_before_allocating_and_stays_failed() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut decoder = Decoder::new(MAX);
        let mut input = &bytes[..];
        let err = decoder.decode(&mut input).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: u32::MAX, max: MAX }), "{err:?}");
        assert_eq!(err.to_string(), "frame too large: 4294967295 bytes > maximum 1024");
        assert_eq!(input, [1, 2, 3], "only the prefix is taken");
        assert_eq!(decoder.buffered_capacity(), 0);
        // Failed for good: nothing more is taken, and every call says why.
        let err = decoder.decode(&mut input).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: u32::MAX, max: MAX }), "{err:?}");
        assert_eq!(input, [1, 2, 3]);
        assert!(matches!(decoder.decode(&mut &[][..]), Err(FrameError::TooLarge { .. })));
        assert!(matches!(decoder.finish(), Err(FrameError::TooLarge { len: u32::MAX, max: MAX })));

        // One more than the maximum is too large; exactly the maximum is fine, in one buffer of
        // exactly that size.
        let (_, _, err) = decode_all(MAX, &[&header(MAX as usize + 1).unwrap()]);
        assert!(matches!(err, Some(FrameError::TooLarge { len: 1025, max: MAX })), "{err:?}");
        let mut decoder = Decoder::new(MAX);
        assert_eq!(decoder.decode(&mut &header(MAX as usize).unwrap()[..]).unwrap(), None);
        assert_eq!(decoder.buffered_capacity(), MAX as usize);
        let payload = vec![7; MAX as usize];
        assert_eq!(decoder.decode(&mut &payload[..]).unwrap(), Some(payload));
        assert_eq!(decoder.buffered_capacity(), 0);
    }

    #[test]
    fn decoder_with_maximum_zero_takes_only_empty_frames() {
        let (decoder, frames, err) = decode_all(0, &[&[0; 8], &[0, 0, 0, 1]]);
        assert_eq!(frames, [Vec::<u8>::new(), Vec::new()]);
        assert!(matches!(err, Some(FrameError::TooLarge { len: 1, max: 0 })), "{err:?}");
        assert_eq!(decoder.buffered_capacity(), 0);
    }

    #[test]
    fn decoder_debug_shows_the_position_not_the_payload() {
        let (decoder, _, _) = decode_all(MAX, &[&[0, 0, 0, 5, b's', b'e', b'c']]);
        assert_eq!(format!("{decoder:?}"), "Decoder { max: 1024, payload_len: 5, payload_bytes: 3 }");
        assert_eq!(format!("{:?}", Decoder::new(7)), "Decoder { max: 7, header_bytes: 0 }");
    }

    #[test]
    fn decode_borrows_the_first_whole_frame_and_says_where_the_next_begins() {
        let mut bytes = Vec::new();
        encode(b"one", &mut bytes).unwrap();
        encode(b"", &mut bytes).unwrap();
        bytes.extend_from_slice(&[0, 0]);
        let (payload, taken) = decode(&bytes, MAX).unwrap();
        assert_eq!((payload, taken), (&b"one"[..], 7));
        assert!(std::ptr::eq(payload, &bytes[4..7]), "borrowed, not copied");
        assert_eq!(decode(&bytes[7..], MAX), Ok((&b""[..], 4)));
        assert_eq!(decode(&bytes[11..], MAX), Err(DecodeError::Incomplete));
        assert_eq!(decode(&[], MAX), Err(DecodeError::Incomplete));
        // Every proper beginning of a frame is incomplete; the whole of it is not.
        for end in 0..7 {
            assert_eq!(decode(&bytes[..end], MAX), Err(DecodeError::Incomplete), "{end} bytes");
        }
    }

    #[test]
    fn decode_rejects_an_oversized_prefix_as_read_frame_does() {
        let err = decode(&[0xff, 0xff, 0xff, 0xff], MAX).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { len: u32::MAX, max: MAX });
        assert_eq!(err.to_string(), "frame too large: 4294967295 bytes > maximum 1024");
        assert_eq!(err.to_string(), FrameError::TooLarge { len: u32::MAX, max: MAX }.to_string());
        assert_eq!(decode(&[0xff, 0xff, 0xff], MAX), Err(DecodeError::Incomplete));
        // One more than the maximum is too large; exactly the maximum is fine.
        let over = header(MAX as usize + 1).unwrap();
        assert_eq!(decode(&over, MAX), Err(DecodeError::TooLarge { len: MAX + 1, max: MAX }));
        let mut frame = Vec::new();
        encode(&[7; MAX as usize], &mut frame).unwrap();
        assert_eq!(decode(&frame, MAX), Ok((&frame[4..], 4 + MAX as usize)));
        assert_eq!(decode(&frame[..frame.len() - 1], MAX), Err(DecodeError::Incomplete));
    }

    #[tokio::test]
    async fn encode_appends_what_write_frame_writes() {
        let mut written = Vec::new();
        let mut encoded = b"kept".to_vec();
        for payload in [&b"abc"[..], b"", &[9; COALESCE_LIMIT + 1]] {
            write_frame(&mut written, payload).await.unwrap();
            encode(payload, &mut encoded).unwrap();
        }
        assert_eq!(&encoded[..4], b"kept");
        assert_eq!(encoded[4..], written);
    }

    #[test]
    fn payload_too_long_is_write_frames_invalid_input() {
        let err = std::io::Error::from(PayloadTooLong { len: 1 << 32 });
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "message of 4294967296 bytes does not fit a 32-bit length prefix");
    }

    #[test]
    fn header_is_big_endian() {
        assert_eq!(header(0x0102_0304), Some([1, 2, 3, 4]));
        assert_eq!(header(0), Some([0; 4]));
    }
}
