//! A reference for `interop bench`, not a server of the protocol: it speaks the wire protocol as
//! `interop-server` does (same arguments, same `listening on` line, same ACKs) but logs nothing,
//! so it breaks PROTOCOL.md §5's "log, then acknowledge". What it reaches under `small` and `raw`
//! is what this machine and the load generator allow a server that does no work of its own
//! (docs/BENCH.md, "Ceilings").
//!
//! ```text
//! cargo build --release -p interop-server --example unlogged
//! interop --manifest bench/ceiling.toml bench --load small --load raw
//! ```

use clap::Parser as _;
use interop_server::cli::Args;
use interop_wire::frame::read_frame;
use interop_wire::json::LISTENING_PREFIX;
use interop_wire::reply::Reply;
use interop_wire::{Digest, Mode};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
    println!("{LISTENING_PREFIX}{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let (mode, max) = (args.mode, args.max_message_bytes);
        tokio::spawn(async move {
            // A failed connection is dropped: there is no log to tell.
            let _ = match mode {
                Mode::Raw => raw(stream).await,
                Mode::Framed => framed(stream, max).await,
            };
        });
    }
}

/// Reads to the end, then closes in order, as raw mode's acknowledgement.
async fn raw(mut stream: TcpStream) -> std::io::Result<()> {
    let mut message = Vec::new();
    stream.read_to_end(&mut message).await?;
    stream.shutdown().await
}

/// Acknowledges every frame.
async fn framed(stream: TcpStream, max: u32) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut stream = BufReader::with_capacity(16 * 1024, stream);
    let mut seq = 0;
    let mut ack = Vec::new();
    while let Some(payload) = read_frame(&mut stream, max).await.map_err(std::io::Error::other)? {
        seq += 1;
        ack.clear();
        Reply::Ack { seq, digest: Digest::of(&payload) }.encode_frame(&mut ack);
        stream.write_all(&ack).await?;
    }
    Ok(())
}
