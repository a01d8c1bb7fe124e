//! `investigate --format table|jsonl`: the story for a terminal, and for tooling.
use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Seed, Story};

/// The credential tree, every call in event-time order, then the findings. Control characters
/// from records (a user agent carrying terminal escapes) are shown as `�`, never sent to the terminal.
pub fn table(out: &mut dyn Write, seed: &Seed, story: &Story) -> io::Result<()> {
    let mut buf = Vec::new();
    table_raw(&mut buf, seed, story)?;
    let clean: String = String::from_utf8_lossy(&buf)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    out.write_all(clean.as_bytes())?;
    out.flush()
}

fn table_raw(out: &mut dyn Write, seed: &Seed, story: &Story) -> io::Result<()> {
    writeln!(
        out,
        "Investigating {}: {} credential(s), {} call(s), {} finding(s)",
        seed.describe(),
        story.credentials.len(),
        story.events.len(),
        story.findings.len()
    )?;
    if story.credentials.is_empty() {
        writeln!(out, "Nothing in the logs read uses it.")?;
        return out.flush();
    }
    writeln!(
        out,
        "\nCREDENTIALS (where each came from, then what it issued)"
    )?;
    for c in &story.credentials {
        let indent = "   ".repeat(c.depth);
        let branch = if c.depth == 0 { "" } else { "└─ " };
        let mut who = Vec::new();
        if let Some(r) = &c.role_arn {
            who.push(format!("role {r}"));
        }
        if let Some(p) = &c.principal {
            if c.role_arn.as_deref().is_none_or(|r| !p.contains(short(r))) {
                who.push(p.clone());
            }
        }
        if let Some(s) = &c.session_name {
            who.push(format!("name {s}"));
        }
        writeln!(
            out,
            "{indent}{branch}{} ({}){}",
            c.key,
            c.kind,
            if who.is_empty() {
                String::new()
            } else {
                format!(": {}", who.join(", "))
            }
        )?;
        let pad = format!("{indent}{}", if c.depth == 0 { "   " } else { "      " });
        match &c.issued_by {
            Some(i) => writeln!(
                out,
                "{pad}from {} by {} at {} from {} ({})",
                i.via,
                if i.by.is_empty() { "?" } else { &i.by },
                i.time,
                i.source_ip,
                client(&i.user_agent)
            )?,
            None => writeln!(out, "{pad}issuance not in the logs read")?,
        }
        writeln!(
            out,
            "{pad}{} call(s){}, {} .. {}, {} finding(s)",
            c.calls,
            if c.failed > 0 {
                format!(" ({} failed)", c.failed)
            } else {
                String::new()
            },
            c.first_seen.as_deref().unwrap_or("-"),
            c.last_seen.as_deref().unwrap_or("-"),
            c.findings
        )?;
    }
    if story.service_only > 0 {
        writeln!(
            out,
            "+ {} credential(s) used only by AWS services on its behalf (AWS Internal); their calls are listed below",
            story.service_only
        )?;
    }
    writeln!(out, "\nCALLS (event-time order)")?;
    writeln!(
        out,
        "{:<20}  {:<20}  {:<40}  {:<24}  {:<16}  {:<24}  {:<10}  {:<18}  USER AGENT",
        "TIME", "CREDENTIAL", "ACTION", "OUTCOME", "SOURCE", "ACCESS LEVEL", "MITRE", "RISKS"
    )?;
    for e in &story.events {
        let mut action = e.action.clone();
        if !e.issued.is_empty() {
            action.push_str(&format!(" → {}", e.issued));
        }
        if e.relation == "about" {
            action.push_str(" (about it)");
        }
        writeln!(
            out,
            "{:<20}  {:<20}  {:<40}  {:<24}  {:<16}  {:<24}  {:<10}  {:<18}  {}",
            e.time,
            e.key,
            action,
            cut(&e.outcome, 24),
            e.source_ip,
            e.access_level,
            e.mitre,
            e.risks,
            cut(&e.user_agent, 60)
        )?;
    }
    writeln!(out, "\nFINDINGS")?;
    if story.findings.is_empty() {
        writeln!(out, "none")?;
    }
    for f in &story.findings {
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
        writeln!(
            out,
            "{:<8} {:<44} {}  {}",
            s("severity"),
            s("type"),
            s("id"),
            s("title")
        )?;
    }
    if story.missed_early > 0 {
        writeln!(
            out,
            "\nnote: {} call(s) of these credentials came before their issuance was read (delivered later than the reorder window); rerun with a larger --window to include them",
            story.missed_early
        )?;
    }
    out.flush()
}

/// One JSON object per line: `{"record":"credential",…}` for each credential in tree order,
/// `{"record":"event",…,"event":{…the enriched, redacted record…}}` for each call in event-time
/// order, then `{"record":"finding","finding":{…}}`.
pub fn jsonl(out: &mut dyn Write, story: &Story) -> io::Result<()> {
    for c in &story.credentials {
        let mut v = serde_json::to_value(c)?;
        v.as_object_mut()
            .map(|o| o.insert("record".into(), json!("credential")));
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
    }
    for e in &story.events {
        let mut v = serde_json::to_value(e)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("record".into(), json!("event"));
            o.insert("event".into(), e.record.clone());
        }
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
    }
    for f in &story.findings {
        serde_json::to_writer(&mut *out, &json!({"record": "finding", "finding": f}))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn short(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn client(ua: &str) -> &str {
    ua.split_whitespace().next().unwrap_or("")
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
