//! What `interop bench` reports: the `interop-bench/1` JSON schema (docs/BENCH.md) and the table.

use super::Load;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The JSON report's `schema`.
pub const SCHEMA: &str = "interop-bench/1";

/// The server every ratio is to.
pub const REFERENCE: &str = "rust-server";

/// A whole bench run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Seconds each measurement ran.
    pub secs: f64,
    /// Measured repetitions per figure (after one warm-up).
    pub reps: u32,
    /// CPU-seconds the load generator (this process) spent measuring, warm-ups included.
    pub generator_cpu_s: f64,
    /// What this machine can do at best, for scale; `null` when the `ceiling` load was not run.
    pub ceiling: Option<Ceiling>,
    /// Every server measured, in manifest order.
    pub servers: Vec<ServerFigures>,
    /// Every client's time to send one large file to the reference server.
    pub clients: Vec<ClientFigure>,
}

/// The machine's ceilings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    /// iperf3 over loopback, one stream, megabytes (10^6 bytes) per second; `null` when iperf3 is
    /// not installed (or failed: see `iperf3_error`).
    pub iperf3_mb_s: Option<f64>,
    /// Why there is no iperf3 figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iperf3_error: Option<String>,
    /// SHA-256 on one core, megabytes per second: what a server that hashes every message can
    /// reach on one connection at most.
    pub sha256_mb_s: f64,
}

/// One client's figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientFigure {
    /// The client's name in the manifest.
    pub name: String,
    /// Wall seconds, process start to exit, to send a 64 MiB file as one framed message and have
    /// it acknowledged (median); `null` if it failed.
    pub send_64mib_s: Option<f64>,
    /// Why it has no figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One server's figures: each the median of the repetitions; `null` when not measured or failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerFigures {
    /// The server's name in the manifest.
    pub name: String,
    /// `stream`: payload megabytes (10^6 bytes) acknowledged per second.
    pub stream_mb_s: Option<f64>,
    /// `small`: messages acknowledged per second.
    pub small_msgs_s: Option<f64>,
    /// `raw`: connections served per second.
    pub raw_conns_s: Option<f64>,
    /// `idle`: connections held open.
    pub idle_conns: Option<usize>,
    /// `idle`: the server's resident memory with them open, in MiB.
    pub idle_rss_mib: Option<f64>,
    /// `idle`: a fresh round trip's median time with them open, in milliseconds.
    pub idle_p50_ms: Option<f64>,
    /// `idle`: a fresh round trip's 99th percentile with them open, in milliseconds.
    pub idle_p99_ms: Option<f64>,
    /// CPU-seconds the server spent in one `stream` measurement (median).
    pub stream_cpu_s: Option<f64>,
    /// CPU-seconds the server spent in one `small` measurement (median).
    pub small_cpu_s: Option<f64>,
    /// CPU-seconds the server spent in one `raw` measurement (median).
    pub raw_cpu_s: Option<f64>,
    /// CPU-seconds the server spent in the measured runs of all loads (medians summed).
    pub cpu_s: f64,
    /// Why a load has no figure, by load name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

/// What one `idle` measurement found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdleFigure {
    /// Connections held open.
    pub connections: usize,
    /// The server's resident memory with them open, in MiB.
    pub rss_mib: f64,
    /// Median fresh round trip, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile fresh round trip, in milliseconds.
    pub p99_ms: f64,
}

/// One load's figure and the server's CPU-seconds for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadFigure {
    /// The figure (MB/s, messages/s or connections/s).
    pub value: f64,
    /// The server's CPU-seconds in one measurement.
    pub cpu_s: f64,
}

impl ClientFigure {
    /// No figure yet.
    pub fn new(name: &str) -> ClientFigure {
        ClientFigure { name: name.into(), send_64mib_s: None, error: None }
    }
}

impl ServerFigures {
    /// No figures yet.
    pub fn new(name: &str) -> ServerFigures {
        ServerFigures {
            name: name.into(),
            stream_mb_s: None,
            small_msgs_s: None,
            raw_conns_s: None,
            idle_conns: None,
            idle_rss_mib: None,
            idle_p50_ms: None,
            idle_p99_ms: None,
            stream_cpu_s: None,
            small_cpu_s: None,
            raw_cpu_s: None,
            cpu_s: 0.0,
            errors: BTreeMap::new(),
        }
    }

    /// Records a throughput load's figure (not `idle`'s: see [`set_idle`](Self::set_idle)).
    pub fn set(&mut self, load: Load, figure: LoadFigure) {
        let (value, cpu) = match load {
            Load::Stream => (&mut self.stream_mb_s, &mut self.stream_cpu_s),
            Load::Small => (&mut self.small_msgs_s, &mut self.small_cpu_s),
            Load::Raw => (&mut self.raw_conns_s, &mut self.raw_cpu_s),
            Load::Idle | Load::Clients | Load::Ceiling => return,
        };
        *value = Some(figure.value);
        *cpu = Some(figure.cpu_s);
        self.cpu_s += figure.cpu_s;
    }

    /// Records the `idle` figures.
    pub fn set_idle(&mut self, idle: IdleFigure) {
        self.idle_conns = Some(idle.connections);
        self.idle_rss_mib = Some(idle.rss_mib);
        self.idle_p50_ms = Some(idle.p50_ms);
        self.idle_p99_ms = Some(idle.p99_ms);
    }

    /// Records why `load` has no figure (the first reason only).
    pub fn fail(&mut self, load: Load, why: String) {
        self.errors.entry(load.name().into()).or_insert(why);
    }

    /// Why `load` has no figure, if it failed.
    pub fn error(&self, load: Load) -> Option<&str> {
        self.errors.get(load.name()).map(String::as_str)
    }

    /// `load`'s figure (for `idle`, the memory).
    pub fn value(&self, load: Load) -> Option<f64> {
        match load {
            Load::Stream => self.stream_mb_s,
            Load::Small => self.small_msgs_s,
            Load::Raw => self.raw_conns_s,
            Load::Idle => self.idle_rss_mib,
            Load::Clients | Load::Ceiling => None,
        }
    }
}

/// The table: one row per server, one column per load of `loads` that has one, each figure with
/// its ratio to [`REFERENCE`], then every error, one line each.
pub fn table(report: &BenchReport, loads: &[Load]) -> String {
    let loads: Vec<Load> = loads.iter().copied().filter(|l| l.is_column()).collect();
    let reference = report.servers.iter().find(|s| s.name == REFERENCE);
    let mut out = String::new();
    // Only the clients or the ceiling measured: no server table.
    if !loads.is_empty() {
        let width = report.servers.iter().map(|s| s.name.len()).max().unwrap_or(6).max(6);
        let _ = write!(out, "{:<width$}", "server");
        for load in &loads {
            let _ = write!(out, "  {:>24}", heading(*load));
        }
        let _ = writeln!(out, "  {:>8}", "cpu s");
        for server in &report.servers {
            let _ = write!(out, "{:<width$}", server.name);
            for &load in &loads {
                let cell = match (server.value(load), reference.and_then(|r| r.value(load))) {
                    (Some(mib), _) if load == Load::Idle => {
                        format!("{mib:.0} MiB, p99 {:.1} ms", server.idle_p99_ms.unwrap_or_default())
                    }
                    (Some(value), Some(base)) if base > 0.0 => {
                        format!("{} ({:.2}×)", amount(value), value / base)
                    }
                    (Some(value), _) => amount(value),
                    (None, _) if server.error(load).is_some() => "failed".into(),
                    (None, _) => "-".into(),
                };
                let _ = write!(out, "  {cell:>24}");
            }
            let _ = writeln!(out, "  {:>8.2}", server.cpu_s);
        }
    }
    let _ = writeln!(
        out,
        "median of {} × {:.1} s per figure; ratios to {REFERENCE}; load generator: {:.1} CPU-s",
        report.reps, report.secs, report.generator_cpu_s
    );
    if let Some(ceiling) = &report.ceiling {
        let iperf3 = match (&ceiling.iperf3_mb_s, &ceiling.iperf3_error) {
            (Some(mb_s), _) => format!("iperf3 {} MB/s", amount(*mb_s)),
            (None, Some(why)) => format!("iperf3: {why}"),
            (None, None) => "iperf3 not run".into(),
        };
        let _ = writeln!(out, "ceiling: {iperf3}; SHA-256 on one core {} MB/s", amount(ceiling.sha256_mb_s));
        let best = report.servers.iter().filter_map(|s| s.stream_mb_s).reduce(f64::max);
        if let Some(best) = best.filter(|_| ceiling.sha256_mb_s > 0.0) {
            let _ = writeln!(
                out,
                "best stream: {:.2}× SHA-256{}",
                best / ceiling.sha256_mb_s,
                ceiling.iperf3_mb_s.map_or(String::new(), |i| format!(", {:.2}× iperf3", best / i)),
            );
        }
    }
    for client in &report.clients {
        match (client.send_64mib_s, &client.error) {
            (Some(secs), _) => {
                let _ = writeln!(out, "client {:<8} sends 64 MiB in {secs:.2} s", client.name);
            }
            (None, why) => {
                let why = why.as_deref().unwrap_or("no figure");
                let _ = writeln!(out, "client {:<8} failed: {why}", client.name);
            }
        }
    }
    for server in &report.servers {
        for (load, why) in &server.errors {
            let _ = writeln!(out, "{} {load} failed: {why}", server.name);
        }
    }
    out
}

fn heading(load: Load) -> &'static str {
    match load {
        Load::Stream => "stream MB/s",
        Load::Small => "small msgs/s",
        Load::Raw => "raw conns/s",
        Load::Idle => "idle memory, round trip",
        Load::Clients | Load::Ceiling => "",
    }
}

/// A figure with three significant digits at most, grouped: `842`, `34.5k`, `1.85k`.
pub(crate) fn amount(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.1}k", value / 1000.0)
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A report with a fast server, a slow one, one that failed a load, a client that failed and
    /// the ceilings.
    pub(crate) fn sample() -> BenchReport {
        let mut rust = ServerFigures::new(REFERENCE);
        rust.set(Load::Small, LoadFigure { value: 107_231.0, cpu_s: 3.6 });
        rust.set(Load::Raw, LoadFigure { value: 30_071.9, cpu_s: 3.1 });
        rust.set_idle(IdleFigure { connections: 10_000, rss_mib: 28.8, p50_ms: 0.1, p99_ms: 0.2 });
        let mut python = ServerFigures::new("python-server");
        python.set(Load::Small, LoadFigure { value: 16_339.8, cpu_s: 3.0 });
        python.set(Load::Raw, LoadFigure { value: 5528.8, cpu_s: 3.0 });
        python.set_idle(IdleFigure { connections: 10_000, rss_mib: 104.4, p50_ms: 0.4, p99_ms: 0.9 });
        let mut tutorial = ServerFigures::new("tutorial-<server>");
        tutorial.set(Load::Raw, LoadFigure { value: 19_828.0, cpu_s: 2.9 });
        tutorial.fail(Load::Small, "no end within 13s".into());
        BenchReport {
            schema: SCHEMA.into(),
            secs: 3.0,
            reps: 3,
            generator_cpu_s: 94.0,
            ceiling: Some(Ceiling {
                iperf3_mb_s: None,
                iperf3_error: Some("not installed".into()),
                sha256_mb_s: 1429.0,
            }),
            servers: vec![rust, python, tutorial],
            clients: vec![
                ClientFigure { send_64mib_s: Some(0.31), ..ClientFigure::new("rust") },
                ClientFigure { error: Some("exit code 4: timed out".into()), ..ClientFigure::new("java") },
            ],
        }
    }

    #[test]
    fn the_table_shows_ratios_failures_ceilings_and_clients() {
        let loads = [Load::Small, Load::Raw, Load::Idle, Load::Clients, Load::Ceiling];
        insta::assert_snapshot!(table(&sample(), &loads));
    }

    #[test]
    fn amounts_keep_three_significant_digits() {
        assert_eq!(amount(107_231.0), "107.2k");
        assert_eq!(amount(5528.8), "5529");
        assert_eq!(amount(28.84), "28.8");
    }
}
