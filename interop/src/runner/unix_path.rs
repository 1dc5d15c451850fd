//! Unix socket paths for attempts.

use crate::plan::Cell;
use crate::process::Registry;
use interop_wire::Transport;
use std::path::PathBuf;

/// A Unix socket path for one attempt: short (paths hold at most 107 bytes) and unique, in the
/// temporary directory; removed when dropped, and registered meanwhile so that an interrupted or
/// killed run removes it too. The `unix-long-path` case gets one that is too long.
pub struct UnixPath {
    /// The path.
    pub path: PathBuf,
}

impl UnixPath {
    /// A fresh path, registered for removal.
    pub fn new() -> UnixPath {
        let path = Self::unique();
        Registry::global().track_file(&path);
        UnixPath { path }
    }

    /// A fresh path; nothing is created there.
    fn unique() -> PathBuf {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("interop-{}-{n}.sock", std::process::id()))
    }

    /// The path repro lines show for `cell`: a fresh one for the Unix transport.
    pub fn for_repro(cell: &Cell) -> PathBuf {
        if cell.case.transport == Transport::Unix { Self::unique() } else { PathBuf::new() }
    }
}

impl Drop for UnixPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        Registry::global().forget_file(&self.path);
    }
}
