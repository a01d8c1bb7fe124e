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
use super::profiles;
use super::record::{RoleSession, Who};
use super::session::Owned;
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
    /// A pipeline's member account (GitHub Actions; index) and its period in working hours (seconds).
    pub pipeline: Option<(usize, i64)>,
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
                    pipeline: None,
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
                add(SvcKind::Jenkins, Some(0), "jenkins".into(), 1.0);
                // One GitHub Actions pipeline per member account (at most four), each on its own
                // cadence: every 15–60 min in working hours, and a nightly run.
                let members = w
                    .org
                    .accounts
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| !matches!(m.kind, Kind::Management | Kind::Shared))
                    .take(4);
                if let Some(deployer) = role("github-actions-deployer") {
                    for (k, (to, m)) in members.enumerate() {
                        out.push(Slot {
                            acct: ai,
                            region,
                            kind: SvcKind::GitHub,
                            role: deployer,
                            name: format!("deploy-{}", m.name),
                            sess: None,
                            rate: 1.0,
                            pipeline: Some((to, 60 * (15 + (k as i64 * 17) % 46))),
                        });
                    }
                }
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

/// Makes `n` calls from `table` with session `sess`, spaced a few seconds apart from `t`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn calls_with(
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
                        super::sts::service_assume(
                            w,
                            out,
                            t,
                            &sess,
                            acct,
                            region,
                            "lambda.amazonaws.com",
                        );
                        t + w.rng.range(1800, 6 * 3600)
                    }
                    SvcKind::Ecs => {
                        super::sts::service_assume(
                            w,
                            out,
                            t,
                            &sess,
                            acct,
                            region,
                            "ecs-tasks.amazonaws.com",
                        );
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
                        super::sts::web_identity(
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
                profiles::SERVERLESS,
                n,
                &app,
            );
        }
        SvcKind::GitHub => {
            if let Some((to, period)) = slots[i].pipeline {
                super::cicd::github(w, out, t, acct, role, to);
                let next = super::cicd::next_run(t, period, w.rng.range(-90, 90));
                s.at(next, Actor::Service(i));
                return;
            }
        }
        SvcKind::Jenkins => super::cicd::jenkins(w, out, t, acct),
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
