//! A message's identity: its length and SHA-256. Two sides agree on a message when these agree.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// Length and SHA-256 of a message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    /// Number of bytes in the message.
    pub len: u64,
    /// SHA-256 of the message bytes.
    pub sha256: [u8; 32],
}

impl Digest {
    /// Digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest { len: bytes.len() as u64, sha256: Sha256::digest(bytes).into() }
    }

    /// The SHA-256 as 64 lowercase hex digits, as written in acks and JSON.
    pub fn sha256_hex(&self) -> String {
        self.sha256_digits().as_str().to_owned()
    }

    /// [`sha256_hex`](Self::sha256_hex) without an allocation, for an ACK written per message.
    pub(crate) fn sha256_digits(&self) -> HexDigits {
        let mut digits = [0u8; 64];
        // A slice of exactly twice the length cannot be refused.
        let _ = hex::encode_to_slice(self.sha256, &mut digits);
        HexDigits(digits)
    }
}

/// A SHA-256's 64 lowercase hex digits, on the stack.
pub(crate) struct HexDigits([u8; 64]);

impl HexDigits {
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({} bytes, sha256 {})", self.len, self.sha256_hex())
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Parses 64 lowercase hex digits into a SHA-256. Uppercase is rejected: the protocol says lowercase.
pub fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_protocol_md() {
        assert_eq!(
            Digest::of(b"").sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            Digest::of(&all).sha256_hex(),
            "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"
        );
        let hello = Digest::of(b"Hello SocketServer!!!");
        assert_eq!(hello.len, 21);
        assert_eq!(hello.sha256_hex(), "30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807");
    }

    #[test]
    fn hex_round_trips_and_rejects_uppercase() {
        let d = Digest::of(b"abc");
        assert_eq!(parse_sha256_hex(&d.sha256_hex()), Some(d.sha256));
        assert_eq!(parse_sha256_hex(&d.sha256_hex().to_uppercase()), None);
        assert_eq!(parse_sha256_hex("abc"), None);
    }
}
