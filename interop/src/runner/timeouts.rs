//! How long the runner waits for each thing it awaits. Each bound is generous: a correct
//! implementation needs a fraction of it, and only a wrong one makes a cell wait this long.

use std::time::Duration;

/// The `--timeout-ms` every client gets.
pub const CLIENT_TIMEOUT_MS: u64 = 10_000;
/// How long a client process may run before its group is killed, by default.
pub const CLIENT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to print its `listening on` line.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
pub const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, once the clients have exited, the harness waits for the server to finish every
/// connection they made (a `closed` or `error` event each) before it stops the server. A correct
/// server needs milliseconds; the margin is for a loaded machine. Only a server that never
/// finishes a connection makes a cell wait this long, and that cell fails anyway.
pub const SERVER_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the harness, having made connections to a server, waits for it to accept one more
/// of them before it concludes that the server is not accepting them: a correct server takes
/// each within milliseconds, and keeps going; only one that serves a connection at a time stops.
pub const ACCEPT_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the relay lets a connection held open by a `timeout` fault stay open after the
/// clients exited: nothing passes through it, so there is nothing to wait for.
pub const HELD_CONNECTION_GRACE: Duration = Duration::from_millis(300);
/// How long the harness, as the client of a conformance cell, waits for the server to accept,
/// read or reply.
pub const PEER_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
