//! `scan --explain i-…` (issue 13): what the tracker learned about an instance and why each of its
//! addresses was accepted, so that a user can check a silence. Only the instances asked for are
//! logged; for every other instance this costs one empty-set check per call.
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::net::IpAddr;

use compact_str::CompactString;

use super::instance::{Instance, Learned};
use super::judge::{Verdict, Why};
use crate::time::EventTime;

/// Lines kept per instance (the first ones: how the instance's addresses became known).
const MAX_LINES: usize = 500;

/// The log of decisions about the instances to explain.
#[derive(Default)]
pub(super) struct Log {
    wanted: BTreeSet<CompactString>,
    lines: BTreeMap<CompactString, Vec<(EventTime, String)>>,
    /// (instance, address, verdict) already logged: each is said once, with its first event.
    said: HashSet<(CompactString, IpAddr, String)>,
}

impl Log {
    pub(super) fn new(ids: &[String]) -> Self {
        Log {
            wanted: ids
                .iter()
                .map(|s| CompactString::from(s.as_str()))
                .collect(),
            lines: BTreeMap::new(),
            said: HashSet::new(),
        }
    }

    /// Is `instance` to be explained?
    pub(super) fn wants(&self, instance: &str) -> bool {
        !self.wanted.is_empty() && self.wanted.contains(instance)
    }

    pub(super) fn note(&mut self, instance: &str, at: EventTime, line: String) {
        let v = self.lines.entry(instance.into()).or_default();
        if v.len() < MAX_LINES {
            v.push((at, line));
        }
    }

    /// A judged call: said once per (address, verdict).
    pub(super) fn verdict(
        &mut self,
        instance: &str,
        at: EventTime,
        ip: IpAddr,
        event_id: &str,
        verdict: &Verdict,
    ) {
        let what = describe(verdict);
        if self.said.insert((instance.into(), ip, what.clone())) {
            self.note(
                instance,
                at,
                format!("{ip}: {what} (first such call: {event_id})"),
            );
        }
    }

    pub(super) fn explanations<'a>(
        &self,
        state: impl Fn(&str) -> Option<&'a Instance>,
    ) -> Vec<Explanation> {
        self.wanted
            .iter()
            .map(|id| {
                let inst = state(id);
                Explanation {
                    instance: id.to_string(),
                    account: inst.map(|i| i.account.to_string()),
                    region: inst.and_then(|i| i.region.as_deref().map(str::to_owned)),
                    role: inst.and_then(|i| i.role_arn.as_deref().map(str::to_owned)),
                    addresses: inst.map(Instance::expected).unwrap_or_default(),
                    retired: inst.and_then(|i| i.retired).map(|r| (r.ip, r.at)),
                    lines: self.lines.get(id.as_str()).cloned().unwrap_or_default(),
                }
            })
            .collect()
    }
}

fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Expected(how) => format!("accepted: {}", how.as_str()),
        Verdict::Presigned => "not judged: a presigned-URL request, sent by whoever held the URL".into(),
        Verdict::Locked => "accepted: first plausible use, now the lock of its address family".into(),
        Verdict::Contested(lock) => format!(
            "a corroborated address known before the lock on {} was taken: the lock was not the instance (reported)",
            lock.ip
        ),
        Verdict::Unexpected(why) => format!(
            "NOT accepted (reported): {}",
            match why {
                Why::NotLock(l) => format!("the instance's address of this family is {l}"),
                Why::Implausible(i) => format!("an implausible first use ({i:?})"),
                Why::PrivateNoEndpoint => "a private address without a VPC endpoint".into(),
                Why::ForeignEndpoint(a) => format!("a VPC endpoint of account {a}"),
                Why::EgressKnown => "the instance's egress is known from CloudTrail and this is not it".into(),
                Why::Retired(at) => format!("handed over at {at} and still in use"),
                Why::Operator(t) => format!("{} reached into the instance from here at {} ({})", t.principal, t.at, t.action),
            }
        ),
    }
}

/// What was learned about one instance (`scan --explain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Instance id.
    pub instance: String,
    /// Account, when the instance was seen.
    pub account: Option<String>,
    /// Region, when known.
    pub region: Option<String>,
    /// Role, when known.
    pub role: Option<String>,
    /// The expected addresses at the end of the input, with how each became expected.
    pub addresses: Vec<Learned>,
    /// The address given up at the last handover, and when.
    pub retired: Option<(IpAddr, EventTime)>,
    /// What was learned and decided, in event-time order.
    pub lines: Vec<(EventTime, String)>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "instance {}", self.instance)?;
        let Some(account) = &self.account else {
            return writeln!(
                f,
                "  not seen in the input (or forgotten after its idle TTL)"
            );
        };
        writeln!(
            f,
            "  account {account}, region {}, role {}",
            self.region.as_deref().unwrap_or("unknown"),
            self.role.as_deref().unwrap_or("unknown")
        )?;
        writeln!(f, "  expected addresses at the end of the input:")?;
        for a in &self.addresses {
            writeln!(f, "    {:<40} {} (since {})", a.ip, a.how.as_str(), a.at)?;
        }
        if let Some((ip, at)) = self.retired {
            writeln!(f, "    {ip:<40} retired at {at} (handed over)")?;
        }
        writeln!(f, "  decisions, in event time:")?;
        for (at, line) in &self.lines {
            writeln!(f, "    {at}  {line}")?;
        }
        Ok(())
    }
}
