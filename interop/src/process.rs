//! Child processes: each in its own process group, so that a timeout kills the whole group (an
//! `npm`, `python` or shell wrapper cannot leave orphans), with stdout and stderr drained on their
//! own tasks so a full pipe can never block a child.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// A command as the harness runs it, and as a person can re-run it by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

impl CommandSpec {
    /// A shell line that runs the same command: `cd DIR && VAR=value program args…`.
    pub fn shell(&self) -> String {
        let mut words: Vec<String> =
            self.env.iter().map(|(k, v)| format!("{k}={}", shell_words::quote(v))).collect();
        words.extend(self.argv.iter().map(|a| shell_words::quote(a).into_owned()));
        format!("cd {} && {}", shell_words::quote(&self.cwd.to_string_lossy()), words.join(" "))
    }

    /// Starts the command in a new process group, stdin closed, stdout and stderr piped.
    pub fn spawn(&self) -> std::io::Result<Child> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
        Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
    }
}

/// What a finished (or killed) process left behind.
#[derive(Clone, Debug)]
pub struct Output {
    /// Exit status; `None` if it had to be killed after its timeout.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// Wall time from spawn to exit.
    pub duration: Duration,
}

impl Output {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The exit code, if it exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// "exit code 3", "killed by signal 9", "timed out after 30 s".
    pub fn status_text(&self) -> String {
        use std::os::unix::process::ExitStatusExt as _;
        match self.status {
            None => format!("timed out after {:.1} s and was killed", self.duration.as_secs_f64()),
            Some(s) => match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                _ => s.to_string(),
            },
        }
    }
}

/// Sends `signal` to the process group led by `child` (no-op if it already exited).
pub fn signal_group(child: &Child, signal: Signal) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        // ESRCH (already gone) is fine: that is what we wanted.
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Reads a pipe to its end on its own task.
pub fn drain(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf).await;
        }
        buf
    })
}

/// Waits for `child` for at most `limit`; then SIGTERM to its group, a short grace, SIGKILL.
/// Returns `None` if it had to be killed.
pub async fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    if let Ok(status) = tokio::time::timeout(limit, child.wait()).await {
        return status.ok();
    }
    signal_group(child, Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_millis(500), child.wait()).await.is_err() {
        signal_group(child, Signal::SIGKILL);
        let _ = child.wait().await;
    } else {
        // It exited on SIGTERM; make sure nothing else in its group outlives it.
        signal_group(child, Signal::SIGKILL);
    }
    None
}

/// Runs `spec` to completion (or `limit`), collecting its output.
pub async fn run_to_end(spec: &CommandSpec, limit: Duration) -> std::io::Result<Output> {
    let started = Instant::now();
    let mut child = spec.spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_or_kill(&mut child, limit).await;
    Ok(Output {
        status,
        stdout: stdout.await.unwrap_or_default(),
        stderr: stderr.await.unwrap_or_default(),
        duration: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> CommandSpec {
        CommandSpec { argv: vec!["sh".into(), "-c".into(), script.into()], env: vec![], cwd: "/".into() }
    }

    #[tokio::test]
    async fn collects_output_and_status() {
        let out = run_to_end(&sh("echo out; echo err >&2; exit 3"), Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            (out.code(), out.stdout.as_slice(), out.stderr.as_slice()),
            (Some(3), &b"out\n"[..], &b"err\n"[..])
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group_including_grandchildren() {
        // The grandchild holds stdout open; if it survived, draining stdout would never end.
        let out =
            run_to_end(&sh("sleep 30 & sleep 30; echo never"), Duration::from_millis(200)).await.unwrap();
        assert!(out.status.is_none());
        assert!(out.duration < Duration::from_secs(10), "{:?}", out.duration);
        assert!(out.status_text().starts_with("timed out"));
    }

    #[test]
    fn shell_line_quotes_everything() {
        let spec = CommandSpec {
            argv: vec!["prog".into(), "two words".into(), "it's".into()],
            env: vec![("A".into(), "x y".into())],
            cwd: "/tmp/a b".into(),
        };
        assert_eq!(spec.shell(), r#"cd '/tmp/a b' && A='x y' prog 'two words' 'it'\''s'"#);
    }
}
