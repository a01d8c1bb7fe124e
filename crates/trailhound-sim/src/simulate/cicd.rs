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

/// A GitHub Actions pipeline run: OIDC into `github-actions-deployer`, then `ci-deploy` in a member.
pub(crate) fn github(w: &mut World, out: &mut Out, t: i64, shared: usize, deployer: usize) {
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
        profiles::CI,
        n,
        "deploy",
    );
}
