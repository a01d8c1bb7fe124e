//! The processes on an instance — the SSM agent and the application — making calls with the instance's
//! current key (the IMDSv1 or IMDSv2 one, the previous pair until the switch after a refresh), from the
//! instance's address for that service, and the calls AWS services then make on their behalf.
//!
//! Forwarded calls follow the real records (`docs/cloudtrail-record-shapes.md` §4): `invokedBy` and
//! `sourceIPAddress` are the service (`s3.amazonaws.com`, `secretsmanager.amazonaws.com`) or `AWS Internal`;
//! the identity keeps the instance's ARN, but the access key is the service's own forwarding key.
use super::calls::{Api, Ctx, Req, Svc};
use super::clients::{self, Client};
use super::clock;
use super::org::SPECS;
use super::out::Out;
use super::profiles;
use super::record::Who;
use super::world::{call, Actor, Call, Sched, World};

static KMS_DECRYPT: Api = Api {
    svc: Svc::Kms,
    name: "Decrypt",
    ro: true,
    data: false,
    req: Req::KmsDecrypt,
};
static KMS_GDK: Api = Api {
    svc: Svc::Kms,
    name: "GenerateDataKey",
    ro: true,
    data: false,
    req: Req::KmsGdk,
};
static BY_SECRETS: Client = Client {
    ua: "secretsmanager.amazonaws.com",
    tls: "",
    cipher: "",
};

/// The KMS call a service makes after `api` succeeded, and who makes it (`invokedBy`, client).
fn forwarded(w: &mut World, api: &Api) -> Option<(&'static Api, &'static str, &'static Client)> {
    match (api.svc, api.name) {
        (Svc::S3, "GetObject") if w.rng.chance(0.35) => {
            Some((&KMS_DECRYPT, "s3.amazonaws.com", &clients::S3_SERVICE))
        }
        (Svc::S3, "PutObject") if w.rng.chance(0.35) => {
            Some((&KMS_GDK, "s3.amazonaws.com", &clients::S3_SERVICE))
        }
        (Svc::Ssm, "GetParameter") if w.rng.chance(0.5) => {
            Some((&KMS_DECRYPT, "AWS Internal", &clients::AWS_INTERNAL))
        }
        (Svc::Secrets, "GetSecretValue") => {
            Some((&KMS_DECRYPT, "secretsmanager.amazonaws.com", &BY_SECRETS))
        }
        _ => None,
    }
}

/// One call by one of instance `i`'s processes (the SSM agent, or the application), then the next.
pub(crate) fn proc_call(
    w: &mut World,
    out: &mut Out,
    s: &mut Sched,
    t: i64,
    i: usize,
    epoch: u32,
    app: bool,
) {
    let inst = &w.insts[i];
    if inst.epoch != epoch || !inst.running {
        return;
    }
    if t < inst.quiet_until {
        s.at(
            inst.quiet_until,
            Actor::Proc {
                inst: i,
                epoch,
                app,
            },
        );
        return;
    }
    let spec = &SPECS[w.org.groups[inst.group].spec];
    let (table, client, v1, rate): (&[(u32, Api)], &Client, bool, f64) = if app {
        (spec.calls, spec.client, inst.v1_app, spec.rate)
    } else {
        (profiles::AGENT, &clients::SSM_AGENT, false, 18.0)
    };
    let mut weights = [0u32; 16];
    for (k, (wt, _)) in table.iter().enumerate().take(16) {
        weights[k] = *wt;
    }
    let api = &table[w.rng.weighted(&weights[..table.len().min(16)])].1;
    let deny = w.rng.chance(0.006);
    let also = if deny { None } else { forwarded(w, api) };
    let forward_key = also.map(|_| {
        w.rng.aws_key(
            "ASIA",
            w.org.accounts[w.org.groups[w.insts[i].group].acct].num,
        )
    });
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let delivery = if v1 { "1.0" } else { "2.0" };
    let key = inst.key(t, v1);
    let session = inst.session(&w.org, key, delivery);
    let (ip, vpce) = inst.egress(&w.org, api.svc);
    let account = &w.org.accounts[acct].id;
    let ctx = |app: &'static str| Ctx {
        account,
        region: World::region(region),
        env: &w.org.accounts[acct].name,
        app,
        instance: &inst.id,
        eni: &inst.eni,
        bucket: &g.bucket,
        kms_key: &g.kms_key,
    };
    let c = Call {
        t,
        who: Who::Role(&session),
        api,
        ctx: ctx(spec.app),
        ip,
        vpce: vpce.map(|v| (v.id.as_str(), account.as_str())),
        client,
        acct,
        region,
        deny,
        arn: &inst.arn,
    };
    call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    if let (Some((kms, by, via_client)), Some(fkey)) = (also, forward_key) {
        let created = clock::iso_string(t);
        let mut via = inst.session(&w.org, key, delivery);
        via.key = fkey.as_str();
        via.created = &created;
        via.invoked_by = Some(by);
        let c = Call {
            t,
            who: Who::Role(&via),
            api: kms,
            ctx: ctx(spec.app),
            ip: by,
            vpce: None,
            client: via_client,
            acct,
            region,
            deny: false,
            arn: &inst.arn,
        };
        call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    }
    let next = t + w.wait(t, region, rate);
    s.at(
        next,
        Actor::Proc {
            inst: i,
            epoch,
            app,
        },
    );
}
