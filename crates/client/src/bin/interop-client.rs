//! `interop-client`: see `interop-client --help` and docs/PROTOCOL.md §6–7.

use clap::Parser as _;
use interop_client::{Args, ExitKind};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // The contract is one `error: ` line (PROTOCOL.md §6): clap's first line is exactly that.
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(ExitKind::Usage.code());
        }
    };
    if let Err(usage) = args.validate() {
        eprintln!("error: {usage} (see --help)");
        return ExitCode::from(ExitKind::Usage.code());
    }
    match interop_client::run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.kind.code())
        }
    }
}
