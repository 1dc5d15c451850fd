//! The `interop-server` binary: first line, signals, IPv6.

use assert_cmd::cargo::CommandCargoExt as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn start(args: &[&str]) -> (std::process::Child, BufReader<std::process::ChildStdout>, String) {
    let mut child =
        Command::cargo_bin("interop-server").unwrap().args(args).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first.strip_prefix("listening on ").expect(&first).trim().to_string();
    (child, out, addr)
}

fn terminate(mut child: std::process::Child) -> std::process::ExitStatus {
    nix_kill(child.id());
    child.wait().unwrap()
}

fn nix_kill(pid: u32) {
    Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
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
    let status = Command::cargo_bin("interop-server").unwrap().args(["--mode", "udp"]).output().unwrap();
    assert_eq!(status.status.code(), Some(2));
}
