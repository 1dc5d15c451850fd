//! What the command lines of the Rust server and client share (PROTOCOL.md §5, §6): the values of
//! `--format`, and the check of a `--path`. With the `clap` feature.
//!
//! [`Mode`](crate::Mode) and [`Transport`](crate::Transport), the values of `--mode` and
//! `--transport`, are arguments too: with the feature they derive `clap::ValueEnum`.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use std::fmt;
use std::path::PathBuf;

/// A `--path` value: at most 107 bytes, so that it fits a Unix socket address.
pub fn unix_path(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    crate::check_unix_path(&path)?;
    Ok(path)
}

/// Output format of a server or a client: `--format text` or `--format json` (PROTOCOL.md §5, §6).
///
/// Each program says in its `--help` what the two formats print for it, so this is not a
/// `clap::ValueEnum` (whose values have one description for every program): take it with
/// `value_parser = Format::parser(..)`, and `default_value_t`, which uses [`Display`](fmt::Display).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// For people: what the program prints in the tutorial.
    Text,
    /// One JSON object per line (PROTOCOL.md §8).
    Json,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 2] = [Format::Text, Format::Json];

    /// The name used on command lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
        }
    }

    /// The parser of a `--format` value, with `text` and `json` described (in `--help`) as
    /// this program prints them.
    pub fn parser(text: &'static str, json: &'static str) -> impl TypedValueParser<Value = Format> {
        let values = Format::ALL.map(|format| {
            PossibleValue::new(format.as_str()).help(match format {
                Format::Text => text,
                Format::Json => json,
            })
        });
        PossibleValuesParser::new(values).map(|name| match name.as_str() {
            "json" => Format::Json,
            // The only other value the parser lets through.
            _ => Format::Text,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn command() -> Command {
        Command::new("c").arg(Arg::new("format").long("format").value_parser(Format::parser("t", "j")))
    }

    #[test]
    fn format_parses_both_names_and_nothing_else() {
        for format in Format::ALL {
            let matches = command().try_get_matches_from(["c", "--format", format.as_str()]).unwrap();
            assert_eq!(matches.get_one::<Format>("format"), Some(&format));
            assert_eq!(format.to_string(), format.as_str());
        }
        let err = command().try_get_matches_from(["c", "--format", "JSON"]).unwrap_err();
        assert!(err.to_string().contains("[possible values: text, json]"), "{err}");
    }

    #[test]
    fn unix_path_is_checked_for_length() {
        assert_eq!(unix_path("/tmp/s.sock"), Ok(PathBuf::from("/tmp/s.sock")));
        let long = format!("/tmp/{}", "x".repeat(120));
        assert_eq!(unix_path(&long).unwrap_err(), "unix socket path too long: 125 bytes, at most 107");
    }
}
