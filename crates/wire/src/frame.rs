//! Framed mode: each message is a 4-byte big-endian length, then that many payload bytes.
//!
//! The length is checked against the caller's maximum *before* anything is allocated, so a
//! garbage or hostile prefix (`FF FF FF FF`) costs nothing. EOF exactly between frames is the
//! normal end of a connection (`Ok(None)`); EOF anywhere inside a frame is [`FrameError::Truncated`]
//! and yields no message.

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

/// The length prefix for a payload of `len` bytes, or `None` if it does not fit in 32 bits.
pub fn header(len: usize) -> Option<[u8; HEADER_LEN]> {
    u32::try_from(len).ok().map(u32::to_be_bytes)
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
    let len = u32::from_be_bytes(head);
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    // `len <= max`, and the caller's max bounds what one frame may allocate.
    let mut payload = vec![0u8; len as usize];
    let got = read_full(reader, &mut payload).await?;
    if got < payload.len() {
        return Err(FrameError::Truncated { part: FramePart::Payload, expected: payload.len(), got });
    }
    Ok(Some(payload))
}

/// Writes `payload` as one frame (prefix, then payload) and flushes.
///
/// Fails with `InvalidInput` for a payload of 4 GiB or more, which the prefix cannot express.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> std::io::Result<()> {
    let head = header(payload.len()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("message of {} bytes does not fit a 32-bit length prefix", payload.len()),
        )
    })?;
    if payload.len() <= COALESCE_LIMIT {
        // One write for prefix and payload: two small writes in a row meet Nagle's algorithm and
        // the peer's delayed ACK, and cost ~40 ms per frame on a stop-and-wait connection.
        let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
        frame.extend_from_slice(&head);
        frame.extend_from_slice(payload);
        writer.write_all(&frame).await?;
    } else {
        writer.write_all(&head).await?;
        writer.write_all(payload).await?;
    }
    writer.flush().await
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

    #[test]
    fn header_is_big_endian() {
        assert_eq!(header(0x0102_0304), Some([1, 2, 3, 4]));
        assert_eq!(header(0), Some([0; 4]));
    }
}
