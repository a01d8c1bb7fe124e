//! Per-action facts for enrichment and detections (SPEC §2.4, §3): IAM access level, MITRE ATT&CK
//! techniques, risk categories and attacker follow-up family of a CloudTrail `(eventSource, eventName)`.
//!
//! Invariants:
//! - Built once from embedded data files (`data/iam/*.tsv`, `data/catalog-*.tsv`, provenance in
//!   `data/README.md`), then read-only; `Catalog` is `Send + Sync` and shared by reference.
//! - Lookups run on every event and never allocate: the event source resolves through one hash map
//!   (`<prefix>.amazonaws.com` for every IAM prefix, plus the irregular hosts of
//!   `data/catalog-event-sources.tsv`), the event name is ASCII-lower-cased into a stack buffer (IAM action
//!   names are case-insensitive) and looked up in that service's map. Every fact about an action lives in
//!   one entry, so [`Catalog::lookup`] answers everything with two hash probes.
//! - CloudTrail names that are not IAM action names are handled by an override table
//!   (`data/catalog-eventnames.tsv`: S3's `ListBuckets` is `s3:ListAllMyBuckets`, …) and by dropping API
//!   version suffixes (Lambda's `UpdateFunctionCode20150331v2`, CloudFront's `…2020_05_31`).
//! - Events without an access level on purpose (sign-in, AWS service events) are listed with a reason in
//!   `data/catalog-known-unknowns.tsv` and reported by [`Catalog::known_unknown`].
mod build;
mod mitre;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// IAM access level of an action (as in the AWS Service Authorization Reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessLevel {
    /// List.
    List,
    /// Read.
    Read,
    /// Write.
    Write,
    /// Permissions management.
    PermissionsManagement,
    /// Tagging.
    Tagging,
}

impl AccessLevel {
    /// `"List"`, `"Read"`, `"Write"`, `"Permissions management"` or `"Tagging"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
            AccessLevel::Tagging => "Tagging",
        }
    }
}

/// A MITRE ATT&CK technique (ATT&CK v19 ids; `data/catalog-mitre.tsv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Technique {
    /// Technique id, e.g. `"T1552.005"`.
    pub id: &'static str,
    /// Name as attack.mitre.org shows it, e.g. `"Unsecured Credentials: Cloud Instance Metadata API"`.
    pub name: &'static str,
    /// The tactic trailhound reports it under, e.g. `"Credential Access"`.
    pub tactic: &'static str,
}

/// Risk categories of an action, as flags (policy_sentry audit lists, cloudsplaining).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Risks(u8);

impl Risks {
    /// No risk category.
    pub const NONE: Risks = Risks(0);
    /// The action can grant the caller more privileges.
    pub const PRIVILEGE_ESCALATION: Risks = Risks(1);
    /// The action can expose a resource to other principals or the public.
    pub const RESOURCE_EXPOSURE: Risks = Risks(2);
    /// The action reads data worth stealing.
    pub const DATA_EXFILTRATION: Risks = Risks(4);
    /// The action returns or creates credentials.
    pub const CREDENTIALS_EXPOSURE: Risks = Risks(8);
    const NAMES: [(Risks, &'static str); 4] = [
        (Risks::PRIVILEGE_ESCALATION, "privilege_escalation"),
        (Risks::RESOURCE_EXPOSURE, "resource_exposure"),
        (Risks::DATA_EXFILTRATION, "data_exfiltration"),
        (Risks::CREDENTIALS_EXPOSURE, "credentials_exposure"),
    ];

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Risks) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw flags.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The category of a data-file name (`"privilege_escalation"`, …).
    pub fn from_name(name: &str) -> Option<Risks> {
        Risks::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(r, _)| *r)
    }

    /// The names of the set flags, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        Risks::NAMES
            .into_iter()
            .filter(move |(r, _)| self.contains(*r))
            .map(|(_, n)| n)
    }
}

impl std::ops::BitOr for Risks {
    type Output = Risks;
    fn bitor(self, rhs: Risks) -> Risks {
        Risks(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Risks {
    fn bitor_assign(&mut self, rhs: Risks) {
        self.0 |= rhs.0;
    }
}

/// Attacker follow-up families (SPEC §2.4); each is also the finding type it raises.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum FollowUp {
    /// Keeps access: new users, keys, login profiles, trust changes.
    Persistence,
    /// Gains privileges: policy attachment and version tricks, `PassRole` abuse.
    PrivilegeEscalation,
    /// Blinds defenders: stopping or deleting trails, disabling GuardDuty.
    DefenseEvasion,
}

impl FollowUp {
    /// The finding type: `"Persistence"`, `"PrivilegeEscalation"` or `"DefenseEvasion"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUp::Persistence => "Persistence",
            FollowUp::PrivilegeEscalation => "PrivilegeEscalation",
            FollowUp::DefenseEvasion => "DefenseEvasion",
        }
    }
}

/// Everything the catalog knows about one action (see [`Catalog::lookup`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts<'c> {
    /// The catalog entry these facts come from: 1 and up, distinct per entry; 0 when nothing is
    /// known (a key for caching what is derived from the facts).
    pub id: u32,
    /// IAM access level, when the action has one.
    pub access: Option<AccessLevel>,
    /// Risk categories.
    pub risks: Risks,
    /// MITRE ATT&CK techniques (curated; most actions have none).
    pub techniques: &'c [Technique],
    /// Follow-up family and a short reason.
    pub follow_up: Option<(FollowUp, &'static str)>,
    /// For role-passing calls: the `requestParameters` path (dot-separated) naming the role.
    pub role_parameter: Option<&'static str>,
    /// Why the action has no access level, when that is known and intended.
    pub known_unknown: Option<&'static str>,
}

/// One action's entry in a service map.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    id: u32,
    access: Option<AccessLevel>,
    risks: Risks,
    tech_start: u32,
    tech_len: u16,
    follow_up: Option<(FollowUp, &'static str)>,
    role_parameter: Option<&'static str>,
    known_unknown: Option<&'static str>,
}

/// FxHash (rustc's hasher): fast for the short ASCII keys used here; keys are our own data.
type FxMap<V> = HashMap<Box<str>, V, rustc_hash::FxBuildHasher>;

struct Service {
    prefix: Box<str>,
    actions: FxMap<Entry>,
}

/// The catalog: built once from embedded data, read-only, `Send + Sync`.
pub struct Catalog {
    /// Full event source (`s3.amazonaws.com`) → service index.
    sources: FxMap<u32>,
    /// IAM prefix → service index.
    prefixes: FxMap<u32>,
    services: Vec<Service>,
    /// Per-action technique lists, concatenated.
    techniques: Vec<Technique>,
    /// The MITRE table, by id.
    mitre: FxMap<Technique>,
}

/// Longest action name looked up (IAM's longest is 63 bytes).
const MAX_ACTION: usize = 128;

impl Catalog {
    /// The catalog of the embedded data files.
    pub fn builtin() -> Catalog {
        build::builtin().0
    }

    /// The bundled catalog, built once per process and shared (building it takes milliseconds,
    /// and a run used to build it twice: for the detectors and again for its findings).
    pub fn shared() -> Arc<Catalog> {
        static SHARED: OnceLock<Arc<Catalog>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(Catalog::builtin())).clone()
    }

    /// The IAM service prefix of an event source: `"s3.amazonaws.com"` → `"s3"`,
    /// `"monitoring.amazonaws.com"` → `"cloudwatch"`, `"email.amazonaws.com"` → `"ses"`. An unknown host
    /// gives its first label(s) without `.amazonaws.com`.
    pub fn iam_prefix<'a>(&'a self, event_source: &'a str) -> &'a str {
        match self.service_index(event_source) {
            Some(i) => &self.services[i].prefix,
            None => event_source
                .strip_suffix(".amazonaws.com")
                .unwrap_or(event_source),
        }
    }

    /// Everything known about `(event_source, event_name)`; the default (all empty) when nothing is.
    pub fn lookup(&self, event_source: &str, event_name: &str) -> Facts<'_> {
        let Some(e) = self.entry(event_source, event_name) else {
            return Facts::default();
        };
        let start = e.tech_start as usize;
        Facts {
            id: e.id,
            access: e.access,
            risks: e.risks,
            techniques: self
                .techniques
                .get(start..start + usize::from(e.tech_len))
                .unwrap_or(&[]),
            follow_up: e.follow_up,
            role_parameter: e.role_parameter,
            known_unknown: e.known_unknown,
        }
    }

    /// IAM access level, through the eventName override table where CloudTrail's name differs.
    pub fn access_level(&self, event_source: &str, event_name: &str) -> Option<AccessLevel> {
        self.entry(event_source, event_name)?.access
    }

    /// MITRE ATT&CK techniques (curated, `data/catalog-techniques.tsv`); empty for most actions.
    pub fn techniques(&self, event_source: &str, event_name: &str) -> &[Technique] {
        self.lookup(event_source, event_name).techniques
    }

    /// Risk categories (policy_sentry audit lists, cloudsplaining, `data/catalog-risks-extra.tsv`).
    pub fn risks(&self, event_source: &str, event_name: &str) -> Risks {
        self.entry(event_source, event_name)
            .map(|e| e.risks)
            .unwrap_or_default()
    }

    /// Follow-up family and a short reason (`data/catalog-follow-ups.tsv`).
    pub fn follow_up(
        &self,
        event_source: &str,
        event_name: &str,
    ) -> Option<(FollowUp, &'static str)> {
        self.entry(event_source, event_name)?.follow_up
    }

    /// For calls that pass a role: the `requestParameters` path naming it (`"iamInstanceProfile"` for
    /// `RunInstances`); the call is `PassRole` abuse material only when that parameter is present.
    pub fn role_parameter(&self, event_source: &str, event_name: &str) -> Option<&'static str> {
        self.entry(event_source, event_name)?.role_parameter
    }

    /// Why an event has no access level, when that is intended (`data/catalog-known-unknowns.tsv`).
    pub fn known_unknown(&self, event_source: &str, event_name: &str) -> Option<&'static str> {
        self.entry(event_source, event_name)?.known_unknown
    }

    /// A technique of the MITRE table by id.
    pub fn technique(&self, id: &str) -> Option<Technique> {
        self.mitre.get(id).copied()
    }

    /// The techniques a trailhound finding type stands for (`InstanceCredentialExfiltration.*`,
    /// `RoleChaining`, `SsrfUserAgentAnomaly`, `AttackToolUserAgent`, `Persistence`,
    /// `PrivilegeEscalation`, `DefenseEvasion`); empty for an unknown type.
    pub fn finding_techniques(finding_type: &str) -> &'static [Technique] {
        mitre::finding_techniques_for(finding_type)
    }

    /// Number of services and of actions with an entry.
    pub fn size(&self) -> (usize, usize) {
        (
            self.services.len(),
            self.services.iter().map(|s| s.actions.len()).sum(),
        )
    }

    fn service_index(&self, event_source: &str) -> Option<usize> {
        if let Some(&i) = self.sources.get(event_source) {
            return Some(i as usize);
        }
        // Irregular hosts not in the table: `<x>.amazonaws.com` where `<x>` or its last label is a prefix.
        let host = event_source.strip_suffix(".amazonaws.com")?;
        let last = host.rsplit('.').next().unwrap_or(host);
        self.prefixes
            .get(host)
            .or_else(|| self.prefixes.get(last))
            .map(|&i| i as usize)
    }

    fn entry(&self, event_source: &str, event_name: &str) -> Option<&Entry> {
        let service = &self.services[self.service_index(event_source)?];
        let mut buf = [0u8; MAX_ACTION];
        let name = lower_into(event_name, &mut buf)?;
        service
            .actions
            .get(name)
            .or_else(|| service.actions.get(strip_api_version(name)?))
    }
}

/// ASCII-lower-case `s` into `buf`; `None` when it does not fit.
fn lower_into<'b>(s: &str, buf: &'b mut [u8; MAX_ACTION]) -> Option<&'b str> {
    let dst = buf.get_mut(..s.len())?;
    dst.copy_from_slice(s.as_bytes());
    dst.make_ascii_lowercase();
    std::str::from_utf8(dst).ok()
}

/// `updatefunctioncode20150331v2` → `updatefunctioncode`, `createdistribution2020_05_31` →
/// `createdistribution`: an API version of at least eight digits (underscores allowed), optionally
/// followed by `v<digits>`. `None` when there is no such suffix.
fn strip_api_version(name: &str) -> Option<&str> {
    let b = name.as_bytes();
    let mut end = b.len();
    let digits_from = |end: usize| {
        b[..end]
            .iter()
            .rposition(|c| !c.is_ascii_digit())
            .map_or(0, |p| p + 1)
    };
    let d = digits_from(end);
    if d < end && d > 0 && b[d - 1] == b'v' {
        end = d - 1;
    }
    let start = b[..end]
        .iter()
        .rposition(|c| !(c.is_ascii_digit() || *c == b'_'))
        .map_or(0, |p| p + 1);
    let digits = b[start..end].iter().filter(|c| c.is_ascii_digit()).count();
    (digits >= 8 && start > 0).then(|| &name[..start])
}
