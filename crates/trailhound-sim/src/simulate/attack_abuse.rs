//! Attacks that abuse a credential directly: an attack tool's enumeration burst with a leaked key
//! followed by privilege escalation (`CreatePolicyVersion`, `PutRolePolicy`, `PassRole` through
//! `RunInstances`), and defence evasion with stolen instance credentials (`StopLogging`, `DeleteTrail`,
//! GuardDuty `DeleteDetector`).
use super::attack_ops::{
    act, begin, cred_key, stolen, Attacker, Cred, Op, ENUM, GET_CALLER_IDENTITY,
};
use super::attacks::{Plan, EVASION, OUTSIDE, PRIVESC, TOOL};
use super::calls::Svc;
use super::clients::{attacker, Client};
use super::clock;
use super::out::Out;
use super::world::World;

/// An attack tool's enumeration burst with a leaked key, then privilege escalation.
pub(crate) fn tool_privesc(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    ip: &str,
    network: &str,
    client: &'static Client,
) {
    let users: Vec<usize> = (0..w.org.users.len())
        .filter(|u| w.org.users[*u].name != "backup-agent")
        .collect();
    let Some(&u) = users.get(1).or(users.first()) else {
        return;
    };
    let acct = w.org.users[u].acct;
    let region = w.org.accounts[acct].regions[0];
    let (key, arn, uname) = (
        w.org.users[u].key.clone(),
        w.org.users[u].arn.clone(),
        w.org.users[u].name.clone(),
    );
    let desc = format!("A leaked key enumerated with an attack tool (`{}`) from {network}, then used to escalate privileges.", client.ua.split(' ').next().unwrap_or(""));
    let scen = begin(
        w, out, plan, acct, region, desc, &arn, None, &key, ip, network,
    );
    let a = Attacker {
        scen,
        ip: ip.to_string(),
        vpce: None,
        client,
    };
    let cred = Cred::User(u);
    let mut at = t;
    act(
        w,
        out,
        at,
        &cred,
        &a,
        Op::Api(&GET_CALLER_IDENTITY),
        acct,
        0,
        TOOL,
        "medium",
    );
    for _ in 0..w.rng.range(25, 50) {
        at += w.rng.range(0, 5);
        let op = &ENUM[w.rng.index(ENUM.len())];
        let deny = w.rng.chance(0.4);
        let reg = if op.svc == Svc::Iam { 0 } else { region };
        act(
            w,
            out,
            at,
            &cred,
            &a,
            Op::Call(op, deny),
            acct,
            reg,
            TOOL,
            "medium",
        );
    }
    let account = w.org.accounts[acct].id.clone();
    let env = w.org.accounts[acct].name.clone();
    let admin_doc = "{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Action\\\":\\\"*\\\",\\\"Resource\\\":\\\"*\\\"}]}";
    let mut date = String::new();
    clock::iam_date(&mut date, at + 30);
    let steps = [
        (Svc::Iam, "CreatePolicyVersion", format!("{{\"policyArn\":\"arn:aws:iam::{account}:policy/{uname}-tools\",\"policyDocument\":\"{admin_doc}\",\"setAsDefault\":true}}"), Some(format!("{{\"policyVersion\":{{\"versionId\":\"v4\",\"isDefaultVersion\":true,\"createDate\":\"{date}\"}}}}")), 0),
        (Svc::Iam, "PutRolePolicy", format!("{{\"roleName\":\"{env}-web-role\",\"policyName\":\"maintenance\",\"policyDocument\":\"{admin_doc}\"}}"), None, 0),
        (Svc::Ec2, "RunInstances", format!("{{\"instancesSet\":{{\"items\":[{{\"imageId\":\"ami-0{}\",\"minCount\":1,\"maxCount\":1}}]}},\"instanceType\":\"t3.micro\",\"blockDeviceMapping\":{{}},\"monitoring\":{{\"enabled\":false}},\"disableApiTermination\":false,\"disableApiStop\":false,\"iamInstanceProfile\":{{\"name\":\"{env}-jenkins-role\"}},\"ebsOptimized\":false}}", w.rng.hex::<16>().as_str()), Some(format!("{{\"requestId\":\"{}\",\"reservationId\":\"r-0{}\",\"ownerId\":\"{account}\",\"groupSet\":{{}},\"instancesSet\":{{\"items\":[{{\"instanceId\":\"i-0{}\",\"instanceState\":{{\"code\":0,\"name\":\"pending\"}},\"instanceType\":\"t3.micro\",\"launchTime\":{},\"iamInstanceProfile\":{{\"arn\":\"arn:aws:iam::{account}:instance-profile/{env}-jenkins-role\",\"id\":\"{}\"}}}}]}}}}", w.rng.uuid().as_str(), w.rng.hex::<16>().as_str(), w.rng.hex::<16>().as_str(), (at + 60) * 1000, w.rng.unique_id("AIPA", 0).as_str())), region),
    ];
    for (k, (svc, name, req, resp, reg)) in steps.iter().enumerate() {
        act(
            w,
            out,
            at + 30 + k as i64 * 20,
            &cred,
            &a,
            Op::Raw(*svc, name, false, Some(req), resp.as_deref()),
            acct,
            *reg,
            PRIVESC,
            "high",
        );
    }
}

/// Stolen instance credentials used from outside to blind the account: trails and GuardDuty.
pub(crate) fn evasion(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    i: usize,
    ip: &str,
    network: &str,
) {
    let cred = stolen(w, i, t, false);
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let (key, arn) = cred_key(&cred, w);
    let id = w.insts[i].id.clone();
    let desc = format!("Instance credentials (IMDSv2, taken with code execution) used from {network} to stop and delete the account's trail and GuardDuty detector.");
    let scen = begin(
        w,
        out,
        plan,
        acct,
        region,
        desc,
        &arn,
        Some(&id),
        &key,
        ip,
        network,
    );
    let a = Attacker {
        scen,
        ip: ip.to_string(),
        vpce: None,
        client: &attacker::VPS_BOTO3,
    };
    act(
        w,
        out,
        t,
        &cred,
        &a,
        Op::Api(&GET_CALLER_IDENTITY),
        acct,
        0,
        OUTSIDE,
        "high",
    );
    let account = w.org.accounts[acct].id.clone();
    let trail = format!(
        "arn:aws:cloudtrail:us-east-1:{account}:trail/{}-audit-trail",
        w.org.accounts[acct].name
    );
    let detector = w.rng.hex::<32>().as_str().to_string();
    let steps: [(Svc, &str, bool, String, usize); 5] = [
        (
            Svc::Cloudtrail,
            "DescribeTrails",
            true,
            "{\"includeShadowTrails\":false}".into(),
            0,
        ),
        (
            Svc::Cloudtrail,
            "StopLogging",
            false,
            format!("{{\"name\":\"{trail}\"}}"),
            0,
        ),
        (
            Svc::Cloudtrail,
            "DeleteTrail",
            false,
            format!("{{\"name\":\"{trail}\"}}"),
            0,
        ),
        (Svc::Guardduty, "ListDetectors", true, "{}".into(), region),
        (
            Svc::Guardduty,
            "DeleteDetector",
            false,
            format!("{{\"detectorId\":\"{detector}\"}}"),
            region,
        ),
    ];
    for (k, (svc, name, ro, req, reg)) in steps.iter().enumerate() {
        act(
            w,
            out,
            t + 40 + k as i64 * 15,
            &cred,
            &a,
            Op::Raw(*svc, name, *ro, Some(req), None),
            acct,
            *reg,
            EVASION,
            "high",
        );
    }
}
