//! The sections of the page, in the order they appear: the header (verdict, counts, toolchains,
//! builds), the problems, the legend with the "problems only" switch, the matrix, and the
//! known-failure entries.

use super::{Ids, Text, describe, duration, unique, utc, verdict};
use crate::report::{self, bounded};
use crate::results::{BuildRecord, BuildState, CellReport, RunReport, Toolchain};
use indicatif::HumanCount;
use maud::{Markup, html};

/// The longest reason put in a `title` tooltip.
const TITLE_CHARS: usize = 300;

/// The verdict, when and how long, the counts, and the toolchains and builds.
pub(super) fn header(report: &RunReport) -> Markup {
    let class = if report.failed() { "verdict bad" } else { "verdict good" };
    html! {
        header id="top" {
            "\n" h1 { "interop run " span class=(class) { (verdict(report)) } }
            "\n" dl {
                "\n" dt { "started" } dd { (utc(report.started_unix_ms)) }
                "\n" dt { "duration" } dd { (duration(report.duration_ms)) }
                @if let Some(partition) = &report.partition {
                    "\n" dt { "partition" } dd { (partition) }
                }
                "\n" dt { "cells" }
                dd {
                    (report::counts(report))
                    @if report.cells.is_empty() { " " span.bad { "(no cells ran: the run fails)" } }
                }
                "\n"
            }
            "\n" div.tools { "\n" (toolchains(&report.toolchains)) (builds(&report.builds)) }
            "\n"
        }
        "\n"
    }
}

fn toolchains(tools: &[Toolchain]) -> Markup {
    let rows = html! {
        @for tool in tools {
            @let (class, text) = match (&tool.version, &tool.missing) {
                (_, Some(missing)) => ("bad", format!("missing: {missing}")),
                (Some(version), None) => ("", version.clone()),
                (None, None) => ("muted", "version unknown".to_string()),
            };
            tr { th { (Text(&tool.name)) } td class=(class) { code { (Text(&text)) } } } "\n"
        }
    };
    folded_table("toolchains", tools.is_empty(), rows)
}

fn builds(builds: &[BuildRecord]) -> Markup {
    let rows = html! {
        @for build in builds {
            @let class = if build.status == BuildState::Failed { "n bad" } else { "n" };
            tr {
                th { (Text(&build.name)) }
                td class=(class) { (build.status.name()) }
                td.n { (build.duration_ms.map(duration).unwrap_or_default()) }
            }
            "\n"
            @if let Some(error) = &build.error {
                tr { td colspan="3" { pre class="wrap bad" { (Text(error)) } } } "\n"
            }
        }
    };
    folded_table("builds", builds.is_empty(), rows)
}

/// A table of `rows` under a `<details>` that starts open, titled `summary`; nothing when `empty`.
fn folded_table(summary: &str, empty: bool, rows: Markup) -> Markup {
    html! {
        @if !empty {
            details open { summary { (summary) } div.scroll { table { "\n" (rows) } } }
            "\n"
        }
    }
}

/// Failed, unexpected-pass and flaky cells, first, each linking to its detail.
pub(super) fn problems(report: &RunReport, ids: &Ids) -> Markup {
    let problems: Vec<(usize, &CellReport)> = report::PROBLEMS
        .iter()
        .flat_map(|status| report.cells.iter().enumerate().filter(move |(_, c)| c.status == *status))
        .collect();
    html! {
        section id="problems" {
            "\n" h2 { "Problems" } "\n"
            @if problems.is_empty() {
                p { "None: no cell failed, passed unexpectedly or was flaky." } "\n"
            } @else {
                ul.problems {
                    "\n"
                    @for (i, cell) in problems {
                        li {
                            (badge(cell, &ids.cells[i])) " "
                            a href={ "#" (ids.cells[i]) } { code { (Text(&cell.name)) } }
                            @if let Some(rate) = report::flake_rate(cell) {
                                " " span.muted { "(" (rate) ")" }
                            }
                            @if let Some(reason) = &cell.reason {
                                @let first = reason.lines().next().unwrap_or("");
                                @let more = reason.lines().count().saturating_sub(1);
                                br; span class="mono muted" { (Text(&bounded::truncate(first, 300))) }
                                @if more > 0 { " " span.muted { "(+" (HumanCount(more as u64)) " lines)" } }
                            }
                        }
                        "\n"
                    }
                }
                "\n"
            }
        }
        "\n"
    }
}

/// The legend: each status's mark, what it means, how many cells have it; and the switch.
pub(super) fn legend(report: &RunReport) -> Markup {
    html! {
        section id="legend" {
            "\n" h2 { "Matrix" }
            "\n" ul.legend {
                "\n"
                @for status in report.statuses() {
                    li {
                        span class={ "st st-" (status.name()) } { (status.mark()) }
                        " " (report::meaning(status)) ": " b { (report.count(status)) }
                        " " span.muted { "(" (describe(status)) ")" }
                    }
                    "\n"
                }
            }
            "\n" label.switch {
                input type="checkbox" id="only-problems";
                " problems only "
                span.muted { "(hide the cases where no cell failed, passed unexpectedly or was flaky)" }
            }
            "\n"
            @if report::problems(report).is_empty() {
                p class="only-note muted" { "No case has a problem." } "\n"
            }
        }
        "\n"
    }
}

/// A cell's mark, linking to its detail, with its name, status and reason as a tooltip.
fn badge(cell: &CellReport, id: &str) -> Markup {
    let mut title = format!("{}: {}", cell.name, cell.status.name());
    if let Some(reason) = &cell.reason {
        title.push('\n');
        title.extend(reason.chars().take(TITLE_CHARS));
        if reason.chars().nth(TITLE_CHARS).is_some() {
            title.push('…');
        }
    }
    html! {
        a class={ "st st-" (cell.status.name()) } href={ "#" (id) } title=(Text(&title)) {
            (cell.status.mark())
        }
    }
}

/// The whole matrix as one table: a row per case, a column per client grouped under its server.
/// A row with no problem is `quiet`, for the "problems only" switch.
pub(super) fn matrix(report: &RunReport, ids: &Ids) -> Markup {
    let grid = report::grid(report);
    let cases = unique(grid.iter().flat_map(|(_, _, cases)| cases.iter().copied()));
    let first = |n: usize| (n == 0).then_some("first");
    html! {
        div.scroll { table.matrix {
            "\n"
            thead {
                tr {
                    th rowspan="2" { "case" }
                    @for (server, clients, _) in &grid {
                        th colspan=(clients.len()) class="first" id=(ids.servers[server]) {
                            code { (Text(server)) }
                        }
                    }
                }
                "\n"
                tr {
                    @for (_, clients, _) in &grid {
                        @for (n, client) in clients.iter().enumerate() {
                            th class=[first(n)] { code { (Text(client)) } }
                        }
                    }
                }
            }
            "\n"
            tbody {
                "\n"
                @for case in &cases {
                    @let row: Vec<(usize, &CellReport)> =
                        report.cells.iter().enumerate().filter(|(_, c)| c.case == *case).collect();
                    @let quiet = row.iter().all(|(_, c)| !report::PROBLEMS.contains(&c.status));
                    tr class=[quiet.then_some("quiet")] {
                        th { code { (Text(case)) } }
                        @for (server, clients, _) in &grid {
                            @for (n, client) in clients.iter().enumerate() {
                                @let here: Vec<&(usize, &CellReport)> = row
                                    .iter()
                                    .filter(|(_, c)| c.server == *server && c.client == *client)
                                    .collect();
                                td class=[first(n)] {
                                    @for (i, cell) in &here { (badge(cell, &ids.cells[*i])) }
                                    @if here.is_empty() { span.muted title="not in this run" { "·" } }
                                }
                            }
                        }
                    }
                    "\n"
                }
            }
        } }
        "\n"
    }
}

/// One row per known-failure entry: how many cells it covered, its pattern, and why.
pub(super) fn known_entries(report: &RunReport) -> Markup {
    let entries = report::known_entries(report);
    if entries.is_empty() {
        return html! {};
    }
    html! {
        section id="known" {
            "\n" h2 { "Known failures" }
            "\n" div.scroll { table {
                "\n" thead { tr { th { "cells" } th { "entry" } th { "expected failure" } th { "why" } } }
                "\n" tbody {
                    "\n"
                    @for (entry, n) in &entries {
                        tr {
                            td.n { (n) }
                            td { code { (Text(&entry.cell)) } }
                            td { code { (Text(&entry.failure)) } }
                            td { (super::cell::why(&entry.why)) }
                        }
                        "\n"
                    }
                }
            } }
            "\n"
        }
        "\n"
    }
}
