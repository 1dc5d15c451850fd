//! A server slower than its clients: the harness stops a server only once it has finished every
//! connection the clients made, so what it logs is checked however late it gets to a connection
//! (tests/fixtures/slow/server.py waits 1.5 s before each accept, then logs whatever arrived).

// Not every test crate that includes the support module uses all of it.
#[allow(dead_code)]
mod support;

use support::{PYTHON3_TOOL, fixture, interop_in, test_client, write_manifest};

#[test]
fn a_server_slower_than_its_clients_still_gets_every_message_checked() {
    let dir = tempfile::tempdir().unwrap();
    let slow_server = format!(
        r#"
        [[implementation]]
        name = "slow-server"
        language = "python"
        role = "server"
        tools = ["python3"]
        modes = ["raw", "framed"]
        run.command = ["python3", "{fixture}"]
        "#,
        fixture = fixture("slow/server.py").display(),
    );
    write_manifest(dir.path(), &format!("{PYTHON3_TOOL}{slow_server}{}", test_client("")));
    let output = interop_in(dir.path())
        // hello: raw, delivered, the client waits for the server (it passes). binary+limit_data: the
        // relay cuts the connection after 100 bytes, the client fails at once, and this server, 1.5 s
        // later, logs the 96 bytes it got as a message (the cell fails, and must always fail).
        .args(["run", "--case", "hello", "--case", "binary+limit_data"])
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
