//! `interop-client`: see `interop-client --help` and docs/PROTOCOL.md §6–7.

use clap::Parser as _;
use interop_client::{Args, ExitKind};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            // Help and version are successes; anything else is a usage error (exit 2).
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(ExitKind::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match interop_client::run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.kind.code())
        }
    }
}
