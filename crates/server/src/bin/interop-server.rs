//! `interop-server`: see `interop-server --help` and docs/PROTOCOL.md §5.

use anyhow::Context as _;
use clap::Parser as _;
use interop_server::cli::Args;
use interop_server::output::Printer;
use interop_server::server::{bind_unix, run_udp};
use interop_wire::Transport;
use std::process::ExitCode;
use tokio::net::{TcpListener, UdpSocket};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (events, mut received) = tokio::sync::mpsc::channel(1024);

    // Printing happens on its own thread so a slow stdout never stalls the runtime's workers.
    let format = args.format;
    let udp = args.transport == Transport::Udp;
    let printer = std::thread::spawn(move || -> std::io::Result<()> {
        let printer = Printer::new(format, std::io::stdout(), std::io::stderr());
        let mut printer = if udp { printer.hello_each_message() } else { printer };
        while let Some(event) = received.blocking_recv() {
            printer.print(&event)?;
        }
        Ok(())
    });

    let served = runtime.block_on(async {
        // Before anything is bound, so before `listening on` is printed: whoever reads that line
        // may send SIGTERM at once, and it must find the handler in place, not the default action.
        let shutdown = shutdown_signal()?;
        let (config, address) = (args.config(), format!("{}:{}", args.host, args.port));
        match (args.transport, &args.path) {
            (Transport::Unix, Some(path)) => {
                let listener =
                    bind_unix(path).with_context(|| format!("cannot listen on {}", path.display()))?;
                let served = interop_server::run(listener, config, events, shutdown).await;
                // Leave no socket file behind.
                let _ = std::fs::remove_file(path);
                served?;
            }
            (Transport::Udp, _) => {
                let socket = UdpSocket::bind((args.host.as_str(), args.port))
                    .await
                    .with_context(|| format!("cannot bind udp {address}"))?;
                run_udp(socket, config, events, shutdown).await?;
            }
            _ => {
                let listener = TcpListener::bind((args.host.as_str(), args.port))
                    .await
                    .with_context(|| format!("cannot listen on {address}"))?;
                interop_server::run(listener, config, events, shutdown).await?;
            }
        }
        anyhow::Ok(())
    });
    // `events` was moved into `run` and is dropped by now, so the printer drains and ends.
    let printed = printer.join().map_err(|_| anyhow::anyhow!("printer thread panicked"))?;
    served?;
    match printed {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.context("writing output")?),
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
