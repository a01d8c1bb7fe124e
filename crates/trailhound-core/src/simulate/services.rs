//! Non-instance workloads and AWS acting on its own: Lambda functions and ECS tasks (roles assumed by
//! `lambda.amazonaws.com` / `ecs-tasks.amazonaws.com`), EKS pods (`AssumeRoleWithWebIdentity`), CI/CD
//! (GitHub Actions OIDC into shared services, then a cross-account deploy role: a legitimate depth-2
//! chain; Jenkins assuming deploy roles with its instance credentials), AWS Config and CloudTrail's
//! delivery role. Cross-account `AssumeRole` is written to both accounts, as CloudTrail does.
use super::addr;
use super::calls::{self, Api, Ctx, Svc};
use super::clients::{self, Client};
use super::org::{Kind, SPECS};
use super::out::Out;
use super::record::{Rec, RoleSession, Who};
use super::session::{self, Owned};
use super::truth::Label;
use super::world::{call, Actor, Call, Sched, World};

/// What a service slot simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SvcKind {
    /// A Lambda function.
    Lambda,
    /// An ECS service's tasks.
    Ecs,
    /// An EKS service account (IRSA).
    Pod,
    /// GitHub Actions deploying through shared services.
    GitHub,
    /// Jenkins deploying with its instance role.
    Jenkins,
    /// AWS Config's recorder.
    Config,
}

/// One service workload's state.
pub(crate) struct Slot {
    /// Account (index).
    pub acct: usize,
    /// Region (index).
    pub region: usize,
    /// Kind.
    pub kind: SvcKind,
    /// Its role (index), if it has one.
    pub role: usize,
    /// Function, service or service-account name.
    pub name: String,
    /// Current session and when it must be renewed.
    pub sess: Option<(Owned, i64)>,
    /// Units per hour (invocations, task batches, pipeline runs).
    pub rate: f64,
}

/// The service slots of an organisation.
pub(crate) fn slots(w: &World) -> Vec<Slot> {
    let mut out = vec![];
    for (ai, a) in w.org.accounts.iter().enumerate() {
        let region = a.regions[0];
        let env = &a.name;
        let role = |name: &str| w.org.role(ai, name);
        let mut add = |kind, role: Option<usize>, name: String, rate: f64| {
            if let Some(role) = role {
                out.push(Slot {
                    acct: ai,
                    region,
                    kind,
                    role,
                    name,
                    sess: None,
                    rate,
                });
            }
        };
        add(
            SvcKind::Config,
            role("AWSServiceRoleForConfig"),
            "AWSConfig-Describe".into(),
            6.0,
        );
        match a.kind {
            Kind::Management => {}
            Kind::Shared => {
                add(
                    SvcKind::GitHub,
                    role("github-actions-deployer"),
                    "GitHubActions".into(),
                    1.5,
                );
                add(SvcKind::Jenkins, Some(0), "jenkins".into(), 1.0);
            }
            _ => {
                add(
                    SvcKind::Lambda,
                    role(&format!("{env}-thumbnailer-lambda-role")),
                    format!("{env}-thumbnailer"),
                    40.0,
                );
                add(
                    SvcKind::Lambda,
                    role(&format!("{env}-report-lambda-role")),
                    format!("{env}-report"),
                    6.0,
                );
                add(
                    SvcKind::Ecs,
                    role(&format!("{env}-api-task-role")),
                    format!("{env}-api"),
                    30.0,
                );
                if a.kind == Kind::Prod
                    && w.org
                        .groups
                        .iter()
                        .any(|g| g.acct == ai && SPECS[g.spec].app == "eks-node")
                {
                    add(
                        SvcKind::Pod,
                        role(&format!("{env}-payments-irsa")),
                        "payments:payments-api".into(),
                        30.0,
                    );
                    add(
                        SvcKind::Pod,
                        role(&format!("{env}-orders-irsa")),
                        "orders:orders-worker".into(),
                        20.0,
                    );
                }
            }
        }
    }
    out
}

/// An `AssumeRole` call by `caller` (in account `from`) issuing `target`, written to the caller's account
/// and, when the role is in another account, to the role owner's too (same `requestID` and
/// `sharedEventID`, `userIdentity.type` `AWSAccount`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn assume(
    w: &mut World,
    out: &mut Out,
    t: i64,
    caller: &Who<'_>,
    from: usize,
    target: &Owned,
    to: usize,
    ip: &str,
    client: &Client,
    label: Option<&Label<'_>>,
) {
    let (principal, caller_account) = match caller {
        Who::Role(s) => (s.principal, s.account),
        Who::User {
            principal, account, ..
        } => (*principal, *account),
        _ => ("", ""),
    };
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        target.role_arn, target.name
    );
    let mut resp = String::with_capacity(900);
    session::credentials(
        &mut resp,
        &mut w.rng,
        &target.key,
        t,
        3600,
        Some((&target.principal, &target.arn)),
    );
    let mut res = String::new();
    session::role_resource(&mut res, &target.account, &target.role_arn);
    let rid = w.rng.uuid();
    let shared = w.rng.uuid();
    let host = w.host(Svc::Sts, 0).to_string();
    for (k, acct) in [from, to].into_iter().enumerate() {
        if k == 1 && to == from {
            break;
        }
        let event_id = w.rng.uuid();
        let who = if k == 0 {
            caller.clone()
        } else {
            Who::Account {
                principal,
                account: caller_account,
            }
        };
        let mut r = Rec::api(
            t,
            who,
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            ip,
            client.ua,
            &w.org.accounts[acct].id,
            event_id.as_str(),
        );
        r.request = Some(&req);
        r.response = Some(&resp);
        r.resources = Some(&res);
        r.request_id = Some(rid.as_str());
        if to != from {
            r.shared_id = Some(shared.as_str());
        }
        if !client.tls.is_empty() {
            r.tls = Some((client.tls, client.cipher, &host));
        }
        out.emit(&r, acct, 0, label);
    }
}

/// A web-identity `AssumeRoleWithWebIdentity` issuing `sess` for `subject` from `provider`.
#[allow(clippy::too_many_arguments)]
fn web_identity(
    w: &mut World,
    out: &mut Out,
    t: i64,
    sess: &Owned,
    acct: usize,
    region: usize,
    provider: &str,
    subject: &str,
    ip: &str,
    client: &Client,
) {
    let principal = format!("{provider}:sts.amazonaws.com:{subject}");
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        sess.role_arn, sess.name
    );
    let mut creds = String::with_capacity(900);
    session::credentials(
        &mut creds,
        &mut w.rng,
        &sess.key,
        t,
        3600,
        Some((&sess.principal, &sess.arn)),
    );
    let resp = format!("{},\"subjectFromWebIdentityToken\":\"{subject}\",\"provider\":\"{provider}\",\"audience\":\"sts.amazonaws.com\"}}", &creds[..creds.len() - 1]);
    let mut res = String::new();
    session::role_resource(&mut res, &sess.account, &sess.role_arn);
    let (event_id, rid) = (w.rng.uuid(), w.rng.uuid());
    let host = w.host(Svc::Sts, region).to_string();
    let who = Who::WebId {
        principal: &principal,
        name: subject,
        provider,
    };
    let mut r = Rec::api(
        t,
        who,
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        World::region(region),
        ip,
        client.ua,
        &sess.account,
        event_id.as_str(),
    );
    r.request = Some(&req);
    r.response = Some(&resp);
    r.resources = Some(&res);
    r.request_id = Some(rid.as_str());
    r.tls = Some((client.tls, client.cipher, &host));
    out.emit(&r, acct, region, None);
}

/// A service's own `AssumeRole` (`lambda.amazonaws.com`, `ecs-tasks.amazonaws.com`, …) issuing `sess`.
fn service_assume(
    w: &mut World,
    out: &mut Out,
    t: i64,
    sess: &Owned,
    acct: usize,
    region: usize,
    service: &str,
) {
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        sess.role_arn, sess.name
    );
    let mut resp = String::with_capacity(900);
    session::credentials(
        &mut resp,
        &mut w.rng,
        &sess.key,
        t,
        3600 * 6,
        Some((&sess.principal, &sess.arn)),
    );
    let mut res = String::new();
    session::role_resource(&mut res, &sess.account, &sess.role_arn);
    let (event_id, rid, shared) = (w.rng.uuid(), w.rng.uuid(), w.rng.uuid());
    let mut r = Rec::api(
        t,
        Who::Service(service),
        "sts.amazonaws.com",
        "AssumeRole",
        World::region(region),
        service,
        service,
        &sess.account,
        event_id.as_str(),
    );
    r.request = Some(&req);
    r.response = Some(&resp);
    r.resources = Some(&res);
    r.request_id = Some(rid.as_str());
    r.shared_id = Some(shared.as_str());
    out.emit(&r, acct, region, None);
}

/// Makes `n` calls from `table` with session `sess`, spaced a few seconds apart from `t`.
#[allow(clippy::too_many_arguments)]
fn calls_with(
    w: &mut World,
    out: &mut Out,
    t: i64,
    sess: &RoleSession<'_>,
    acct: usize,
    region: usize,
    ip: &str,
    client: &Client,
    table: &'static [(u32, Api)],
    n: i64,
    app: &str,
) -> i64 {
    let mut at = t;
    for _ in 0..n {
        at += w.rng.range(0, 4);
        let mut weights = [0u32; 16];
        for (k, (wt, _)) in table.iter().enumerate().take(16) {
            weights[k] = *wt;
        }
        let api = &table[w.rng.weighted(&weights[..table.len().min(16)])].1;
        let a = &w.org.accounts[acct];
        let bucket = format!("{}-{app}-{}", a.name, &a.id[8..]);
        let kms = format!("{}-{app}", a.id);
        let ctx = Ctx {
            account: &a.id,
            region: World::region(region),
            env: &a.name,
            app,
            instance: "",
            eni: "",
            bucket: &bucket,
            kms_key: &kms,
        };
        let deny = w.rng.chance(0.005);
        let c = Call {
            t: at,
            who: Who::Role(sess),
            api,
            ctx,
            ip,
            vpce: None,
            client,
            acct,
            region,
            deny,
            arn: sess.arn,
        };
        call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    }
    at
}

/// The NAT egress of account `acct`'s network in `region` (containers and pods leave through it).
fn nat_ip(w: &World, acct: usize, region: usize) -> Option<String> {
    let net = w
        .org
        .nets
        .iter()
        .find(|n| n.acct == acct && n.region == region)?;
    net.nats.first().map(|n| n.eip.clone())
}

/// One unit of work of service slot `i`, then the next.
pub(crate) fn fire(
    w: &mut World,
    out: &mut Out,
    s: &mut Sched,
    t: i64,
    i: usize,
    slots: &mut [Slot],
) {
    let slot = &mut slots[i];
    let (acct, region, kind, role) = (slot.acct, slot.region, slot.kind, slot.role);
    let expired = slot.sess.as_ref().is_none_or(|(_, until)| t >= *until);
    match kind {
        SvcKind::Lambda | SvcKind::Ecs | SvcKind::Pod => {
            let egress = match kind {
                SvcKind::Lambda => None,
                _ => nat_ip(w, acct, region),
            };
            if expired {
                let name = match kind {
                    SvcKind::Lambda => slot.name.clone(),
                    SvcKind::Ecs => w.rng.hex::<32>().as_str().to_string(),
                    _ => format!("aws-sdk-java-{}", t * 1000 + w.rng.range(0, 999)),
                };
                let mut sess = Owned::new(&w.org, &mut w.rng, role, &name, t);
                let until = match kind {
                    SvcKind::Lambda => {
                        service_assume(w, out, t, &sess, acct, region, "lambda.amazonaws.com");
                        t + w.rng.range(1800, 6 * 3600)
                    }
                    SvcKind::Ecs => {
                        service_assume(w, out, t, &sess, acct, region, "ecs-tasks.amazonaws.com");
                        t + w.rng.range(3 * 3600, 12 * 3600)
                    }
                    _ => {
                        let a = &w.org.accounts[acct];
                        let oidc = format!(
                            "oidc.eks.{}.amazonaws.com/id/{}",
                            World::region(region),
                            &a.id[..8]
                        );
                        let provider = format!("arn:aws:iam::{}:oidc-provider/{oidc}", a.id);
                        let (ns, sa) = slot.name.split_once(':').unwrap_or(("default", "default"));
                        let subject = format!("system:serviceaccount:{ns}:{sa}");
                        let ip = egress.clone().unwrap_or_default();
                        sess.web_provider = Some(oidc.clone());
                        web_identity(
                            w,
                            out,
                            t,
                            &sess,
                            acct,
                            region,
                            &provider,
                            &subject,
                            &ip,
                            &clients::EKS_POD,
                        );
                        t + 3000
                    }
                };
                slots[i].sess = Some((sess, until));
            }
            let Some((sess, _)) = slots[i].sess.as_ref() else {
                return;
            };
            let ip = egress.unwrap_or_else(|| addr::ec2(&mut w.rng, region).to_string());
            let client = match kind {
                SvcKind::Lambda => &clients::LAMBDA_PY,
                SvcKind::Ecs => &clients::ECS_NODE,
                _ => &clients::EKS_POD,
            };
            let n = w.rng.range(1, 5);
            let app = slots[i]
                .name
                .split(':')
                .next_back()
                .unwrap_or("app")
                .to_string();
            calls_with(
                w,
                out,
                t,
                &sess.view(),
                acct,
                region,
                &ip,
                client,
                calls::SERVERLESS,
                n,
                &app,
            );
        }
        SvcKind::GitHub => github(w, out, t, acct, role),
        SvcKind::Jenkins => jenkins(w, out, t, acct),
        SvcKind::Config => {
            if expired {
                let mut sess = Owned::new(&w.org, &mut w.rng, role, &slot.name, t);
                sess.key.clear();
                slots[i].sess = Some((sess, t + 6 * 3600));
            }
            let Some((sess, _)) = slots[i].sess.as_ref() else {
                return;
            };
            let mut v = sess.view();
            v.invoked_by = Some("config.amazonaws.com");
            let n = w.rng.range(1, 4);
            calls_with(
                w,
                out,
                t,
                &v,
                acct,
                region,
                "config.amazonaws.com",
                &clients::CONFIG,
                CONFIG_CALLS,
                n,
                "config",
            );
        }
    }
    let next = t + w.wait(t, region, slots[i].rate);
    s.at(next, Actor::Service(i));
}

static CONFIG_CALLS: &[(u32, Api)] = &[
    (
        4,
        Api {
            svc: Svc::Ec2,
            name: "DescribeInstances",
            ro: true,
            data: false,
            req: calls::Req::Fixed("{\"instancesSet\":{},\"filterSet\":{}}"),
        },
    ),
    (
        2,
        Api {
            svc: Svc::Ec2,
            name: "DescribeSecurityGroups",
            ro: true,
            data: false,
            req: calls::Req::Fixed(
                "{\"securityGroupSet\":{},\"securityGroupIdSet\":{},\"filterSet\":{}}",
            ),
        },
    ),
    (
        1,
        Api {
            svc: Svc::Iam,
            name: "GetAccountAuthorizationDetails",
            ro: true,
            data: false,
            req: calls::Req::Fixed(
                "{\"filter\":[\"User\",\"Role\",\"Group\",\"LocalManagedPolicy\"]}",
            ),
        },
    ),
];

/// A GitHub Actions pipeline run: OIDC into `github-actions-deployer`, then `ci-deploy` in a member.
fn github(w: &mut World, out: &mut Out, t: i64, shared: usize, deployer: usize) {
    let (ip, ..) = addr::cloud(&mut w.rng, addr::GITHUB_RUNNERS);
    let ip = ip.to_string();
    let a_id = w.org.accounts[shared].id.clone();
    let provider = format!("arn:aws:iam::{a_id}:oidc-provider/token.actions.githubusercontent.com");
    let subject = "repo:hound-corp/platform:ref:refs/heads/main";
    let mut sess = Owned::new(&w.org, &mut w.rng, deployer, "GitHubActions", t);
    sess.web_provider = Some("token.actions.githubusercontent.com".into());
    web_identity(
        w,
        out,
        t,
        &sess,
        shared,
        0,
        &provider,
        subject,
        &ip,
        &clients::GHA_CREDS,
    );
    deploy(w, out, t + 8, &sess, shared, &ip, &clients::GHA_CLI);
}

/// Jenkins assuming a member's `ci-deploy` role with its own instance credentials, from its own address.
fn jenkins(w: &mut World, out: &mut Out, t: i64, shared: usize) {
    let Some(g) = w
        .org
        .groups
        .iter()
        .position(|g| g.acct == shared && SPECS[g.spec].app == "jenkins")
    else {
        return;
    };
    let Some(&i) = w.live[g].first() else { return };
    let inst = &w.insts[i];
    if !inst.running || t < inst.quiet_until {
        return;
    }
    let key = inst.key(t, false).clone();
    let (ip, _) = inst.egress(&w.org, Svc::Sts);
    let ip = ip.to_string();
    let caller = inst.owned(&w.org, &key, "2.0");
    deploy_as(
        w,
        out,
        t,
        &caller,
        Some("2.0"),
        shared,
        &ip,
        &clients::JAVA1,
    );
}

fn deploy(
    w: &mut World,
    out: &mut Out,
    t: i64,
    caller: &Owned,
    from: usize,
    ip: &str,
    client: &'static Client,
) {
    deploy_as(w, out, t, caller, None, from, ip, client);
}

#[allow(clippy::too_many_arguments)]
fn deploy_as(
    w: &mut World,
    out: &mut Out,
    t: i64,
    caller: &Owned,
    delivery: Option<&'static str>,
    from: usize,
    ip: &str,
    client: &'static Client,
) {
    let members: Vec<usize> = (0..w.org.accounts.len())
        .filter(|a| !matches!(w.org.accounts[*a].kind, Kind::Management | Kind::Shared))
        .collect();
    if members.is_empty() {
        return;
    }
    let to = members[w.rng.index(members.len())];
    let Some(role) = w.org.role(to, "ci-deploy") else {
        return;
    };
    let run = w.rng.range(1_000_000, 9_999_999);
    let target = Owned::new(&w.org, &mut w.rng, role, &format!("deploy-{run}"), t);
    let mut v = caller.view();
    v.delivery = delivery;
    assume(
        w,
        out,
        t,
        &Who::Role(&v),
        from,
        &target,
        to,
        ip,
        client,
        None,
    );
    let region = w.org.accounts[to].regions[0];
    let n = w.rng.range(3, 10);
    calls_with(
        w,
        out,
        t + 3,
        &target.view(),
        to,
        region,
        ip,
        client,
        calls::CI,
        n,
        "deploy",
    );
}
