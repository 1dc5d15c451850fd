//! A server slower than its clients: the harness stops a server only once it has finished every
//! connection the clients made, so what it logs is checked however late it gets to a connection
//! (tests/fixtures/slow/server.py waits 1.5 s before each accept, then logs whatever arrived).

use assert_cmd::Command;
use std::path::Path;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn a_server_slower_than_its_clients_still_gets_every_message_checked() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slow/server.py");
    let manifest = format!(
        r#"
        [tools.python3]
        command = "python3"
        version_args = ["--version"]
        install = "apt-get install python3"

        [[implementation]]
        name = "slow-server"
        language = "python"
        role = "server"
        tools = ["python3"]
        modes = ["raw", "framed"]
        run.command = ["python3", "{fixture}"]

        [[implementation]]
        # Its own name, so its build stamp never competes with the real rust client's.
        name = "test-client"
        language = "rust"
        role = "client"
        modes = ["raw", "framed"]
        build.command = ["cargo", "build", "--quiet", "-p", "interop-client", "--bin", "interop-client", "--manifest-path", "{root}/Cargo.toml"]
        build.inputs = []
        run.command = ["{{target}}/debug/interop-client"]
        "#,
        fixture = fixture.display(),
        root = root().display(),
    );
    std::fs::write(dir.path().join("interop.toml"), manifest).unwrap();
    let target =
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| root().join("target").display().to_string());
    let output = Command::cargo_bin("interop")
        .unwrap()
        .env("CARGO_TARGET_DIR", target)
        .env("NO_COLOR", "1")
        .env_remove("INTEROP_ROOT")
        .current_dir(dir.path())
        // hello: raw, delivered, the client waits for the server (it passes). binary+limit_data: the
        // relay cuts the connection after 100 bytes, the client fails at once, and this server, 1.5 s
        // later, logs the 96 bytes it got as a message (the cell fails, and must always fail).
        .args(["run", "--case", "hello", "--case", "binary+limit_data"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("FAILED 1 failed, 1 passed (2 cells)"), "{stdout}");
    assert!(
        stdout.contains("the server logged a message (96 bytes) from a connection the fault cut"),
        "{stdout}"
    );
}
