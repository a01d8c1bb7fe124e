//! Track: the one writer of shared state (STYLE). It learns, per EC2 instance, which credentials are
//! its own and which addresses it legitimately calls from, and judges each call made with instance
//! credentials against that set (SPEC §2.1). Detectors read the state and the [`Observation`]s.
//!
//! * Instance credentials are recognised by the EC2 service's `AssumeRole` (every issued
//!   `accessKeyId` is mapped to its instance) and, mid-stream, by an assumed-role ARN whose session
//!   is a strict instance id *and* `sessionContext.ec2RoleDelivery` — a session name alone is no proof.
//! * State is per instance, not per key: a refresh issues new keys but the instance keeps its
//!   network identity, and locking per key would let a thief be the first user of a fresh key.
//! * Expected addresses: the first *plausible* address (the Netflix lock); addresses CloudTrail shows
//!   being given (see `net`); the account's Elastic IPs and NAT gateways; private addresses through
//!   a VPC endpoint of the account; the inventory and trusted ranges.
//! * Everything expires after `ttl` of idle event time (`Keyed`).
//! * Session lineage (`lineage`): which credential issued which, back to where the chain began.
mod lineage;
mod net;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use compact_str::CompactString;

use crate::address::{self, AddressBook, Source};
use crate::config::Settings;
use crate::event::{assumed_role_session, is_instance_id, Delivery, Detail, Event, IdentityType};
use crate::keyed::{Evictions, Keyed};
use crate::ranges::Provider;
use crate::time::EventTime;
use crate::useragent::{ToolKind, UserAgent};

pub use lineage::{Hop, Lineage, LineageStats, Origin, OriginKind, Session, Via, MAX_HOPS};

/// How an instance's address became expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum How {
    /// `RunInstances` response.
    Launch,
    /// `AssociateAddress` of an Elastic IP.
    ElasticIp,
    /// A network interface's addresses (`AttachNetworkInterface`, `Assign*`, `CreateNetworkInterface`).
    Interface,
    /// The configured inventory.
    Inventory,
    /// A private address through a VPC endpoint of the instance's account.
    VpcEndpoint,
    /// The account's own Elastic IP (`AllocateAddress`).
    AccountElasticIp,
    /// The account's NAT gateway (`CreateNatGateway`, `AssociateNatGatewayAddress`).
    NatGateway,
    /// A configured trusted range.
    Trusted,
    /// The first plausible address the instance called from (Netflix's lock).
    FirstUse,
}

impl How {
    /// Words for findings.
    pub fn as_str(self) -> &'static str {
        match self {
            How::Launch => "RunInstances response",
            How::ElasticIp => "AssociateAddress (Elastic IP)",
            How::Interface => "network interface attached/assigned",
            How::Inventory => "inventory",
            How::VpcEndpoint => "VPC endpoint of the account",
            How::AccountElasticIp => "the account's Elastic IP",
            How::NatGateway => "the account's NAT gateway",
            How::Trusted => "trusted range",
            How::FirstUse => "first use (lock)",
        }
    }

    /// Learned from CloudTrail facts or configuration about this instance or account (not from use).
    fn corroborated(self) -> bool {
        !matches!(self, How::FirstUse | How::VpcEndpoint | How::Trusted)
    }
}

/// An expected address and when it became expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Learned {
    /// The address.
    pub ip: IpAddr,
    /// How.
    pub how: How,
    /// When (event time).
    pub at: EventTime,
}

/// The first-use lock and the calls made from it (kept so a contested lock can be reported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The locked address.
    pub ip: IpAddr,
    /// When it was taken.
    pub at: EventTime,
    /// Last call from it.
    pub last: EventTime,
    /// Calls from it.
    pub count: u64,
    /// The key first used from it.
    pub key: CompactString,
    /// Evidence: the first call's event id (the count is exact).
    pub first_event: Box<str>,
    /// User agent of the first call (interned).
    pub user_agent: Arc<str>,
}

/// What is known about one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Owning account.
    pub account: CompactString,
    /// Region (from the EC2 service's AssumeRole or RunInstances).
    pub region: Option<CompactString>,
    /// Role (`arn:aws:iam::…:role/…`), interned: instances share roles.
    pub role_arn: Option<Arc<str>>,
    /// Expected addresses (other than the lock).
    pub addrs: Vec<Learned>,
    /// First-use lock.
    pub lock: Option<Lock>,
    /// Has the instance called from a corroborated public address since its last start? Then it
    /// needs no first-use lock.
    pub egress_known: bool,
    /// The EC2 service's AssumeRole for it was seen (otherwise it was learned mid-stream).
    pub issued_seen: bool,
}

impl Instance {
    fn new(account: &str) -> Self {
        Instance {
            account: account.into(),
            region: None,
            role_arn: None,
            addrs: Vec::new(),
            lock: None,
            egress_known: false,
            issued_seen: false,
        }
    }

    fn learn(&mut self, ip: IpAddr, how: How, at: EventTime) {
        if !self.addrs.iter().any(|l| l.ip == ip) {
            self.addrs.push(Learned { ip, how, at });
        }
    }

    /// The expected addresses, lock included, sorted.
    pub fn expected(&self) -> Vec<Learned> {
        let mut v = self.addrs.clone();
        if let Some(l) = &self.lock {
            v.push(Learned {
                ip: l.ip,
                how: How::FirstUse,
                at: l.at,
            });
        }
        v.sort_by_key(|l| (l.at, l.ip));
        v
    }
}

/// Who an address belongs to, as learned from CloudTrail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Account.
    pub account: CompactString,
    /// What it is.
    pub how: How,
    /// Since when.
    pub at: EventTime,
}

/// Why a call's address is not expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The instance is locked to another address.
    NotLock(IpAddr),
    /// The first use was not plausible for an instance.
    Implausible(Implausible),
    /// A private address without a VPC endpoint.
    PrivateNoEndpoint,
    /// Through a VPC endpoint of another account.
    ForeignEndpoint(CompactString),
    /// The instance already calls from a corroborated public address, so a new one is not a first use.
    EgressKnown,
}

/// Why a first use cannot be the instance's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Implausible {
    /// Outside AWS's ranges (another cloud or none) and not trusted.
    OutsideAws,
    /// An AWS range that is not EC2.
    NotEc2,
    /// An EC2 range of another region than the instance's.
    OtherRegion(CompactString),
    /// An address CloudTrail shows belonging to another account.
    OtherAccount(CompactString),
    /// A user agent no instance workload sends (desktop OS, browser, attack tool).
    UserAgent(&'static str),
}

/// The judgement on one call made with instance credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// From an expected address.
    Expected(How),
    /// The first plausible use: the address is now the lock.
    Locked,
    /// From an address outside the set.
    Unexpected(Why),
    /// From a corroborated address known before the lock was taken: the lock was not the instance's
    /// own; it is released and reported.
    Contested(Box<Lock>),
}

/// One call made with instance credentials, as judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Instance id.
    pub instance: CompactString,
    /// The access key used.
    pub key: CompactString,
    /// IMDS delivery of the key.
    pub delivery: Option<Delivery>,
    /// Source address.
    pub ip: IpAddr,
    /// The judgement.
    pub verdict: Verdict,
}

/// What a key was issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// Instance id.
    pub instance: CompactString,
    /// IMDS delivery, once seen in use.
    pub delivery: Option<Delivery>,
    /// Issued by an observed AssumeRole (not learned mid-stream).
    pub issued: bool,
}

/// Bytes of tracked state, by index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateBytes {
    /// Instance records (with their locks and learned addresses).
    pub instances: usize,
    /// The issued-key index.
    pub keys: usize,
    /// Address facts: interfaces, allocations, owners.
    pub addresses: usize,
}

/// State sizes and evictions, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackStats {
    /// Instances tracked now.
    pub instances: usize,
    /// Keys tracked now.
    pub keys: usize,
    /// Instance evictions.
    pub instance_evictions: Evictions,
    /// Instances learned from calls without their AssumeRole.
    pub mid_stream: u64,
}

/// How long an issued key stays indexed without use.
const KEY_TTL: i64 = 2 * crate::time::HOUR;

/// The tracker.
pub struct Tracker {
    keys: Keyed<CompactString, KeyInfo>,
    /// Boxed: the table stays small (its load factor multiplies entry size) and moves stay cheap.
    instances: Keyed<CompactString, Box<Instance>>,
    enis: Keyed<CompactString, CompactString>,
    eni_addrs: Keyed<CompactString, Vec<IpAddr>>,
    allocations: Keyed<CompactString, IpAddr>,
    owners: Keyed<IpAddr, Owner>,
    accounts: BTreeSet<CompactString>,
    inventory: HashMap<CompactString, Vec<IpAddr>>,
    mid_stream: u64,
    lineage: Lineage,
    strings: Interner,
}

/// Shares repeated strings (role ARNs, user agents) between instances. Bounded: when full it
/// starts over (strings already handed out stay valid).
#[derive(Default)]
struct Interner {
    set: HashSet<Arc<str>>,
}

impl Interner {
    const CAP: usize = 100_000;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        if self.set.len() >= Self::CAP {
            self.set.clear();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }
}

impl Tracker {
    /// A tracker for `settings` (TTL, cap, organisation, inventory).
    pub fn new(settings: &Settings) -> Self {
        let ttl = settings.ttl;
        // Address facts outlive instance activity: an EIP or NAT is the account's for days.
        let long = ttl.saturating_mul(28);
        let cap = settings.max_instances;
        let mut inventory: HashMap<CompactString, Vec<IpAddr>> = HashMap::new();
        for (id, ip) in &settings.inventory {
            inventory.entry(id.as_str().into()).or_default().push(*ip);
        }
        Tracker {
            // Keys are indexed for two hours of idleness (about two refreshes); older instance keys
            // are still recognised by their ARN session (the instance id) and `ec2RoleDelivery`.
            keys: Keyed::new(ttl.min(KEY_TTL), cap.saturating_mul(4)),
            instances: Keyed::new(ttl, cap),
            enis: Keyed::new(long, cap.saturating_mul(2)),
            eni_addrs: Keyed::new(long, cap),
            allocations: Keyed::new(long, cap),
            owners: Keyed::new(long, cap.saturating_mul(2)),
            accounts: settings
                .org_accounts
                .iter()
                .map(|a| CompactString::from(a.as_str()))
                .collect(),
            inventory,
            mid_stream: 0,
            lineage: Lineage::new(cap),
            strings: Interner::default(),
        }
    }

    /// Learns from one event (in event-time order) and judges it if it was made with instance
    /// credentials.
    pub fn observe(&mut self, ev: &Event, book: &AddressBook) -> Option<Observation> {
        let now = ev.time;
        self.maintain(now);
        if !ev.recipient_account.is_empty() && !self.accounts.contains(&ev.recipient_account) {
            self.accounts.insert(ev.recipient_account.clone());
        }
        match &ev.detail {
            Detail::Issued(issued) if is_ec2_service_assume_role(ev) => {
                if let Some(instance) = issued.session_name.as_deref().filter(|s| is_instance_id(s))
                {
                    self.ec2_issued(
                        ev,
                        instance,
                        &issued.access_key_id,
                        issued.role_arn.as_deref(),
                    );
                }
                return None;
            }
            Detail::Issued(issued) => self.lineage.issued(ev, issued, &self.keys),
            Detail::Net(facts) => self.learn_net(ev, facts),
            _ => {}
        }
        self.instance_call(ev, book)
    }

    /// The instance, if tracked and live at `now`.
    pub fn instance(&self, id: &str, now: EventTime) -> Option<&Instance> {
        self.instances.peek(id, now).map(|b| &**b)
    }

    /// Session lineage: which credential issued which (SPEC §2.2).
    pub fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// What a key was issued to, if tracked.
    pub fn key(&self, key: &str, now: EventTime) -> Option<&KeyInfo> {
        self.keys.peek(key, now)
    }

    /// The account an address belongs to, when CloudTrail showed it.
    pub fn owner(&self, ip: IpAddr, now: EventTime) -> Option<&Owner> {
        self.owners.peek(&ip, now)
    }

    /// Bytes held by tracked state (tables and heap), by index (issue 6: the instance record is
    /// budgeted at 512 bytes per tracked instance).
    pub fn state_bytes(&self) -> StateBytes {
        let s = |c: &CompactString| {
            if c.is_heap_allocated() {
                c.capacity()
            } else {
                0
            }
        };
        let o = |c: &Option<CompactString>| c.as_ref().map_or(0, s);
        let instance = |k: &CompactString, i: &Instance| {
            std::mem::size_of::<Instance>()
                + s(k)
                + s(&i.account)
                + o(&i.region)
                + i.addrs.capacity() * std::mem::size_of::<Learned>()
                + i.lock
                    .as_ref()
                    .map_or(0, |l| s(&l.key) + l.first_event.len())
        };
        StateBytes {
            instances: self.instances.bytes(|k, i| instance(k, i)),
            keys: self.keys.bytes(|k, v| s(k) + s(&v.instance)),
            addresses: self.enis.bytes(|k, v| s(k) + s(v))
                + self
                    .eni_addrs
                    .bytes(|k, v| s(k) + v.capacity() * std::mem::size_of::<IpAddr>())
                + self.allocations.bytes(|k, _| s(k))
                + self.owners.bytes(|_, v| s(&v.account)),
        }
    }

    /// The account's own Elastic IPs and NAT gateway addresses (for findings; scans the owner map).
    pub fn account_addresses(&self, account: &str, now: EventTime) -> Vec<Learned> {
        let mut v: Vec<Learned> = self
            .owners
            .iter(now)
            .filter(|(_, o)| {
                o.account == account && matches!(o.how, How::AccountElasticIp | How::NatGateway)
            })
            .map(|(ip, o)| Learned {
                ip: *ip,
                how: o.how,
                at: o.at,
            })
            .collect();
        v.sort_by_key(|l| (l.at, l.ip));
        v
    }

    /// True for a member of the organisation (configured, or seen as `recipientAccountId`).
    pub fn is_member(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    /// Sizes and evictions.
    pub fn stats(&self) -> TrackStats {
        TrackStats {
            instances: self.instances.len(),
            keys: self.keys.len(),
            instance_evictions: self.instances.evictions(),
            mid_stream: self.mid_stream,
        }
    }

    fn maintain(&mut self, now: EventTime) {
        self.keys.maintain(now);
        self.instances.maintain(now);
        self.enis.maintain(now);
        self.eni_addrs.maintain(now);
        self.allocations.maintain(now);
        self.owners.maintain(now);
        self.lineage.maintain(now);
    }

    fn upsert_instance(
        &mut self,
        id: &str,
        account: &str,
        now: EventTime,
    ) -> (&mut Instance, bool) {
        let inventory = self.inventory.get(id);
        let (inst, fresh) = self
            .instances
            .upsert(id.into(), now, || Box::new(Instance::new(account)));
        if fresh {
            for ip in inventory.into_iter().flatten() {
                inst.learn(*ip, How::Inventory, now);
            }
        }
        (inst, fresh)
    }

    /// The EC2 service's AssumeRole at launch or refresh: the key is this instance's.
    fn ec2_issued(&mut self, ev: &Event, instance: &str, key: &str, role_arn: Option<&str>) {
        let account = role_arn.and_then(arn_account).unwrap_or(ev.account());
        let role = role_arn.map(|r| self.strings.get(r));
        let (inst, _) = self.upsert_instance(instance, account, ev.time);
        inst.issued_seen = true;
        if inst.region.is_none() && !ev.region.is_empty() {
            inst.region = Some(ev.region.clone());
        }
        if role.is_some() {
            inst.role_arn = role;
        }
        self.keys.upsert(key.into(), ev.time, || KeyInfo {
            instance: instance.into(),
            delivery: None,
            issued: true,
        });
    }

    fn instance_call(&mut self, ev: &Event, book: &AddressBook) -> Option<Observation> {
        let id = &ev.identity;
        if id.kind != IdentityType::AssumedRole {
            return None;
        }
        let key = id.access_key_id.as_ref()?;
        let now = ev.time;
        let instance: CompactString = match self.keys.get(key.as_str(), now) {
            Some(info) => info.instance.clone(),
            None => {
                let session = assumed_role_session(id.arn.as_deref()?)?;
                if !is_instance_id(session) || id.delivery.is_none() {
                    return None;
                }
                session.into()
            }
        };
        let account = id.account_id.as_deref().unwrap_or(ev.account());
        let (inst, fresh) = self.upsert_instance(&instance, account, now);
        let mid_stream = fresh && !inst.issued_seen;
        let needs_role = inst.role_arn.is_none();
        self.mid_stream += u64::from(mid_stream);
        if let (true, Some(role)) = (needs_role, &id.issuer_arn) {
            let role = self.strings.get(role);
            if let Some(inst) = self.instances.get(instance.as_str(), now) {
                inst.role_arn = Some(role);
            }
        }
        let (info, _) = self.keys.upsert(key.clone(), now, || KeyInfo {
            instance: instance.clone(),
            delivery: None,
            issued: false,
        });
        if info.delivery.is_none() {
            info.delivery = id.delivery;
        }
        let delivery = info.delivery;

        // AWS services acting with the role's credentials never count (SPEC §2.1).
        if id.invoked_by.is_some() {
            return None;
        }
        let Source::Ip(ip) = address::source(&ev.source_ip) else {
            return None;
        };
        let verdict = self.judge(&instance, ip, ev, book);
        Some(Observation {
            instance,
            key: key.clone(),
            delivery,
            ip,
            verdict,
        })
    }

    fn judge(&mut self, instance: &str, ip: IpAddr, ev: &Event, book: &AddressBook) -> Verdict {
        let now = ev.time;
        let owner = self.owners.peek(&ip, now).cloned();
        let Some(inst) = self.instances.get(instance, now) else {
            return Verdict::Expected(How::FirstUse);
        };
        let corroborated = inst
            .addrs
            .iter()
            .find(|l| l.ip == ip)
            .map(|l| (l.how, l.at))
            .or_else(|| {
                owner
                    .as_ref()
                    .filter(|o| o.account == inst.account && o.how != How::FirstUse)
                    .map(|o| (o.how, o.at))
            });
        if let Some((how, at)) = corroborated {
            // An account's address in use stays known: NAT gateways and Elastic IPs are announced
            // once and then used for months, so only idle ones expire.
            if owner.is_some() {
                self.owners.touch(&ip, now);
            }
            if how.corroborated() && !address::is_private(ip) {
                inst.egress_known = true;
                if inst.lock.as_ref().is_some_and(|l| l.ip != ip && at <= l.at) {
                    if let Some(lock) = inst.lock.take() {
                        if self
                            .owners
                            .peek(&lock.ip, now)
                            .is_some_and(|o| o.how == How::FirstUse)
                        {
                            self.owners.remove(&lock.ip);
                        }
                        return Verdict::Contested(Box::new(lock));
                    }
                }
            }
            return Verdict::Expected(how);
        }
        if book.trusted(ip).is_some() {
            return Verdict::Expected(How::Trusted);
        }
        if address::is_private(ip) {
            return match (&ev.vpc_endpoint_id, &ev.vpc_endpoint_account_id) {
                (Some(_), Some(a)) if *a != inst.account => {
                    Verdict::Unexpected(Why::ForeignEndpoint(a.clone()))
                }
                (Some(_), _) => {
                    inst.learn(ip, How::VpcEndpoint, now);
                    Verdict::Expected(How::VpcEndpoint)
                }
                (None, _) => Verdict::Unexpected(Why::PrivateNoEndpoint),
            };
        }
        if let Some(lock) = &mut inst.lock {
            if lock.ip == ip {
                lock.count += 1;
                lock.last = lock.last.max(now);
                return Verdict::Expected(How::FirstUse);
            }
            return Verdict::Unexpected(Why::NotLock(lock.ip));
        }
        if let Some(why) = implausible(inst, ip, ev, owner.as_ref(), book) {
            return Verdict::Unexpected(Why::Implausible(why));
        }
        if inst.egress_known {
            // Its real egress is already known: a new public address is not a first use.
            return Verdict::Unexpected(Why::EgressKnown);
        }
        inst.lock = Some(Lock {
            ip,
            at: now,
            last: now,
            count: 1,
            key: ev.identity.access_key_id.clone().unwrap_or_default(),
            first_event: ev.event_id.as_str().into(),
            user_agent: self.strings.get(&ev.user_agent),
        });
        let account = inst.account.clone();
        self.owners.upsert(ip, now, || Owner {
            account,
            how: How::FirstUse,
            at: now,
        });
        Verdict::Locked
    }
}

/// SPEC §2.1 "attacker first": is this first use something an instance could plausibly do?
fn implausible(
    inst: &Instance,
    ip: IpAddr,
    ev: &Event,
    owner: Option<&Owner>,
    book: &AddressBook,
) -> Option<Implausible> {
    let ua = UserAgent::parse(&ev.user_agent);
    // Offensive tools and pentest distributions cannot be an instance's workload; dual-use audit
    // scanners (Prowler, ScoutSuite) and adversary emulation legitimately run on instances.
    if let (
        Some(tool),
        Some(ToolKind::Offensive | ToolKind::PentestOs | ToolKind::CredentialCheck),
    ) = (ua.attack_tool, ua.attack_kind)
    {
        return Some(Implausible::UserAgent(tool));
    }
    if ua.is_desktop() {
        return Some(Implausible::UserAgent("desktop or browser user agent"));
    }
    if let Some(o) = owner.filter(|o| o.account != inst.account) {
        return Some(Implausible::OtherAccount(o.account.clone()));
    }
    let Some(cloud) = book.cloud(ip).filter(|c| c.provider == Provider::Aws) else {
        return Some(Implausible::OutsideAws);
    };
    if !cloud.ec2 {
        return Some(Implausible::NotEc2);
    }
    match (inst.region.as_deref(), cloud.region) {
        (Some(mine), Some(theirs)) if mine != theirs => {
            Some(Implausible::OtherRegion(theirs.into()))
        }
        _ => None,
    }
}

/// The EC2 service's `AssumeRole` for an instance profile (invoked by `ec2.amazonaws.com`).
fn is_ec2_service_assume_role(ev: &Event) -> bool {
    ev.event_name == "AssumeRole"
        && ev.event_source == "sts.amazonaws.com"
        && (ev.identity.invoked_by.as_deref() == Some("ec2.amazonaws.com")
            || (ev.identity.kind == IdentityType::AwsService
                && ev.source_ip == "ec2.amazonaws.com"))
}

/// The account of an IAM ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12)
}

#[cfg(test)]
mod tests;
