//! `interop doctor`: is every tool the manifest names present, which version, how to install it.

use crate::manifest::{Manifest, Tool};
use crate::process::{CommandSpec, run_to_end};
use std::time::Duration;

/// Result of checking one tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolCheck {
    /// Found; the first line it printed about its version.
    Found(String),
    /// Not usable, and why.
    Missing(String),
}

/// Runs the tool's version command (bounded to 30 s; a JVM's first start can be slow).
pub async fn check_tool(tool: &Tool) -> ToolCheck {
    let spec = CommandSpec {
        argv: std::iter::once(tool.command.clone()).chain(tool.version_args.iter().cloned()).collect(),
        env: Vec::new(),
        cwd: std::env::temp_dir(),
    };
    match run_to_end(&spec, Duration::from_secs(30)).await {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            ToolCheck::Missing(format!("`{}` not found on PATH", tool.command))
        }
        Err(err) => ToolCheck::Missing(format!("`{}` cannot be started: {err}", tool.command)),
        Ok(out) if !out.success() => {
            ToolCheck::Missing(format!("`{}` failed: {}", spec.argv.join(" "), out.status_text()))
        }
        Ok(out) => {
            // Java prints its version on stderr; most tools use stdout.
            let text = String::from_utf8_lossy(if out.stdout.is_empty() { &out.stderr } else { &out.stdout })
                .into_owned();
            ToolCheck::Found(text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string())
        }
    }
}

/// The absolute path of the program that `tool` really runs, as its `executable_args` make it
/// print it (the first non-blank line on stdout); `None` when it has none, or prints no absolute
/// path of a file, and the harness then runs `tool.command` as it is.
pub async fn locate_tool(tool: &Tool) -> Option<String> {
    if tool.executable_args.is_empty() {
        return None;
    }
    let spec = CommandSpec {
        argv: std::iter::once(tool.command.clone()).chain(tool.executable_args.iter().cloned()).collect(),
        env: Vec::new(),
        cwd: std::env::temp_dir(),
    };
    let out = run_to_end(&spec, Duration::from_secs(30)).await.ok().filter(|out| out.success())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout.lines().map(str::trim).find(|l| !l.is_empty())?;
    let is_file =
        std::path::Path::new(path).is_absolute() && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    is_file.then(|| path.to_owned())
}

/// One row of the doctor's report.
#[derive(Clone, Debug)]
pub struct DoctorRow {
    /// The tool's name in the manifest.
    pub name: String,
    /// What was found.
    pub check: ToolCheck,
    /// How to install it.
    pub install: String,
    /// Implementations that need it.
    pub needed_by: Vec<String>,
}

/// Checks every tool in the manifest.
pub async fn doctor(manifest: &Manifest) -> Vec<DoctorRow> {
    let mut rows = Vec::new();
    for (name, tool) in &manifest.tools {
        let needed_by = manifest
            .implementations
            .iter()
            .filter(|imp| imp.tools.contains(name))
            .map(|imp| imp.name.clone())
            .collect();
        rows.push(DoctorRow {
            name: name.clone(),
            check: check_tool(tool).await,
            install: tool.install.clone(),
            needed_by,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(executable_args: &[&str]) -> Tool {
        Tool {
            command: "sh".into(),
            version_args: Vec::new(),
            install: String::new(),
            executable_args: executable_args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn a_tool_is_located_only_where_it_prints_the_absolute_path_of_a_file() {
        let shell = locate_tool(&sh(&["-c", "echo; command -v sh"])).await.unwrap();
        assert!(shell.starts_with('/') && shell.ends_with("/sh"), "{shell}");
        // No arguments, a relative name, a directory, a failure: run the command as it is.
        assert_eq!(locate_tool(&sh(&[])).await, None);
        assert_eq!(locate_tool(&sh(&["-c", "echo sh"])).await, None);
        assert_eq!(locate_tool(&sh(&["-c", "echo /"])).await, None);
        assert_eq!(locate_tool(&sh(&["-c", "command -v sh; exit 1"])).await, None);
    }
}
