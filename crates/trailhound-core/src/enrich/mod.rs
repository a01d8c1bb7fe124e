//! Enrich (Det{R}ails, SPEC §3): for every event, what the action is (access level, MITRE ATT&CK,
//! risk categories), who is really behind the session (its origin) and where the call came from
//! (source-address context). One place per lookup: the catalogue (`catalog`), the tracker (`track`)
//! and the address book (`address`).
//!
//! Output: the original record, unchanged except for redacted secrets, with an `enrichment` object
//! appended — as NDJSON or Elasticsearch/OpenSearch bulk lines. Hot path: the catalogue lookup is a
//! hash probe, the source context is cached per address, and the record is written by splicing text
//! (no re-serialisation of the original).
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::IpAddr;

use compact_str::CompactString;
use serde::Serialize;

use crate::address::{self, AddressBook, IpContext, Source};
use crate::catalog::{Catalog, Facts, Technique};
use crate::event::{Event, IdentityType};
use crate::track::Tracker;
use crate::useragent::{AgentCache, UserAgent};

/// Output forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One enriched event per line.
    Ndjson,
    /// Elasticsearch/OpenSearch `_bulk` body: an `index` action line (with `_id` = eventID) per event.
    EsBulk,
}

/// The `enrichment` object.
#[derive(Debug, Serialize)]
pub struct Enrichment<'a> {
    /// `service:EventName`.
    pub action: Action<'a>,
    /// What the catalogue says about the action.
    #[serde(flatten)]
    pub facts: ActionPart<'a>,
    /// The session's origin.
    pub origin: Origin<'a>,
    /// Source-address context.
    pub source: SourceInfo<'a>,
    /// The parsed user agent.
    pub user_agent: AgentInfo,
}

/// The part of the enrichment that depends on the action only (written once per catalogue entry
/// and reused: see [`Enricher::write`]).
#[derive(Debug, Serialize)]
pub struct ActionPart<'a> {
    /// IAM access level, or `Unknown`.
    pub access_level: &'static str,
    /// Why the access level is unknown, when it is on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level_note: Option<&'static str>,
    /// MITRE ATT&CK techniques of the action.
    pub mitre: &'a [Technique],
    /// Risk categories.
    pub risks: Vec<&'static str>,
    /// Attacker follow-up family (Persistence / PrivilegeEscalation / DefenseEvasion), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<&'static str>,
}

impl<'a> ActionPart<'a> {
    fn of(facts: &Facts<'a>) -> Self {
        ActionPart {
            access_level: facts.access.map_or("Unknown", |a| a.as_str()),
            access_level_note: facts.known_unknown,
            mitre: facts.techniques,
            risks: facts.risks.iter().collect(),
            follow_up: facts.follow_up.map(|(f, _)| f.as_str()),
        }
    }
}

/// `service:EventName`, written without building a string.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a>(pub &'a Event);

impl Serialize for Action<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let service = e
            .event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&e.event_source);
        s.collect_str(&format_args!("{service}:{}", e.event_name))
    }
}

/// Who is behind a call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `ec2_instance`, `iam_user`, `root`, `aws_service`, `role_session`, `federation`, `unknown`.
    pub kind: &'static str,
    /// The instance, for EC2 instance credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<&'a str>,
    /// The principal ARN the origin is known by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    /// The role behind an assumed-role session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<&'a str>,
    /// The AWS service invoking on the principal's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<&'a str>,
    /// IMDS delivery for instance credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_delivery: Option<&'static str>,
}

/// Where the call came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceInfo<'a> {
    /// `ip`, `aws_service`, `aws_internal`, `other`.
    pub kind: &'static str,
    /// The AWS service name for service calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'a str>,
    /// Range, provider and trusted-label context for addresses.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub ip: Option<&'a IpContext>,
    /// `own` / `member` / `foreign`, when the call came through a VPC endpoint of a known account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint: Option<&'static str>,
    /// The organisation account CloudTrail shows owning the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_account: Option<&'a str>,
}

/// The parsed user agent.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct AgentInfo {
    /// Family, e.g. `boto3`.
    pub family: &'static str,
    /// Major version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<u16>,
    /// Attack tool or pentest distribution named in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_tool: Option<&'static str>,
}

/// What the catalogue says about one evidence action of a finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActionFacts {
    /// `service:EventName`.
    pub action: String,
    /// IAM access level, or `Unknown`.
    pub access_level: &'static str,
    /// MITRE ATT&CK technique ids.
    pub mitre: Vec<&'static str>,
    /// Risk categories.
    pub risks: Vec<&'static str>,
}

/// The enrichment of a finding's evidence actions (`service:EventName`), for `scan` output.
pub fn action_facts(catalog: &Catalog, actions: &[String]) -> Vec<ActionFacts> {
    actions
        .iter()
        .map(|a| {
            let (service, name) = a.split_once(':').unwrap_or(("", a));
            let facts = catalog.lookup(&format!("{service}.amazonaws.com"), name);
            ActionFacts {
                action: a.clone(),
                access_level: facts.access.map_or("Unknown", |l| l.as_str()),
                mitre: facts.techniques.iter().map(|t| t.id).collect(),
                risks: facts.risks.iter().collect(),
            }
        })
        .collect()
}

/// Source contexts cached per address (bounded; cleared when full).
const CACHE: usize = 100_000;

/// The enrich stage.
pub struct Enricher {
    catalog: Catalog,
    format: Format,
    index: String,
    cache: HashMap<IpAddr, IpContext>,
    agents: AgentCache,
    unknown_actions: u64,
    /// The enrichment being written (reused).
    scratch: Vec<u8>,
    /// The action part of the enrichment, serialised, by catalogue entry id.
    fragments: Vec<Option<Box<[u8]>>>,
}

impl Enricher {
    /// An enricher writing `format`; `index` names the Elasticsearch index for `es-bulk`.
    pub fn new(format: Format, index: &str) -> Self {
        Enricher {
            catalog: Catalog::builtin(),
            format,
            index: index.to_owned(),
            cache: HashMap::new(),
            agents: AgentCache::default(),
            unknown_actions: 0,
            scratch: Vec::new(),
            fragments: Vec::new(),
        }
    }

    /// Events whose action had no access level and no documented reason.
    pub fn unknown_actions(&self) -> u64 {
        self.unknown_actions
    }

    /// The enrichment of one event (after the tracker has seen it).
    pub fn enrichment<'a>(
        &'a mut self,
        ev: &'a Event,
        tracker: &'a Tracker,
        book: &AddressBook,
    ) -> Enrichment<'a> {
        let Enricher {
            catalog,
            cache,
            agents,
            unknown_actions,
            ..
        } = self;
        let facts = facts(catalog, unknown_actions, ev);
        let ua = agents.parse(&ev.user_agent);
        Enrichment {
            action: Action(ev),
            facts: ActionPart::of(&facts),
            origin: origin(ev, tracker),
            source: source_info(ev, tracker, book, cache),
            user_agent: AgentInfo::of(&ua),
        }
    }

    /// Writes one enriched event (its record text must be in `ev.raw`). The bytes are those of
    /// [`Enricher::enrichment`] serialised, but the action's part comes from a per-entry cache:
    /// its MITRE names are most of the object's text.
    pub fn write(
        &mut self,
        out: &mut dyn Write,
        ev: &Event,
        tracker: &Tracker,
        book: &AddressBook,
    ) -> io::Result<()> {
        if self.format == Format::EsBulk {
            let action =
                serde_json::json!({"index": {"_index": self.index, "_id": ev.event_id.as_str()}});
            serde_json::to_writer(&mut *out, &action)?;
            out.write_all(b"\n")?;
        }
        // Redacted and on one line already (decode made it with `redact::record_text`).
        let body = ev.raw.as_ref().map_or("{}", |r| r.as_str()).trim_end();
        let Some(open) = body.strip_suffix('}') else {
            return Err(io::Error::other("record text is not a JSON object"));
        };
        out.write_all(open.as_bytes())?;
        let empty = open.trim_end().ends_with('{');
        // Serialised into a buffer first: serde_json writes token by token, and each write through
        // `dyn Write` is a call that cannot be inlined.
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(if empty {
            b"\"enrichment\":{\"action\":"
        } else {
            b",\"enrichment\":{\"action\":"
        });
        serde_json::to_writer(&mut buf, &Action(ev))?;
        buf.push(b',');
        self.action_part(ev, &mut buf)?;
        buf.extend_from_slice(b",\"origin\":");
        serde_json::to_writer(&mut buf, &origin(ev, tracker))?;
        buf.extend_from_slice(b",\"source\":");
        serde_json::to_writer(&mut buf, &source_info(ev, tracker, book, &mut self.cache))?;
        buf.extend_from_slice(b",\"user_agent\":");
        let ua = self.agents.parse(&ev.user_agent);
        serde_json::to_writer(&mut buf, &AgentInfo::of(&ua))?;
        buf.extend_from_slice(b"}}\n");
        let written = out.write_all(&buf);
        self.scratch = buf;
        written
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
    let facts = catalog.lookup(&ev.event_source, &ev.event_name);
    if facts.access.is_none() && facts.known_unknown.is_none() {
        *unknown += 1;
    }
    facts
}

/// Appends the fields of `value`, an object, without its braces.
fn write_fields(buf: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    let start = buf.len();
    serde_json::to_writer(&mut *buf, value)?;
    buf.remove(start);
    buf.pop();
    Ok(())
}

impl AgentInfo {
    fn of(ua: &UserAgent) -> Self {
        AgentInfo {
            family: ua.family_name(),
            major: ua.major,
            attack_tool: ua.attack_tool,
        }
    }
}

/// The session's origin, as far as the tracker knows it.
pub fn origin<'a>(ev: &'a Event, tracker: &'a Tracker) -> Origin<'a> {
    let id = &ev.identity;
    let mut o = Origin {
        kind: "unknown",
        instance_id: None,
        principal: id.arn.as_deref(),
        role_arn: id.issuer_arn.as_deref(),
        invoked_by: id.invoked_by.as_deref(),
        credential_delivery: None,
    };
    o.kind = match id.kind {
        IdentityType::IamUser => "iam_user",
        IdentityType::Root => "root",
        IdentityType::AwsService => "aws_service",
        IdentityType::SamlUser | IdentityType::WebIdentityUser | IdentityType::FederatedUser => {
            "federation"
        }
        IdentityType::AssumedRole => {
            let key = id
                .access_key_id
                .as_deref()
                .and_then(|k| tracker.key(k, ev.time));
            match key {
                Some(k) => {
                    o.instance_id = Some(k.instance.as_str());
                    o.credential_delivery = k.delivery.or(id.delivery).map(|d| d.as_str());
                    "ec2_instance"
                }
                None if id.delivery.is_some() => {
                    o.instance_id = id
                        .arn
                        .as_deref()
                        .and_then(crate::event::assumed_role_session);
                    o.credential_delivery = id.delivery.map(|d| d.as_str());
                    "ec2_instance"
                }
                None => "role_session",
            }
        }
        _ => "unknown",
    };
    o
}

fn source_info<'a>(
    ev: &'a Event,
    tracker: &'a Tracker,
    book: &AddressBook,
    cache: &'a mut HashMap<IpAddr, IpContext>,
) -> SourceInfo<'a> {
    let mut info = SourceInfo {
        kind: "other",
        service: None,
        ip: None,
        vpc_endpoint: None,
        org_account: None,
    };
    match address::source(&ev.source_ip) {
        Source::Service(s) => {
            info.kind = "aws_service";
            info.service = Some(s);
        }
        Source::AwsInternal => info.kind = "aws_internal",
        Source::Other(_) => {}
        Source::Ip(ip) => {
            info.kind = "ip";
            if cache.len() >= CACHE && !cache.contains_key(&ip) {
                cache.clear();
            }
            info.ip = Some(&*cache.entry(ip).or_insert_with(|| book.context(ip)));
            info.org_account = tracker.owner(ip, ev.time).map(|o| o.account.as_str());
        }
    }
    if ev.vpc_endpoint_id.is_some() {
        let mine: Option<&CompactString> = ev.identity.account_id.as_ref();
        info.vpc_endpoint = Some(match ev.vpc_endpoint_account_id.as_ref() {
            None => "own",
            Some(a) if Some(a) == mine => "own",
            Some(a) if tracker.is_member(a) => "member",
            Some(_) => "foreign",
        });
    }
    info
}
