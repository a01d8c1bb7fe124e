//! The processes on an instance — the SSM agent and the application — making calls with the instance's
//! current key (the IMDSv1 or IMDSv2 one, the previous pair until the switch after a refresh), from the
//! instance's address for that service, and the calls AWS services then make on their behalf.
//!
//! Forwarded calls follow the real records (`docs/cloudtrail-record-shapes.md` §4): `invokedBy` and
//! `sourceIPAddress` are the service (`s3.amazonaws.com`, `secretsmanager.amazonaws.com`) or `AWS Internal`;
//! the identity keeps the instance's ARN, but the access key is the service's own forwarding key.
use super::addr;
use super::calls::{Api, Ctx, Req, Svc};
use super::clients::{self, Client};
use super::clock;
use super::org::SPECS;
use super::out::Out;
use super::profiles;
use super::record::Who;
use super::world::{call, Actor, Call, Proc, Sched, World};

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

/// One call by one of instance `i`'s processes (the SSM agent, the application, another AWS agent),
/// then the next. Some application calls go to another region (a replica bucket, the global STS
/// endpoint) from the instance's internet address. The first call after a benign set-up (launch,
/// handover, start), the first IPv6 call and each agent's first call are noted in `benign.jsonl`.
pub(crate) fn proc_call(
    w: &mut World,
    out: &mut Out,
    s: &mut Sched,
    t: i64,
    i: usize,
    epoch: u32,
    kind: Proc,
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
                kind,
            },
        );
        return;
    }
    let spec = &SPECS[w.org.groups[inst.group].spec];
    let (table, client, v1, rate): (&[(u32, Api)], &Client, bool, f64) = match kind {
        Proc::App => (spec.calls, spec.client, inst.v1_app, spec.rate),
        Proc::Ssm => (profiles::AGENT, &clients::SSM_AGENT, false, 18.0),
        Proc::Agent(k) => {
            let a = spec.agents[usize::from(k)];
            (a.calls, a.client, false, a.rate)
        }
    };
    let mut weights = [0u32; 16];
    for (k, (wt, _)) in table.iter().enumerate().take(16) {
        weights[k] = *wt;
    }
    let mut api = &table[w.rng.weighted(&weights[..table.len().min(16)])].1;
    // Cross-region (issue 13): a replica bucket in another region, or the global STS endpoint
    // (us-east-1), from the instance's own internet address.
    let g = &w.org.groups[inst.group];
    let home = g.region;
    let mut target = home;
    let mut replica = None;
    let reads_s3 = spec.calls.iter().any(|(_, a)| a.svc == Svc::S3 && a.data);
    if kind == Proc::App && reads_s3 && inst.egress_direct(&w.org).is_some() && w.rng.chance(0.03) {
        if home != 0 && w.rng.chance(0.3) {
            api = &super::attack_ops::GET_CALLER_IDENTITY;
            target = 0;
        } else {
            api = &S3_GET;
            target = (home + 1 + w.rng.index(addr::EC2.len() - 1)) % addr::EC2.len();
            let a = &w.org.accounts[g.acct];
            replica = Some(format!(
                "{}-{}-replica-{}-{}",
                a.name,
                spec.app,
                addr::EC2[target].0,
                &a.id[8..]
            ));
        }
    }
    let deny = w.rng.chance(0.006);
    let also = if deny || target != home {
        None
    } else {
        forwarded(w, api)
    };
    let forward_key = also.map(|_| {
        w.rng.aws_key(
            "ASIA",
            w.org.accounts[w.org.groups[w.insts[i].group].acct].num,
        )
    });
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let acct = g.acct;
    let delivery = if v1 { "1.0" } else { "2.0" };
    let key = inst.key(t, v1);
    let session = inst.session(&w.org, key, delivery);
    let (ip, vpce) = if target != home {
        (inst.egress_direct(&w.org).unwrap_or_default(), None)
    } else {
        inst.egress(&w.org, api.svc)
    };
    let account = &w.org.accounts[acct].id;
    let ctx = |app: &'static str| Ctx {
        account,
        region: World::region(target),
        env: &w.org.accounts[acct].name,
        app,
        instance: &inst.id,
        eni: &inst.eni,
        bucket: replica.as_deref().unwrap_or(&g.bucket),
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
        region: target,
        deny,
        arn: &inst.arn,
    };
    call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    let id = out.last_id.clone();
    let (ip, key_id) = (ip.to_string(), key.id.clone());
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
            region: home,
            deny: false,
            arn: &inst.arn,
        };
        call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    }
    note(
        w,
        out,
        t,
        i,
        kind,
        &id,
        &key_id,
        &ip,
        client,
        target != home,
    );
    let next = t + w.wait(t, home, rate);
    s.at(
        next,
        Actor::Proc {
            inst: i,
            epoch,
            kind,
        },
    );
}

static S3_GET: Api = Api {
    svc: Svc::S3,
    name: "GetObject",
    ro: true,
    data: true,
    req: Req::S3Get,
};

/// Notes call `id` in `benign.jsonl` when it shows an ordinary behaviour a naive detector could
/// mistake for a theft.
#[allow(clippy::too_many_arguments)]
fn note(
    w: &mut World,
    out: &mut Out,
    t: i64,
    i: usize,
    kind: Proc,
    id: &str,
    key: &str,
    ip: &str,
    client: &Client,
    cross: bool,
) {
    let inst = &mut w.insts[i];
    let iid = inst.id.clone();
    for (behaviour, mut ids) in std::mem::take(&mut inst.notes) {
        ids.push(id.to_string());
        out.benign(behaviour, ids, Some(&iid), key, ip, None, t);
    }
    if cross {
        out.benign(
            "cross-region",
            vec![id.to_string()],
            Some(&iid),
            key,
            ip,
            None,
            t,
        );
    }
    if ip.contains(':') && !inst.v6_noted {
        inst.v6_noted = true;
        let mut ids: Vec<String> = inst.v6_event.iter().cloned().collect();
        ids.push(id.to_string());
        out.benign("dual-stack-ipv6", ids, Some(&iid), key, ip, None, t);
    }
    let bit = match kind {
        Proc::App => return,
        Proc::Ssm => 1,
        Proc::Agent(k) => 2 << k,
    };
    if inst.agents_noted & bit == 0 {
        inst.agents_noted |= bit;
        out.benign(
            "aws-agent",
            vec![id.to_string()],
            Some(&iid),
            key,
            ip,
            Some(client.ua),
            t,
        );
    }
}

/// A call of the SSM agent of instance `i` at `t` from address `ip` (one in flight at an address change).
pub(crate) fn agent_call_from(w: &mut World, out: &mut Out, t: i64, i: usize, ip: &str) {
    instance_call_as(w, out, t, i, &profiles::AGENT[0].1, &clients::SSM_AGENT, ip);
}

/// `api` called by instance `i` at `t` with its IMDSv2 key, with `client`, from `ip`.
pub(crate) fn instance_call_as(
    w: &mut World,
    out: &mut Out,
    t: i64,
    i: usize,
    api: &Api,
    client: &Client,
    ip: &str,
) {
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let key = inst.key(t, false);
    let session = inst.session(&w.org, key, "2.0");
    let account = &w.org.accounts[acct].id;
    let c = Call {
        t,
        who: Who::Role(&session),
        api,
        ctx: Ctx {
            account,
            region: World::region(region),
            env: &w.org.accounts[acct].name,
            app: "ops",
            instance: &inst.id,
            eni: &inst.eni,
            bucket: &g.bucket,
            kms_key: &g.kms_key,
        },
        ip,
        vpce: None,
        client,
        acct,
        region: if api.svc == Svc::Iam { 0 } else { region },
        deny: false,
        arn: &inst.arn,
    };
    call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
}
