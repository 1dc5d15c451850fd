//! Programs written exactly like the classic tutorial's (only host and port changed) work with
//! ours: its Python and Java clients deliver to `interop-server` run with default flags (but
//! `--port 0`), and `interop-client` delivers to its Python server.

use interop::Workspace;
use interop::manifest::Manifest;
use interop::process::{CommandSpec, GroupChild, run_to_end, signal_group, wait_or_kill};
use interop::runner::{command, prepare_implementations};
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

const LIMIT: Duration = Duration::from_secs(30);

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tutorial"))
}

/// The command of a manifest implementation, built if stale.
async fn built(name: &str, args: &[&str]) -> CommandSpec {
    let workspace = Workspace::locate(None);
    let manifest = Manifest::load(&workspace.manifest).unwrap();
    let imp = manifest.get(name).unwrap();
    let prepared =
        prepare_implementations(&manifest, &[imp], &workspace.places, &interop::events::Emitter::silent())
            .await;
    assert!(prepared.broken.is_empty(), "{:?}", prepared.broken);
    command(&workspace.places, imp, args.iter().map(|a| a.to_string()))
}

fn spec(argv: &[&str]) -> CommandSpec {
    CommandSpec {
        argv: argv.iter().map(|a| a.to_string()).collect(),
        env: vec![],
        cwd: fixtures().to_owned(),
    }
}

/// Starts a server and reads its `listening on <ip>:<port>` line.
async fn start(spec: &CommandSpec) -> (GroupChild, Lines<BufReader<ChildStdout>>, String) {
    let mut child = spec.spawn().unwrap();
    let mut lines = BufReader::new(child.take_stdout().unwrap()).lines();
    let first = tokio::time::timeout(LIMIT, lines.next_line()).await.unwrap().unwrap().unwrap();
    let port = first.strip_prefix("listening on ").and_then(|a| a.rsplit_once(':')).unwrap().1.to_string();
    (child, lines, port)
}

async fn next(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(LIMIT, lines.next_line()).await.unwrap().unwrap().unwrap_or_default()
}

async fn stop(mut server: GroupChild) {
    signal_group(&server, Signal::SIGTERM);
    wait_or_kill(&mut server, Duration::from_secs(10)).await;
    signal_group(&server, Signal::SIGKILL);
}

#[tokio::test]
async fn tutorial_python_client_delivers_to_interop_server() {
    let (server, mut lines, port) = start(&built("rust-server", &["--port", "0"]).await).await;
    let out = run_to_end(&spec(&["python3", "client.py", "127.0.0.1", &port]), LIMIT).await.unwrap();
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(next(&mut lines).await.starts_with("Hello: 127.0.0.1:"));
    assert_eq!(next(&mut lines).await, "Hello PythonSocket!!!");
    stop(server).await;
}

#[tokio::test]
async fn tutorial_java_client_delivers_to_interop_server() {
    let classes = tempfile::tempdir().unwrap();
    let dir = classes.path().to_string_lossy().into_owned();
    let javac = run_to_end(&spec(&["javac", "-d", &dir, "TutorialClient.java"]), Duration::from_secs(120))
        .await
        .unwrap();
    assert!(javac.success(), "{}", String::from_utf8_lossy(&javac.stderr));
    let (server, mut lines, port) = start(&built("rust-server", &["--port", "0"]).await).await;
    let out =
        run_to_end(&spec(&["java", "-cp", &dir, "TutorialClient", "127.0.0.1", &port]), LIMIT).await.unwrap();
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(next(&mut lines).await.starts_with("Hello: 127.0.0.1:"));
    assert_eq!(next(&mut lines).await, "Hello SocketServer!!!");
    stop(server).await;
}

#[tokio::test]
async fn interop_client_delivers_to_the_tutorial_python_server() {
    let (server, mut lines, port) = start(&spec(&["python3", "-u", "server.py", "127.0.0.1", "0"])).await;
    let client = built("rust", &["--port", &port]).await;
    let out = run_to_end(&client, LIMIT).await.unwrap();
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello SocketServer!!!\n");
    assert!(next(&mut lines).await.starts_with("Hello: ('127.0.0.1', "));
    assert_eq!(next(&mut lines).await, "Hello SocketServer!!!");
    stop(server).await;
}
