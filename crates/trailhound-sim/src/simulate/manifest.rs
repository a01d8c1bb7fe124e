//! `ground-truth/manifest.json`: the organisation as it really was — accounts, networks with their NAT
//! gateway and VPC endpoint addresses, workload groups, every instance with its addresses over time, IAM
//! users and SSO people with their usual addresses — so a scorer or a person can check any address.
use serde_json::{json, Value};

use super::addr;
use super::clock;
use super::org::{Mode, SPECS};
use super::out::Stats;
use super::world::World;

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Public => "public-subnet",
        Mode::Nat => "private-subnet-nat",
        Mode::Isolated => "isolated-subnet-vpc-endpoints",
    }
}

/// The manifest of world `w` after a run ending at `end`.
pub(crate) fn build(w: &World, stats: &Stats, end: i64) -> Value {
    let org = &w.org;
    let accounts: Vec<Value> = org.accounts.iter().map(|a| json!({"id": a.id, "name": a.name, "kind": format!("{:?}", a.kind).to_lowercase(), "regions": a.regions.iter().map(|r| addr::EC2[*r].0).collect::<Vec<_>>()})).collect();
    let outsiders: Vec<Value> = org
        .outsiders
        .iter()
        .map(|a| json!({"id": a.id, "name": a.name}))
        .collect();
    let networks: Vec<Value> = org
        .nets
        .iter()
        .map(|n| {
            json!({
                "account_id": org.accounts[n.acct].id,
                "region": addr::EC2[n.region].0,
                "vpc_id": n.vpc,
                "cidr": format!("10.{}.0.0/16", n.second),
                "subnets": n.subnets.iter().map(|s| json!({"id": s.id, "az": format!("{}{}", addr::EC2[n.region].0, s.az), "kind": mode(s.mode)})).collect::<Vec<_>>(),
                "nat_gateways": n.nats.iter().map(|g| json!({"id": g.id, "allocation_id": g.alloc, "public_ip": g.eip, "az": format!("{}{}", addr::EC2[n.region].0, g.az)})).collect::<Vec<_>>(),
                "vpc_endpoints": n.vpces.iter().map(|v| json!({"id": v.id, "service": v.svc.prefix(), "type": if v.gateway { "Gateway" } else { "Interface" }})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let groups: Vec<Value> = org
        .groups
        .iter()
        .map(|g| {
            let s = &SPECS[g.spec];
            json!({"name": g.name, "account_id": org.accounts[g.acct].id, "region": addr::EC2[g.region].0, "role_arn": org.roles[g.role].arn, "network": mode(s.mode), "auto_scaling": s.asg, "user_agent": s.client.ua, "size": g.size})
        })
        .collect();
    let instances: Vec<Value> = w
        .insts
        .iter()
        .map(|i| {
            let g = &org.groups[i.group];
            json!({
                "id": i.id,
                "account_id": org.accounts[g.acct].id,
                "region": addr::EC2[g.region].0,
                "group": g.name,
                "role_arn": org.roles[g.role].arn,
                "private_ip": i.private_ip,
                "launched": clock::iso_string(i.launched),
                "terminated": i.ended.map(clock::iso_string),
                "pre_existing": i.pre_existing,
                "imdsv1_application": i.v1_app,
                "addresses": i.spans,
            })
        })
        .collect();
    let users: Vec<Value> = org.users.iter().map(|u| json!({"account_id": org.accounts[u.acct].id, "name": u.name, "arn": u.arn, "access_key_id": u.key, "addresses": u.ips, "user_agent": u.client.ua})).collect();
    let people: Vec<Value> = org.people.iter().map(|p| json!({"email": p.email, "addresses": p.ips, "roles": p.roles.iter().map(|r| &org.roles[*r].arn).collect::<Vec<_>>()})).collect();
    json!({
        "organization_id": org.id,
        "start": clock::iso_string(w.start),
        "end": clock::iso_string(end),
        "accounts": accounts,
        "outside_accounts": outsiders,
        "offices": org.offices,
        "networks": networks,
        "groups": groups,
        "instances": instances,
        "users": users,
        "sso_people": people,
        "stats": {"events": stats.events, "records": stats.records, "late": stats.late, "duplicates": stats.duplicates, "malicious": stats.malicious, "files": stats.files, "bytes": stats.bytes},
    })
}
