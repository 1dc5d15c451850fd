//! The manifest, `interop.toml` at the repository root (documented in docs/MANIFEST.md): every
//! implementation, how to build and run it, what it supports, and the tools it needs.
//!
//! Adding a client is a manifest entry and a directory; no Rust changes.

use interop_wire::Mode;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File name of the manifest at the repository root.
pub const MANIFEST_FILE: &str = "interop.toml";

/// The whole manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Tools the implementations need, by name, for `interop doctor`.
    #[serde(default)]
    pub tools: BTreeMap<String, Tool>,
    /// Every server and client.
    #[serde(rename = "implementation", default)]
    pub implementations: Vec<Implementation>,
}

/// An external program an implementation needs (a compiler, a runtime).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// The command, looked up on `PATH`.
    pub command: String,
    /// Arguments that make it print its version (on stdout or stderr).
    pub version_args: Vec<String>,
    /// How to install it, for a person reading `interop doctor`.
    pub install: String,
    /// Arguments that make it print the absolute path of the program that really runs (for
    /// Python, `sys.executable`), when `command` may be a version manager's shim (pyenv, asdf):
    /// a shell script that costs more than the program each time it starts. The harness then
    /// runs that program wherever an implementation's `run.command` starts with `command`.
    #[serde(default)]
    pub executable_args: Vec<String>,
}

/// Whether an implementation is a server or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Accepts connections (PROTOCOL.md §5).
    Server,
    /// Sends messages (PROTOCOL.md §6).
    Client,
}

/// One server or client.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Implementation {
    /// Unique name, used in cell names (`rust-server/java/utf8`) and on the command line.
    pub name: String,
    /// Programming language, for humans and for `INTEROP_SKIP`.
    pub language: String,
    /// Server or client.
    pub role: Role,
    /// Names of entries in `[tools]` it needs to build and run.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Modes it implements; cases in other modes are reported unsupported.
    pub modes: Vec<Mode>,
    /// What else it implements (see [`Feature`]); cases needing anything else are reported
    /// unsupported, and a name that is no feature is a manifest error.
    #[serde(default)]
    pub supports: Vec<Feature>,
    /// How to build it; absent when there is nothing to build.
    pub build: Option<Build>,
    /// How to run it.
    pub run: Run,
    /// A server only: it serves any number of connections, one cell's after another's, as if
    /// each cell were its first, so the harness may run delivery cells over TCP one after
    /// another against one process of it instead of starting one per cell (MANIFEST.md).
    #[serde(default)]
    pub reusable: bool,
    /// A server only: how `interop bench` builds and runs it, when not as the matrix does (a
    /// release build, say); docs/BENCH.md.
    pub bench: Option<BenchRun>,
}

/// How `interop bench` builds and runs a server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchRun {
    /// How to build it; absent when there is nothing to build.
    pub build: Option<Build>,
    /// How to run it.
    pub run: Run,
}

/// The name of the client slot of conformance cells (`<server>/conformance/<case>`): the harness
/// itself, not an implementation of the manifest, which may not use the name.
pub const CONFORMANCE_PEER: &str = "conformance";

impl Implementation {
    /// The harness as the client of conformance cells: no process, no tools, no build; every mode
    /// and feature, since it speaks the protocol through the wire crate.
    pub fn conformance_peer() -> Implementation {
        Implementation {
            name: CONFORMANCE_PEER.into(),
            language: "rust".into(),
            role: Role::Client,
            tools: Vec::new(),
            modes: vec![Mode::Raw, Mode::Framed],
            supports: Feature::ALL.to_vec(),
            build: None,
            run: Run { command: Vec::new(), env: BTreeMap::new(), cwd: None },
            reusable: false,
            bench: None,
        }
    }

    /// Whether this is [`Implementation::conformance_peer`].
    pub fn is_conformance_peer(&self) -> bool {
        self.name == CONFORMANCE_PEER && self.run.command.is_empty()
    }
}

/// Something a case needs beyond its mode. An implementation declares the features it has in its
/// `supports`; a cell whose server or client lacks one the case needs is "unsupported".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// TCP over IPv6 (`--host ::1`).
    Ipv6,
    /// Unix domain stream sockets.
    Unix,
    /// UDP datagrams.
    Udp,
    /// `--pipeline` (client only).
    Pipeline,
    /// `--half-close` (client only).
    HalfClose,
    /// `--max-connections`, turning the connections over it away (server only).
    MaxConnections,
}

impl Feature {
    /// The name used in the manifest's `supports`.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Ipv6 => "ipv6",
            Feature::Unix => "unix",
            Feature::Udp => "udp",
            Feature::Pipeline => "pipeline",
            Feature::HalfClose => "half-close",
            Feature::MaxConnections => "max-connections",
        }
    }

    /// Every feature.
    pub const ALL: [Feature; 6] = [
        Feature::Ipv6,
        Feature::Unix,
        Feature::Udp,
        Feature::Pipeline,
        Feature::HalfClose,
        Feature::MaxConnections,
    ];

    /// Whether a server (`server`) or a client (`!server`) must support it: both for transports,
    /// only clients for client options, only servers for server options.
    pub fn applies_to(self, server: bool) -> bool {
        match self {
            Feature::Ipv6 | Feature::Unix | Feature::Udp => true,
            Feature::Pipeline | Feature::HalfClose => !server,
            Feature::MaxConnections => server,
        }
    }
}

/// How to build an implementation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Program and arguments (placeholders allowed), run in the repository root. Never a shell string.
    pub command: Vec<String>,
    /// Glob patterns, relative to the root, of the files whose contents decide staleness.
    pub inputs: Vec<String>,
}

/// How to run an implementation. The harness appends the protocol's arguments
/// (`--host … --port … --mode … --format json …`) to `command`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Program and arguments (placeholders allowed).
    pub command: Vec<String>,
    /// Extra environment variables (placeholders allowed in values).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (placeholders allowed); the repository root by default.
    pub cwd: Option<String>,
}

/// Why the manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The manifest's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not valid TOML of the expected shape.
    #[error("invalid manifest {path}: {source}")]
    Parse {
        /// The manifest's path.
        path: PathBuf,
        /// The parse error, with line and column.
        source: Box<toml::de::Error>,
    },
    /// It parsed but does not make sense.
    #[error("invalid manifest {path}: {problem}")]
    Invalid {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        problem: Invalid,
    },
}

/// What is wrong with a manifest that parsed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// An implementation's name cannot be part of a cell name.
    #[error(
        "implementation name {0:?} must be non-empty, without '/', ' ' or '*', and not `conformance` (the harness's own client)"
    )]
    Name(String),
    /// Two implementations have this name.
    #[error("implementation {0:?} is defined twice")]
    Duplicate(String),
    /// This implementation has no run command.
    #[error("implementation {0:?}: run.command is empty")]
    EmptyRun(String),
    /// This implementation has a build without a command.
    #[error("implementation {0:?}: build.command is empty")]
    EmptyBuild(String),
    /// A client says it is `reusable`, which only a server can be.
    #[error("implementation {0:?}: only a server can be `reusable`")]
    ReusableClient(String),
    /// An implementation needs a tool that `[tools]` does not define.
    #[error("implementation {implementation:?} needs tool {tool:?}, which [tools] does not define")]
    UnknownTool {
        /// The implementation.
        implementation: String,
        /// The tool it names.
        tool: String,
    },
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ManifestError::Read { path: path.to_owned(), source })?;
        Manifest::parse(&text).map_err(|err| match err {
            ManifestError::Parse { source, .. } => ManifestError::Parse { path: path.to_owned(), source },
            ManifestError::Invalid { problem, .. } => {
                ManifestError::Invalid { path: path.to_owned(), problem }
            }
            other => other,
        })
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text)
            .map_err(|source| ManifestError::Parse { path: PathBuf::new(), source: Box::new(source) })?;
        manifest.validate().map_err(|problem| ManifestError::Invalid { path: PathBuf::new(), problem })?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut seen = HashMap::new();
        for imp in &self.implementations {
            let name = || imp.name.clone();
            if imp.name.is_empty() || imp.name.contains(['/', ' ', '*']) || imp.name == CONFORMANCE_PEER {
                return Err(Invalid::Name(name()));
            }
            if seen.insert(imp.name.as_str(), ()).is_some() {
                return Err(Invalid::Duplicate(name()));
            }
            if imp.run.command.is_empty() {
                return Err(Invalid::EmptyRun(name()));
            }
            if imp.build.as_ref().is_some_and(|b| b.command.is_empty()) {
                return Err(Invalid::EmptyBuild(name()));
            }
            if imp.reusable && imp.role != Role::Server {
                return Err(Invalid::ReusableClient(name()));
            }
            if let Some(tool) = imp.tools.iter().find(|t| !self.tools.contains_key(*t)) {
                return Err(Invalid::UnknownTool { implementation: name(), tool: tool.clone() });
            }
        }
        Ok(())
    }

    /// Implementations with `role`, in manifest order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Implementation> {
        self.implementations.iter().filter(move |imp| imp.role == role)
    }

    /// The implementation called `name`.
    pub fn get(&self, name: &str) -> Option<&Implementation> {
        self.implementations.iter().find(|imp| imp.name == name)
    }
}

/// Values substituted for `{root}`, `{target}` and `{out}` in commands, environment and cwd.
#[derive(Clone, Debug)]
pub struct Placeholders {
    /// The repository root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
}

impl Placeholders {
    /// Expands placeholders in `text` for implementation `name` (`{out}` is its build directory).
    pub fn expand(&self, name: &str, text: &str) -> String {
        text.replace("{root}", &self.root.to_string_lossy())
            .replace("{target}", &self.target.to_string_lossy())
            .replace("{out}", &self.out_dir(name).to_string_lossy())
    }

    /// Where implementation `name` puts its build output.
    pub fn out_dir(&self, name: &str) -> PathBuf {
        self.target.join("interop").join("build").join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [tools.python3]
        command = "python3"
        version_args = ["--version"]
        install = "apt-get install python3"

        [[implementation]]
        name = "python"
        language = "python"
        role = "client"
        tools = ["python3"]
        modes = ["raw", "framed"]
        run = { command = ["python3", "-m", "interop_client"], env = { PYTHONPATH = "{root}/python-client/src" } }
    "#;

    #[test]
    fn parses_a_client_entry() {
        let manifest = Manifest::parse(GOOD).unwrap();
        let python = manifest.get("python").unwrap();
        assert_eq!(python.role, Role::Client);
        assert_eq!(python.modes, vec![Mode::Raw, Mode::Framed]);
        assert!(python.build.is_none());
        let places = Placeholders { root: "/r".into(), target: "/r/target".into() };
        assert_eq!(places.expand("python", &python.run.env["PYTHONPATH"]), "/r/python-client/src");
        assert_eq!(places.expand("java", "{out}/classes"), "/r/target/interop/build/java/classes");
    }

    #[test]
    fn rejects_unknown_tools_duplicates_and_typos() {
        let unknown_tool = GOOD.replace(r#"tools = ["python3"]"#, r#"tools = ["pyhton3"]"#);
        assert!(Manifest::parse(&unknown_tool).unwrap_err().to_string().contains("pyhton3"));
        let twice = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[implementation]]").unwrap()..]);
        assert!(Manifest::parse(&twice).unwrap_err().to_string().contains("defined twice"));
        let typo = GOOD.replace("modes =", "mode =");
        assert!(Manifest::parse(&typo).is_err());
        let feature = GOOD.replace("modes = [", "supports = [\"ipv7\"]\n        modes = [");
        assert!(Manifest::parse(&feature).unwrap_err().to_string().contains("ipv7"));
        let reserved = GOOD.replace(r#"name = "python""#, r#"name = "conformance""#);
        assert!(Manifest::parse(&reserved).unwrap_err().to_string().contains("the harness's own client"));
        let reusable_client = GOOD.replace("modes =", "reusable = true\n        modes =");
        let err = Manifest::parse(&reusable_client).unwrap_err().to_string();
        assert!(err.ends_with("implementation \"python\": only a server can be `reusable`"), "{err}");
    }

    #[test]
    fn reusable_and_executable_args_are_optional() {
        let manifest = Manifest::parse(GOOD).unwrap();
        assert!(!manifest.get("python").unwrap().reusable);
        assert!(manifest.tools["python3"].executable_args.is_empty());
        let server = GOOD
            .replace(r#"role = "client""#, r#"role = "server""#)
            .replace("modes =", "reusable = true\n        modes =")
            .replace(
                "install =",
                "executable_args = [\"-c\", \"import sys; print(sys.executable)\"]\n        install =",
            );
        let manifest = Manifest::parse(&server).unwrap();
        assert!(manifest.get("python").unwrap().reusable);
        assert_eq!(manifest.tools["python3"].executable_args[0], "-c");
    }

    #[test]
    fn the_repository_manifest_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(MANIFEST_FILE);
        let manifest = Manifest::load(&path).unwrap();
        assert!(manifest.with_role(Role::Server).count() >= 1);
        assert!(manifest.with_role(Role::Client).count() >= 3);
    }
}
