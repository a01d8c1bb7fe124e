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
                }
                NetFact::EipAssociated {
                    instance,
                    eni,
                    allocation,
                    addr,
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
                    match (ip, target) {
                        (Some(ip), Some(target)) => {
                            self.give(&target, &account, ip, How::ElasticIp, now)
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
                NetFact::Started { instances } => {
                    for id in instances {
                        if let Some(inst) = self.instances.get(id.as_str(), now) {
                            // A start may bring a new auto-assigned public address: release the lock
                            // and forget launch-time public addresses (Elastic IPs stay).
                            inst.lock = None;
                            inst.egress_known = false;
                            inst.addrs
                                .retain(|l| l.how != How::Launch || address::is_private(l.ip));
                        }
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

    /// Records that `account` owns a public address.
    fn own(&mut self, ip: IpAddr, account: &str, how: How, now: crate::time::EventTime) {
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
    }
}
