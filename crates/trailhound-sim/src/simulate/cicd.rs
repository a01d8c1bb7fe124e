//! CI/CD: GitHub Actions obtaining credentials through OIDC (`AssumeRoleWithWebIdentity` into the
//! shared-services deployer role, from GitHub-hosted runners in Azure), then a member account's
//! `ci-deploy` role — a legitimate, recurring depth-2 chain — and Jenkins assuming the same deploy roles
//! with its own instance credentials, from its own address.
use super::addr;
use super::calls::Svc;
use super::clients::{self, Client};
use super::org::{Kind, SPECS};
use super::out::Out;
use super::profiles;
use super::record::Who;
use super::services::calls_with;
use super::session::Owned;
use super::sts::{assume, web_identity};
use super::world::World;

/// The next run of a pipeline that ran at `t` and runs every `period` seconds in working hours
/// (weekdays 08–19, New York) and once a night at 02:00; `jitter` seconds of queueing.
pub(crate) fn next_run(t: i64, period: i64, jitter: i64) -> i64 {
    let soon = t + period + jitter;
    if super::people::until_work(soon, 0) == 0 {
        return soon;
    }
    let work = soon + super::people::until_work(soon, 0);
    // 02:00 New York (UTC-5) is 07:00 UTC.
    let day = 86_400;
    let mut night = t - t.rem_euclid(day) + 7 * 3600;
    while night <= t + 600 {
        night += day;
    }
    work.min(night) + jitter.abs()
}

/// A GitHub Actions pipeline run: OIDC into `github-actions-deployer`, then `ci-deploy` in member `to`,
/// always the same steps with the same client (a recurring chain, issue 13).
pub(crate) fn github(
    w: &mut World,
    out: &mut Out,
    t: i64,
    shared: usize,
    deployer: usize,
    to: usize,
) {
    out.capture();
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
    let key = deploy_to(
        w,
        out,
        t + 8,
        &sess,
        None,
        shared,
        &ip,
        &clients::GHA_CLI,
        Some(to),
    );
    let ids = out.take_capture();
    out.benign(
        "recurring-chain",
        ids,
        None,
        &key,
        &ip,
        Some(clients::GHA_CLI.ua),
        t,
    );
}

/// Jenkins assuming a member's `ci-deploy` role with its own instance credentials, from its own address.
pub(crate) fn jenkins(w: &mut World, out: &mut Out, t: i64, shared: usize) {
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
    deploy_to(w, out, t, caller, delivery, from, ip, client, None);
}

/// Assumes `ci-deploy` in member `to` (a random member when `None`) and deploys; returns the deploy
/// session's key. A pipeline (`to` given) always makes the same calls; Jenkins' jobs vary.
#[allow(clippy::too_many_arguments)]
fn deploy_to(
    w: &mut World,
    out: &mut Out,
    t: i64,
    caller: &Owned,
    delivery: Option<&'static str>,
    from: usize,
    ip: &str,
    client: &'static Client,
    to: Option<usize>,
) -> String {
    let members: Vec<usize> = (0..w.org.accounts.len())
        .filter(|a| !matches!(w.org.accounts[*a].kind, Kind::Management | Kind::Shared))
        .collect();
    if members.is_empty() {
        return String::new();
    }
    let fixed = to.is_some();
    let to = to.unwrap_or_else(|| members[w.rng.index(members.len())]);
    let Some(role) = w.org.role(to, "ci-deploy") else {
        return String::new();
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
    if fixed {
        // The same steps every run: one of each call of the CI profile, in order.
        for k in 0..profiles::CI.len() {
            calls_with(
                w,
                out,
                t + 3 + k as i64 * 4,
                &target.view(),
                to,
                region,
                ip,
                client,
                std::slice::from_ref(&profiles::CI[k]),
                1,
                "deploy",
            );
        }
    } else {
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
            profiles::CI,
            n,
            "deploy",
        );
    }
    target.key.clone()
}
