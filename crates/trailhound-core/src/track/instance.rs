//! What the tracker knows about one instance: its expected addresses, its first-use locks (one per
//! address family), and the handover and retirement of its egress address.
//!
//! IPv4 and IPv6 are two identities of one instance (issue 13): a dual-stack instance calls S3 over
//! IPv6 and everything else over IPv4, so each family has its own first-use lock and its own "egress
//! known" flag; the first address of one family never judges the other.
use std::net::IpAddr;
use std::sync::Arc;

use compact_str::CompactString;

use crate::time::EventTime;

/// How an instance's address became expected.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
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
    /// An IPv6 address in a /64 subnet prefix where CloudTrail showed the account's instances
    /// being given addresses (`RunInstances`, `AssignIpv6Addresses`).
    Subnet,
    /// The instance's new egress after an Elastic IP association changed: the first new address
    /// of its own region's EC2 ranges after `AssociateAddress` / `DisassociateAddress`.
    Handover,
    /// The address the instance handed over from, within the grace period after the handover
    /// (calls already in flight).
    Retiring,
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
            How::Subnet => "IPv6 subnet (/64) of the account's instances",
            How::Handover => "new egress after an Elastic IP association change",
            How::Retiring => "previous egress, within the handover grace period",
        }
    }

    /// Learned from CloudTrail facts or configuration about this instance or account (not from use).
    pub(super) fn corroborated(self) -> bool {
        !matches!(
            self,
            How::FirstUse | How::VpcEndpoint | How::Trusted | How::Handover | How::Retiring
        )
    }
}

/// An expected address and when it became expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Learned {
    /// The address.
    pub ip: IpAddr,
    /// How.
    pub how: How,
    /// When (event time).
    pub at: EventTime,
}

/// The first-use lock and the calls made from it (kept so a contested lock can be reported).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// An address family: the index of per-family state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// IPv4.
    V4 = 0,
    /// IPv6.
    V6 = 1,
}

impl Family {
    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// An Elastic IP association change that could not be resolved to an address (the allocation
/// predates the logs, or the response carries only an association id).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Handover {
    /// When the association changed.
    pub at: EventTime,
    /// The allocation, when the request named one: remembered with the address once it is seen.
    pub allocation: Option<CompactString>,
}

/// An address the instance stopped using at a handover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Retired {
    /// The address.
    pub ip: IpAddr,
    /// When it was retired.
    pub at: EventTime,
}

/// What is known about one instance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    /// Owning account.
    pub account: CompactString,
    /// Region (from the EC2 service's AssumeRole or RunInstances).
    pub region: Option<CompactString>,
    /// Role (`arn:aws:iam::…:role/…`), interned: instances share roles.
    pub role_arn: Option<Arc<str>>,
    /// Expected addresses (other than the locks).
    pub addrs: Vec<Learned>,
    /// First-use lock of the IPv4 family.
    pub lock: Option<Lock>,
    /// First-use lock of the IPv6 family (boxed: most instances have none).
    pub lock6: Option<Box<Lock>>,
    /// Per family: has the instance called from a corroborated public address since its last
    /// start? Then that family needs no first-use lock.
    pub egress_known: [bool; 2],
    /// The EC2 service's AssumeRole for it was seen (otherwise it was learned mid-stream).
    pub issued_seen: bool,
    /// A pending, unresolved Elastic IP association change.
    pub handover: Option<Box<Handover>>,
    /// The egress address given up at the last handover.
    pub retired: Option<Retired>,
}

impl Instance {
    pub(super) fn new(account: &str) -> Self {
        Instance {
            account: account.into(),
            region: None,
            role_arn: None,
            addrs: Vec::new(),
            lock: None,
            lock6: None,
            egress_known: [false; 2],
            issued_seen: false,
            handover: None,
            retired: None,
        }
    }

    pub(super) fn learn(&mut self, ip: IpAddr, how: How, at: EventTime) {
        if self.retired.is_some_and(|r| r.ip == ip) {
            self.retired = None;
        }
        if !self.addrs.iter().any(|l| l.ip == ip) {
            self.addrs.push(Learned { ip, how, at });
        }
    }

    /// The first-use lock of `family`.
    pub fn lock_of(&self, family: Family) -> Option<&Lock> {
        match family {
            Family::V4 => self.lock.as_ref(),
            Family::V6 => self.lock6.as_deref(),
        }
    }

    pub(super) fn take_lock(&mut self, family: Family) -> Option<Lock> {
        match family {
            Family::V4 => self.lock.take(),
            Family::V6 => self.lock6.take().map(|b| *b),
        }
    }

    pub(super) fn set_lock(&mut self, lock: Lock) {
        match Family::of(lock.ip) {
            Family::V4 => self.lock = Some(lock),
            Family::V6 => self.lock6 = Some(Box::new(lock)),
        }
    }

    pub(super) fn lock_mut(&mut self, family: Family) -> Option<&mut Lock> {
        match family {
            Family::V4 => self.lock.as_mut(),
            Family::V6 => self.lock6.as_deref_mut(),
        }
    }

    /// A new life after `StartInstances`: new auto-assigned public addresses may come, on either
    /// family; Elastic IPs, interfaces and private addresses stay.
    pub(super) fn restart(&mut self) {
        self.lock = None;
        self.lock6 = None;
        self.egress_known = [false; 2];
        self.handover = None;
        self.retired = None;
        self.addrs.retain(|l| {
            !matches!(l.how, How::Launch | How::Handover) || crate::address::is_private(l.ip)
        });
    }

    /// Is `ip` one of the expected addresses, locks included (no allocation, unlike [`Self::expected`])?
    pub fn expects(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|l| l.ip == ip)
            || self.lock.as_ref().is_some_and(|l| l.ip == ip)
            || self.lock6.as_ref().is_some_and(|l| l.ip == ip)
    }

    /// The expected addresses, locks included, sorted.
    pub fn expected(&self) -> Vec<Learned> {
        let mut v = self.addrs.clone();
        for l in [self.lock.as_ref(), self.lock6.as_deref()]
            .into_iter()
            .flatten()
        {
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    /// Account.
    pub account: CompactString,
    /// What it is.
    pub how: How,
    /// Since when.
    pub at: EventTime,
}

/// The /64 prefix of an IPv6 address (as an address with the interface bits cleared), the unit
/// AWS gives a subnet; `None` for IPv4.
pub fn subnet64(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            Some(IpAddr::V6(bits.into()))
        }
        IpAddr::V4(_) => None,
    }
}
