//! The plan: which cells (server × client × case) a run contains, chosen by filters.
//!
//! Two ways to leave cells out, on purpose different:
//! - `--skip PATTERN` (a [`Filter`] field) is part of the selection, like `--case`: the cells it
//!   matches are not in the plan, as `cargo test -- --skip` filters tests out.
//! - `INTEROP_SKIP` ([`OptOut`]) is ambient: whoever reads a report may not know it was set. Its
//!   cells stay in the plan, marked [`Cell::skipped`], and every report shows them as skipped, never
//!   as passed and never silently absent.

use crate::catalogue::{Case, CaseKind, Probe, catalogue};
use crate::manifest::{Implementation, Manifest, Role};
use crate::pattern::{NamePattern, suggest};
use std::sync::Arc;

/// One cell of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The server implementation.
    pub server: Arc<Implementation>,
    /// The client implementation.
    pub client: Arc<Implementation>,
    /// The case.
    pub case: Arc<Case>,
    /// Why the cell is not run although planned: its server or client is left out by
    /// `INTEROP_SKIP` (e.g. `INTEROP_SKIP=java leaves out java`).
    pub skipped: Option<String>,
}

impl Cell {
    /// `server/client/case`, as in test names and on the command line.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.server.name, self.client.name, self.case.name)
    }

    /// A rough cost of running the cell, in milliseconds of a quiet machine, for scheduling:
    /// runners start the costliest cells first, so that a long one does not start last and
    /// hold up the end of the run while every other worker is idle.
    pub fn cost(&self) -> u64 {
        // A process start (a JVM, Python, Node.js) and the bytes it sends.
        let processes = self.case.kind.processes();
        let bytes: usize = processes.iter().flatten().map(|p| p.bytes.len()).sum();
        let work = 300 * processes.len().max(1) as u64 + (bytes / 100_000) as u64;
        let waits = match &self.case.kind {
            CaseKind::Silent { timeout_ms } => *timeout_ms,
            CaseKind::Restart(_) => 1_000,
            CaseKind::Broken { code: Some(4), .. } => 1_000,
            CaseKind::Conformance(Probe::Slowloris) => 10_000,
            CaseKind::Conformance(Probe::SigtermDrain) => 5_000,
            CaseKind::Conformance(Probe::UdpOversize | Probe::RandomInput) => 1_000,
            _ => 0,
        };
        work + waits
    }

    /// Why this cell cannot run: the case needs a mode, transport or option that its server or
    /// client does not declare in the manifest.
    pub fn unsupported(&self) -> Option<String> {
        let mut roles = vec![&self.client];
        if self.case.kind.uses_server() {
            roles.insert(0, &self.server);
        }
        for imp in roles {
            if !imp.modes.contains(&self.case.mode) {
                return Some(format!(
                    "{} does not support {} mode (see interop.toml)",
                    imp.name, self.case.mode
                ));
            }
            let is_server = imp.role == crate::manifest::Role::Server;
            for need in self.case.needs.iter().filter(|n| n.applies_to(is_server)) {
                if !imp.supports.contains(need) {
                    return Some(format!(
                        "{} does not support {} (see interop.toml)",
                        imp.name,
                        need.as_str()
                    ));
                }
            }
        }
        None
    }
}

/// Which cells to run. Each list holds globs ([`NamePattern`]); an empty list means "all".
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Server name patterns.
    pub servers: Vec<String>,
    /// Client name patterns.
    pub clients: Vec<String>,
    /// Case name patterns.
    pub cases: Vec<String>,
    /// `--skip` patterns: a cell is left out of the plan when one matches its name
    /// (`server/client/case`), its server's, its client's or its case's name.
    pub skip: Vec<String>,
    /// Implementations left out on purpose (`INTEROP_SKIP`): their cells are planned, marked skipped.
    pub opt_out: OptOut,
}

/// The environment variable that leaves implementations out on purpose, e.g. `INTEROP_SKIP=java`.
pub const SKIP_VAR: &str = "INTEROP_SKIP";

/// `INTEROP_SKIP`: a comma-separated list of implementation names or languages (globs allowed).
/// The same list means the same in `interop run` and `cargo test -p interop`: every cell whose
/// server or client it names is reported skipped (`ignored` in `cargo test`), never passed.
#[derive(Clone, Debug, Default)]
pub struct OptOut {
    entries: Vec<NamePattern>,
}

impl OptOut {
    /// The list in [`SKIP_VAR`]; empty when it is unset or blank.
    pub fn from_env() -> Result<OptOut, PlanError> {
        OptOut::parse(&std::env::var(SKIP_VAR).unwrap_or_default())
    }

    /// Parses a comma-separated list; blank entries and surrounding spaces are ignored.
    pub fn parse(text: &str) -> Result<OptOut, PlanError> {
        let entries = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| compile(s, SKIP_VAR))
            .collect::<Result<_, _>>()?;
        Ok(OptOut { entries })
    }

    /// Why a cell with this server and client is left out, if it is.
    fn reason(&self, server: &Implementation, client: &Implementation) -> Option<String> {
        [server, client].into_iter().find_map(|imp| {
            let entry = self.entries.iter().find(|e| e.matches(&imp.name) || e.matches(&imp.language))?;
            Some(format!("{SKIP_VAR}={} leaves out {}", entry.as_str(), imp.name))
        })
    }
}

/// Why a filter cannot be planned. Every message is one line; a pattern matching nothing says
/// which name was probably meant.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// `--server`, `--client` or `--case` matched nothing.
    #[error("no {kind} matches {pattern:?}{hint}")]
    NoMatch {
        /// `server`, `client` or `case`.
        kind: &'static str,
        /// The pattern as given.
        pattern: String,
        /// `; did you mean "java"?`, or the known names.
        hint: String,
    },
    /// A `--skip` pattern matched no name and no cell: probably a typo, which would run everything.
    #[error("--skip {pattern:?} matches no server, client, case or cell{hint}")]
    SkipMatchesNothing {
        /// The pattern as given.
        pattern: String,
        /// `; did you mean "java"?`, or nothing.
        hint: String,
    },
    /// An `INTEROP_SKIP` entry matched no implementation name or language.
    #[error("{SKIP_VAR} entry {pattern:?} matches no implementation name or language{hint}")]
    OptOutMatchesNothing {
        /// The entry as given.
        pattern: String,
        /// `; did you mean "java"?`, or the known names.
        hint: String,
    },
    /// Not a valid glob.
    #[error("{flag} {pattern:?} is not a valid pattern: {error}")]
    BadPattern {
        /// Where it came from, e.g. `--case`.
        flag: &'static str,
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        error: glob::PatternError,
    },
}

fn compile(pattern: &str, flag: &'static str) -> Result<NamePattern, PlanError> {
    NamePattern::new(pattern).map_err(|error| PlanError::BadPattern { flag, pattern: pattern.into(), error })
}

/// `; did you mean "x"?` when a name is close to `pattern`, else `; known: a, b, …` if `list`.
fn hint(pattern: &str, names: &[&str], list: bool) -> String {
    match suggest(pattern, names) {
        Some(name) => format!("; did you mean {name:?}?"),
        None if list => format!("; known: {}", names.join(", ")),
        None => String::new(),
    }
}

/// All cells the filter selects, ordered server, client, case (manifest and catalogue order).
pub fn plan(manifest: &Manifest, filter: &Filter) -> Result<Vec<Cell>, PlanError> {
    let all_servers: Vec<&Implementation> = manifest.with_role(Role::Server).collect();
    // The harness itself is the client of conformance cells.
    let peer = Implementation::conformance_peer();
    let all_clients: Vec<&Implementation> = manifest.with_role(Role::Client).chain([&peer]).collect();
    let all_cases = catalogue();
    let server_names: Vec<&str> = all_servers.iter().map(|i| i.name.as_str()).collect();
    let client_names: Vec<&str> = all_clients.iter().map(|i| i.name.as_str()).collect();
    let case_names: Vec<&str> = all_cases.iter().map(|c| c.name).collect();
    let servers = select("server", "--server", &all_servers, &server_names, &filter.servers)?;
    let clients = select("client", "--client", &all_clients, &client_names, &filter.clients)?;
    let case_refs: Vec<&Case> = all_cases.iter().collect();
    let cases = select("case", "--case", &case_refs, &case_names, &filter.cases)?;
    let skip = skip_patterns(&filter.skip, [&server_names, &client_names, &case_names])?;
    let implementations: Vec<&Implementation> = all_servers.iter().chain(&all_clients).copied().collect();
    for entry in &filter.opt_out.entries {
        if !implementations.iter().any(|i| entry.matches(&i.name) || entry.matches(&i.language)) {
            let names: Vec<&str> = implementations.iter().map(|i| i.name.as_str()).collect();
            let hint = hint(entry.as_str(), &names, true);
            return Err(PlanError::OptOutMatchesNothing { pattern: entry.as_str().into(), hint });
        }
    }
    let cases: Vec<Arc<Case>> = cases.into_iter().map(|c| Arc::new(c.clone())).collect();
    let mut cells = Vec::new();
    for server in &servers {
        let server = Arc::new((*server).clone());
        for client in &clients {
            let client = Arc::new((*client).clone());
            let skipped = filter.opt_out.reason(&server, &client);
            for case in &cases {
                let runs = if client.is_conformance_peer() {
                    case.kind.for_conformance()
                } else {
                    case.kind.for_clients()
                };
                if !runs {
                    continue;
                }
                let names = [server.name.as_str(), client.name.as_str(), case.name];
                let name = names.join("/");
                if skip.iter().any(|p| p.matches(&name) || names.iter().any(|n| p.matches(n))) {
                    continue;
                }
                cells.push(Cell {
                    server: server.clone(),
                    client: client.clone(),
                    case: case.clone(),
                    skipped: skipped.clone(),
                });
            }
        }
    }
    Ok(cells)
}

/// The items whose names match any of `wanted` (all when `wanted` is empty), in their order. A
/// pattern matching none is an error, so a typo never runs an empty or a different plan.
fn select<'a, T>(
    kind: &'static str,
    flag: &'static str,
    items: &[&'a T],
    names: &[&str],
    wanted: &[String],
) -> Result<Vec<&'a T>, PlanError> {
    let patterns: Vec<NamePattern> = wanted.iter().map(|w| compile(w, flag)).collect::<Result<_, _>>()?;
    if let Some(p) = patterns.iter().find(|p| !names.iter().any(|n| p.matches(n))) {
        let hint = hint(p.as_str(), names, true);
        return Err(PlanError::NoMatch { kind, pattern: p.as_str().into(), hint });
    }
    Ok(items
        .iter()
        .zip(names)
        .filter(|(_, n)| patterns.is_empty() || patterns.iter().any(|p| p.matches(n)))
        .map(|(item, _)| *item)
        .collect())
}

/// Compiles `--skip` patterns, each of which must match some name or cell of the whole matrix
/// (not just of the selection: `--client rust --skip java` is redundant, not a typo).
fn skip_patterns(
    skip: &[String],
    [servers, clients, cases]: [&[&str]; 3],
) -> Result<Vec<NamePattern>, PlanError> {
    let names: Vec<&str> = servers.iter().chain(clients).chain(cases).copied().collect();
    let mut patterns = Vec::new();
    for text in skip {
        let pattern = compile(text, "--skip")?;
        let any_cell = || {
            servers.iter().any(|s| {
                clients.iter().any(|c| cases.iter().any(|k| pattern.matches(&format!("{s}/{c}/{k}"))))
            })
        };
        if !names.iter().any(|n| pattern.matches(n)) && !any_cell() {
            // A pattern with a slash is meant for cell names: suggest one of those.
            let cells: Vec<String> = servers
                .iter()
                .flat_map(|s| {
                    clients.iter().flat_map(move |c| cases.iter().map(move |k| format!("{s}/{c}/{k}")))
                })
                .collect();
            let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            let candidates = if text.contains('/') { &cells } else { &names };
            let hint = hint(text, candidates, false);
            return Err(PlanError::SkipMatchesNothing { pattern: text.clone(), hint });
        }
        patterns.push(pattern);
    }
    Ok(patterns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        Manifest::load(&dir.join("../interop.toml")).unwrap()
    }

    fn names(filter: &Filter) -> Vec<String> {
        plan(&manifest(), filter).unwrap().iter().map(Cell::name).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_harness_is_the_client_of_conformance_cells_only() {
        let all = names(&Filter::default());
        let has = |name: &str| all.iter().any(|n| n == name);
        assert!(has("rust-server/conformance/garbage") && has("python-server/conformance/sigterm-drain"));
        // The server cases run both ways: with each client program, and with the harness alone.
        assert!(has("rust-server/conformance/busy") && has("rust-server/java/busy"));
        assert!(!all.iter().any(|n| n.ends_with("/java/garbage")), "probes are the harness's");
        assert!(!has("rust-server/conformance/hello"), "delivery cases need a client program");
        let only = names(&Filter { clients: strings(&["conformance"]), ..Filter::default() });
        assert!(!only.is_empty() && only.iter().all(|n| n.contains("/conformance/")));
    }

    #[test]
    fn names_are_globs() {
        let filter = Filter {
            servers: strings(&["rust-*"]),
            clients: strings(&["java", "go"]),
            cases: strings(&["utf8*"]),
            ..Filter::default()
        };
        assert_eq!(
            names(&filter),
            [
                "rust-server/java/utf8",
                "rust-server/java/utf8+slicer",
                "rust-server/go/utf8",
                "rust-server/go/utf8+slicer"
            ]
        );
        let exact = Filter { cases: strings(&["udp"]), ..Filter::default() };
        assert!(names(&exact).iter().all(|n| n.ends_with("/udp")), "no prefix matching without a *");
    }

    #[test]
    fn a_pattern_matching_nothing_suggests_the_nearest_name() {
        let error = |filter: Filter| plan(&manifest(), &filter).unwrap_err().to_string();
        assert_eq!(
            error(Filter { clients: strings(&["jav"]), ..Filter::default() }),
            r#"no client matches "jav"; did you mean "java"?"#
        );
        assert_eq!(
            error(Filter { servers: strings(&["rust-sever"]), ..Filter::default() }),
            r#"no server matches "rust-sever"; did you mean "rust-server"?"#
        );
        assert_eq!(
            error(Filter { cases: strings(&["utf9*"]), ..Filter::default() }),
            r#"no case matches "utf9*"; did you mean "utf8"?"#
        );
        let far = error(Filter { clients: strings(&["rust", "cobol"]), ..Filter::default() });
        assert_eq!(far, r#"no client matches "cobol"; known: rust, java, python, go, node, conformance"#);
        assert!(error(Filter { cases: strings(&["["]), ..Filter::default() }).starts_with("--case \"[\""));
    }

    #[test]
    fn skip_leaves_out_cells_by_any_of_their_names() {
        let all = names(&Filter::default());
        let without = |skip: &[&str]| names(&Filter { skip: strings(skip), ..Filter::default() });
        let no_java = without(&["java"]);
        assert!(no_java.iter().all(|n| !n.contains("/java/")));
        assert_eq!(no_java.len(), all.len() - all.iter().filter(|n| n.contains("/java/")).count());
        assert!(without(&["large*"]).iter().all(|n| !n.split('/').nth(2).unwrap().starts_with("large")));
        assert!(without(&["tutorial-server"]).iter().all(|n| !n.starts_with("tutorial-server/")));
        let one = without(&["rust-server/rust/hello"]);
        assert_eq!(one.len(), all.len() - 1);
        assert!(!one.contains(&"rust-server/rust/hello".to_string()));
        assert_eq!(without(&["*/java/*", "go"]).len(), without(&["java", "go"]).len());
        // Redundant with the selection is fine; matching nothing at all is a typo.
        let selected = Filter { clients: strings(&["rust"]), skip: strings(&["java"]), ..Filter::default() };
        assert!(names(&selected).iter().all(|n| n.contains("/rust/")));
        let typo = plan(&manifest(), &Filter { skip: strings(&["jvaa"]), ..Filter::default() });
        assert_eq!(
            typo.unwrap_err().to_string(),
            r#"--skip "jvaa" matches no server, client, case or cell; did you mean "java"?"#
        );
    }

    #[test]
    fn interop_skip_keeps_cells_but_marks_them_skipped() {
        let opt_out = OptOut::parse(" java ,, python").unwrap();
        let cells = plan(&manifest(), &Filter { opt_out, ..Filter::default() }).unwrap();
        assert_eq!(cells.len(), plan(&manifest(), &Filter::default()).unwrap().len(), "nothing left out");
        // The first entry naming an implementation (by name or language) leaves it out; the server
        // is looked at first.
        let entry = |imp: &Implementation| {
            ["java", "python"].into_iter().find(|e| imp.name == *e || imp.language == *e)
        };
        for cell in &cells {
            let expected = [&cell.server, &cell.client]
                .into_iter()
                .find_map(|imp| entry(imp).map(|e| format!("INTEROP_SKIP={e} leaves out {}", imp.name)));
            assert_eq!(cell.skipped, expected, "{}", cell.name());
        }
        let typo = plan(&manifest(), &Filter { opt_out: OptOut::parse("jav").unwrap(), ..Filter::default() });
        assert_eq!(
            typo.unwrap_err().to_string(),
            r#"INTEROP_SKIP entry "jav" matches no implementation name or language; did you mean "java"?"#
        );
        assert!(OptOut::parse("").unwrap().entries.is_empty());
    }
}
