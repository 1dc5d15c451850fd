//! One attempt of a cell, run by the driver of its case's kind. Every driver gets a [`Trial`]
//! (what the attempt needs, and its record) and returns the problems it found: none means the
//! attempt passed.
//!
//! - [`deliver`]: the common case (and the fault and client-refuses cases);
//! - [`refused`], [`silent`]: clients alone, against a port nobody serves or a harness that never
//!   answers;
//! - [`restart`]: a server killed and started again;
//! - [`busy`], [`log_failure`]: a server over its connection limit, or with its log gone;
//! - [`conformance`]: the harness itself as the (hostile) client of a server.

mod busy;
pub(super) mod conformance;
mod deliver;
mod log_failure;
mod refused;
mod restart;
mod silent;
pub mod trial;

use crate::catalogue::CaseKind;
use crate::plan::Cell;
use crate::results::{Attempt, Problem, millis};
use crate::runner::pool::ServerPool;
use crate::runner::prepare::Prepared;
use crate::runner::unix_path::UnixPath;
use interop_wire::Transport;
use std::time::{Duration, Instant};
use trial::Trial;

/// Runs one attempt of `cell` (which must be supported; see [`Cell::unsupported`]).
/// A server may be shared with other cells through `pool`. With `record`, the clients talk to the server through a recording relay (TCP only). A
/// client process still running after `client_timeout` is killed, with its process group.
pub async fn attempt(
    (prepared, pool): (&Prepared, &ServerPool),
    cell: &Cell,
    record: bool,
    client_timeout: Duration,
) -> Attempt {
    let started = Instant::now();
    let socket = UnixPath::new();
    let mut trial = Trial {
        prepared,
        cell,
        pool,
        path: &socket.path,
        record: record && cell.case.transport == Transport::Tcp,
        client_timeout,
        attempt: Attempt {
            passed: false,
            reason: None,
            problems: Vec::new(),
            duration_ms: 0,
            server: None,
            clients: Vec::new(),
            transcript: None,
        },
    };
    let problems = match prepared.blocked(cell) {
        Some(why) => vec![Problem::setup(why)],
        None => drive(&mut trial).await,
    };
    let mut attempt = trial.attempt;
    attempt.passed = problems.is_empty();
    let details: Vec<&str> = problems.iter().map(|p| p.detail.as_str()).collect();
    attempt.reason = (!problems.is_empty()).then(|| details.join("\n"));
    attempt.problems = problems;
    attempt.duration_ms = millis(started.elapsed());
    attempt
}

/// Runs the driver of the case's kind.
async fn drive(t: &mut Trial<'_>) -> Vec<Problem> {
    match &t.cell.case.kind {
        CaseKind::Refused => refused::run(t).await,
        CaseKind::Silent { timeout_ms } => silent::run(t, *timeout_ms).await,
        CaseKind::Restart(_) => restart::run(t).await,
        CaseKind::Busy(_) => busy::run(t).await,
        CaseKind::LogFailure(_) => log_failure::run(t).await,
        CaseKind::Deliver(_) | CaseKind::ClientRefuses { .. } | CaseKind::Broken { .. } => {
            deliver::run(t).await
        }
        CaseKind::Conformance(probe) => conformance::run(t, *probe).await,
    }
}
