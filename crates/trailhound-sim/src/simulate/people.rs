//! People: IAM users with long-term keys working from the office or home (CLI, console sign-ins), an
//! on-premises backup agent, and SSO users signing in through SAML (`AssumeRoleWithSAML`) and working in
//! the console. Activity follows the working day of the account's home region.
use super::calls::{self, Api, Ctx, Svc};
use super::clients::{self, Client};
use super::clock;
use super::out::Out;
use super::profiles;
use super::record::{Rec, Who};
use super::session::{self, Owned};
use super::world::{call, Actor, Call, Sched, World};

const OFFSET: [i64; 6] = [-5, -5, -8, 0, 1, 10];

/// Local hour and weekday (0 = Monday) at `t` in region `region`.
fn local(t: i64, region: usize) -> (i64, i64) {
    let lt = t + OFFSET[region % 6] * 3600;
    (
        lt.rem_euclid(86_400) / 3600,
        (lt.div_euclid(86_400) + 3).rem_euclid(7),
    )
}

/// Seconds until the next working hour (weekdays 08–19 local), 0 if working now.
pub(crate) fn until_work(t: i64, region: usize) -> i64 {
    let (h, wd) = local(t, region);
    if wd < 5 && (8..19).contains(&h) {
        return 0;
    }
    let mut x = t - t.rem_euclid(3600) + 3600;
    for _ in 0..24 * 8 {
        let (h, wd) = local(x, region);
        if wd < 5 && (8..19).contains(&h) {
            return x - t;
        }
        x += 3600;
    }
    3600
}

fn pick(w: &mut World, table: &'static [(u32, Api)]) -> &'static Api {
    let mut weights = [0u32; 16];
    for (k, (wt, _)) in table.iter().enumerate().take(16) {
        weights[k] = *wt;
    }
    &table[w.rng.weighted(&weights[..table.len().min(16)])].1
}

/// A working session of IAM user `u`, then the next one.
pub(crate) fn user(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, u: usize) {
    let acct = w.org.users[u].acct;
    let region = w.org.accounts[acct].regions[0];
    let bot = w.org.users[u].name == "backup-agent";
    if !bot {
        let wait = until_work(t, region);
        if wait > 0 {
            s.at(t + wait + w.rng.range(0, 5400), Actor::User(u));
            return;
        }
    }
    let console = w.org.users[u].console && w.rng.chance(0.3);
    let ip = w.org.users[u].ips[if w.rng.chance(0.8) {
        0
    } else {
        w.org.users[u].ips.len() - 1
    }]
    .clone();
    let n = if bot {
        w.rng.range(20, 80)
    } else {
        w.rng.range(3, 25)
    };
    let mut at = t;
    let mut console_session = None;
    if console {
        console_login(w, out, at, u, &ip);
        let num = w.org.accounts[acct].num;
        console_session = Some((
            w.rng.aws_key("ASIA", num).as_str().to_string(),
            clock::iso_string(at),
        ));
    }
    for _ in 0..n {
        at += w.rng.range(2, 40);
        let api = if bot {
            &BACKUP
        } else {
            pick(w, profiles::PERSON)
        };
        let user = &w.org.users[u];
        let a = &w.org.accounts[acct];
        let (key, client, from_console): (&str, &Client, _) = match &console_session {
            Some((k, created)) => (
                k.as_str(),
                if api.svc == Svc::Ec2 {
                    &clients::CONSOLE_EC2
                } else {
                    &clients::AWS_INTERNAL
                },
                Some((created.as_str(), true)),
            ),
            None => (user.key.as_str(), user.client, None),
        };
        let who = Who::User {
            principal: &user.id,
            arn: &user.arn,
            account: &a.id,
            key: Some(key),
            name: &user.name,
            console: from_console,
        };
        let reg = if matches!(api.svc, Svc::Iam | Svc::Sts) {
            0
        } else {
            region
        };
        let bucket = format!("{}-backups-{}", a.name, &a.id[8..]);
        let ctx = Ctx {
            account: &a.id,
            region: World::region(reg),
            env: &a.name,
            app: "ops",
            instance: "",
            eni: "",
            bucket: &bucket,
            kms_key: "",
        };
        let deny = w.rng.chance(0.03);
        let c = Call {
            t: at,
            who,
            api,
            ctx,
            ip: &ip,
            vpce: None,
            client,
            acct,
            region: reg,
            deny,
            arn: &user.arn,
        };
        call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    }
    let next = if bot {
        86_400 - 1800 + w.rng.range(0, 3600)
    } else {
        w.rng.range(3600, 5 * 3600)
    };
    s.at(at + next, Actor::User(u));
}

static BACKUP: Api = Api {
    svc: Svc::S3,
    name: "PutObject",
    ro: false,
    data: true,
    req: calls::Req::S3Put,
};

fn console_login(w: &mut World, out: &mut Out, t: i64, u: usize, ip: &str) {
    let user = &w.org.users[u];
    let a = &w.org.accounts[user.acct];
    let event_id = w.rng.uuid();
    let add = format!("{{\"LoginTo\":\"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_{}\",\"MobileVersion\":\"No\",\"MFAIdentifier\":\"arn:aws:iam::{}:mfa/{}\",\"MFAUsed\":\"Yes\"}}", w.rng.hex::<16>().as_str(), a.id, user.name);
    let who = Who::User {
        principal: &user.id,
        arn: &user.arn,
        account: &a.id,
        key: None,
        name: &user.name,
        console: None,
    };
    let mut r = Rec::api(
        t,
        who,
        "signin.amazonaws.com",
        "ConsoleLogin",
        "us-east-1",
        ip,
        clients::BROWSER.ua,
        &a.id,
        event_id.as_str(),
    );
    r.response = Some("{\"ConsoleLogin\":\"Success\"}");
    r.additional = Some(&add);
    r.read_only = false;
    r.event_type = "AwsConsoleSignIn";
    r.tls = Some(("TLSv1.3", "TLS_AES_128_GCM_SHA256", "signin.aws.amazon.com"));
    out.emit(&r, user.acct, 0, None);
}

/// An SSO user signing in to one of their accounts through SAML and working in the console.
pub(crate) fn person(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, p: usize) {
    let wait = until_work(t, 0);
    if wait > 0 {
        s.at(t + wait + w.rng.range(0, 7200), Actor::Person(p));
        return;
    }
    let role = w.org.people[p].roles[w.rng.index(w.org.people[p].roles.len())];
    let acct = w.org.roles[role].acct;
    let ip = w.org.people[p].ips[usize::from(w.rng.chance(0.25))].clone();
    let email = w.org.people[p].email.clone();
    let sess = Owned::new(&w.org, &mut w.rng, role, &email, t);
    saml(w, out, t, &sess, acct, &ip);
    let region = w.org.accounts[acct].regions.first().copied().unwrap_or(0);
    let n = w.rng.range(4, 30);
    let mut at = t + 5;
    let read_only = w.org.roles[role].name.contains("ReadOnly");
    for _ in 0..n {
        at += w.rng.range(3, 90);
        let api = pick(w, profiles::PERSON);
        let a = &w.org.accounts[acct];
        let client = if api.svc == Svc::Ec2 {
            &clients::CONSOLE_EC2
        } else {
            &clients::AWS_INTERNAL
        };
        let v = sess.view();
        let reg = if matches!(api.svc, Svc::Iam | Svc::Sts) {
            0
        } else {
            region
        };
        let ctx = Ctx {
            account: &a.id,
            region: World::region(reg),
            env: &a.name,
            app: "console",
            instance: "",
            eni: "",
            bucket: "",
            kms_key: "",
        };
        let deny = w.rng.chance(if read_only { 0.05 } else { 0.01 });
        let c = Call {
            t: at,
            who: Who::Role(&v),
            api,
            ctx,
            ip: &ip,
            vpce: None,
            client,
            acct,
            region: reg,
            deny,
            arn: &sess.arn,
        };
        call(&mut w.rng, &mut w.parts, &mut w.msg, &w.hosts, out, c, None);
    }
    s.at(at + w.rng.range(2 * 3600, 7 * 3600), Actor::Person(p));
}

/// `AssumeRoleWithSAML` issuing `sess` (the IAM Identity Center SAML flow).
fn saml(w: &mut World, out: &mut Out, t: i64, sess: &Owned, acct: usize, ip: &str) {
    let q = w.org.saml_qualifier.clone();
    let a = &w.org.accounts[acct];
    let provider = format!(
        "arn:aws:iam::{}:saml-provider/AWSSSO_{}_DO_NOT_DELETE",
        a.id,
        &w.org.id[2..]
    );
    let req = format!("{{\"sAMLAssertionID\":\"_{}\",\"roleSessionName\":\"{}\",\"durationSeconds\":3600,\"roleArn\":\"{}\",\"principalArn\":\"{provider}\"}}", w.rng.hex::<32>().as_str(), sess.name, sess.role_arn);
    let mut resp = String::with_capacity(1024);
    resp.push_str("{\"subjectType\":\"persistent\",\"issuer\":\"https://portal.sso.us-east-1.amazonaws.com/saml/assertion/");
    resp.push_str(w.rng.b64::<40>().as_str());
    resp.push_str("\",");
    let mut creds = String::new();
    session::credentials(
        &mut creds,
        &mut w.rng,
        &sess.key,
        t,
        3600,
        Some((&sess.principal, &sess.arn)),
    );
    resp.push_str(&creds[1..creds.len() - 1]);
    resp.push_str(&format!(",\"nameQualifier\":\"{q}\",\"subject\":\"{}\",\"audience\":\"https://signin.aws.amazon.com/saml\"}}", sess.name));
    let mut res = String::new();
    session::role_resource(&mut res, &a.id, &sess.role_arn);
    res.pop();
    res.push_str(&format!(
        ",{{\"accountId\":\"{}\",\"type\":\"AWS::IAM::SAMLProvider\",\"ARN\":\"{provider}\"}}]",
        a.id
    ));
    let principal = format!("{q}:{}", sess.name);
    let event_id = w.rng.uuid();
    let rid = w.rng.uuid();
    let who = Who::Saml {
        principal: &principal,
        name: &sess.name,
        provider: &q,
    };
    let mut r = Rec::api(
        t,
        who,
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        "us-east-1",
        ip,
        clients::BROWSER.ua,
        &a.id,
        event_id.as_str(),
    );
    r.request = Some(&req);
    r.response = Some(&resp);
    r.resources = Some(&res);
    r.request_id = Some(rid.as_str());
    out.emit(&r, acct, 0, None);
}
