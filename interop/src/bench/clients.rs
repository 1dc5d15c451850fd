//! The `clients` load: each client of the manifest, as the matrix runs it, sends one large file
//! as a framed message to the reference server, and its wall time is the figure.

use super::report::ClientFigure;
use super::servers::{start, stop};
use super::{BenchError, BenchEvent, BenchOptions, median};
use crate::process::CommandSpec;
use interop_wire::Mode;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long a client may take to send the file.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// The size of the file each client sends.
pub const FILE_BYTES: usize = 64 << 20;

/// Each of `clients` (name and command, to which the protocol's arguments are appended) sends
/// `file` as one framed message to `server` (started for it), in interleaved repetitions; the
/// figure is the median wall time.
pub(super) async fn clients(
    server: &(String, CommandSpec),
    clients: &[(String, CommandSpec)],
    file: &Path,
    options: &BenchOptions,
    on: &(dyn Fn(BenchEvent) + Sync),
) -> Vec<ClientFigure> {
    let mut figures: Vec<ClientFigure> = clients.iter().map(|(name, _)| ClientFigure::new(name)).collect();
    let log = options.log_dir.join(format!("{}-clients.log", server.0));
    let max = (FILE_BYTES + 1).to_string();
    let target = match start(&server.0, &server.1, Mode::Framed, &log, &["--max-message-bytes", &max]).await {
        Ok(target) => target,
        Err(why) => {
            let why = why.to_string();
            for figure in &mut figures {
                figure.error = Some(why.clone());
            }
            return figures;
        }
    };
    let mut samples = vec![Vec::new(); clients.len()];
    for rep in 0..options.reps {
        for turn in 0..clients.len() {
            let c = (turn + rep as usize) % clients.len();
            let (name, spec) = &clients[c];
            if figures[c].error.is_none() {
                match send_file(spec, target.addr, file).await {
                    Ok(secs) => samples[c].push(secs),
                    Err(why) => figures[c].error = Some(why.to_string()),
                }
            }
            on(BenchEvent::Measured(format!("client {name}")));
        }
    }
    stop(target).await;
    for (figure, samples) in figures.iter_mut().zip(samples) {
        if figure.error.is_none() {
            figure.send_64mib_s = Some(median(&samples));
        }
    }
    figures
}

/// Runs one client sending `file` to `addr`; its wall time in seconds.
async fn send_file(spec: &CommandSpec, addr: SocketAddr, file: &Path) -> Result<f64, BenchError> {
    let mut spec = spec.clone();
    spec.argv.extend(
        [
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
            "--mode",
            "framed",
            "--format",
            "json",
            "--timeout-ms",
            "60000",
            "--file",
            &file.to_string_lossy(),
            "--",
        ]
        .map(String::from),
    );
    let out = crate::process::run_to_end(&spec, CLIENT_LIMIT)
        .await
        .map_err(|source| BenchError::Spawn { command: spec.shell(), source })?;
    if !out.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").to_owned();
        return Err(BenchError::Client { status: out.status_text(), last });
    }
    Ok(out.duration.as_secs_f64())
}

/// Writes [`FILE_BYTES`] deterministic bytes to `path`, unless a file of that length is there (it
/// can only hold the same bytes).
pub(super) fn write_file(path: &Path) -> Result<(), BenchError> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == FILE_BYTES as u64) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(BenchError::create(dir))?;
    }
    let bytes: Vec<u8> = (0..FILE_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(path, bytes).map_err(BenchError::create(path))
}
