//! Labelled attack scenarios, in the spirit of Stratus Red Team and the Det{R}ails simulations: stolen
//! instance credentials used outside AWS, from another cloud, from an EC2 host or a VPC endpoint of an
//! account outside the organisation, from an affiliated member account, through SSRF from the instance
//! itself, by an attacker who gets there first; role chains from stolen instance credentials and from a
//! leaked key ending in persistence; an attack-tool burst followed by privilege escalation; defence evasion.
//!
//! Each scenario is registered in the ground truth, and every malicious event it writes carries the
//! finding type SPEC §2 expects for it. The victim keeps working normally meanwhile.
use super::addr;
use super::attack_ops::{self as ops, Cred, Op};
use super::clients::{attacker, Client};
use super::ec2::By;
use super::fleet;
use super::org::{Kind, Mode, SPECS};
use super::out::Out;
use super::rng::Rng;
use super::truth::Scenario;
use super::world::{Sched, World};

/// Scenario kinds, in the order one round runs them.
pub const KINDS: &[&str] = &[
    "exfil-outside-aws",
    "exfil-other-cloud",
    "exfil-inside-aws",
    "exfil-external-vpc-endpoint",
    "exfil-affiliated-account",
    "ssrf-odd-user-agent",
    "attacker-first",
    "chain-from-instance",
    "chain-from-leaked-key",
    "attack-tool-privesc",
    "defense-evasion",
    "operator-copies-credentials",
];

pub(crate) const OUTSIDE: &str = "InstanceCredentialExfiltration.OutsideAWS";
pub(crate) const INSIDE: &str = "InstanceCredentialExfiltration.InsideAWS";
pub(crate) const AFFILIATED: &str = "InstanceCredentialExfiltration.AffiliatedAccount";
pub(crate) const CHAINING: &str = "RoleChaining";
pub(crate) const SSRF: &str = "SsrfUserAgentAnomaly";
pub(crate) const TOOL: &str = "AttackToolUserAgent";
pub(crate) const PERSISTENCE: &str = "Persistence";
pub(crate) const PRIVESC: &str = "PrivilegeEscalation";
pub(crate) const EVASION: &str = "DefenseEvasion";

/// One planned scenario.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Index into `KINDS`.
    pub kind: usize,
    /// When it starts.
    pub at: i64,
    /// Its number (1-based, in the scenario id).
    pub n: usize,
    /// Variant selector (addresses, tools, chain depth).
    pub variant: u64,
}

/// `rounds` rounds of every kind, spread over the run after the organisation has warmed up.
pub(crate) fn plans(rng: &mut Rng, start: i64, end: i64, rounds: usize) -> Vec<Plan> {
    let total = KINDS.len() * rounds;
    let warm = ((end - start) / 10).clamp(1800, 4 * 3600);
    let (first, last) = (start + warm, (end - 3600).max(start + warm + 600));
    let step = (last - first) / total.max(1) as i64;
    (0..total)
        .map(|n| Plan {
            kind: n % KINDS.len(),
            at: first + step * n as i64 + rng.range(0, step.max(2) / 2),
            n: n + 1,
            variant: (n / KINDS.len()) as u64 * 7 + rng.below(1000),
        })
        .collect()
}

/// A running instance that has been calling for a while, of a group matching `pred`.
fn victim(
    w: &mut World,
    t: i64,
    pred: impl Fn(&super::org::Spec, Kind, usize) -> bool,
) -> Option<usize> {
    let mut pool = vec![];
    for (g, live) in w.live.iter().enumerate() {
        let grp = &w.org.groups[g];
        if !pred(&SPECS[grp.spec], w.org.accounts[grp.acct].kind, grp.acct) {
            continue;
        }
        pool.extend(live.iter().copied().filter(|i| {
            let inst = &w.insts[*i];
            inst.running && inst.quiet_until + 900 < t
        }));
    }
    (!pool.is_empty()).then(|| pool[w.rng.index(pool.len())])
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    w: &World,
    p: &Plan,
    acct: usize,
    region: usize,
    description: String,
    victim: &str,
    instance: Option<&str>,
    credential: &str,
    ip: &str,
    network: &str,
) -> Scenario {
    Scenario {
        id: format!("S{:02}-{}", p.n, KINDS[p.kind]),
        kind: KINDS[p.kind].to_string(),
        description,
        account_id: w.org.accounts[acct].id.clone(),
        region: World::region(region).to_string(),
        victim: victim.to_string(),
        instance_id: instance.map(str::to_string),
        credential: credential.to_string(),
        attacker_ip: ip.to_string(),
        attacker_network: network.to_string(),
        first_event_time: String::new(),
        last_event_time: String::new(),
        malicious_events: 0,
        expected: vec![],
    }
}

/// Runs scenario `plan` at `t`.
pub(crate) fn run(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, plan: &Plan) {
    let kind = KINDS[plan.kind];
    let any = |_: &super::org::Spec, _: Kind, _: usize| true;
    let not_isolated =
        |sp: &super::org::Spec, _: Kind, _: usize| sp.mode != Mode::Isolated && sp.app != "jenkins";
    match kind {
        "exfil-outside-aws"
        | "exfil-other-cloud"
        | "exfil-inside-aws"
        | "exfil-external-vpc-endpoint" => {
            let Some(i) = victim(w, t, any) else { return };
            let (ip, network, vpce, expected, client): (
                String,
                String,
                Option<(String, String)>,
                &str,
                &Client,
            ) = match kind {
                "exfil-outside-aws" => {
                    let (ip, label) = addr::hostile(&mut w.rng);
                    (
                        ip.to_string(),
                        label.to_string(),
                        None,
                        OUTSIDE,
                        &attacker::MAC_CLI,
                    )
                }
                "exfil-other-cloud" => {
                    let (ip, provider, location) = addr::cloud(&mut w.rng, plan.variant as usize);
                    (
                        ip.to_string(),
                        format!("{provider} {location}"),
                        None,
                        OUTSIDE,
                        &attacker::VPS_BOTO3,
                    )
                }
                "exfil-inside-aws" => {
                    let r = w.rng.index(addr::EC2.len());
                    let ip = addr::ec2(&mut w.rng, r).to_string();
                    (
                        ip,
                        format!(
                            "AWS EC2 {} (account {}, outside the organisation)",
                            addr::EC2[r].0,
                            w.org.outsiders[0].id
                        ),
                        None,
                        INSIDE,
                        &attacker::VPS_BOTO3,
                    )
                }
                _ => {
                    let ip = format!("172.31.{}.{}", w.rng.range(0, 95), w.rng.range(4, 250));
                    let vpce = format!("vpce-0{}", w.rng.hex::<16>().as_str());
                    let acct = w.org.outsiders[1].id.clone();
                    (
                        ip,
                        format!("VPC endpoint {vpce} of account {acct} (outside the organisation)"),
                        Some((vpce, acct)),
                        INSIDE,
                        &attacker::VPS_BOTO3,
                    )
                }
            };
            let v1 = !plan.variant.is_multiple_of(3);
            let sev = "high";
            let desc = format!(
                "Instance credentials ({}) stolen from the instance and used from {network}.",
                if v1 { "IMDSv1" } else { "IMDSv2" }
            );
            steal_and_use(
                w, out, t, plan, i, v1, &ip, vpce, client, expected, sev, &network, desc,
            );
        }
        "exfil-affiliated-account" => {
            let Some(i) = victim(w, t, any) else { return };
            let victim_acct = w.org.groups[w.insts[i].group].acct;
            let Some(host) = victim(w, t, |_, _, a| a != victim_acct) else {
                return;
            };
            let host_acct = w.org.groups[w.insts[host].group].acct;
            let (ip, vpce) = w.insts[host].egress(&w.org, super::calls::Svc::Sts);
            let vpce = vpce.map(|v| (v.id.clone(), w.org.accounts[host_acct].id.clone()));
            let ip = ip.to_string();
            let network = match &vpce {
                Some((id, a)) => format!(
                    "VPC endpoint {id} of member account {a} (instance {})",
                    w.insts[host].id
                ),
                None => format!(
                    "egress of instance {} in member account {}",
                    w.insts[host].id, w.org.accounts[host_acct].id
                ),
            };
            let desc = format!(
                "Instance credentials used from another account of the organisation: {network}."
            );
            steal_and_use(
                w,
                out,
                t,
                plan,
                i,
                true,
                &ip,
                vpce,
                &attacker::GO_TOOL,
                AFFILIATED,
                "medium",
                &network,
                desc,
            );
        }
        "ssrf-odd-user-agent" => {
            let Some(i) = victim(w, t, not_isolated) else {
                return;
            };
            let client = if plan.variant.is_multiple_of(2) {
                &attacker::CURL
            } else {
                &attacker::PY_REQUESTS
            };
            ops::ssrf(w, out, t, plan, i, client);
        }
        "attacker-first" => {
            let Some(g) = (0..w.org.groups.len())
                .find(|g| SPECS[w.org.groups[*g].spec].app == "legacy-api")
                .or_else(|| {
                    (0..w.org.groups.len())
                        .find(|g| SPECS[w.org.groups[*g].spec].mode == Mode::Public)
                })
            else {
                return;
            };
            let by = if SPECS[w.org.groups[g].spec].asg {
                By::Asg
            } else {
                By::Admin
            };
            let i = fleet::launch(w, out, s, t, g, by);
            let (ip, label) = addr::hostile(&mut w.rng);
            let first = t + w.rng.range(12, 40);
            w.insts[i].quiet_until = w.insts[i].quiet_until.max(first + 150);
            let desc = format!("A freshly launched instance's IMDSv1 credentials are used from {label} before the instance makes any call itself (attacker first).");
            steal_and_use(
                w,
                out,
                first,
                plan,
                i,
                true,
                &ip.to_string(),
                None,
                &attacker::MAC_CLI,
                OUTSIDE,
                "high",
                label,
                desc,
            );
        }
        "chain-from-instance" => {
            let Some(i) = victim(w, t, not_isolated) else {
                return;
            };
            let (ip, provider, location) = addr::cloud(&mut w.rng, 4 + plan.variant as usize % 2);
            let depth = 2 + (plan.variant % 3) as usize;
            super::attack_chain::chain_from_instance(
                w,
                out,
                t,
                plan,
                i,
                &ip.to_string(),
                &format!("{provider} {location}"),
                depth,
            );
        }
        "chain-from-leaked-key" => {
            let (ip, label) = addr::hostile(&mut w.rng);
            let depth = 2 + ((plan.variant + 1) % 3) as usize;
            super::attack_chain::chain_from_key(w, out, t, plan, &ip.to_string(), label, depth);
        }
        "attack-tool-privesc" => {
            let (ip, label) = addr::hostile(&mut w.rng);
            let client = [&attacker::KALI_CLI, &attacker::PACU_KALI, &attacker::PARROT]
                [plan.variant as usize % 3];
            super::attack_abuse::tool_privesc(w, out, t, plan, &ip.to_string(), label, client);
        }
        "operator-copies-credentials" => {
            let Some(i) = victim(w, t, |sp, _, _| {
                sp.mode != Mode::Isolated && sp.app != "jenkins" && sp.app != "bastion"
            }) else {
                return;
            };
            super::operator::copies(w, out, t, plan, i);
        }
        "defense-evasion" => {
            let Some(i) = victim(w, t, not_isolated) else {
                return;
            };
            let (ip, label) = addr::hostile(&mut w.rng);
            super::attack_abuse::evasion(w, out, t, plan, i, &ip.to_string(), label);
        }
        _ => {}
    }
}

/// Steals instance `i`'s key and uses it from `ip` (through `vpce`): a credential check and reconnaissance.
#[allow(clippy::too_many_arguments)]
fn steal_and_use(
    w: &mut World,
    out: &mut Out,
    t: i64,
    plan: &Plan,
    i: usize,
    v1: bool,
    ip: &str,
    vpce: Option<(String, String)>,
    client: &'static Client,
    expected: &str,
    severity: &str,
    network: &str,
    desc: String,
) {
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let (acct, region) = (g.acct, g.region);
    let key = inst.key(t, v1).clone();
    let cred = Cred::Sess(
        Box::new(inst.owned(&w.org, &key, if v1 { "1.0" } else { "2.0" })),
        Some(inst.id.clone()),
    );
    let sc = scenario(
        w,
        plan,
        acct,
        region,
        desc,
        &inst.arn,
        Some(&inst.id),
        &key.id,
        ip,
        network,
    );
    let scen = out.truth.begin(sc);
    let a = ops::Attacker {
        scen,
        ip: ip.to_string(),
        vpce,
        client,
    };
    let mut at = t;
    ops::act(
        w,
        out,
        at,
        &cred,
        &a,
        Op::Api(&ops::GET_CALLER_IDENTITY),
        acct,
        0,
        expected,
        severity,
    );
    let n = 3 + w.rng.range(0, 8);
    for _ in 0..n {
        at += w.rng.range(3, 150);
        let op = ops::RECON[w.rng.index(ops::RECON.len())];
        let deny = w.rng.chance(0.3);
        let reg = if matches!(op.svc, super::calls::Svc::Iam) {
            0
        } else {
            region
        };
        ops::act(
            w,
            out,
            at,
            &cred,
            &a,
            Op::Call(&op, deny),
            acct,
            reg,
            expected,
            severity,
        );
    }
}
