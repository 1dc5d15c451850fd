//! Name patterns: the globs that select cells (`--server`, `--client`, `--case`, `--skip`,
//! `INTEROP_SKIP`) and that known-failure entries use, and the "did you mean" for a pattern that
//! matches nothing. One kind of pattern everywhere, so a glob means the same wherever it is typed.

/// A glob over names: `*` matches any run of characters, `/` included (so `rust-server/*` matches
/// every cell of that server), `?` one character, `[…]` a character class. Case-sensitive.
#[derive(Clone, Debug)]
pub struct NamePattern {
    glob: glob::Pattern,
}

impl NamePattern {
    /// Compiles `text`; a name without glob characters matches only itself.
    pub fn new(text: &str) -> Result<NamePattern, glob::PatternError> {
        Ok(NamePattern { glob: glob::Pattern::new(text)? })
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        self.glob.matches(name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.glob.as_str()
    }
}

/// The name in `known` that someone typing `wanted` most likely meant, if any is close enough to
/// be a plausible slip: first a name `wanted` is a prefix of (`jav` → `java`; the shortest such
/// name), else the nearest by edit distance, a transposition counting as one edit, within a third
/// of the longer name (at least one edit). Case and glob characters in `wanted` are ignored, so
/// `--case 'UTF9*'` still suggests `utf8`.
pub fn suggest<'a>(wanted: &str, known: &[&'a str]) -> Option<&'a str> {
    let bare: String = wanted.chars().filter(|c| !"*?[]!".contains(*c)).collect::<String>().to_lowercase();
    if bare.is_empty() {
        return None;
    }
    if let Some(name) = known.iter().filter(|n| n.to_lowercase().starts_with(&bare)).min_by_key(|n| n.len()) {
        return Some(name);
    }
    known
        .iter()
        .map(|n| (strsim::damerau_levenshtein(&bare, &n.to_lowercase()), *n))
        .filter(|(distance, n)| *distance <= (bare.len().max(n.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_and_star_crosses_slashes() {
        let p = NamePattern::new("utf8*").unwrap();
        assert!(p.matches("utf8") && p.matches("utf8+slicer"));
        assert!(!p.matches("xutf8"));
        assert!(NamePattern::new("rust-server/*").unwrap().matches("rust-server/java/utf8"));
        assert!(NamePattern::new("*/java/*").unwrap().matches("rust-server/java/utf8"));
        assert!(!NamePattern::new("java").unwrap().matches("javascript"));
        assert!(NamePattern::new("[").is_err());
    }

    #[test]
    fn suggestions_prefer_prefixes_then_near_typos() {
        let clients = ["rust", "java", "python", "go", "node"];
        assert_eq!(suggest("jav", &clients), Some("java"));
        assert_eq!(suggest("JAVA", &clients), Some("java"));
        assert_eq!(suggest("jvaa", &clients), Some("java"));
        assert_eq!(suggest("pyhton", &clients), Some("python"));
        assert_eq!(suggest("ruts*", &clients), Some("rust"));
        assert_eq!(suggest("cobol", &clients), None);
        assert_eq!(suggest("*", &clients), None);
        let cases = ["utf8", "utf8+slicer", "large", "large-udp"];
        assert_eq!(suggest("utf", &cases), Some("utf8"), "the shortest name it begins");
        assert_eq!(suggest("lrage", &cases), Some("large"));
    }
}
