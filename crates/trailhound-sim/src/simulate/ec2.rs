//! EC2 control-plane records: `RunInstances` (with its `networkInterfaceSet` response), the EC2
//! service's `AssumeRole`, state changes, Elastic IPs, ENIs, NAT gateways and VPC endpoints.
//!
//! Shapes follow the real records in `shared/datasets/invictus-aws-dataset` (RunInstances
//! 86eac0ac-…, AssumeRole 7a5ee168-…, AllocateAddress a4ff516f-…, CreateNatGateway dbb3b16e-…).
use std::fmt::Write as _;

use super::clients::{self, Client};
use super::clock;
use super::org::{Mode, SPECS};
use super::out::Out;
use super::record::{Rec, Who};
use super::session::{self, Owned};
use super::world::World;

/// Who changes EC2 state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    /// The Auto Scaling service-linked role (`invokedBy: autoscaling.amazonaws.com`).
    Asg,
    /// A platform engineer's SSO session running Terraform from the office.
    Admin,
    /// The instance's owner: an IAM user of the account with the CLI.
    Owner,
}

/// A resolved caller: a role session (with `invokedBy`) or an IAM user.
pub(crate) enum Caller {
    /// A role session.
    Session(Box<Owned>, Option<&'static str>),
    /// An IAM user (index).
    User(usize),
}

/// The caller, address and client for `by` in account `acct` at `t`.
pub(crate) fn resolve(
    w: &mut World,
    acct: usize,
    by: By,
    t: i64,
) -> (Caller, String, &'static Client) {
    let user = w.org.users.iter().position(|u| u.acct == acct && u.console);
    match (by, user) {
        (By::Asg, _) => {
            let role = w
                .org
                .role(acct, "AWSServiceRoleForAutoScaling")
                .unwrap_or(0);
            let mut s = Owned::new(&w.org, &mut w.rng, role, "AutoScaling", t - 1800);
            s.key.clear();
            (
                Caller::Session(Box::new(s), Some("autoscaling.amazonaws.com")),
                "autoscaling.amazonaws.com".into(),
                &clients::AUTOSCALING,
            )
        }
        (By::Owner, Some(u)) => {
            let ip = w.org.users[u].ips[0].clone();
            (Caller::User(u), ip, w.org.users[u].client)
        }
        _ => {
            let p = (acct * 7 + (t / 86_400) as usize) % w.org.people.len().max(1);
            let role = w
                .org
                .roles
                .iter()
                .position(|r| {
                    r.acct == acct && r.name.starts_with("AWSReservedSSO_AdministratorAccess")
                })
                .unwrap_or(0);
            let email = w
                .org
                .people
                .get(p)
                .map(|x| x.email.clone())
                .unwrap_or_default();
            let ip = w
                .org
                .people
                .get(p)
                .map(|x| x.ips[0].clone())
                .unwrap_or_default();
            let s = Owned::new(&w.org, &mut w.rng, role, &email, t - 900);
            (Caller::Session(Box::new(s), None), ip, &clients::TERRAFORM)
        }
    }
}

/// Runs `f` with the caller's `userIdentity`.
pub(crate) fn with_who<R>(w: &World, c: &Caller, f: impl FnOnce(Who<'_>, &str) -> R) -> R {
    match c {
        Caller::Session(s, by) => {
            let mut v = s.view();
            v.invoked_by = *by;
            f(Who::Role(&v), &s.arn)
        }
        Caller::User(u) => {
            let u = &w.org.users[*u];
            f(
                Who::User {
                    principal: &u.id,
                    arn: &u.arn,
                    account: &w.org.accounts[u.acct].id,
                    key: Some(&u.key),
                    name: &u.name,
                    console: None,
                },
                &u.arn,
            )
        }
    }
}

/// Writes one EC2 control-plane call by `caller`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit(
    w: &mut World,
    out: &mut Out,
    t: i64,
    acct: usize,
    region: usize,
    caller: &Caller,
    ip: &str,
    client: &Client,
    name: &str,
    ro: bool,
    req: &str,
    resp: Option<&str>,
    request_id: &str,
) {
    let event_id = w.rng.uuid();
    let host = w.host(super::calls::Svc::Ec2, region).to_string();
    with_who(w, caller, |who, _| {
        let mut r = Rec::api(
            t,
            who,
            "ec2.amazonaws.com",
            name,
            World::region(region),
            ip,
            client.ua,
            &w.org.accounts[acct].id,
            event_id.as_str(),
        );
        r.read_only = ro;
        r.request = Some(req);
        r.response = resp;
        r.request_id = Some(request_id);
        if !client.tls.is_empty() {
            r.tls = Some((client.tls, client.cipher, &host));
        }
        out.emit(&r, acct, region, None);
    });
}

/// `RunInstances` of `insts` (all of one group) by `by`; returns the request id.
pub(crate) fn run_instances(
    w: &mut World,
    out: &mut Out,
    t: i64,
    insts: &[usize],
    by: By,
    show_v6: bool,
) -> String {
    let g = &w.org.groups[w.insts[insts[0]].group];
    let (acct, region, spec) = (g.acct, g.region, &SPECS[g.spec]);
    let (caller, ip, client) = resolve(w, acct, by, t);
    let request_id = w.rng.uuid().as_str().to_string();
    let g = &w.org.groups[w.insts[insts[0]].group];
    let net = &w.org.nets[g.net];
    let role = &w.org.roles[g.role];
    let account = &w.org.accounts[acct].id;
    let first = &w.insts[insts[0]];
    let subnet = &net.subnets[first.subnet];
    let n = insts.len();
    let mut req = String::with_capacity(1024);
    let token = w.rng.uuid();
    if by == By::Asg {
        let _ = write!(req, "{{\"instancesSet\":{{\"items\":[{{\"minCount\":{n},\"maxCount\":{n}}}]}},\"launchTemplate\":{{\"launchTemplateId\":\"{}\",\"version\":\"1\"}},\"subnetId\":\"{}\",\"clientToken\":\"fleet-{}\",\"tagSpecificationSet\":{{\"items\":[{{\"resourceType\":\"instance\",\"tags\":[{{\"key\":\"aws:autoscaling:groupName\",\"value\":\"{}-asg\"}}]}}]}}}}", g.template, subnet.id, token.as_str(), g.name);
    } else {
        let public = spec.mode == Mode::Public;
        let _ = write!(req, "{{\"instancesSet\":{{\"items\":[{{\"imageId\":\"{}\",\"minCount\":{n},\"maxCount\":{n}}}]}},\"instanceType\":\"{}\",\"blockDeviceMapping\":{{}},\"monitoring\":{{\"enabled\":false}},\"disableApiTermination\":false,\"disableApiStop\":false,\"clientToken\":\"{}\",\"networkInterfaceSet\":{{\"items\":[{{\"deviceIndex\":0,\"associatePublicIpAddress\":{public},\"subnetId\":\"{}\"}}]}},\"iamInstanceProfile\":{{\"name\":\"{}\"}},\"ebsOptimized\":false,\"metadataOptions\":{{\"httpTokens\":\"{}\"}},\"tagSpecificationSet\":{{\"items\":[{{\"resourceType\":\"instance\",\"tags\":[{{\"key\":\"Name\",\"value\":\"{}\"}}]}}]}}}}", g.ami, spec.itype, token.as_str().to_uppercase(), subnet.id, role.name, if first.v1_app { "optional" } else { "required" }, g.name);
    }
    let mut resp = String::with_capacity(4096);
    let _ = write!(resp, "{{\"requestId\":\"{request_id}\",\"reservationId\":\"r-0{}\",\"ownerId\":\"{account}\",\"groupSet\":{{}},\"instancesSet\":{{\"items\":[", w.rng.hex::<16>().as_str());
    let region_name = World::region(region);
    let dns_suffix = if region_name == "us-east-1" {
        "ec2.internal".to_string()
    } else {
        format!("{region_name}.compute.internal")
    };
    let profile_id = w.rng.unique_id("AIPA", w.org.accounts[acct].num);
    for (k, i) in insts.iter().enumerate() {
        let inst = &w.insts[*i];
        let subnet = &net.subnets[inst.subnet];
        let az = format!("{region_name}{}", subnet.az);
        let ms = t * 1000;
        let mac = w.rng.hex::<10>();
        let m = mac.as_str();
        let attach = w.rng.hex::<16>();
        let dns = format!("ip-{}.{dns_suffix}", inst.private_ip.replace('.', "-"));
        let v6_set = match (&inst.ipv6, show_v6) {
            (Some(v6), true) => format!("{{\"items\":[{{\"ipv6Address\":\"{v6}\"}}]}}"),
            _ => "{}".to_string(),
        };
        if k > 0 {
            resp.push(',');
        }
        let _ = write!(
            resp,
            "{{\"instanceId\":\"{}\",\"imageId\":\"{}\",\"currentInstanceBootMode\":\"uefi\",\"instanceState\":{{\"code\":0,\"name\":\"pending\"}},\"privateDnsName\":\"{dns}\",\"amiLaunchIndex\":{k},\"productCodes\":{{}},\"instanceType\":\"{}\",\"launchTime\":{ms},\"placement\":{{\"availabilityZone\":\"{az}\",\"tenancy\":\"default\"}},\"monitoring\":{{\"state\":\"disabled\"}},\"subnetId\":\"{}\",\"vpcId\":\"{}\",\"privateIpAddress\":\"{}\",\"stateReason\":{{\"code\":\"pending\",\"message\":\"pending\"}},\"architecture\":\"x86_64\",\"rootDeviceType\":\"ebs\",\"rootDeviceName\":\"/dev/xvda\",\"blockDeviceMapping\":{{}},\"virtualizationType\":\"hvm\",\"hypervisor\":\"xen\",\"groupSet\":{{\"items\":[{{\"groupId\":\"{}\",\"groupName\":\"default\"}}]}},\"sourceDestCheck\":true,\"networkInterfaceSet\":{{\"items\":[{{\"networkInterfaceId\":\"{}\",\"subnetId\":\"{}\",\"vpcId\":\"{}\",\"ownerId\":\"{account}\",\"status\":\"in-use\",\"macAddress\":\"{}:{}:{}:{}:{}:1e\",\"privateIpAddress\":\"{}\",\"privateDnsName\":\"{dns}\",\"sourceDestCheck\":true,\"interfaceType\":\"interface\",\"groupSet\":{{\"items\":[{{\"groupId\":\"{}\",\"groupName\":\"default\"}}]}},\"attachment\":{{\"attachmentId\":\"eni-attach-0{}\",\"deviceIndex\":0,\"networkCardIndex\":0,\"status\":\"attaching\",\"attachTime\":{ms},\"deleteOnTermination\":true}},\"privateIpAddressesSet\":{{\"item\":[{{\"privateIpAddress\":\"{}\",\"privateDnsName\":\"{dns}\",\"primary\":true}}]}},\"ipv6AddressesSet\":{v6_set},\"tagSet\":{{}}}}]}},\"iamInstanceProfile\":{{\"arn\":\"arn:aws:iam::{account}:instance-profile/{}\",\"id\":\"{}\"}},\"ebsOptimized\":false,\"enaSupport\":true,\"cpuOptions\":{{\"coreCount\":1,\"threadsPerCore\":2}},\"capacityReservationSpecification\":{{\"capacityReservationPreference\":\"open\"}},\"hibernationOptions\":{{\"configured\":false}},\"enclaveOptions\":{{\"enabled\":false}},\"metadataOptions\":{{\"state\":\"pending\",\"httpTokens\":\"{}\",\"httpPutResponseHopLimit\":2,\"httpEndpoint\":\"enabled\",\"httpProtocolIpv4\":\"enabled\",\"httpProtocolIpv6\":\"disabled\",\"instanceMetadataTags\":\"disabled\"}},\"maintenanceOptions\":{{\"autoRecovery\":\"default\"}},\"privateDnsNameOptions\":{{\"hostnameType\":\"ip-name\",\"enableResourceNameDnsARecord\":false,\"enableResourceNameDnsAAAARecord\":false}}}}",
            inst.id, g.ami, spec.itype, subnet.id, net.vpc, inst.private_ip, net.sg, inst.eni, subnet.id, net.vpc,
            &m[0..2], &m[2..4], &m[4..6], &m[6..8], &m[8..10],
            inst.private_ip, net.sg, attach.as_str(), inst.private_ip, role.name, profile_id.as_str(),
            if inst.v1_app { "optional" } else { "required" }
        );
    }
    resp.push_str("]}}");
    emit(
        w,
        out,
        t,
        acct,
        region,
        &caller,
        &ip,
        client,
        "RunInstances",
        false,
        &req,
        Some(&resp),
        &request_id,
    );
    request_id
}

/// The EC2 service's two `AssumeRole` calls delivering instance `i`'s current keys (IMDSv1, IMDSv2).
pub(crate) fn assume_role(w: &mut World, out: &mut Out, t: i64, i: usize, request_id: &str) {
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let role = &w.org.roles[g.role];
    let account = &w.org.accounts[acct].id;
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        role.arn, inst.id
    );
    let mut res = String::new();
    session::role_resource(&mut res, account, &role.arn);
    for v in 0..2 {
        let mut resp = String::with_capacity(800);
        let lifetime = 6 * 3600 + w.rng.range(1800, 2400);
        session::credentials(&mut resp, &mut w.rng, &inst.keys[v].id, t, lifetime, None);
        let event_id = w.rng.uuid();
        let shared = w.rng.uuid();
        let mut r = Rec::api(
            t,
            Who::Service("ec2.amazonaws.com"),
            "sts.amazonaws.com",
            "AssumeRole",
            World::region(region),
            "ec2.amazonaws.com",
            "ec2.amazonaws.com",
            account,
            event_id.as_str(),
        );
        r.request = Some(&req);
        r.response = Some(&resp);
        r.request_id = Some(request_id);
        r.resources = Some(&res);
        r.shared_id = Some(shared.as_str());
        out.emit(&r, acct, region, None);
    }
}

/// `TerminateInstances`, `StopInstances` or `StartInstances` of instance `i`.
pub(crate) fn state_change(w: &mut World, out: &mut Out, t: i64, i: usize, by: By, name: &str) {
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let (caller, ip, client) = resolve(w, acct, by, t);
    let request_id = w.rng.uuid();
    let ((cc, cn), (pc, pn)) = match name {
        "StopInstances" => ((64, "stopping"), (16, "running")),
        "StartInstances" => ((0, "pending"), (80, "stopped")),
        _ => ((32, "shutting-down"), (16, "running")),
    };
    let id = &w.insts[i].id;
    let req = format!("{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{id}\"}}]}}}}");
    let resp = format!("{{\"requestId\":\"{}\",\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{id}\",\"currentState\":{{\"code\":{cc},\"name\":\"{cn}\"}},\"previousState\":{{\"code\":{pc},\"name\":\"{pn}\"}}}}]}}}}", request_id.as_str());
    emit(
        w,
        out,
        t,
        acct,
        region,
        &caller,
        &ip,
        client,
        name,
        false,
        &req,
        Some(&resp),
        request_id.as_str(),
    );
}

/// `AllocateAddress` then `AssociateAddress` to instance `i`; the Elastic IP becomes its address.
pub(crate) fn elastic_ip(w: &mut World, out: &mut Out, t: i64, i: usize, by: By) {
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let (caller, ip, client) = resolve(w, acct, by, t);
    let eip = super::addr::ec2(&mut w.rng, region).to_string();
    let alloc = format!("eipalloc-0{}", w.rng.hex::<16>().as_str());
    let rid = w.rng.uuid();
    let resp = format!("{{\"requestId\":\"{}\",\"publicIp\":\"{eip}\",\"domain\":\"vpc\",\"allocationId\":\"{alloc}\",\"publicIpv4Pool\":\"amazon\",\"networkBorderGroup\":\"{}\"}}", rid.as_str(), World::region(region));
    emit(
        w,
        out,
        t,
        acct,
        region,
        &caller,
        &ip,
        client,
        "AllocateAddress",
        false,
        "{\"domain\":\"vpc\"}",
        Some(&resp),
        rid.as_str(),
    );
    let rid = w.rng.uuid();
    let req = format!(
        "{{\"instanceId\":\"{}\",\"allocationId\":\"{alloc}\",\"allowReassociation\":false}}",
        w.insts[i].id
    );
    let resp = format!(
        "{{\"requestId\":\"{}\",\"_return\":true,\"associationId\":\"eipassoc-0{}\"}}",
        rid.as_str(),
        w.rng.hex::<16>().as_str()
    );
    emit(
        w,
        out,
        t + 4,
        acct,
        region,
        &caller,
        &ip,
        client,
        "AssociateAddress",
        false,
        &req,
        Some(&resp),
        rid.as_str(),
    );
    let inst = &mut w.insts[i];
    for s in inst.spans.iter_mut().filter(|s| s.to.is_empty()) {
        s.to = clock::iso_string(t + 4);
    }
    inst.public_ip = Some(eip.clone());
    inst.spans.push(super::fleet::Span {
        from: clock::iso_string(t + 4),
        to: String::new(),
        address: eip,
        kind: "elastic-ip",
    });
}

/// One EC2 call made by instance `i` itself with its IMDSv2 key, from its address for EC2 (user data,
/// lifecycle hooks, the VPC CNI): `emit` cannot carry `ec2RoleDelivery`, so the record is written here.
#[allow(clippy::too_many_arguments)]
pub(crate) fn instance_call(
    w: &mut World,
    out: &mut Out,
    t: i64,
    i: usize,
    name: &str,
    req: &str,
    resp: &str,
    request_id: &str,
    client: &Client,
) {
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let key = inst.key(t, false).clone();
    let event_id = w.rng.uuid();
    let inst = &w.insts[i];
    let (src, _) = inst.egress(&w.org, super::calls::Svc::Ec2);
    let s = inst.session(&w.org, &key, "2.0");
    let host = w.host(super::calls::Svc::Ec2, region);
    let mut r = Rec::api(
        t,
        Who::Role(&s),
        "ec2.amazonaws.com",
        name,
        World::region(region),
        src,
        client.ua,
        &w.org.accounts[acct].id,
        event_id.as_str(),
    );
    r.read_only = false;
    r.request = Some(req);
    r.response = Some(resp);
    r.request_id = Some(request_id);
    r.tls = Some((client.tls, client.cipher, host));
    out.emit(&r, acct, region, None);
}

/// `AssignIpv6Addresses` by instance `i`'s user data: its IPv6 address, on its primary interface.
pub(crate) fn assign_ipv6(w: &mut World, out: &mut Out, t: i64, i: usize) {
    let Some(v6) = w.insts[i].ipv6.clone() else {
        return;
    };
    let eni = w.insts[i].eni.clone();
    let rid = w.rng.uuid();
    let req = format!("{{\"networkInterfaceId\":\"{eni}\",\"ipv6AddressCount\":1}}");
    let resp = format!(
        "{{\"requestId\":\"{}\",\"networkInterfaceId\":\"{eni}\",\"assignedIpv6Addresses\":[\"{v6}\"]}}",
        rid.as_str()
    );
    instance_call(
        w,
        out,
        t,
        i,
        "AssignIpv6Addresses",
        &req,
        &resp,
        rid.as_str(),
        &clients::CLI_INSTANCE,
    );
}

/// The VPC CNI on an EKS node creating and attaching a second ENI with the node's own credentials.
pub(crate) fn attach_eni(w: &mut World, out: &mut Out, t: i64, i: usize) {
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let net = &w.org.nets[g.net];
    let subnet = &net.subnets[inst.subnet];
    let eni = format!("eni-0{}", w.rng.hex::<16>().as_str());
    let second_ip =
        super::addr::private(net.second, subnet.third + 8, (4 + (i % 250)) as u8).to_string();
    let rid = w.rng.uuid();
    let req = format!("{{\"subnetId\":\"{}\",\"description\":\"aws-K8S-{}\",\"groupSet\":{{\"items\":[{{\"groupId\":\"{}\"}}]}},\"privateIpAddressesSet\":{{}}}}", subnet.id, inst.id, net.sg);
    let resp = format!("{{\"requestId\":\"{}\",\"networkInterface\":{{\"networkInterfaceId\":\"{eni}\",\"subnetId\":\"{}\",\"vpcId\":\"{}\",\"availabilityZone\":\"{}{}\",\"ownerId\":\"{}\",\"requesterManaged\":false,\"status\":\"pending\",\"privateIpAddress\":\"{second_ip}\",\"sourceDestCheck\":true,\"interfaceType\":\"interface\",\"privateIpAddressesSet\":{{\"item\":[{{\"privateIpAddress\":\"{second_ip}\",\"primary\":true}}]}},\"ipv6AddressesSet\":{{}},\"tagSet\":{{}}}}}}", rid.as_str(), subnet.id, net.vpc, World::region(region), subnet.az, w.org.accounts[acct].id);
    instance_call(
        w,
        out,
        t,
        i,
        "CreateNetworkInterface",
        &req,
        &resp,
        rid.as_str(),
        &clients::VPC_CNI,
    );
    let rid = w.rng.uuid();
    let req = format!("{{\"networkInterfaceId\":\"{eni}\",\"instanceId\":\"{}\",\"deviceIndex\":1,\"networkCardIndex\":0}}", w.insts[i].id);
    let resp = format!(
        "{{\"requestId\":\"{}\",\"attachmentId\":\"eni-attach-0{}\",\"networkCardIndex\":0}}",
        rid.as_str(),
        w.rng.hex::<16>().as_str()
    );
    instance_call(
        w,
        out,
        t + 2,
        i,
        "AttachNetworkInterface",
        &req,
        &resp,
        rid.as_str(),
        &clients::VPC_CNI,
    );
}
