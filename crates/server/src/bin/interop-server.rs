//! `interop-server`: see `interop-server --help` and docs/PROTOCOL.md §5.

use anyhow::Context as _;
use clap::Parser as _;
use interop_server::cli::Args;
use interop_server::log::{Log, OutputError};
use interop_server::output::Printer;
use interop_server::server::{EXIT_OUTPUT, ServeError, bind_unix};
use interop_wire::Transport;
use std::io::{self, Write as _};
use std::process::ExitCode;
use tokio::net::{TcpListener, UdpSocket};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // The log could not be written: PROTOCOL.md §5 gives that its own exit code.
            if err.is::<OutputError>() { ExitCode::from(EXIT_OUTPUT) } else { ExitCode::FAILURE }
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Records are written by the tasks that log them, batched (interop_server::log): buffered,
    // and flushed once per batch.
    let out = io::BufWriter::with_capacity(64 * 1024, io::stdout());
    let printer = Printer::new(args.format, out, io::stderr());
    let printer = if args.transport == Transport::Udp { printer.hello_each_message() } else { printer };
    let log = Log::new(printer);
    let ending = log.clone();

    let served = runtime.block_on(async {
        // Before anything is bound, so before `listening on` is printed: whoever reads that line
        // may send SIGTERM at once, and it must find the handler in place, not the default action.
        let shutdown = shutdown_signal()?;
        let (config, address) = (args.config(), format!("{}:{}", args.host, args.port));
        match (args.transport, &args.path) {
            (Transport::Unix, Some(path)) => {
                let listener =
                    bind_unix(path).with_context(|| format!("cannot listen on {}", path.display()))?;
                let served = interop_server::run(listener, config, log, shutdown).await;
                // Leave no socket file behind.
                let _ = std::fs::remove_file(path);
                served.map_err(anyhow_of)?;
            }
            (Transport::Udp, _) => {
                let socket = UdpSocket::bind((args.host.as_str(), args.port))
                    .await
                    .with_context(|| format!("cannot bind udp {address}"))?;
                interop_server::udp::run(socket, config, log, shutdown).await.map_err(anyhow_of)?;
            }
            _ => {
                let listener = TcpListener::bind((args.host.as_str(), args.port))
                    .await
                    .with_context(|| format!("cannot listen on {address}"))?;
                interop_server::run(listener, config, log, shutdown).await.map_err(anyhow_of)?;
            }
        }
        anyhow::Ok(())
    });
    // Whatever is still queued is written now. A broken log is the root cause of whatever else
    // went wrong: report it first.
    ending.close()?;
    served?;
    let _ = io::stderr().flush();
    Ok(())
}

/// Keeps an [`OutputError`] findable by `main` (`anyhow::Error::is`).
fn anyhow_of(err: ServeError) -> anyhow::Error {
    match err {
        ServeError::Output(err) => err.into(),
        ServeError::Io(err) => err.into(),
    }
}

/// Installs the SIGINT and SIGTERM handlers now, and returns a future that completes on the first
/// of them. (Installed when called, not when first polled: see the caller.)
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
