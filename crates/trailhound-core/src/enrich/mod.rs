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
use crate::useragent::UserAgent;

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
    cache: AddressCache,
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
            cache: AddressCache::default(),
            unknown_actions: 0,
            scratch: Vec::new(),
            fragments: Vec::new(),
        }
    }

    /// Events whose action had no access level and no documented reason.
    pub fn unknown_actions(&self) -> u64 {
        self.unknown_actions
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
            ..
        } = self;
        let facts = facts(catalog, unknown_actions, ev);
        Enrichment {
            action: Action(ev),
            facts: ActionPart::of(&facts),
            origin: origin(ev, tracker),
            source: source_info(ev, tracker, book, cache),
            user_agent: AgentInfo::of(ua),
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
            put_str(&mut buf, &ev.event_id)?;
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
    cache: &'a mut AddressCache,
) -> SourceInfo<'a> {
    source_parts(ev, tracker, book, cache).0
}

/// Source contexts by address (foldhash: probed once per event).
type AddressCache = HashMap<IpAddr, Known, foldhash::fast::RandomState>;

/// An address's context, and its fields serialised (without braces) for [`Enricher::write`].
struct Known {
    context: IpContext,
    json: Box<[u8]>,
}

impl Known {
    fn new(context: IpContext) -> Self {
        let mut json = Vec::new();
        // Serialising a struct of strings, booleans and vectors into memory cannot fail.
        let _ = write_fields(&mut json, &context);
        Known {
            context,
            json: json.into(),
        }
    }
}

/// [`source_info`], with the cached address entry it used.
fn source_parts<'a>(
    ev: &'a Event,
    tracker: &'a Tracker,
    book: &AddressBook,
    cache: &'a mut AddressCache,
) -> (SourceInfo<'a>, Option<&'a Known>) {
    let mut known = None;
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
            let entry: &Known = cache
                .entry(ip)
                .or_insert_with(|| Known::new(book.context(ip)));
            info.ip = Some(&entry.context);
            known = Some(entry);
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
    (info, known)
}

/// Writes [`Action`] as serde would.
fn write_action(buf: &mut Vec<u8>, ev: &Event) -> io::Result<()> {
    let service = ev
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(&ev.event_source);
    if needs_escape(service) || needs_escape(&ev.event_name) {
        return serde_json::to_writer(&mut *buf, &Action(ev)).map_err(io::Error::from);
    }
    buf.push(b'"');
    buf.extend_from_slice(service.as_bytes());
    buf.push(b':');
    buf.extend_from_slice(ev.event_name.as_bytes());
    buf.push(b'"');
    Ok(())
}

/// Writes [`Origin`] as serde would.
fn write_origin(buf: &mut Vec<u8>, o: &Origin) -> io::Result<()> {
    buf.extend_from_slice(b"{\"kind\":");
    put_str(buf, o.kind)?;
    for (name, value) in [
        (&b",\"instance_id\":"[..], o.instance_id),
        (b",\"principal\":", o.principal),
        (b",\"role_arn\":", o.role_arn),
        (b",\"invoked_by\":", o.invoked_by),
        (b",\"credential_delivery\":", o.credential_delivery),
    ] {
        if let Some(v) = value {
            buf.extend_from_slice(name);
            put_str(buf, v)?;
        }
    }
    buf.push(b'}');
    Ok(())
}

/// Writes [`AgentInfo`] as serde would.
fn write_agent(buf: &mut Vec<u8>, a: &AgentInfo) -> io::Result<()> {
    buf.extend_from_slice(b"{\"family\":");
    put_str(buf, a.family)?;
    if let Some(major) = a.major {
        buf.extend_from_slice(b",\"major\":");
        serde_json::to_writer(&mut *buf, &major)?;
    }
    if let Some(tool) = a.attack_tool {
        buf.extend_from_slice(b",\"attack_tool\":");
        put_str(buf, tool)?;
    }
    buf.push(b'}');
    Ok(())
}

/// A JSON string: copied as it is when nothing in it needs escaping (the usual case: ARNs, ids),
/// else escaped by serde_json.
fn put_str(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if needs_escape(s) {
        serde_json::to_writer(&mut *buf, s)?;
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    }
    Ok(())
}

/// True when serde_json would escape something in `s` (control characters, `"` and `\\`). The
/// check has no early exit, so it can run vectorised.
fn needs_escape(s: &str) -> bool {
    s.bytes().fold(false, |acc, b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::{Settings, Trusted};
    use crate::input;
    use crate::pipeline::Decoded;
    use crate::ranges::Ranges;

    /// Odd but possible records: strings that need escaping, a service source, a VPC endpoint of
    /// another account, a trusted range, an attack tool.
    const ODD: &str = r#"
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/a\"b\\c\u0007é","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEODD00001"},"eventTime":"2024-03-05T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"Boto3/1.34.0 \"quoted\" Linux/5.7.0-kali1-amd64","requestParameters":null,"responseElements":null,"eventID":"00000000-0000-4000-8000-000000000001","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012","vpcEndpointId":"vpce-0abc","vpcEndpointAccountId":"210987654321"}
{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},"eventTime":"2024-03-05T12:00:01Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"lambda.amazonaws.com","userAgent":"lambda.amazonaws.com","eventID":"00000000-0000-4000-8000-000000000002","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}
{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-03-05T12:00:02Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"2001:db8::1","userAgent":"","eventID":"00000000-0000-4000-8000-000000000003","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}
{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-03-05T12:00:03Z","eventSource":"odd\\svc.amazonaws.com","eventName":"Odd\"Name","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"x","eventID":"00000000-0000-4000-8000-000000000004","eventType":"AwsApiCall","recipientAccountId":"123456789012"}
"#;

    fn decoded(name: &str, bytes: &[u8]) -> Vec<Event> {
        let name: Arc<str> = Arc::from(name);
        let (mut reader, gzip) = input::sniff(bytes);
        Decoded::decode(&name, &mut reader, gzip, true)
            .items
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| *e)
            .collect()
    }

    /// Every fixture event, and the odd records above.
    fn corpus() -> Vec<Event> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut files: Vec<_> = walk(&root);
        files.sort();
        let mut events = decoded("odd.ndjson", ODD.as_bytes());
        for f in files {
            let bytes = std::fs::read(&f).expect("fixture");
            events.extend(decoded(&f.display().to_string(), &bytes));
        }
        events
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixture dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else if path.to_string_lossy().ends_with(".json.gz")
                || path.to_string_lossy().ends_with(".ndjson")
            {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn hand_written_enrichment_is_the_serde_form() {
        let settings = Settings {
            trusted: vec![Trusted {
                cidr: "10.0.0.0/8".parse().expect("cidr"),
                label: "corp \"vpn\"".into(),
            }],
            ..Settings::default()
        };
        let book = AddressBook::new(Ranges::builtin(), &settings.trusted);
        let mut tracker = Tracker::new(&settings);
        let mut by_hand = Enricher::new(Format::Ndjson, "t");
        let mut by_serde = Enricher::new(Format::Ndjson, "t");
        let events = corpus();
        assert!(events.len() > 500, "fixtures not found: {}", events.len());
        let (mut escaped, mut service, mut endpoint, mut tools) = (0, 0, 0, 0);
        let mut odd_action = 0;
        for ev in &events {
            tracker.observe(ev, &book);
            let ua = UserAgent::parse(&ev.user_agent);
            let mut line = Vec::new();
            by_hand
                .write(&mut line, ev, &ua, &tracker, &book)
                .expect("write");
            let line = String::from_utf8(line).expect("utf-8");
            let at = line.rfind(",\"enrichment\":").expect("enrichment appended");
            let got = &line[at + ",\"enrichment\":".len()..line.len() - 2];
            let want = serde_json::to_string(&by_serde.enrichment(ev, &ua, &tracker, &book))
                .expect("serialise");
            assert_eq!(got, want, "event {}", ev.event_id);
            escaped += usize::from(got.contains("\\\""));
            odd_action += usize::from(got.starts_with(r#"{"action":"odd\\svc:Odd\"Name""#));
            service += usize::from(got.contains("\"service\":"));
            endpoint += usize::from(got.contains("\"vpc_endpoint\":"));
            tools += usize::from(got.contains("\"attack_tool\":"));
        }
        assert!(escaped > 0 && service > 0 && endpoint > 0 && tools > 0);
        assert_eq!(odd_action, 1);
    }

    #[test]
    fn es_bulk_action_line_is_the_serde_form() {
        let settings = Settings::default();
        let book = AddressBook::new(Ranges::builtin(), &settings.trusted);
        let tracker = Tracker::new(&settings);
        let index = "ct-\"odd\"";
        let mut enricher = Enricher::new(Format::EsBulk, index);
        let mut ev = corpus().swap_remove(0);
        ev.event_id = "id-with-\"quote\"".into();
        let mut out = Vec::new();
        enricher
            .write(
                &mut out,
                &ev,
                &UserAgent::parse(&ev.user_agent),
                &tracker,
                &book,
            )
            .expect("write");
        let out = String::from_utf8(out).expect("utf-8");
        let (action, doc) = out.split_once('\n').expect("two lines");
        let want = serde_json::json!({"index": {"_index": index, "_id": ev.event_id.as_str()}});
        assert_eq!(action, want.to_string());
        let doc: serde_json::Value = serde_json::from_str(doc.trim_end()).expect("a JSON document");
        assert!(doc["enrichment"].is_object());
    }
}
