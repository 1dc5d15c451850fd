//! The `interop` command line, end to end, against the repository's manifest and against small
//! manifests that contain a broken client, to show that failures are caught and reported.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn interop() -> Command {
    let mut cmd = Command::cargo_bin("interop").unwrap();
    cmd.current_dir(root()).env_remove("INTEROP_ROOT").timeout(Duration::from_secs(300));
    cmd
}

/// A manifest with the repository's Rust server (same target directory) and the given clients.
fn manifest_with(dir: &Path, clients: &str) -> std::path::PathBuf {
    let server = r#"
        [tools.cargo]
        command = "cargo"
        version_args = ["--version"]
        install = "rustup"

        [tools.missing]
        command = "interop-test-no-such-tool"
        version_args = ["--version"]
        install = "apt-get install no-such-tool"

        [[implementation]]
        # Its own name, so its build stamp never competes with the real rust-server's.
        name = "test-server"
        language = "rust"
        role = "server"
        tools = ["cargo"]
        modes = ["raw", "framed"]
        build.command = ["cargo", "build", "--quiet", "-p", "interop-server", "--bin", "interop-server", "--manifest-path", "ROOT/Cargo.toml"]
        build.inputs = []
        run.command = ["{target}/debug/interop-server"]
    "#
    .replace("ROOT", &root().to_string_lossy());
    let path = dir.join("interop.toml");
    std::fs::write(&path, format!("{server}\n{clients}")).unwrap();
    path
}

fn target() -> String {
    std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| root().join("target").to_string_lossy().into_owned())
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
fn a_warm_build_rebuilds_nothing_and_says_so() {
    interop().arg("build").assert().success();
    interop().arg("build").assert().success().stdout(
        predicate::str::contains("build  rust-server: up to date, not rebuilt")
            .and(predicate::str::contains("build  java: up to date, not rebuilt"))
            .and(predicate::str::contains("build  python: nothing to build")),
    );
}

#[test]
fn unknown_names_are_harness_errors() {
    interop()
        .args(["run", "--case", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown case \"nope\""));
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
        .env("CARGO_TARGET_DIR", target())
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
        .env("CARGO_TARGET_DIR", target())
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
