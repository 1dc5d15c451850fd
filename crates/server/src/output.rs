//! Prints server events: the tutorial's text, or JSON lines (PROTOCOL.md §5, §8.1).
//!
//! All output goes through one [`Printer`], so each record is written and flushed whole and the
//! records of concurrent connections never interleave. In text format a connection's
//! `Hello: <peer>` is held back until its first message (or its end) and printed together with it,
//! so that in raw mode every `Hello` line is directly followed by that peer's message.

use crate::log::Sink;
use interop_wire::MessageView;
use interop_wire::cli::Format;
use interop_wire::json::{LISTENING_PREFIX, ServerEvent};
use std::collections::HashSet;
use std::io::{self, Write};

/// Writes events to `out` (records) and `err` (text-format errors).
#[derive(Debug)]
pub struct Printer<O, E> {
    format: Format,
    out: O,
    err: E,
    /// Connections whose `Hello:` line has not been printed yet (text format).
    hello_pending: HashSet<u64>,
    /// Print `Hello:` before every message, not once per connection (UDP: every datagram).
    hello_each_message: bool,
    /// The record being written, kept for the next.
    record: Vec<u8>,
}

impl<O: Write, E: Write> Printer<O, E> {
    /// A printer for `format`.
    pub fn new(format: Format, out: O, err: E) -> Self {
        Printer {
            format,
            out,
            err,
            hello_pending: HashSet::new(),
            hello_each_message: false,
            record: Vec::new(),
        }
    }

    /// Prints `Hello: <peer>` before every message (UDP, where every datagram stands alone).
    pub fn hello_each_message(mut self) -> Self {
        self.hello_each_message = true;
        self
    }

    /// Prints one event and flushes.
    pub fn print(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()> {
        self.write(event, view)?;
        self.out.flush()
    }

    /// Writes one event's record whole, without flushing. Only a failure to write the record
    /// (stdout) is an error; one of stderr's lines that cannot be written is lost.
    ///
    /// A `message` event's text line is its `text`, or else the summary line of its `view`
    /// ([`Sink::write`]): as [`MessageView::line`] prints it, either way.
    pub fn write(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()> {
        // One buffer for every record: a record costs no allocation of its own.
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        if let ServerEvent::Listening { addr, .. } = event {
            // The first line, identical in both formats: harnesses read the port from it.
            record.extend_from_slice(LISTENING_PREFIX.as_bytes());
            record.extend_from_slice(addr.as_bytes());
            record.push(b'\n');
        }
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut record, event).map_err(io::Error::other)?;
                record.push(b'\n');
            }
            Format::Text => self.text_record(event, view, &mut record),
        }
        let written = self.out.write_all(&record);
        self.record = record;
        written
    }

    fn text_record(&mut self, event: &ServerEvent, view: Option<&MessageView>, record: &mut Vec<u8>) {
        match event {
            ServerEvent::Listening { .. } => {}
            ServerEvent::Connected { conn, .. } => {
                self.hello_pending.insert(*conn);
            }
            ServerEvent::Message { conn, peer, text, .. } => {
                if self.hello_each_message {
                    self.hello_pending.insert(*conn);
                }
                self.hello(*conn, peer, record);
                match (text, view) {
                    (Some(text), _) => record.extend_from_slice(text.as_bytes()),
                    (None, Some(view)) => record.extend_from_slice(view.line().as_bytes()),
                    // Only a message recorded without its view: nothing to summarise.
                    (None, None) => {}
                }
                record.push(b'\n');
            }
            ServerEvent::Closed { conn, peer, .. } => self.hello(*conn, peer, record),
            ServerEvent::Error { conn, peer, error } => {
                if let (Some(conn), Some(peer)) = (conn, peer) {
                    self.hello(*conn, peer, record);
                }
                let line = match peer {
                    Some(peer) => format!("error: {peer}: {error}\n"),
                    None => format!("error: {error}\n"),
                };
                // stderr is not the log: a line that cannot be written there is lost, no more.
                let _ = self.err.write_all(line.as_bytes()).and_then(|()| self.err.flush());
            }
        }
    }

    /// Adds the connection's `Hello:` line to `record` if it has not been printed yet.
    fn hello(&mut self, conn: u64, peer: &str, record: &mut Vec<u8>) {
        if self.hello_pending.remove(&conn) {
            record.extend_from_slice(b"Hello: ");
            record.extend_from_slice(peer.as_bytes());
            record.push(b'\n');
        }
    }
}

impl<O: Write + Send, E: Write + Send> Sink for Printer<O, E> {
    fn write(&mut self, event: &ServerEvent, view: Option<&MessageView>) -> io::Result<()> {
        Printer::write(self, event, view)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interop_wire::Mode;

    /// Events, each with its view if it is a message.
    fn events() -> Vec<(ServerEvent, Option<MessageView>)> {
        let peer = |port| format!("127.0.0.1:{port}");
        let message =
            |conn, port, bytes: &[u8]| ServerEvent::message(conn, peer(port), 1, MessageView::of(bytes));
        vec![
            (ServerEvent::Listening { addr: peer(8099), mode: Mode::Raw }, None),
            (ServerEvent::Connected { conn: 1, peer: peer(1001), local: peer(8099) }, None),
            (ServerEvent::Connected { conn: 2, peer: peer(1002), local: peer(8099) }, None),
            message(2, 1002, b"second"),
            message(1, 1001, b"first\nline"),
            (ServerEvent::Closed { conn: 1, peer: peer(1001), messages: 1 }, None),
            (ServerEvent::Closed { conn: 2, peer: peer(1002), messages: 1 }, None),
            (ServerEvent::Connected { conn: 3, peer: peer(1003), local: peer(8099) }, None),
            (ServerEvent::Error { conn: Some(3), peer: Some(peer(1003)), error: "truncated".into() }, None),
        ]
    }

    fn print_all(format: Format) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut printer = Printer::new(format, &mut out, &mut err);
        for (event, view) in events() {
            printer.print(&event, view.as_ref()).unwrap();
        }
        (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn text_keeps_each_hello_with_its_message() {
        let (out, err) = print_all(Format::Text);
        assert_eq!(
            out,
            "listening on 127.0.0.1:8099\n\
             Hello: 127.0.0.1:1002\nsecond\n\
             Hello: 127.0.0.1:1001\nfirst\nline\n\
             Hello: 127.0.0.1:1003\n"
        );
        assert_eq!(err, "error: 127.0.0.1:1003: truncated\n");
    }

    #[test]
    fn text_summarises_a_message_that_is_not_printed_as_itself() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut printer = Printer::new(Format::Text, &mut out, &mut err).hello_each_message();
        let (event, binary) = ServerEvent::message(1, "pid:7".into(), 1, MessageView::of(b"\xffbinary"));
        let binary = binary.expect("a binary message is summarised");
        printer.print(&event, Some(&binary)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("Hello: pid:7\n{}\n", binary.line()));
        assert!(binary.line().starts_with("[binary message: 7 bytes, sha256 "), "{}", binary.line());
    }

    #[test]
    fn json_starts_with_the_listening_line_then_one_event_per_line() {
        let (out, err) = print_all(Format::Json);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "listening on 127.0.0.1:8099");
        assert_eq!(lines.len(), 1 + events().len());
        for line in &lines[1..] {
            serde_json::from_str::<ServerEvent>(line).unwrap();
        }
        assert!(lines[4].contains(r#""text":"second""#), "{}", lines[4]);
        assert!(err.is_empty());
    }
}
