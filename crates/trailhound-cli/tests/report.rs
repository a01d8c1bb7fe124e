//! Issue 16 through the real binary, without a browser: `report`, `scan --format html` and
//! `investigate` on the simulator's output and on hostile records (escaping, redaction), and bad
//! input. What the page does in a browser is tested in `browser.rs`.
mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{run, tempdir, world, FIXTURE_STOLEN_KEY, HOSTILE_AGENT, PLANTED_SECRET};
use serde_json::Value;

fn os(s: &str) -> &OsStr {
    s.as_ref()
}

fn report(findings: &Path, summary: Option<&Path>, out: &Path) -> String {
    let mut args = vec![os("report"), os("--findings"), findings.as_os_str()];
    if let Some(s) = summary {
        args.extend([os("--summary"), s.as_os_str()]);
    }
    args.extend([os("--output"), out.as_os_str()]);
    let (code, _, err) = run(&args);
    assert_eq!(code, Some(0), "report: {err}");
    std::fs::read_to_string(out).expect("report written")
}

/// The page without its data block (what the template and script put there).
fn markup(html: &str) -> String {
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .expect("data block");
    let end = start + html[start..].find("</script>").expect("data block end");
    format!("{}{}", &html[..start], &html[end..])
}

#[test]
fn report_shows_every_finding_and_names_nothing_outside_the_page() {
    let w = world();
    let dir = tempdir("report-every");
    let html = report(&w.findings, Some(&w.summary), &dir.join("r.html"));
    for f in &w.parsed {
        let id = f["id"].as_str().expect("id");
        assert!(
            html.contains(&format!("data-id=\"{id}\"")),
            "finding {id} listed"
        );
    }
    assert!(
        html.contains("Content-Security-Policy\" content=\"default-src &#39;none&#39;;")
            || html.contains("Content-Security-Policy\" content=\"default-src 'none';"),
        "CSP present"
    );
    let m = markup(&html);
    for banned in ["src=", "<link", "@import", "<iframe", "<object", "<embed"] {
        assert!(!m.contains(banned), "the page names no resource ({banned})");
    }
    let urls: Vec<&str> = m
        .match_indices("http:")
        .chain(m.match_indices("https:"))
        .map(|(i, _)| &m[i..i + 26.min(m.len() - i)])
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://www.w3.org/2000/svg")),
        "only the SVG namespace: {urls:?}"
    );
    assert_eq!(m.matches("url(").count(), m.matches("url(#arrow)").count());
    // The run's summary is in the overview.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&w.summary).unwrap()).unwrap();
    let files = summary["files_read"].as_u64().unwrap();
    assert!(html.contains(&format!(
        "<dt>Files read</dt><dd class=\"num\">{files}</dd>"
    )));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scan_format_html_is_the_report_of_its_jsonl_and_deterministic() {
    let w = world();
    let dir = tempdir("report-same");
    let a = dir.join("a.html");
    let (code, _, err) = run(&[
        os("scan"),
        w.logs().as_os_str(),
        os("--config"),
        w.config().as_os_str(),
        os("--format"),
        os("html"),
        os("--no-progress"),
        os("--output"),
        a.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let from_scan = std::fs::read_to_string(&a).unwrap();
    let from_report = report(&w.findings, Some(&w.summary), &dir.join("b.html"));
    assert!(
        from_scan == from_report,
        "scan --format html and report give the same page"
    );
    let again = report(&w.findings, Some(&w.summary), &dir.join("c.html"));
    assert!(again == from_report, "the same input gives the same bytes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_without_summary_or_findings_still_renders() {
    let dir = tempdir("report-empty");
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let html = report(&empty, None, &dir.join("r.html"));
    assert!(html.contains("No run summary was given"));
    assert!(html.contains("0 of 0 shown"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_findings_file_is_a_clear_error() {
    let dir = tempdir("report-bad");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"id\":\"a\",\"type\":\"T\"}\n<html>\n").unwrap();
    let out = dir.join("r.html");
    let (code, _, err) = run(&[
        os("report"),
        os("--findings"),
        bad.as_os_str(),
        os("--output"),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.jsonl:2: not JSON"), "{err}");
    assert!(!out.exists(), "no half report");
    let (code, _, err) = run(&[
        os("report"),
        os("--findings"),
        dir.join("missing").as_os_str(),
        os("--output"),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot read the findings file"), "{err}");
    let summary = dir.join("s.json");
    std::fs::write(&summary, "[1]").unwrap();
    std::fs::write(&bad, "").unwrap();
    let (code, _, err) = run(&[
        os("report"),
        os("--findings"),
        bad.as_os_str(),
        os("--summary"),
        summary.as_os_str(),
        os("--output"),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("a run summary is a JSON object"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn investigate(logs: &Path, config: Option<&Path>, seed: &[&str], format: &str) -> String {
    let mut args = vec![
        os("investigate"),
        logs.as_os_str(),
        os("--no-progress"),
        os("--format"),
        os(format),
    ];
    if let Some(c) = config {
        args.extend([os("--config"), c.as_os_str()]);
    }
    args.extend(seed.iter().map(|s| os(s)));
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "investigate: {err}");
    out
}

/// The session tokens the logs handed out, read from the gzip files.
fn session_tokens(logs: &Path) -> Vec<String> {
    use std::io::Read;
    let mut tokens = Vec::new();
    let mut stack = vec![logs.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let mut text = String::new();
        if !p.to_string_lossy().ends_with(".json.gz")
            || flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
                .read_to_string(&mut text)
                .is_err()
        {
            continue;
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find("\"sessionToken\"") {
            rest = rest[i + 14..].trim_start_matches([' ', ':']);
            if let Some(value) = rest.strip_prefix('"') {
                if let Some(end) = value.find('"') {
                    tokens.push(value[..end].to_owned());
                }
            }
        }
    }
    tokens
}

#[test]
fn investigate_follows_a_stolen_instance_key_through_the_chain_it_began() {
    let w = world();
    let chain = w
        .parsed
        .iter()
        .find(|f| f["type"] == "RoleChaining" && f["origin"]["kind"] == "ec2_instance")
        .expect("a chain from an instance");
    let origin_key = chain["origin"]["access_key_id"]
        .as_str()
        .expect("origin key");
    let hops: Vec<&str> = chain["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["access_key_id"].as_str().unwrap())
        .collect();
    let text = investigate(
        &w.logs(),
        Some(&w.config()),
        &["--key", origin_key],
        "jsonl",
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let creds: Vec<&Value> = lines
        .iter()
        .filter(|l| l["record"] == "credential")
        .collect();
    assert_eq!(creds[0]["key"], origin_key);
    assert_eq!(
        creds[0]["issued_by"]["by"], "ec2.amazonaws.com",
        "where it came from"
    );
    for (depth, hop) in hops.iter().enumerate() {
        let c = creds
            .iter()
            .find(|c| c["key"] == *hop)
            .unwrap_or_else(|| panic!("hop {hop} followed"));
        assert_eq!(c["depth"], depth + 1, "hop {hop}");
    }
    let events: Vec<&Value> = lines.iter().filter(|l| l["record"] == "event").collect();
    let times: Vec<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "event-time order");
    assert!(
        events.iter().all(|e| e["event"]["enrichment"].is_object()),
        "enriched"
    );
    for id in chain["event_ids"].as_array().unwrap() {
        assert!(
            events.iter().any(|e| e["event_id"] == *id),
            "evidence {id} is in the story"
        );
    }
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["record"] == "finding")
        .map(|l| &l["finding"])
        .collect();
    assert!(
        found.iter().any(|f| f["id"] == chain["id"]),
        "the chain finding touches it"
    );
    assert!(
        found
            .iter()
            .any(|f| Some(f["id"].as_str().unwrap()) == chain["parent_finding_id"].as_str()),
        "and its exfiltration"
    );
    // No session token the logs handed out is printed, in any form.
    let table = investigate(
        &w.logs(),
        Some(&w.config()),
        &["--key", origin_key],
        "table",
    );
    let html = investigate(&w.logs(), Some(&w.config()), &["--key", origin_key], "html");
    for h in &hops {
        assert!(table.contains(h), "table shows hop {h}");
    }
    assert!(
        html.contains("Credential story")
            && html.contains(&format!("data-id=\"{}\"", chain["id"].as_str().unwrap()))
    );
    let tokens = session_tokens(&w.logs());
    assert!(tokens.len() > 10, "the logs hold session tokens");
    for t in tokens.iter().filter(|t| t.len() > 20) {
        assert!(
            !text.contains(t.as_str()) && !table.contains(t.as_str()) && !html.contains(t.as_str()),
            "token leaked"
        );
    }
    assert!(
        text.contains("\"sessionToken\":\"REDACTED\""),
        "redacted as enrich does"
    );
}

#[test]
fn investigate_needs_one_valid_seed() {
    let dir = tempdir("inv-seed");
    for (args, want) in [
        (vec!["--key", "nope"], "expected an access key id"),
        (vec!["--instance", "x-1"], "expected an instance id"),
        (vec!["--principal", "bob"], "expected an ARN"),
        (vec![], "say what to investigate"),
    ] {
        let mut a = vec![os("investigate"), dir.as_os_str()];
        a.extend(args.iter().map(|s| os(s)));
        let (code, _, err) = run(&a);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_records_are_escaped_and_secrets_redacted_in_every_output() {
    let dir = tempdir("report-hostile");
    let logs = common::hostile_logs(&dir);
    let page = dir.join("r.html");
    let (code, _, err) = run(&[
        os("scan"),
        logs.as_os_str(),
        os("--format"),
        os("html"),
        os("--no-progress"),
        os("--output"),
        page.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-id="), "the theft is still found");
    let inv_html = investigate(&logs, None, &["--key", FIXTURE_STOLEN_KEY], "html");
    let inv_jsonl = investigate(&logs, None, &["--key", FIXTURE_STOLEN_KEY], "jsonl");
    let inv_table = investigate(&logs, None, &["--key", FIXTURE_STOLEN_KEY], "table");
    assert!(
        inv_jsonl.contains("pwned=1"),
        "the hostile agent is in the story (as JSON text)"
    );
    for (name, out) in [("scan html", &html), ("investigate html", &inv_html)] {
        assert!(!out.contains(PLANTED_SECRET), "{name} leaks the secret");
        assert!(
            !out.contains("<img src=x"),
            "{name} has raw markup from a record"
        );
        assert!(
            !out.contains("<script>document"),
            "{name} has a raw script from a record"
        );
        assert!(
            ["&lt;img src=x", "&#60;img src=x", "\\u003cimg src=x"]
                .iter()
                .any(|e| out.contains(e)),
            "{name} shows it as text"
        );
    }
    assert!(
        inv_html.contains("&#60;/script&#62;&#60;script&#62;document"),
        "the story's table escapes the agent"
    );
    for (name, out) in [("jsonl", &inv_jsonl), ("table", &inv_table)] {
        assert!(
            !out.contains(PLANTED_SECRET),
            "investigate {name} leaks the secret"
        );
    }
    assert!(inv_jsonl.contains("\"password\":\"REDACTED\""));
    assert!(HOSTILE_AGENT.contains("<img"));
    let _ = std::fs::remove_dir_all(&dir);
}
