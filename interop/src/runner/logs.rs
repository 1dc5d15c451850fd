//! What reports keep of a process: its command, how it ended, and the end of its output.

use crate::process::{CommandSpec, Output};
use crate::results::ProcessLog;

/// Longest stdout or stderr kept per process in reports.
pub const LOG_LIMIT: usize = 64 * 1024;

/// Lossy UTF-8 of `bytes`, keeping the last [`LOG_LIMIT`] bytes (the end explains a failure).
pub fn cut(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= LOG_LIMIT {
        return text.into_owned();
    }
    let from = text.ceil_char_boundary(text.len() - LOG_LIMIT);
    format!("[{} bytes cut]\n{}", from, &text[from..])
}

/// A process's log for the report.
pub fn process_log(spec: &CommandSpec, out: &Output) -> ProcessLog {
    ProcessLog { command: spec.shell(), exit: out.exit(), stdout: cut(&out.stdout), stderr: cut(&out.stderr) }
}
