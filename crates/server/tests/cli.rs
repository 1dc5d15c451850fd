//! The `interop-server` binary: first line, signals, IPv6.

use assert_cmd::cargo::CommandCargoExt as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Held while a child is spawned, and while a test closes its end of a server's stdout. Between
/// its fork and its exec, a child holds a copy of every descriptor of this process, close-on-exec
/// or not: a pipe closed by one test while another spawns would still have a reader for that
/// moment, and the server could write its log to it.
static SPAWNING: Mutex<()> = Mutex::new(());

fn spawning() -> MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn spawn(command: &mut Command) -> Child {
    let _spawning = spawning();
    command.spawn().unwrap()
}

/// Starts the server with `args` (stdout and stderr piped) and reads its `listening on` line.
fn start(args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>, String) {
    let mut child = spawn(
        Command::cargo_bin("interop-server")
            .unwrap()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first.strip_prefix("listening on ").expect(&first).trim().to_string();
    (child, out, addr)
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    nix_kill(child.id());
    child.wait().unwrap()
}

fn nix_kill(pid: u32) {
    spawn(Command::new("kill").arg("-TERM").arg(pid.to_string())).wait().unwrap();
}

#[test]
fn prints_the_tutorials_hello_and_message_then_exits_0_on_sigterm() {
    let (child, mut out, addr) = start(&["--port", "0"]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(b"Hello SocketServer!!!").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let local = stream.local_addr().unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    let (mut hello, mut message) = (String::new(), String::new());
    out.read_line(&mut hello).unwrap();
    out.read_line(&mut message).unwrap();
    assert_eq!(hello, format!("Hello: {local}\n"));
    assert_eq!(message, "Hello SocketServer!!!\n");
    assert!(terminate(child).success());
}

#[test]
fn sigterm_the_moment_it_says_listening_is_still_a_clean_exit() {
    // A harness stops a server as soon as its clients are done, which can be right after the
    // `listening on` line: the handler must be in place before that line is printed.
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for transport in ["tcp", "udp"] {
        for _ in 0..50 {
            let (mut child, _out, _addr) = start(&["--port", "0", "--transport", transport]);
            kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGTERM).unwrap();
            let status = child.wait().unwrap();
            assert!(status.success(), "{transport}: {status}");
        }
    }
}

#[test]
fn listens_on_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; nothing to check");
        return;
    }
    let (child, _out, addr) = start(&["--host", "::1", "--port", "0", "--format", "json"]);
    assert!(addr.starts_with("[::1]:"), "{addr}");
    assert!(terminate(child).success());
}

#[test]
fn bad_arguments_are_a_usage_error() {
    let mut child =
        spawn(Command::cargo_bin("interop-server").unwrap().args(["--mode", "udp"]).stderr(Stdio::null()));
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

/// Waits for `child` to exit, failing the test after `limit`.
fn wait_at_most(child: &mut Child, limit: std::time::Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    stderr
}

#[test]
fn a_stdout_that_cannot_be_written_is_one_error_line_and_exit_3() {
    let full = std::fs::File::create("/dev/full").unwrap();
    let mut child = spawn(
        Command::cargo_bin("interop-server")
            .unwrap()
            .args(["--port", "0", "--mode", "framed"])
            .stdout(full)
            .stderr(Stdio::piped()),
    );
    // The `listening on` line cannot be written, so nothing is ever served.
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(30));
    assert_eq!(status.code(), Some(3), "{status}");
    assert_eq!(stderr_of(&mut child), "error: writing output: No space left on device (os error 28)\n");
}

#[test]
fn a_log_reader_that_goes_away_means_err_output_not_an_ack_and_exit_3() {
    use interop_wire::{Reply, read_frame, write_frame};
    for format in ["text", "json"] {
        let (mut child, out, addr) = start(&["--port", "0", "--mode", "framed", "--format", format]);
        {
            // Gone for good: no child being spawned holds a copy of it (see `SPAWNING`).
            let _spawning = spawning();
            drop(out);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let reply = runtime.block_on(async {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            // The write may fail if the server is already gone; the reply is what counts (§3.4).
            let _ = write_frame(&mut stream, b"must not be acknowledged").await;
            read_frame(&mut stream, 1024).await.unwrap().expect("a reply")
        });
        let reply = Reply::parse(&reply).unwrap();
        assert_eq!(
            reply,
            Reply::Err { code: "output".into(), detail: "writing output: Broken pipe (os error 32)".into() },
            "{format}"
        );
        let status = wait_at_most(&mut child, std::time::Duration::from_secs(30));
        assert_eq!(status.code(), Some(3), "{format}: {status}");
        assert_eq!(stderr_of(&mut child), "error: writing output: Broken pipe (os error 32)\n", "{format}");
    }
}

#[test]
fn sigterm_with_clients_streaming_exits_0_after_the_grace_with_every_ack_logged() {
    use interop_wire::{Reply, read_frame, write_frame};
    let (mut child, out, addr) = start(&["--port", "0", "--mode", "framed", "--format", "json"]);
    let log = std::thread::spawn(move || out.lines().map(Result::unwrap).collect::<Vec<_>>());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // Five stop-and-wait clients that send until the server cuts them off; each returns its
    // address and how many of its messages were acknowledged.
    let (streaming_tx, mut streaming) = tokio::sync::mpsc::channel(5);
    let clients: Vec<_> = (0..5)
        .map(|_| {
            let (addr, streaming_tx) = (addr.clone(), streaming_tx.clone());
            runtime.spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                let local = stream.local_addr().unwrap().to_string();
                let mut acked = 0u64;
                loop {
                    if write_frame(&mut stream, b"streaming").await.is_err() {
                        break;
                    }
                    match read_frame(&mut stream, 1024).await {
                        Ok(Some(reply)) if matches!(Reply::parse(&reply), Ok(Reply::Ack { .. })) => {
                            acked += 1
                        }
                        _ => break,
                    }
                    if acked == 10 {
                        let _ = streaming_tx.send(()).await;
                    }
                }
                (local, acked)
            })
        })
        .collect();
    runtime.block_on(async {
        for _ in 0..5 {
            streaming.recv().await.unwrap();
        }
    });
    let signalled = std::time::Instant::now();
    nix_kill(child.id());
    let status = wait_at_most(&mut child, std::time::Duration::from_secs(60));
    let took = signalled.elapsed();
    assert!(status.success(), "{status}");
    // The grace period is 5 s; the rest is the cutting and a busy machine's margin.
    assert!(took < std::time::Duration::from_secs(5 + 10), "took {took:?}");
    eprintln!("exited {took:?} after SIGTERM");
    let lines = log.join().unwrap();
    for client in clients {
        let (local, acked) = runtime.block_on(client).unwrap();
        let peer = format!(r#""peer":"{local}""#);
        let logged = lines.iter().filter(|l| l.contains(&peer) && l.contains(r#""event":"message""#)).count();
        assert!(logged as u64 >= acked, "{local}: {acked} acknowledged, {logged} logged");
        let ends = lines
            .iter()
            .filter(|l| {
                l.contains(&peer) && (l.contains(r#""event":"closed""#) || l.contains(r#""event":"error""#))
            })
            .count();
        assert_eq!(ends, 1, "{local}: one closed or error event: {lines:#?}");
    }
}
