//! The simulation's state and clock: the organisation, the fleet, the scheduler of actors, and the one
//! function every actor uses to make an API call.
//!
//! Time moves forward only through the scheduler (a binary heap ordered by time, then by insertion
//! sequence, so ties are broken deterministically); actors never see a wall clock.
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::addr;
use super::calls::{self, Api, Ctx, Parts, Svc, SVC_COUNT};
use super::clients::Client;
use super::fleet::Instance;
use super::org::Org;
use super::out::Out;
use super::record::{Rec, Who};
use super::rng::Rng;
use super::truth::Label;

/// Something that acts at scheduled times.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Actor {
    /// Creates the organisation's networks and first instances.
    Bootstrap,
    /// One process on an instance (the SSM agent, the application, another AWS agent).
    Proc {
        /// Instance index.
        inst: usize,
        /// The instance's life epoch when scheduled (stale after stop or termination).
        epoch: u32,
        /// Which process.
        kind: Proc,
    },
    /// End users downloading objects through URLs an instance presigned.
    Presign {
        /// Instance index.
        inst: usize,
        /// Life epoch.
        epoch: u32,
    },
    /// An instance associating an Elastic IP of its group's pool at boot.
    Associate {
        /// Instance index.
        inst: usize,
        /// Life epoch.
        epoch: u32,
    },
    /// People reaching into a bastion host (Session Manager) and working on it.
    Bastion {
        /// Group index.
        group: usize,
    },
    /// The EC2 service refreshing an instance's credentials.
    Refresh {
        /// Instance index.
        inst: usize,
        /// Life epoch.
        epoch: u32,
    },
    /// An Auto Scaling group adjusting its size (or people replacing their hand-made instances).
    Scaler {
        /// Group index.
        group: usize,
    },
    /// A developer box's daily stop and start.
    StopStart {
        /// Instance index.
        inst: usize,
    },
    /// An IAM user's working sessions.
    User(usize),
    /// An SSO person's working sessions.
    Person(usize),
    /// A service workload: Lambda, ECS, EKS pods, CI, AWS Config (index into the service slots).
    Service(usize),
    /// An attack scenario (index into the plans).
    Attack(usize),
}

/// A process on an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proc {
    /// The SSM agent (every instance).
    Ssm,
    /// The application.
    App,
    /// The spec's `agents[k]`.
    Agent(u8),
}

/// The scheduler.
#[derive(Default)]
pub(crate) struct Sched {
    heap: BinaryHeap<Reverse<(i64, u64, usize)>>,
    actors: Vec<Actor>,
    seq: u64,
}

impl Sched {
    /// Runs `actor` at time `t`.
    pub(crate) fn at(&mut self, t: i64, actor: Actor) {
        self.actors.push(actor);
        self.seq += 1;
        self.heap
            .push(Reverse((t, self.seq, self.actors.len() - 1)));
    }

    /// The next actor due, with its time.
    pub(crate) fn pop(&mut self) -> Option<(i64, Actor)> {
        let Reverse((t, _, i)) = self.heap.pop()?;
        Some((t, self.actors[i]))
    }

    /// Recycles actor slots when the heap is small relative to history (keeps memory bounded).
    pub(crate) fn compact(&mut self) {
        if self.actors.len() > 4 * self.heap.len() + 1024 {
            let mut items: Vec<(i64, u64, Actor)> = self
                .heap
                .drain()
                .map(|Reverse((t, s, i))| (t, s, self.actors[i]))
                .collect();
            items.sort_by_key(|(t, s, _)| (*t, *s));
            self.actors.clear();
            for (t, s, a) in items {
                self.actors.push(a);
                self.heap.push(Reverse((t, s, self.actors.len() - 1)));
            }
        }
    }
}

/// Everything actors read and change.
pub(crate) struct World {
    /// The organisation.
    pub org: Org,
    /// The event stream's randomness.
    pub rng: Rng,
    /// Every instance ever launched.
    pub insts: Vec<Instance>,
    /// Running instances per group.
    pub live: Vec<Vec<usize>>,
    /// Call-rate multiplier that scales the organisation to the requested volume.
    pub scale: f64,
    /// Simulation start and end.
    pub start: i64,
    /// `tlsDetails` host per service and region.
    pub hosts: Vec<String>,
    /// Scratch for call parameters.
    pub parts: Parts,
    /// Scratch for error messages.
    pub msg: String,
}

impl World {
    /// The service host for `svc` in region `region`.
    pub(crate) fn host(&self, svc: Svc, region: usize) -> &str {
        &self.hosts[svc.index() * addr::EC2.len() + region]
    }

    /// Region name of region index `r`.
    pub(crate) fn region(r: usize) -> &'static str {
        addr::EC2[r].0
    }

    /// A multiplier around 1 following the working day of region `region` (peak mid-afternoon local).
    pub(crate) fn diurnal(t: i64, region: usize) -> f64 {
        const OFFSET: [i64; 6] = [-5, -5, -8, 0, 1, 10];
        let hour = (t / 3600 + OFFSET[region % 6]).rem_euclid(24) as f64;
        let x = ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos();
        1.0 + 0.45 * x
    }

    /// Seconds until the next call of something making `per_hour` calls an hour (Poisson, at least 1 s).
    pub(crate) fn wait(&mut self, t: i64, region: usize, per_hour: f64) -> i64 {
        let rate = (per_hour * self.scale * World::diurnal(t, region)).max(1e-3);
        (self.rng.exp(3600.0 / rate).round() as i64).max(1)
    }
}

/// Builds the host table.
pub(crate) fn hosts() -> Vec<String> {
    const ALL: [Svc; SVC_COUNT] = [
        Svc::Ec2,
        Svc::Sts,
        Svc::Ssm,
        Svc::Kms,
        Svc::Secrets,
        Svc::Logs,
        Svc::S3,
        Svc::Ecr,
        Svc::Autoscaling,
        Svc::Dynamodb,
        Svc::Cloudformation,
        Svc::Iam,
        Svc::Lambda,
        Svc::Ecs,
        Svc::Cloudtrail,
        Svc::Guardduty,
        Svc::Signin,
    ];
    let mut out = vec![];
    for svc in ALL {
        debug_assert_eq!(svc.index(), out.len() / addr::EC2.len());
        for (region, _) in addr::EC2 {
            out.push(svc.host(region));
        }
    }
    out
}

/// One API call to make.
pub(crate) struct Call<'a> {
    /// Event time.
    pub t: i64,
    /// Caller.
    pub who: Who<'a>,
    /// What is called.
    pub api: &'a Api,
    /// Parameter context.
    pub ctx: Ctx<'a>,
    /// `sourceIPAddress`.
    pub ip: &'a str,
    /// `vpcEndpointId`, `vpcEndpointAccountId`.
    pub vpce: Option<(&'a str, &'a str)>,
    /// The client.
    pub client: &'a Client,
    /// Account index the event is delivered to.
    pub acct: usize,
    /// Region index.
    pub region: usize,
    /// Denied (`errorCode`).
    pub deny: bool,
    /// The caller's ARN (for denial messages).
    pub arn: &'a str,
}

/// Makes `c`: renders its parameters, writes the record, delivers it (with `label` when malicious).
/// Returns nothing; the event id is drawn from `rng`.
pub(crate) fn call(
    rng: &mut Rng,
    parts: &mut Parts,
    msg: &mut String,
    hosts: &[String],
    out: &mut Out,
    c: Call<'_>,
    label: Option<&Label<'_>>,
) {
    calls::render(c.api, &c.ctx, rng, parts);
    let dualstack = c.api.svc == Svc::S3 && c.api.data && c.ip.contains(':');
    if dualstack {
        // Over IPv6 the SDK calls S3's dual-stack endpoint.
        parts.req = parts.req.replace(".s3.", ".s3.dualstack.");
    }
    let event_id = rng.uuid();
    let region_name = addr::EC2[c.region].0;
    let mut rec = Rec::api(
        c.t,
        c.who,
        c.api.svc.source(),
        c.api.name,
        region_name,
        c.ip,
        c.client.ua,
        c.ctx.account,
        event_id.as_str(),
    );
    rec.version = if c.api.data { "1.10" } else { "1.09" };
    rec.read_only = c.api.ro;
    rec.management = !c.api.data;
    rec.request = calls::opt(&parts.req);
    rec.resources = calls::opt(&parts.res);
    rec.additional = calls::opt(&parts.add);
    rec.request_id = calls::opt(&parts.request_id);
    rec.vpce = c.vpce;
    let s3_host;
    let host = if c.api.svc == Svc::S3 && c.api.data {
        s3_host = if dualstack {
            format!("{}.s3.dualstack.{region_name}.amazonaws.com", c.ctx.bucket)
        } else {
            format!("{}.s3.{region_name}.amazonaws.com", c.ctx.bucket)
        };
        s3_host.as_str()
    } else {
        hosts[c.api.svc.index() * addr::EC2.len() + c.region].as_str()
    };
    if !c.client.tls.is_empty() {
        rec.tls = Some((c.client.tls, c.client.cipher, host));
    }
    if c.deny {
        let code = calls::denied(c.api, c.arn, msg);
        rec.error = Some((code, msg.as_str()));
        rec.resources = None;
        rec.additional = if c.api.data { rec.additional } else { None };
    }
    out.emit(&rec, c.acct, c.region, label);
}
