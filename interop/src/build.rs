//! Building implementations, only when stale: each build's inputs (its command and the contents of
//! the files its globs match) are hashed, and the hash of the last successful build is kept under
//! `target/interop/stamps/`. A warm run builds nothing.

use crate::manifest::{Implementation, Placeholders};
use crate::process::{CommandSpec, run_to_end};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest a single build may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// What happened to one implementation's build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildStatus {
    /// Nothing to build.
    NotNeeded,
    /// Inputs unchanged since the last successful build.
    Fresh,
    /// Built now.
    Built {
        /// How long it took.
        duration: Duration,
    },
    /// The build failed (or could not start); cells using it fail with this message.
    Failed(String),
}

/// Why an implementation's build inputs could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// An `inputs` pattern is not a glob.
    #[error("bad input glob {pattern:?}: {source}")]
    Glob {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        source: glob::PatternError,
    },
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The hash of an implementation's build inputs.
pub fn input_hash(imp: &Implementation, places: &Placeholders) -> Result<String, InputError> {
    let Some(build) = &imp.build else {
        return Ok(String::new());
    };
    let mut hasher = Sha256::new();
    for arg in &build.command {
        hasher.update(places.expand(&imp.name, arg).as_bytes());
        hasher.update([0]);
    }
    let mut files = Vec::new();
    for pattern in &build.inputs {
        let full = places.root.join(places.expand(&imp.name, pattern));
        let paths = glob::glob(&full.to_string_lossy())
            .map_err(|source| InputError::Glob { pattern: pattern.clone(), source })?;
        files.extend(paths.filter_map(Result::ok).filter(|p| p.is_file()));
    }
    files.sort();
    files.dedup();
    for file in files {
        let contents =
            std::fs::read(&file).map_err(|source| InputError::Read { path: file.clone(), source })?;
        hasher.update(file.strip_prefix(&places.root).unwrap_or(&file).to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(interop_wire::digest::hex(&hasher.finalize()))
}

fn stamp_path(imp: &Implementation, places: &Placeholders) -> std::path::PathBuf {
    places.target.join("interop").join("stamps").join(format!("{}.sha256", imp.name))
}

/// Builds `imp` if its inputs changed since its last successful build.
pub async fn build(imp: &Implementation, places: &Placeholders) -> BuildStatus {
    let Some(build) = &imp.build else {
        return BuildStatus::NotNeeded;
    };
    let hash = match input_hash(imp, places) {
        Ok(hash) => hash,
        Err(err) => return BuildStatus::Failed(err.to_string()),
    };
    let stamp = stamp_path(imp, places);
    // Held to the end: another harness process (tests run several at once) that builds the same
    // implementation waits, then finds it fresh, instead of building into the same directory.
    let _lock = match lock(&stamp.with_extension("lock")).await {
        Ok(lock) => lock,
        Err(err) => return BuildStatus::Failed(format!("cannot lock {}: {err}", stamp.display())),
    };
    if std::fs::read_to_string(&stamp).is_ok_and(|old| old == hash) {
        return BuildStatus::Fresh;
    }
    let started = Instant::now();
    if let Err(err) = std::fs::create_dir_all(places.out_dir(&imp.name)) {
        return BuildStatus::Failed(format!("cannot create build directory: {err}"));
    }
    let spec = CommandSpec {
        argv: build.command.iter().map(|a| places.expand(&imp.name, a)).collect(),
        env: Vec::new(),
        cwd: places.root.clone(),
    };
    let output = match run_to_end(&spec, BUILD_TIMEOUT).await {
        Ok(output) => output,
        Err(err) => return BuildStatus::Failed(format!("cannot run `{}`: {err}", spec.shell())),
    };
    if !output.success() {
        return BuildStatus::Failed(format!(
            "build of {} failed ({}): `{}`\n{}{}",
            imp.name,
            output.status_text(),
            spec.shell(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if let Err(err) = write_stamp(&stamp, &hash) {
        return BuildStatus::Failed(format!("built, but cannot record it in {}: {err}", stamp.display()));
    }
    BuildStatus::Built { duration: started.elapsed() }
}

fn write_stamp(stamp: &Path, hash: &str) -> std::io::Result<()> {
    if let Some(dir) = stamp.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(stamp, hash)
}

/// Takes the exclusive lock on `path` (created if missing), waiting for whoever holds it, at most
/// [`BUILD_TIMEOUT`]. Released when the file is closed, by whatever ends the process too.
async fn lock(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    let deadline = Instant::now() + BUILD_TIMEOUT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "another build of it did not end in time",
                ));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    /// A build that fails if another of it is running: it holds a directory while it works.
    const ALONE: &str = r#"
        [[implementation]]
        name = "alone"
        language = "shell"
        role = "client"
        modes = ["raw"]
        build.command = ["sh", "-c", "mkdir {out}/busy && sleep 0.3 && rmdir {out}/busy"]
        build.inputs = []
        run.command = ["true"]
    "#;

    #[tokio::test]
    async fn two_builds_of_one_implementation_at_once_build_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let places = Placeholders { root: dir.path().into(), target: dir.path().join("target") };
        let manifest = Manifest::parse(ALONE).unwrap();
        let imp = manifest.get("alone").unwrap();
        let (first, second) = tokio::join!(build(imp, &places), build(imp, &places));
        let mut statuses = [first, second];
        statuses.sort_by_key(|status| matches!(status, BuildStatus::Fresh));
        assert!(matches!(statuses[0], BuildStatus::Built { .. }), "{statuses:?}");
        assert_eq!(statuses[1], BuildStatus::Fresh, "{statuses:?}");
    }
}
