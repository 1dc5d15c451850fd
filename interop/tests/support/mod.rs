//! What the integration tests share: where the repository and its target directory are, the
//! pieces of the small `interop.toml` manifests they write, and the `interop` command they run.
//!
//! Each test file that needs it says `mod support;`, so it is compiled into each of those test
//! crates; not every crate uses every item (hence the `dead_code` allow on those declarations).

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// How long one `interop` command may take: generous, for a busy machine that may first have to
/// build the test server.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The `[tools.python3]` table, for implementations that run under `python3`.
pub const PYTHON3_TOOL: &str = r#"
[tools.python3]
command = "python3"
version_args = ["--version"]
executable_args = ["-c", "import sys; print(sys.executable)"]
install = "apt-get install python3"
"#;

/// The repository's root: the workspace that holds this crate.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The target directory the tests are built in (`CARGO_TARGET_DIR`, else `<root>/target`), which
/// the manifests' Rust builds share, so that they find the repository's binaries already built.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The file `relative` below `interop/tests/fixtures`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// An `[[implementation]]` table for the repository's Rust server, named `test-server`: its own
/// name, so its build stamp never competes with the real `rust-server`'s. `extra` holds more keys
/// of the table, one a line (`""` for none).
pub fn test_server(extra: &str) -> String {
    rust_implementation("test-server", "server", "interop-server", extra)
}

/// An `[[implementation]]` table for the repository's Rust client, named `test-client` (its own
/// name, like [`test_server`]). `extra` holds more keys of the table, one a line.
pub fn test_client(extra: &str) -> String {
    rust_implementation("test-client", "client", "interop-client", extra)
}

/// An `[[implementation]]` table `name` with the given `role` that builds the binary `package` of
/// the same name with Cargo (in `{target}`, the tests' target directory) and runs it.
fn rust_implementation(name: &str, role: &str, package: &str, extra: &str) -> String {
    format!(
        r#"
[[implementation]]
name = "{name}"
language = "rust"
role = "{role}"
modes = ["raw", "framed"]
build.command = ["cargo", "build", "--quiet", "-p", "{package}", "--bin", "{package}", "--manifest-path", "{root}/Cargo.toml"]
build.inputs = []
run.command = ["{{target}}/debug/{package}"]
{extra}
"#,
        root = root().display(),
    )
}

/// Writes `manifest` to `dir/interop.toml` and returns that path.
pub fn write_manifest(dir: &Path, manifest: &str) -> PathBuf {
    let path = dir.join("interop.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// The `interop` binary of this package, without an `INTEROP_ROOT` inherited from the caller and
/// with [`TIMEOUT`].
pub fn interop() -> Command {
    let mut cmd = Command::cargo_bin("interop").unwrap();
    cmd.env_remove("INTEROP_ROOT").timeout(TIMEOUT);
    cmd
}

/// [`interop`] run in `dir` (where a test wrote its `interop.toml`) with plain output, building in
/// the tests' target directory.
pub fn interop_in(dir: &Path) -> Command {
    let mut cmd = interop();
    cmd.env("CARGO_TARGET_DIR", target_dir()).env("NO_COLOR", "1").current_dir(dir);
    cmd
}
