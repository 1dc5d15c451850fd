//! Interruption is clean: a real `interop run` (and the `cargo test` matrix binary) is interrupted
//! while its cells run, and afterwards no process it started is left, its temporary socket files
//! are gone, and its reports say it was interrupted.
//!
//! The clients are shell scripts that never end and leave a background `sleep` in their process
//! group; the `stubborn` one ignores SIGTERM, so only SIGKILL ends it. Every process the harness
//! starts carries `INTEROP_RUN_ID=<harness pid>-…` (the watchdog `INTEROP_WATCHDOG=…`), which is how
//! these tests find survivors in `/proc/*/environ`. Nothing waits a fixed time: each wait polls for
//! what it waits for, with a generous deadline for a busy machine.

#![cfg(target_os = "linux")]

// Not every test crate that includes the support module uses all of it.
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use interop::results::{RunReport, Status};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{root, target_dir, test_server, write_manifest};

/// Deadline for the run to reach its running cells: includes building the server when stale.
const START_DEADLINE: Duration = Duration::from_secs(300);
/// Deadline for an interrupted run to end: the grace (2 s), the wrap-up and the reports, with a
/// wide margin for a loaded machine.
const STOP_DEADLINE: Duration = Duration::from_secs(60);

/// A temporary directory with a manifest (the repository's Rust server; two never-ending shell
/// clients) and its own `TMPDIR`, where the run's Unix sockets go.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = test_server(r#"supports = ["unix"]"#);
        for (name, script) in
            [("stubborn", "trap '' TERM; sleep 600 & sleep 600"), ("sleepy", "sleep 600 & sleep 600")]
        {
            manifest.push_str(&format!(
                r#"
                [[implementation]]
                name = "{name}"
                language = "shell"
                role = "client"
                modes = ["raw"]
                supports = ["unix"]
                run.command = ["sh", "-c", "{script}", "sh"]
                "#
            ));
        }
        write_manifest(dir.path(), &manifest);
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Sets up `command` to run here, with its own `TMPDIR` and plain output.
    fn environment(&self, command: &mut Command) {
        command
            .env("CARGO_TARGET_DIR", target_dir())
            .env("TMPDIR", self.path("tmp"))
            .env("NO_COLOR", "1")
            .env_remove("INTEROP_ROOT")
            .env_remove("INTEROP_SKIP")
            .env_remove("CI")
            .current_dir(self.dir.path());
    }

    /// Starts `interop run` on the `hello` and `unix` cases, two at a time (so two cells run and
    /// two wait), writing every report; stderr lines arrive on the returned channel.
    fn start_run(&self, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_interop"));
        self.environment(&mut command);
        command
            .args(["run", "--case", "hello", "--case", "unix", "-j", "2"])
            .args(extra)
            .args(["--json", "r.json", "--junit", "r.xml", "--html", "r.html", "--markdown", "r.md"])
            .stdout(std::fs::File::create(self.path("stdout.txt")).unwrap())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        (child, lines)
    }

    /// The socket files left in the run's `TMPDIR`.
    fn sockets(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.path("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sock"))
            .collect()
    }
}

/// The pid and command line of every live process marked as started by the harness with pid `harness`: its children
/// (`INTEROP_RUN_ID`) and, with `watchdog`, its watchdog too. Zombies read as unmarked: they are
/// dead, only not yet reaped.
fn marked(harness: u32, watchdog: bool) -> Vec<(i32, String)> {
    let prefixes: Vec<String> = ["INTEROP_RUN_ID", "INTEROP_WATCHDOG"]
        .iter()
        .take(if watchdog { 2 } else { 1 })
        .map(|var| format!("{var}={harness}-"))
        .collect();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else { continue };
        let ours = env.split(|&b| b == 0).any(|var| prefixes.iter().any(|p| var.starts_with(p.as_bytes())));
        if ours {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ").trim().to_string();
            found.push((pid, cmdline));
        }
    }
    found
}

/// Polls `done` every 50 ms until it is true; panics with `what` after `deadline`.
fn wait_until(deadline: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < deadline, "still waiting after {deadline:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// Waits until both clients of the first two cells run (each has its `sleep`s) and the `unix`
/// cell's server has made its socket: the moment to interrupt.
fn wait_for_running_cells(setup: &Setup, harness: &mut Child) {
    let pid = harness.id();
    wait_until(START_DEADLINE, "two cells to run", || {
        if let Ok(Some(status)) = harness.try_wait() {
            panic!("the run ended before its cells ran: {status}");
        }
        let sleeps = marked(pid, false).iter().filter(|p| p.1.starts_with("sleep 600")).count();
        sleeps >= 4 && !setup.sockets().is_empty()
    });
}

/// Waits for `child` to exit, at most `deadline`.
fn wait_exit(child: &mut Child, deadline: Duration) -> ExitStatus {
    let mut status = None;
    wait_until(deadline, "the run to end", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

/// Waits for a stderr line containing `needle`.
fn wait_line(lines: &mpsc::Receiver<String>, needle: &str, deadline: Duration) -> String {
    let until = Instant::now() + deadline;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(err) => panic!("no stderr line with {needle:?} ({err})"),
        }
    }
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
}

/// What a finished interrupted run must show: no process of the run, no socket, and reports that
/// say it was interrupted and list the cells it did not run.
fn assert_clean_and_reported(setup: &Setup, harness: u32) {
    let left = marked(harness, false);
    assert!(left.is_empty(), "processes of the run outlived it: {left:#?}");
    // The watchdog ends once interop has (it then finds nothing to do).
    wait_until(STOP_DEADLINE, "the watchdog to end", || marked(harness, true).is_empty());
    assert_eq!(setup.sockets(), Vec::<PathBuf>::new(), "socket files left behind");

    let json = std::fs::read_to_string(setup.path("r.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["interrupted"], serde_json::Value::Bool(true), "{json}");
    let report: RunReport = interop::report::json::parse(&json).unwrap();
    assert!(report.failed());
    assert_eq!(report.cells.len(), 4);
    for cell in &report.cells {
        assert_eq!(cell.status, Status::NotRun, "{}: {:?}", cell.name, cell.reason);
        assert!(cell.reason.as_deref().unwrap_or("").starts_with("not run: the run was interrupted"));
    }
    let cut_short = report.cells.iter().filter(|c| !c.attempts.is_empty()).count();
    assert_eq!(cut_short, 2, "the two running cells keep their cut-short attempts");

    let stdout = std::fs::read_to_string(setup.path("stdout.txt")).unwrap();
    assert!(stdout.contains("INTERRUPTED the run was interrupted: 4 of 4 cells"), "{stdout}");
    let last = stdout.trim_end().lines().last().unwrap_or("");
    assert!(last.starts_with("INTERRUPTED 4 not run (4 cells) in "), "{stdout}");
    let junit = std::fs::read_to_string(setup.path("r.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let error = doc.descendants().find(|n| n.has_tag_name("error")).expect("an <error> for the interruption");
    assert!(error.attribute("message").unwrap().starts_with("the run was interrupted"), "{junit}");
    let skipped = doc.descendants().filter(|n| n.attribute("type") == Some("not-run")).count();
    assert_eq!(skipped, 4, "{junit}");
    assert!(std::fs::read_to_string(setup.path("r.md")).unwrap().contains("## interop: ⏹️ interrupted"));
    assert!(std::fs::read_to_string(setup.path("r.html")).unwrap().contains(">INTERRUPTED</span>"));
}

/// Starts a run with `extra` arguments, waits until its cells run, sends each signal in turn
/// (waiting for the harness to say what it does about each: `(signal, what it says)`), then
/// checks that it exits 130, clean and reported.
fn interrupt_run(extra: &[&str], signals: &[(Signal, &str)]) {
    let setup = Setup::new();
    let (mut harness, lines) = setup.start_run(extra);
    wait_for_running_cells(&setup, &mut harness);
    for (sig, says) in signals {
        signal(&harness, *sig);
        wait_line(&lines, &format!("{sig}: {says}"), STOP_DEADLINE);
    }
    let status = wait_exit(&mut harness, STOP_DEADLINE);
    assert_eq!(status.code(), Some(130), "{signals:?}: {status}");
    assert_clean_and_reported(&setup, harness.id());
}

#[test]
fn sigint_stops_every_process_and_writes_interrupted_reports() {
    interrupt_run(&[], &[(Signal::SIGINT, "stopping the run")]);
}

#[test]
fn sigterm_and_sighup_stop_the_run_too() {
    interrupt_run(&[], &[(Signal::SIGTERM, "stopping the run")]);
    interrupt_run(&[], &[(Signal::SIGHUP, "stopping the run")]);
}

#[test]
fn a_second_sigint_cuts_the_grace_short_but_still_kills() {
    // A grace far longer than the deadline for the run to end: only the second signal can end it in
    // time, and the stubborn client, which ignores SIGTERM, is gone only if it was killed.
    interrupt_run(
        &["--grace", "600"],
        &[(Signal::SIGINT, "stopping the run"), (Signal::SIGINT, "killing the run's processes now")],
    );
}

#[test]
fn sigkill_of_interop_leaves_nothing_behind() {
    let setup = Setup::new();
    let (mut harness, _lines) = setup.start_run(&[]);
    wait_for_running_cells(&setup, &mut harness);
    let pid = harness.id();
    signal(&harness, Signal::SIGKILL);
    harness.wait().unwrap();
    // The watchdog gives them the same grace (2 s, SIGKILL for the stubborn client); "a few
    // seconds" on a quiet machine, more allowed on a loaded one.
    let took = wait_until(Duration::from_secs(30), "the watchdog to end the run's processes", || {
        marked(pid, false).is_empty()
    });
    eprintln!("the run's processes were gone {took:?} after interop was killed");
    wait_until(STOP_DEADLINE, "the watchdog to end", || marked(pid, true).is_empty());
    assert_eq!(setup.sockets(), Vec::<PathBuf>::new(), "socket files left behind");
}

/// The `cargo test -p interop` binary (tests/matrix.rs), built by Cargo if stale.
fn matrix_binary() -> PathBuf {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "-p", "interop", "--test", "matrix", "--no-run", "--message-format=json"])
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success(), "cannot build the matrix test binary");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["target"]["name"] == "matrix")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the matrix binary")
}

#[test]
fn sigterm_to_the_matrix_test_binary_stops_every_process() {
    let setup = Setup::new();
    let mut command = Command::new(matrix_binary());
    setup.environment(&mut command);
    command
        .env("INTEROP_ROOT", setup.dir.path())
        .args(["--test-threads", "2", "hello"])
        .stdout(std::fs::File::create(setup.path("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(setup.path("stderr.txt")).unwrap());
    let mut tests = command.spawn().unwrap();
    let pid = tests.id();
    wait_until(START_DEADLINE, "two cells to run", || {
        if let Ok(Some(status)) = tests.try_wait() {
            panic!("the tests ended before their cells ran: {status}");
        }
        marked(pid, false).iter().filter(|p| p.1.starts_with("sleep 600")).count() >= 4
    });
    signal(&tests, Signal::SIGTERM);
    let status = wait_exit(&mut tests, STOP_DEADLINE);
    let stderr = std::fs::read_to_string(setup.path("stderr.txt")).unwrap();
    assert_eq!(status.code(), Some(130), "{status}\n{stderr}");
    assert!(stderr.contains("SIGTERM: stopping every process of the tests"), "{stderr}");
    let left = marked(pid, false);
    assert!(left.is_empty(), "processes of the tests outlived them: {left:#?}");
    wait_until(STOP_DEADLINE, "the watchdog to end", || marked(pid, true).is_empty());
    assert_eq!(setup.sockets(), Vec::<PathBuf>::new(), "socket files left behind");
}
