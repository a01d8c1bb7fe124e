//! `trailhound simulate`: a realistic organisation's CloudTrail with labelled attacks, and its ground truth.
//!
//! The organisation (accounts, VPCs with NAT gateways and VPC endpoints, roles, people, workload groups)
//! is built from the seed; then event time walks forward through a scheduler of actors — instance
//! processes, the EC2 service refreshing credentials, Auto Scaling, people, Lambda/ECS/EKS/CI, AWS
//! services, attack scenarios — and every record is delivered into 5-minute files as CloudTrail does
//! (`out`, `s3`). One seed gives byte-identical output; memory is bounded by the organisation's size and
//! the 15-minute delivery horizon, not by the number of events.
//!
//! Module map: `org` (the organisation), `addr` (addresses from published ranges), `fleet` + `ec2`
//! (instances and their EC2/STS records), `people`, `services`, `attacks` + `attack_ops` (scenarios),
//! `calls` + `clients` (API calls and user agents), `record` (the JSON writer), `out` + `s3` (delivery),
//! `truth` (ground truth), `world` (state and scheduler).
use std::io;
use std::path::PathBuf;

mod addr;
mod attack_abuse;
mod attack_chain;
mod attack_ops;
mod attacks;
mod calls;
mod cicd;
mod clients;
mod clock;
mod ec2;
mod fleet;
mod manifest;
mod network;
mod operator;
mod org;
mod out;
mod people;
mod presign;
mod procs;
mod profiles;
mod record;
mod rng;
mod roster;
mod s3;
mod services;
mod session;
mod specs;
mod sts;
#[cfg(test)]
mod tests;
mod truth;
mod world;

pub use attacks::KINDS;
pub use clock::parse_iso;
pub use out::Stats;
pub use truth::{
    Benign, Expected, Scenario, TruthEvent, BEHAVIOURS, BENIGN_FILE, DIR as TRUTH_DIR, EVENTS_FILE,
    MANIFEST_FILE, SCENARIOS_FILE,
};

use ec2::By;
use org::{Mode, Org, SPECS};
use world::{Actor, Sched, World};

/// Output form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The S3 layout of an organisation trail (`AWSLogs/<org>/<account>/CloudTrail/<region>/…json.gz`).
    S3,
    /// One NDJSON stream, `events.ndjson.gz`.
    Ndjson,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Output directory.
    pub out: PathBuf,
    /// Seed: the same seed gives byte-identical output.
    pub seed: u64,
    /// About how many events to write (the organisation is sized for it).
    pub events: u64,
    /// Simulated duration, in days.
    pub days: f64,
    /// Number of accounts in the organisation (at least 3).
    pub accounts: usize,
    /// Output form.
    pub format: Format,
    /// First second of the simulation (seconds since the epoch).
    pub start: i64,
    /// gzip level of the log files (1 is fast, 9 small).
    pub gzip_level: u32,
    /// Write hourly digest files beside the logs.
    pub digests: bool,
    /// Rounds of attack scenarios (each round runs every kind once); `None`: one per 5 million events.
    pub rounds: Option<usize>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            out: PathBuf::from("sim"),
            seed: 1,
            events: 100_000,
            days: 1.0,
            accounts: 6,
            format: Format::S3,
            start: 1_791_158_400,
            gzip_level: 1,
            digests: false,
            rounds: None,
        }
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Counters.
    pub stats: Stats,
    /// The organisation's id.
    pub org_id: String,
    /// Accounts.
    pub accounts: usize,
    /// Instances launched or running during the run.
    pub instances: usize,
    /// Scenarios written.
    pub scenarios: usize,
    /// Simulated start and end (seconds since the epoch).
    pub start: i64,
    /// Simulated end.
    pub end: i64,
}

/// Rough events per hour per instance, per service slot unit, per person, at scale 1 (measured).
const PER_INSTANCE: f64 = 1.27;
const PER_UNIT: f64 = 3.2;

/// Runs the simulation described by `s`, writing logs and ground truth under `s.out`.
pub fn run(s: &Settings) -> io::Result<Summary> {
    let start = s.start;
    let end = start + (s.days.max(0.01) * 86_400.0) as i64;
    let hours = (end - start) as f64 / 3600.0;
    let per_hour = s.events as f64 / hours;
    let instances = (per_hour / 150.0).round().clamp(8.0, 200_000.0) as u32;
    let mut rng = rng::Rng::new(s.seed);
    let org = Org::build(&mut rng, s.accounts.max(3), instances);
    let groups = org.groups.len();
    let mut w = World {
        org,
        rng,
        insts: vec![],
        live: vec![vec![]; groups],
        scale: 1.0,
        start,
        hosts: world::hosts(),
        parts: Default::default(),
        msg: String::new(),
    };
    let mut slots = services::slots(&w);
    let base: f64 = w
        .org
        .groups
        .iter()
        .map(|g| f64::from(g.size) * (SPECS[g.spec].rate + 18.0) * PER_INSTANCE)
        .sum::<f64>()
        + slots.iter().map(|x| x.rate * PER_UNIT).sum::<f64>()
        + (w.org.users.len() + w.org.people.len()) as f64 * 2.5;
    w.scale = (per_hour / base.max(1.0)).clamp(0.02, 100.0);

    let truth = truth::Truth::create(Some(&s.out))?;
    let sink: Box<dyn s3::Sink> = match s.format {
        Format::S3 => Box::new(s3::S3Layout::new(
            &s.out,
            &w.org.id,
            s.gzip_level,
            s.digests,
        )),
        Format::Ndjson => Box::new(s3::Ndjson::create(
            &s.out.join("events.ndjson.gz"),
            s.gzip_level,
        )?),
    };
    let account_ids = w.org.accounts.iter().map(|a| a.id.clone()).collect();
    let regions = addr::EC2.iter().map(|(r, _)| *r).collect();
    let mut out = out::Out::new(sink, s.seed, account_ids, regions, start, truth);
    let mut sched = Sched::default();
    sched.at(start, Actor::Bootstrap);
    for k in 0..slots.len() {
        let t = start + w.rng.range(60, 3600);
        sched.at(t, Actor::Service(k));
    }
    for u in 0..w.org.users.len() {
        let t = start + w.rng.range(0, 3 * 3600);
        sched.at(t, Actor::User(u));
    }
    for p in 0..w.org.people.len() {
        let t = start + w.rng.range(0, 3 * 3600);
        sched.at(t, Actor::Person(p));
    }
    for g in 0..groups {
        let t = start + w.rng.range(1800, 3600);
        sched.at(t, Actor::Scaler { group: g });
        if SPECS[w.org.groups[g].spec].app == "bastion" {
            let t = start + w.rng.range(3600, 3 * 3600);
            sched.at(t, Actor::Bastion { group: g });
        }
    }
    let rounds = s.rounds.unwrap_or(1 + (s.events / 5_000_000) as usize);
    let plans = attacks::plans(&mut w.rng, start, end, rounds);
    for (k, p) in plans.iter().enumerate() {
        sched.at(p.at, Actor::Attack(k));
    }
    let mut n = 0u64;
    while let Some((t, actor)) = sched.pop() {
        if t >= end {
            break;
        }
        out.advance(t)?;
        match actor {
            Actor::Bootstrap => bootstrap(&mut w, &mut out, &mut sched, t),
            Actor::Proc { inst, epoch, kind } => {
                procs::proc_call(&mut w, &mut out, &mut sched, t, inst, epoch, kind)
            }
            Actor::Presign { inst, epoch } => {
                presign::presign(&mut w, &mut out, &mut sched, t, inst, epoch)
            }
            Actor::Associate { inst, epoch } => fleet::associate(&mut w, &mut out, t, inst, epoch),
            Actor::Bastion { group } => operator::bastion(&mut w, &mut out, &mut sched, t, group),
            Actor::Refresh { inst, epoch } => {
                fleet::refresh(&mut w, &mut out, &mut sched, t, inst, epoch)
            }
            Actor::Scaler { group } => scaler(&mut w, &mut out, &mut sched, t, group),
            Actor::StopStart { inst } => fleet::stop_start(&mut w, &mut out, &mut sched, t, inst),
            Actor::User(u) => people::user(&mut w, &mut out, &mut sched, t, u),
            Actor::Person(p) => people::person(&mut w, &mut out, &mut sched, t, p),
            Actor::Service(k) => services::fire(&mut w, &mut out, &mut sched, t, k, &mut slots),
            Actor::Attack(plan) => attacks::run(&mut w, &mut out, &mut sched, t, &plans[plan]),
        }
        n += 1;
        if n.is_multiple_of(65_536) {
            sched.compact();
        }
    }
    out.finish()?;
    let manifest = manifest::build(&w, &out.stats, end);
    out.truth.finish(&manifest)?;
    write_config(s, &w.org)?;
    let scenarios = out
        .truth
        .scenarios
        .iter()
        .filter(|x| x.malicious_events > 0)
        .count();
    Ok(Summary {
        stats: out.stats.clone(),
        org_id: w.org.id.clone(),
        accounts: w.org.accounts.len(),
        instances: w.insts.len(),
        scenarios,
        start,
        end,
    })
}

/// `ground-truth/trailhound.toml`: a scan configuration naming the organisation's accounts (what a
/// real deployment would configure), so `AffiliatedAccount` can be told from `InsideAWS`.
fn write_config(s: &Settings, org: &Org) -> io::Result<()> {
    let accounts: Vec<String> = org
        .accounts
        .iter()
        .map(|a| format!("\"{}\"", a.id))
        .collect();
    let mut text = format!(
        "# Scan configuration for this simulation (organisation {}): its member accounts.\n# From the output directory: trailhound scan AWSLogs --config {}/trailhound.toml\n[organization]\naccounts = [{}]\n",
        org.id,
        truth::DIR,
        accounts.join(", ")
    );
    // The CI/CD pipeline's chain (cicd.rs: GitHub OIDC into the shared deployer role, then a member's
    // `ci-deploy`) is documented automation, allow-listed as a real deployment would: its
    // `RoleChaining` findings are low, not alerts (a run shorter than the learning days cannot learn it).
    for a in org.accounts.iter().filter(|a| a.kind == org::Kind::Shared) {
        text.push_str(&format!(
            "\n[[chains.allow]]\norigin = \"web_identity_federation\"\nroles = [\"arn:aws:iam::{}:role/github-actions-deployer\", \"arn:aws:iam::*:role/ci-deploy\"]\nreason = \"GitHub Actions deploy pipeline (OIDC, then each account's ci-deploy role)\"\n",
            a.id
        ));
    }
    std::fs::write(s.out.join(truth::DIR).join("trailhound.toml"), text)
}

/// The first minutes: NAT gateways and VPC endpoints, then the initial fleet (a quarter already running
/// before the logs begin).
fn bootstrap(w: &mut World, out: &mut out::Out, s: &mut Sched, t: i64) {
    let mut at = t + 5;
    for n in 0..w.org.nets.len() {
        let has_nat = w
            .org
            .groups
            .iter()
            .any(|g| g.net == n && SPECS[g.spec].mode == Mode::Nat);
        if has_nat {
            for k in 0..w.org.nets[n].nats.len() {
                network::nat_gateway(w, out, at, n, k);
                at += w.rng.range(2, 20);
            }
        }
        for v in 0..w.org.nets[n].vpces.len() {
            network::vpc_endpoint(w, out, at, n, v);
            at += w.rng.range(1, 8);
        }
    }
    for g in 0..w.org.groups.len() {
        let spec = &SPECS[w.org.groups[g].spec];
        for k in 0..w.org.groups[g].size {
            let i = if k % 4 == 3 || (spec.weight == 0 && w.rng.chance(0.5)) {
                let i = fleet::create(w, t, g, true);
                fleet::schedule(w, s, i);
                i
            } else {
                let when = at + 60 + w.rng.range(0, 1500);
                fleet::launch(
                    w,
                    out,
                    s,
                    when,
                    g,
                    if spec.asg { By::Asg } else { By::Admin },
                )
            };
            if spec.stop_start {
                let next = t + w.rng.range(3600, 12 * 3600);
                s.at(next, Actor::StopStart { inst: i });
            }
        }
    }
}

/// Auto Scaling follows the day; hand-made instances are occasionally replaced by hand.
fn scaler(w: &mut World, out: &mut out::Out, s: &mut Sched, t: i64, g: usize) {
    let (size, region, spec) = (
        w.org.groups[g].size,
        w.org.groups[g].region,
        &SPECS[w.org.groups[g].spec],
    );
    if spec.asg {
        let desired =
            ((f64::from(size) * (0.5 + 0.5 * World::diurnal(t, region))).round() as usize).max(1);
        let live = w.live[g].len();
        if live < desired {
            fleet::launch(w, out, s, t, g, By::Asg);
        } else if live > desired {
            let oldest = w.live[g][0];
            fleet::terminate(w, out, t, oldest, By::Asg);
        }
    } else if spec.weight > 0 && !spec.stop_start && w.rng.chance(0.02) && !w.live[g].is_empty() {
        let old = w.live[g][0];
        fleet::terminate(w, out, t, old, By::Admin);
        let at = t + w.rng.range(30, 300);
        fleet::launch(w, out, s, at, g, By::Admin);
    }
    let next = t + w.rng.range(600, 2700);
    s.at(next, Actor::Scaler { group: g });
}
