//! The JSON report: [`RunReport`] as is, pretty-printed. Its schema is documented in
//! docs/REPORTS.md and versioned by its `schema` field.

use crate::results::{RunReport, SCHEMA, SCHEMA_V1};

/// The report as JSON text.
pub fn render(report: &RunReport) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// Why a JSON report could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON of the report's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A report of another schema.
    #[error("schema {found:?} is not {SCHEMA:?}")]
    Schema {
        /// The report's `schema`.
        found: String,
    },
}

/// Reads a report back (for `interop report`), refusing other schemas. A schema-1 report (whose
/// `partition` was a `"K/N"` string) is read and upgraded.
pub fn parse(text: &str) -> Result<RunReport, ParseError> {
    let mut report: RunReport = serde_json::from_str(text)?;
    if report.schema != SCHEMA && report.schema != SCHEMA_V1 {
        return Err(ParseError::Schema { found: report.schema });
    }
    report.schema = SCHEMA.into();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_schema_1_and_refuses_unknown_schemas() {
        let v1 = r#"{"schema": "interop-report/1", "started_unix_ms": 0, "duration_ms": 0,
            "partition": "1/2", "toolchains": [], "builds": [], "cells": []}"#;
        let report = parse(v1).unwrap();
        assert_eq!(report.schema, SCHEMA);
        assert_eq!(report.partition.map(|p| p.to_string()).as_deref(), Some("1/2"));
        assert_eq!(parse(&render(&report).unwrap()).unwrap(), report);
        let v9 = v1.replace("interop-report/1", "interop-report/9");
        assert!(parse(&v9).unwrap_err().to_string().contains("interop-report/9"));
    }
}
