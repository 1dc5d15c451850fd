//! `interop bench`: every server of the manifest measured on the same loads, side by side, by a
//! load generator in this crate ([`load`]). Documented in docs/BENCH.md.
//!
//! The method: every server is started once per mode it is measured in (its log going to a file,
//! as a real deployment's would), warmed up with each load, then measured in interleaved
//! repetitions (each repetition runs every load against every server, starting with a different
//! server each time), so that a noisy moment of a shared machine lands on all of them alike. Each
//! figure is the median of the repetitions, next to the server's and the generator's CPU-seconds.
//! [`fn@bench`] reports progress as [`BenchEvent`]s and returns a [`BenchReport`]; it never prints.

pub mod html;
pub mod load;
pub mod report;

use crate::manifest::Implementation;
use crate::process::{CommandSpec, GroupChild};
use crate::runner::timeouts::{SERVER_START_TIMEOUT, SERVER_STOP_TIMEOUT};
use interop_wire::Mode;
use interop_wire::json::LISTENING_PREFIX;
use load::{LoadError, Tally};
use nix::sys::signal::Signal;
use report::{BenchReport, Ceiling, ClientFigure, IdleFigure, LoadFigure, SCHEMA, ServerFigures};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A load of docs/BENCH.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Load {
    /// One framed connection, 1 MiB frames: MB/s.
    Stream,
    /// 100 framed connections, 64-byte messages, stop-and-wait: messages/s.
    Small,
    /// Raw connections of one 16-byte message each, 50 at once: connections/s.
    Raw,
    /// 10,000 idle framed connections: the server's memory, and fresh round trips' latency.
    Idle,
    /// Each client of the manifest sends a 64 MiB file to rust-server: seconds.
    Clients,
    /// iperf3 over loopback, and SHA-256 on one core: the machine's ceilings.
    Ceiling,
}

impl Load {
    /// Every load, in report order.
    pub const ALL: [Load; 6] =
        [Load::Stream, Load::Small, Load::Raw, Load::Idle, Load::Clients, Load::Ceiling];

    /// The loads measured as throughput, all in one server process per mode.
    pub const THROUGHPUT: [Load; 3] = [Load::Stream, Load::Small, Load::Raw];

    /// The mode the server runs in for it.
    pub fn mode(self) -> Mode {
        match self {
            Load::Stream | Load::Small | Load::Idle | Load::Clients | Load::Ceiling => Mode::Framed,
            Load::Raw => Mode::Raw,
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Load::Stream => "stream",
            Load::Small => "small",
            Load::Raw => "raw",
            Load::Idle => "idle",
            Load::Clients => "clients",
            Load::Ceiling => "ceiling",
        }
    }

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

/// How to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// How long each measurement runs.
    pub time: Duration,
    /// Measured repetitions (the figure is their median), after one warm-up.
    pub reps: u32,
    /// The loads to run.
    pub loads: Vec<Load>,
    /// Where the servers' logs go, one file per server and mode.
    pub log_dir: PathBuf,
    /// Connections the `idle` measurement holds open (0: no `idle` measurement).
    pub idle_connections: usize,
}

/// Fresh round trips the `idle` measurement times.
pub const IDLE_TRIES: usize = 200;

/// How long any one thing a load waits for may take: a connection, a reply.
const PATIENCE: Duration = Duration::from_secs(10);

/// The connection limit every server is started with: above the `idle` connections.
const MAX_CONNECTIONS: usize = 12_000;

/// What [`bench()`] tells of its progress.
#[derive(Clone, Debug)]
pub enum BenchEvent {
    /// This many measurements (warm-ups included) will be taken.
    Planned(u64),
    /// One was taken: what, e.g. `warm-up rust-server stream`.
    Measured(String),
}

/// A server as the bench runs it: started once per mode, its log in a file.
struct Target {
    name: String,
    child: GroupChild,
    addr: SocketAddr,
}

/// Measures every server in `servers` (name and command, as for the matrix or its bench
/// variant) with every load in `options`.
pub async fn bench(
    servers: &[(String, CommandSpec)],
    options: &BenchOptions,
    on: &(dyn Fn(BenchEvent) + Sync),
) -> BenchReport {
    let modes: Vec<Mode> = [Mode::Framed, Mode::Raw]
        .into_iter()
        .filter(|m| options.loads.iter().any(|l| l.mode() == *m))
        .collect();
    let mut figures: Vec<ServerFigures> = servers.iter().map(|(name, _)| ServerFigures::new(name)).collect();
    let mut targets: Vec<(usize, Mode, Result<Target, String>)> = Vec::new();
    for (index, (name, spec)) in servers.iter().enumerate() {
        for &mode in &modes {
            let log = options.log_dir.join(format!("{name}-{}.log", mode.as_str()));
            targets.push((index, mode, start(name, spec, mode, &log, &[]).await));
        }
    }
    let idle_runs = u64::from(options.idle_connections > 0) * u64::from(options.reps);
    let runs =
        (options.loads.len() as u64 * (1 + u64::from(options.reps)) + idle_runs) * servers.len() as u64;
    on(BenchEvent::Planned(runs));
    let generator_started = cpu_of_self();
    let mut samples: Vec<Vec<Vec<(f64, f64)>>> = vec![vec![Vec::new(); options.loads.len()]; servers.len()];
    for rep in 0..=options.reps {
        let warm_up = rep == 0;
        for (l, &load) in options.loads.iter().enumerate() {
            for turn in 0..servers.len() {
                // Each repetition starts with another server.
                let s = (turn + rep as usize) % servers.len();
                let target = targets.iter().find(|(i, m, _)| *i == s && *m == load.mode());
                let outcome = match target.map(|(_, _, t)| t) {
                    // Failed once, it has no figure: not measured again.
                    _ if figures[s].error(load).is_some() => Err(String::new()),
                    Some(Ok(target)) => measure(target, load, options.time).await,
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("not started".into()),
                };
                match outcome {
                    Ok(sample) if !warm_up => samples[s][l].push(sample),
                    Ok(_) => {}
                    Err(why) => figures[s].fail(load, why),
                }
                let what =
                    format!("{}{} {}", if warm_up { "warm-up " } else { "" }, servers[s].0, load.name());
                on(BenchEvent::Measured(what));
            }
        }
    }
    for (s, figure) in figures.iter_mut().enumerate() {
        for (l, &load) in options.loads.iter().enumerate() {
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
    if options.idle_connections > 0 {
        idle_all(servers, options, &mut figures, on).await;
    }
    let generator_cpu_s = cpu_of_self() - generator_started;
    BenchReport {
        schema: SCHEMA.into(),
        secs: options.time.as_secs_f64(),
        reps: options.reps,
        generator_cpu_s,
        ceiling: None,
        servers: figures,
        clients: Vec::new(),
    }
}

/// The `clients` measurement: each of `clients` (name and command, to which the protocol's
/// arguments are appended) sends `file` as one framed message to `server` (started for it), in
/// interleaved repetitions; the figure is the median wall time.
pub async fn clients(
    server: &(String, CommandSpec),
    clients: &[(String, CommandSpec)],
    file: &Path,
    options: &BenchOptions,
    on: &(dyn Fn(BenchEvent) + Sync),
) -> Vec<ClientFigure> {
    let mut figures: Vec<ClientFigure> = clients
        .iter()
        .map(|(name, _)| ClientFigure { name: name.clone(), send_64mib_s: None, error: None })
        .collect();
    let log = options.log_dir.join(format!("{}-clients.log", server.0));
    let max = (file_len(file) + 1).to_string();
    let target = match start(&server.0, &server.1, Mode::Framed, &log, &["--max-message-bytes", &max]).await {
        Ok(target) => target,
        Err(why) => {
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
                    Err(why) => figures[c].error = Some(format!("{name}: {why}")),
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
async fn send_file(spec: &CommandSpec, addr: SocketAddr, file: &Path) -> Result<f64, String> {
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
        .map_err(|err| format!("cannot start: {err}"))?;
    if !out.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{}: {}", out.status_text(), stderr.lines().last().unwrap_or("")));
    }
    Ok(out.duration.as_secs_f64())
}

fn file_len(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

/// How long a client may take to send the file.
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// The machine's ceilings: SHA-256 on one core, and iperf3 over loopback for `time` when it is
/// installed.
pub async fn ceiling(time: Duration) -> Ceiling {
    let sha256_mb_s = tokio::task::spawn_blocking(sha256_speed).await.unwrap_or_default();
    let (iperf3_mb_s, iperf3_error) = match iperf3(time).await {
        Ok(mb_s) => (Some(mb_s), None),
        Err(why) => (None, Some(why)),
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
async fn iperf3(time: Duration) -> Result<f64, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|err| format!("no free port: {err}"))?
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
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err("not installed (apt-get install iperf3)".into());
        }
        Err(err) => return Err(format!("cannot start: {err}")),
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
        let out =
            crate::process::run_to_end(&client, time + PATIENCE).await.map_err(|err| err.to_string())?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(bits) = json["end"]["sum_received"]["bits_per_second"].as_f64() {
            crate::process::wait_or_kill(&mut server, PATIENCE).await;
            return Ok(bits / 8.0 / 1e6);
        }
        last = json["error"].as_str().unwrap_or("no result").to_owned();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("iperf3 failed: {last}"))
}

/// The `idle` measurement of every server, in interleaved repetitions, each against a server
/// started for it (so that what earlier loads left in its memory does not count).
async fn idle_all(
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
                    Err(why) => figures[s].fail(Load::Idle, why),
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
) -> Result<IdleFigure, String> {
    let target = start(name, spec, Mode::Framed, log, &[]).await?;
    let rss = std::sync::Mutex::new(Err(String::new()));
    let held = || async {
        // Accepted, not only connected: the server has logged each of them.
        let accepted = wait_for_lines(log, "\"event\":\"connected\"", connections, PATIENCE).await;
        *rss.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = match accepted {
            Ok(()) => Ok(rss_of_group(target.child.pgid())),
            Err(seen) => Err(format!("{name} accepted {seen} of {connections} connections")),
        };
    };
    let latencies = load::idle(target.addr, connections, IDLE_TRIES, 64, PATIENCE, held).await;
    stop(target).await;
    let latencies = latencies.map_err(|err| format!("{name}: {err}"))?;
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

/// One measurement: the figure, and the CPU-seconds the server's process group spent on it.
async fn measure(target: &Target, load: Load, time: Duration) -> Result<(f64, f64), String> {
    let before = cpu_of_group(target.child.pgid());
    // Bounded: a server that stops answering ends the measurement, not the bench.
    let limit = time + PATIENCE;
    let tally = tokio::time::timeout(limit, load.run(target.addr, time))
        .await
        .map_err(|_| format!("{}: no end within {limit:?}", target.name))?
        .map_err(|err| format!("{}: {err}", target.name))?;
    let cpu = cpu_of_group(target.child.pgid()) - before;
    Ok((load.figure(&tally), cpu))
}

/// Starts `spec` in `mode` on a free port with `extra` arguments, its stdout going to `log`, and
/// reads its address from the log's first line.
async fn start(
    name: &str,
    spec: &CommandSpec,
    mode: Mode,
    log: &Path,
    extra: &[&str],
) -> Result<Target, String> {
    let mut spec = spec.clone();
    spec.argv.extend(extra.iter().map(|a| a.to_string()));
    spec.argv.extend(
        ["--host", "127.0.0.1", "--port", "0", "--mode", mode.as_str(), "--format", "json"].map(String::from),
    );
    spec.argv.extend(["--max-connections".into(), MAX_CONNECTIONS.to_string()]);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    let file = std::fs::File::create(log).map_err(|err| format!("cannot create {}: {err}", log.display()))?;
    let mut child =
        spec.spawn_to_file(file).map_err(|err| format!("cannot start `{}`: {err}", spec.shell()))?;
    // Errors go to stderr; a pipe nobody read would stall the server once full.
    drop(crate::process::drain(child.take_stderr()));
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
            let addr = line.strip_prefix(LISTENING_PREFIX).and_then(|a| a.parse().ok());
            return match addr {
                Some(addr) => Ok(Target { name: name.into(), child, addr }),
                None => Err(format!("{name}'s first line is {line:?}, not `listening on <ip>:<port>`")),
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited before it listened ({status}); its log: {}", log.display()));
        }
        if started.elapsed() > SERVER_START_TIMEOUT {
            return Err(format!("{name} printed nothing for {SERVER_START_TIMEOUT:?}"));
        }
        // The log is a file, not a pipe: nothing to wait on but time.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// SIGTERM, and SIGKILL if it is still there after its grace.
async fn stop(mut target: Target) {
    target.child.signal(Signal::SIGTERM);
    crate::process::wait_or_kill(&mut target.child, SERVER_STOP_TIMEOUT).await;
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// CPU-seconds (user and system) spent so far by every live process of the group `pgid`.
fn cpu_of_group(pgid: Option<i32>) -> f64 {
    let Some(pgid) = pgid else { return 0.0 };
    let Ok(all) = procfs::process::all_processes() else { return 0.0 };
    let ticks: u64 = all
        .filter_map(Result::ok)
        .filter_map(|p| p.stat().ok())
        .filter(|stat| stat.pgrp == pgid)
        .map(|stat| stat.utime + stat.stime)
        .sum();
    ticks as f64 / procfs::ticks_per_second() as f64
}

/// Resident memory, in MiB, of every live process of the group `pgid`.
fn rss_of_group(pgid: Option<i32>) -> f64 {
    let Some(pgid) = pgid else { return 0.0 };
    let Ok(all) = procfs::process::all_processes() else { return 0.0 };
    let kib: u64 = all
        .filter_map(Result::ok)
        .filter(|p| p.stat().is_ok_and(|stat| stat.pgrp == pgid))
        .filter_map(|p| p.status().ok().and_then(|status| status.vmrss))
        .sum();
    kib as f64 / 1024.0
}

/// CPU-seconds (user and system) this process (the load generator) has spent so far.
fn cpu_of_self() -> f64 {
    procfs::process::Process::myself()
        .and_then(|me| me.stat())
        .map_or(0.0, |stat| (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}

/// The command `interop bench` runs for `server`: its `bench.run` if it has one (a release
/// build), else its `run`.
pub fn bench_variant(server: &Implementation) -> Implementation {
    match &server.bench {
        Some(variant) => Implementation {
            name: format!("{}{BENCH_SUFFIX}", server.name),
            build: variant.build.clone(),
            run: variant.run.clone(),
            ..server.clone()
        },
        None => server.clone(),
    }
}

/// Appended to a server's name for its bench build (its stamp and `{out}` directory).
pub const BENCH_SUFFIX: &str = "@bench";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let latencies = load::Latencies { millis: (1..=200).map(f64::from).collect() };
        assert_eq!(latencies.quantile(0.5), 100.0);
        assert_eq!(latencies.quantile(0.99), 198.0);
        assert_eq!(load::Latencies::default().quantile(0.99), 0.0);
    }

    #[test]
    fn a_server_without_a_bench_entry_runs_as_in_the_matrix() {
        let manifest = crate::manifest::Manifest::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate::manifest::MANIFEST_FILE),
        )
        .unwrap();
        let rust = bench_variant(manifest.get("rust-server").unwrap());
        assert_eq!(rust.name, "rust-server@bench");
        assert!(rust.run.command[0].contains("/release/"), "{:?}", rust.run.command);
        let python = bench_variant(manifest.get("python-server").unwrap());
        assert_eq!(python.name, "python-server");
    }
}
