//! `--format table`: findings for people — a one-line-per-finding table, then each finding's story
//! (a role chain drawn as an indented tree from its origin) and first remediation command.
use std::io::{self, Write};

use trailhound_core::finding::{Finding, Status};

/// Writes findings as a table followed by details.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        writeln!(out, "No findings.")?;
        return out.flush();
    }
    writeln!(
        out,
        "{:<8} {:<44} {:<20} {:<16} {:>6}  {:<20}  ACCESS KEY",
        "SEVERITY", "TYPE", "INSTANCE / PRINCIPAL", "SOURCE", "EVENTS", "FIRST SEEN"
    )?;
    for f in findings {
        let who = f
            .instance_id
            .clone()
            .unwrap_or_else(|| short_principal(&f.principal_arn));
        writeln!(
            out,
            "{:<8} {:<44} {:<20} {:<16} {:>6}  {:<20}  {}",
            f.severity.as_str(),
            f.finding_type,
            who,
            f.source_ip,
            f.event_count,
            f.first_seen,
            f.access_key_id
        )?;
    }
    for (i, f) in findings.iter().enumerate() {
        writeln!(out)?;
        let status = match f.status {
            Some(Status::New) => "NEW: ",
            Some(Status::Updated) => "UPDATED (more evidence since it was reported): ",
            None => "",
        };
        writeln!(
            out,
            "[{}] {status}{} — {} severity, {:?} confidence (id {})",
            i + 1,
            f.title,
            f.severity.as_str(),
            f.confidence,
            f.id
        )?;
        writeln!(
            out,
            "    where: account {} {}, from {} — {}",
            f.account_id, f.region, f.source_ip, f.source_ip_context.summary
        )?;
        writeln!(
            out,
            "    when:  {} .. {} ({} events: {})",
            f.first_seen,
            f.last_seen,
            f.event_count,
            f.actions.join(", ")
        )?;
        writeln!(out, "    agent: {}", f.user_agent)?;
        write_chain(out, f)?;
        if let Some(p) = &f.parent_finding_id {
            writeln!(out, "    follows: finding {p}")?;
        }
        for line in wrap(&f.explanation, 100) {
            writeln!(out, "    {line}")?;
        }
        let shown: Vec<&str> = f.event_ids.iter().take(5).map(String::as_str).collect();
        let more = f.event_ids.len().saturating_sub(5);
        writeln!(
            out,
            "    evidence: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        )?;
        writeln!(out, "    do: {}", f.remediation.summary)?;
        if let Some(cmd) = f.remediation.commands.first() {
            writeln!(out, "        $ {cmd}")?;
        }
    }
    out.flush()
}

/// The origin, then each hop one level deeper:
///
/// ```text
///     chain: ec2 instance i-0a5b… (key ASIA…, account 1111…) from 185.220.101.47
///       └─ AssumeRole → role deploy in 111111111111 at 2024-03-05T10:06:00Z from 185.220.101.47 (Boto3/1.34.69)
///          └─ AssumeRole → role admin in 222222222222 at …
/// ```
fn write_chain(out: &mut dyn Write, f: &Finding) -> io::Result<()> {
    let Some(o) = &f.origin else {
        return Ok(());
    };
    if f.chain.is_empty() {
        writeln!(
            out,
            "    origin: {} {} (account {}) from {}",
            o.kind.replace('_', " "),
            o.principal,
            o.account_id,
            o.source_ip
        )?;
        return Ok(());
    }
    let mut extra = Vec::new();
    if let Some(k) = &o.access_key_id {
        extra.push(format!("key {k}"));
    }
    extra.push(format!("account {}", o.account_id));
    if let Some(p) = &o.source_identity {
        extra.push(format!("sourceIdentity {p}"));
    }
    writeln!(
        out,
        "    chain: {} {} ({}) from {}",
        o.kind.replace('_', " "),
        o.principal,
        extra.join(", "),
        o.source_ip
    )?;
    for (depth, h) in f.chain.iter().enumerate() {
        let what = match &h.role_arn {
            Some(r) => format!("role {} in {}", short_principal(r), h.account_id),
            None => format!("session token in {}", h.account_id),
        };
        let client = h.user_agent.split_whitespace().next().unwrap_or("");
        writeln!(
            out,
            "    {:indent$}└─ {} → {what} at {} from {} ({client}) key {}",
            "",
            h.via,
            h.time,
            h.source_ip,
            h.access_key_id,
            indent = 2 + depth * 3
        )?;
    }
    Ok(())
}

fn short_principal(arn: &str) -> String {
    arn.rsplit(['/', ':']).next().unwrap_or(arn).to_owned()
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
