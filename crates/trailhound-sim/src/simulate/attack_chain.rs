//! Role chains: stolen instance credentials or a leaked long-term key used to assume roles across the
//! organisation's accounts (2–4 hops), then persistence in the last account: `CreateUser`,
//! `CreateAccessKey`, `CreateLoginProfile`, `AttachUserPolicy`.
use super::attack_ops::{
    act, begin, cred_key, stolen, Attacker, Cred, Op, GET_CALLER_IDENTITY, RECON,
};
use super::attacks::{Plan, CHAINING, OUTSIDE, PERSISTENCE};
use super::calls::Svc;
use super::clients::attacker;
use super::clock;
use super::org::Kind;
use super::out::Out;
use super::record::Who;
use super::session::Owned;
use super::truth::Label;
use super::world::World;

/// Roles a chain can hop through in account `acct`.
fn hop_role(w: &World, acct: usize, k: usize) -> Option<usize> {
    let names = [
        "ops-automation",
        "OrganizationAccountAccessRole",
        "security-audit",
        "ci-deploy",
    ];
    names
        .iter()
        .cycle()
        .skip(k)
        .take(4)
        .find_map(|n| w.org.role(acct, n))
}

/// Hops `depth` times from `cred` (in account `from`), through other member accounts, then does what the
/// last session came for: reconnaissance and persistence. The first hop of stolen instance credentials
/// is labelled as their exfiltration.
#[allow(clippy::too_many_arguments)]
fn chain(
    w: &mut World,
    out: &mut Out,
    mut t: i64,
    mut cred: Cred,
    mut from: usize,
    a: &Attacker,
    depth: usize,
    first_label: (&str, &str),
) {
    let severity = if depth >= 3 { "high" } else { "medium" };
    let members: Vec<usize> = (0..w.org.accounts.len())
        .filter(|x| w.org.accounts[*x].kind != Kind::Management)
        .collect();
    for k in 1..=depth {
        let to = if k == 1 {
            from
        } else {
            members[(from + k) % members.len()]
        };
        let Some(role) = hop_role(w, to, k) else {
            return;
        };
        let name = ["sync", "maintenance", "audit", "admin"][k % 4];
        let session_name = format!("{name}-{}", w.rng.hex::<6>().as_str());
        let target = Owned::new(&w.org, &mut w.rng, role, &session_name, t);
        let (exp, sev) = if k == 1 {
            first_label
        } else {
            (CHAINING, severity)
        };
        let (key, arn) = cred_key(&cred, w);
        let instance = match &cred {
            Cred::Sess(_, i) => i.clone(),
            _ => None,
        };
        let label = Label {
            scenario: a.scen,
            expected: exp,
            severity: sev,
            credential: &key,
            principal: &arn,
            instance: instance.as_deref(),
        };
        let store;
        let user_strings;
        let who = match &cred {
            Cred::Sess(s, _) => {
                store = s.view();
                Who::Role(&store)
            }
            Cred::User(u) => {
                let u = &w.org.users[*u];
                user_strings = [
                    u.id.clone(),
                    u.arn.clone(),
                    w.org.accounts[u.acct].id.clone(),
                    u.key.clone(),
                    u.name.clone(),
                ];
                let [id, arn, account, key, name] = &user_strings;
                Who::User {
                    principal: id,
                    arn,
                    account,
                    key: Some(key),
                    name,
                    console: None,
                }
            }
        };
        super::sts::assume(
            w,
            out,
            t,
            &who,
            from,
            &target,
            to,
            &a.ip,
            a.client,
            Some(&label),
        );
        t += w.rng.range(5, 90);
        cred = Cred::Sess(Box::new(target), None);
        from = to;
    }
    act(
        w,
        out,
        t,
        &cred,
        a,
        Op::Api(&GET_CALLER_IDENTITY),
        from,
        0,
        CHAINING,
        severity,
    );
    act(
        w,
        out,
        t + 4,
        &cred,
        a,
        Op::Api(&RECON[3]),
        from,
        0,
        CHAINING,
        severity,
    );
    let later = t + w.rng.range(20, 120);
    persistence(w, out, later, &cred, a, from);
}

/// `CreateUser`, `CreateAccessKey`, `CreateLoginProfile`, `AttachUserPolicy` in account `acct`.
fn persistence(w: &mut World, out: &mut Out, t: i64, cred: &Cred, a: &Attacker, acct: usize) {
    let account = w.org.accounts[acct].id.clone();
    let num = w.org.accounts[acct].num;
    let user = ["svc-backup-sync", "aws-support-ops", "terraform-ci2"][w.rng.index(3)];
    let mut date = String::new();
    clock::iam_date(&mut date, t);
    let uid = w.rng.unique_id("AIDA", num);
    let key = w.rng.aws_key("AKIA", num);
    let steps: [(&str, String, Option<String>); 4] = [
        ("CreateUser", format!("{{\"userName\":\"{user}\",\"path\":\"/\"}}"), Some(format!("{{\"user\":{{\"path\":\"/\",\"userName\":\"{user}\",\"userId\":\"{}\",\"arn\":\"arn:aws:iam::{account}:user/{user}\",\"createDate\":\"{date}\"}}}}", uid.as_str()))),
        ("CreateAccessKey", format!("{{\"userName\":\"{user}\"}}"), Some(format!("{{\"accessKey\":{{\"accessKeyId\":\"{}\",\"status\":\"Active\",\"userName\":\"{user}\",\"createDate\":\"{date}\"}}}}", key.as_str()))),
        ("CreateLoginProfile", format!("{{\"userName\":\"{user}\",\"passwordResetRequired\":false}}"), Some(format!("{{\"loginProfile\":{{\"userName\":\"{user}\",\"createDate\":\"{date}\",\"passwordResetRequired\":false}}}}"))),
        ("AttachUserPolicy", format!("{{\"userName\":\"{user}\",\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}}"), None),
    ];
    for (k, (name, req, resp)) in steps.iter().enumerate() {
        act(
            w,
            out,
            t + k as i64 * 2,
            cred,
            a,
            Op::Raw(Svc::Iam, name, false, Some(req), resp.as_deref()),
            acct,
            0,
            PERSISTENCE,
            "high",
        );
    }
}

/// Stolen instance credentials used from another cloud to climb a role chain of `depth` hops.
#[allow(clippy::too_many_arguments)]
pub(crate) fn chain_from_instance(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    i: usize,
    ip: &str,
    network: &str,
    depth: usize,
) {
    let cred = stolen(w, i, t, true);
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let (key, arn) = cred_key(&cred, w);
    let id = w.insts[i].id.clone();
    let desc = format!("Instance credentials used from {network} to assume a chain of {depth} roles across accounts, ending in a new administrator user.");
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
    chain(w, out, t + 20, cred, acct, &a, depth, (OUTSIDE, "high"));
}

/// A developer's leaked long-term key used to climb a role chain of `depth` hops.
pub(crate) fn chain_from_key(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    ip: &str,
    network: &str,
    depth: usize,
) {
    let users: Vec<usize> = (0..w.org.users.len())
        .filter(|u| w.org.users[*u].name != "backup-agent")
        .collect();
    let Some(&u) = users.first() else { return };
    let acct = w.org.users[u].acct;
    let severity = if depth >= 3 { "high" } else { "medium" };
    let desc = format!("A developer's leaked access key used from {network} to assume a chain of {depth} roles, ending in a new administrator user.");
    let (key, arn) = (w.org.users[u].key.clone(), w.org.users[u].arn.clone());
    let scen = begin(w, out, plan, acct, 0, desc, &arn, None, &key, ip, network);
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
        &Cred::User(u),
        &a,
        Op::Api(&GET_CALLER_IDENTITY),
        acct,
        0,
        CHAINING,
        severity,
    );
    chain(
        w,
        out,
        t + 30,
        Cred::User(u),
        acct,
        &a,
        depth,
        (CHAINING, severity),
    );
}
