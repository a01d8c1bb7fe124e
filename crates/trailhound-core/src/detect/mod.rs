//! Detect: stateful detectors, one module per finding family, each reading like its SPEC section.
//! Detectors read the tracker's state and observations; they never write shared state.
//!
//! Order per event matters and is fixed here: exfiltration first (it marks the stolen credential
//! suspicious), then the user-agent detectors, then role chains (an issuance), then follow-ups, so
//! that a follow-up in the very event that made its session suspicious is already linked. The
//! registry of suspicious sessions (`suspects`) is the detectors' own state; links to parent findings
//! are resolved once all findings are final.
mod chain;
mod common;
mod exfil;
mod followup;
mod sigma;
mod ssrf;
mod suspects;
#[cfg(test)]
pub(crate) mod testkit;
mod useragent;

pub use chain::{LEARN_DAYS, ROLE_CHAINING, SETTLE};
pub use sigma::SIGMA;
pub use ssrf::{aws_agent, MIN_CALLS, MIN_SPAN, ROLLOUT, SSRF};
pub use useragent::ATTACK_TOOL;

use crate::address::AddressBook;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::config::{ChainAllow, Settings};
use crate::event::{Detail, Event};
use crate::finding::{Finding, Severity};
use crate::track::{Observation, Tracker, Verdict, Why};
use crate::useragent::UserAgent;
use suspects::{ParentRef, Suspect, Suspects};

/// All detectors.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Detectors {
    exfil: exfil::Exfiltration,
    #[serde(skip)]
    write_only: bool,
    /// Shared: built once from embedded data (configuration, not state).
    #[serde(skip, default = "Catalog::shared")]
    catalog: Arc<Catalog>,
    suspects: Suspects,
    tools: useragent::AttackTools,
    ssrf: ssrf::Ssrf,
    chain: chain::RoleChaining,
    follow: followup::FollowUps,
    sigma: sigma::SigmaMatches,
}

impl Detectors {
    /// Detectors configured by `settings` (its `[[chains.allow]]` entries included).
    pub fn new(settings: &Settings) -> Self {
        Detectors::with_chain_allow(settings, settings.chain_allow.clone())
    }

    /// Detectors configured by `settings`, with `[[chains.allow]]` entries: chain paths that are
    /// normal operation (reported at low severity).
    pub fn with_chain_allow(settings: &Settings, allow: Vec<ChainAllow>) -> Self {
        Detectors {
            exfil: exfil::Exfiltration::new(settings.write_only),
            write_only: settings.write_only,
            catalog: Catalog::shared(),
            suspects: Suspects::new(settings.max_instances.max(1024)),
            tools: useragent::AttackTools::new(),
            ssrf: ssrf::Ssrf::new(),
            chain: chain::RoleChaining::new(allow),
            follow: followup::FollowUps::default(),
            sigma: sigma::SigmaMatches::new(settings.sigma.clone()),
        }
    }

    /// After loading saved detectors: what comes from the run's settings rather than the state.
    pub fn configure(&mut self, settings: &Settings) {
        self.write_only = settings.write_only;
        self.exfil = std::mem::replace(
            &mut self.exfil,
            exfil::Exfiltration::new(settings.write_only),
        )
        .with_write_only(settings.write_only);
        self.chain.configure(settings.chain_allow.clone());
        self.sigma.configure(settings.sigma.clone());
    }

    /// One event, in event-time order, with its parsed user agent and the tracker's judgement of it.
    pub fn on_event(
        &mut self,
        ev: &Event,
        ua: &UserAgent,
        obs: Option<&Observation>,
        tracker: &Tracker,
        book: &AddressBook,
    ) {
        self.chain.settle(ev.time);
        if let Some(obs) = obs {
            self.exfil.on_observation(ev, obs, tracker, book);
            self.flag_exfiltration(ev, obs, tracker);
            self.ssrf
                .on_observation(ev, obs, ua, tracker, book, &mut self.suspects);
        }
        if ua.attack_tool.is_some() {
            self.tools
                .on_event(ev, ua, tracker, book, &mut self.suspects);
        }
        if let Detail::Issued(issued) = &ev.detail {
            self.tools
                .on_issued(&issued.access_key_id, tracker, ev.time);
            self.chain.on_issued(ev, tracker, book, &mut self.suspects);
        }
        self.chain.on_call(ev);
        self.follow
            .on_event(ev, &self.catalog, tracker, book, &self.suspects);
        if let Some(hits) = &ev.sigma {
            self.sigma.on_event(ev, hits, tracker, book, &self.suspects);
        }
    }

    /// An instance credential used where it should not be is the first suspicious session (its
    /// finding is the exfiltration detector's; referenced by key). Same rule as that detector:
    /// with `write_only`, read-only calls are not evidence.
    fn flag_exfiltration(&mut self, ev: &Event, obs: &Observation, tracker: &Tracker) {
        let (key, why) = match &obs.verdict {
            Verdict::Unexpected(why) if !(self.write_only && ev.read_only == Some(true)) => {
                (&obs.key, Some(why))
            }
            Verdict::Contested(lock) => (&lock.key, None),
            _ => return,
        };
        let now = ev.time;
        let mine = tracker
            .instance(&obs.instance, now)
            .map(|i| i.account.clone());
        // GuardDuty's split (exfil.rs): an address or endpoint of another member account is medium.
        let affiliated = match why {
            Some(Why::ForeignEndpoint(owner)) => tracker.is_member(owner),
            _ => tracker.owner(obs.ip, now).is_some_and(|o| {
                mine.as_ref().is_some_and(|m| *m != o.account) && tracker.is_member(&o.account)
            }),
        };
        let severity = if affiliated {
            Severity::Medium
        } else {
            Severity::High
        };
        self.suspects.flag(
            key,
            now,
            Suspect {
                kind: "InstanceCredentialExfiltration",
                severity,
                parent: ParentRef::Exfil(key.clone()),
                since: now,
                what: format!(
                    "instance credentials of {} used from {}, not the instance's address",
                    obs.instance, obs.ip
                ),
            },
        );
    }

    /// The findings (unsorted), with their links to parent findings resolved.
    pub fn finish(self) -> Vec<Finding> {
        self.finish_counted().0
    }

    /// [`Detectors::finish`], with what the detectors accepted quietly.
    pub fn finish_counted(self) -> (Vec<Finding>, DetectStats) {
        self.report(true)
    }

    /// [`Detectors::finish_counted`] through a reference: the detectors are left empty.
    pub fn take_findings(&mut self) -> (Vec<Finding>, DetectStats) {
        let empty = Detectors {
            exfil: exfil::Exfiltration::new(self.write_only),
            write_only: self.write_only,
            catalog: self.catalog.clone(),
            suspects: Suspects::new(1024),
            tools: useragent::AttackTools::new(),
            ssrf: ssrf::Ssrf::new(),
            chain: chain::RoleChaining::new(Vec::new()),
            follow: followup::FollowUps::default(),
            sigma: sigma::SigmaMatches::default(),
        };
        std::mem::replace(self, empty).report(true)
    }

    /// The findings so far of a stream that goes on (a checkpoint): what [`Detectors::finish`]
    /// would give, less what is still waiting for a judgement (role chains, see
    /// [`chain::SETTLE`]). The detectors are unchanged.
    pub fn preview(&self) -> (Vec<Finding>, DetectStats) {
        self.clone().report(false)
    }

    /// The findings, with drafts still waiting judged (`end` of the data) or left out.
    fn report(mut self, end: bool) -> (Vec<Finding>, DetectStats) {
        let chains = self.chain.finish(end);
        let stats = DetectStats {
            recurring_chain_occurrences: self.chain.quiet(),
        };
        let mut out = self.exfil.finish();
        let mut refs: Vec<(usize, ParentRef)> = Vec::new();
        let rest = chains
            .into_iter()
            .chain(self.tools.finish())
            .chain(self.ssrf.finish())
            .chain(self.follow.finish())
            .chain(self.sigma.finish());
        for (f, parent) in rest {
            if let Some(p) = parent {
                refs.push((out.len(), p));
            }
            out.push(f);
        }
        let ids: Vec<(usize, Option<String>)> =
            refs.iter().map(|(i, p)| (*i, p.resolve(&out))).collect();
        for (i, id) in ids {
            if id.as_deref() != Some(out[i].id.as_str()) {
                out[i].parent_finding_id = id;
            }
        }
        (out, stats)
    }
}

/// What the detectors accepted without a finding (for the summary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Occurrences of recurring role-chain paths that did nothing new and sensitive.
    pub recurring_chain_occurrences: u64,
}
