//! The HTML report's tests, on [`crate::report::sample`]'s report.

use super::cell::{detail, shown_attempts, stream};
use super::*;
use crate::report::bounded::Limit;
use crate::report::sample::{HOSTILE, attempt, log, sample, stable_snapshot};
use crate::results::{Attempt, CellReport, KnownRef, RunReport, Status};
use indicatif::HumanCount;
use std::collections::HashSet;

#[test]
fn twenty_attempts_show_the_first_failed_the_first_passed_and_the_last() {
    let twenty: Vec<Attempt> = (0..20)
        .map(|n| attempt(n != 3 && n != 7, (n == 3 || n == 7).then_some("broken"), "", b"x"))
        .collect();
    assert_eq!(shown_attempts(&twenty), vec![0, 3, 19]);
    assert_eq!(shown_attempts(&twenty[..1]), vec![0]);
    assert_eq!(shown_attempts(&[]), Vec::<usize>::new());
    let mut cell = super::super::blank_cell("s", "c", "hello", Status::Flaky);
    cell.attempts = twenty;
    let out = detail(&cell, "cell-s.c.hello", "server-s").into_string();
    assert_eq!(out.matches("<details class=\"attempt\"").count(), 3);
    assert!(out.contains("… and 17 more attempts (1 failed), in the JSON report"), "{out}");
}

/// Checks that tags outside `<script>`/`<style>` nest properly: true only if no text from the
/// report opened or closed an element.
fn assert_balanced(html: &str) {
    const VOID: [&str; 5] = ["meta", "br", "img", "link", "input"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let name: String =
            tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if closing {
            assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "misnested </{name}>");
        } else if !VOID.contains(&name.as_str()) {
            if name == "script" || name == "style" {
                let close = format!("</{name}>");
                rest = &rest[rest.find(&close).expect("unclosed raw text element")..];
            }
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The `<section class="cell">` of the cell with this id.
fn detail_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section class=\"cell\" id=\"{id}\"")).expect("no detail");
    let len = html[start..].find("</section>").unwrap();
    &html[start..start + len]
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let mut report = sample();
    let c = &mut report.cells[0];
    c.name = HOSTILE.into();
    c.server = HOSTILE.into();
    c.client = HOSTILE.into();
    c.case = HOSTILE.into();
    c.spec = HOSTILE.into();
    // `mode` is an enum: nothing hostile can be in it.
    c.reason = Some(HOSTILE.into());
    c.repro = vec![HOSTILE.into()];
    c.known = Some(KnownRef {
        cell: HOSTILE.into(),
        failure: HOSTILE.into(),
        why: format!("https://x/\"{HOSTILE}"),
    });
    let a = &mut c.attempts[0];
    a.reason = Some(HOSTILE.into());
    a.clients[0] = log(HOSTILE, HOSTILE, HOSTILE, HOSTILE);
    let t = &mut a.transcript.as_mut().unwrap().connections[0];
    t.client = HOSTILE.into();
    t.end = HOSTILE.into();
    t.client_to_server.dump = HOSTILE.into();
    t.client_to_server.sha256 = HOSTILE.into();
    report.cells[1].known =
        Some(KnownRef { cell: "x".into(), failure: "y".into(), why: "javascript:alert(1)".into() });
    report.toolchains[0].version = Some(HOSTILE.into());
    report.toolchains[3].missing = Some(HOSTILE.into());
    report.builds[3].error = Some(HOSTILE.into());
    report.builds[0].name = HOSTILE.into();
    let html = render(&report);
    assert!(!html.contains("<script>alert"), "unescaped script");
    assert!(!html.contains("<img"), "unescaped img");
    assert!(!html.contains("\u{1b}"), "raw escape character");
    assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("onerror=&quot;alert(1)&quot;"));
    assert!(html.contains("\u{241b}[31m"), "ESC shown as a control picture");
    assert!(!html.contains("href=\"javascript:"), "only http(s) reasons become links");
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
    assert_balanced(&html);
}

#[test]
fn every_status_is_in_the_legend_and_grid() {
    let report = sample();
    let html = render(&report);
    let legend = &html[html.find("<section id=\"legend\"").unwrap()..];
    let legend = &legend[..legend.find("</section>").unwrap()];
    for status in Status::ALL {
        let name = status.name();
        assert!(legend.contains(&format!("<span class=\"st st-{name}\">{}</span>", status.mark())));
        let count = format!("{}: <b>{}</b>", super::super::meaning(status), report.count(status));
        assert!(legend.contains(&count), "{name} count");
        let in_grid = format!("<a class=\"st st-{name}\" href=\"#cell-");
        assert!(html.matches(&in_grid).count() >= report.count(status), "{name} in grid");
        assert!(report.count(status) > 0, "the sample has every status");
    }
    // One badge per cell in the matrices, plus one per problem.
    let problems = report
        .cells
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::UnexpectedPass | Status::Flaky))
        .count();
    assert_eq!(html.matches("<a class=\"st st-").count(), report.cells.len() + problems);
    // One table: a row per case, the servers' clients across.
    assert_eq!(html.matches("<table class=\"matrix\">").count(), 1);
    assert!(
        html.contains("<th colspan=\"3\" class=\"first\" id=\"server-rust-server\"><code>rust-server</code>")
    );
    assert!(html.contains("<th colspan=\"3\" class=\"first\" id=\"server-python-server\">"));
    assert!(html.contains("<tr><th><code>utf8</code></th>"), "a row with a problem is not quiet");
    assert!(html.contains("<tr class=\"quiet\"><th><code>hello</code></th>"));
    assert!(html.contains("<input type=\"checkbox\" id=\"only-problems\">"));
    // The legend says what each mark means, once ("known known" was unreadable).
    assert!(!legend.contains("known known") && !legend.contains("flaky flaky"));
    assert!(html.contains("title=\"rust-server/java/utf8: fail\nserver printed 19 bytes"));
}

#[test]
fn failing_cell_detail_has_repro_transcript_and_logs() {
    let html = render(&sample());
    let d = detail_of(&html, "cell-rust-server.java.utf8");
    assert!(d.contains("cargo run -p interop -- client java -- --port 8099 --case utf8"));
    assert!(d.contains("<pre class=\"wrap copy\">"));
    assert!(d.contains("first difference at byte 7"));
    assert!(d.contains("connection 1</b>: <code>127.0.0.1:41240</code> → <code>127.0.0.1:41241</code>"));
    assert!(d.contains("client → server: 160 bytes, <span class=\"note\">dump cut: first 64 bytes shown"));
    assert!(d.contains("00000000  68 c3 a9 e2 82 ac 00 ff"));
    assert!(d.contains("sha256 "));
    assert!(d.contains("server reset: connection reset by peer"));
    assert!(d.contains("java.net.SocketException: Connection reset"));
    assert!(d.contains("killed by signal 9"));
    let known = detail_of(&html, "cell-rust-server.python.empty");
    assert!(known.contains("<a href=\"https://example.invalid/issues/12\" rel=\"noreferrer\">"));
    assert!(known.contains("<code>*/python/empty</code>"));
    let flaky = detail_of(&html, "cell-rust-server.rust.large");
    assert!(flaky.contains("flake rate</dt><dd>33% <span class=\"muted\">(1 of 3 attempts failed)"));
    assert!(flaky.contains("attempt 3 of 3"));
    // Problems come before the matrices, fails first.
    let problems = html.find("id=\"problems\"").unwrap();
    assert!(problems < html.find("id=\"legend\"").unwrap());
    let fail = html[problems..].find("rust-server/java/utf8").unwrap();
    let flaky = html[problems..].find("rust-server/rust/large").unwrap();
    assert!(fail < flaky);
}

#[test]
fn nothing_is_fetched() {
    let html = render(&sample());
    let lower = html.to_ascii_lowercase();
    for needle in ["<script src", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url("] {
        assert!(!lower.contains(needle), "{needle}");
    }
    for url in ["http://", "https://"] {
        for (i, _) in lower.match_indices(url) {
            // Only in links (the known-failure `why`), never a resource.
            assert!(
                lower[..i].ends_with("<a href=\"") || lower[..i].ends_with("rel=\"noreferrer\">"),
                "{url} at {i}"
            );
        }
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_balanced(&html);
}

#[test]
fn ids_are_unique_and_links_resolve() {
    let mut report = sample();
    // Names that could collide if ids were built naively, and a duplicate.
    let base = report.cells[0].clone();
    for name in ["a/b c", "a/b_20_c", "a.b c", "a/b\"c", "a/b/c-2", "a/b/c", "a/b/c", "é/ü/✓", ""] {
        report.cells.push(CellReport { name: name.into(), ..base.clone() });
    }
    let html = render(&report);
    let ids = attr_values(&html, "id");
    let set: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "duplicate ids");
    for id in &ids {
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)), "unsafe id {id}");
    }
    assert_eq!(ids.iter().filter(|i| i.starts_with("cell-")).count(), report.cells.len());
    for href in attr_values(&html, "href").iter().filter(|h| h.starts_with('#')) {
        assert!(set.contains(&href[1..]), "dangling link {href}");
    }
    assert_balanced(&html);
}

#[test]
fn long_output_starts_collapsed() {
    let out = stream("stdout", "short\n", Limit::FILE).into_string();
    assert!(out.starts_with("<details open><summary>stdout <span class=\"muted\">(1 line, 6 bytes)"));
    let out = stream("stderr", &"x\n".repeat(500), Limit::FILE).into_string();
    assert!(out.starts_with("<details><summary>stderr <span class=\"muted\">(500 lines, 1,000 bytes)"));
    let out = stream("stdout", "", Limit::FILE).into_string();
    assert_eq!(out, "<p class=\"muted\">stdout: empty</p>\n");
}

#[test]
fn long_reasons_and_logs_are_bounded() {
    let mut report = sample();
    let logged: String = (1..=8_200)
        .map(|seq| format!("\nthe server logged a message no client reported: 127.0.0.1:1 seq {seq}"))
        .collect();
    report.cells[1].reason = Some(format!("client failed (exit code 5){logged}"));
    report.cells[1].attempts[0].server.as_mut().unwrap().stdout = logged.repeat(3);
    let html = render(&report);
    let d = detail_of(&html, "cell-rust-server.rust.utf8");
    assert!(d.contains("<span class=\"note\">… and 8,195 more like it</span>"), "{d}");
    assert!(d.contains("the JSON report has every line"));
    assert!(d.len() < 40_000, "{} bytes", d.len());
    assert_balanced(&html);
}

#[test]
fn empty_report_renders() {
    let html = render(&RunReport::default());
    assert!(html.contains("FAILED"));
    assert!(html.contains("no cells ran"));
    assert_balanced(&html);
}

#[test]
fn formats_times() {
    assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
    assert_eq!(utc(4_107_542_399_000), "2100-02-28 23:59:59 UTC");
    assert_eq!(duration(850), "850 ms");
    assert_eq!(duration(12_345), "12.3 s");
    assert_eq!(duration(245_000), "4 min 05 s");
    assert_eq!(duration(3_720_000), "1 h 02 min");
    assert_eq!(HumanCount(1_234_567).to_string(), "1,234,567");
    assert_eq!(HumanCount(999).to_string(), "999");
}

/// The matrix as a reader sees it: the legend with its counts, the "problems only" switch, and the
/// table (a row per case, a column per client under its server, every cell's mark and tooltip).
#[test]
fn matrix_snapshot() {
    let html = render(&sample());
    let start = html.find("<section id=\"legend\"").unwrap();
    let end = start + html[start..].find("</table></div>").unwrap() + "</table></div>".len();
    stable_snapshot(|| insta::assert_snapshot!(&html[start..end]));
}

/// `INTEROP_HTML_SAMPLE=sample.html cargo test` writes the sample report there, to look at.
#[test]
fn writes_sample_when_asked() {
    if let Some(path) = std::env::var_os("INTEROP_HTML_SAMPLE") {
        std::fs::write(path, render(&sample())).unwrap();
    }
}
