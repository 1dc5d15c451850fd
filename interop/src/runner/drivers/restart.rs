//! `restart`: the server is killed with a connection open and started again on the same port at
//! once; the client must deliver to the new one.

use super::deliver;
use super::trial::Trial;
use crate::results::Problem;
use crate::runner::server::ServerStdout;

/// Restart: start the server, hold a connection to it, kill it, start it again on the same
/// port at once, and deliver the payload to the new one.
pub async fn run(t: &mut Trial<'_>) -> Vec<Problem> {
    let cell = t.cell;
    let first = match t.start_server(0, ServerStdout::Read).await {
        Ok(server) => server,
        Err(problem) => return vec![problem],
    };
    let Some(port) = first.port else { return vec![Problem::harness("restart needs a TCP server")] };
    // An open connection with unread bytes: the kill leaves the port with a connection in it.
    let mut held = tokio::net::TcpStream::connect((cell.case.host, port)).await.ok();
    if let Some(held) = held.as_mut() {
        use tokio::io::AsyncWriteExt as _;
        let _ = held.write_all(b"unfinished").await;
    }
    first.kill().await;
    drop(held);
    deliver::to(t, false, Some(port)).await
}
