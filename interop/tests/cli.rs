//! The `interop` command line, end to end, against the repository's manifest and against small
//! manifests that contain a broken client, to show that failures are caught and reported.

// Not every test crate that includes the support module uses all of it.
#[allow(dead_code)]
mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use support::{root, target_dir, test_server, write_manifest};

/// `interop`, run from the repository's root (so on the repository's manifest).
fn interop() -> Command {
    let mut cmd = support::interop();
    cmd.current_dir(root());
    cmd
}

/// A manifest with the repository's Rust server (same target directory) and the given clients.
fn manifest_with(dir: &Path, clients: &str) -> PathBuf {
    let tools = r#"
        [tools.cargo]
        command = "cargo"
        version_args = ["--version"]
        install = "rustup"

        [tools.missing]
        command = "interop-test-no-such-tool"
        version_args = ["--version"]
        install = "apt-get install no-such-tool"
    "#;
    let server = test_server(r#"tools = ["cargo"]"#);
    write_manifest(dir, &format!("{tools}\n{server}\n{clients}"))
}

#[test]
fn list_shows_servers_clients_and_cases() {
    interop().arg("list").assert().success().stdout(
        predicate::str::contains("rust-server")
            .and(predicate::str::contains("java"))
            .and(predicate::str::contains("python"))
            .and(predicate::str::contains("concurrent")),
    );
}

#[test]
fn doctor_reports_versions_and_install_hints() {
    interop()
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicate::str::contains("ok       cargo    cargo ").and(predicate::str::contains("javac")));
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_with(dir.path(), "");
    interop().arg("--manifest").arg(&manifest).arg("doctor").assert().code(1).stdout(
        predicate::str::contains("MISSING  missing")
            .and(predicate::str::contains("install: apt-get install no-such-tool")),
    );
}

#[test]
fn one_cell_runs_and_passes() {
    interop()
        .args(["run", "--server", "rust-server", "--client", "rust", "--case", "hello", "--case", "binary"])
        .assert()
        .success()
        // The last line: counts without zero categories, and the duration.
        .stdout(predicate::str::is_match(r"\nPASSED 2 passed \(2 cells\) in [0-9.]+ s\n$").unwrap());
}

#[test]
fn a_report_that_cannot_be_written_fails_the_run_and_says_so() {
    // Every cell passes, but the JSON report the run was asked for is lost: not a green run.
    interop()
        .args([
            "run",
            "--server",
            "rust-server",
            "--client",
            "rust",
            "--case",
            "refused",
            "--json",
            "/dev/full",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("error: cannot write /dev/full: No space left on device"));
}

#[test]
fn a_warm_build_rebuilds_nothing_and_says_so() {
    interop().arg("build").assert().success();
    interop().arg("build").assert().success().stdout(
        predicate::str::contains("build  rust-server: up to date, not rebuilt")
            .and(predicate::str::contains("build  java: up to date, not rebuilt"))
            .and(predicate::str::contains("build  python: up to date, not rebuilt"))
            .and(predicate::str::contains("build  node: nothing to build")),
    );
}

#[test]
fn unknown_names_are_harness_errors_that_suggest_the_nearest_name() {
    for (args, message) in [
        (&["run", "--client", "jav"][..], "error: no client matches \"jav\"; did you mean \"java\"?\n"),
        (&["run", "--case", "utf9*"], "error: no case matches \"utf9*\"; did you mean \"utf8\"?\n"),
        (
            &["script", "--skip", "jvaa"],
            "error: --skip \"jvaa\" matches no server, client, case or cell; did you mean \"java\"?\n",
        ),
    ] {
        interop().args(args).assert().code(2).stdout("").stderr(message);
    }
    interop()
        .env("INTEROP_SKIP", "jav")
        .args(["run", "--client", "java"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("INTEROP_SKIP entry \"jav\" matches no implementation"));
    interop()
        .args(["run", "--case", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: no case matches \"nope\"; known: hello, utf8,"));
}

/// The statuses of a JSON report's cells, by name.
fn statuses(path: &Path) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cells = report["cells"].as_array().unwrap();
    cells.iter().map(|c| (c["name"].as_str().unwrap().into(), c["status"].as_str().unwrap().into())).collect()
}

/// `INTEROP_SKIP=java interop run --client java --case hello … --json JSON`: three cells, all
/// skipped, so it costs nothing to run (nothing is built).
/// The repository manifest's servers, in order: every one has a `*/java/hello` cell.
fn servers() -> Vec<String> {
    let manifest = interop::manifest::Manifest::load(&interop::Workspace::locate(None).manifest).unwrap();
    manifest.with_role(interop::manifest::Role::Server).map(|s| s.name.clone()).collect()
}

fn run_java_skipped(extra: &[&str], json: &Path) -> assert_cmd::assert::Assert {
    interop()
        .env("INTEROP_SKIP", "java")
        .args(["run", "--client", "java", "--case", "hello"])
        .args(extra)
        .arg("--json")
        .arg(json)
        .assert()
}

#[test]
fn interop_skip_reports_cells_skipped_never_passed() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let servers = servers();
    run_java_skipped(&[], &json)
        .success()
        .stdout(predicate::str::contains(format!("{} skipped", servers.len())));
    let expected: Vec<(String, String)> =
        servers.iter().map(|s| (format!("{s}/java/hello"), "skipped".to_string())).collect();
    assert_eq!(statuses(&json), expected);
    // Nothing of java was checked or built for cells it was left out of.
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(!report.contains("\"name\": \"java\""), "java prepared although skipped:\n{report}");
}

#[test]
fn globs_and_skip_select_cells() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    interop()
        .args(["run", "--server", "rust-*", "--client", "rust", "--case", "hello*", "--skip", "hello+*"])
        .args(["--skip", "python-server/*", "--json"])
        .arg(&json)
        .assert()
        .success();
    assert_eq!(statuses(&json), [("rust-server/rust/hello".to_string(), "pass".to_string())]);
}

#[test]
fn report_refuses_duplicate_and_missing_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for k in ["1", "2"] {
        run_java_skipped(&["--partition", &format!("{k}/2")], Path::new(&path(&format!("p{k}.json"))))
            .success();
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("p2.json")).unwrap()).unwrap();
    assert_eq!(report["partition"], serde_json::json!({"index": 2, "count": 2}));
    interop().args(["report", &path("p2.json"), &path("p1.json")]).assert().success();
    let refused = |inputs: &[&str], message: &str| {
        let inputs: Vec<String> = inputs.iter().map(|i| path(i)).collect();
        let stderr =
            interop().arg("report").args(&inputs).assert().code(2).stdout("").get_output().stderr.clone();
        let stderr = String::from_utf8(stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(message), "{stderr}");
    };
    refused(&["p1.json"], "partition 2/2 is missing");
    refused(&["p1.json", "p1.json"], "partition 1/2 is given twice");
}

#[test]
fn report_refuses_the_same_run_twice_naming_the_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    run_java_skipped(&[], &json).success();
    let n = servers().len();
    interop().arg("report").arg(&json).arg(&json).assert().code(2).stdout("").stderr(
        predicate::str::contains(format!(
            "error: {n} cells are in more than one report: rust-server/java/hello ("
        ))
        // The first three are named, the rest counted (bounded output).
        .and(predicate::str::contains(format!("… and {} more", n.saturating_sub(3)))),
    );
}

#[test]
fn a_client_that_sends_nothing_fails_with_a_reason_and_a_repro() {
    let dir = tempfile::tempdir().unwrap();
    // Claims success but never connects: the harness must not believe it.
    let silent = r#"
        [[implementation]]
        name = "silent"
        language = "sh"
        role = "client"
        modes = ["raw", "framed"]
        run.command = ["sh", "-c", "exit 0", "silent"]
    "#;
    let manifest = manifest_with(dir.path(), silent);
    interop()
        .env("CARGO_TARGET_DIR", target_dir())
        .arg("--manifest")
        .arg(&manifest)
        .args(["run", "--case", "hello"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL test-server/silent/hello")
                .and(predicate::str::contains("client reported 0 deliveries, the case sent 1"))
                .and(predicate::str::contains("reproduce:"))
                .and(predicate::str::contains("interop-server --host 127.0.0.1 --port 8099")),
        );
}

#[test]
fn a_missing_toolchain_fails_its_cells_with_doctors_message() {
    let dir = tempfile::tempdir().unwrap();
    let needs_missing = r#"
        [[implementation]]
        name = "needs-missing"
        language = "none"
        role = "client"
        tools = ["missing"]
        modes = ["raw"]
        run.command = ["interop-test-no-such-tool"]
    "#;
    let manifest = manifest_with(dir.path(), needs_missing);
    interop()
        .env("CARGO_TARGET_DIR", target_dir())
        .arg("--manifest")
        .arg(&manifest)
        .args(["run", "--case", "hello", "--case", "binary"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("missing is missing")
                .and(predicate::str::contains("apt-get install no-such-tool"))
                // binary is framed, which this client does not declare: unsupported, not passed.
                .and(predicate::str::contains("FAILED 1 failed, 1 unsupported (2 cells) in "))
                .and(predicate::str::contains(" s: test-server/needs-missing/hello\n")),
        );
}

#[test]
fn client_subcommand_runs_a_manifest_client_by_name() {
    // Nothing listens on the port: the Python client's own refused code comes back through.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    interop()
        .args(["client", "python", "--", "--port", &port.to_string()])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("error: "));
}

/// The servers' logs of a JSON report's attempts: (cell, exit, stdout), in plan order.
fn server_logs(path: &Path) -> Vec<(String, String, String)> {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut logs = Vec::new();
    for cell in report["cells"].as_array().unwrap() {
        for attempt in cell["attempts"].as_array().unwrap() {
            let server = &attempt["server"];
            logs.push((
                cell["name"].as_str().unwrap().into(),
                server["exit"].as_str().unwrap().into(),
                server["stdout"].as_str().unwrap().into(),
            ));
        }
    }
    logs
}

#[test]
fn a_reusable_server_serves_cell_after_cell_and_the_last_one_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = test_server("reusable = true");
    write_manifest(dir.path(), &format!("{server}\n{}", support::test_client("")));
    let json = dir.path().join("r.json");
    // Four raw cells over TCP on 127.0.0.1: one command line, so one server for all four, two
    // cells at a time at most.
    support::interop_in(dir.path())
        .args(["run", "--case", "hello", "--case", "utf8", "--case", "multiline", "--case", "empty"])
        .args(["-j", "2", "--json"])
        .arg(&json)
        .assert()
        .success();
    let logs = server_logs(&json);
    assert_eq!(logs.len(), 4, "{logs:#?}");
    // Every server the cells shared was stopped by the last cell that used it, which checked it
    // exited 0: one or two servers (two cells at a time), each stopped once.
    let stopped = logs.iter().filter(|(_, exit, _)| exit == "exit code 0").count();
    let kept = logs.iter().filter(|(_, exit, _)| exit == "still running, kept for the next cell").count();
    assert!((1..=2).contains(&stopped) && stopped + kept == 4, "{logs:#?}");
    // Each cell's log holds its own connection only: one client, one connection, one message.
    for (cell, _, stdout) in &logs {
        assert!(stdout.starts_with("listening on 127.0.0.1:"), "{cell}: {stdout}");
        assert_eq!(stdout.matches(r#""event":"connected""#).count(), 1, "{cell}: {stdout}");
        assert_eq!(stdout.matches(r#""event":"message""#).count(), 1, "{cell}: {stdout}");
    }
}

#[test]
fn a_reusable_server_that_stops_after_one_cell_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!(
        r#"
        [[implementation]]
        name = "one-shot"
        language = "python"
        role = "server"
        tools = ["python3"]
        modes = ["raw"]
        reusable = true
        run.command = ["python3", "{}"]
        "#,
        support::fixture("one-shot/server.py").display()
    );
    write_manifest(dir.path(), &format!("{}{server}\n{}", support::PYTHON3_TOOL, support::test_client("")));
    // The one-shot server serves the first cell and exits: the cell that finds it gone fails,
    // whether the harness sees the exit first ("server exited early") or the client sees its
    // connection reset. No cell passes on a server that is not there.
    let json = dir.path().join("r.json");
    support::interop_in(dir.path())
        .args(["run", "--case", "hello", "--case", "utf8", "-j", "1", "--json"])
        .arg(&json)
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"\nFAILED (1 failed, 1 passed|2 failed) \(2 cells\)").unwrap());
    // The python3 tool's `executable_args` name the interpreter, which the harness starts
    // directly: `python3` on PATH may be a version manager's shell script.
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(python.stdout).unwrap();
    let started_as = format!(" && {} ", python.trim());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for cell in report["cells"].as_array().unwrap() {
        let command = cell["attempts"][0]["server"]["command"].as_str().unwrap();
        assert!(command.contains(&started_as), "{command} does not start {started_as:?}");
    }
}

#[test]
fn bench_measures_a_server_and_checks_every_reply() {
    let dir = tempfile::tempdir().unwrap();
    let recv_once = root().join("interop/fixtures/recv_once_server.py");
    let tutorial = format!(
        r#"
        [[implementation]]
        name = "tutorial-server"
        language = "python"
        role = "server"
        tools = ["python3"]
        modes = ["raw", "framed"]
        run.command = ["python3", "-u", "{}"]
        "#,
        recv_once.display()
    );
    write_manifest(dir.path(), &format!("{}{}\n{tutorial}", support::PYTHON3_TOOL, test_server("")));
    let (json, html) = (dir.path().join("b.json"), dir.path().join("b.html"));
    // Short, and few idle connections: this checks what the bench reports, not how fast.
    support::interop_in(dir.path())
        .args(["bench", "--only", "test-server", "--secs", "0.2", "--reps", "1", "--idle-connections", "20"])
        .args(["--load", "stream", "--load", "small", "--load", "raw", "--load", "idle", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "interop-bench/1");
    let server = &report["servers"][0];
    assert_eq!(server["name"], "test-server");
    for figure in ["stream_mb_s", "small_msgs_s", "raw_conns_s", "idle_rss_mib", "idle_p99_ms", "cpu_s"] {
        assert!(server[figure].as_f64().is_some_and(|f| f > 0.0), "{figure}: {server}");
    }
    assert_eq!(server["idle_conns"], 20);
    assert!(server.get("errors").is_none(), "{server}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("test-server"));

    // The tutorial's server takes one recv(1024) for a whole 1 MiB frame: its ACK is wrong, so
    // it has no stream figure, only the reason, and the bench fails.
    support::interop_in(dir.path())
        .args([
            "bench",
            "--only",
            "tutorial-server",
            "--secs",
            "0.2",
            "--reps",
            "1",
            "--load",
            "stream",
            "--json",
        ])
        .arg(&json)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("tutorial-server stream failed: wrong reply"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let tutorial = &report["servers"][0];
    assert!(tutorial["stream_mb_s"].is_null() && tutorial["errors"]["stream"].is_string(), "{tutorial}");
}

#[test]
fn ctrl_c_stops_the_bench_and_its_servers() {
    let dir = tempfile::tempdir().unwrap();
    // A name of its own: its log file (under the shared target directory) is this test's alone.
    let server = test_server("").replace(r#"name = "test-server""#, r#"name = "interrupted-server""#);
    write_manifest(dir.path(), &server);
    let log = target_dir().join("interop/bench/interrupted-server-framed.log");
    let _ = std::fs::remove_file(&log);
    let bench = std::process::Command::new(assert_cmd::cargo::cargo_bin("interop"))
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("INTEROP_ROOT")
        .args(["bench", "--load", "small", "--secs", "60", "--reps", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.starts_with("listening on ")) {
        assert!(started.elapsed() < support::TIMEOUT, "the bench's server never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let harness = i32::try_from(bench.id()).unwrap();
    let server_pid = |text: &str| text.contains("interop-server") && text.contains("12000");
    let servers = || {
        procfs::process::all_processes()
            .unwrap()
            .filter_map(Result::ok)
            .filter(|p| p.cmdline().is_ok_and(|c| server_pid(&c.join(" "))))
            .filter(|p| p.stat().is_ok_and(|s| s.ppid == harness || s.ppid == 1))
            .count()
    };
    assert!(servers() >= 1, "the bench's server is not running");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(harness), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = bench.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("the bench was interrupted"), "{stderr}");
    assert_eq!(servers(), 0, "a server of the bench outlived it");
}
