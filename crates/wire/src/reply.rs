//! The server's reply frames in framed mode: `ACK <seq> <len> <sha256>` or `ERR <code> <detail>`.

use crate::digest::{Digest, parse_sha256_hex};
use crate::frame::{HEADER_LEN, header};
use std::fmt;

/// Longest reply payload a client accepts; anything longer is a protocol error.
pub const MAX_REPLY_BYTES: u32 = 1024;

/// One reply frame's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Message number `seq` arrived whole, with this length and hash.
    Ack {
        /// The message's number on the connection, from 1.
        seq: u64,
        /// What the server received.
        digest: Digest,
    },
    /// The server rejected a frame and closes the connection.
    Err {
        /// One word, e.g. `too-large`.
        code: String,
        /// Free text for humans.
        detail: String,
    },
}

/// Error code: the length prefix exceeds the server's maximum.
pub const ERR_TOO_LARGE: &str = "too-large";

/// Error code: the server already serves as many connections as it may (sent before any frame).
pub const ERR_BUSY: &str = "busy";

/// Error code: the server could not write the message to its log, so it does not acknowledge it.
pub const ERR_OUTPUT: &str = "output";

/// Why a reply payload could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed reply {text:?}: {why}")]
pub struct ParseReplyError {
    /// The reply, lossily decoded, for the error message.
    pub text: String,
    /// What was wrong with it.
    pub why: &'static str,
}

impl Reply {
    /// Parses a reply frame's payload.
    pub fn parse(payload: &[u8]) -> Result<Reply, ParseReplyError> {
        let fail = |why| ParseReplyError { text: String::from_utf8_lossy(payload).into_owned(), why };
        let text = std::str::from_utf8(payload).map_err(|_| fail("not UTF-8"))?;
        if let Some(rest) = text.strip_prefix("ERR ") {
            let (code, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            if code.is_empty() {
                return Err(fail("ERR without a code"));
            }
            return Ok(Reply::Err { code: code.to_owned(), detail: detail.to_owned() });
        }
        let fields: Vec<&str> = text.split(' ').collect();
        match fields.as_slice() {
            ["ACK", seq, len, sha] => {
                let seq = parse_decimal(seq).ok_or_else(|| fail("bad sequence number"))?;
                let len = parse_decimal(len).ok_or_else(|| fail("bad length"))?;
                let sha256 = parse_sha256_hex(sha).ok_or_else(|| fail("bad sha256"))?;
                Ok(Reply::Ack { seq, digest: Digest { len, sha256 } })
            }
            ["ACK", ..] => Err(fail("ACK needs exactly 3 fields")),
            _ => Err(fail("neither ACK nor ERR")),
        }
    }
}

impl Reply {
    /// How a client reports this reply if it is an `ERR` (PROTOCOL.md §3.3), message `seq` being
    /// the one it waits on: a phrase for the code, then the reply as received, with ASCII control
    /// characters as `\xNN` so that it stays one line. `None` for an `ACK`.
    pub fn err_report(&self, seq: u64) -> Option<String> {
        let Reply::Err { code, detail } = self else { return None };
        let what = match code.as_str() {
            ERR_BUSY => "server is busy".to_owned(),
            ERR_OUTPUT => format!("server could not log message {seq}"),
            _ => format!("server rejected message {seq}"),
        };
        let mut line = format!("{what}: ERR ");
        for c in code.chars().chain((!detail.is_empty()).then_some(' ')).chain(detail.chars()) {
            if c.is_ascii_control() {
                line.push_str(&format!("\\x{:02x}", u32::from(c)));
            } else {
                line.push(c);
            }
        }
        Some(line)
    }
}

impl Reply {
    /// Appends this reply to `out` as one whole frame, length prefix and payload, as
    /// [`write_frame`](crate::frame::write_frame) sends it; nothing is allocated once `out` has
    /// room. For a writer that sends one reply per message, into a buffer it keeps.
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, "{self}");
        match header(out.len() - start - HEADER_LEN) {
            Some(head) => out[start..start + HEADER_LEN].copy_from_slice(&head),
            // Four gigabytes of ERR detail: nothing a server writes.
            None => out.truncate(start),
        }
    }
}

/// Plain decimal digits only: no sign, no spaces, no leading `+`.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Reply {
    /// The reply payload exactly as sent on the wire.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ack { seq, digest } => {
                write!(f, "ACK {seq} {} {}", digest.len, digest.sha256_digits().as_str())
            }
            Reply::Err { code, detail } => write!(f, "ERR {code} {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_round_trips_and_matches_protocol_md() {
        let ack = Reply::Ack { seq: 1, digest: Digest::of(b"abc") };
        let text = ack.to_string();
        assert_eq!(text, "ACK 1 3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(text.len(), 0x48);
        assert_eq!(Reply::parse(text.as_bytes()), Ok(ack));
    }

    #[test]
    fn a_reply_encoded_as_a_frame_is_its_text_behind_its_length() {
        let mut out = b"kept".to_vec();
        for reply in [
            Reply::Ack { seq: 12, digest: Digest::of(b"abc") },
            Reply::Err { code: ERR_BUSY.into(), detail: "2 open".into() },
        ] {
            out.truncate(4);
            reply.encode_frame(&mut out);
            let mut expected = b"kept".to_vec();
            crate::frame::encode(reply.to_string().as_bytes(), &mut expected).unwrap();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn err_round_trips() {
        let err = Reply::Err { code: ERR_TOO_LARGE.into(), detail: "4294967295 > 16777216".into() };
        assert_eq!(err.to_string(), "ERR too-large 4294967295 > 16777216");
        assert_eq!(Reply::parse(err.to_string().as_bytes()), Ok(err));
    }

    #[test]
    fn err_replies_are_reported_with_a_phrase_for_their_code() {
        let report = |text: &str, seq| Reply::parse(text.as_bytes()).unwrap().err_report(seq);
        assert_eq!(report("ERR busy 2 open", 3).unwrap(), "server is busy: ERR busy 2 open");
        assert_eq!(report("ERR busy", 3).unwrap(), "server is busy: ERR busy");
        assert_eq!(
            report("ERR output disk full", 3).unwrap(),
            "server could not log message 3: ERR output disk full"
        );
        assert_eq!(
            report("ERR too-large 5 > 4", 1).unwrap(),
            "server rejected message 1: ERR too-large 5 > 4"
        );
        assert_eq!(
            report("ERR odd line\nbreak\t\x7f", 1).unwrap(),
            r"server rejected message 1: ERR odd line\x0abreak\x09\x7f"
        );
        assert_eq!(Reply::Ack { seq: 1, digest: Digest::of(b"") }.err_report(1), None);
    }

    #[test]
    fn malformed_replies_are_rejected() {
        let sha = Digest::of(b"").sha256_hex();
        for bad in [
            "".to_string(),
            "OK".into(),
            "ACK 1 0".into(),
            format!("ACK 1 0 {sha} extra"),
            format!("ACK -1 0 {sha}"),
            format!("ACK 1 +0 {sha}"),
            format!("ACK 1 0 {}", sha.to_uppercase()),
            "ACK 1 0 abc".into(),
            "ERR ".into(),
        ] {
            assert!(Reply::parse(bad.as_bytes()).is_err(), "{bad:?} parsed");
        }
        assert!(Reply::parse(&[0xff, 0xfe]).is_err());
    }
}
