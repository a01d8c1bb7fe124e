//! Presigned URLs (issue 13): web workloads sign S3 `GetObject` URLs with their instance role and hand
//! them to end users, who download from wherever they are. CloudTrail logs each download as a data event
//! with the instance's session (its key, `ec2RoleDelivery`) but the downloader's address and client, and
//! `additionalEventData.AuthenticationMethod` `QueryString`.
//!
//! Shape: real presigned records (`docs/cloudtrail-record-shapes.md` §10): `requestParameters` carries
//! `X-Amz-Date`, `bucketName`, `X-Amz-Algorithm`, `X-Amz-SignedHeaders`, `Host`, `X-Amz-Expires`, `key`
//! (CloudTrail leaves `X-Amz-Credential`, `X-Amz-Security-Token` and `X-Amz-Signature` out), the user
//! agent is bracketed as in S3 data events, and the response is `null`.
use std::fmt::Write as _;

use super::addr;
use super::clock;
use super::org::SPECS;
use super::out::Out;
use super::record::{Rec, Who};
use super::world::{Actor, Sched, World};

/// Clients of people and services downloading presigned objects.
const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
];
const SERVERS: &[&str] = &["curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1"];
/// The service's own pipeline reading its objects through its own URLs: ffmpeg (libavformat) and a
/// headless browser rendering previews. Not a raw HTTP client: a presigned request from the instance
/// itself with curl or python-requests is the SSRF pattern issue 13 keeps as a signal (a key stolen
/// through SSRF, presigned offline, fetched through the same SSRF to pass source-address conditions).
const OWN_PIPELINE: &[&str] = &[
    "Lavf/60.16.100",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
];

/// `X-Amz-Date`'s basic ISO form (`20220211T094637Z`).
fn amz_date(o: &mut String, t: i64) {
    let iso = clock::iso_string(t);
    o.extend(iso.chars().filter(|c| *c != '-' && *c != ':'));
}

/// One episode: a URL instance `i` signed at `t`, downloaded once or a few times by one client.
pub(crate) fn presign(w: &mut World, out: &mut Out, s: &mut Sched, t: i64, i: usize, epoch: u32) {
    let inst = &w.insts[i];
    if inst.epoch != epoch || !inst.running {
        return;
    }
    let g = &w.org.groups[inst.group];
    let (acct, region, rate) = (g.acct, g.region, SPECS[g.spec].presign);
    let r = w.rng.f64();
    // Who downloads: end users at home or on mobile networks (most), servers in other clouds, and now
    // and then the service itself through its own URL.
    let (ip, vpce, ua) = if r < 0.04 {
        let (ip, v) = inst.egress(&w.org, super::calls::Svc::S3);
        (
            ip.to_string(),
            v.map(|v| v.id.clone()),
            *w.rng.pick(OWN_PIPELINE),
        )
    } else if r < 0.14 {
        let k = w.rng.index(addr::CLOUD.len());
        let (ip, ..) = addr::cloud(&mut w.rng, k);
        (ip.to_string(), None, *w.rng.pick(SERVERS))
    } else {
        let ip = addr::residential(&mut w.rng).0.to_string();
        let ua = if w.rng.chance(0.9) {
            *w.rng.pick(BROWSERS)
        } else {
            *w.rng.pick(SERVERS)
        };
        (ip, None, ua)
    };
    let inst = &w.insts[i];
    let g = &w.org.groups[inst.group];
    let v1 = inst.v1_app;
    let key = inst.key(t, v1).clone();
    let session = inst.session(&w.org, &key, if v1 { "1.0" } else { "2.0" });
    let account = w.org.accounts[acct].id.clone();
    let bucket = g.bucket.clone();
    let object = format!(
        "{}/downloads/{}.{}",
        SPECS[g.spec].app,
        w.rng.hex::<20>().as_str(),
        *w.rng.pick(&["pdf", "jpg", "zip", "csv"])
    );
    let expires = *w.rng.pick(&[300, 900, 3600]);
    let rname = World::region(region);
    let host = format!("{bucket}.s3.{rname}.amazonaws.com");
    let mut req = String::with_capacity(400);
    req.push_str("{\"X-Amz-Date\":\"");
    amz_date(&mut req, t);
    let _ = write!(req, "\",\"bucketName\":\"{bucket}\",\"X-Amz-Algorithm\":\"AWS4-HMAC-SHA256\",\"X-Amz-SignedHeaders\":\"host\",\"Host\":\"{host}\",\"X-Amz-Expires\":\"{expires}\",\"key\":\"{object}\"}}");
    let res = format!("[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{bucket}/{object}\"}},{{\"accountId\":\"{account}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]");
    let bracketed = format!("[{ua}]");
    let size = 2_000 + w.rng.below(8_000_000);
    let n = 1 + usize::from(w.rng.chance(0.3)) + usize::from(w.rng.chance(0.1));
    let mut at = t + w.rng.range(1, 90);
    out.capture();
    for _ in 0..n {
        let event_id = w.rng.uuid();
        let request_id = w.rng.upper::<16>();
        let (a, b) = (w.rng.b64::<60>(), w.rng.b64::<16>());
        let add = format!("{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"QueryString\",\"x-amz-id-2\":\"{}{}=\",\"bytesTransferredOut\":{size}}}", a.as_str(), b.as_str());
        let mut rec = Rec::api(
            at,
            Who::Role(&session),
            "s3.amazonaws.com",
            "GetObject",
            rname,
            &ip,
            &bracketed,
            &account,
            event_id.as_str(),
        );
        rec.version = "1.10";
        rec.management = false;
        rec.request = Some(&req);
        rec.resources = Some(&res);
        rec.additional = Some(&add);
        rec.request_id = Some(request_id.as_str());
        rec.vpce = vpce.as_deref().map(|v| (v, account.as_str()));
        rec.tls = Some(("TLSv1.3", "TLS_AES_128_GCM_SHA256", &host));
        out.emit(&rec, acct, region, None);
        at += w.rng.range(1, (expires / 3).max(2));
    }
    let ids = out.take_capture();
    let iid = w.insts[i].id.clone();
    out.benign("presigned-url", ids, Some(&iid), &key.id, &ip, None, t);
    let next = t + w.wait(t, region, rate);
    s.at(next, Actor::Presign { inst: i, epoch });
}
