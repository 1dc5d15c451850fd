//! The `ceiling` load: what this machine can do at best, for scale. SHA-256 on one core (every
//! server hashes every message), and iperf3 over loopback when it is installed.

use super::report::Ceiling;
use super::{BenchError, PATIENCE};
use crate::process::CommandSpec;
use std::time::{Duration, Instant};

/// The machine's ceilings: SHA-256 on one core, and iperf3 over loopback for `time` when it is
/// installed.
pub async fn ceiling(time: Duration) -> Ceiling {
    let sha256_mb_s = tokio::task::spawn_blocking(sha256_speed).await.unwrap_or_default();
    let (iperf3_mb_s, iperf3_error) = match iperf3(time).await {
        Ok(mb_s) => (Some(mb_s), None),
        Err(why) => (None, Some(why.to_string())),
    };
    Ceiling { iperf3_mb_s, iperf3_error, sha256_mb_s }
}

/// SHA-256 of 64 MiB, three times: the best speed, in MB/s.
fn sha256_speed() -> f64 {
    use sha2::Digest as _;
    let data = vec![0x5a_u8; 64 << 20];
    (0..3)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(sha2::Sha256::digest(&data));
            data.len() as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// iperf3's one-stream loopback throughput, in MB/s.
async fn iperf3(time: Duration) -> Result<f64, BenchError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(BenchError::NoPort)?
        .port()
        .to_string();
    let cwd = std::env::temp_dir();
    let server = CommandSpec {
        argv: ["iperf3", "--server", "--one-off", "--bind", "127.0.0.1", "--port", &port]
            .map(String::from)
            .to_vec(),
        env: Vec::new(),
        cwd: cwd.clone(),
    };
    let mut server = match server.spawn() {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(BenchError::NoIperf3),
        Err(source) => return Err(BenchError::Spawn { command: server.shell(), source }),
    };
    let secs = time.as_secs().max(1).to_string();
    let client = CommandSpec {
        argv: ["iperf3", "--client", "127.0.0.1", "--port", &port, "--time", &secs, "--json"]
            .map(String::from)
            .to_vec(),
        env: Vec::new(),
        cwd,
    };
    // The server listens within milliseconds; the client retries nothing, so give it a moment.
    let mut last = String::new();
    for _ in 0..20 {
        let out = crate::process::run_to_end(&client, time + PATIENCE)
            .await
            .map_err(|source| BenchError::Spawn { command: client.shell(), source })?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(bits) = json["end"]["sum_received"]["bits_per_second"].as_f64() {
            crate::process::wait_or_kill(&mut server, PATIENCE).await;
            return Ok(bits / 8.0 / 1e6);
        }
        last = json["error"].as_str().unwrap_or("no result").to_owned();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    crate::process::wait_or_kill(&mut server, PATIENCE).await;
    Err(BenchError::Iperf3(last))
}
