//! `--format jsonl`: one finding per line, the machine contract (SPEC §4).
use std::io::{self, Write};

use trailhound_core::finding::Finding;

/// Writes findings as JSON Lines.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, f)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
