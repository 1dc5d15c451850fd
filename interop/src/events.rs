//! What a run reports as it goes: [`RunEvent`]s. The runner emits them and never prints;
//! reporters (the terminal's progress) read them. This module imports nothing of the runner.

use crate::build::BuildStatus;
use crate::results::CellReport;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Something that happened, and when.
#[derive(Clone, Debug)]
pub struct RunEvent {
    /// When, on the wall clock.
    pub timestamp: SystemTime,
    /// Time since the run started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`RunEvent`].
#[derive(Clone, Debug)]
pub enum EventKind {
    /// The run begins: how many cells, how many at once.
    RunStarted {
        /// Cells in the plan.
        cells: usize,
        /// Cells run at once.
        jobs: usize,
    },
    /// An implementation is being checked and built if stale.
    BuildStarted {
        /// Its name.
        name: String,
    },
    /// Its build finished (or was fresh, unnecessary, impossible).
    BuildFinished {
        /// Its name.
        name: String,
        /// What happened.
        status: BuildStatus,
    },
    /// A cell started.
    CellStarted {
        /// `server/client/case`.
        name: String,
    },
    /// One attempt of a cell finished.
    AttemptFinished {
        /// `server/client/case`.
        name: String,
        /// 1 for the first attempt.
        number: u32,
        /// Whether it passed.
        passed: bool,
    },
    /// A cell finished, with its final status.
    CellFinished(Arc<CellReport>),
    /// The run finished (its report is what the run returns).
    RunFinished,
}

/// Something to tell events to.
pub type Listener = Arc<dyn Fn(RunEvent) + Send + Sync>;

/// Turns event kinds into [`RunEvent`]s timed from one start, and tells a [`Listener`].
#[derive(Clone)]
pub struct Emitter {
    started: Instant,
    listener: Listener,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter").field("started", &self.started).finish_non_exhaustive()
    }
}

impl Emitter {
    /// An emitter whose clock starts now.
    pub fn new(listener: Listener) -> Self {
        Emitter { started: Instant::now(), listener }
    }

    /// An emitter that tells nobody.
    pub fn silent() -> Self {
        Emitter::new(Arc::new(|_| {}))
    }

    /// Tells the listener that `kind` happened, now.
    pub fn emit(&self, kind: EventKind) {
        (self.listener)(RunEvent { timestamp: SystemTime::now(), elapsed: self.started.elapsed(), kind });
    }

    /// When the clock started.
    pub fn started(&self) -> Instant {
        self.started
    }
}
