//! The plan: which cells (server × client × case) a run contains, chosen by filters.

use crate::cases::{Case, catalogue};
use crate::manifest::{Implementation, Manifest, Role};
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
}

impl Cell {
    /// `server/client/case`, as in test names and on the command line.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.server.name, self.client.name, self.case.name)
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
            for need in self.case.needs.iter().filter(|n| !is_server || n.server_too()) {
                if !imp.supports.iter().any(|s| s == need.as_str()) {
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

/// Which cells to run; an empty list means "all".
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Server names.
    pub servers: Vec<String>,
    /// Client names.
    pub clients: Vec<String>,
    /// Case names.
    pub cases: Vec<String>,
}

/// Why a filter matched nothing it names.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {name:?}; known: {known}")]
pub struct UnknownName {
    kind: &'static str,
    name: String,
    known: String,
}

/// All cells the filter selects, ordered server, client, case (manifest and catalogue order).
pub fn plan(manifest: &Manifest, filter: &Filter) -> Result<Vec<Cell>, UnknownName> {
    let servers =
        select("server", manifest.with_role(Role::Server).map(|i| (i.name.as_str(), i)), &filter.servers)?;
    let clients =
        select("client", manifest.with_role(Role::Client).map(|i| (i.name.as_str(), i)), &filter.clients)?;
    let all_cases = catalogue();
    let cases = select("case", all_cases.iter().map(|c| (c.name, c)), &filter.cases)?;
    let cases: Vec<Arc<Case>> = cases.into_iter().map(|c| Arc::new(c.clone())).collect();
    let mut cells = Vec::new();
    for server in &servers {
        let server = Arc::new((*server).clone());
        for client in &clients {
            let client = Arc::new((*client).clone());
            for case in &cases {
                cells.push(Cell { server: server.clone(), client: client.clone(), case: case.clone() });
            }
        }
    }
    Ok(cells)
}

fn select<'a, T>(
    kind: &'static str,
    items: impl Iterator<Item = (&'a str, &'a T)>,
    wanted: &[String],
) -> Result<Vec<&'a T>, UnknownName> {
    let items: Vec<(&str, &T)> = items.collect();
    if let Some(name) = wanted.iter().find(|w| !items.iter().any(|(n, _)| n == w)) {
        let known = items.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        return Err(UnknownName { kind, name: name.clone(), known });
    }
    Ok(items
        .into_iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.iter().any(|w| w == n))
        .map(|(_, t)| t)
        .collect())
}
