//! What clients are asked to send: payloads, and how each reaches the client program.

use interop_wire::DEFAULT_MESSAGE;
use std::sync::Arc;

/// How a payload reaches the client program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// As a `MESSAGE` argument (text without NUL).
    Arg,
    /// As a `--file PATH` (any bytes, any size).
    File,
}

/// One message a client is asked to send.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The exact bytes, shared: a case's payloads are cloned for every process and attempt.
    pub bytes: Arc<[u8]>,
    /// How they are handed to the client.
    pub via: Via,
}

impl Payload {
    /// A payload given as a `MESSAGE` argument.
    pub fn arg(text: impl Into<String>) -> Self {
        Payload { bytes: text.into().into_bytes().into(), via: Via::Arg }
    }

    /// A payload given as a `--file`.
    pub fn file(bytes: Vec<u8>) -> Self {
        Payload { bytes: bytes.into(), via: Via::File }
    }

    /// The payload as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

/// The tutorial's message.
pub fn hello() -> Payload {
    Payload::arg(DEFAULT_MESSAGE)
}

/// Text, empty, all 256 byte values, and text again: the mix several transport cases send.
pub fn mixed() -> Vec<Payload> {
    vec![Payload::arg("first"), Payload::arg(""), Payload::file((0..=255).collect()), Payload::arg("last ✓")]
}

/// `len` bytes from xorshift64*, the same on every run and machine.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}
