//! Child processes: each in its own process group, so that a timeout kills the whole group (an
//! `npm`, `python` or shell wrapper cannot leave orphans), with stdout and stderr drained on their
//! own tasks so a full pipe can never block a child.
//!
//! Every group the harness starts is recorded in a [`Registry`] while it lives, and every child
//! carries [`RUN_ID_VAR`] in its environment (inherited by its own children), so that nothing the
//! harness starts can outlive it:
//!
//! - **Interrupted** (SIGINT, SIGTERM, SIGHUP, caught with [`Signals`]): [`Registry::terminate`]
//!   refuses new processes, sends SIGTERM to every group, waits a short grace (cut short by a
//!   second signal), sends SIGKILL, and removes the run's temporary files.
//! - **Killed** (SIGKILL, a crash, anything that gives the harness no chance to clean up): the
//!   [watchdog](Registry::start_watchdog) does the same. It is a copy of the harness's own
//!   executable in its own process group, whose stdin is a pipe whose only write end the harness
//!   holds; the harness tells it of each group and temporary file as they come and go.
//!
//! ## Why the watchdog is sound
//!
//! The kernel closes every descriptor of a process when it dies, however it dies, so the watchdog
//! reads end-of-file exactly when the harness is gone (or done). The write end is created
//! close-on-exec (as Rust creates every pipe), so no child of the harness can hold it open, and
//! the watchdog, in its own process group, gets no terminal signal meant for the harness. It
//! then ends the groups it was told of (grandchildren included: a wrapper's children stay in its
//! group) and, on Linux, every process whose environment carries this run's [`RUN_ID_VAR`]: that
//! also covers a child started in the microseconds before the watchdog heard of it, and one that
//! left its group (`setsid`) without clearing its environment.
//!
//! `PR_SET_PDEATHSIG` was not used: it needs `unsafe` (`pre_exec`), reaches only the direct child
//! (not an `npm` or `mvn` wrapper's children), and fires when the *thread* that forked the child
//! exits, which a tokio worker or blocking thread may do while the harness lives on.
//!
//! A process group id is signalled only while its group is registered (its leader not yet dropped),
//! so an id is never signalled long after its group ended and the id could name someone else's.

use crate::results::Exit;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The environment variable set on every child the harness starts (and so inherited by theirs):
/// the run's id, unique to one harness process. It marks what belongs to the run, so that the
/// watchdog (and a test) can find any survivor in `/proc/*/environ`.
pub const RUN_ID_VAR: &str = "INTEROP_RUN_ID";

/// Set (to the run's id) on the watchdog only: it makes the harness's executable act as the
/// watchdog ([`watchdog_main`]) instead of doing what it normally does.
pub const WATCHDOG_VAR: &str = "INTEROP_WATCHDOG";

/// How long the processes of an interrupted run get between SIGTERM and SIGKILL: long enough for
/// a server to close its socket and a JVM to run its shutdown hooks, short enough for a person
/// waiting at a terminal.
pub const GRACE: Duration = Duration::from_secs(2);

/// How often [`Registry::terminate`] and the watchdog look whether everything is gone yet.
const POLL: Duration = Duration::from_millis(50);

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

    /// Starts the command in a new process group registered with [`Registry::global`], stdin
    /// closed, stdout and stderr piped.
    pub fn spawn(&self) -> std::io::Result<GroupChild> {
        self.spawn_in(Registry::global())
    }

    /// Starts the command in a new process group registered with `registry`, marked with its
    /// [`RUN_ID_VAR`]. Fails with [`std::io::ErrorKind::Interrupted`] once the registry was
    /// interrupted: a run being stopped starts nothing new.
    pub fn spawn_in(&self, registry: &'static Registry) -> std::io::Result<GroupChild> {
        self.spawn_with(registry, Stdio::piped())
    }

    /// As [`spawn`](Self::spawn), but with stdout written to `file` (a server's log under load,
    /// which no pipe reader should slow down).
    pub fn spawn_to_file(&self, file: std::fs::File) -> std::io::Result<GroupChild> {
        self.spawn_with(Registry::global(), Stdio::from(file))
    }

    fn spawn_with(&self, registry: &'static Registry, stdout: Stdio) -> std::io::Result<GroupChild> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env(RUN_ID_VAR, &registry.run_id)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // Spawning under the lock: `terminate` either sees the new group or has already closed the
        // registry, so no process can slip past an interruption.
        let mut state = registry.lock();
        if state.closed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the run was interrupted: no new process is started",
            ));
        }
        let child = command.spawn()?;
        // With `process_group(0)` the child leads a new group whose id is its pid.
        let pgid = child.id().and_then(|id| i32::try_from(id).ok());
        if let Some(pgid) = pgid {
            state.groups.insert(pgid);
            state.tell(&format!("+g {pgid}"));
        }
        Ok(GroupChild { child, pgid, registry })
    }
}

/// A running child that leads its own process group, registered while this value lives. Dropping
/// it sends SIGKILL to the group (whatever a wrapper left behind ends with it) and forgets it.
#[derive(Debug)]
pub struct GroupChild {
    child: Child,
    /// The group's id (the child's pid); `None` only if the child was reaped at once.
    pgid: Option<i32>,
    registry: &'static Registry,
}

impl GroupChild {
    /// The child's stdout pipe (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr pipe (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Waits for the child (the group's leader) to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The child's exit status, if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// The id of its process group (its own pid); `None` only if it was reaped at once.
    pub fn pgid(&self) -> Option<i32> {
        self.pgid
    }

    /// Sends `signal` to the whole group (a no-op if it is gone).
    pub fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH (already gone) is fine: that is what we wanted.
            let _ = killpg(Pid::from_raw(pgid), signal);
        }
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        if let Some(pgid) = self.pgid {
            let mut state = self.registry.lock();
            state.groups.remove(&pgid);
            state.tell(&format!("-g {pgid}"));
        }
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

    /// How it ended: "exit code 3", "killed by signal 9", "timed out after 30.0 s and was killed".
    pub fn exit(&self) -> Exit {
        self.status.map_or_else(|| Exit::timed_out(self.duration), Exit::of)
    }

    /// [`Output::exit`] as text.
    pub fn status_text(&self) -> String {
        self.exit().to_string()
    }
}

/// Sends `signal` to the process group led by `child` (no-op if it is gone).
pub fn signal_group(child: &GroupChild, signal: Signal) {
    child.signal(signal);
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
pub async fn wait_or_kill(child: &mut GroupChild, limit: Duration) -> Option<ExitStatus> {
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
    let stdout = drain(child.take_stdout());
    let stderr = drain(child.take_stderr());
    let status = wait_or_kill(&mut child, limit).await;
    Ok(Output {
        status,
        stdout: stdout.await.unwrap_or_default(),
        stderr: stderr.await.unwrap_or_default(),
        duration: started.elapsed(),
    })
}

/// Where a [`Registry`] is in stopping its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Nothing asked the run to stop.
    Running,
    /// Interrupted: no new process starts; the run's groups have had SIGTERM.
    Stopping,
    /// Every group has had SIGKILL and the temporary files are removed.
    Stopped,
}

/// The process groups and temporary files of one run, so that an interruption, or the watchdog
/// when the harness dies, can end and remove them all.
#[derive(Debug)]
pub struct Registry {
    /// The value of [`RUN_ID_VAR`] in every child.
    run_id: String,
    state: Mutex<State>,
    phase: watch::Sender<Phase>,
}

#[derive(Debug, Default)]
struct State {
    /// No new process may start.
    closed: bool,
    /// Ids of live process groups (each led by a [`GroupChild`]).
    groups: BTreeSet<i32>,
    /// Temporary files to remove if the run is stopped.
    files: BTreeSet<PathBuf>,
    /// The pipe to the watchdog, once started.
    watchdog: Option<std::process::ChildStdin>,
}

impl State {
    /// Tells the watchdog one line (`+g ID`, `-g ID`, `+f PATH`, `-f PATH`). One `write` of a few
    /// bytes under the lock; if the watchdog is gone, it is forgotten.
    fn tell(&mut self, line: &str) {
        if let Some(pipe) = &mut self.watchdog
            && pipe.write_all(format!("{line}\n").as_bytes()).is_err()
        {
            self.watchdog = None;
        }
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry with a fresh run id (`<pid>-<nanoseconds>`: unique on this machine).
    pub fn new() -> Registry {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Registry {
            run_id: format!("{}-{nanos}", std::process::id()),
            state: Mutex::new(State::default()),
            phase: watch::Sender::new(Phase::Running),
        }
    }

    /// The registry of this process, used by [`CommandSpec::spawn`]: signals are per process, and
    /// so is what they must stop.
    pub fn global() -> &'static Registry {
        static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::new);
        &GLOBAL
    }

    /// The value of [`RUN_ID_VAR`] in this run's children.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Drops `value` (e.g. the harness's end of a pipe) while no process is being spawned, so
    /// that no child can hold a copy of its descriptor: a child gets a copy of every descriptor
    /// at `fork` and keeps it until `exec` closes the close-on-exec ones, and every spawn holds
    /// this registry's lock until its child has exec'd. Without this, a server writing to a pipe
    /// whose read end the harness closed could still succeed, into another child's copy.
    pub fn drop_between_spawns<T>(&self, value: T) {
        let _no_spawn = self.lock();
        drop(value);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain sets, consistent after any panic: keep going.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the run was interrupted (it stays so).
    pub fn interrupted(&self) -> bool {
        *self.phase.borrow() != Phase::Running
    }

    /// Waits until the run has reached `phase` (at once if it has).
    pub async fn reached(&self, phase: Phase) {
        let mut phases = self.phase.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we borrow it.
        let _ = phases.wait_for(|now| *now >= phase).await;
    }

    /// Records a temporary file, removed by [`Registry::terminate`] or the watchdog if the run is
    /// stopped before [`Registry::forget_file`].
    pub fn track_file(&self, path: &Path) {
        let mut state = self.lock();
        state.files.insert(path.to_path_buf());
        state.tell(&format!("+f {}", path.display()));
    }

    /// Forgets a temporary file (its owner removed it).
    pub fn forget_file(&self, path: &Path) {
        let mut state = self.lock();
        state.files.remove(path);
        state.tell(&format!("-f {}", path.display()));
    }

    /// Starts the watchdog (see the module's documentation): this process's own executable, run
    /// with [`WATCHDOG_VAR`] set, which must call [`watchdog_main`] first thing. Groups and files
    /// already registered are handed to it.
    pub fn start_watchdog(&self) -> std::io::Result<()> {
        use std::os::unix::process::CommandExt as _;
        // On Linux, /proc/self/exe still runs the harness when its file was replaced by a rebuild.
        let exe = if cfg!(target_os = "linux") {
            PathBuf::from("/proc/self/exe")
        } else {
            std::env::current_exe()?
        };
        let mut watchdog = std::process::Command::new(exe)
            .env(WATCHDOG_VAR, &self.run_id)
            .stdin(Stdio::piped())
            // Not the harness's stdout or stderr: a reader waiting for their end would wait for
            // the watchdog too.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: Ctrl-C at a terminal reaches the harness's group, not the watchdog.
            .process_group(0)
            .spawn()?;
        let mut state = self.lock();
        state.watchdog = watchdog.stdin.take();
        let known: Vec<String> = state
            .groups
            .iter()
            .map(|g| format!("+g {g}"))
            .chain(state.files.iter().map(|f| format!("+f {}", f.display())))
            .collect();
        for line in known {
            state.tell(&line);
        }
        // The watchdog lives until this process ends; it is never waited for.
        drop(watchdog);
        Ok(())
    }

    /// Stops the run: no new process starts; SIGTERM to every group (and, on Linux, to every
    /// process marked with this run's id); then, when they are all gone, after `grace`, or when
    /// `hurry` completes (a second Ctrl-C), whichever comes first, SIGKILL to whatever remains;
    /// then the temporary files are removed. Running cells see their processes end; waiters on
    /// [`Registry::reached`] wake up.
    pub async fn terminate(&self, grace: Duration, hurry: impl Future<Output = ()>) {
        let groups = {
            let mut state = self.lock();
            state.closed = true;
            state.groups.clone()
        };
        self.phase.send_if_modified(|phase| {
            let was = *phase;
            *phase = was.max(Phase::Stopping);
            *phase != was
        });
        signal_all(&groups, &self.run_id, Signal::SIGTERM);
        let gone = async {
            // Groups whose leader was reaped and dropped have left the registry.
            while alive(&self.lock().groups.clone(), &self.run_id) {
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            () = gone => {}
            () = tokio::time::sleep(grace) => {}
            () = hurry => {}
        }
        let (groups, files) = {
            let state = self.lock();
            (state.groups.clone(), state.files.clone())
        };
        // Even groups that look gone: a zombie leader hides nothing, and SIGKILL to it is harmless.
        signal_all(&groups, &self.run_id, Signal::SIGKILL);
        for file in files {
            let _ = std::fs::remove_file(file);
        }
        self.phase.send_replace(Phase::Stopped);
    }
}

/// Sends `signal` to every group in `groups` and every process marked with `run_id`.
fn signal_all(groups: &BTreeSet<i32>, run_id: &str, signal: Signal) {
    for &group in groups {
        let _ = killpg(Pid::from_raw(group), signal);
    }
    for pid in marked(run_id) {
        let _ = kill(pid, signal);
    }
}

/// Whether any of `groups` still has a process (a zombie counts), or any process is marked with
/// `run_id` (a zombie does not: its environment reads empty).
fn alive(groups: &BTreeSet<i32>, run_id: &str) -> bool {
    groups.iter().any(|&g| killpg(Pid::from_raw(g), None).is_ok()) || !marked(run_id).is_empty()
}

/// Every other process whose environment has `RUN_ID_VAR=run_id`. Processes of other users are
/// unreadable and skipped: they cannot be the run's.
#[cfg(target_os = "linux")]
fn marked(run_id: &str) -> Vec<Pid> {
    let (key, value) = (std::ffi::OsStr::new(RUN_ID_VAR), std::ffi::OsStr::new(run_id));
    let me = std::process::id();
    let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
    all.flatten()
        .filter(|process| u32::try_from(process.pid).is_ok_and(|pid| pid != me))
        .filter(|process| process.environ().is_ok_and(|env| env.get(key).is_some_and(|v| v == value)))
        .map(|process| Pid::from_raw(process.pid))
        .collect()
}

/// Elsewhere, process groups are all there is.
#[cfg(not(target_os = "linux"))]
fn marked(_run_id: &str) -> Vec<Pid> {
    Vec::new()
}

/// If this process was started as a watchdog (by [`Registry::start_watchdog`]), does the
/// watchdog's job and returns its exit code; otherwise returns `None` at once. Every `main` that
/// starts a watchdog calls this first.
pub fn watchdog_main() -> Option<std::process::ExitCode> {
    let run_id = std::env::var(WATCHDOG_VAR).ok()?;
    watch_until_end(&run_id, std::io::stdin().lock(), GRACE);
    Some(std::process::ExitCode::SUCCESS)
}

/// The watchdog: follows what the harness says on `input` until its end (the harness is gone),
/// then ends what is left: SIGTERM, up to `grace` for it to go, SIGKILL, and removes the files.
fn watch_until_end(run_id: &str, input: impl BufRead, grace: Duration) {
    let (mut groups, mut files) = (BTreeSet::new(), BTreeSet::new());
    for line in input.lines() {
        let Ok(line) = line else { break };
        match line.split_once(' ') {
            Some(("+g", id)) => groups.extend(id.parse::<i32>()),
            Some(("-g", id)) => {
                if let Ok(id) = id.parse::<i32>() {
                    groups.remove(&id);
                }
            }
            Some(("+f", path)) => {
                files.insert(PathBuf::from(path));
            }
            Some(("-f", path)) => {
                files.remove(Path::new(path));
            }
            _ => {}
        }
    }
    signal_all(&groups, run_id, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && alive(&groups, run_id) {
        std::thread::sleep(POLL);
    }
    signal_all(&groups, run_id, Signal::SIGKILL);
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught from when [`Signals::listen`] is called: the process then
/// no longer dies of them, so whoever listens must stop the run.
#[derive(Debug)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts catching the three signals (inside a tokio runtime).
    pub fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them to arrive.
    pub async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::SIGINT,
            _ = self.terminate.recv() => Signal::SIGTERM,
            _ = self.hangup.recv() => Signal::SIGHUP,
        }
    }
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

    /// A registry of its own, so that interrupting it leaves the other tests' processes alone.
    fn registry() -> &'static Registry {
        Box::leak(Box::new(Registry::new()))
    }

    /// A shell that ignores SIGTERM, with a background `sleep` in its group that does too.
    fn stubborn() -> CommandSpec {
        sh("trap '' TERM; sleep 30 & sleep 30")
    }

    fn gone(child: &GroupChild) -> bool {
        killpg(Pid::from_raw(child.pgid.unwrap()), None).is_err()
    }

    /// Waits until `child`'s whole group is gone: killed processes vanish once reaped (a killed
    /// wrapper's children by whoever they were reparented to), a moment later.
    async fn until_gone(child: &GroupChild) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !gone(child) {
            assert!(Instant::now() < deadline, "group {:?} still there", child.pgid);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn terminate_kills_every_group_removes_files_and_refuses_new_processes() {
        let registry = registry();
        let mut children: Vec<GroupChild> = (0..2).map(|_| stubborn().spawn_in(registry).unwrap()).collect();
        let file = std::env::temp_dir().join(format!("interop-test-{}.sock", registry.run_id()));
        std::fs::write(&file, b"").unwrap();
        registry.track_file(&file);
        // Let the shells install their trap before the SIGTERM they must survive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        registry.terminate(Duration::from_millis(500), std::future::pending()).await;
        assert!(started.elapsed() >= Duration::from_millis(500), "SIGTERM was ignored: the grace ran out");
        // A timeout polls its future once before looking at the clock: this asks "already there?".
        assert!(tokio::time::timeout(Duration::ZERO, registry.reached(Phase::Stopped)).await.is_ok());
        for child in &mut children {
            use std::os::unix::process::ExitStatusExt as _;
            let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
            assert_eq!(status.signal(), Some(9), "{status}");
            // The background sleep, killed with its group.
            until_gone(child).await;
        }
        assert!(!file.exists());
        let refused = sh("true").spawn_in(registry).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::Interrupted);
    }

    #[tokio::test]
    async fn hurrying_skips_the_grace() {
        let registry = registry();
        let mut child = stubborn().spawn_in(registry).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        registry.terminate(Duration::from_secs(600), async {}).await;
        assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
        assert!(registry.interrupted());
    }

    #[tokio::test]
    async fn dropping_a_child_kills_its_group_and_forgets_it() {
        let registry = registry();
        let child = sh("sleep 30 & sleep 30").spawn_in(registry).unwrap();
        let pgid = child.pgid.unwrap();
        assert!(registry.lock().groups.contains(&pgid));
        drop(child);
        assert!(!registry.lock().groups.contains(&pgid));
        let deadline = Instant::now() + Duration::from_secs(30);
        while killpg(Pid::from_raw(pgid), None).is_ok() {
            assert!(Instant::now() < deadline, "group {pgid} still there");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn the_watchdog_ends_what_it_was_told_of_when_its_input_ends() {
        use std::os::unix::process::ExitStatusExt as _;
        let registry = registry();
        let mut told = stubborn().spawn_in(registry).unwrap();
        // Forgotten (as if it had ended) but still running: only its run id gives it away.
        let mut hidden = sh("sleep 30").spawn_in(registry).unwrap();
        let file = std::env::temp_dir().join(format!("interop-watchdog-test-{}", registry.run_id()));
        std::fs::write(&file, b"").unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (told_id, hidden_id) = (told.pgid.unwrap(), hidden.pgid.unwrap());
        let said = format!("+g {told_id}\n+g {hidden_id}\n+f {}\nnonsense\n-g {hidden_id}\n", file.display());
        let run_id = registry.run_id().to_owned();
        tokio::task::spawn_blocking(move || {
            watch_until_end(&run_id, said.as_bytes(), Duration::from_millis(300));
        })
        .await
        .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), told.wait()).await.unwrap().unwrap();
        assert_eq!(status.signal(), Some(9), "ignored SIGTERM, so killed after the grace: {status}");
        until_gone(&told).await;
        assert!(!file.exists());
        if cfg!(target_os = "linux") {
            let status = tokio::time::timeout(Duration::from_secs(30), hidden.wait()).await.unwrap().unwrap();
            assert_eq!(status.signal(), Some(15), "found by its run id: {status}");
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn children_carry_the_run_id() {
        let registry = registry();
        let mut out = sh("echo $INTEROP_RUN_ID").spawn_in(registry).unwrap();
        let stdout = drain(out.take_stdout());
        out.wait().await.unwrap();
        assert_eq!(String::from_utf8(stdout.await.unwrap()).unwrap().trim(), registry.run_id());
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
