//! Learning addresses from EC2 network events (SPEC §2.1): who was given which address.
use std::net::IpAddr;

use compact_str::CompactString;

use super::{How, Owner, Tracker};
use crate::address;
use crate::event::{Event, NetFact};

impl Tracker {
    /// Applies the address facts of one successful EC2 call.
    pub(super) fn learn_net(&mut self, ev: &Event, facts: &[NetFact]) {
        let now = ev.time;
        let account = ev.account().to_owned();
        for fact in facts {
            match fact {
                NetFact::Launched {
                    instance,
                    enis,
                    addrs,
                } => {
                    let (inst, _) = self.upsert_instance(instance, &account, now);
                    if inst.region.is_none() && !ev.region.is_empty() {
                        inst.region = Some(ev.region.clone());
                    }
                    for ip in addrs {
                        inst.learn(*ip, How::Launch, now);
                    }
                    for eni in enis {
                        self.enis.upsert(eni.clone(), now, || instance.clone());
                    }
                    for ip in addrs.iter().filter(|ip| !address::is_private(**ip)) {
                        self.own(*ip, &account, How::Launch, now);
                    }
                    self.note(instance, now, || {
                        let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                        format!(
                            "RunInstances ({}) gave addresses [{}]{}",
                            ev.event_id(),
                            list.join(", "),
                            if addrs.iter().any(|a| !address::is_private(*a)) {
                                ""
                            } else {
                                ": no public address in the response (usual: an auto-assigned address is not logged at launch), so its first plausible public call sets the lock"
                            }
                        )
                    });
                }
                NetFact::EipAssociated {
                    instance,
                    eni,
                    allocation,
                    addr,
                    association,
                } => {
                    let ip = addr.or_else(|| {
                        allocation
                            .as_ref()
                            .and_then(|a| self.allocations.get(a.as_str(), now).copied())
                    });
                    let target = instance.clone().or_else(|| {
                        eni.as_ref()
                            .and_then(|e| self.enis.get(e.as_str(), now).cloned())
                    });
                    if let (Some(assoc), Some(target)) = (association, &target) {
                        self.associations
                            .upsert(assoc.clone(), now, || (target.clone(), allocation.clone()));
                    }
                    match (ip, target) {
                        (Some(ip), Some(target)) => {
                            self.retire_lock(&target, now);
                            self.give(&target, &account, ip, How::ElasticIp, now);
                            self.note(&target, now, || {
                                format!("AssociateAddress ({}) gave Elastic IP {ip}", ev.event_id())
                            });
                        }
                        (None, Some(target)) => {
                            // The allocation predates the logs: the next new address is the new
                            // egress (a handover), the old one retires.
                            self.expect_handover(&target, allocation.clone(), now);
                            self.note(&target, now, || format!(
                                "AssociateAddress ({}) of {} could not be resolved to an address: the next new address in the instance's own region's EC2 ranges within 30 min is its new egress",
                                ev.event_id(),
                                allocation.as_deref().unwrap_or("an unknown allocation")
                            ));
                        }
                        (Some(ip), None) => {
                            if let Some(eni) = eni {
                                self.eni_addrs.upsert(eni.clone(), now, Vec::new).0.push(ip);
                            }
                        }
                        _ => {}
                    }
                    if let Some(ip) = ip {
                        self.own(ip, &account, How::AccountElasticIp, now);
                    }
                }
                NetFact::EniAttached { instance, eni } => {
                    self.enis.upsert(eni.clone(), now, || instance.clone());
                    let addrs = self
                        .eni_addrs
                        .get(eni.as_str(), now)
                        .cloned()
                        .unwrap_or_default();
                    for ip in addrs {
                        self.give(instance, &account, ip, How::Interface, now);
                    }
                }
                NetFact::EniAddresses { eni, addrs } => {
                    match self.enis.get(eni.as_str(), now).cloned() {
                        Some(instance) => addrs.iter().for_each(|ip| {
                            self.give(&instance, &account, *ip, How::Interface, now)
                        }),
                        None => self
                            .eni_addrs
                            .upsert(eni.clone(), now, Vec::new)
                            .0
                            .extend(addrs.iter().copied()),
                    }
                }
                NetFact::EipAllocated { allocation, addr } => {
                    if let Some(a) = allocation {
                        self.allocations.upsert(a.clone(), now, || *addr);
                    }
                    self.own(*addr, &account, How::AccountElasticIp, now);
                }
                NetFact::NatAddresses { allocations, addrs } => {
                    let mut ips: Vec<IpAddr> = allocations
                        .iter()
                        .filter_map(|a| self.allocations.get(a.as_str(), now).copied())
                        .collect();
                    ips.extend(addrs.iter().copied());
                    for ip in ips {
                        self.own(ip, &account, How::NatGateway, now);
                    }
                }
                NetFact::EipDisassociated { association, addr } => {
                    let target = association
                        .as_ref()
                        .and_then(|a| self.associations.get(a.as_str(), now).cloned());
                    if let Some((target, allocation)) = target {
                        if let Some(inst) = self.instances.get(target.as_str(), now) {
                            // Its Elastic IP is gone: the address it moves to is a handover.
                            if let Some(i) = inst.addrs.iter().rposition(|l| {
                                l.how == How::ElasticIp || addr.is_some_and(|a| a == l.ip)
                            }) {
                                let old = inst.addrs.remove(i);
                                inst.retired = Some(super::Retired {
                                    ip: old.ip,
                                    at: now,
                                });
                            }
                        }
                        self.expect_handover(&target, allocation, now);
                        self.note(&target, now, || {
                            format!(
                                "DisassociateAddress ({}): the next new address is the instance's new egress",
                                ev.event_id()
                            )
                        });
                    }
                }
                NetFact::Started { instances } => {
                    for id in instances {
                        if let Some(inst) = self.instances.get(id.as_str(), now) {
                            // A start may bring a new auto-assigned public address on either family:
                            // release the locks and forget launch-time public addresses (Elastic IPs
                            // stay).
                            inst.restart();
                        }
                        self.note(id, now, || {
                            format!(
                                "StartInstances ({}): new life, locks released",
                                ev.event_id()
                            )
                        });
                    }
                }
                NetFact::Terminated { .. } => {}
            }
        }
    }

    /// Gives `ip` to an instance.
    fn give(
        &mut self,
        instance: &CompactString,
        account: &str,
        ip: IpAddr,
        how: How,
        now: crate::time::EventTime,
    ) {
        let (inst, _) = self.upsert_instance(instance, account, now);
        inst.learn(ip, how, now);
        if !address::is_private(ip) {
            self.own(ip, account, how, now);
        }
    }

    /// An Elastic IP replaces the instance's auto-assigned public IPv4 address: its lock retires.
    fn retire_lock(&mut self, instance: &str, now: crate::time::EventTime) {
        let Some(inst) = self.instances.get(instance, now) else {
            return;
        };
        if let Some(lock) = inst.take_lock(super::Family::V4) {
            inst.retired = Some(super::Retired {
                ip: lock.ip,
                at: now,
            });
            inst.egress_known[super::Family::V4 as usize] = false;
            if self
                .owners
                .peek(&lock.ip, now)
                .is_some_and(|o| o.how == How::FirstUse)
            {
                self.owners.remove(&lock.ip);
            }
        }
    }

    /// Records that `account` owns a public address (for IPv6 also its /64: AWS gives a subnet a
    /// /64, so every address in it is an address of the account's instances).
    pub(super) fn own(&mut self, ip: IpAddr, account: &str, how: How, now: crate::time::EventTime) {
        let (owner, _) = self.owners.upsert(ip, now, || Owner {
            account: CompactString::from(account),
            how,
            at: now,
        });
        if owner.account != account {
            // Addresses move between accounts (released EIPs): the latest fact wins.
            *owner = Owner {
                account: account.into(),
                how,
                at: now,
            };
        }
        if let (Some(prefix), How::Launch | How::Interface) = (super::subnet64(ip), how) {
            self.owners.upsert(prefix, now, || Owner {
                account: account.into(),
                how: How::Subnet,
                at: now,
            });
        }
    }
}
