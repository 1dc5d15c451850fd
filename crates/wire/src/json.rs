//! The JSON lines of PROTOCOL.md §8: the server's events and the clients' delivery reports.
//! The server writes [`ServerEvent`]s, the clients write [`ClientReport`]s, the harness reads both.

use crate::{MessageView, Mode, Transport};
use serde::{Deserialize, Serialize};

/// The first line every server prints, in every format: `listening on <addr>`.
pub const LISTENING_PREFIX: &str = "listening on ";

/// One server event (§8.1), tagged by `"event"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ServerEvent {
    /// The server is bound and accepting.
    Listening {
        /// The bound address.
        addr: String,
        /// The server's mode.
        mode: Mode,
    },
    /// A connection was accepted.
    Connected {
        /// Connection number, from 1.
        conn: u64,
        /// The client's address.
        peer: String,
        /// The server's end of the connection.
        local: String,
    },
    /// A whole message arrived.
    Message {
        /// Connection number.
        conn: u64,
        /// The client's address.
        peer: String,
        /// Message number on the connection, from 1.
        seq: u64,
        /// Length in bytes.
        len: u64,
        /// SHA-256, 64 lowercase hex digits.
        sha256: String,
        /// The message, when UTF-8 and at most 4096 bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The connection ended normally.
    Closed {
        /// Connection number.
        conn: u64,
        /// The client's address.
        peer: String,
        /// How many messages it carried.
        messages: u64,
    },
    /// The connection (or, without `conn`, the server) hit an error.
    Error {
        /// Connection number, when the error belongs to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
        /// The client's address, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
        /// What went wrong.
        error: String,
    },
}

impl ServerEvent {
    /// The `message` event for message `seq` of connection `conn` from `peer`, taking the text of
    /// `view`; and `view` itself when the event has no text, since the text-format summary line is
    /// printed from it.
    pub fn message(conn: u64, peer: String, seq: u64, mut view: MessageView) -> (Self, Option<MessageView>) {
        let text = view.text.take();
        let summarised = text.is_none();
        let event = ServerEvent::Message {
            conn,
            peer,
            seq,
            len: view.digest.len,
            sha256: view.digest.sha256_hex(),
            text,
        };
        (event, summarised.then_some(view))
    }
}

/// How a client confirmed delivery of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckCheck {
    /// Framed: the server's ACK matched sequence, length and hash.
    Verified,
    /// Raw: the protocol has no acknowledgement.
    None,
}

/// One line of a client's `--format json` output (§8.2): a delivered message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientReport {
    /// Message number on its connection, from 1.
    pub seq: u64,
    /// The client's end of the connection (matched against the server's `peer`).
    pub local: String,
    /// The server address.
    pub peer: String,
    /// The mode used.
    pub mode: Mode,
    /// Length in bytes of what was sent.
    pub len: u64,
    /// SHA-256 of what was sent.
    pub sha256: String,
    /// How delivery was confirmed.
    pub ack: AckCheck,
    /// What carried it (absent in older clients' lines: TCP).
    #[serde(default)]
    pub transport: Transport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_events_have_the_documented_shape() {
        let event = ServerEvent::Message {
            conn: 1,
            peer: "127.0.0.1:51234".into(),
            seq: 1,
            len: 2,
            sha256: "ab".into(),
            text: None,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"message","conn":1,"peer":"127.0.0.1:51234","seq":1,"len":2,"sha256":"ab"}"#
        );
        let parsed: ServerEvent =
            serde_json::from_str(r#"{"event":"listening","addr":"[::1]:1","mode":"framed","extra":true}"#)
                .unwrap();
        assert_eq!(parsed, ServerEvent::Listening { addr: "[::1]:1".into(), mode: Mode::Framed });
    }

    #[test]
    fn a_message_event_has_the_views_length_hash_and_text() {
        let (event, summary) =
            ServerEvent::message(2, "pid:7".into(), 3, MessageView::of(b"Hello SocketServer!!!"));
        assert_eq!(summary, None, "the text is the line");
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"message","conn":2,"peer":"pid:7","seq":3,"len":21,"sha256":"30836f56b786ee37cf464bfe65b7728a5853395d9225e2bfd76f06ae68bd5807","text":"Hello SocketServer!!!"}"#
        );
        let (binary, summary) = ServerEvent::message(1, "p".into(), 1, MessageView::of(&[0xff]));
        assert!(matches!(binary, ServerEvent::Message { len: 1, text: None, .. }), "{binary:?}");
        assert_eq!(summary.map(|view| view.preview), Some(vec![0xff]));
    }

    #[test]
    fn client_report_parses_the_documented_example() {
        let report: ClientReport = serde_json::from_str(
            r#"{"seq":1,"local":"127.0.0.1:51234","peer":"127.0.0.1:40123","mode":"raw","len":21,"sha256":"x","ack":"none"}"#,
        )
        .unwrap();
        assert_eq!(report.ack, AckCheck::None);
        assert_eq!(report.mode, Mode::Raw);
    }
}
