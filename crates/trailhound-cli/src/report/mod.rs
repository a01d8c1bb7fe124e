//! The HTML report (issue 16): one self-contained page for `scan --format html`, `report` and
//! `investigate --format html`.
//!
//! The page is an askama template (`templates/report.html`, compiled into the binary and
//! HTML-escaped by default) with the stylesheet and script from `assets/` inlined, and the
//! findings as a JSON data block the script reads. Invariants:
//! - Nothing leaves the machine: no external URL anywhere; a Content-Security-Policy allows no
//!   fetch at all and runs only the page's own script (by its SHA-256), so even markup that slipped
//!   past escaping could not load or run anything.
//! - Every value from a record or finding is escaped: by askama in markup, by [`json_for_script`]
//!   in the data block, and the script only ever sets `textContent` and attributes.
//! - Deterministic: the same findings and summary give the same bytes (no clock, no randomness).
//! - Findings are read tolerantly (`serde_json::Value`): unknown fields are kept and shown, so newer
//!   finding types and fields (a `status`, a Sigma `rule`) render without a change here.
mod model;
mod timeline;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use askama::Template;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use model::{Overview, Row};

/// The page's stylesheet.
const STYLE: &str = include_str!("../../assets/report.css");
/// The page's script: plain JavaScript, no library (see docs/report.md).
const SCRIPT: &str = include_str!("../../assets/report.js");
/// ATT&CK technique names (`id<TAB>name<TAB>tactic`), to name the ids findings carry.
const MITRE: &str = include_str!("../../../../data/catalog-mitre.tsv");

/// What one page shows.
pub struct Input<'a> {
    /// The `<title>` and heading.
    pub title: String,
    /// Findings as `scan --format jsonl` writes them, in output order.
    pub findings: &'a [Value],
    /// The run summary (`scan --summary-json`), when known.
    pub summary: Option<&'a Value>,
    /// `investigate`'s story, shown above the findings.
    pub investigation: Option<Value>,
    /// The investigation's timeline rows (server-rendered: there may be many).
    pub story_rows: Vec<crate::investigate::EventRow>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    title: &'a str,
    style: &'a str,
    script: &'a str,
    csp: String,
    overview: Overview,
    rows: Vec<Row>,
    story_rows: &'a [crate::investigate::EventRow],
    investigating: bool,
    data: String,
}

/// Renders the page.
pub fn render(input: &Input<'_>) -> Result<String> {
    let overview = model::overview(input.findings, input.summary);
    let rows = input.findings.iter().map(model::row).collect();
    let mut data = serde_json::Map::new();
    data.insert("findings".into(), Value::Array(input.findings.to_vec()));
    data.insert("mitre".into(), mitre_names(input.findings));
    if let Some(inv) = &input.investigation {
        data.insert("investigation".into(), inv.clone());
    }
    let page = Page {
        title: &input.title,
        style: STYLE,
        script: SCRIPT,
        csp: csp(SCRIPT),
        overview,
        rows,
        story_rows: &input.story_rows,
        investigating: input.investigation.is_some(),
        data: json_for_script(&Value::Object(data))?,
    };
    Ok(page.render()?)
}

/// The Content-Security-Policy: no request of any kind, only this script, inline styles.
fn csp(script: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
}

/// JSON safe inside `<script type="application/json">`: `<`, `>` and `&` (and the two line
/// separators JavaScript once disallowed) become `\u` escapes, which is the same JSON, so no
/// record text can close the element or open a comment.
pub fn json_for_script(v: &Value) -> Result<String> {
    let text = serde_json::to_string(v)?;
    let mut out = String::with_capacity(text.len() + text.len() / 64);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Names of the ATT&CK techniques the findings mention (`{"T1078.004": "Valid Accounts: Cloud Accounts"}`).
fn mitre_names(findings: &[Value]) -> Value {
    let mut wanted = std::collections::BTreeSet::new();
    let ids = |v: &Value| -> Vec<String> {
        v.get("mitre")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    for f in findings {
        wanted.extend(ids(f));
        for e in f
            .get("evidence_enrichment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            wanted.extend(ids(e));
        }
    }
    let mut names = serde_json::Map::new();
    for line in MITRE.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        if let (Some(id), Some(name)) = (cols.next(), cols.next()) {
            if wanted.contains(id) {
                names.insert(id.to_owned(), Value::String(name.to_owned()));
            }
        }
    }
    Value::Object(names)
}

/// Reads findings as `scan --format jsonl` writes them. Blank lines are ignored; any other line
/// that is not a JSON object with an `id` and a `type` is an error naming the line: a report
/// silently missing findings would be worse than none.
pub fn read_findings(path: &Path) -> Result<Vec<Value>> {
    let hint = "write one with `trailhound scan … --format jsonl --output FILE`";
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| {
            format!("cannot read the findings file {} ({hint})", path.display())
        })?)
    };
    let mut findings = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: not JSON, so not a findings file ({hint})",
                path.display(),
                i + 1
            )
        })?;
        let is_finding = v.get("id").is_some_and(Value::is_string)
            && v.get("type").is_some_and(Value::is_string);
        if !is_finding {
            bail!(
                "{}:{}: not a trailhound finding (no string `id` and `type`); {hint}",
                path.display(),
                i + 1
            );
        }
        findings.push(v);
    }
    Ok(findings)
}

/// Reads a run summary (`scan --summary-json FILE`).
pub fn read_summary(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the summary {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not JSON (write one with `trailhound scan … --summary-json FILE`)",
            path.display()
        )
    })?;
    if !v.is_object() {
        bail!("{}: a run summary is a JSON object", path.display());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_element() {
        let v =
            serde_json::json!({"ua": "</script><script>alert(1)</script><!--", "x": "a&b\u{2028}"});
        let s = json_for_script(&v).unwrap();
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v, "the escapes are the same JSON");
    }

    #[test]
    fn csp_names_the_script_hash_and_allows_no_fetch() {
        let c = csp("x");
        assert!(
            c.starts_with("default-src 'none'; script-src 'sha256-"),
            "{c}"
        );
        // sha256("x") in base64 (`printf x | openssl dgst -sha256 -binary | base64`).
        assert!(
            c.contains("LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="),
            "{c}"
        );
    }

    #[test]
    fn a_line_that_is_not_a_finding_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("th-report-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.jsonl");
        std::fs::write(&p, "{\"id\":\"a\",\"type\":\"T\"}\n\n{\"foo\":1}\n").unwrap();
        let err = format!("{:#}", read_findings(&p).unwrap_err());
        assert!(err.contains("f.jsonl:3: not a trailhound finding"), "{err}");
        std::fs::write(&p, "{\"id\":\"a\",\"type\":\"T\"}\nnot json\n").unwrap();
        let err = format!("{:#}", read_findings(&p).unwrap_err());
        assert!(err.contains("f.jsonl:2: not JSON"), "{err}");
        std::fs::write(
            &p,
            "{\"id\":\"a\",\"type\":\"T\",\"status\":\"new\",\"rule\":{}}\n",
        )
        .unwrap();
        assert_eq!(
            read_findings(&p).unwrap().len(),
            1,
            "unknown fields are fine"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
