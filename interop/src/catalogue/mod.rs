//! The case catalogue: every case's name, written spec, deterministic payloads and what is
//! asserted. This is the one place cases are defined; `interop list` prints it.
//!
//! - [`case`]: what a case is ([`Case`], [`CaseKind`]) and the builders the tables use;
//! - [`payload`]: what clients send, and how it reaches them;
//! - the tables, by theme: [`basic`], [`transport`], [`client`], [`server`], [`fault`], and
//!   [`conformance`] (the harness itself as the client of each server).
//!
//! Cases are found by name, never by position: the order is only the order people read them in.

pub mod basic;
pub mod case;
pub mod client;
pub mod conformance;
pub mod fault;
pub mod payload;
pub mod server;
pub mod transport;

pub use basic::{CONCURRENT_CLIENTS, LARGE_BYTES, MANY_MESSAGES};
pub use case::{BUSY_LIMIT, Case, CaseKind, Probe, SILENT_MARGIN_MS};
pub use payload::{Payload, Via, pseudo_random};

/// Every case, theme by theme, in a stable order.
pub fn catalogue() -> Vec<Case> {
    [
        basic::cases(),
        transport::cases(),
        client::cases(),
        server::cases(),
        fault::cases(),
        conformance::cases(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxic::Toxic;

    #[test]
    fn names_are_unique_and_payloads_deterministic() {
        let cases = catalogue();
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        assert_eq!(pseudo_random(64, 7), pseudo_random(64, 7));
        assert_ne!(pseudo_random(64, 7), pseudo_random(64, 8));
    }

    #[test]
    fn the_busy_case_holds_as_many_connections_as_the_server_may_serve() {
        let busy = catalogue().into_iter().find(|c| c.name == "busy").unwrap();
        assert_eq!(busy.server_args, ["--max-connections", &BUSY_LIMIT.to_string()]);
    }

    #[test]
    fn argument_payloads_are_text_without_nul() {
        for case in catalogue() {
            if let CaseKind::Deliver(processes) = &case.kind {
                for payload in processes.iter().flatten().filter(|p| p.via == Via::Arg) {
                    assert!(payload.text().is_some_and(|t| !t.contains('\0')), "{}", case.name);
                }
            }
        }
    }

    #[test]
    fn a_hanging_connection_gets_a_short_client_timeout_whatever_the_order() {
        let hang = catalogue().into_iter().find(|c| c.name == "hello+timeout").unwrap();
        assert_eq!(hang.timeout_ms, Some(1000));
        let others = catalogue().into_iter().filter(|c| c.fault.is_some() && c.name != "hello+timeout");
        for case in others {
            let sliced = matches!(case.fault, Some(Toxic::Slicer { one_piece_per_read: true, .. }));
            let want = sliced.then_some(case::SLICED_TIMEOUT_MS);
            assert_eq!(case.timeout_ms, want, "{}", case.name);
        }
    }

    #[test]
    fn utf8_case_has_a_four_byte_character() {
        let case = catalogue().into_iter().find(|c| c.name == "utf8").unwrap();
        let CaseKind::Deliver(processes) = &case.kind else { panic!() };
        assert!(processes[0][0].text().unwrap().chars().any(|c| c.len_utf8() == 4));
    }
}
