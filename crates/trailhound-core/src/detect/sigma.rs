//! `Sigma` (issue 17): the loaded Sigma rules on every event, one finding per (rule, principal) —
//! the role of a role session, else the caller — or per (rule, parent finding) when the session
//! descends from a suspicious one (a stolen instance credential, an unusual role chain, an attack
//! tool): then the finding links to it (`parent_finding_id`) and takes its severity.
//!
//! | level | severity |
//! |---|---|
//! | informational, low | low |
//! | medium | medium |
//! | high | high |
//! | critical | critical |
use std::collections::HashMap;
use std::sync::Arc;

use super::common::{apply_evidence, blank, source_context};
use super::suspects::{ParentRef, Suspect, Suspects};
use crate::address::AddressBook;
use crate::event::{Event, IdentityType};
use crate::finding::{stable_id, Evidence, Finding, Remediation, RuleRef, Severity};
use crate::sigma::RuleSet;
use crate::track::Tracker;

/// The finding type (part of the output contract).
pub const SIGMA: &str = "Sigma";
/// Drafts kept (one per rule and principal).
const MAX_DRAFTS: usize = 100_000;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Draft {
    #[serde(with = "crate::state::serde_util::as_json")]
    finding: Finding,
    evidence: Evidence,
    parent: Option<(ParentRef, String)>,
    falsepositives: Vec<String>,
    description: String,
}

/// The detector.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct SigmaMatches {
    /// Configuration: the run's rules.
    #[serde(skip)]
    rules: Option<Arc<RuleSet>>,
    /// Drafts by subject (the principal, or `parent:…`), then rule.
    #[serde(with = "crate::state::serde_util::sorted_map")]
    drafts: HashMap<String, Vec<Draft>>,
    /// Drafts in all.
    count: usize,
}

impl SigmaMatches {
    pub(super) fn new(rules: Option<Arc<RuleSet>>) -> Self {
        SigmaMatches {
            rules: rules.filter(|r| !r.is_empty()),
            ..SigmaMatches::default()
        }
    }

    /// After loading: the rules are the run's configuration.
    pub(super) fn configure(&mut self, rules: Option<Arc<RuleSet>>) {
        self.rules = rules.filter(|r| !r.is_empty());
    }

    /// Records the matches of one event.
    pub(super) fn on_event(
        &mut self,
        ev: &Event,
        hits: &[u16],
        tracker: &Tracker,
        book: &AddressBook,
        suspects: &Suspects,
    ) {
        let Some(rules) = self.rules.clone() else {
            return;
        };
        let now = ev.time;
        let key = ev
            .identity
            .access_key_id
            .as_deref()
            .filter(|k| !k.is_empty());
        let parent =
            key.and_then(|k| suspects.nearest(k, tracker.lineage(), now, |x| x.kind != SIGMA));
        // The common case (no parent) looks its drafts up without building a key.
        let subject: std::borrow::Cow<'_, str> = match parent {
            Some((_, s)) => format!("parent:{}", s.parent.key()).into(),
            None => principal(ev).into(),
        };
        for &i in hits {
            let Some(rule) = rules.rules().get(usize::from(i)) else {
                continue;
            };
            let rule = &rule.info;
            let drafts = match self.drafts.get_mut(subject.as_ref()) {
                Some(d) => d,
                None if self.count >= MAX_DRAFTS => continue,
                None => self.drafts.entry(subject.to_string()).or_default(),
            };
            let at = match drafts.iter().position(|d| d.rule_id() == rule.id) {
                Some(at) => at,
                None if self.count >= MAX_DRAFTS => continue,
                None => {
                    self.count += 1;
                    drafts.push(new_draft(ev, rule, &subject, parent, key, tracker, book));
                    drafts.len() - 1
                }
            };
            let d = &mut drafts[at];
            if let Some((_, s)) = parent {
                d.finding.severity = d.finding.severity.max(s.severity);
            }
            d.evidence.add(ev);
        }
    }

    pub(super) fn finish(self) -> Vec<(Finding, Option<ParentRef>)> {
        self.drafts
            .into_values()
            .flatten()
            .map(Draft::into_finding)
            .collect()
    }
}

/// A new draft for `rule` and `subject`, from the event that opens it.
fn new_draft(
    ev: &Event,
    rule: &crate::sigma::RuleInfo,
    subject: &str,
    parent: Option<(&str, &Suspect)>,
    key: Option<&str>,
    tracker: &Tracker,
    book: &AddressBook,
) -> Draft {
    let now = ev.time;
    let level = severity(&rule.level);
    let mut f = blank(SIGMA, level);
    f.id = stable_id(&[SIGMA, &rule.id, subject]);
    f.title = format!("Sigma: {}", rule.title);
    f.account_id = ev.account().to_owned();
    f.region = ev.region.to_string();
    f.principal_arn = ev.identity_arn().unwrap_or("").to_owned();
    f.role_arn = ev.issuer_arn().map(str::to_owned);
    f.access_key_id = key.unwrap_or("").to_owned();
    f.instance_id = key
        .and_then(|k| tracker.key(k, now))
        .map(|i| i.instance.to_string());
    f.source_ip = ev.source_ip.to_string();
    f.source_ip_context = source_context(book, &ev.source_ip, Some(ev));
    f.user_agent = ev.user_agent().to_string();
    f.mitre = techniques(&rule.tags);
    f.rule = Some(RuleRef {
        id: rule.id.clone(),
        title: rule.title.clone(),
        level: rule.level.clone(),
        tags: rule.tags.clone(),
        author: rule.author.clone(),
        references: rule.references.clone(),
    });
    Draft {
        finding: f,
        evidence: Evidence::default(),
        parent: parent.map(|(_, s)| (s.parent.clone(), s.what.clone())),
        falsepositives: rule.falsepositives.clone(),
        description: rule.description.clone(),
    }
}

impl Draft {
    fn rule_id(&self) -> &str {
        self.finding.rule.as_ref().map_or("", |r| r.id.as_str())
    }

    fn into_finding(self) -> (Finding, Option<ParentRef>) {
        let Draft {
            mut finding,
            evidence,
            parent,
            falsepositives,
            description,
        } = self;
        apply_evidence(&mut finding, &evidence);
        let rule = finding.rule.clone().unwrap_or_default();
        let who = if finding.principal_arn.is_empty() {
            "The caller".to_owned()
        } else {
            finding.principal_arn.clone()
        };
        let mut t = format!(
            "{who} made {} call(s) matching the Sigma rule \"{}\" ({}, level {}, by {}) between {} and {}: {}",
            evidence.count,
            rule.title,
            rule.id,
            rule.level,
            if rule.author.is_empty() { "unknown" } else { &rule.author },
            finding.first_seen,
            finding.last_seen,
            finding.actions.join(", "),
        );
        if !description.is_empty() {
            t.push_str(&format!(". The rule: {}", description.replace('\n', " ")));
        }
        if !falsepositives.is_empty() {
            t.push_str(&format!(
                ". Known false positives: {}",
                falsepositives.join("; ")
            ));
        }
        if let Some((_, what)) = &parent {
            t.push_str(&format!(
                ". The session descends from a suspicious one ({what}): this is what it went on to do, raised to that finding's severity"
            ));
        }
        t.push('.');
        finding.explanation = t;
        finding.remediation = remediation(&finding, &rule.references, parent.is_some());
        (finding, parent.map(|p| p.0))
    }
}

fn remediation(f: &Finding, references: &[String], linked: bool) -> Remediation {
    let mut steps = vec![
        "Confirm with the owner of the principal whether these calls were expected; the rule's known false positives are in the explanation.".to_owned(),
        "Review every call of the credential in the same hours (trailhound investigate, or CloudTrail Lake).".to_owned(),
    ];
    if linked {
        steps.insert(
            0,
            "Handle the parent finding first: this session descends from it.".to_owned(),
        );
    }
    for r in references.iter().take(3) {
        steps.push(format!("Background: {r}"));
    }
    let mut commands = Vec::new();
    if !f.access_key_id.is_empty() {
        commands.push(format!(
            "aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={} --start-time {} --end-time {}",
            f.access_key_id, f.first_seen, f.last_seen
        ));
    }
    Remediation {
        summary: "Check whether the matched calls were intended; revert them and revoke the credential if not.".to_owned(),
        steps,
        commands,
        revoke_policy: None,
    }
}

/// Whom the calls are grouped under: the role of a role session (its sessions are many), else
/// the caller.
fn principal(ev: &Event) -> &str {
    let id = &ev.identity;
    if id.kind == IdentityType::AssumedRole {
        if let Some(r) = ev.issuer_arn() {
            return r;
        }
    }
    ev.identity_arn().unwrap_or("unknown")
}

fn severity(level: &str) -> Severity {
    match level {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    }
}

/// MITRE technique ids of `attack.t…` tags (`attack.t1078.002` → `T1078.002`).
fn techniques(tags: &[String]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .filter(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|t| crate::state::serde_util::intern(&format!("T{}", t.to_ascii_uppercase())))
        .collect();
    out.dedup();
    out
}
