//! EC2 address facts from the network events SPEC §2.1 lists.
//!
//! These events are rare (well under 1 % of a trail), so they are parsed into `serde_json::Value` and
//! walked: the walk tolerates CloudTrail's XML-shaped nesting (`items` arrays, `item` objects that are
//! sometimes a single object, wrapper objects such as `CreateNatGatewayResponse`).
use std::net::IpAddr;

use compact_str::CompactString;
use serde_json::Value;

use crate::event::NetFact;

/// Extracts the facts of one successful EC2 call; empty for other events.
pub fn facts(event_name: &str, request: Option<&str>, response: Option<&str>) -> Vec<NetFact> {
    let parse = |raw: Option<&str>| {
        raw.and_then(|r| serde_json::from_str::<Value>(r).ok())
            .unwrap_or(Value::Null)
    };
    let (req, resp) = (parse(request), parse(response));
    let mut out = Vec::new();
    match event_name {
        "RunInstances" => {
            let mut items = Vec::new();
            find_key(&resp, "instancesSet", &mut |set| {
                flatten_items(set, &mut items)
            });
            for item in items {
                let Some(instance) = str_at(item, "instanceId") else {
                    continue;
                };
                out.push(NetFact::Launched {
                    instance,
                    enis: strings(item, "networkInterfaceId"),
                    addrs: addresses(item, false),
                });
            }
        }
        "AssociateAddress" => out.push(NetFact::EipAssociated {
            instance: str_at(&req, "instanceId"),
            eni: str_at(&req, "networkInterfaceId"),
            allocation: str_at(&req, "allocationId"),
            addr: str_at(&req, "publicIp").and_then(|s| s.parse().ok()),
            association: str_at(&resp, "associationId"),
        }),
        "DisassociateAddress" => out.push(NetFact::EipDisassociated {
            association: str_at(&req, "associationId"),
            addr: str_at(&req, "publicIp").and_then(|s| s.parse().ok()),
        }),
        "AttachNetworkInterface" => {
            if let (Some(instance), Some(eni)) = (
                str_at(&req, "instanceId"),
                str_at(&req, "networkInterfaceId"),
            ) {
                out.push(NetFact::EniAttached { instance, eni });
            }
        }
        "CreateNetworkInterface" | "AssignPrivateIpAddresses" | "AssignIpv6Addresses" => {
            let eni = str_at(&req, "networkInterfaceId")
                .or_else(|| strings(&resp, "networkInterfaceId").into_iter().next());
            if let Some(eni) = eni {
                let mut addrs = addresses(&req, false);
                addrs.extend(addresses(&resp, false));
                dedup(&mut addrs);
                out.push(NetFact::EniAddresses { eni, addrs });
            }
        }
        "AllocateAddress" => {
            if let Some(addr) = str_at(&resp, "publicIp").and_then(|s| s.parse().ok()) {
                out.push(NetFact::EipAllocated {
                    allocation: str_at(&resp, "allocationId"),
                    addr,
                });
            }
        }
        "CreateNatGateway" | "AssociateNatGatewayAddress" => {
            let mut allocations = strings(&req, "allocationId");
            allocations.extend(strings(&resp, "allocationId"));
            allocations.sort();
            allocations.dedup();
            let mut addrs = addresses(&resp, true);
            dedup(&mut addrs);
            out.push(NetFact::NatAddresses { allocations, addrs });
        }
        "StartInstances" => out.push(NetFact::Started {
            instances: strings(&req, "instanceId"),
        }),
        "TerminateInstances" => out.push(NetFact::Terminated {
            instances: strings(&req, "instanceId"),
        }),
        _ => {}
    }
    out
}

/// True for the event names [`facts`] understands.
pub fn is_net_event(event_name: &str) -> bool {
    matches!(
        event_name,
        "RunInstances"
            | "AssociateAddress"
            | "DisassociateAddress"
            | "AttachNetworkInterface"
            | "CreateNetworkInterface"
            | "AssignPrivateIpAddresses"
            | "AssignIpv6Addresses"
            | "AllocateAddress"
            | "CreateNatGateway"
            | "AssociateNatGatewayAddress"
            | "StartInstances"
            | "TerminateInstances"
    )
}

/// Calls `f` on the value of every `key` anywhere under `v`.
fn find_key<'v>(v: &'v Value, key: &str, f: &mut dyn FnMut(&'v Value)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    f(child);
                } else {
                    find_key(child, key, f);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| find_key(c, key, f)),
        _ => {}
    }
}

/// The elements of an XML-shaped set: `{"items":[…]}`, `{"item":{…}}`, `{"item":[…]}` or a bare array.
fn flatten_items<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        Value::Object(map) => match map.get("items").or_else(|| map.get("item")) {
            Some(inner) => flatten_items(inner, out),
            None => out.push(v),
        },
        _ => {}
    }
}

/// The first string value of `key` anywhere under `v`.
fn str_at(v: &Value, key: &str) -> Option<CompactString> {
    strings(v, key).into_iter().next()
}

/// Every string value of `key` anywhere under `v` (arrays of strings included), in document order.
fn strings(v: &Value, key: &str) -> Vec<CompactString> {
    let mut out = Vec::new();
    let wanted =
        |k: &str| k.eq_ignore_ascii_case(key) || k.eq_ignore_ascii_case(&format!("{key}s"));
    fn walk(v: &Value, wanted: &dyn Fn(&str) -> bool, hit: bool, out: &mut Vec<CompactString>) {
        match v {
            Value::String(s) if hit => out.push(CompactString::from(s.as_str())),
            Value::Object(map) => map
                .iter()
                .for_each(|(k, c)| walk(c, wanted, hit || wanted(k), out)),
            Value::Array(items) => items.iter().for_each(|c| walk(c, wanted, hit, out)),
            _ => {}
        }
    }
    walk(v, &wanted, false, &mut out);
    out
}

/// Every IP address under a key that names an address (`privateIpAddress`, `publicIp`,
/// `ipv6Address`, `assignedIpv6Addresses`, …); `public_only` keeps only `publicIp`-style keys.
fn addresses(v: &Value, public_only: bool) -> Vec<IpAddr> {
    fn addressy(k: &str, public_only: bool) -> bool {
        let k = k.to_ascii_lowercase();
        if public_only {
            k.contains("publicip")
        } else {
            k.contains("ip") || k.contains("address")
        }
    }
    fn walk(v: &Value, public_only: bool, hit: bool, out: &mut Vec<IpAddr>) {
        match v {
            Value::String(s) if hit => {
                if let Ok(ip) = s.parse() {
                    out.push(ip);
                }
            }
            Value::Object(map) => map
                .iter()
                .for_each(|(k, c)| walk(c, public_only, hit || addressy(k, public_only), out)),
            Value::Array(items) => items.iter().for_each(|c| walk(c, public_only, hit, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, public_only, false, &mut out);
    dedup(&mut out);
    out
}

fn dedup(addrs: &mut Vec<IpAddr>) {
    addrs.sort();
    addrs.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_instances_response_gives_instance_addresses() {
        // Shape as CloudTrail logs RunInstances (responseElements.instancesSet.items[]).
        let resp = r#"{"requestId":"r","reservationId":"r-1","ownerId":"123456789012","groupSet":{},
          "instancesSet":{"items":[{"instanceId":"i-0abc1234def567890","imageId":"ami-1",
            "privateIpAddress":"10.0.1.10","privateDnsName":"ip-10-0-1-10.ec2.internal",
            "placement":{"availabilityZone":"us-east-1a","tenancy":"default"},
            "networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0a1","subnetId":"subnet-1",
              "privateIpAddress":"10.0.1.10","privateIpAddressesSet":{"item":[{"privateIpAddress":"10.0.1.10","primary":true}]},
              "ipv6AddressesSet":{"items":[{"ipv6Address":"2600:1f18:1234:5600::10"}]},
              "association":{"publicIp":"3.225.16.200","ipOwnerId":"amazon"}}]}}]}}"#;
        let facts = facts("RunInstances", None, Some(resp));
        let [NetFact::Launched {
            instance,
            enis,
            addrs,
        }] = facts.as_slice()
        else {
            panic!("{facts:?}")
        };
        assert_eq!(instance, "i-0abc1234def567890");
        assert_eq!(enis, &["eni-0a1"]);
        let want: Vec<IpAddr> = ["10.0.1.10", "3.225.16.200", "2600:1f18:1234:5600::10"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut want = want;
        want.sort();
        assert_eq!(addrs, &want);
    }

    #[test]
    fn nat_gateway_item_object_as_in_invictus() {
        // The real record nests a single address as an object under `item`, not an array.
        let req = r#"{"CreateNatGatewayRequest":{"ConnectivityType":"public","AllocationId":"eipalloc-08a083beb7e83dbc0","SubnetId":"subnet-01"}}"#;
        let resp = r#"{"CreateNatGatewayResponse":{"natGateway":{"natGatewayAddressSet":{"item":{"isPrimary":true,"allocationId":"eipalloc-08a083beb7e83dbc0","status":"associating"}},"natGatewayId":"nat-03575abbac42080d9"}}}"#;
        let facts = facts("CreateNatGateway", Some(req), Some(resp));
        assert_eq!(
            facts,
            vec![NetFact::NatAddresses {
                allocations: vec!["eipalloc-08a083beb7e83dbc0".into()],
                addrs: vec![]
            }]
        );
    }

    #[test]
    fn associate_and_start() {
        let f = facts(
            "AssociateAddress",
            Some(
                r#"{"instanceId":"i-0abc1234def567890","allocationId":"eipalloc-1","allowReassociation":true}"#,
            ),
            Some(r#"{"associationId":"eipassoc-1","_return":true}"#),
        );
        assert_eq!(
            f,
            vec![NetFact::EipAssociated {
                instance: Some("i-0abc1234def567890".into()),
                eni: None,
                allocation: Some("eipalloc-1".into()),
                addr: None,
                association: Some("eipassoc-1".into()),
            }]
        );
        let f = facts(
            "StartInstances",
            Some(
                r#"{"instancesSet":{"items":[{"instanceId":"i-0abc1234def567890"},{"instanceId":"i-1a2b3c4d"}]}}"#,
            ),
            None,
        );
        assert_eq!(
            f,
            vec![NetFact::Started {
                instances: vec!["i-0abc1234def567890".into(), "i-1a2b3c4d".into()]
            }]
        );
    }
}
