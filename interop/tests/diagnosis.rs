//! Clients that misbehave on purpose (tests/fixtures/misbehaving/client.py) show up as they should
//! in every report: the terminal matrix, JUnit (parsed with a real XML parser), JSON and HTML with
//! transcripts; `interop repro` reproduces a failure; known failures and flakes are honest.

// Not every test crate that includes the support module uses all of it.
#[allow(dead_code)]
mod support;

use assert_cmd::Command;
use interop::results::{RunReport, Status};
use predicates::prelude::*;
use std::path::PathBuf;
use support::{PYTHON3_TOOL, fixture, test_server, write_manifest};

/// A temporary directory with a manifest: the repository's Rust server as `test-server`, and one
/// client per misbehaviour, all running the fixture with `MISBEHAVE` set.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let client = fixture("misbehaving/client.py");
        let mut manifest = format!("{PYTHON3_TOOL}{}", test_server(""));
        for behaviour in ["correct", "drop-last-byte", "hang", "crash", "flaky-once"] {
            let name = behaviour.split('-').next().unwrap();
            manifest.push_str(&format!(
                r#"
                [[implementation]]
                name = "{name}"
                language = "python"
                role = "client"
                tools = ["python3"]
                modes = ["raw"]
                run.command = ["python3", "{fixture}"]
                run.env = {{ MISBEHAVE = "{behaviour}", MISBEHAVE_STATE = "{state}" }}
                "#,
                fixture = client.display(),
                state = dir.path().join(format!("{name}.state")).display(),
            ));
        }
        write_manifest(dir.path(), &manifest);
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `interop`, run in this directory (on its manifest).
    fn interop(&self) -> Command {
        support::interop_in(self.dir.path())
    }
}

#[test]
fn misbehaving_clients_show_up_in_every_report() {
    let setup = Setup::new();
    let (junit, json, html, markdown) =
        (setup.path("r.xml"), setup.path("r.json"), setup.path("r.html"), setup.path("r.md"));
    let output = setup
        .interop()
        .args([
            "run", "--case", "hello", "--client", "drop", "--client", "hang", "--client", "crash",
            "--client", "flaky",
        ])
        // The hanging client is killed after --timeout, in each of its 2 attempts; the others
        // send 21 bytes from a Python process, which takes a tenth of a second, or a second on a
        // loaded machine: 5 s is still a wide margin.
        .args(["--record", "--retries", "1", "--timeout", "5", "-j", "4"])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--markdown")
        .arg(&markdown)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");

    // The terminal: the table (cases down, clients across), then each problem with its reason.
    assert!(stdout.contains("\ntest-server  drop   hang   crash  flaky\n"), "{stdout}");
    assert!(stdout.contains("\nhello        FAIL   FAIL   FAIL   flaky\n"), "{stdout}");
    assert!(stdout.contains("FAIL test-server/drop/hello (2 attempts)"), "{stdout}");
    assert!(stdout.contains("received 20 of 21 bytes: the last 1 are missing, from offset 20"), "{stdout}");
    assert!(stdout.contains("client failed (timed out after 5."), "{stdout}");
    assert!(stdout.contains("client failed (killed by signal 6)"), "{stdout}");
    assert!(
        stdout.contains("FLAKY test-server/flaky/hello (flake rate 50%, 1 of 2 attempts failed)"),
        "{stdout}"
    );
    assert!(stdout.contains("client -> server: 20 bytes"), "transcript shown with the failure:\n{stdout}");
    // Last, the counts without zero categories and the failing cells' names.
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("FAILED 3 failed, 1 flaky (4 cells) in "), "{stdout}");
    assert!(
        last.ends_with(" s: test-server/drop/hello, test-server/hang/hello, test-server/crash/hello"),
        "{stdout}"
    );
    // Bounded: no cell's problem takes more than a screenful.
    assert!(stdout.lines().count() < 120, "{stdout}");

    // JUnit: a real XML parser accepts it; every testcase has a name and a classname.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 4);
    for case in &cases {
        assert!(case.attribute("name").is_some_and(|n| n.starts_with("test-server/")));
        assert!(case.attribute("classname").is_some_and(|c| c.starts_with("interop.test-server.")));
    }
    let case = |name: &str| *cases.iter().find(|c| c.attribute("name") == Some(name)).unwrap();
    let failure = case("test-server/drop/hello").children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.attribute("message").unwrap().contains("the server received 20 bytes"));
    assert!(case("test-server/flaky/hello").children().any(|n| n.has_tag_name("flakyFailure")));
    // Output only where it explains a failure.
    assert!(case("test-server/drop/hello").children().any(|n| n.has_tag_name("system-out")));
    assert!(!case("test-server/flaky/hello").children().any(|n| n.has_tag_name("system-out")));

    // JSON: the documented schema, every status, attempts, transcripts.
    let report: RunReport = interop::report::json::parse(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cell = |name: &str| report.cells.iter().find(|c| c.name == name).unwrap();
    assert_eq!(cell("test-server/drop/hello").status, Status::Fail);
    assert_eq!(cell("test-server/drop/hello").attempts.len(), 2);
    assert_eq!(cell("test-server/flaky/hello").status, Status::Flaky);
    assert_eq!(cell("test-server/flaky/hello").attempts.len(), 2);
    let transcript = cell("test-server/drop/hello").attempts[0].transcript.as_ref().unwrap();
    assert_eq!(transcript.connections[0].client_to_server.len, 20);
    assert!(report.toolchains.iter().any(|t| t.name == "python3" && t.version.is_some()));

    // HTML: self-contained, with the failing cell's transcript.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("00000000  48 65 6c 6c 6f 20 53 6f"), "hex dump of the transcript");
    assert!(page.contains("test-server/drop/hello"));
    assert!(!page.contains("<script src") && !page.contains("<link rel=\"stylesheet\""));

    // Markdown: a table and the problems.
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("| case | drop | hang | crash | flaky |"), "{md}");
    assert!(
        md.contains("| hello | ❌ | ❌ | ❌ | 🔁 flaky |") && md.contains("test-server/drop/hello"),
        "{md}"
    );
}

#[test]
fn repro_reproduces_the_dropped_byte_by_hand() {
    let setup = Setup::new();
    setup.interop().args(["repro", "test-server/drop/hello"]).assert().code(1).stdout(
        predicate::str::contains("the last 1 are missing")
            .and(predicate::str::contains("client -> server: 20 bytes"))
            .and(predicate::str::contains("MISBEHAVE=drop-last-byte"))
            .and(predicate::str::contains("the same commands by hand:")),
    );
    // The script form runs the same commands without the harness.
    let script = setup.interop().args(["repro", "--script", "test-server/drop/hello"]).output().unwrap();
    let script = String::from_utf8(script.stdout).unwrap();
    assert!(script.contains("start_server") && script.contains("MISBEHAVE=drop-last-byte"), "{script}");
    std::process::Command::new("bash").arg("-c").arg(&script).status().unwrap();
}

#[test]
fn known_failures_are_honest() {
    let setup = Setup::new();
    let known = setup.path("known.toml");
    std::fs::write(
        &known,
        r#"
        [[known]]
        cell = "test-server/drop/*"
        failure = "client, message 1: the server received 20 bytes"
        why = "the fixture drops the last byte on purpose"

        [[known]]
        cell = "test-server/correct/hello"
        failure = "anything"
        why = "a stale entry"
        "#,
    )
    .unwrap();
    // A known failure is reported as such and does not fail the run...
    setup
        .interop()
        .args(["run", "--case", "hello", "--client", "drop", "--known-failures"])
        .arg(&known)
        .assert()
        .success()
        // One line per entry, with how many cells it covered.
        .stdout(predicate::str::contains(
            "known failures (1 cell, 1 entry):\n  1 × test-server/drop/*: the fixture drops the last byte on purpose\n",
        ));
    // ...but an entry for a passing cell fails it.
    setup
        .interop()
        .args(["run", "--case", "hello", "--client", "drop", "--client", "correct", "--known-failures"])
        .arg(&known)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("XPASS test-server/correct/hello").and(predicate::str::contains(
            "unexpected pass: remove the entry for \"test-server/correct/hello\"",
        )));
    // And a different failure than the expected one is a failure.
    std::fs::write(&known, "[[known]]\ncell = \"*/drop/*\"\nfailure = \"client failed\"\nwhy = \"wrong\"\n")
        .unwrap();
    setup
        .interop()
        .args(["run", "--case", "hello", "--client", "drop", "--known-failures"])
        .arg(&known)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("failed differently from its entry"));
    // --update-known-failures rewrites the file from the run.
    setup
        .interop()
        .args([
            "run",
            "--case",
            "hello",
            "--client",
            "drop",
            "--client",
            "correct",
            "--update-known-failures",
            "--known-failures",
        ])
        .arg(&known)
        .assert()
        .code(1);
    let updated = std::fs::read_to_string(&known).unwrap();
    assert!(updated.contains("cell = \"test-server/drop/hello\""), "{updated}");
    assert!(
        updated.contains("failure = \"client, message 1: the server received 20 bytes sha256"),
        "{updated}"
    );
    assert!(!updated.contains("correct"), "{updated}");
    setup
        .interop()
        .args(["run", "--case", "hello", "--client", "drop", "--client", "correct", "--known-failures"])
        .arg(&known)
        .assert()
        .success();
}

#[test]
fn repeat_reports_a_flake_rate() {
    let setup = Setup::new();
    setup
        .interop()
        .args(["run", "--case", "hello", "--client", "flaky", "--repeat", "3"])
        .assert()
        .success()
        // In the progress line as soon as the cell is done, and with the problems.
        .stdout(
            predicate::str::is_match(
                r"\nflaky test-server/flaky/hello \([0-9]+ ms, flake rate 33%, 1 of 3 attempts failed\)\n",
            )
            .unwrap()
            .and(predicate::str::contains(
                "\nFLAKY test-server/flaky/hello (flake rate 33%, 1 of 3 attempts failed)\n",
            )),
        );
}
