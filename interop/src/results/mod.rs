//! What a run found, as data: the model every reporter reads and the `--json` report's schema
//! (documented in docs/REPORTS.md). Reporters never look at anything else, so a report written as
//! JSON can be rendered again later (e.g. merged from CI partitions).
//!
//! - [`report`]: the run, its cells and attempts, statuses, builds, transcripts;
//! - [`process`]: a process as run and how it ended ([`Exit`]);
//! - [`problem`]: what went wrong in an attempt, and whose part it was;
//! - [`partition`]: partitions of a split run; [`merge`]: merging their reports.

pub mod merge;
pub mod partition;
pub mod problem;
pub mod process;
pub mod report;

pub use merge::MergeError;
pub use partition::{Partition, PartitionError};
pub use problem::{Problem, ProblemKind};
pub use process::{Exit, ProcessLog};
pub use report::{
    Attempt, BuildRecord, BuildState, CellReport, ConnectionTranscript, Direction, KnownRef, RunReport,
    SCHEMA, SCHEMA_V1, Status, Toolchain, Transcript, millis,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(status: Status) -> CellReport {
        CellReport { status, ..cell("s/c/hello") }
    }

    #[test]
    fn exits_read_back_as_written() {
        use std::time::Duration;
        for exit in [
            Exit::Code(0),
            Exit::Code(-1),
            Exit::Signal(9),
            Exit::timed_out(Duration::from_millis(60_000)),
            Exit::timed_out(Duration::from_millis(10_042)),
            Exit::DidNotStart,
            Exit::StillRunning,
            Exit::Other("exit status: 0".into()),
        ] {
            let json = serde_json::to_string(&exit).unwrap();
            assert_eq!(serde_json::from_str::<Exit>(&json).unwrap(), exit, "{json}");
        }
        assert_eq!(
            Exit::timed_out(Duration::from_millis(10_042)).to_string(),
            "timed out after 10.1 s and was killed"
        );
        assert_eq!(Exit::from("exit code 0"), Exit::Code(0));
        assert!(Exit::Code(0).success() && !Exit::Code(3).success() && !Exit::Signal(15).success());
    }

    #[test]
    fn an_interrupted_run_never_looks_green() {
        let mut report = RunReport { cells: vec![with_status(Status::Pass)], ..RunReport::default() };
        assert!(!report.failed());
        assert_eq!(report.statuses(), Status::ALL, "no not-run column when nothing was cut");
        report.interrupted = true;
        assert!(report.failed(), "even when every cell that ran passed");
        report.cells.push(CellReport { status: Status::NotRun, ..cell("s/c/utf8") });
        assert!(Status::NotRun.fails_run());
        assert_eq!(report.statuses().last(), Some(&Status::NotRun));
        let other = RunReport { cells: vec![cell("s/c/other")], ..RunReport::default() };
        let merged = RunReport::merge(vec![("a.json".into(), report), ("b.json".into(), other)]).unwrap();
        assert!(merged.interrupted, "merging keeps the mark");
    }

    #[test]
    fn reports_from_before_interruptions_existed_still_parse() {
        let json = r#"{"schema":"interop-report/1","started_unix_ms":0,"duration_ms":0,"partition":null,
                       "toolchains":[],"builds":[],"cells":[]}"#;
        let report: RunReport = serde_json::from_str(json).unwrap();
        assert!(!report.interrupted);
        let json = serde_json::to_string(&RunReport { interrupted: true, ..RunReport::default() }).unwrap();
        assert!(json.contains(r#""interrupted":true"#), "{json}");
    }

    fn cell(name: &str) -> CellReport {
        let parts: Vec<&str> = name.split('/').collect();
        CellReport { duration_ms: 1, ..CellReport::new(parts[0], parts[1], parts[2]) }
    }

    /// The plan `s/c/0` … `s/c/{n-1}`, as partition `part` of it would report.
    fn report(n: usize, part: Option<(usize, usize)>) -> RunReport {
        let names = (0..n).map(|i| format!("s/c/{i}"));
        let cells = match part {
            Some((k, count)) => names.skip(k - 1).step_by(count).map(|n| cell(&n)).collect(),
            None => names.map(|n| cell(&n)).collect(),
        };
        RunReport {
            schema: SCHEMA.into(),
            partition: part.map(|(index, count)| Partition { index, count }),
            cells,
            ..RunReport::default()
        }
    }

    fn named(reports: &[(&str, RunReport)]) -> Vec<(String, RunReport)> {
        reports.iter().map(|(label, r)| (label.to_string(), r.clone())).collect()
    }

    #[test]
    fn a_complete_split_merges_back_into_plan_order() {
        let parts = [
            ("c.json", report(8, Some((3, 3)))),
            ("a.json", report(8, Some((1, 3)))),
            ("b.json", report(8, Some((2, 3)))),
        ];
        let merged = RunReport::merge(named(&parts)).unwrap();
        assert_eq!(merged.cells, report(8, None).cells);
        assert_eq!(merged.partition, None);
        // Whole runs of different selections merge too, in order.
        let (a, mut b) = (report(2, None), report(4, None));
        b.cells.drain(..2);
        let merged = RunReport::merge(named(&[("a", a), ("b", b)])).unwrap();
        assert_eq!(merged.cells, report(4, None).cells);
    }

    #[test]
    fn the_same_report_twice_names_the_duplicate_cells() {
        let r = report(5, None);
        let err = RunReport::merge(named(&[("r.json", r.clone()), ("r.json", r)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "5 cells are in more than one report: s/c/0 (r.json, r.json), s/c/1 (r.json, r.json), \
             s/c/2 (r.json, r.json) … and 2 more"
        );
        let mut one = report(1, None);
        one.cells[0].name = "s/c/7".into();
        let err = RunReport::merge(named(&[("a", report(8, None)), ("b", one)])).unwrap_err();
        assert_eq!(err.to_string(), "1 cell is in more than one report: s/c/7 (a, b)");
    }

    #[test]
    fn partitions_must_be_one_complete_split() {
        let merge = |parts: &[(&str, RunReport)]| RunReport::merge(named(parts)).unwrap_err().to_string();
        let p = |k, n| report(9, Some((k, n)));
        assert_eq!(merge(&[("1", p(1, 3)), ("1", p(1, 3))]), "partition 1/3 is given twice: 1 and 1");
        assert_eq!(merge(&[("1", p(1, 3)), ("3", p(3, 3))]), "partition 2/3 is missing");
        assert_eq!(merge(&[("2", p(2, 3))]), "partitions 1/3, 3/3 are missing");
        assert_eq!(merge(&[("2", p(2, 6))]), "partitions 1/6, 3/6, 4/6 … and 2 more are missing");
        assert_eq!(
            merge(&[("a", p(1, 2)), ("b", p(2, 3))]),
            "a is partition 1/2 but b is partition 2/3: partitions of different splits cannot be merged"
        );
        assert_eq!(RunReport::merge(Vec::new()), Err(MergeError::Empty));
    }

    #[test]
    fn partitions_serialize_as_objects_and_old_strings_still_read() {
        let r = report(3, Some((2, 3)));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["partition"], serde_json::json!({"index": 2, "count": 3}));
        let mut old = json.clone();
        old["partition"] = "2/3".into();
        let back: RunReport = serde_json::from_value(old).unwrap();
        assert_eq!(back.partition, Some(Partition { index: 2, count: 3 }));
        let mut bad = json;
        bad["partition"] = serde_json::json!({"index": 4, "count": 3});
        assert!(serde_json::from_value::<RunReport>(bad).is_err());
    }
}
