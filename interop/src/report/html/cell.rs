//! One cell's detail, behind its mark in the matrix: status, reason, known-failure entry, repro
//! commands, spec, and the attempts with their processes' output and transcripts, all bounded.

use super::{Text, describe, duration};
use crate::report::bounded::{self, Limit, Piece, plural};
use crate::results::{Attempt, CellReport, ConnectionTranscript, Direction, KnownRef, ProcessLog};
use indicatif::HumanCount;
use maud::{Markup, html};

/// A stream longer than this (in lines or bytes) starts collapsed.
const COLLAPSE_LINES: usize = 30;
const COLLAPSE_BYTES: usize = 4096;
/// Client processes shown per attempt (the `concurrent` case has 16, all alike).
const CLIENTS: usize = 4;
/// A passing attempt's output: the first lines, enough to see what it did.
const QUIET: Limit = Limit { head: 8, tail: 0, alike: 3, width: 300 };
/// Hex dump lines shown per direction: a repeated payload folds after a few lines.
const DUMP: Limit = Limit { head: 64, tail: 0, alike: 8, width: 200 };

/// The `<section class="cell">` shown when its id is the page's target.
pub(super) fn detail(cell: &CellReport, id: &str, server_id: &str) -> Markup {
    let failed = cell.attempts.iter().filter(|a| !a.passed).count();
    // Many attempts (`--repeat 20`) are mostly alike: the first failed and the first passed one
    // show each kind, the last shows how it ended; the JSON report has every one.
    let shown = shown_attempts(&cell.attempts);
    let hidden = cell.attempts.len() - shown.len();
    let hidden_failed =
        (0..cell.attempts.len()).filter(|n| !shown.contains(n) && !cell.attempts[*n].passed).count();
    html! {
        section class="cell" id=(id) aria-label={ "cell " (Text(&cell.name)) } {
            "\n"
            div.bar {
                span class={ "st st-" (cell.status.name()) } { (cell.status.mark()) }
                h2 { code { (Text(&cell.name)) } }
                a.close href={ "#" (server_id) } title="back to the matrix" { "✕ close" }
            }
            "\n" dl {
                "\n" dt { "status" }
                dd { (cell.status.name()) " " span.muted { "· " (describe(cell.status)) } }
                "\n" dt { "server" } dd { code { (Text(&cell.server)) } }
                "\n" dt { "client" } dd { code { (Text(&cell.client)) } }
                "\n" dt { "case" } dd { code { (Text(&cell.case)) } }
                "\n" dt { "mode" } dd { (cell.mode.as_str()) }
                "\n" dt { "duration" } dd { (duration(cell.duration_ms)) }
                "\n" dt { "attempts" } dd { (cell.attempts.len()) }
                @if let Some(rate) = cell.flake_rate {
                    "\n" dt { "flake rate" }
                    dd {
                        (format!("{:.0}%", rate * 100.0)) " "
                        span.muted { "(" (failed) " of " (cell.attempts.len()) " attempts failed)" }
                    }
                }
                "\n"
            }
            "\n"
            @if let Some(reason) = &cell.reason {
                h3 { "reason" } "\n"
                pre class=(if cell.status.fails_run() { "wrap bad" } else { "wrap" }) {
                    (bounded_text(reason, Limit::FILE))
                }
                "\n"
            }
            @if let Some(known) = &cell.known { (known_entry(known)) }
            @if !cell.repro.is_empty() {
                h3 { "reproduce by hand" } "\n" pre class="wrap copy" { (Text(&cell.repro.join("\n"))) } "\n"
            }
            @if !cell.spec.is_empty() {
                h3 { "spec" } "\n" pre.wrap { (Text(&cell.spec)) } "\n"
            }
            @if !cell.attempts.is_empty() { h3 { "attempts" } "\n" }
            @for &n in &shown { (attempt(cell, &cell.attempts[n], n + 1)) }
            @if hidden > 0 {
                p.muted {
                    "… and " (hidden) " more " (if hidden == 1 { "attempt" } else { "attempts" })
                    " (" (hidden_failed) " failed), in the JSON report"
                }
                "\n"
            }
        }
        "\n"
    }
}

/// Which attempts a cell's section shows (indices, in order): the first failed, the first passed
/// and the last.
pub(super) fn shown_attempts(attempts: &[Attempt]) -> Vec<usize> {
    let mut shown: Vec<usize> = [
        attempts.iter().position(|a| !a.passed),
        attempts.iter().position(|a| a.passed),
        attempts.len().checked_sub(1),
    ]
    .into_iter()
    .flatten()
    .collect();
    shown.sort_unstable();
    shown.dedup();
    shown
}

fn known_entry(known: &KnownRef) -> Markup {
    html! {
        h3 { "known failure" } "\n"
        dl {
            "\n" dt { "cell pattern" } dd { code { (Text(&known.cell)) } }
            "\n" dt { "expected failure" } dd { code { (Text(&known.failure)) } }
            "\n" dt { "why" } dd { (why(&known.why)) }
            "\n"
        }
        "\n"
    }
}

/// A known-failure entry's `why`: a link when it is an http(s) address, else text.
pub(super) fn why(why: &str) -> Markup {
    html! {
        @if why.starts_with("http://") || why.starts_with("https://") {
            a href=(Text(why)) rel="noreferrer" { (Text(why)) }
        } @else {
            (Text(why))
        }
    }
}

fn attempt(cell: &CellReport, attempt: &Attempt, n: usize) -> Markup {
    let total = cell.attempts.len();
    // A lone attempt's reason is usually the cell's, shown above.
    let repeats = total == 1 && attempt.reason == cell.reason;
    // A passing attempt's output rarely matters: a few lines of it, and the JSON report has the rest.
    let limit = if attempt.passed { QUIET } else { Limit::FILE };
    let label = |i: usize| {
        if attempt.clients.len() == 1 { "client".to_string() } else { format!("client {}", i + 1) }
    };
    html! {
        details class="attempt" open[!attempt.passed || total == 1] {
            summary {
                "attempt " (n) " of " (total) ": "
                span class=[(!attempt.passed).then_some("bad")] {
                    (if attempt.passed { "passed" } else { "failed" })
                }
                " " span.muted { "in " (duration(attempt.duration_ms)) }
            }
            "\n"
            @if let Some(reason) = attempt.reason.as_ref().filter(|_| !repeats) {
                pre class="wrap bad" { (bounded_text(reason, Limit::FILE)) } "\n"
            }
            @if let Some(server) = &attempt.server { (process("server", server, limit)) }
            @for (i, client) in attempt.clients.iter().enumerate().take(CLIENTS) {
                (process(&label(i), client, limit))
            }
            @if attempt.clients.len() > CLIENTS {
                p.note {
                    "… and " (attempt.clients.len() - CLIENTS) " more clients"
                    " (the JSON report has them all)"
                }
                "\n"
            }
            @if let Some(transcript) = &attempt.transcript {
                h4 { "transcript: " (plural(transcript.connections.len(), "connection")) } "\n"
                @for (i, conn) in transcript.connections.iter().enumerate() { (connection(i + 1, conn)) }
            }
        }
        "\n"
    }
}

fn process(label: &str, log: &ProcessLog, limit: Limit) -> Markup {
    html! {
        div.proc {
            h4 {
                (label) " "
                @let class = if log.exit.success() { "muted" } else { "bad" };
                span class=(class) { (Text(&log.exit.to_string())) }
            }
            "\n" pre.wrap { "$ " (Text(&log.command)) } "\n"
            (stream("stdout", &log.stdout, limit))
            (stream("stderr", &log.stderr, limit))
        }
        "\n"
    }
}

/// One output stream, bounded by `limit`; open unless it is long.
pub(super) fn stream(label: &str, text: &str, limit: Limit) -> Markup {
    if text.is_empty() {
        return html! { p.muted { (label) ": empty" } "\n" };
    }
    let lines = text.lines().count();
    let long = lines > COLLAPSE_LINES || text.len() > COLLAPSE_BYTES;
    let cut = if text.len() >= 64 * 1024 { ", probably cut at 64 KiB" } else { "" };
    html! {
        details open[!long] {
            summary {
                (label) " "
                span.muted {
                    "(" (plural(lines, "line")) ", " (HumanCount(text.len() as u64)) " bytes" (cut) ")"
                }
            }
            pre { (bounded_text(text, limit)) }
        }
        "\n"
    }
}

/// `text` bounded by `limit`; the notes for what was left out are marked as such.
fn bounded_text(text: &str, limit: Limit) -> Markup {
    let shown = bounded::bound(text, limit);
    html! {
        @for (i, piece) in shown.pieces().iter().enumerate() {
            @if i > 0 { "\n" }
            @match piece {
                Piece::Line { text, cut } => {
                    (Text(text))
                    @if *cut > 0 { span.note { "… (" (HumanCount(*cut as u64)) " more characters)" } }
                }
                note => span.note { (note) },
            }
        }
        @if shown.is_cut() { "\n" span.note { "(shortened here: the JSON report has every line)" } }
    }
}

fn connection(n: usize, conn: &ConnectionTranscript) -> Markup {
    html! {
        div.proc {
            p {
                b { "connection " (n) } ": "
                code { (Text(&conn.client)) } " → " code { (Text(&conn.relay)) }
                " " span.muted { "· " (Text(&conn.end)) }
            }
            "\n"
            (direction("client → server", &conn.client_to_server))
            (direction("server → client", &conn.server_to_client))
        }
        "\n"
    }
}

fn direction(label: &str, dir: &Direction) -> Markup {
    html! {
        details open[dir.dump.lines().count() <= COLLAPSE_LINES] {
            summary {
                (label) ": " (HumanCount(dir.len)) " bytes"
                @if dir.len > dir.dump_limit {
                    ", " span.note { "dump cut: first " (HumanCount(dir.dump_limit)) " bytes shown" }
                }
            }
            "\n" p class="mono muted" { "sha256 " (Text(&dir.sha256)) } "\n"
            @if !dir.dump.is_empty() { pre { (bounded_text(&dir.dump, DUMP)) } }
        }
        "\n"
    }
}
