//! What attackers do once they hold a credential: reconnaissance, SSRF-driven calls, role chains ending in
//! persistence (`CreateUser`, `CreateAccessKey`, `CreateLoginProfile`, `AttachUserPolicy`), an attack-tool
//! enumeration burst and privilege escalation (`CreatePolicyVersion`, `PutRolePolicy`, `PassRole` through
//! `RunInstances`), and defence evasion (`StopLogging`, `DeleteTrail`, `DeleteDetector`). Every event is
//! labelled with its scenario and the finding type SPEC §2 expects.
use super::attacks::{Plan, SSRF};
use super::calls::{Api, Ctx, Req, Svc};
use super::clients::Client;
use super::out::Out;
use super::record::{Rec, Who};
use super::session::Owned;
use super::truth::{Label, Scenario};
use super::world::{call, Call, World};

/// A credential in an attacker's hands.
pub(crate) enum Cred {
    /// A role session (stolen instance credentials carry `delivery`), with the stolen instance's id.
    Sess(Box<Owned>, Option<String>),
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
pub(crate) static ENUM: [Api; 12] = [
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

#[allow(clippy::too_many_arguments)]
pub(crate) fn begin(
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

pub(crate) fn stolen(w: &World, i: usize, t: i64, v1: bool) -> Cred {
    let inst = &w.insts[i];
    let key = inst.key(t, v1).clone();
    Cred::Sess(
        Box::new(inst.owned(&w.org, &key, if v1 { "1.0" } else { "2.0" })),
        Some(inst.id.clone()),
    )
}

pub(crate) fn cred_key(c: &Cred, w: &World) -> (String, String) {
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
