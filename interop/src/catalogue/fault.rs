//! The fault cases: basic cases through the relay with a network fault (Toxiproxy's toxics):
//! streams cut into small pieces, latency, low bandwidth, and connections cut, reset or hung.

use super::basic;
use super::case::Case;
use crate::toxic::Toxic;

/// The cases of this theme, in the order `interop list` shows them.
pub fn cases() -> Vec<Case> {
    let basic = basic::cases();
    let base = |name: &str| basic.iter().find(|c| c.name == name).cloned().expect("a basic case");
    // Small pieces, each read by the server on its own: a server that takes one read for a
    // message fails these every time, however loaded the machine.
    let fine = |size: usize| Toxic::Slicer {
        average_size: size,
        size_variation: size / 2 + 1,
        delay_us: 300,
        one_piece_per_read: true,
    };
    vec![
        Case::faulty(
            &base("hello"),
            (
                "hello+slicer",
                "hello, its stream cut into 1-5 byte pieces: the server must still log it whole",
            ),
            fine(3),
            None,
        ),
        Case::faulty(
            &base("utf8"),
            ("utf8+slicer", "utf8 in 1-4 byte pieces, splitting multi-byte characters across reads"),
            fine(2),
            None,
        ),
        Case::faulty(
            &base("multiline"),
            ("multiline+slicer", "multiline in 1-7 byte pieces: line ends arrive alone"),
            fine(4),
            None,
        ),
        Case::faulty(
            &base("empty-frames"),
            ("empty-frames+slicer", "empty-frames in 1-4 byte pieces: length prefixes split across reads"),
            fine(2),
            None,
        ),
        Case::faulty(&base("binary"), ("binary+slicer", "binary in 3-11 byte pieces"), fine(7), None),
        Case::faulty(
            &base("large"),
            ("large+slicer", "8 MiB in pieces of 700-2100 bytes"),
            Toxic::Slicer { average_size: 1400, size_variation: 700, delay_us: 0, one_piece_per_read: false },
            None,
        ),
        Case::faulty(
            &base("hello"),
            ("hello+latency", "hello delayed 100 ± 30 ms on the way"),
            Toxic::Latency { latency: 100, jitter: 30 },
            None,
        ),
        Case::faulty(
            &base("binary"),
            ("binary+bandwidth", "binary at 5 KB/s"),
            Toxic::Bandwidth { rate: 5 },
            None,
        ),
        Case::faulty(
            &base("binary"),
            (
                "binary+limit_data",
                "the connection is cut after 100 of binary's 260 bytes: the client fails, the server logs nothing",
            ),
            Toxic::LimitData { bytes: 100 },
            Some(None),
        ),
        Case::faulty(
            &base("hello"),
            (
                "hello+reset_peer",
                "the connection is reset as hello arrives: the client fails, the server logs nothing",
            ),
            Toxic::ResetPeer { timeout: 0 },
            Some(None),
        ),
        Case::faulty(
            &base("hello"),
            (
                "hello+timeout",
                "nothing gets through, nothing comes back: the client times out (exit 4) after its --timeout-ms 1000, the server logs nothing",
            ),
            Toxic::Timeout { timeout: 0 },
            Some(Some(4)),
        )
        // A client facing a connection that hangs gives up after its --timeout-ms.
        .timeout_ms(1000),
    ]
}
