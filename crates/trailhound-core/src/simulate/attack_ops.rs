//! What attackers do once they hold a credential: reconnaissance, SSRF-driven calls, role chains ending in
//! persistence (`CreateUser`, `CreateAccessKey`, `CreateLoginProfile`, `AttachUserPolicy`), an attack-tool
//! enumeration burst and privilege escalation (`CreatePolicyVersion`, `PutRolePolicy`, `PassRole` through
//! `RunInstances`), and defence evasion (`StopLogging`, `DeleteTrail`, `DeleteDetector`). Every event is
//! labelled with its scenario and the finding type SPEC §2 expects.
use super::attacks::{Plan, CHAINING, EVASION, OUTSIDE, PERSISTENCE, PRIVESC, SSRF, TOOL};
use super::calls::{Api, Ctx, Req, Svc};
use super::clients::{attacker, Client};
use super::clock;
use super::org::Kind;
use super::out::Out;
use super::record::{Rec, Who};
use super::services;
use super::session::Owned;
use super::truth::{Label, Scenario};
use super::world::{call, Call, World};

/// A credential in an attacker's hands.
pub(crate) enum Cred {
    /// A role session (stolen instance credentials carry `delivery`), with the stolen instance's id.
    Sess(Owned, Option<String>),
    /// An IAM user's leaked long-term key (user index).
    User(usize),
}

/// Where the attacker calls from and which scenario the events belong to.
pub(crate) struct Attacker {
    /// Scenario index in the ground truth.
    pub scen: usize,
    /// `sourceIPAddress`.
    pub ip: String,
    /// Endpoint id and its account, when calling through a VPC endpoint.
    pub vpce: Option<(String, String)>,
    /// The attacker's client.
    pub client: &'static Client,
}

/// One malicious operation.
pub(crate) enum Op<'a> {
    /// A catalogued call that succeeds.
    Api(&'a Api),
    /// A catalogued call, denied when the flag is set.
    Call(&'a Api, bool),
    /// A call with explicit parameters and response.
    Raw(Svc, &'a str, bool, Option<&'a str>, Option<&'a str>),
}

const fn api(svc: Svc, name: &'static str, req: &'static str) -> Api {
    Api {
        svc,
        name,
        ro: true,
        data: false,
        req: Req::Fixed(req),
    }
}

/// `sts:GetCallerIdentity`, the first call of every stolen credential.
pub(crate) static GET_CALLER_IDENTITY: Api = Api {
    svc: Svc::Sts,
    name: "GetCallerIdentity",
    ro: true,
    data: false,
    req: Req::Null,
};

/// Reconnaissance after a theft.
pub(crate) static RECON: [Api; 8] = [
    api(Svc::S3, "ListBuckets", "{\"Host\":\"s3.amazonaws.com\"}"),
    api(
        Svc::Ec2,
        "DescribeInstances",
        "{\"instancesSet\":{},\"filterSet\":{}}",
    ),
    api(Svc::Iam, "ListRoles", "{\"maxItems\":1000}"),
    api(Svc::Iam, "ListUsers", "{\"maxItems\":1000}"),
    api(Svc::Secrets, "ListSecrets", "{\"maxResults\":100}"),
    api(Svc::Ssm, "DescribeParameters", "{\"maxResults\":50}"),
    api(Svc::Lambda, "ListFunctions20150331", "{\"maxItems\":50}"),
    api(Svc::Dynamodb, "ListTables", "{\"limit\":100}"),
];

/// An attack tool's enumeration burst.
static ENUM: [Api; 12] = [
    api(
        Svc::Iam,
        "GetAccountAuthorizationDetails",
        "{\"filter\":[\"User\",\"Role\",\"Group\",\"LocalManagedPolicy\",\"AWSManagedPolicy\"]}",
    ),
    api(Svc::Iam, "ListUsers", "{}"),
    api(Svc::Iam, "ListRoles", "{}"),
    api(
        Svc::Iam,
        "ListPolicies",
        "{\"scope\":\"Local\",\"onlyAttached\":false}",
    ),
    api(
        Svc::Iam,
        "ListAttachedUserPolicies",
        "{\"userName\":\"self\"}",
    ),
    api(Svc::Iam, "ListGroups", "{}"),
    api(
        Svc::Ec2,
        "DescribeRegions",
        "{\"regionSet\":{},\"filterSet\":{}}",
    ),
    api(
        Svc::Ec2,
        "DescribeInstances",
        "{\"instancesSet\":{},\"filterSet\":{}}",
    ),
    api(
        Svc::Ec2,
        "DescribeSecurityGroups",
        "{\"securityGroupSet\":{},\"securityGroupIdSet\":{},\"filterSet\":{}}",
    ),
    api(Svc::Lambda, "ListFunctions20150331", "{}"),
    api(Svc::Secrets, "ListSecrets", "{}"),
    api(
        Svc::Cloudtrail,
        "DescribeTrails",
        "{\"includeShadowTrails\":true}",
    ),
];

/// Writes `op` by `cred` from `a` into account `acct`, region `region`, labelled `expected`/`severity`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn act(
    w: &mut World,
    out: &mut Out,
    t: i64,
    cred: &Cred,
    a: &Attacker,
    op: Op<'_>,
    acct: usize,
    region: usize,
    expected: &str,
    severity: &str,
) {
    let store;
    let (who, arn, key, instance) = match cred {
        Cred::Sess(s, inst) => {
            store = s.view();
            (
                Who::Role(&store),
                s.arn.as_str(),
                s.key.as_str(),
                inst.as_deref(),
            )
        }
        Cred::User(u) => {
            let u = &w.org.users[*u];
            (
                Who::User {
                    principal: &u.id,
                    arn: &u.arn,
                    account: &w.org.accounts[u.acct].id,
                    key: Some(&u.key),
                    name: &u.name,
                    console: None,
                },
                u.arn.as_str(),
                u.key.as_str(),
                None,
            )
        }
    };
    let label = Label {
        scenario: a.scen,
        expected,
        severity,
        credential: key,
        principal: arn,
        instance,
    };
    let account = &w.org.accounts[acct];
    let vpce = a.vpce.as_ref().map(|(i, a)| (i.as_str(), a.as_str()));
    match op {
        Op::Api(api) | Op::Call(api, _) => {
            let deny = matches!(op, Op::Call(_, true));
            let bucket = format!("{}-data-{}", account.name, &account.id[8..]);
            let ctx = Ctx {
                account: &account.id,
                region: World::region(region),
                env: &account.name,
                app: "data",
                instance: "",
                eni: "",
                bucket: &bucket,
                kms_key: "",
            };
            let c = Call {
                t,
                who,
                api,
                ctx,
                ip: &a.ip,
                vpce,
                client: a.client,
                acct,
                region,
                deny,
                arn,
            };
            call(
                &mut w.rng,
                &mut w.parts,
                &mut w.msg,
                &w.hosts,
                out,
                c,
                Some(&label),
            );
        }
        Op::Raw(svc, name, ro, req, resp) => {
            let event_id = w.rng.uuid();
            let rid = w.rng.uuid();
            let mut r = Rec::api(
                t,
                who,
                svc.source(),
                name,
                World::region(region),
                &a.ip,
                a.client.ua,
                &account.id,
                event_id.as_str(),
            );
            r.read_only = ro;
            r.request = req;
            r.response = resp;
            r.request_id = Some(rid.as_str());
            r.vpce = vpce;
            r.tls = Some((
                a.client.tls,
                a.client.cipher,
                w.hosts[svc.index() * super::addr::EC2.len() + region].as_str(),
            ));
            out.emit(&r, acct, region, Some(&label));
        }
    }
}

fn begin(
    w: &World,
    out: &mut Out,
    plan: &Plan,
    acct: usize,
    region: usize,
    description: String,
    victim: &str,
    instance: Option<&str>,
    credential: &str,
    a_ip: &str,
    network: &str,
) -> usize {
    out.truth.begin(Scenario {
        id: format!("S{:02}-{}", plan.n, super::attacks::KINDS[plan.kind]),
        kind: super::attacks::KINDS[plan.kind].to_string(),
        description,
        account_id: w.org.accounts[acct].id.clone(),
        region: World::region(region).to_string(),
        victim: victim.to_string(),
        instance_id: instance.map(str::to_string),
        credential: credential.to_string(),
        attacker_ip: a_ip.to_string(),
        attacker_network: network.to_string(),
        first_event_time: String::new(),
        last_event_time: String::new(),
        malicious_events: 0,
        expected: vec![],
    })
}

fn stolen(w: &World, i: usize, t: i64, v1: bool) -> Cred {
    let inst = &w.insts[i];
    let key = inst.key(t, v1).clone();
    Cred::Sess(
        inst.owned(&w.org, &key, if v1 { "1.0" } else { "2.0" }),
        Some(inst.id.clone()),
    )
}

fn cred_key(c: &Cred, w: &World) -> (String, String) {
    match c {
        Cred::Sess(s, _) => (s.key.clone(), s.arn.clone()),
        Cred::User(u) => (w.org.users[*u].key.clone(), w.org.users[*u].arn.clone()),
    }
}

/// SSRF: the application is made to fetch its IMDSv1 credentials and call AWS with them, from the
/// instance's own address, with a raw HTTP client's user agent.
pub(crate) fn ssrf(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    i: usize,
    client: &'static Client,
) {
    let cred = stolen(w, i, t, true);
    let g = &w.org.groups[w.insts[i].group];
    let (acct, region) = (g.acct, g.region);
    let (key, arn) = cred_key(&cred, w);
    let (ip0, _) = w.insts[i].egress(&w.org, Svc::Sts);
    let ip0 = ip0.to_string();
    let desc = format!(
        "SSRF in the application: IMDSv1 credentials used from the instance itself with `{}`.",
        client.ua
    );
    let scen = begin(
        w,
        out,
        plan,
        acct,
        region,
        desc,
        &arn,
        Some(&w.insts[i].id.clone()),
        &key,
        &ip0,
        "the instance's own address",
    );
    let mut at = t;
    for k in 0..w.rng.range(3, 7) {
        let op = if k == 0 {
            &GET_CALLER_IDENTITY
        } else {
            &RECON[w.rng.index(3)]
        };
        let (ip, vpce) = w.insts[i].egress(&w.org, op.svc);
        let a = Attacker {
            scen,
            ip: ip.to_string(),
            vpce: vpce.map(|v| (v.id.clone(), w.org.accounts[acct].id.clone())),
            client,
        };
        let reg = if op.svc == Svc::Iam { 0 } else { region };
        act(
            w,
            out,
            at,
            &cred,
            &a,
            Op::Api(op),
            acct,
            reg,
            SSRF,
            "medium",
        );
        at += w.rng.range(1, 30);
    }
}

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
        services::assume(
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
        cred = Cred::Sess(target, None);
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
