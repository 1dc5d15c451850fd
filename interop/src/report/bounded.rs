//! Bounded text: what every reporter but JSON shows of a reason, a diff or a log.
//!
//! A reason can carry thousands of lines (one per message the server logged that no client
//! reported) and a process log up to 64 KiB per stream. Reports for people show the first few
//! lines, fold a run of lines of the same shape into "… and 8,190 more like it", and cut very long
//! lines; the JSON report (and `--record` transcripts) keep the whole text. All reporters bound text
//! here, with one of the [`Limit`]s below, so they agree on what "bounded" means.

use indicatif::HumanCount;
use std::fmt;

/// How much of a text to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Lines shown from the start, at most (the "… and N more" notes are not counted).
    pub head: usize,
    /// Lines shown from the end as well, when the text is cut (e.g. a traceback's last lines).
    pub tail: usize,
    /// Consecutive lines of one shape shown before the rest of them are folded.
    pub alike: usize,
    /// Characters shown of one line.
    pub width: usize,
}

impl Limit {
    /// A reason or diff in the terminal: a screenful at most.
    pub const TERMINAL: Limit = Limit { head: 12, tail: 0, alike: 3, width: 320 };
    /// A process's stderr in the terminal: its last lines, where the error usually is.
    pub const TERMINAL_LOG: Limit = Limit { head: 0, tail: 5, alike: 3, width: 320 };
    /// A reason or log in a file report (JUnit, Markdown, HTML): more room, still bounded.
    pub const FILE: Limit = Limit { head: 40, tail: 10, alike: 5, width: 400 };
}

/// One line of bounded output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A line of the text, cut to the limit's width (`cut` characters left out).
    Line {
        /// The line's first characters.
        text: &'a str,
        /// How many characters were left out at its end.
        cut: usize,
    },
    /// `n` more consecutive lines of the same shape as the line before were left out.
    LikeIt(usize),
    /// `n` more lines of various shapes were left out.
    More(usize),
}

/// A text with a [`Limit`] applied. Displays as its pieces, one a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounded<'a> {
    pieces: Vec<Piece<'a>>,
}

/// Bounds `text` by `limit`.
///
/// Runs of consecutive lines with the same [`shape`] show their first `limit.alike` lines and then
/// "… and N more like it"; at most `limit.head` lines come from the start and, when the text is
/// longer than `head + tail` lines, the last `limit.tail` lines come after a note of what was left
/// out in between. Lines longer than `limit.width` characters are cut.
pub fn bound(text: &str, limit: Limit) -> Bounded<'_> {
    let lines: Vec<&str> = text.lines().collect();
    // The tail is only worth showing separately when the text does not fit whole.
    let mut tail = if lines.len() > limit.head + limit.tail { limit.tail.min(lines.len()) } else { 0 };
    // A tail that merely continues a run says nothing new: start it where the shape changes (and
    // give its room to the head).
    while tail > 0
        && tail < lines.len()
        && shape(lines[lines.len() - tail]) == shape(lines[lines.len() - tail - 1])
    {
        tail -= 1;
    }
    let body = &lines[..lines.len() - tail];
    let budget = limit.head + limit.tail - tail;
    let mut pieces = Vec::new();
    let mut shown = 0;
    let mut i = 0;
    while i < body.len() {
        if shown == budget {
            pieces.push(rest_of(&body[i..], body.get(i.wrapping_sub(1)).copied()));
            break;
        }
        let shape = shape(body[i]);
        let run = body[i..].iter().take_while(|l| self::shape(l) == shape).count();
        let mut take = run.min(limit.alike.max(1)).min(budget - shown);
        // Folding a single line saves nothing: show it instead, if there is room.
        if run - take == 1 && shown + take < budget {
            take += 1;
        }
        pieces.extend(body[i..i + take].iter().map(|l| line(l, limit.width)));
        shown += take;
        i += take;
        // The rest of a run is folded, unless the budget ran out first: then the note above says
        // how much is left, in this run and after it.
        if take < run && shown < budget {
            pieces.push(Piece::LikeIt(run - take));
            i += run - take;
        }
    }
    pieces.extend(lines[lines.len() - tail..].iter().map(|l| line(l, limit.width)));
    Bounded { pieces }
}

/// A line cut to `width` characters.
fn line(text: &str, width: usize) -> Piece<'_> {
    let end = text.char_indices().nth(width).map_or(text.len(), |(i, _)| i);
    Piece::Line { text: &text[..end], cut: text[end..].chars().count() }
}

/// The note for lines left out: "like it" when they all have the shape of the line shown before.
fn rest_of<'a>(rest: &[&str], before: Option<&str>) -> Piece<'a> {
    match before.map(shape) {
        Some(shape) if rest.iter().all(|l| self::shape(l) == shape) => Piece::LikeIt(rest.len()),
        _ => Piece::More(rest.len()),
    }
}

/// A line's shape: the line with every word that holds a digit (a number, an address, a hash)
/// replaced by `#`. Lines that differ only there say the same thing about different data.
pub fn shape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in line.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

impl<'a> Bounded<'a> {
    /// Its lines and notes, in order.
    pub fn pieces(&self) -> &[Piece<'a>] {
        &self.pieces
    }

    /// Whether anything was left out.
    pub fn is_cut(&self) -> bool {
        self.pieces.iter().any(|p| !matches!(p, Piece::Line { cut: 0, .. }))
    }

    /// Lines it displays as.
    pub fn line_count(&self) -> usize {
        self.pieces.len()
    }
}

impl fmt::Display for Piece<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Piece::Line { text, cut: 0 } => f.write_str(text),
            Piece::Line { text, cut } => write!(f, "{text}… ({} more characters)", HumanCount(*cut as u64)),
            Piece::LikeIt(n) => write!(f, "… and {} more like it", HumanCount(*n as u64)),
            Piece::More(1) => f.write_str("… and 1 more line"),
            Piece::More(n) => write!(f, "… and {} more lines", HumanCount(*n as u64)),
        }
    }
}

impl fmt::Display for Bounded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{piece}")?;
        }
        Ok(())
    }
}

/// The first `max` items joined with `, `, then "… and N more": e.g. the failing cells' names.
pub fn list<T: AsRef<str>>(items: &[T], max: usize) -> String {
    let mut out = items.iter().take(max).map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
    if items.len() > max {
        out.push_str(&format!(", … and {} more", HumanCount((items.len() - max) as u64)));
    }
    out
}

/// `1 line`, `2 lines`; `1 entry`, `2 entries`.
pub fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (n, Some(stem)) => format!("{n} {stem}ies"),
        (n, None) => format!("{n} {noun}s"),
    }
}

/// `text` cut to `width` characters, ending in `…` when cut: for one-line summaries.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMALL: Limit = Limit { head: 6, tail: 0, alike: 2, width: 40 };

    fn logged(n: usize) -> String {
        (1..=n)
            .map(|seq| format!("the server logged a message no client reported: 127.0.0.1:37850 seq {seq}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn short_text_is_shown_whole() {
        let text = "client failed (exit code 5)\nsecond line";
        let b = bound(text, Limit::TERMINAL);
        assert!(!b.is_cut());
        assert_eq!(b.to_string(), text);
        assert_eq!(bound("", Limit::TERMINAL).to_string(), "");
    }

    #[test]
    fn repeated_lines_fold_into_more_like_it() {
        let text = format!("client failed (exit code 5): ack mismatch\n{}", logged(8_193));
        let b = bound(&text, Limit::TERMINAL);
        assert_eq!(
            b.to_string(),
            "client failed (exit code 5): ack mismatch\n\
             the server logged a message no client reported: 127.0.0.1:37850 seq 1\n\
             the server logged a message no client reported: 127.0.0.1:37850 seq 2\n\
             the server logged a message no client reported: 127.0.0.1:37850 seq 3\n\
             … and 8,190 more like it"
        );
        assert!(b.is_cut());
    }

    #[test]
    fn runs_fold_separately_and_the_head_is_bounded() {
        let text = format!("{}\nother thing 1\n{}\nlast\nvery last", logged(5), logged(3));
        let limit = Limit { width: 200, ..SMALL };
        let b = bound(&text, limit);
        let shown: Vec<String> = b.pieces().iter().map(ToString::to_string).collect();
        assert_eq!(shown[2], "… and 3 more like it");
        assert_eq!(shown[3], "other thing 1");
        // A run of three with two allowed shows all three: "1 more like it" would save nothing.
        assert!(shown[6].ends_with("seq 3"), "{shown:#?}");
        assert_eq!(shown.last().unwrap(), "… and 2 more lines", "{shown:#?}");
        assert_eq!(b.line_count(), 8);
    }

    #[test]
    fn the_tail_is_kept_when_asked() {
        let text = (1..=100).map(|i| format!("frame {i}: {}", "x".repeat(i % 7))).collect::<Vec<_>>();
        let text = format!("{}\nTraceback\nValueError: bad", text.join("\n"));
        let b = bound(&text, Limit { head: 0, tail: 2, alike: 3, width: 100 });
        assert_eq!(b.to_string(), "… and 100 more lines\nTraceback\nValueError: bad");
        // A tail that continues a run is left out; the head gets its room.
        let text = format!("first\n{}\nlast words", logged(100));
        let b = bound(&text, Limit { head: 2, tail: 3, alike: 2, width: 200 });
        let shown: Vec<String> = b.pieces().iter().map(ToString::to_string).collect();
        assert_eq!(shown[0], "first");
        assert_eq!(shown[3], "… and 98 more like it", "{shown:#?}");
        assert_eq!(shown[4], "last words");
        assert_eq!(shown.len(), 5);
    }

    #[test]
    fn long_lines_are_cut_by_characters() {
        let text = "é".repeat(50);
        let b = bound(&text, SMALL);
        assert_eq!(b.to_string(), format!("{}… (10 more characters)", "é".repeat(40)));
    }

    #[test]
    fn shapes_ignore_numbers_addresses_and_hashes() {
        assert_eq!(
            shape("seq 12, 1020 bytes sha256 4bdbb4bb at 127.0.0.1:37850"),
            shape("seq 2, 0 bytes sha256 e3b0c442 at 127.0.0.1:1")
        );
        assert_ne!(shape("client failed"), shape("server failed"));
    }

    #[test]
    fn lists_and_numbers() {
        assert_eq!(list(&["a", "b", "c"], 5), "a, b, c");
        assert_eq!(list(&["a", "b", "c"], 2), "a, b, … and 1 more");
        // Counts in every report are indicatif's HumanCount: pinned here, since the tests read them.
        assert_eq!(HumanCount(8_190).to_string(), "8,190");
        assert_eq!(HumanCount(1_234_567).to_string(), "1,234,567");
        assert_eq!(HumanCount(999).to_string(), "999");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(plural(1, "entry"), "1 entry");
        assert_eq!(plural(4, "entry"), "4 entries");
        assert_eq!(plural(2, "line"), "2 lines");
    }

    fn any_limit() -> impl Strategy<Value = Limit> {
        (0..8usize, 0..4usize, 0..4usize, 1..30usize).prop_map(|(head, tail, alike, width)| Limit {
            head,
            tail,
            alike,
            width,
        })
    }

    /// Texts with many repeated shapes: a few templates, numbers varying.
    fn any_text() -> impl Strategy<Value = String> {
        prop::collection::vec((0..4usize, 0..1000u32, 0..60usize), 0..60).prop_map(|lines| {
            lines
                .into_iter()
                .map(|(kind, n, len)| match kind {
                    0 => format!("message {n} logged"),
                    1 => format!("other {n}"),
                    2 => "é".repeat(len),
                    _ => String::new(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    proptest! {
        /// Every line is accounted for: shown, or counted in a note; and the output is bounded.
        #[test]
        fn bounded_output_accounts_for_every_line(text in any_text(), limit in any_limit()) {
            let b = bound(&text, limit);
            let total: usize = b.pieces().iter().map(|p| match p {
                Piece::Line { .. } => 1,
                Piece::LikeIt(n) | Piece::More(n) => *n,
            }).sum();
            prop_assert_eq!(total, text.lines().count());
            let shown = b.pieces().iter().filter(|p| matches!(p, Piece::Line { .. })).count();
            prop_assert!(shown <= limit.head + limit.tail);
            // At most one note per shown line, plus the one before the tail.
            prop_assert!(b.line_count() <= 2 * (limit.head + limit.tail) + 1);
            for piece in b.pieces() {
                if let Piece::Line { text, .. } = piece {
                    prop_assert!(text.chars().count() <= limit.width);
                }
            }
            prop_assert_eq!(b.is_cut(), b.to_string() != text.lines().collect::<Vec<_>>().join("\n"));
        }

        /// A text that fits is shown as it is.
        #[test]
        fn fitting_text_is_unchanged(lines in prop::collection::vec("[a-z ]{0,20}", 0..6)) {
            let text = lines.join("\n");
            let limit = Limit { head: 6, tail: 0, alike: 6, width: 20 };
            prop_assert_eq!(bound(&text, limit).to_string(), text.lines().collect::<Vec<_>>().join("\n"));
        }
    }
}
