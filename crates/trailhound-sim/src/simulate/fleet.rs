//! EC2 instances: launch (by hand or by Auto Scaling), the EC2 service's credential delivery at launch
//! and every 1–6 hours (two keys: IMDSv1 and IMDSv2 delivery, one `requestID`), the calls their
//! processes make with the right key from the right address, stop/start and termination.
//!
//! Addresses are consistent for the life of an instance: its auto-assigned public IP (a new one only
//! after `StartInstances`), its Elastic IP after `AssociateAddress`, its AZ's NAT gateway EIP, or its
//! private IP through its own account's VPC endpoint.
use super::addr;
use super::calls::Svc;
use super::clock;
use super::ec2::{self, By};
use super::org::{Mode, Org, Vpce, SPECS};
use super::out::Out;
use super::record::RoleSession;
use super::world::{Actor, Sched, World};

/// An access key issued to an instance.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// `ASIA…`.
    pub id: String,
    /// Issue time, ISO (the session's `creationDate`).
    pub created: String,
    /// Issue time.
    pub issued: i64,
}

/// An address an instance called from, and when (for the manifest).
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Span {
    /// First second.
    pub from: String,
    /// Last second (empty while current).
    pub to: String,
    /// The address.
    pub address: String,
    /// `public-ip`, `elastic-ip`, `nat-gateway`, `private-ip` (with a VPC endpoint).
    pub kind: &'static str,
}

/// One instance.
pub(crate) struct Instance {
    /// `i-…`.
    pub id: String,
    /// Group (index).
    pub group: usize,
    /// Subnet (index within its network).
    pub subnet: usize,
    /// NAT gateway (index within its network) for private subnets.
    pub nat: Option<usize>,
    /// Private IPv4 address.
    pub private_ip: String,
    /// Current public address (auto-assigned or Elastic IP).
    pub public_ip: Option<String>,
    /// Primary ENI.
    pub eni: String,
    /// Session ARN (`…:assumed-role/<role>/<instance id>`).
    pub arn: String,
    /// `AROA…:<instance id>`.
    pub principal: String,
    /// Current keys: IMDSv1 delivery, IMDSv2 delivery.
    pub keys: [Key; 2],
    /// Previous keys, still used until `switch_at`.
    pub prev: Option<[Key; 2]>,
    /// When processes switch to the current keys.
    pub switch_at: i64,
    /// Running (not stopped, not terminated).
    pub running: bool,
    /// Life epoch: bumped by stop and terminate so scheduled actors of an old life do nothing.
    pub epoch: u32,
    /// Launch time.
    pub launched: i64,
    /// Termination time.
    pub ended: Option<i64>,
    /// Already running when the logs begin (no `RunInstances`, no `AssumeRole` until its first refresh).
    pub pre_existing: bool,
    /// Addresses over time.
    pub spans: Vec<Span>,
    /// The application fetches IMDSv1 credentials.
    pub v1_app: bool,
    /// Processes make no call before this time.
    pub quiet_until: i64,
}

impl Instance {
    /// The key a process uses at `t` (`v1`: the IMDSv1-delivered one).
    pub(crate) fn key(&self, t: i64, v1: bool) -> &Key {
        let i = usize::from(!v1);
        match &self.prev {
            Some(p) if t < self.switch_at => &p[i],
            _ => &self.keys[i],
        }
    }

    /// Where a call to `svc` comes from: the address and, through an endpoint, the endpoint.
    pub(crate) fn egress<'a>(&'a self, org: &'a Org, svc: Svc) -> (&'a str, Option<&'a Vpce>) {
        let g = &org.groups[self.group];
        let net = &org.nets[g.net];
        match SPECS[g.spec].mode {
            Mode::Public => (self.public_ip.as_deref().unwrap_or(&self.private_ip), None),
            Mode::Nat | Mode::Isolated => match net.vpce(svc) {
                Some(v) => (&self.private_ip, Some(v)),
                None => (
                    self.nat
                        .and_then(|n| net.nats.get(n))
                        .map_or(self.private_ip.as_str(), |n| n.eip.as_str()),
                    None,
                ),
            },
        }
    }

    /// The instance's role session with key `key` and delivery `delivery`.
    pub(crate) fn session<'a>(
        &'a self,
        org: &'a Org,
        key: &'a Key,
        delivery: &'static str,
    ) -> RoleSession<'a> {
        let g = &org.groups[self.group];
        let role = &org.roles[g.role];
        RoleSession {
            principal: &self.principal,
            arn: &self.arn,
            account: &org.accounts[g.acct].id,
            key: &key.id,
            role_id: &role.id,
            role_arn: &role.arn,
            role_name: &role.name,
            created: &key.created,
            mfa: false,
            delivery: Some(delivery),
            web_provider: None,
            source_identity: None,
            invoked_by: None,
        }
    }

    /// The instance's session with `key` as an owned session (for callers that outlive a borrow).
    pub(crate) fn owned(
        &self,
        org: &Org,
        key: &Key,
        delivery: &'static str,
    ) -> super::session::Owned {
        let g = &org.groups[self.group];
        let role = &org.roles[g.role];
        super::session::Owned {
            principal: self.principal.clone(),
            arn: self.arn.clone(),
            account: org.accounts[g.acct].id.clone(),
            key: key.id.clone(),
            role_id: role.id.clone(),
            role_arn: role.arn.clone(),
            role_name: role.name.clone(),
            name: self.id.clone(),
            created: key.created.clone(),
            mfa: false,
            web_provider: None,
            source_identity: None,
            delivery: Some(delivery),
        }
    }

    fn open_span(&mut self, t: i64, address: String, kind: &'static str) {
        self.spans.push(Span {
            from: clock::iso_string(t),
            to: String::new(),
            address,
            kind,
        });
    }

    fn close_spans(&mut self, t: i64) {
        for s in self.spans.iter_mut().filter(|s| s.to.is_empty()) {
            s.to = clock::iso_string(t);
        }
    }
}

fn new_keys(w: &mut World, acct: usize, t: i64) -> [Key; 2] {
    let num = w.org.accounts[acct].num;
    let created = clock::iso_string(t);
    let mut k = || Key {
        id: w.rng.aws_key("ASIA", num).as_str().to_string(),
        created: created.clone(),
        issued: t,
    };
    [k(), k()]
}

/// Creates an instance of `group` (no events). `pre`: already running before the logs begin.
pub(crate) fn create(w: &mut World, t: i64, group: usize, pre: bool) -> usize {
    let g = &w.org.groups[group];
    let (acct, region, net_i, spec) = (g.acct, g.region, g.net, &SPECS[g.spec]);
    let az = w.rng.index(2);
    let (subnet, nat) = match spec.mode {
        Mode::Public => (az, None),
        Mode::Nat => (2 + az, Some(az)),
        Mode::Isolated => (4, None),
    };
    let net = &mut w.org.nets[net_i];
    let host = net.subnets[subnet].next_host;
    net.subnets[subnet].next_host += 1;
    let private_ip = addr::private(
        net.second,
        net.subnets[subnet].third + (host / 250 % 16) as u8,
        (4 + host % 250) as u8,
    )
    .to_string();
    let id = format!("i-0{}", w.rng.hex::<16>().as_str());
    let role = &w.org.roles[w.org.groups[group].role];
    let acct_id = &w.org.accounts[acct].id;
    let arn = format!("arn:aws:sts::{acct_id}:assumed-role/{}/{id}", role.name);
    let principal = format!("{}:{id}", role.id);
    let issued = if pre {
        t - w.rng.range(60, 5 * 3600)
    } else {
        t + 1
    };
    let keys = new_keys(w, acct, issued);
    let v1_app = w.rng.chance(spec.v1_share);
    let public_ip = (spec.mode == Mode::Public).then(|| addr::ec2(&mut w.rng, region).to_string());
    let mut inst = Instance {
        id,
        group,
        subnet,
        nat,
        private_ip,
        public_ip: public_ip.clone(),
        eni: format!("eni-0{}", w.rng.hex::<16>().as_str()),
        arn,
        principal,
        keys,
        prev: None,
        switch_at: 0,
        running: true,
        epoch: 0,
        launched: if pre { issued - 600 } else { t },
        ended: None,
        pre_existing: pre,
        spans: vec![],
        v1_app,
        quiet_until: t + if pre {
            w.rng.range(0, 300)
        } else {
            w.rng.range(60, 150)
        },
    };
    let net = &w.org.nets[net_i];
    match spec.mode {
        Mode::Public => inst.open_span(t, public_ip.unwrap_or_default(), "public-ip"),
        Mode::Nat => {
            if let Some(n) = nat.and_then(|n| net.nats.get(n)) {
                inst.open_span(t, n.eip.clone(), "nat-gateway");
            }
            if !net.vpces.is_empty() {
                inst.open_span(t, inst.private_ip.clone(), "private-ip");
            }
        }
        Mode::Isolated => inst.open_span(t, inst.private_ip.clone(), "private-ip"),
    }
    w.insts.push(inst);
    let i = w.insts.len() - 1;
    w.live[group].push(i);
    i
}

/// Schedules the processes and the first refresh of instance `i` (after launch, start, or at the start).
pub(crate) fn schedule(w: &mut World, s: &mut Sched, i: usize) {
    let inst = &w.insts[i];
    let (q, epoch, issued) = (inst.quiet_until, inst.epoch, inst.keys[0].issued);
    let first_agent = q + w.rng.range(5, 90);
    let first_app = q + w.rng.range(20, 240);
    s.at(
        first_agent,
        Actor::Proc {
            inst: i,
            epoch,
            app: false,
        },
    );
    s.at(
        first_app,
        Actor::Proc {
            inst: i,
            epoch,
            app: true,
        },
    );
    let next = issued + w.rng.range(3600, 6 * 3600);
    s.at(next.max(q + 60), Actor::Refresh { inst: i, epoch });
}

/// Launches an instance of `group` at `t`: `RunInstances`, the EC2 service's two `AssumeRole`s, and for
/// Elastic-IP groups `AllocateAddress` + `AssociateAddress`.
pub(crate) fn launch(
    w: &mut World,
    out: &mut Out,
    s: &mut Sched,
    t: i64,
    group: usize,
    by: By,
) -> usize {
    let i = create(w, t, group, false);
    let request_id = ec2::run_instances(w, out, t, &[i], by);
    ec2::assume_role(w, out, t + 1, i, &request_id);
    let spec = &SPECS[w.org.groups[group].spec];
    if spec.eip {
        let at = t + w.rng.range(20, 45);
        ec2::elastic_ip(w, out, at, i, by);
        w.insts[i].quiet_until = w.insts[i].quiet_until.max(at + 5);
    }
    if spec.app == "eks-node" {
        let at = t + w.rng.range(70, 140);
        ec2::attach_eni(w, out, at, i);
    }
    schedule(w, s, i);
    i
}

/// The EC2 service refreshes instance `i`'s credentials.
pub(crate) fn refresh(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, i: usize, epoch: u32) {
    let inst = &w.insts[i];
    if inst.epoch != epoch || !inst.running {
        return;
    }
    let acct = w.org.groups[inst.group].acct;
    let keys = new_keys(w, acct, t);
    let switch = t + w.rng.range(20, 1200);
    let inst = &mut w.insts[i];
    inst.prev = Some(std::mem::replace(&mut inst.keys, keys));
    inst.switch_at = switch;
    let request_id = w.rng.uuid();
    ec2::assume_role(w, out, t, i, request_id.as_str());
    let next = t + w.rng.range(3600, 6 * 3600);
    s.at(next, Actor::Refresh { inst: i, epoch });
}

/// Terminates instance `i` (`TerminateInstances` by `by`).
pub(crate) fn terminate(w: &mut World, out: &mut Out, t: i64, i: usize, by: By) {
    if !w.insts[i].running && w.insts[i].ended.is_some() {
        return;
    }
    ec2::state_change(w, out, t, i, by, "TerminateInstances");
    let inst = &mut w.insts[i];
    inst.running = false;
    inst.epoch += 1;
    inst.ended = Some(t);
    inst.close_spans(t);
    let g = inst.group;
    w.live[g].retain(|x| *x != i);
}

/// Stops (evening) or starts (morning) a developer box; a start brings a new public IP and new keys.
pub(crate) fn stop_start(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, i: usize) {
    if w.insts[i].ended.is_some() {
        return;
    }
    let region = w.org.groups[w.insts[i].group].region;
    let local_hour = |t: i64| (t / 3600 + [-5i64, -5, -8, 0, 1, 10][region % 6]).rem_euclid(24);
    if w.insts[i].running {
        ec2::state_change(w, out, t, i, By::Owner, "StopInstances");
        let inst = &mut w.insts[i];
        inst.running = false;
        inst.epoch += 1;
        inst.close_spans(t);
        inst.public_ip = None;
        let until_morning = (24 + 8 - local_hour(t)).rem_euclid(24) * 3600 + w.rng.range(0, 5400);
        s.at(t + until_morning.max(3600), Actor::StopStart { inst: i });
    } else {
        ec2::state_change(w, out, t, i, By::Owner, "StartInstances");
        let ip = addr::ec2(&mut w.rng, region).to_string();
        let acct = w.org.groups[w.insts[i].group].acct;
        let keys = new_keys(w, acct, t + 20);
        let quiet = t + w.rng.range(45, 120);
        let inst = &mut w.insts[i];
        inst.running = true;
        inst.public_ip = Some(ip.clone());
        inst.keys = keys;
        inst.prev = None;
        inst.quiet_until = quiet;
        inst.open_span(t, ip, "public-ip");
        let request_id = w.rng.uuid();
        ec2::assume_role(w, out, t + 20, i, request_id.as_str());
        schedule(w, s, i);
        let until_evening = (24 + 19 - local_hour(t)).rem_euclid(24) * 3600 + w.rng.range(0, 7200);
        s.at(t + until_evening.max(3600), Actor::StopStart { inst: i });
    }
}
