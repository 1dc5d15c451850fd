//! Bytes as hex, for people to read: the classic dump of a transcript ([`hex_dump`]) and the hex
//! of a few bytes on one line ([`hex_bytes`], as in a byte diff's window). Imports nothing of the
//! crate.

use std::fmt::Write as _;

/// `bytes` as lowercase hex pairs separated by single spaces: `48 65 6c`.
pub fn hex_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

/// Classic hex dump of at most `limit` bytes, 16 a line, with a text view (printable ASCII as is,
/// anything else `.`):
///
/// ```text
/// 00000000  48 65 6c 6c 6f 20 53 6f  63 6b 65 74 53 65 72 76  |Hello SocketServ|
/// ```
///
/// When the bytes shown are UTF-8 with some non-ASCII, a `utf-8:` block follows with them as text
/// (control characters other than `\n` and `\t` escaped as `\u{..}`; when the dump was cut inside a
/// character, the text stops before it). When bytes were left out, a last line says how many:
/// `... (N more bytes)`. Every line ends with `\n`; no bytes give an empty string.
pub fn hex_dump(bytes: &[u8], limit: usize) -> String {
    let shown = &bytes[..bytes.len().min(limit)];
    let cut = bytes.len() - shown.len();
    let mut out = String::new();
    for (i, line) in shown.chunks(16).enumerate() {
        // Two groups of 8, each padded to its full width (8 pairs and 7 spaces).
        let (first, second) = line.split_at(line.len().min(8));
        let _ = write!(out, "{:08x}  {:<23}  {:<23}  |", i * 16, hex_bytes(first), hex_bytes(second));
        out.extend(line.iter().map(|&b| if b == b' ' || b.is_ascii_graphic() { char::from(b) } else { '.' }));
        out.push_str("|\n");
    }
    let text = match std::str::from_utf8(shown) {
        Ok(text) => Some(text),
        // Cut inside a character: the text before it.
        Err(e) if cut > 0 && e.error_len().is_none() => std::str::from_utf8(&shown[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    if let Some(text) = text
        && !text.is_ascii()
    {
        out.push_str("utf-8:\n");
        for c in text.chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                let _ = write!(out, "{}", c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    if cut > 0 {
        let _ = writeln!(out, "... ({cut} more bytes)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bytes_format() {
        assert_eq!(hex_bytes(b"He\x00\xff"), "48 65 00 ff");
        assert_eq!(hex_bytes(b""), "");
    }

    #[test]
    fn hex_dump_rows_keep_their_columns_whatever_their_length() {
        assert_eq!(
            hex_dump(b"0123456789ab", 64),
            "00000000  30 31 32 33 34 35 36 37  38 39 61 62              |0123456789ab|\n"
        );
        let row: Vec<u8> = (b'a'..=b'p').collect();
        for n in 1..=16 {
            assert_eq!(hex_dump(&row[..n], 64).find('|'), Some(60), "a row of {n} bytes");
        }
    }

    #[test]
    fn hex_dump_format() {
        assert_eq!(
            hex_dump(b"Hello SocketServer!!!", 64),
            "00000000  48 65 6c 6c 6f 20 53 6f  63 6b 65 74 53 65 72 76  |Hello SocketServ|\n\
             00000010  65 72 21 21 21                                    |er!!!|\n"
        );
        assert_eq!(
            hex_dump(b"a\x00bc", 64),
            "00000000  61 00 62 63                                       |a.bc|\n"
        );
        assert_eq!(hex_dump(b"", 64), "");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            hex_dump(&all, 20),
            "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n\
             00000010  10 11 12 13                                       |....|\n\
             ... (236 more bytes)\n"
        );
        assert_eq!(hex_dump(&all, 0), "... (256 more bytes)\n");
    }

    #[test]
    fn hex_dump_utf8_block() {
        assert_eq!(
            hex_dump("héllo\r\n".as_bytes(), 64),
            "00000000  68 c3 a9 6c 6c 6f 0d 0a                           |h..llo..|\n\
             utf-8:\n\
             héllo\\u{d}\n"
        );
        // Cut inside the "é": the text stops before it.
        assert_eq!(
            hex_dump("hé\tx".as_bytes(), 2),
            "00000000  68 c3                                             |h.|\n... (3 more bytes)\n"
        );
        assert_eq!(
            hex_dump("éé".as_bytes(), 3),
            "00000000  c3 a9 c3                                          |...|\nutf-8:\né\n... (1 more bytes)\n"
        );
        // Not UTF-8, or plain ASCII: no block.
        assert!(!hex_dump(b"\xff\xfe", 64).contains("utf-8"));
        assert!(!hex_dump(b"plain\n", 64).contains("utf-8"));
    }
}
