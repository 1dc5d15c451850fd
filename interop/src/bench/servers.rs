//! The servers' measurements: the throughput loads (`stream`, `small`, `raw`) against one server
//! process per mode, and `idle` against a server started for each measurement. Also how the bench
//! starts and stops a server, which the `clients` load shares.

use super::load::{self, LoadError, Tally};
use super::report::{IdleFigure, LoadFigure, ServerFigures};
use super::usage::{cpu_of_group, rss_of_group};
use super::{BenchError, BenchEvent, BenchOptions, IDLE_TRIES, Load, MAX_CONNECTIONS, PATIENCE, median};
use crate::process::{CommandSpec, GroupChild};
use crate::runner::timeouts::{SERVER_START_TIMEOUT, SERVER_STOP_TIMEOUT};
use interop_wire::Mode;
use interop_wire::json::LISTENING_PREFIX;
use nix::sys::signal::Signal;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// A server as the bench runs it: started once per mode, its log in a file.
pub(super) struct Target {
    pub(super) child: GroupChild,
    pub(super) addr: SocketAddr,
}

impl Load {
    async fn run(self, addr: SocketAddr, time: Duration) -> Result<Tally, LoadError> {
        match self {
            Load::Stream => load::stream(addr, 1024 * 1024, 4, time).await,
            Load::Small => load::small(addr, 100, 64, time).await,
            Load::Raw => load::raw(addr, 50, 16, time).await,
            Load::Idle | Load::Clients | Load::Ceiling => {
                Err(LoadError::Task(format!("{} is measured on its own", self.name())))
            }
        }
    }

    /// The figure a tally gives: MB/s for `stream`, per second otherwise.
    fn figure(self, tally: &Tally) -> f64 {
        match self {
            Load::Stream => tally.mb_per_second(),
            _ => tally.per_second(),
        }
    }
}

/// Measures every server in `servers` with every throughput load of `options`, in interleaved
/// repetitions after one warm-up, and writes each figure (or why there is none) into `figures`,
/// which holds one entry per server, in the same order.
pub(super) async fn throughput(
    servers: &[(String, CommandSpec)],
    options: &BenchOptions,
    figures: &mut [ServerFigures],
    on: &(dyn Fn(BenchEvent) + Sync),
) {
    let loads = options.throughput_loads();
    let modes: Vec<Mode> =
        [Mode::Framed, Mode::Raw].into_iter().filter(|m| loads.iter().any(|l| l.mode() == *m)).collect();
    let mut targets: Vec<(usize, Mode, Result<Target, BenchError>)> = Vec::new();
    for (index, (name, spec)) in servers.iter().enumerate() {
        for &mode in &modes {
            let log = options.log_dir.join(format!("{name}-{}.log", mode.as_str()));
            targets.push((index, mode, start(name, spec, mode, &log, &[]).await));
        }
    }
    let mut samples: Vec<Vec<Vec<(f64, f64)>>> = vec![vec![Vec::new(); loads.len()]; servers.len()];
    for rep in 0..=options.reps {
        let warm_up = rep == 0;
        for (l, &load) in loads.iter().enumerate() {
            for turn in 0..servers.len() {
                // Each repetition starts with another server.
                let s = (turn + rep as usize) % servers.len();
                // Failed once, it has no figure: not measured again.
                if figures[s].error(load).is_none() {
                    let target = targets.iter().find(|(i, m, _)| *i == s && *m == load.mode());
                    let outcome = match target.map(|(_, _, t)| t) {
                        Some(Ok(target)) => {
                            measure(target, load, options.time).await.map_err(|e| e.to_string())
                        }
                        Some(Err(why)) => Err(why.to_string()),
                        None => Err(format!("no {} server was started", load.mode().as_str())),
                    };
                    match outcome {
                        Ok(sample) if !warm_up => samples[s][l].push(sample),
                        Ok(_) => {}
                        Err(why) => figures[s].fail(load, why),
                    }
                }
                let what =
                    format!("{}{} {}", if warm_up { "warm-up " } else { "" }, servers[s].0, load.name());
                on(BenchEvent::Measured(what));
            }
        }
    }
    for (s, figure) in figures.iter_mut().enumerate() {
        for (l, &load) in loads.iter().enumerate() {
            if figure.error(load).is_none() {
                let values: Vec<f64> = samples[s][l].iter().map(|(value, _)| *value).collect();
                let cpu: Vec<f64> = samples[s][l].iter().map(|(_, cpu)| *cpu).collect();
                figure.set(load, LoadFigure { value: median(&values), cpu_s: median(&cpu) });
            }
        }
    }
    for (_, _, target) in targets {
        if let Ok(target) = target {
            stop(target).await;
        }
    }
}

/// One measurement: the figure, and the CPU-seconds the server's process group spent on it.
async fn measure(target: &Target, load: Load, time: Duration) -> Result<(f64, f64), BenchError> {
    let before = cpu_of_group(target.child.pgid());
    // Bounded: a server that stops answering ends the measurement, not the bench.
    let limit = time + PATIENCE;
    let tally = tokio::time::timeout(limit, load.run(target.addr, time))
        .await
        .map_err(|_| BenchError::NoEnd { limit })??;
    let cpu = cpu_of_group(target.child.pgid()) - before;
    Ok((load.figure(&tally), cpu))
}

/// The `idle` measurement of every server, in interleaved repetitions, each against a server
/// started for it (so that what earlier loads left in its memory does not count).
pub(super) async fn idle(
    servers: &[(String, CommandSpec)],
    options: &BenchOptions,
    figures: &mut [ServerFigures],
    on: &(dyn Fn(BenchEvent) + Sync),
) {
    let mut samples: Vec<Vec<IdleFigure>> = vec![Vec::new(); servers.len()];
    for rep in 0..options.reps {
        for turn in 0..servers.len() {
            let s = (turn + rep as usize) % servers.len();
            let (name, spec) = &servers[s];
            if figures[s].error(Load::Idle).is_none() {
                let log = options.log_dir.join(format!("{name}-idle.log"));
                match idle_once(name, spec, &log, options.idle_connections).await {
                    Ok(sample) => samples[s].push(sample),
                    Err(why) => figures[s].fail(Load::Idle, why.to_string()),
                }
            }
            on(BenchEvent::Measured(format!("{name} idle")));
        }
    }
    for (figure, samples) in figures.iter_mut().zip(samples) {
        if figure.error(Load::Idle).is_none() && !samples.is_empty() {
            let pick = |f: fn(&IdleFigure) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
            figure.set_idle(IdleFigure {
                connections: options.idle_connections,
                rss_mib: pick(|s| s.rss_mib),
                p50_ms: pick(|s| s.p50_ms),
                p99_ms: pick(|s| s.p99_ms),
            });
        }
    }
}

/// One `idle` measurement: a server of its own, `connections` held, its memory once it has
/// accepted them all, then the fresh round trips.
async fn idle_once(
    name: &str,
    spec: &CommandSpec,
    log: &Path,
    connections: usize,
) -> Result<IdleFigure, BenchError> {
    let target = start(name, spec, Mode::Framed, log, &[]).await?;
    let rss = std::sync::Mutex::new(Err(BenchError::NotAccepted { seen: 0, wanted: connections }));
    let held = || async {
        // Accepted, not only connected: the server has logged each of them.
        let accepted = wait_for_lines(log, "\"event\":\"connected\"", connections, PATIENCE).await;
        *rss.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = accepted
            .map(|()| rss_of_group(target.child.pgid()))
            .map_err(|seen| BenchError::NotAccepted { seen, wanted: connections });
    };
    let latencies = load::idle(target.addr, connections, IDLE_TRIES, 64, PATIENCE, held).await;
    stop(target).await;
    let latencies = latencies?;
    let rss_mib = rss.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)?;
    Ok(IdleFigure { connections, rss_mib, p50_ms: latencies.quantile(0.5), p99_ms: latencies.quantile(0.99) })
}

/// Waits until `log` holds `count` lines containing `needle`, reading it again every 100 ms, for at
/// most `patience` without a new one; on giving up, how many it saw.
async fn wait_for_lines(log: &Path, needle: &str, count: usize, patience: Duration) -> Result<(), usize> {
    let mut seen = 0;
    let mut progress = Instant::now();
    loop {
        let now = std::fs::read_to_string(log).map_or(0, |text| text.matches(needle).count());
        if now >= count {
            return Ok(());
        }
        if now > seen {
            (seen, progress) = (now, Instant::now());
        } else if progress.elapsed() > patience {
            return Err(seen);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `spec` in `mode` on a free port with `extra` arguments, its stdout going to `log`, and
/// reads its address from the log's first line.
pub(super) async fn start(
    name: &str,
    spec: &CommandSpec,
    mode: Mode,
    log: &Path,
    extra: &[&str],
) -> Result<Target, BenchError> {
    let mut spec = spec.clone();
    spec.argv.extend(extra.iter().map(|a| a.to_string()));
    spec.argv.extend(
        ["--host", "127.0.0.1", "--port", "0", "--mode", mode.as_str(), "--format", "json"].map(String::from),
    );
    spec.argv.extend(["--max-connections".into(), MAX_CONNECTIONS.to_string()]);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(BenchError::create(dir))?;
    }
    let file = std::fs::File::create(log).map_err(BenchError::create(log))?;
    let mut child =
        spec.spawn_to_file(file).map_err(|source| BenchError::Spawn { command: spec.shell(), source })?;
    // Errors go to stderr; a pipe nobody read would stall the server once full.
    drop(crate::process::drain(child.take_stderr()));
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
            let addr = line.strip_prefix(LISTENING_PREFIX).and_then(|a| a.parse().ok());
            return match addr {
                Some(addr) => Ok(Target { child, addr }),
                None => Err(BenchError::NotListening { name: name.into(), line: line.into() }),
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BenchError::Exited { name: name.into(), status, log: log.to_owned() });
        }
        if started.elapsed() > SERVER_START_TIMEOUT {
            return Err(BenchError::Silent { name: name.into(), limit: SERVER_START_TIMEOUT });
        }
        // The log is a file, not a pipe: nothing to wait on but time.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// SIGTERM, and SIGKILL if it is still there after its grace.
pub(super) async fn stop(mut target: Target) {
    target.child.signal(Signal::SIGTERM);
    crate::process::wait_or_kill(&mut target.child, SERVER_STOP_TIMEOUT).await;
}
