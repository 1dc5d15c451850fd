//! The JSON report: [`RunReport`] as is, pretty-printed. Its schema is documented in
//! docs/REPORTS.md and versioned by its `schema` field.

use crate::results::{RunReport, SCHEMA};

/// The report as JSON text.
pub fn render(report: &RunReport) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

/// Reads a report back (for `interop report`), refusing other schemas.
pub fn parse(text: &str) -> Result<RunReport, String> {
    let report: RunReport = serde_json::from_str(text).map_err(|err| err.to_string())?;
    if report.schema != SCHEMA {
        return Err(format!("schema {:?} is not {SCHEMA:?}", report.schema));
    }
    Ok(report)
}
