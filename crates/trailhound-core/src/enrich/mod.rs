//! Enrich (Det{R}ails, SPEC §3): for every event, what the action is (access level, MITRE ATT&CK,
//! risk categories), who is really behind the session (its origin) and where the call came from
//! (source-address context). One place per lookup: the catalogue (`catalog`), the tracker (`track`)
//! and the address book (`address`).
//!
//! Output: the original record, unchanged except for redacted secrets, with an `enrichment` object
//! appended — as NDJSON or Elasticsearch/OpenSearch bulk lines. Hot path: the catalogue lookup is a
//! hash probe, the source context is cached per address, and the record is written by splicing text
//! (no re-serialisation of the original).
mod fields;
mod json;
mod source;

use std::io::{self, Write};
use std::sync::Arc;

pub use fields::{
    action_facts, origin, Action, ActionFacts, ActionPart, AgentInfo, Enrichment, Origin,
    SourceInfo,
};

use crate::address::AddressBook;
use crate::catalog::{Catalog, Facts};
use crate::event::Event;
use crate::track::Tracker;
use crate::useragent::UserAgent;
use json::{put_str, write_action, write_agent, write_fields, write_origin};
use source::{source_info, source_parts, AddressCache};

/// Output forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One enriched event per line.
    Ndjson,
    /// Elasticsearch/OpenSearch `_bulk` body: an `index` action line (with `_id` = eventID) per event.
    EsBulk,
}

/// The enrich stage.
pub struct Enricher {
    catalog: Arc<Catalog>,
    format: Format,
    index: String,
    cache: AddressCache,
    unknown_actions: u64,
    /// The enrichment being written (reused).
    scratch: Vec<u8>,
    /// The action part of the enrichment, serialised, by catalogue entry id.
    fragments: Vec<Option<Box<[u8]>>>,
    /// The run's Sigma rules (to name the ones an event matches).
    sigma: Option<std::sync::Arc<crate::sigma::RuleSet>>,
}

/// The ids of the Sigma rules of `rules` that `ev` matches (decided while decoding).
fn rule_ids<'a>(rules: Option<&'a crate::sigma::RuleSet>, ev: &Event) -> Vec<&'a str> {
    match (rules, &ev.sigma) {
        (Some(rules), Some(hits)) => hits
            .iter()
            .filter_map(|i| rules.rules().get(usize::from(*i)))
            .map(|r| r.info.id.as_str())
            .collect(),
        _ => Vec::new(),
    }
}

impl Enricher {
    /// An enricher writing `format`; `index` names the Elasticsearch index for `es-bulk`.
    pub fn new(format: Format, index: &str) -> Self {
        Enricher {
            catalog: Catalog::shared(),
            format,
            index: index.to_owned(),
            cache: AddressCache::default(),
            unknown_actions: 0,
            scratch: Vec::new(),
            fragments: Vec::new(),
            sigma: None,
        }
    }

    /// Events whose action had no access level and no documented reason.
    pub fn unknown_actions(&self) -> u64 {
        self.unknown_actions
    }

    /// Names the Sigma rules each event matches (`enrichment.sigma`: their ids).
    pub fn set_sigma(&mut self, rules: Option<std::sync::Arc<crate::sigma::RuleSet>>) {
        self.sigma = rules;
    }

    /// The ids of the Sigma rules `ev` matches.
    fn rule_ids<'a>(&'a self, ev: &Event) -> Vec<&'a str> {
        rule_ids(self.sigma.as_deref(), ev)
    }
    /// The enrichment of one event (after the tracker has seen it); `ua` is its parsed user agent.
    pub fn enrichment<'a>(
        &'a mut self,
        ev: &'a Event,
        ua: &UserAgent,
        tracker: &'a Tracker,
        book: &AddressBook,
    ) -> Enrichment<'a> {
        let Enricher {
            catalog,
            cache,
            unknown_actions,
            sigma,
            ..
        } = self;
        let facts = facts(catalog, unknown_actions, ev);
        Enrichment {
            action: Action(ev),
            facts: ActionPart::of(&facts),
            origin: origin(ev, tracker),
            source: source_info(ev, tracker, book, cache),
            user_agent: AgentInfo::of(ua),
            sigma: rule_ids(sigma.as_deref(), ev),
        }
    }

    /// Writes one enriched event (its record text must be in `ev.raw`). The bytes are those of
    /// [`Enricher::enrichment`] serialised (a test holds them equal), written by hand because this
    /// runs on every event: the action's part comes from a per-entry cache, the address context
    /// from a per-address one, and strings that need no escaping are copied as they are.
    pub fn write(
        &mut self,
        out: &mut dyn Write,
        ev: &Event,
        ua: &UserAgent,
        tracker: &Tracker,
        book: &AddressBook,
    ) -> io::Result<()> {
        // Built in a buffer first: each write through `dyn Write` is a call that cannot be inlined.
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        if self.format == Format::EsBulk {
            buf.extend_from_slice(b"{\"index\":{\"_id\":");
            put_str(&mut buf, ev.event_id())?;
            buf.extend_from_slice(b",\"_index\":");
            put_str(&mut buf, &self.index)?;
            buf.extend_from_slice(b"}}\n");
            out.write_all(&buf)?;
            buf.clear();
        }
        // Redacted and on one line already (decode made it with `redact::record_text`), and
        // never `{}`, so a comma always follows it.
        let (open, comma): (&[u8], bool) = match &ev.raw {
            Some(raw) => (raw.open(), true),
            None => (b"{", false),
        };
        out.write_all(open)?;
        buf.extend_from_slice(if comma {
            b",\"enrichment\":{\"action\":"
        } else {
            b"\"enrichment\":{\"action\":"
        });
        write_action(&mut buf, ev)?;
        buf.push(b',');
        self.action_part(ev, &mut buf)?;
        buf.extend_from_slice(b",\"origin\":");
        write_origin(&mut buf, &origin(ev, tracker))?;
        buf.extend_from_slice(b",\"source\":");
        self.write_source(&mut buf, ev, tracker, book)?;
        buf.extend_from_slice(b",\"user_agent\":");
        write_agent(&mut buf, &AgentInfo::of(ua))?;
        let ids = self.rule_ids(ev);
        if !ids.is_empty() {
            buf.extend_from_slice(b",\"sigma\":[");
            for (i, id) in ids.into_iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                put_str(&mut buf, id)?;
            }
            buf.push(b']');
        }
        buf.extend_from_slice(b"}}\n");
        let written = out.write_all(&buf);
        self.scratch = buf;
        written
    }

    /// Writes [`SourceInfo`] as serde would, the address part from the cache.
    fn write_source(
        &mut self,
        buf: &mut Vec<u8>,
        ev: &Event,
        tracker: &Tracker,
        book: &AddressBook,
    ) -> io::Result<()> {
        let (info, known) = source_parts(ev, tracker, book, &mut self.cache);
        buf.extend_from_slice(b"{\"kind\":");
        put_str(buf, info.kind)?;
        if let Some(service) = info.service {
            buf.extend_from_slice(b",\"service\":");
            put_str(buf, service)?;
        }
        if let Some(known) = known {
            buf.push(b',');
            buf.extend_from_slice(&known.json);
        }
        if let Some(v) = info.vpc_endpoint {
            buf.extend_from_slice(b",\"vpc_endpoint\":");
            put_str(buf, v)?;
        }
        if let Some(a) = info.org_account {
            buf.extend_from_slice(b",\"org_account\":");
            put_str(buf, a)?;
        }
        buf.push(b'}');
        Ok(())
    }

    /// Appends `"access_level":…` up to the action part's last field, from the cache.
    fn action_part(&mut self, ev: &Event, buf: &mut Vec<u8>) -> io::Result<()> {
        let facts = facts(&self.catalog, &mut self.unknown_actions, ev);
        let id = facts.id as usize;
        if id == 0 {
            return write_fields(buf, &ActionPart::of(&facts));
        }
        if self.fragments.len() <= id {
            self.fragments.resize(id + 1, None);
        }
        if self.fragments[id].is_none() {
            let mut fragment = Vec::new();
            write_fields(&mut fragment, &ActionPart::of(&facts))?;
            self.fragments[id] = Some(fragment.into());
        }
        if let Some(f) = &self.fragments[id] {
            buf.extend_from_slice(f);
        }
        Ok(())
    }
}

/// The catalogue's facts about the event's action, counting an unknown one.
fn facts<'c>(catalog: &'c Catalog, unknown: &mut u64, ev: &Event) -> Facts<'c> {
    let facts = catalog.lookup(ev.event_source(), ev.event_name());
    if facts.access.is_none() && facts.known_unknown.is_none() {
        *unknown += 1;
    }
    facts
}

#[cfg(test)]
mod tests;
