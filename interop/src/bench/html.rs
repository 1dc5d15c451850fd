//! `interop bench --html`: the figures as bar charts, one per measure, drawn as inline SVG in one
//! self-contained page with the run report's stylesheet. Escaping is maud's, as in the run report.

use super::report::{BenchReport, Ceiling, REFERENCE, amount};
use crate::report::html::CSS;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// One chart: a measure's name, its unit, whether more is better, and each name's figure.
struct Chart {
    title: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    bars: Vec<(String, Option<f64>)>,
}

/// The whole page.
pub fn render(report: &BenchReport) -> String {
    let server_chart =
        |title, unit, higher_is_better, value: fn(&super::report::ServerFigures) -> Option<f64>| Chart {
            title,
            unit,
            higher_is_better,
            bars: report.servers.iter().map(|s| (s.name.clone(), value(s))).collect(),
        };
    let mut charts = vec![
        server_chart("stream: one connection, 1 MiB frames", "MB/s", true, |s| s.stream_mb_s),
        server_chart("small: 100 connections, 64 B stop-and-wait", "msgs/s", true, |s| s.small_msgs_s),
        server_chart("raw: one 16 B message per connection, 50 at once", "conns/s", true, |s| s.raw_conns_s),
        server_chart("idle: resident memory with the idle connections open", "MiB", false, |s| {
            s.idle_rss_mib
        }),
        server_chart("idle: fresh round trip p99 with them open", "ms", false, |s| s.idle_p99_ms),
        server_chart("server CPU-seconds for one run of each load", "CPU-s", false, |s| Some(s.cpu_s)),
    ];
    if !report.clients.is_empty() {
        charts.push(Chart {
            title: "clients: send 64 MiB to rust-server, process start to exit",
            unit: "s",
            higher_is_better: false,
            bars: report.clients.iter().map(|c| (c.name.clone(), c.send_64mib_s)).collect(),
        });
    }
    charts.retain(|c| c.bars.iter().any(|(_, v)| v.is_some()));
    let ceiling = match &report.ceiling {
        Some(Ceiling { iperf3_mb_s: Some(mb_s), sha256_mb_s, .. }) => {
            format!(
                " Ceiling: iperf3 over loopback {mb_s:.0} MB/s; SHA-256 on one core {sha256_mb_s:.0} MB/s."
            )
        }
        Some(Ceiling { iperf3_error, sha256_mb_s, .. }) => format!(
            " Ceiling: iperf3: {}; SHA-256 on one core {sha256_mb_s:.0} MB/s.",
            iperf3_error.as_deref().unwrap_or("not run")
        ),
        None => String::new(),
    };
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "interop bench" }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "interop bench" }
                p.muted {
                    "Median of " (report.reps) " × " (format!("{:.1}", report.secs)) " s per figure; ratios to "
                    code { (REFERENCE) } ". Load generator: " (format!("{:.1}", report.generator_cpu_s)) " CPU-s."
                    (ceiling)
                }
                @for chart in &charts { (bars(chart)) }
                @let errors: Vec<_> = report.servers.iter()
                    .flat_map(|s| s.errors.iter().map(move |(load, why)| format!("{} {load}: {why}", s.name)))
                    .chain(report.clients.iter().filter_map(|c| c.error.as_ref().map(|why| format!("client {}: {why}", c.name))))
                    .collect();
                @if !errors.is_empty() {
                    h2 { "Failed" }
                    ul { @for error in &errors { li { (error) } } }
                }
            }
        }
    }
    .into_string()
}

/// A horizontal bar chart: a bar per name, scaled to the largest figure, labelled with the figure
/// and its ratio to rust-server's.
fn bars(chart: &Chart) -> Markup {
    const ROW: f64 = 24.0;
    const LABEL: f64 = 130.0;
    const WIDTH: f64 = 420.0;
    let max = chart.bars.iter().filter_map(|(_, v)| *v).fold(0.0, f64::max).max(f64::EPSILON);
    let reference = chart.bars.iter().find(|(name, _)| name == REFERENCE).and_then(|(_, v)| *v);
    let height = ROW * chart.bars.len() as f64 + 4.0;
    let better = if chart.higher_is_better { "more is better" } else { "less is better" };
    html! {
        h2 { (chart.title) " " span.muted { "(" (chart.unit) ", " (better) ")" } }
        svg xmlns="http://www.w3.org/2000/svg" width=(LABEL + WIDTH + 200.0) height=(height) role="img" aria-label=(chart.title) {
            @for (i, (name, value)) in chart.bars.iter().enumerate() {
                @let y = ROW * i as f64 + 2.0;
                text x="0" y=(y + 16.0) font-size="13" { (name) }
                @match value {
                    Some(v) => {
                        rect x=(LABEL) y=(y + 3.0) width=(format!("{:.1}", v / max * WIDTH)) height="16"
                            fill=(if name == REFERENCE { "#b5361a" } else { "#4c6ef5" }) {}
                        text x=(format!("{:.1}", LABEL + v / max * WIDTH + 6.0)) y=(y + 16.0) font-size="12" {
                            (format!("{} {}", amount(*v), chart.unit))
                            @if let Some(base) = reference.filter(|b| *b > 0.0) { (format!(" ({:.2}×)", v / base)) }
                        }
                    }
                    None => { text x=(LABEL) y=(y + 16.0) font-size="12" fill="#a4161a" { "no figure" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_has_a_bar_with_its_figure_or_says_it_has_none() {
        let page = render(&super::super::report::tests::sample());
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        // Grouped as in the table, with the ratio to the reference.
        assert!(page.contains("107.2k msgs/s"), "{page}");
        assert!(page.contains("16.3k msgs/s (0.15×)"), "{page}");
        // The failed load has no bar, and says so; its reason is listed.
        assert!(page.contains("no figure"), "{page}");
        assert!(page.contains("no end within 13s"), "{page}");
        // Names are escaped.
        assert!(page.contains("tutorial-&lt;server&gt;"), "{page}");
        assert!(!page.contains("tutorial-<server>"), "{page}");
        // The client that failed is not drawn as a zero.
        assert!(page.contains("exit code 4: timed out"), "{page}");
        assert_eq!(page.matches("<svg").count(), 6, "small, raw, idle memory, idle p99, CPU, clients");
    }
}
