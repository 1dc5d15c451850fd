//! What a case is: its name and spec, what it does and asserts ([`CaseKind`]), and how it is run
//! (mode, transport, arguments, fault), with the builders the theme tables use.

use super::payload::{Payload, Via};
use crate::manifest::Feature;
use crate::toxic::Toxic;
use interop_wire::{Mode, Transport};

/// What a case does.
#[derive(Clone, Debug)]
pub enum CaseKind {
    /// Start one client process per entry, all at once, each sending its payloads in order;
    /// every payload must reach the server byte for byte, in order, and nothing else may.
    Deliver(Vec<Vec<Payload>>),
    /// No server listens on the port; the client must exit with code 3 (refused) before its
    /// `--timeout-ms` runs out, print nothing on stdout and one `error:` line on stderr.
    Refused,
    /// The client must refuse before sending anything: exit 2 with one `error:` line naming the
    /// problem (`needle`), nothing on stdout, and nothing in the server's log.
    ClientRefuses {
        /// What the client is asked to send.
        payloads: Vec<Payload>,
        /// Text its error line must contain.
        needle: &'static str,
    },
    /// A server (the harness's own) accepts and never replies; a client with `--timeout-ms
    /// timeout_ms` must exit 4 within the timeout plus [`SILENT_MARGIN_MS`].
    Silent {
        /// The client's `--timeout-ms`.
        timeout_ms: u64,
    },
    /// The server is killed (SIGKILL) with a connection open and started again at once on the
    /// same port: the bind must succeed and the payload be delivered to the new server.
    Restart(Payload),
    /// A fault breaks the connection: the client must fail (with `code` if given) and one
    /// `error:` line, and the server must log no message at all (errors are expected).
    Broken {
        /// What the client tries to send.
        payloads: Vec<Payload>,
        /// The exit code expected, if one is (e.g. 4 for a connection that hangs).
        code: Option<i32>,
    },
    /// The server runs with `--max-connections` [`BUSY_LIMIT`] and the harness holds that many
    /// connections to it: the client must be turned away with `ERR busy` (exit 5, an error line
    /// with `ERR busy`), and the server must log nothing from it and go on to exit 0.
    Busy(Payload),
    /// The harness closes the server's stdout after its `listening on` line: the client must get
    /// `ERR output`, not an acknowledgement (exit 5, an error line with `ERR output`), and the
    /// server must exit 3 on its own, with one `error:` line on stderr (PROTOCOL.md §5).
    LogFailure(Payload),
    /// A conformance probe: the harness itself plays a (hostile) client of the server, with no
    /// client process; its cells are `<server>/conformance/<case>`.
    Conformance(Probe),
}

/// What a conformance case does to the server; each is specified by its case's `spec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Bytes that are not a frame (an HTTP request), then an honest frame on a new connection.
    Garbage,
    /// `FF FF FF FF`, then the maximum plus one, as length prefixes.
    TooLarge,
    /// EOF inside a frame: in its payload, and in its length prefix.
    EofMidFrame,
    /// A reset (`SO_LINGER` 0) inside a frame, then an honest frame.
    RstMidFrame,
    /// Seeded random streams of valid frames, garbage, oversized and cut frames, some reset,
    /// checked against the wire crate's decoder; then an honest frame.
    RandomInput,
    /// Many connections dribbling a length prefix a byte a second while an honest one is served.
    Slowloris,
    /// Connections streaming frames when the server gets SIGTERM.
    SigtermDrain,
    /// A framed message over a Unix socket whose path holds a stale socket file.
    UnixStale,
    /// A datagram larger than the UDP maximum, then an honest one.
    UdpOversize,
}

/// The `--max-connections` of the `busy` case, and how many connections the harness holds.
pub const BUSY_LIMIT: usize = 2;

impl CaseKind {
    /// The payloads each client process is given, in the order the client sends them: files
    /// first, then arguments (PROTOCOL.md §6). Empty for cases that send nothing.
    pub fn processes(&self) -> Vec<Vec<Payload>> {
        let processes = match self {
            CaseKind::Deliver(processes) => processes.clone(),
            CaseKind::ClientRefuses { payloads, .. } => vec![payloads.clone()],
            CaseKind::Restart(payload) | CaseKind::Busy(payload) | CaseKind::LogFailure(payload) => {
                vec![vec![payload.clone()]]
            }
            CaseKind::Broken { payloads, .. } => vec![payloads.clone()],
            CaseKind::Refused | CaseKind::Silent { .. } => vec![Vec::new()],
            CaseKind::Conformance(_) => Vec::new(),
        };
        let sending_order = |payloads: Vec<Payload>| {
            let (files, args): (Vec<_>, Vec<_>) = payloads.into_iter().partition(|p| p.via == Via::File);
            files.into_iter().chain(args).collect()
        };
        processes.into_iter().map(sending_order).collect()
    }

    /// Whether a server implementation takes part.
    pub fn uses_server(&self) -> bool {
        !matches!(self, CaseKind::Refused | CaseKind::Silent { .. })
    }

    /// Whether client implementations run it (as `<server>/<client>/<case>` cells).
    pub fn for_clients(&self) -> bool {
        !matches!(self, CaseKind::Conformance(_))
    }

    /// Whether the harness runs it against each server as the client itself (as
    /// `<server>/conformance/<case>` cells): the conformance probes, and the server cases a
    /// client also runs (`busy`, `log-failure`), which check the server's side without a client
    /// program's.
    pub fn for_conformance(&self) -> bool {
        matches!(self, CaseKind::Conformance(_) | CaseKind::Busy(_) | CaseKind::LogFailure(_))
    }
}

/// The clients' `--timeout-ms` in cases whose stream the relay slices into pieces the server must
/// read one at a time.
pub const SLICED_TIMEOUT_MS: u64 = 30_000;

/// How much longer than its `--timeout-ms` a client may take to give up on a silent server, counted
/// from when it connected (so a slow process start-up does not count), to its exit.
pub const SILENT_MARGIN_MS: u64 = 2500;

/// One case of the catalogue.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name, used in cell names.
    pub name: &'static str,
    /// What it checks, in a sentence or two.
    pub spec: &'static str,
    /// The protocol mode of server and client.
    pub mode: Mode,
    /// What happens and what is asserted.
    pub kind: CaseKind,
    /// The transport.
    pub transport: Transport,
    /// The host servers listen on and clients connect to (TCP and UDP).
    pub host: &'static str,
    /// Extra client arguments (`--pipeline`, `--half-close`).
    pub client_args: &'static [&'static str],
    /// What server and client must support.
    pub needs: Vec<Feature>,
    /// For Unix sockets: leave a stale socket file at the path before the server starts.
    pub stale_socket: bool,
    /// A network fault the harness's relay applies to the client → server bytes (TCP only).
    pub fault: Option<Toxic>,
    /// The clients' `--timeout-ms`, when not the default.
    pub timeout_ms: Option<u64>,
    /// Extra server arguments (`--max-connections 2`).
    pub server_args: &'static [&'static str],
}

impl Case {
    /// A case over TCP on 127.0.0.1 with nothing extra.
    pub(crate) fn new(name: &'static str, spec: &'static str, mode: Mode, kind: CaseKind) -> Case {
        Case {
            name,
            spec,
            mode,
            kind,
            transport: Transport::Tcp,
            host: "127.0.0.1",
            client_args: &[],
            needs: Vec::new(),
            stale_socket: false,
            fault: None,
            timeout_ms: None,
            server_args: &[],
        }
    }

    /// The case `base`, renamed, through `toxic`; `breaks` says whether the fault must break the
    /// delivery (the client fails, with this exit code if given; the server logs nothing) or
    /// leave it intact.
    pub(crate) fn faulty(
        base: &Case,
        (name, spec): (&'static str, &'static str),
        toxic: Toxic,
        breaks: Option<Option<i32>>,
    ) -> Case {
        let mut case = base.clone();
        case.name = name;
        case.spec = spec;
        case.fault = Some(toxic);
        if let Toxic::Slicer { one_piece_per_read: true, .. } = toxic {
            // The relay waits for the server to read each piece before it sends the next, so a
            // message takes as many scheduler turns of the server as it has pieces: on a loaded
            // machine that can exceed the default ten seconds a client waits for its reply.
            case.timeout_ms = Some(SLICED_TIMEOUT_MS);
        }
        if let Some(code) = breaks {
            let payloads = base.kind.processes().into_iter().next().unwrap_or_default();
            case.kind = CaseKind::Broken { payloads, code };
        }
        case
    }

    /// Over TCP on `::1`.
    pub(crate) fn ipv6(mut self) -> Case {
        self.host = "::1";
        self.needs.push(Feature::Ipv6);
        self
    }

    /// Over a Unix socket.
    pub(crate) fn unix(mut self) -> Case {
        self.transport = Transport::Unix;
        self.needs.push(Feature::Unix);
        self
    }

    /// Over UDP.
    pub(crate) fn udp(mut self) -> Case {
        self.transport = Transport::Udp;
        self.needs.push(Feature::Udp);
        self
    }

    /// Gives the clients `args`, which need `need`.
    pub(crate) fn client_args(mut self, args: &'static [&'static str], need: Feature) -> Case {
        self.client_args = args;
        self.needs.push(need);
        self
    }

    /// Gives the clients a shorter `--timeout-ms`: a server that gets the case wrong then fails
    /// it in seconds rather than after the default ten.
    pub(crate) fn timeout_ms(mut self, ms: u64) -> Case {
        self.timeout_ms = Some(ms);
        self
    }

    /// Gives the server `args`, which need `need`.
    pub(crate) fn server_args(mut self, args: &'static [&'static str], need: Feature) -> Case {
        self.server_args = args;
        self.needs.push(need);
        self
    }

    /// Leaves a stale socket file at the Unix path before the server starts.
    pub(crate) fn stale(mut self) -> Case {
        self.stale_socket = true;
        self
    }
}
