//! Judging one call made with instance credentials against what the tracker knows of the instance
//! (SPEC §2.1, issue 13): expected, the first plausible use (the lock), a handover of its egress, or
//! unexpected and why.
//!
//! The order of the checks is the order of certainty: a retired address after its grace period;
//! addresses CloudTrail showed being given to the instance or its account (its /64 for IPv6); trusted
//! ranges; private addresses (only through a VPC endpoint); the address of a person who just reached
//! into the instance; the family's first-use lock; an Elastic IP handover; the attacker-first checks;
//! and only then a new lock.
use std::net::IpAddr;

use compact_str::CompactString;

use super::instance::{subnet64, Family, Handover, How, Instance, Lock, Owner, Retired};
use super::Tracker;
use crate::address::{self, AddressBook};
use crate::event::{Delivery, Event};
use crate::ranges::Provider;
use crate::time::{EventTime, MINUTE};
use crate::useragent::{ToolKind, UserAgent};

/// Calls from a handed-over address within this long of the handover are in flight, not a theft.
pub const HANDOVER_GRACE: i64 = 5 * MINUTE;
/// An association change is followed by the new address within this long, or it is forgotten.
pub const HANDOVER_WINDOW: i64 = 30 * MINUTE;
/// A person's reach into an instance makes their address suspect for the instance's credentials
/// for this long.
pub const TOUCH_WINDOW: i64 = 12 * 60 * MINUTE;

/// A person reaching into an instance (`ssm:SendCommand`, `ssm:StartSession`,
/// `ec2-instance-connect:SendSSHPublicKey`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Touch {
    /// Who (`userIdentity.arn`).
    pub principal: CompactString,
    /// From where.
    pub ip: IpAddr,
    /// When.
    pub at: EventTime,
    /// The call (`ssm:StartSession`, …).
    pub action: CompactString,
    /// Its event id.
    pub event_id: CompactString,
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
    /// The instance handed this address over at the given time and moved to another; it is still
    /// in use past the grace period: two addresses at once.
    Retired(EventTime),
    /// A person reached into the instance from this address shortly before the credentials were
    /// used from it: they were copied off the instance.
    Operator(Box<Touch>),
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
    /// The first plausible use: the address is now the lock of its family.
    Locked,
    /// From an address outside the set.
    Unexpected(Why),
    /// From a corroborated address known before the lock was taken: the lock was not the instance's
    /// own; it is released and reported.
    Contested(Box<Lock>),
    /// An S3 request through a presigned URL from an address that is not the instance's: sent by
    /// whoever held the URL, so never a finding by itself and never a lock; it is evidence (the data
    /// taken) only for a finding already open on that address.
    Presigned,
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

impl Tracker {
    /// The owner CloudTrail showed for `ip`: the address itself, or for IPv6 its /64.
    pub(super) fn owner_of(&self, ip: IpAddr, now: EventTime) -> Option<Owner> {
        self.owners.peek(&ip, now).cloned().or_else(|| {
            subnet64(ip)
                .and_then(|p| self.owners.peek(&p, now))
                .filter(|o| o.how == How::Subnet)
                .cloned()
        })
    }

    /// Is `ip` already one of the instance's addresses (no learning, no side effect)?
    pub(super) fn knows(&self, instance: &str, ip: IpAddr, now: EventTime) -> bool {
        let Some(inst) = self.instances.peek(instance, now) else {
            return false;
        };
        inst.expects(ip)
            || self
                .owner_of(ip, now)
                .is_some_and(|o| o.account == inst.account && o.how != How::FirstUse)
    }

    pub(super) fn judge(
        &mut self,
        instance: &str,
        ip: IpAddr,
        ev: &Event,
        book: &AddressBook,
    ) -> Verdict {
        let now = ev.time;
        let family = Family::of(ip);
        let owner = self.owner_of(ip, now);
        let touch = self.touch_from(instance, ip, now);
        let Some(inst) = self.instances.get(instance, now) else {
            return Verdict::Expected(How::FirstUse);
        };
        if let Some(r) = inst.retired.filter(|r| r.ip == ip) {
            if now.since(r.at) <= HANDOVER_GRACE {
                return Verdict::Expected(How::Retiring);
            }
            return Verdict::Unexpected(Why::Retired(r.at));
        }
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
                inst.egress_known[family as usize] = true;
                if inst
                    .lock_of(family)
                    .is_some_and(|l| l.ip != ip && at <= l.at)
                {
                    if let Some(lock) = inst.take_lock(family) {
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
        if let Some(t) = touch {
            // The instance's own address (a lock taken before the person reached in) is not theirs.
            if !inst
                .lock_of(family)
                .is_some_and(|l| l.ip == ip && l.at <= t.at)
            {
                return Verdict::Unexpected(Why::Operator(Box::new(t)));
            }
        }
        let handover_due = family == Family::V4
            && inst
                .handover
                .as_ref()
                .is_some_and(|h| now.since(h.at) <= HANDOVER_WINDOW);
        if let Some(lock) = inst.lock_mut(family).filter(|l| l.ip == ip) {
            lock.count += 1;
            lock.last = lock.last.max(now);
            return Verdict::Expected(How::FirstUse);
        }
        if let Some(lock_ip) = inst.lock_of(family).map(|l| l.ip) {
            if !handover_due || implausible(inst, ip, ev, owner.as_ref(), book).is_some() {
                return Verdict::Unexpected(Why::NotLock(lock_ip));
            }
            return self.hand_over(instance, ip, now);
        }
        if let Some(why) = implausible(inst, ip, ev, owner.as_ref(), book) {
            return Verdict::Unexpected(Why::Implausible(why));
        }
        if inst.egress_known[family as usize] {
            if handover_due {
                return self.hand_over(instance, ip, now);
            }
            // Its real egress is already known: a new public address is not a first use.
            return Verdict::Unexpected(Why::EgressKnown);
        }
        inst.set_lock(Lock {
            ip,
            at: now,
            last: now,
            count: 1,
            key: ev.identity.access_key_id.clone().unwrap_or_default(),
            first_event: ev.event_id().into(),
            user_agent: self.strings.get(ev.user_agent()),
        });
        let account = inst.account.clone();
        self.owners.upsert(ip, now, || Owner {
            account,
            how: How::FirstUse,
            at: now,
        });
        Verdict::Locked
    }

    /// After an unresolved Elastic IP association change, the instance's first new IPv4 address of
    /// its own region's EC2 ranges is its new egress: the old one retires (a grace period for
    /// calls in flight, then any use of it is a second address at once), and the allocation's
    /// address is remembered.
    fn hand_over(&mut self, instance: &str, ip: IpAddr, now: EventTime) -> Verdict {
        let Some(inst) = self.instances.get(instance, now) else {
            return Verdict::Expected(How::Handover);
        };
        let old = inst.take_lock(Family::V4).map(|l| l.ip).or_else(|| {
            let i = inst.addrs.iter().rposition(|l| {
                l.ip.is_ipv4()
                    && !address::is_private(l.ip)
                    && matches!(
                        l.how,
                        How::Launch | How::ElasticIp | How::Handover | How::Interface
                    )
            })?;
            Some(inst.addrs.remove(i).ip)
        });
        let handover = inst.handover.take();
        self.handovers += 1;
        inst.retired = old.map(|ip| Retired { ip, at: now });
        inst.learn(ip, How::Handover, now);
        inst.egress_known[Family::V4 as usize] = true;
        let account = inst.account.clone();
        if let Some(old) = old {
            if self
                .owners
                .peek(&old, now)
                .is_some_and(|o| o.how == How::FirstUse)
            {
                self.owners.remove(&old);
            }
        }
        if let Some(alloc) = handover.and_then(|h| h.allocation) {
            self.allocations.upsert(alloc, now, || ip).0.clone_from(&ip);
            self.own(ip, &account, How::AccountElasticIp, now);
        }
        self.note(instance, now, || {
            format!(
                "{ip}: new egress after an Elastic IP association change; {} retired (calls from it after {} min are a second address at once)",
                old.map_or("no earlier address".to_owned(), |o| o.to_string()),
                HANDOVER_GRACE / MINUTE
            )
        });
        Verdict::Expected(How::Handover)
    }

    /// Marks an unresolved association change of `instance`.
    pub(super) fn expect_handover(
        &mut self,
        instance: &str,
        allocation: Option<CompactString>,
        now: EventTime,
    ) {
        if let Some(inst) = self.instances.get(instance, now) {
            inst.handover = Some(Box::new(Handover {
                at: now,
                allocation,
            }));
        }
    }

    /// The latest touch of `instance` by a person from `ip`, within [`TOUCH_WINDOW`].
    fn touch_from(&self, instance: &str, ip: IpAddr, now: EventTime) -> Option<Touch> {
        if self.touches.is_empty() {
            return None;
        }
        self.touches
            .peek(instance, now)?
            .iter()
            .rev()
            .find(|t| t.ip == ip && t.at <= now && now.since(t.at) <= TOUCH_WINDOW)
            .cloned()
    }
}

/// SPEC §2.1 "attacker first": is this first use something an instance could plausibly do?
pub(super) fn implausible(
    inst: &Instance,
    ip: IpAddr,
    ev: &Event,
    owner: Option<&Owner>,
    book: &AddressBook,
) -> Option<Implausible> {
    let ua = UserAgent::parse(ev.user_agent());
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
