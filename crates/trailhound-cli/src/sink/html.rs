//! `--format html`: the findings and the run summary as one self-contained page (see `report`).
use std::io::{self, Write};

use trailhound_core::finding::Finding;
use trailhound_core::summary::Summary;

use crate::report;

/// Writes the report page.
pub fn write(out: &mut dyn Write, findings: &[Finding], summary: &Summary) -> io::Result<()> {
    let values = findings
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    let summary = serde_json::to_value(summary)?;
    let page = report::render(&report::Input {
        title: "trailhound report".to_owned(),
        findings: &values,
        summary: Some(&summary),
        investigation: None,
        story_rows: Vec::new(),
    })
    .map_err(io::Error::other)?;
    out.write_all(page.as_bytes())?;
    out.flush()
}
