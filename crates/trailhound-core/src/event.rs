//! The compact, owned form of one CloudTrail event: only the fields later stages need.
//!
//! Decoding borrows from the input buffer and copies into this struct once, so events can wait in
//! the reorder window after their file is gone. Short strings are `CompactString` (inline up to 24
//! bytes: access key ids, addresses and regions never touch the heap); the texts that are usually
//! longer (the id, source, name, user agent and the two ARNs) share one heap block ([`Texts`]).
//! Secrets (`sessionToken`, `secretAccessKey`) are never copied here.
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use compact_str::CompactString;
use memchr::memmem::Finder;

use crate::time::EventTime;

mod serde_form;

/// `userIdentity.type`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum IdentityType {
    /// `AssumedRole`: temporary credentials of a role session.
    AssumedRole,
    /// `IAMUser`.
    IamUser,
    /// `Root`.
    Root,
    /// `AWSService`.
    AwsService,
    /// `AWSAccount` (another account's principal).
    AwsAccount,
    /// `FederatedUser` (GetFederationToken).
    FederatedUser,
    /// `SAMLUser`.
    SamlUser,
    /// `WebIdentityUser`.
    WebIdentityUser,
    /// `IdentityCenterUser` and other newer types.
    Other,
    /// No `userIdentity.type`.
    Missing,
}

impl IdentityType {
    /// Maps CloudTrail's string.
    pub fn from_cloudtrail(s: &str) -> IdentityType {
        match s {
            "AssumedRole" => IdentityType::AssumedRole,
            "IAMUser" => IdentityType::IamUser,
            "Root" => IdentityType::Root,
            "AWSService" => IdentityType::AwsService,
            "AWSAccount" => IdentityType::AwsAccount,
            "FederatedUser" => IdentityType::FederatedUser,
            "SAMLUser" => IdentityType::SamlUser,
            "WebIdentityUser" => IdentityType::WebIdentityUser,
            _ => IdentityType::Other,
        }
    }
}

/// How instance credentials were delivered by the metadata service (`sessionContext.ec2RoleDelivery`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Delivery {
    /// `"1.0"`: IMDSv1, readable by a plain GET, which is what SSRF steals.
    ImdsV1,
    /// `"2.0"`: IMDSv2, session-token protected.
    ImdsV2,
    /// Any other value.
    Other,
}

impl Delivery {
    /// Maps CloudTrail's string.
    pub fn from_cloudtrail(s: &str) -> Delivery {
        match s {
            "1.0" => Delivery::ImdsV1,
            "2.0" => Delivery::ImdsV2,
            _ => Delivery::Other,
        }
    }

    /// `"IMDSv1"`, `"IMDSv2"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::ImdsV1 => "IMDSv1",
            Delivery::ImdsV2 => "IMDSv2",
            Delivery::Other => "unknown",
        }
    }
}

/// Who made the call (its ARNs are the event's: [`Event::identity_arn`], [`Event::issuer_arn`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `userIdentity.type`.
    pub kind: IdentityType,
    /// `userIdentity.accountId`.
    pub account_id: Option<CompactString>,
    /// `userIdentity.accessKeyId`: the credential used.
    pub access_key_id: Option<CompactString>,
    /// `userIdentity.invokedBy`: an AWS service acting on the principal's behalf.
    pub invoked_by: Option<CompactString>,
    /// `userIdentity.sessionContext.ec2RoleDelivery`.
    pub delivery: Option<Delivery>,
    /// `userIdentity.sessionContext.sourceIdentity`.
    pub source_identity: Option<CompactString>,
}

/// Credentials handed out by STS (`AssumeRole*`, `GetSessionToken`, `GetFederationToken`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issued {
    /// `requestParameters.roleArn`, when a role was assumed.
    pub role_arn: Option<CompactString>,
    /// `requestParameters.roleSessionName`.
    pub session_name: Option<CompactString>,
    /// `responseElements.credentials.accessKeyId`: the new credential.
    pub access_key_id: CompactString,
    /// `responseElements.credentials.expiration`, parsed loosely.
    pub expiration: Option<EventTime>,
    /// `requestParameters.sourceIdentity`.
    pub source_identity: Option<CompactString>,
}

/// Address facts an EC2 API call establishes (SPEC §2.1: addresses CloudTrail shows being given).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NetFact {
    /// An instance was launched with these interfaces and addresses (`RunInstances` response).
    Launched {
        /// Instance id.
        instance: CompactString,
        /// Network interfaces of the instance.
        enis: Vec<CompactString>,
        /// Private, public and IPv6 addresses of the instance's interfaces.
        addrs: Vec<IpAddr>,
    },
    /// An Elastic IP was associated (`AssociateAddress`).
    EipAssociated {
        /// Target instance, if named.
        instance: Option<CompactString>,
        /// Target interface, if named.
        eni: Option<CompactString>,
        /// `allocationId`, to resolve the address from `AllocateAddress`.
        allocation: Option<CompactString>,
        /// `publicIp`, when the request names it.
        addr: Option<IpAddr>,
        /// `associationId` of the response (names the association in `DisassociateAddress`).
        association: Option<CompactString>,
    },
    /// An Elastic IP was taken off its instance (`DisassociateAddress`, by `associationId` or
    /// `publicIp`).
    EipDisassociated {
        /// `associationId`, when the request names it.
        association: Option<CompactString>,
        /// `publicIp`, when the request names it.
        addr: Option<IpAddr>,
    },
    /// An interface was attached to an instance (`AttachNetworkInterface`).
    EniAttached {
        /// Instance id.
        instance: CompactString,
        /// Interface id.
        eni: CompactString,
    },
    /// Addresses given to an interface (`CreateNetworkInterface`, `AssignPrivateIpAddresses`, `AssignIpv6Addresses`).
    EniAddresses {
        /// Interface id.
        eni: CompactString,
        /// The addresses.
        addrs: Vec<IpAddr>,
    },
    /// The account allocated an Elastic IP (`AllocateAddress`).
    EipAllocated {
        /// `allocationId`.
        allocation: Option<CompactString>,
        /// `publicIp`.
        addr: IpAddr,
    },
    /// A NAT gateway got Elastic IPs (`CreateNatGateway`, `AssociateNatGatewayAddress`).
    NatAddresses {
        /// Allocation ids (resolved through `AllocateAddress`).
        allocations: Vec<CompactString>,
        /// Public addresses named directly in the response.
        addrs: Vec<IpAddr>,
    },
    /// Instances were started (`StartInstances`): their auto-assigned public address may change.
    Started {
        /// Instance ids.
        instances: Vec<CompactString>,
    },
    /// Instances were terminated (`TerminateInstances`).
    Terminated {
        /// Instance ids.
        instances: Vec<CompactString>,
    },
}

/// Event-specific facts extracted at decode time (rare events only, so the common case is `None`).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Detail {
    /// Nothing beyond the common fields.
    #[default]
    None,
    /// STS issued credentials.
    Issued(Box<Issued>),
    /// EC2 address facts.
    Net(Box<Vec<NetFact>>),
    /// Someone reached into instances (`ssm:SendCommand`, `ssm:StartSession`,
    /// `ec2-instance-connect:SendSSHPublicKey`): the instance ids named by the request.
    Touched(Box<Vec<CompactString>>),
}

/// One decoded CloudTrail event.
///
/// Its serde form is that of the fields, with the texts of [`Texts`] in their CloudTrail places
/// (see `event/serde_form.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `eventTime` (or `@timestamp`).
    pub time: EventTime,
    /// `eventID`, `eventSource`, `eventName`, `userAgent` and the identity's two ARNs: read them
    /// with [`Event::event_id`] and its siblings.
    pub texts: Texts,
    /// `awsRegion`.
    pub region: CompactString,
    /// `sourceIPAddress` as written (an address, a service name or `AWS Internal`).
    pub source_ip: CompactString,
    /// `recipientAccountId`.
    pub recipient_account: CompactString,
    /// `readOnly` (string booleans accepted); `None` when absent.
    pub read_only: Option<bool>,
    /// `errorCode`, when the call failed.
    pub error_code: Option<CompactString>,
    /// `vpcEndpointId`.
    pub vpc_endpoint_id: Option<CompactString>,
    /// `vpcEndpointAccountId`.
    pub vpc_endpoint_account_id: Option<CompactString>,
    /// `additionalEventData.AuthenticationMethod` is `QueryString`: an S3 request authenticated by a
    /// presigned URL. It was signed with the identity's credentials, but whoever holds the URL sent it,
    /// from their own address.
    pub presigned: bool,
    /// `userIdentity`.
    pub identity: Identity,
    /// Event-specific facts.
    pub detail: Detail,
    /// The original record text, only when the consumer asked for it (`enrich`): secrets
    /// redacted and on one line ([`crate::redact::record_text`]).
    pub raw: Option<RawText>,
    /// The Sigma rules the record matches (indexes into the run's rule set), decided while
    /// decoding, when rules are loaded.
    pub sigma: Option<Box<[u16]>>,
}

/// The event's texts that are usually too long for `CompactString`'s 24 inline bytes (a UUID, a
/// user agent, two ARNs; some sources and names), in one heap block. As six `CompactString`s they
/// were up to six heap blocks per event, allocated on a decoding thread and freed on the engine's,
/// where a free costs more than on the thread that allocated; one block is one allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Texts {
    block: Box<str>,
    /// Where each part ends in `block`; each starts where the one before ends.
    ends: [u32; PARTS],
    /// Bit `i` is set when part `i` is present (only the ARNs can be absent).
    present: u8,
    /// [`id_key`] of the `eventID` (0 when it is empty), computed on the decoding thread so that
    /// the reorder window reads a number, not the text another core wrote.
    id: u128,
}

/// How many texts a [`Texts`] holds.
const PARTS: usize = 6;

/// The texts of one event, borrowed, to build its [`Texts`] from.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextParts<'a> {
    /// `eventID` (empty when the record has none).
    pub event_id: &'a str,
    /// `eventSource`.
    pub event_source: &'a str,
    /// `eventName`.
    pub event_name: &'a str,
    /// `userAgent` (empty when the record has none).
    pub user_agent: &'a str,
    /// `userIdentity.arn`.
    pub identity_arn: Option<&'a str>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`.
    pub issuer_arn: Option<&'a str>,
}

impl Texts {
    /// The parts, copied into one block. A part that would end beyond 4 GiB in it (never seen: a
    /// record that large is refused by the decoder) is kept empty.
    pub fn new(parts: TextParts<'_>) -> Texts {
        let all = [
            Some(parts.event_id),
            Some(parts.event_source),
            Some(parts.event_name),
            Some(parts.user_agent),
            parts.identity_arn,
            parts.issuer_arn,
        ];
        let total = all.iter().flatten().map(|p| p.len()).sum();
        let mut block = String::with_capacity(total);
        let mut texts = Texts::default();
        for (i, part) in all.iter().enumerate() {
            if let Some(part) = part {
                texts.present |= 1 << i;
                if u32::try_from(block.len() + part.len()).is_ok() {
                    block.push_str(part);
                }
            }
            texts.ends[i] = block.len() as u32;
        }
        texts.block = block.into_boxed_str();
        if !parts.event_id.is_empty() {
            texts.id = id_key(parts.event_id);
        }
        texts
    }

    /// Whether the `eventID` is not empty (without reading the text).
    pub fn has_event_id(&self) -> bool {
        self.ends[0] != 0
    }

    /// [`id_key`] of the `eventID`; 0 when the event has none.
    pub fn id_key(&self) -> u128 {
        self.id
    }

    /// Part `i`, when present.
    fn get(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.block.get(start as usize..self.ends[i] as usize)
    }

    /// The block's first byte and the byte at each part's end: the bytes that reading a part
    /// loads (a slice of a `str` checks that its ends are character boundaries), which lie in up
    /// to five cache lines. Copied, so that [`Event::warm`] really loads them.
    fn bytes_read(&self) -> [Option<u8>; PARTS + 1] {
        let block = self.block.as_bytes();
        let mut out = [block.first().copied(); PARTS + 1];
        for (slot, end) in out[1..].iter_mut().zip(self.ends) {
            *slot = block.get(end as usize).copied();
        }
        out
    }

    /// The parts, borrowed.
    pub fn parts(&self) -> TextParts<'_> {
        let text = |i| self.get(i).unwrap_or("");
        TextParts {
            event_id: text(0),
            event_source: text(1),
            event_name: text(2),
            user_agent: text(3),
            identity_arn: self.get(4),
            issuer_arn: self.get(5),
        }
    }
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.parts(), f)
    }
}

/// A record's text: a span of its log file's text, shared by the file's records (one copy of the
/// file instead of one per record), or a copy of its own (NDJSON lines, redacted records).
///
/// Always a non-empty JSON object (`{` … `}`, checked when it is made), so that writing it
/// followed by more members ([`RawText::open`]) needs no look at the text: the engine writes
/// records long after they were decoded, when their bytes are no longer in the cache.
#[derive(Clone)]
pub struct RawText {
    text: Arc<String>,
    start: u32,
    end: u32,
}

/// Written as its text; read back as a copy of its own.
impl serde::Serialize for RawText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RawText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RawText::new(&text)
            .ok_or_else(|| serde::de::Error::custom("a record text that is not a JSON object"))
    }
}

impl RawText {
    /// A copy of `text` without surrounding whitespace; `None` unless it is a non-empty JSON
    /// object.
    pub fn new(text: &str) -> Option<RawText> {
        let text = text.trim();
        is_open_object(text)?;
        Some(RawText {
            end: u32::try_from(text.len()).ok()?,
            text: Arc::new(text.to_owned()),
            start: 0,
        })
    }

    /// `span`, which must lie within `doc`, as a span of it; `None` when it does not, or is not a
    /// non-empty JSON object.
    pub fn within(doc: &Arc<String>, span: &str) -> Option<RawText> {
        is_open_object(span)?;
        let at = span_in(doc, span.as_bytes())?;
        Some(RawText {
            text: doc.clone(),
            start: u32::try_from(at.start).ok()?,
            end: u32::try_from(at.end).ok()?,
        })
    }

    /// The memory behind the text (shared with the other records of its document).
    pub fn held_bytes(&self) -> usize {
        self.text.capacity()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.text
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }

    /// The text without its closing `}`: more members can follow after a comma. Reads lengths
    /// only, never the text.
    pub fn open(&self) -> &[u8] {
        self.text
            .as_bytes()
            .get(self.start as usize..(self.end as usize).saturating_sub(1))
            .unwrap_or(b"{")
    }
}

/// `Some` when `text` is `{`, something other than whitespace, and `}`.
fn is_open_object(text: &str) -> Option<()> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    (!inner.trim_start().is_empty()).then_some(())
}

/// Where `part`, a slice of `doc`'s memory, lies in `doc` (`None` when it lies elsewhere or does not
/// start and end on character boundaries).
fn span_in(doc: &str, part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(doc.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    doc.get(start..end)?;
    Some(start..end)
}

impl fmt::Debug for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for RawText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawText {}

impl Event {
    /// `eventID` (empty when the record has none).
    pub fn event_id(&self) -> &str {
        self.texts.get(0).unwrap_or("")
    }

    /// `eventSource`, e.g. `ec2.amazonaws.com`.
    pub fn event_source(&self) -> &str {
        self.texts.get(1).unwrap_or("")
    }

    /// `eventName`.
    pub fn event_name(&self) -> &str {
        self.texts.get(2).unwrap_or("")
    }

    /// `userAgent` (empty when the record has none).
    pub fn user_agent(&self) -> &str {
        self.texts.get(3).unwrap_or("")
    }

    /// `userIdentity.arn`.
    pub fn identity_arn(&self) -> Option<&str> {
        self.texts.get(4)
    }

    /// `userIdentity.sessionContext.sessionIssuer.arn`: the role behind an assumed-role session.
    pub fn issuer_arn(&self) -> Option<&str> {
        self.texts.get(5)
    }

    /// Reads the fields and the first byte of each heap string that the stages after the reorder
    /// window read, and throws them away: the event was decoded a window ago, out of the cache, so
    /// starting these loads for every event of a released second at once lets their misses
    /// overlap.
    pub fn warm(&self) {
        let len = |s: &Option<CompactString>| s.as_ref().map(CompactString::len);
        let id = &self.identity;
        std::hint::black_box((
            self.time,
            self.texts.bytes_read(),
            self.source_ip.len(),
            self.recipient_account.len(),
            len(&self.error_code),
            len(&id.access_key_id),
            len(&id.invoked_by),
            std::mem::discriminant(&self.detail),
        ));
    }

    /// [`Event::warm`] for what only enrich reads: the record text.
    pub fn warm_text(&self) {
        std::hint::black_box(self.raw.as_ref().and_then(|r| r.open().first().copied()));
    }

    /// `eventSource` without the `.amazonaws.com` suffix, e.g. `ec2`.
    pub fn service(&self) -> &str {
        let source = self.event_source();
        source.strip_suffix(".amazonaws.com").unwrap_or(source)
    }

    /// `service:eventName`, e.g. `ec2:DescribeInstances`.
    pub fn action(&self) -> String {
        format!("{}:{}", self.service(), self.event_name())
    }

    /// The account the event belongs to: `recipientAccountId`, else the caller's account.
    pub fn account(&self) -> &str {
        if !self.recipient_account.is_empty() {
            &self.recipient_account
        } else {
            self.identity.account_id.as_deref().unwrap_or("")
        }
    }
}

/// True for a strict EC2 instance id: `i-` and 8 or 17 lower-case hex digits.
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The session name of an assumed-role ARN (`arn:aws:sts::123:assumed-role/Role/session`).
pub fn assumed_role_session(arn: &str) -> Option<&str> {
    let rest = after(arn, &ASSUMED_ROLE)?;
    Some(rest.split_once('/')?.1)
}

/// The role name of an assumed-role or role ARN.
pub fn role_name(arn: &str) -> Option<&str> {
    if let Some(rest) = after(arn, &ASSUMED_ROLE) {
        return rest.split('/').next();
    }
    let rest = after(arn, &ROLE)?;
    rest.rsplit('/').next()
}

/// The searchers for the ARN parts, built once (this runs for most events).
static ASSUMED_ROLE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(":assumed-role/"));
static ROLE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(":role/"));

/// What follows the first match of `needle` in `s` (`split_once(needle)?.1`).
fn after<'s>(s: &'s str, needle: &Finder<'_>) -> Option<&'s str> {
    let at = needle.find(s.as_bytes())?;
    s.get(at + needle.needle().len()..)
}

/// A lossless key for UUID event ids (`8-4-4-4-12` hex digits, either case), a 128-bit hash for
/// anything else. Runs on every event: the digits are read through a table, without branches.
pub fn id_key(id: &str) -> u128 {
    let b = id.as_bytes();
    if b.len() == 36 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-' {
        let mut bad = 0u8;
        let mut half = |ranges: &[std::ops::Range<usize>]| {
            let mut v = 0u64;
            for r in ranges {
                for &c in &b[r.clone()] {
                    let d = HEX[usize::from(c)];
                    bad |= d;
                    v = (v << 4) | u64::from(d & 15);
                }
            }
            v
        };
        let high = half(&[0..8, 9..13, 14..18]);
        let low = half(&[19..23, 24..36]);
        if bad & 0xF0 == 0 {
            return u128::from(high) << 64 | u128::from(low);
        }
    }
    hashed(id)
}

/// Hex digit values; 0xFF for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hashed(id: &str) -> u128 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    // The top bit marks hashed keys so they never collide with a UUID's exact value space... nearly.
    (u128::from(half(1)) << 64 | u128::from(half(2))) | (1u128 << 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_text_is_always_an_object_that_can_take_more_members() {
        let copy = RawText::new(" {\"eventName\":\"GetObject\"}\n").expect("an object");
        assert_eq!(copy.as_str(), r#"{"eventName":"GetObject"}"#);
        assert_eq!(copy.open(), br#"{"eventName":"GetObject""#);
        for not in ["{}", "{ \t }", "[1]", "\"x\"", "{\"a\":1", ""] {
            assert!(RawText::new(not).is_none(), "{not:?}");
        }
        let doc = Arc::new(r#"{"Records":[{"a":1},{}]}"#.to_owned());
        let span = |from: usize, to: usize| doc.get(from..to).expect("in the document");
        let first = RawText::within(&doc, span(12, 19)).expect("a record");
        assert_eq!(
            (first.as_str(), first.open()),
            (r#"{"a":1}"#, &br#"{"a":1"#[..])
        );
        assert!(
            RawText::within(&doc, span(20, 22)).is_none(),
            "an empty object"
        );
        assert!(
            RawText::within(&doc, "{\"a\":1}").is_none(),
            "not in the document"
        );
    }

    #[test]
    fn texts_keep_each_part_and_tell_absent_from_empty() {
        let parts = TextParts {
            event_id: "3038ebd2-c98a-4c65-9b6e-e22506292313",
            event_source: "ec2.amazonaws.com",
            event_name: "DescribeInstances",
            user_agent: "",
            identity_arn: Some(""),
            issuer_arn: None,
        };
        let texts = Texts::new(parts);
        let back = texts.parts();
        assert_eq!(
            (back.event_id, back.event_source, back.event_name),
            (parts.event_id, parts.event_source, parts.event_name)
        );
        assert_eq!(
            (back.user_agent, back.identity_arn, back.issuer_arn),
            ("", Some(""), None)
        );
        let all = TextParts {
            identity_arn: Some("arn:aws:sts::1:assumed-role/r/s"),
            issuer_arn: Some("arn:aws:iam::1:role/r"),
            user_agent: "aws-cli/2.15.0",
            ..parts
        };
        let texts = Texts::new(all);
        assert_eq!(
            format!("{:?}", texts.parts()),
            format!("{all:?}"),
            "every part, in its place"
        );
        assert_eq!(texts.block.len(), 36 + 17 + 17 + 14 + 31 + 21, "one block");
        assert_eq!(Texts::new(TextParts::default()).parts().identity_arn, None);
    }

    #[test]
    fn instance_ids_are_strict() {
        for ok in ["i-0dbc91f429e48eeed", "i-1a2b3c4d"] {
            assert!(is_instance_id(ok), "{ok}");
        }
        for bad in [
            "i-",
            "i-deadbeefx",
            "i-0DBC91F429E48EEED",
            "i-0dbc91f429e48eee",
            "instance-1",
            "i-abc",
            "ii-1a2b3c4d",
        ] {
            assert!(!is_instance_id(bad), "{bad}");
        }
    }

    #[test]
    fn arn_parts() {
        let arn = "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-0dbc91f429e48eeed";
        assert_eq!(assumed_role_session(arn), Some("i-0dbc91f429e48eeed"));
        assert_eq!(
            role_name(arn),
            Some("stratus-red-team-ec2-steal-credentials-role")
        );
        assert_eq!(
            role_name("arn:aws:iam::123:role/path/to/Deploy"),
            Some("Deploy")
        );
        assert_eq!(assumed_role_session("arn:aws:iam::123:user/bob"), None);
    }
}
