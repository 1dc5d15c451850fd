//! `interop`: see `interop --help` and README.md.

fn main() -> std::process::ExitCode {
    interop::cli::entry()
}
