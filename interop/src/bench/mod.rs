//! `interop bench`: every server of the manifest measured on the same loads, side by side, by a
//! load generator in this crate ([`load`]). Documented in docs/BENCH.md.
//!
//! The method: every server is started once per mode it is measured in (its log going to a file,
//! as a real deployment's would), warmed up with each load, then measured in interleaved
//! repetitions (each repetition runs every load against every server, starting with a different
//! server each time), so that a noisy moment of a shared machine lands on all of them alike. Each
//! figure is the median of the repetitions, next to the server's and the generator's CPU-seconds.
//! [`run`] reports progress as [`BenchEvent`]s and returns a [`BenchReport`]; it never prints.

pub mod ceiling;
pub mod clients;
pub mod html;
pub mod load;
pub mod report;
mod servers;
mod usage;

use crate::manifest::Implementation;
use crate::process::CommandSpec;
use interop_wire::Mode;
use report::{BenchReport, ClientFigure, SCHEMA, ServerFigures};
use std::path::PathBuf;
use std::time::Duration;

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

    /// Whether the table has a column for it.
    pub fn is_column(self) -> bool {
        matches!(self, Load::Stream | Load::Small | Load::Raw | Load::Idle)
    }
}

/// How to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// How long each measurement runs.
    pub time: Duration,
    /// Measured repetitions (the figure is their median), after one warm-up.
    pub reps: u32,
    /// The loads to run, in [`Load::ALL`]'s order.
    pub loads: Vec<Load>,
    /// Where the servers' logs go, one file per server and mode, and the file the clients send.
    pub log_dir: PathBuf,
    /// Connections the `idle` measurement holds open.
    pub idle_connections: usize,
}

impl BenchOptions {
    /// The loads measured as throughput, all in one server process per mode.
    fn throughput_loads(&self) -> Vec<Load> {
        self.loads.iter().copied().filter(|l| Load::THROUGHPUT.contains(l)).collect()
    }

    /// How many measurements (warm-ups included) a run of `servers` servers and `clients` clients
    /// takes.
    fn planned(&self, servers: usize, clients: usize) -> u64 {
        let reps = u64::from(self.reps);
        let idle = u64::from(self.loads.contains(&Load::Idle)) * reps;
        let per_server = self.throughput_loads().len() as u64 * (1 + reps) + idle;
        let clients = u64::from(self.loads.contains(&Load::Clients)) * clients as u64 * reps;
        per_server * servers as u64 + clients
    }
}

/// Fresh round trips the `idle` measurement times.
pub const IDLE_TRIES: usize = 200;

/// How long any one thing a load waits for may take: a connection, a reply.
const PATIENCE: Duration = Duration::from_secs(10);

/// The connection limit every server is started with: above the `idle` connections.
const MAX_CONNECTIONS: usize = 12_000;

/// What [`run`] tells of its progress.
#[derive(Clone, Debug)]
pub enum BenchEvent {
    /// This many measurements (warm-ups included) will be taken.
    Planned(u64),
    /// One was taken: what, e.g. `warm-up rust-server stream`.
    Measured(String),
}

/// Why the bench has no figure for a server, a load or a client. The report keeps its text.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Not built, or its toolchain is missing: what preparing it said.
    #[error("{0}")]
    NotReady(String),
    /// A file or directory could not be created or written.
    #[error("cannot create {}: {source}", path.display())]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A process could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command, as a shell line.
        command: String,
        /// The error.
        source: std::io::Error,
    },
    /// The server's first line was not its address.
    #[error("{name}'s first line is {line:?}, not `listening on <ip>:<port>`")]
    NotListening {
        /// The server.
        name: String,
        /// What it printed.
        line: String,
    },
    /// The server exited before it printed its address.
    #[error("{name} exited before it listened ({status}); its log: {}", log.display())]
    Exited {
        /// The server.
        name: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// Its log.
        log: PathBuf,
    },
    /// The server printed nothing in time.
    #[error("{name} printed nothing for {limit:?}")]
    Silent {
        /// The server.
        name: String,
        /// How long it was given.
        limit: Duration,
    },
    /// A measurement did not end in time.
    #[error("no end within {limit:?}")]
    NoEnd {
        /// How long it was given.
        limit: Duration,
    },
    /// The load found a wrong reply, a socket error or a timeout.
    #[error(transparent)]
    Load(#[from] load::LoadError),
    /// The server did not log every idle connection as accepted.
    #[error("accepted {seen} of {wanted} connections")]
    NotAccepted {
        /// Connections it logged.
        seen: usize,
        /// Connections held open.
        wanted: usize,
    },
    /// A client exited with a failure.
    #[error("{status}: {last}")]
    Client {
        /// How it exited.
        status: String,
        /// The last line of its stderr.
        last: String,
    },
    /// No free port for iperf3.
    #[error("no free port: {0}")]
    NoPort(std::io::Error),
    /// iperf3 is not installed.
    #[error("not installed (apt-get install iperf3)")]
    NoIperf3,
    /// iperf3 gave no result.
    #[error("iperf3 failed: {0}")]
    Iperf3(String),
}

impl BenchError {
    /// The error for failing to create `path`, for `map_err`.
    fn create(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BenchError + use<> {
        let path = path.to_owned();
        move |source| BenchError::Create { path, source }
    }
}

/// A server or a client to measure: its name in reports, and its command as the bench runs it, or
/// why it cannot run.
#[derive(Debug)]
pub struct Subject {
    /// Its name in the manifest.
    pub name: String,
    /// Its command (the protocol's arguments are appended), or why there is none.
    pub command: Result<CommandSpec, BenchError>,
}

impl Subject {
    fn runnable(&self) -> Option<(String, CommandSpec)> {
        self.command.as_ref().ok().map(|command| (self.name.clone(), command.clone()))
    }
}

/// Everything a bench run measures.
#[derive(Debug, Default)]
pub struct Subjects {
    /// The servers, in manifest order.
    pub servers: Vec<Subject>,
    /// The server the clients send to (the reference server's bench build).
    pub reference: Option<Subject>,
    /// The clients, in manifest order.
    pub clients: Vec<Subject>,
}

/// Measures `subjects` with `options`: every server with the throughput loads and `idle`, every
/// client sending to the reference server, and the ceilings, as `options.loads` asks. A subject
/// that cannot run, and a load that fails, has its reason in the report instead of a figure.
/// Reports progress to `on`; never prints.
pub async fn run(
    subjects: &Subjects,
    options: &BenchOptions,
    on: &(dyn Fn(BenchEvent) + Sync),
) -> BenchReport {
    let servers: Vec<_> = subjects.servers.iter().filter_map(Subject::runnable).collect();
    let clients = if options.loads.contains(&Load::Clients) { subjects.clients.as_slice() } else { &[] };
    // Clients run only where the reference server can.
    let sending = match &subjects.reference {
        Some(Subject { command: Ok(_), .. }) => clients.iter().filter(|c| c.command.is_ok()).count(),
        _ => 0,
    };
    on(BenchEvent::Planned(options.planned(servers.len(), sending)));
    let generator_started = usage::cpu_of_self();
    let mut figures: Vec<ServerFigures> = servers.iter().map(|(name, _)| ServerFigures::new(name)).collect();
    servers::throughput(&servers, options, &mut figures, on).await;
    if options.loads.contains(&Load::Idle) {
        servers::idle(&servers, options, &mut figures, on).await;
    }
    let generator_cpu_s = usage::cpu_of_self() - generator_started;
    // Every server in manifest order, those that could not run with why.
    let mut measured = figures.into_iter();
    let figures = subjects
        .servers
        .iter()
        .filter_map(|subject| match &subject.command {
            Ok(_) => measured.next(),
            Err(why) => {
                let mut figures = ServerFigures::new(&subject.name);
                for load in options.loads.iter().filter(|l| l.is_column()) {
                    figures.fail(*load, why.to_string());
                }
                Some(figures)
            }
        })
        .collect();
    let clients = match (clients, &subjects.reference) {
        ([], _) | (_, None) => Vec::new(),
        (clients, Some(reference)) => measure_clients(reference, clients, options, on).await,
    };
    let ceiling = match options.loads.contains(&Load::Ceiling) {
        true => Some(ceiling::ceiling(options.time).await),
        false => None,
    };
    BenchReport {
        schema: SCHEMA.into(),
        secs: options.time.as_secs_f64(),
        reps: options.reps,
        generator_cpu_s,
        ceiling,
        servers: figures,
        clients,
    }
}

/// The `clients` load: every client that can run sends the file to `reference`; the others, and
/// all of them if `reference` cannot run or the file cannot be written, have why instead.
async fn measure_clients(
    reference: &Subject,
    clients: &[Subject],
    options: &BenchOptions,
    on: &(dyn Fn(BenchEvent) + Sync),
) -> Vec<ClientFigure> {
    let file = options.log_dir.join("64mib.bin");
    let ready = clients::write_file(&file)
        .and_then(|()| reference.command.as_ref().map_err(|why| BenchError::NotReady(why.to_string())));
    let runnable: Vec<_> = clients.iter().filter_map(Subject::runnable).collect();
    let mut figures = match ready {
        Ok(command) => {
            let server = (reference.name.clone(), command.clone());
            clients::clients(&server, &runnable, &file, options, on).await
        }
        Err(why) => runnable
            .iter()
            .map(|(name, _)| ClientFigure { error: Some(why.to_string()), ..ClientFigure::new(name) })
            .collect(),
    };
    for client in clients {
        if let Err(why) = &client.command {
            figures.push(ClientFigure { error: Some(why.to_string()), ..ClientFigure::new(&client.name) });
        }
    }
    figures
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

    fn options(loads: &[Load]) -> BenchOptions {
        BenchOptions {
            time: Duration::from_millis(10),
            reps: 3,
            loads: loads.to_vec(),
            log_dir: std::env::temp_dir(),
            idle_connections: 10,
        }
    }

    #[test]
    fn the_plan_counts_warm_ups_repetitions_idle_and_clients() {
        // Per server: 3 throughput loads × (1 warm-up + 3), and 3 idle; then 3 per client.
        assert_eq!(options(&Load::ALL).planned(2, 5), 2 * (3 * 4 + 3) + 5 * 3);
        assert_eq!(options(&[Load::Raw]).planned(2, 5), 2 * 4);
        assert_eq!(options(&[Load::Clients]).planned(2, 5), 5 * 3);
    }

    #[tokio::test]
    async fn a_subject_that_cannot_run_keeps_its_place_with_its_reason() {
        let broken = |name: &str| Subject {
            name: name.into(),
            command: Err(BenchError::NotReady(format!("{name}: build failed"))),
        };
        let subjects = Subjects {
            servers: vec![broken("a-server")],
            reference: Some(broken("rust-server")),
            clients: vec![broken("a-client")],
        };
        let events = std::sync::Mutex::new(Vec::new());
        let on = |event: BenchEvent| events.lock().unwrap().push(format!("{event:?}"));
        let report = run(&subjects, &options(&[Load::Stream, Load::Idle, Load::Clients]), &on).await;
        assert_eq!(report.schema, SCHEMA);
        assert_eq!(report.ceiling, None);
        let [server] = &report.servers[..] else { panic!("{:?}", report.servers) };
        assert_eq!(server.name, "a-server");
        assert_eq!(server.error(Load::Stream), Some("a-server: build failed"));
        assert_eq!(server.error(Load::Idle), Some("a-server: build failed"));
        assert_eq!((server.stream_mb_s, server.idle_rss_mib), (None, None));
        let [client] = &report.clients[..] else { panic!("{:?}", report.clients) };
        assert_eq!(
            (client.name.as_str(), client.error.as_deref()),
            ("a-client", Some("a-client: build failed"))
        );
        // Nothing could run, so nothing was measured.
        assert_eq!(*events.lock().unwrap(), ["Planned(0)"]);
    }

    #[test]
    fn a_server_without_a_bench_entry_runs_as_in_the_matrix() {
        let manifest = crate::manifest::Manifest::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate::manifest::MANIFEST_FILE),
        )
        .unwrap();
        let rust = bench_variant(manifest.get("rust-server").unwrap());
        assert_eq!(rust.name, "rust-server@bench");
        assert!(rust.run.command[0].contains("/release/"), "{:?}", rust.run.command);
        let python = bench_variant(manifest.get("python-server").unwrap());
        assert_eq!(python.name, "python-server");
    }
}
