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
mod explain;
mod instance;
mod judge;
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
use crate::time::EventTime;

pub use explain::Explanation;
pub use instance::{subnet64, Family, Handover, How, Instance, Learned, Lock, Owner, Retired};
pub use judge::{Implausible, Observation, Touch, Verdict, Why, HANDOVER_GRACE, TOUCH_WINDOW};
pub use lineage::{Hop, Lineage, LineageStats, Origin, OriginKind, Session, Via, MAX_HOPS};

/// What a key was issued to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// S3 requests through presigned URLs (`AuthenticationMethod` `QueryString`) from an address
    /// that is not the instance's: whoever held the URL sent them, so they are not judged.
    pub presigned_elsewhere: u64,
    /// Elastic IP handovers: a new egress address accepted after an association change.
    pub handovers: u64,
}

/// People's touches remembered per instance.
const MAX_TOUCHES: usize = 8;

/// How long an issued key stays indexed without use.
const KEY_TTL: i64 = 2 * crate::time::HOUR;

/// The tracker.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Tracker {
    keys: Keyed<CompactString, KeyInfo>,
    /// Boxed: the table stays small (its load factor multiplies entry size) and moves stay cheap.
    instances: Keyed<CompactString, Box<Instance>>,
    enis: Keyed<CompactString, CompactString>,
    eni_addrs: Keyed<CompactString, Vec<IpAddr>>,
    allocations: Keyed<CompactString, IpAddr>,
    owners: Keyed<IpAddr, Owner>,
    /// `associationId` → (instance, allocation), to resolve `DisassociateAddress`.
    associations: Keyed<CompactString, (CompactString, Option<CompactString>)>,
    /// People reaching into instances (SSM, EC2 Instance Connect), per instance, newest last.
    touches: Keyed<CompactString, Vec<Touch>>,
    accounts: BTreeSet<CompactString>,
    #[serde(skip)]
    inventory: HashMap<CompactString, Vec<IpAddr>>,
    mid_stream: u64,
    presigned_elsewhere: u64,
    handovers: u64,
    lineage: Lineage,
    #[serde(skip)]
    strings: Interner,
    #[serde(skip)]
    explain: explain::Log,
    /// The latest event time seen.
    last: EventTime,
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
            associations: Keyed::new(long, cap),
            touches: Keyed::new(TOUCH_WINDOW, cap),
            accounts: settings
                .org_accounts
                .iter()
                .map(|a| CompactString::from(a.as_str()))
                .collect(),
            inventory,
            mid_stream: 0,
            presigned_elsewhere: 0,
            handovers: 0,
            lineage: Lineage::new(cap),
            strings: Interner::default(),
            explain: explain::Log::new(&settings.explain),
            last: EventTime(i64::MIN),
        }
    }

    /// After loading a saved tracker: what comes from the run's settings rather than the state
    /// (the inventory, the instances to explain, the organisation's accounts).
    pub fn configure(&mut self, settings: &Settings) {
        let fresh = Tracker::new(settings);
        self.inventory = fresh.inventory;
        self.explain = fresh.explain;
        self.accounts.extend(fresh.accounts);
    }

    /// Learns from one event (in event-time order) and judges it if it was made with instance
    /// credentials.
    pub fn observe(&mut self, ev: &Event, book: &AddressBook) -> Option<Observation> {
        let now = ev.time;
        self.last = self.last.max(now);
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
            Detail::Touched(ids) => self.touched(ev, ids),
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
            presigned_elsewhere: self.presigned_elsewhere,
            handovers: self.handovers,
        }
    }

    fn maintain(&mut self, now: EventTime) {
        self.keys.maintain(now);
        self.instances.maintain(now);
        self.enis.maintain(now);
        self.eni_addrs.maintain(now);
        self.allocations.maintain(now);
        self.owners.maintain(now);
        self.associations.maintain(now);
        self.touches.maintain(now);
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
            .upsert_ref(id, now, || Box::new(Instance::new(account)));
        if fresh {
            for ip in inventory.into_iter().flatten() {
                inst.learn(*ip, How::Inventory, now);
            }
        }
        (inst, fresh)
    }

    /// A person reached into instances (SSM, EC2 Instance Connect) from an address: for a while,
    /// that address using the instances' credentials means they were copied off (issue 13).
    fn touched(&mut self, ev: &Event, ids: &[CompactString]) {
        let Source::Ip(ip) = address::source(&ev.source_ip) else {
            return;
        };
        if ev.identity.invoked_by.is_some() {
            return;
        }
        let now = ev.time;
        let action = CompactString::from(ev.action());
        // An instance managing itself with its own role is not a person reaching in.
        let own = ev
            .identity_arn()
            .and_then(assumed_role_session)
            .filter(|s| is_instance_id(s));
        for id in ids.iter().filter(|id| own != Some(id.as_str())) {
            let (list, _) = self.touches.upsert(id.clone(), now, Vec::new);
            if list.len() >= MAX_TOUCHES {
                list.remove(0);
            }
            list.push(Touch {
                principal: ev.identity_arn().unwrap_or_default().into(),
                ip,
                at: now,
                action: action.clone(),
                event_id: ev.event_id().into(),
            });
            self.note(id, now, || {
                format!(
                    "{} by {} from {ip} ({}): that address using this instance's credentials in the next {} h means they were copied off it",
                    action,
                    ev.identity_arn().unwrap_or("?"),
                    ev.event_id(),
                    TOUCH_WINDOW / crate::time::HOUR
                )
            });
        }
    }

    /// Adds a line to an instance's explanation (`scan --explain`); free when nobody asked.
    pub(super) fn note(&mut self, instance: &str, at: EventTime, line: impl FnOnce() -> String) {
        if self.explain.wants(instance) {
            self.explain.note(instance, at, line());
        }
    }

    /// What was learned about the instances named by `Settings::explain`, and why each address
    /// was accepted.
    pub fn explanations(&self) -> Vec<Explanation> {
        self.explain
            .explanations(|id| self.instances.peek(id, self.last).map(|b| &**b))
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
                let session = assumed_role_session(ev.identity_arn()?)?;
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
        if let (true, Some(role)) = (needs_role, ev.issuer_arn()) {
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
        // A presigned URL is sent by whoever holds it, from their own address (issue 13): only a
        // request from one of the instance's own addresses is the instance's call (and still an
        // SSRF signal with a raw client). Elsewhere it is counted, never judged, never a lock: only
        // evidence for a finding already open on that address.
        let verdict = if ev.presigned && !self.knows(&instance, ip, now) {
            self.presigned_elsewhere += 1;
            Verdict::Presigned
        } else {
            self.judge(&instance, ip, ev, book)
        };
        if self.explain.wants(&instance) {
            self.explain
                .verdict(&instance, now, ip, ev.event_id(), &verdict);
        }
        Some(Observation {
            instance,
            key: key.clone(),
            delivery,
            ip,
            verdict,
        })
    }
}

/// The EC2 service's `AssumeRole` for an instance profile (invoked by `ec2.amazonaws.com`).
fn is_ec2_service_assume_role(ev: &Event) -> bool {
    ev.event_name() == "AssumeRole"
        && ev.event_source() == "sts.amazonaws.com"
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
