//! `--format ocsf`: one OCSF Detection Finding (class 2004, OCSF 1.1) per line, for security data
//! lakes that speak OCSF (Amazon Security Lake, Splunk, …). The trailhound finding is kept whole in
//! `unmapped.trailhound`, so nothing is lost in translation.
use std::io::{self, Write};

use serde_json::json;
use trailhound_core::finding::{Confidence, Finding, Severity, Status};
use trailhound_core::time::EventTime;

/// Writes findings as OCSF Detection Finding lines.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &detection_finding(f))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn millis(s: &str) -> i64 {
    EventTime::parse(s).map_or(0, |t| t.0)
}

/// The OCSF form of one finding.
pub fn detection_finding(f: &Finding) -> serde_json::Value {
    let (severity_id, severity) = match f.severity {
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    };
    let (confidence_id, confidence) = match f.confidence {
        Confidence::Low => (1, "Low"),
        Confidence::Medium => (2, "Medium"),
        Confidence::High => (3, "High"),
    };
    let attacks: Vec<serde_json::Value> = f
        .mitre
        .iter()
        .map(|id| json!({"technique": {"uid": id}, "version": "19"}))
        .collect();
    // With durable state, a finding reported before is an Update of the same `finding_info.uid`.
    let (activity_id, activity_name) = match f.status {
        Some(Status::Updated) => (2, "Update"),
        _ => (1, "Create"),
    };
    json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": 200400 + activity_id,
        "time": millis(&f.last_seen),
        "severity_id": severity_id,
        "severity": severity,
        "confidence_id": confidence_id,
        "confidence": confidence,
        "status_id": 1,
        "status": "New",
        "message": f.title,
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "trailhound", "vendor_name": "trailhound", "version": env!("CARGO_PKG_VERSION")},
        },
        "finding_info": {
            "uid": f.id,
            "title": f.title,
            "desc": f.explanation,
            "types": [f.finding_type],
            "first_seen_time": millis(&f.first_seen),
            "last_seen_time": millis(&f.last_seen),
            "related_events": f.event_ids.iter().map(|id| json!({"uid": id})).collect::<Vec<_>>(),
        },
        "attacks": attacks,
        "cloud": {"provider": "AWS", "region": f.region, "account": {"uid": f.account_id}},
        "actor": {"user": {"uid": f.access_key_id, "name": f.principal_arn}},
        "src_endpoint": {"ip": f.source_ip},
        "resources": f.instance_id.iter().map(|i| json!({"uid": i, "type": "AWS::EC2::Instance"})).collect::<Vec<_>>(),
        "remediation": {"desc": f.remediation.summary},
        "unmapped": {"trailhound": f},
    })
}
