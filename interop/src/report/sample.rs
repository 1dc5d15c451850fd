//! A sample report with every status, for the file reporters' tests: two servers, three clients,
//! five cases, transcripts, toolchains and builds, and hostile text in one failing cell's output;
//! and the settings their snapshot tests share.

use crate::results::{
    Attempt, BuildRecord, BuildState, CellReport, ConnectionTranscript, Direction, KnownRef, ProcessLog,
    RunReport, SCHEMA, Status, Toolchain, Transcript,
};

/// Text that would break out of the HTML, and a raw escape character.
pub(crate) const HOSTILE: &str =
    "</pre><script>alert('x')</script><img src=x onerror=\"alert(1)\"> & \u{1b}[31m";

pub(crate) fn log(command: &str, exit: &str, stdout: &str, stderr: &str) -> ProcessLog {
    ProcessLog { command: command.into(), exit: exit.into(), stdout: stdout.into(), stderr: stderr.into() }
}

fn hexdump(bytes: &[u8]) -> String {
    crate::hexdump::hex_dump(bytes, bytes.len())
}

pub(crate) fn dir(bytes: &[u8], limit: usize) -> Direction {
    Direction {
        len: bytes.len() as u64,
        sha256: format!("{:064x}", bytes.len() * 7919),
        dump: hexdump(&bytes[..bytes.len().min(limit)]),
        dump_limit: limit as u64,
    }
}

pub(crate) fn attempt(passed: bool, reason: Option<&str>, client_out: &str, sent: &[u8]) -> Attempt {
    let server_out = format!("listening on 127.0.0.1:41233\nHello: 127.0.0.1:41240\n{client_out}");
    Attempt {
        passed,
        reason: reason.map(String::from),
        problems: Vec::new(),
        duration_ms: 412,
        server: Some(log(
            "target/debug/interop-server --port 0 --format json",
            if passed { "exit code 0" } else { "killed by signal 9" },
            &server_out,
            "",
        )),
        clients: vec![log(
            "java -cp java-client/target/classes interop.Client --port 41237 'Hello SocketServer!!!'",
            if passed { "exit code 0" } else { "exit code 1" },
            client_out,
            if passed {
                ""
            } else {
                "Exception in thread \"main\" java.net.SocketException: Connection reset\n\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:328)"
            },
        )],
        transcript: Some(Transcript {
            connections: vec![ConnectionTranscript {
                client: "127.0.0.1:41240".into(),
                relay: "127.0.0.1:41241".into(),
                client_to_server: dir(sent, 64),
                server_to_client: dir(b"", 64),
                end: if passed {
                    "client closed".into()
                } else {
                    "server reset: connection reset by peer".into()
                },
            }],
        }),
    }
}

pub(crate) fn cell(
    server: &str,
    client: &str,
    case: &str,
    status: Status,
    reason: Option<&str>,
) -> CellReport {
    let name = format!("{server}/{client}/{case}");
    let attempts = match status {
        Status::Pass | Status::UnexpectedPass => {
            vec![attempt(true, None, "Hello SocketServer!!!", b"Hello SocketServer!!!")]
        }
        Status::Fail | Status::Known => {
            vec![attempt(
                false,
                reason,
                "sent 1048576 bytes",
                &[0x68, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x00, 0xff].repeat(20),
            )]
        }
        Status::Flaky => vec![
            attempt(false, reason, "sent 21 bytes", b"Hello SocketServer!!!"),
            attempt(true, None, "sent 21 bytes", b"Hello SocketServer!!!"),
            attempt(true, None, "sent 21 bytes", b"Hello SocketServer!!!"),
        ],
        Status::Unsupported | Status::Skipped | Status::NotRun => vec![],
    };
    CellReport {
        name: name.clone(),
        server: server.into(),
        client: client.into(),
        case: case.into(),
        spec: format!(
            "The client sends the {case} payload, then closes; the server prints it byte for byte."
        ),
        mode: if case == "framed" { interop_wire::Mode::Framed } else { interop_wire::Mode::Raw },
        status,
        reason: reason.map(String::from),
        failure: None,
        known: matches!(status, Status::Known | Status::UnexpectedPass).then(|| KnownRef {
            cell: format!("*/{client}/{case}"),
            failure: reason.unwrap_or("payload differs").lines().next().unwrap_or("").into(),
            why: if status == Status::Known {
                "https://example.invalid/issues/12".into()
            } else {
                "the Python client drops a trailing NUL (to be fixed)".into()
            },
        }),
        duration_ms: attempts.iter().map(|a| a.duration_ms).sum(),
        flake_rate: (attempts.len() > 1)
            .then(|| attempts.iter().filter(|a| !a.passed).count() as f64 / attempts.len() as f64),
        attempts,
        repro: if status == Status::Unsupported {
            vec![]
        } else {
            vec![
                "cargo run -p interop-server -- --port 8099".into(),
                format!("cargo run -p interop -- client {client} -- --port 8099 --case {case}"),
            ]
        },
    }
}

/// Two servers, three clients, five cases, every status, a hostile process output.
pub(crate) fn sample() -> RunReport {
    let mut cells = Vec::new();
    for server in ["rust-server", "python-server"] {
        for client in ["rust", "java", "python"] {
            for case in ["hello", "utf8", "empty", "large", "framed"] {
                let (status, reason) = match (server, client, case) {
                    ("rust-server", "java", "utf8") => (
                        Status::Fail,
                        Some(
                            "server printed 19 bytes, client sent 20\nfirst difference at byte 7: expected c3 a9, got 3f\n  expected: hé€\n  received: h?€",
                        ),
                    ),
                    ("python-server", "rust", "large") => {
                        (Status::Fail, Some("timed out after 60.0 s and was killed"))
                    }
                    (_, "python", "empty") => {
                        (Status::Known, Some("payload differs: server printed nothing"))
                    }
                    ("rust-server", "rust", "large") => {
                        (Status::Flaky, Some("attempt 1: connection reset by peer"))
                    }
                    ("python-server", "java", "utf8") => (
                        Status::UnexpectedPass,
                        Some("passed, but known-failure entry */java/utf8 says it fails"),
                    ),
                    (_, "python", "framed") | ("python-server", _, "framed") => {
                        (Status::Unsupported, Some("python does not support mode framed (interop.toml)"))
                    }
                    ("python-server", "java", "large") => {
                        (Status::Skipped, Some("INTEROP_SKIP=java leaves out java"))
                    }
                    _ => (Status::Pass, None),
                };
                cells.push(cell(server, client, case, status, reason));
            }
        }
    }
    // Hostile process output in one failing cell.
    cells[6].attempts[0].clients[0].stdout = format!("{HOSTILE}\nline 2\n");
    RunReport {
        schema: SCHEMA.into(),
        started_unix_ms: 1_774_094_400_123,
        duration_ms: 83_400,
        partition: Some(crate::results::Partition { index: 2, count: 3 }),
        interrupted: false,
        toolchains: vec![
            Toolchain {
                name: "cargo".into(),
                version: Some("cargo 1.95.0 (f2d3ce0bd 2026-03-21)".into()),
                missing: None,
            },
            Toolchain {
                name: "java".into(),
                version: Some("openjdk 17.0.14 2025-01-21".into()),
                missing: None,
            },
            Toolchain { name: "python3".into(), version: Some("Python 3.11.2".into()), missing: None },
            Toolchain {
                name: "mvn".into(),
                version: None,
                missing: Some("not found on PATH: apt-get install maven".into()),
            },
        ],
        builds: vec![
            BuildRecord { name: "rust".into(), status: BuildState::Fresh, duration_ms: None, error: None },
            BuildRecord {
                name: "java".into(),
                status: BuildState::Built,
                duration_ms: Some(4_210),
                error: None,
            },
            BuildRecord {
                name: "python".into(),
                status: BuildState::NotNeeded,
                duration_ms: None,
                error: None,
            },
            BuildRecord {
                name: "python-server".into(),
                status: BuildState::Failed,
                duration_ms: Some(310),
                error: Some("pip: error: <no such option> --break-system-packages".into()),
            },
        ],
        cells,
    }
}

/// Runs `snapshot` (an `insta` assertion) with durations and temporary paths replaced by
/// `[duration]` and `[path]`, so that a snapshot does not change with the machine or the clock.
pub(crate) fn stable_snapshot(snapshot: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b\d+(\.\d+)? ?(ms|s|min|h)\b", "[duration]");
    settings.add_filter(r#"(/tmp|/var/folders)/[^\s"'<>|)`]+"#, "[path]");
    settings.bind(snapshot);
}
