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
use super::world::{Actor, Proc, Sched, World};

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
    /// Its IPv6 address in a dual-stack subnet (kept across stop/start, as AWS does).
    pub ipv6: Option<String>,
    /// Its S3 client uses the dual-stack endpoint (S3 calls go over IPv6).
    pub v6_s3: bool,
    /// Its first IPv6 call is already in `benign.jsonl` (for this life).
    pub v6_noted: bool,
    /// The event that announced its IPv6 address (`RunInstances`, `AssignIpv6Addresses`), if any.
    pub v6_event: Option<String>,
    /// Benign behaviours to note with its next call: (behaviour, the events that set it up).
    pub notes: Vec<(&'static str, Vec<String>)>,
    /// Agents (bit per process kind) whose first call is already in `benign.jsonl`.
    pub agents_noted: u32,
    /// The group pool's Elastic IP it holds (index), and the association id.
    pub pool: Option<(usize, String)>,
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
        if let (Svc::S3, true, Some(v6)) = (svc, self.v6_s3, self.ipv6.as_deref()) {
            return (v6, None);
        }
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

    /// Its IPv4 address on the internet (public IP or NAT gateway), ignoring VPC endpoints: where calls
    /// to other regions and global endpoints leave from. `None` in an isolated subnet.
    pub(crate) fn egress_direct<'a>(&'a self, org: &'a Org) -> Option<&'a str> {
        let g = &org.groups[self.group];
        let net = &org.nets[g.net];
        match SPECS[g.spec].mode {
            Mode::Public => self.public_ip.as_deref(),
            Mode::Nat => self
                .nat
                .and_then(|n| net.nats.get(n))
                .map(|n| n.eip.as_str()),
            Mode::Isolated => None,
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

    pub(crate) fn open_span(&mut self, t: i64, address: String, kind: &'static str) {
        self.spans.push(Span {
            from: clock::iso_string(t),
            to: String::new(),
            address,
            kind,
        });
    }

    pub(crate) fn close_spans(&mut self, t: i64) {
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
    let v6 = w.org.nets[net_i]
        .v6
        .filter(|_| spec.mode != Mode::Isolated)
        .map(|v| addr::host_v6(&mut w.rng, addr::subnet_v6(v, subnet)).to_string());
    let v6_s3 = v6.is_some() && w.rng.chance(0.7);
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
    let mut public_ip =
        (spec.mode == Mode::Public).then(|| addr::ec2(&mut w.rng, region).to_string());
    // Already running before the logs: its pool Elastic IP was associated then.
    let mut pool = None;
    if pre && spec.eip_pool {
        let i = w.insts.len();
        let g = &mut w.org.groups[group];
        if let Some(k) = g.pool.iter().position(|p| p.holder.is_none()) {
            g.pool[k].holder = Some(i);
            public_ip = Some(g.pool[k].eip.clone());
            pool = Some((k, format!("eipassoc-0{}", w.rng.hex::<16>().as_str())));
        }
    }
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
        ipv6: v6,
        v6_s3,
        v6_noted: false,
        v6_event: None,
        notes: vec![],
        agents_noted: 0,
        pool,
    };
    let net = &w.org.nets[net_i];
    match spec.mode {
        Mode::Public => inst.open_span(
            t,
            public_ip.unwrap_or_default(),
            if inst.pool.is_some() {
                "elastic-ip"
            } else {
                "public-ip"
            },
        ),
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
    if let Some(v6) = inst.ipv6.clone() {
        inst.open_span(t, v6, "ipv6");
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
    let spec = &SPECS[w.org.groups[inst.group].spec];
    let first_agent = q + w.rng.range(5, 90);
    let first_app = q + w.rng.range(20, 240);
    s.at(
        first_agent,
        Actor::Proc {
            inst: i,
            epoch,
            kind: Proc::Ssm,
        },
    );
    s.at(
        first_app,
        Actor::Proc {
            inst: i,
            epoch,
            kind: Proc::App,
        },
    );
    // AWS agents start with the instance (issue 13: a new role's instances run them from their
    // first minutes).
    for k in 0..spec.agents.len() {
        let at = q + w.rng.range(5, 180);
        s.at(
            at,
            Actor::Proc {
                inst: i,
                epoch,
                kind: Proc::Agent(k as u8),
            },
        );
    }
    if spec.presign > 0.0 {
        let at = q + w.rng.range(120, 1800);
        s.at(at, Actor::Presign { inst: i, epoch });
    }
    let next = issued + w.rng.range(3600, 6 * 3600);
    s.at(next.max(q + 60), Actor::Refresh { inst: i, epoch });
}

/// Launches an instance of `group` at `t`: `RunInstances` (its IPv6 address in the response for some
/// dual-stack launches, `AssignIpv6Addresses` by the instance itself for the others), the EC2 service's two
/// `AssumeRole`s, for Elastic-IP groups `AllocateAddress` + `AssociateAddress`, and for pool groups the
/// instance's own `AssociateAddress` of a pooled Elastic IP a little after boot.
pub(crate) fn launch(
    w: &mut World,
    out: &mut Out,
    s: &mut Sched,
    t: i64,
    group: usize,
    by: By,
) -> usize {
    let i = create(w, t, group, false);
    let show_v6 = w.insts[i].ipv6.is_some() && w.rng.chance(if by == By::Asg { 0.5 } else { 0.8 });
    let request_id = ec2::run_instances(w, out, t, &[i], by, show_v6);
    let run_id = out.last_id.clone();
    ec2::assume_role(w, out, t + 1, i, &request_id);
    let spec = &SPECS[w.org.groups[group].spec];
    let mut ready = t;
    if spec.eip {
        let at = t + w.rng.range(20, 45);
        ec2::elastic_ip(w, out, at, i, by);
        w.insts[i].quiet_until = w.insts[i].quiet_until.max(at + 5);
        ready = at + 5;
    }
    if show_v6 {
        w.insts[i].v6_event = Some(run_id.clone());
    } else if w.insts[i].ipv6.is_some() {
        // The user data asks for the address (the subnet does not assign IPv6 on creation), from the
        // instance's address of the moment (its Elastic IP once associated).
        let at = ready + w.rng.range(30, 55);
        ec2::assign_ipv6(w, out, at, i);
        w.insts[i].v6_event = Some(out.last_id.clone());
        w.insts[i].quiet_until = w.insts[i].quiet_until.max(at + 5);
    }
    if spec.mode == Mode::Public && !spec.eip {
        // The response shows only the private address: the public one is first seen in use.
        w.insts[i]
            .notes
            .push(("launch-without-public-ip", vec![run_id]));
    }
    if spec.eip_pool {
        let at = w.insts[i].quiet_until + w.rng.range(5, 60);
        let epoch = w.insts[i].epoch;
        s.at(at, Actor::Associate { inst: i, epoch });
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

/// Terminates instance `i` (`TerminateInstances` by `by`). A pool Elastic IP goes back to the pool;
/// half the time the instance's lifecycle hook releases it first (`DisassociateAddress`).
pub(crate) fn terminate(w: &mut World, out: &mut Out, t: i64, i: usize, by: By) {
    if !w.insts[i].running && w.insts[i].ended.is_some() {
        return;
    }
    let mut at = t;
    if let Some((k, assoc)) = w.insts[i].pool.take() {
        let g = w.insts[i].group;
        let mut released = None;
        if w.rng.chance(0.5) {
            let req = format!("{{\"associationId\":\"{assoc}\"}}");
            let rid = w.rng.uuid();
            let resp = format!("{{\"requestId\":\"{}\",\"_return\":true}}", rid.as_str());
            ec2::instance_call(
                w,
                out,
                t,
                i,
                "DisassociateAddress",
                &req,
                &resp,
                rid.as_str(),
                &super::clients::CLI_INSTANCE,
            );
            released = Some(out.last_id.clone());
            at = t + w.rng.range(2, 8);
        }
        let slot = &mut w.org.groups[g].pool[k];
        slot.holder = None;
        slot.released_by = released;
    }
    ec2::state_change(w, out, at, i, by, "TerminateInstances");
    let inst = &mut w.insts[i];
    inst.running = false;
    inst.epoch += 1;
    inst.ended = Some(at);
    inst.close_spans(at);
    let g = inst.group;
    w.live[g].retain(|x| *x != i);
}

/// Stops (evening) or starts (morning) a developer box; a start brings a new public IP and new keys
/// (its IPv6 address stays with its interface).
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
        let start_id = out.last_id.clone();
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
        if let Some(v6) = inst.ipv6.clone() {
            inst.open_span(t, v6, "ipv6");
        }
        inst.v6_noted = false;
        inst.notes.push(("stop-start", vec![start_id]));
        let request_id = w.rng.uuid();
        ec2::assume_role(w, out, t + 20, i, request_id.as_str());
        schedule(w, s, i);
        let until_evening = (24 + 19 - local_hour(t)).rem_euclid(24) * 3600 + w.rng.range(0, 7200);
        s.at(t + until_evening.max(3600), Actor::StopStart { inst: i });
    }
}

/// Instance `i` associates a free Elastic IP of its group's pool with its own credentials, from its
/// auto-assigned public address (the allocation predates the logs, so the response names no address);
/// a call or two already in flight still leave from the old address.
pub(crate) fn associate(w: &mut World, out: &mut Out, t: i64, i: usize, epoch: u32) {
    let inst = &w.insts[i];
    if inst.epoch != epoch || !inst.running || inst.pool.is_some() {
        return;
    }
    let g = inst.group;
    let Some(k) = w.org.groups[g].pool.iter().position(|p| p.holder.is_none()) else {
        return;
    };
    let Some(old) = inst.public_ip.clone() else {
        return;
    };
    let (alloc, eip) = (
        w.org.groups[g].pool[k].alloc.clone(),
        w.org.groups[g].pool[k].eip.clone(),
    );
    let mut setup: Vec<String> = w.org.groups[g].pool[k]
        .released_by
        .take()
        .into_iter()
        .collect();
    let rid = w.rng.uuid();
    let assoc = format!("eipassoc-0{}", w.rng.hex::<16>().as_str());
    let req = format!(
        "{{\"allocationId\":\"{alloc}\",\"instanceId\":\"{}\",\"allowReassociation\":true}}",
        w.insts[i].id
    );
    let resp = format!(
        "{{\"requestId\":\"{}\",\"_return\":true,\"associationId\":\"{assoc}\"}}",
        rid.as_str()
    );
    ec2::instance_call(
        w,
        out,
        t,
        i,
        "AssociateAddress",
        &req,
        &resp,
        rid.as_str(),
        &super::clients::CLI_INSTANCE,
    );
    setup.push(out.last_id.clone());
    w.org.groups[g].pool[k].holder = Some(i);
    let key = w.insts[i].key(t, false).id.clone();
    // Calls already on their way when the address changed.
    out.capture();
    for _ in 0..w.rng.range(0, 3) {
        let at = t + w.rng.range(1, 12);
        super::procs::agent_call_from(w, out, at, i, &old);
    }
    let inflight = out.take_capture();
    let id = w.insts[i].id.clone();
    out.benign(
        "elastic-ip-handover",
        inflight,
        Some(&id),
        &key,
        &old,
        None,
        t,
    );
    let inst = &mut w.insts[i];
    inst.pool = Some((k, assoc));
    inst.public_ip = Some(eip.clone());
    for sp in inst
        .spans
        .iter_mut()
        .filter(|sp| sp.to.is_empty() && sp.kind == "public-ip")
    {
        sp.to = clock::iso_string(t);
    }
    inst.open_span(t, eip, "elastic-ip");
    inst.notes.push(("elastic-ip-handover", setup));
}
