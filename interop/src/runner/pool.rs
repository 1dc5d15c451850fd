//! Servers shared between cells, so that the matrix does not start a Java, Python or Node.js
//! process for every delivery cell: a server whose manifest entry says it is `reusable` serves its
//! delivery cells over TCP one after another, one cell at a time, in one process per command line
//! (server, mode, host and options) and cell running at once.
//!
//! A cell has its server to itself from [`ServerPool::take`] until it gives it back, so everything
//! the server prints in between is the cell's. It gives it back ([`ServerPool::give_back`]) only
//! if the cell passed and the server is idle: running, with every connection it
//! accepted finished. Otherwise the cell stops it, as a cell with a server of its own does, and
//! its exit is checked. The pool knows how many attempts will still ask for each command line, so
//! that a server no later cell will take is stopped by the last cell that used it, and its exit
//! is that cell's to check: no server is left for the end of the run.

use super::server::Server;
use crate::catalogue::CaseKind;
use crate::plan::Cell;
use crate::runner::prepare::Prepared;
use interop_wire::Transport;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The servers kept between cells, by command line, and how many attempts still want each.
#[derive(Debug, Default)]
pub struct ServerPool {
    slots: Mutex<HashMap<String, Slot>>,
}

#[derive(Debug, Default)]
struct Slot {
    /// Attempts that will still take a server with this command line.
    remaining: usize,
    /// Servers waiting for the next of them.
    idle: Vec<Server>,
}

impl ServerPool {
    /// A pool for `attempts` attempts of each of `cells`: each cell's attempts share servers with
    /// those of the other cells with the same server command line. A cell it was not told of
    /// (a retry, say) starts a server of its own.
    pub fn for_cells(prepared: &Prepared, cells: &[Cell], attempts: u32) -> ServerPool {
        let mut slots: HashMap<String, Slot> = HashMap::new();
        let runnable = cells
            .iter()
            .filter(|c| c.skipped.is_none() && c.unsupported().is_none() && prepared.blocked(c).is_none());
        for key in runnable.filter_map(|cell| key(prepared, cell, Path::new(""))) {
            slots.entry(key).or_default().remaining += attempts as usize;
        }
        ServerPool { slots: Mutex::new(slots) }
    }

    /// A server kept for a cell with this `key`, if one is idle; either way, one attempt fewer
    /// will ask.
    pub fn take(&self, key: &str) -> Option<Server> {
        let mut slots = self.lock();
        let slot = slots.get_mut(key)?;
        slot.remaining = slot.remaining.saturating_sub(1);
        slot.idle.pop()
    }

    /// Keeps `server` for a later cell with this `key`; returns it, to be stopped, when no later
    /// cell would take it.
    pub fn give_back(&self, key: &str, server: Server) -> Option<Server> {
        let mut slots = self.lock();
        match slots.get_mut(key) {
            Some(slot) if slot.idle.len() < slot.remaining => {
                slot.idle.push(server);
                None
            }
            _ => Some(server),
        }
    }

    /// Kills the servers still kept: only those of attempts that were counted and never came (an
    /// interrupted run, or a cell the run gave up on), whose exit nobody is left to check.
    pub async fn close(&self) {
        let idle: Vec<Server> = self.lock().values_mut().flat_map(|slot| slot.idle.drain(..)).collect();
        for server in idle {
            server.kill().await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The key under which `cell` shares its server with others (its server's command line), if it
/// may: a `reusable` server, a delivery case (or one whose fault breaks it) over TCP, so that the
/// server's events for the cell are told apart by connection, never by datagram or socket file.
pub fn key(prepared: &Prepared, cell: &Cell, path: &Path) -> Option<String> {
    let shares = cell.server.reusable
        && cell.case.transport == Transport::Tcp
        && !cell.case.stale_socket
        && matches!(cell.case.kind, CaseKind::Deliver(_) | CaseKind::Broken { .. });
    shares.then(|| prepared.server_command(cell, 0, path).shell())
}
