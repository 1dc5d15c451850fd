//! Test helpers shared by the relay's tests: upstream servers, clients, payloads.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(super) const LIMIT: Duration = Duration::from_secs(30);

/// An upstream server on 127.0.0.1 that runs `handler` for every connection.
pub(super) async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            tokio::spawn(handler(stream, peer));
        }
    });
    addr
}

/// Echoes each connection; passes the client's EOF on as its own.
pub(super) async fn echo_server() -> SocketAddr {
    serve(|mut stream, _| async move {
        let (mut r, mut w) = stream.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
        let _ = w.shutdown().await;
    })
    .await
}

pub(super) fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `data` then shuts down, while reading everything the other side sends.
pub(super) async fn exchange(stream: TcpStream, data: Vec<u8>) -> io::Result<Vec<u8>> {
    let (mut r, mut w) = stream.into_split();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await?;
        w.shutdown().await
    });
    let mut got = Vec::new();
    r.read_to_end(&mut got).await?;
    writer.await.map_err(io::Error::other)??;
    Ok(got)
}

/// Reads until EOF or an error; returns the bytes read and the error, if any.
pub(super) async fn read_until_end(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Some(e)),
        }
    }
}
