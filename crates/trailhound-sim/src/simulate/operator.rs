//! People reaching into instances — Session Manager (`ssm:StartSession`), Run Command
//! (`ssm:SendCommand`, `AWS-RunShellScript`) and EC2 Instance Connect (`SendSSHPublicKey`) — and what
//! follows: on a bastion, the bastion's own role used from the bastion's own address (benign); in the
//! `operator-copies-credentials` scenario, the instance's current key used from the person's address.
//!
//! Shapes (`docs/cloudtrail-record-shapes.md` §11): `StartSession` requests name the `target` and the
//! response carries `sessionId` (`<session name>-<hex>`), a hidden `tokenValue` and the `streamUrl`;
//! `SendCommand` names `instanceIds`, `documentName` and hides `parameters`; `SendSSHPublicKey` names
//! `instanceId`, `instanceOSUser`, `sSHPublicKey` and answers `success`.
use super::attack_ops::{self as ops, Attacker, Op};
use super::attacks::Plan;
use super::calls::{Api, Svc};
use super::clients::{self, Client};
use super::ec2::{self, By, Caller};
use super::out::Out;
use super::profiles;
use super::record::Rec;
use super::world::{Actor, Sched, World};

/// `InstanceCredentialExfiltration.CopiedByOperator`.
pub(crate) const COPIED: &str = "InstanceCredentialExfiltration.CopiedByOperator";

/// How a person reaches into an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// `ssm:StartSession`.
    Session,
    /// `ssm:SendCommand` with `AWS-RunShellScript`.
    Command,
    /// `ec2-instance-connect:SendSSHPublicKey`.
    Ssh,
}

/// Writes `caller`'s reach into instance `i` at `t` from `ip` with `client`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reach(
    w: &mut World,
    out: &mut Out,
    t: i64,
    i: usize,
    caller: &Caller,
    ip: &str,
    client: &Client,
    how: Reach,
) {
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let rname = World::region(region);
    let id = w.insts[i].id.clone();
    let event_id = w.rng.uuid();
    let rid = w.rng.uuid();
    let hex = w.rng.hex::<17>();
    let key = w.rng.b64::<43>();
    let command = w.rng.uuid();
    let session_name = match caller {
        Caller::Session(s, _) => s.name.clone(),
        Caller::User(u) => w.org.users[*u].name.clone(),
    };
    let (source, name, host, req, resp) = match how {
        Reach::Session => {
            let sid = format!("{session_name}-{}", hex.as_str());
            (
                "ssm.amazonaws.com",
                "StartSession",
                format!("ssm.{rname}.amazonaws.com"),
                format!("{{\"target\":\"{id}\"}}"),
                format!("{{\"sessionId\":\"{sid}\",\"tokenValue\":\"Value hidden due to security reasons.\",\"streamUrl\":\"wss://ssmmessages.{rname}.amazonaws.com/v1/data-channel/{sid}?role=publish_subscribe\"}}"),
            )
        }
        Reach::Command => (
            "ssm.amazonaws.com",
            "SendCommand",
            format!("ssm.{rname}.amazonaws.com"),
            format!("{{\"instanceIds\":[\"{id}\"],\"documentName\":\"AWS-RunShellScript\",\"parameters\":\"HIDDEN_DUE_TO_SECURITY_REASONS\",\"interactive\":false}}"),
            format!("{{\"command\":{{\"commandId\":\"{}\",\"documentName\":\"AWS-RunShellScript\",\"documentVersion\":\"$DEFAULT\",\"comment\":\"\",\"parameters\":\"HIDDEN_DUE_TO_SECURITY_REASONS\",\"instanceIds\":[\"{id}\"],\"targets\":[],\"status\":\"Pending\",\"statusDetails\":\"Pending\",\"outputS3Region\":\"{rname}\",\"maxConcurrency\":\"50\",\"maxErrors\":\"0\",\"targetCount\":1,\"completedCount\":0,\"errorCount\":0,\"deliveryTimedOutCount\":0,\"timeoutSeconds\":3600}}}}", command.as_str()),
        ),
        Reach::Ssh => (
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey",
            format!("ec2-instance-connect.{rname}.amazonaws.com"),
            format!("{{\"instanceId\":\"{id}\",\"instanceOSUser\":\"ec2-user\",\"sSHPublicKey\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5{}\"}}", key.as_str()),
            format!("{{\"requestId\":\"{}\",\"success\":true}}", rid.as_str()),
        ),
    };
    ec2::with_who(w, caller, |who, _| {
        let mut r = Rec::api(
            t,
            who,
            source,
            name,
            rname,
            ip,
            client.ua,
            &w.org.accounts[acct].id,
            event_id.as_str(),
        );
        r.read_only = false;
        r.request = Some(&req);
        r.response = Some(&resp);
        r.request_id = Some(rid.as_str());
        r.tls = Some((client.tls, client.cipher, &host));
        out.emit(&r, acct, region, None);
    });
}

/// People working on a bastion: a Session Manager session from their office, then the bastion's CLI
/// with the bastion's own role, from the bastion's own address (benign `bastion`).
pub(crate) fn bastion(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, group: usize) {
    let acct = w.org.groups[group].acct;
    let region = w.org.accounts[acct].regions[0];
    let wait = super::people::until_work(t, region);
    let i = w.live[group].first().copied();
    let ready = i.is_some_and(|i| w.insts[i].running && w.insts[i].quiet_until + 600 < t);
    if wait > 0 || !ready {
        s.at(
            t + wait.max(1800) + w.rng.range(0, 3600),
            Actor::Bastion { group },
        );
        return;
    }
    let Some(i) = i else { return };
    let (caller, ip, _) = ec2::resolve(w, acct, By::Admin, t);
    out.capture();
    reach(
        w,
        out,
        t,
        i,
        &caller,
        &ip,
        &clients::DESKTOP_CLI[0],
        Reach::Session,
    );
    let mut at = t + w.rng.range(20, 120);
    let mut from = String::new();
    for _ in 0..w.rng.range(1, 6) {
        let api = &profiles::UTILITY[w.rng.index(profiles::UTILITY.len())].1;
        let (src, _) = w.insts[i].egress(&w.org, api.svc);
        from = src.to_string();
        super::procs::instance_call_as(w, out, at, i, api, &clients::CLI_INSTANCE, &from);
        at += w.rng.range(5, 200);
    }
    let ids = out.take_capture();
    let key = w.insts[i].key(t, false).id.clone();
    let iid = w.insts[i].id.clone();
    out.benign("bastion", ids, Some(&iid), &key, &from, None, t);
    s.at(t + w.rng.range(3600, 4 * 3600), Actor::Bastion { group });
}

/// The `operator-copies-credentials` scenario: a person reaches into instance `i`, copies its role
/// credentials and uses them minutes later from where they work — outside AWS (variant even) or a
/// cloud desktop on EC2 in the instance's region (variant odd).
pub(crate) fn copies(w: &mut World, out: &mut Out, t: i64, plan: &Plan, i: usize) {
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let by = if plan.variant.is_multiple_of(3) {
        By::Owner
    } else {
        By::Admin
    };
    let (caller, home_ip, _) = ec2::resolve(w, acct, by, t);
    let desktop = plan.variant % 2 == 1;
    let (ip, network, client) = if desktop {
        (
            super::addr::ec2(&mut w.rng, region).to_string(),
            format!(
                "a cloud desktop on EC2 in {} (the operator's workstation)",
                World::region(region)
            ),
            &clients::DESKTOP_CLI[2],
        )
    } else {
        (
            home_ip,
            "the operator's own address outside AWS".to_string(),
            &clients::DESKTOP_CLI[0],
        )
    };
    let how = [Reach::Session, Reach::Command, Reach::Ssh][(plan.variant / 2 % 3) as usize];
    reach(w, out, t, i, &caller, &ip, client, how);
    let at = t + w.rng.range(120, 1500);
    let cred = ops::stolen(w, i, at, false);
    let (key, arn) = ops::cred_key(&cred, w);
    let who = ec2::with_who(w, &caller, |_, arn| arn.to_string());
    let desc = format!(
        "{who} reached into the instance ({how:?}) and used its role credentials minutes later from {network}."
    );
    let iid = w.insts[i].id.clone();
    let scen = ops::begin(
        w,
        out,
        plan,
        acct,
        region,
        desc,
        &arn,
        Some(&iid),
        &key,
        &ip,
        &network,
    );
    let a = Attacker {
        scen,
        ip: ip.clone(),
        vpce: None,
        client,
    };
    let mut at = at;
    ops::act(
        w,
        out,
        at,
        &cred,
        &a,
        Op::Api(&ops::GET_CALLER_IDENTITY),
        acct,
        0,
        COPIED,
        "high",
    );
    for _ in 0..w.rng.range(2, 7) {
        at += w.rng.range(5, 120);
        let op: &Api = &ops::RECON[w.rng.index(ops::RECON.len())];
        let reg = if op.svc == Svc::Iam { 0 } else { region };
        ops::act(
            w,
            out,
            at,
            &cred,
            &a,
            Op::Call(op, false),
            acct,
            reg,
            COPIED,
            "high",
        );
    }
}
