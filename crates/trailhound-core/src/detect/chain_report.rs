//! A role-chain draft written as its finding: title, the whole path with its origin, what the last
//! sessions did, why it is (or is not) normal operation, and how to cut the chain off.
use super::{Class, Draft, LEARN_DAYS, RECUR_HOURS, RECUR_MIN, ROLE_CHAINING};
use crate::detect::common::{
    apply_evidence, attach_lineage, blank, cut_off, describe_hop, describe_origin,
};
use crate::detect::suspects::ParentRef;
use crate::event::role_name;
use crate::finding::Finding;

impl Draft {
    pub(super) fn into_finding(self) -> (Finding, Option<ParentRef>) {
        let s = &self.first;
        let last = s.last();
        let mut f = blank(ROLE_CHAINING, self.severity);
        f.id = self.id.clone();
        let role = last.role_arn.as_deref().unwrap_or("");
        let name = role_name(role).unwrap_or(role);
        let session = last.session_name.as_deref().unwrap_or("");
        f.title = format!(
            "Role chain of {} hops from {} {} to role {name} in {}",
            s.depth,
            s.origin.kind.as_str().replace('_', " "),
            short(&s.origin.principal),
            last.account
        );
        f.account_id = last.account.to_string();
        f.region = last.region.to_string();
        f.principal_arn = format!(
            "arn:aws:sts::{}:assumed-role/{name}/{session}",
            last.account
        );
        f.role_arn = last.role_arn.as_deref().map(str::to_owned);
        f.access_key_id = last.key.to_string();
        f.source_ip = last.source_ip.to_string();
        f.source_ip_context = self.context.clone();
        f.user_agent = last.user_agent.to_string();
        apply_evidence(&mut f, &self.evidence);
        attach_lineage(&mut f, s);
        f.explanation = self.explain();
        let roles: Vec<&str> = s.roles().collect();
        let (mut steps, commands, policy) =
            cut_off(&roles, Some(&s.origin), &last.key, "", self.evidence.last);
        steps.push(format!(
            "Review who may assume each role on the path (their trust policies), starting with {name}; a role that trusts a whole account or a broad principal is how a chain crosses accounts."
        ));
        if self.class == Class::Alert {
            steps.push("If this path is normal automation, allow-list it ([[chains.allow]] with its origin kind and role patterns) so it is reported at low severity.".to_owned());
        }
        f.remediation.summary = format!(
            "Confirm who drove the chain from {}; if not expected, revoke the sessions of the roles on it and cut off its origin.",
            short(&s.origin.principal)
        );
        f.remediation.steps = steps;
        f.remediation.commands = commands;
        f.remediation.revoke_policy = policy;
        let parent = self.parent.map(|(p, _)| p);
        (f, parent)
    }

    fn explain(&self) -> String {
        let s = &self.first;
        let last = s.last();
        let hops: Vec<String> = s
            .hops
            .iter()
            .enumerate()
            .map(|(i, h)| format!("({}) {}", i + 1, describe_hop(h)))
            .collect();
        let mut t = format!(
            "Session {} was reached through {} role assumptions from {}: {}.",
            last.key,
            s.depth,
            describe_origin(&s.origin),
            hops.join("; ")
        );
        t.push_str(" Chaining roles hides who is behind a session and is how a stolen foothold moves across roles and accounts: two hops can be automation, three or more rarely are.");
        if self.did.is_empty() {
            t.push_str(" The last session made no other call in the input.");
        } else {
            let did: Vec<&str> = self.did.iter().map(String::as_str).collect();
            t.push_str(&format!(" The last session did: {}.", did.join(", ")));
        }
        t.push_str(&format!(
            " The path occurred {} time(s) between {} and {}.",
            self.occurrences.saturating_sub(self.extended),
            self.evidence.first,
            self.evidence.last
        ));
        if let Some((_, what)) = &self.parent {
            t.push_str(&format!(" Its origin is already suspicious: {what}."));
        }
        if !self.novel.is_empty() {
            t.push_str(&format!(
                " The path recurs as normal operation (at least {RECUR_MIN} times over {RECUR_HOURS} or more hours), but its last sessions did something its routine does not: {}.",
                self.novel.join(", ")
            ));
        }
        match (self.class, &self.allow_reason, self.learned_at) {
            _ if !self.novel.is_empty() => {}
            (Class::Allowed, Some(r), _) => t.push_str(&format!(
                " The path is allow-listed ({r}): reported at low severity."
            )),
            (Class::Learned, _, Some(at)) => t.push_str(&format!(
                " The same path from the same origin had been seen on {LEARN_DAYS} earlier days; from {at} it is treated as normal operation and reported at low severity."
            )),
            _ => t.push_str(&format!(
                " It had not been seen on {LEARN_DAYS} earlier days (how a recurring path becomes normal operation)."
            )),
        }
        t
    }
}

/// The last part of an ARN or name (`arn:aws:iam::1:user/alice` → `alice`).
fn short(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}
