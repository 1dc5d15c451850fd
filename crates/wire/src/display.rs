//! How a message is printed (PROTOCOL.md §4): UTF-8 text up to [`PRINT_LIMIT`] bytes as itself,
//! anything else as one summary line with its length, SHA-256 and an escaped preview.
//!
//! A [`MessageView`] keeps only what printing needs (at most `PRINT_LIMIT` bytes of text or a
//! 32-byte preview), so a server can hold it in an output queue without holding the message.

use crate::digest::Digest;
use std::fmt::Write as _;

/// Longest message printed as text, in bytes.
pub const PRINT_LIMIT: usize = 4096;

/// How many leading bytes a summary line previews.
pub const PREVIEW_BYTES: usize = 32;

/// What is kept of a message for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    /// Length and hash of the whole message.
    pub digest: Digest,
    /// The message, when it is UTF-8 and at most [`PRINT_LIMIT`] bytes: then it is the printed
    /// line.
    pub text: Option<String>,
    /// The first [`PREVIEW_BYTES`] bytes, for the summary line; empty when `text` is kept.
    pub preview: Vec<u8>,
    /// Whether the whole message is valid UTF-8.
    pub utf8: bool,
}

impl MessageView {
    /// Looks at `bytes` once: hash, UTF-8 check, preview.
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Digest::of(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) if text.len() <= PRINT_LIMIT => Self::text(digest, text.to_owned()),
            utf8 => Self::summary(digest, bytes, utf8.is_ok()),
        }
    }

    /// As [`of`](Self::of), for a message that is no longer needed: printable text is kept without
    /// a copy.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let digest = Digest::of(&bytes);
        match String::from_utf8(bytes) {
            Ok(text) if text.len() <= PRINT_LIMIT => Self::text(digest, text),
            Ok(text) => Self::summary(digest, text.as_bytes(), true),
            Err(err) => Self::summary(digest, err.as_bytes(), false),
        }
    }

    fn text(digest: Digest, text: String) -> Self {
        MessageView { digest, text: Some(text), preview: Vec::new(), utf8: true }
    }

    fn summary(digest: Digest, bytes: &[u8], utf8: bool) -> Self {
        let preview = bytes[..bytes.len().min(PREVIEW_BYTES)].to_vec();
        MessageView { digest, text: None, preview, utf8 }
    }

    /// The printed form, without the trailing newline.
    pub fn line(&self) -> String {
        if let Some(text) = &self.text {
            return text.clone();
        }
        let kind = if self.utf8 { "long" } else { "binary" };
        let ellipsis = if self.digest.len > PREVIEW_BYTES as u64 { "..." } else { "" };
        format!(
            "[{kind} message: {} bytes, sha256 {}, starts \"{}\"{ellipsis}]",
            self.digest.len,
            self.digest.sha256_hex(),
            escape(&self.preview)
        )
    }
}

/// Escapes bytes for a preview: printable ASCII as itself (but `"` and `\`), `\n \r \t`, else `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_is_printed_as_itself() {
        assert_eq!(MessageView::of("你好 🦀\nline".as_bytes()).line(), "你好 🦀\nline");
        assert_eq!(MessageView::of(b"").line(), "");
    }

    #[test]
    fn binary_summary_matches_protocol_md_example() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            MessageView::of(&all).line(),
            r#"[binary message: 256 bytes, sha256 40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880, starts "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"...]"#
        );
    }

    #[test]
    fn long_text_is_summarised_and_short_binary_has_no_ellipsis() {
        let long = "a".repeat(PRINT_LIMIT + 1);
        let line = MessageView::of(long.as_bytes()).line();
        assert!(line.starts_with("[long message: 4097 bytes, sha256 "), "{line}");
        assert!(line.ends_with(&format!("starts \"{}\"...]", "a".repeat(32))), "{line}");
        assert!(MessageView::of("a".repeat(PRINT_LIMIT).as_bytes()).text.is_some());
        assert!(MessageView::of(b"\xff\"\\").line().ends_with(r#"starts "\xff\"\\"]"#));
    }

    proptest! {
        #[test]
        fn a_view_from_an_owned_message_is_the_view_of_its_bytes(
            bytes in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                ".{0,40}".prop_map(String::into_bytes),
                // Text either side of the print limit.
                proptest::collection::vec(b'a'..=b'z', PRINT_LIMIT - 2..PRINT_LIMIT + 3),
            ]
        ) {
            prop_assert_eq!(MessageView::from_vec(bytes.clone()), MessageView::of(&bytes));
        }
    }
}
