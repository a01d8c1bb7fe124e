//! Issue 13: the ordinary behaviours the simulator writes have the shapes AWS writes, and
//! `benign.jsonl` points at events that exist.
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::net::IpAddr;

use serde_json::Value;
use trailhound_core::ranges::Ranges;

use super::{run, Benign, Format, Settings};

/// One small simulation as NDJSON: its records and its benign lines.
fn simulate(name: &str) -> (Vec<Value>, Vec<Benign>) {
    let dir = std::env::temp_dir().join(format!("trailhound-sim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = Settings {
        out: dir.clone(),
        seed: 13,
        events: 40_000,
        days: 1.0,
        format: Format::Ndjson,
        ..Settings::default()
    };
    run(&s).expect("simulate");
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(dir.join("events.ndjson.gz")).expect("events"),
    )
    .read_to_string(&mut text)
    .expect("gunzip");
    let records = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("record JSON"))
        .collect();
    let benign = std::fs::read_to_string(dir.join("ground-truth/benign.jsonl"))
        .expect("benign.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("benign line"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (records, benign)
}

#[test]
fn issue_13_ordinary_behaviours_have_real_shapes() {
    let (records, benign) = simulate("shapes");
    let by_id: HashMap<&str, &Value> = records
        .iter()
        .filter_map(|r| Some((r["eventID"].as_str()?, r)))
        .collect();
    // Every benign line references events that exist, and every behaviour is present.
    let mut seen = HashSet::new();
    for b in &benign {
        seen.insert(b.behaviour.as_str());
        for id in &b.event_ids {
            assert!(by_id.contains_key(id.as_str()), "{b:?}");
        }
    }
    for want in [
        "presigned-url",
        "dual-stack-ipv6",
        "launch-without-public-ip",
        "elastic-ip-handover",
        "cross-region",
        "aws-agent",
        "recurring-chain",
        "bastion",
    ] {
        assert!(seen.contains(want), "no {want} in benign.jsonl");
    }
    // Presigned downloads: QueryString authentication, the instance's session, the downloader's address.
    let mut outside = 0;
    for b in benign.iter().filter(|b| b.behaviour == "presigned-url") {
        for id in &b.event_ids {
            let r = by_id[id.as_str()];
            assert_eq!(
                r["additionalEventData"]["AuthenticationMethod"],
                "QueryString"
            );
            assert_eq!(r["eventName"], "GetObject");
            assert_eq!(r["sourceIPAddress"].as_str(), Some(b.source_ip.as_str()));
            assert_eq!(
                r["userIdentity"]["accessKeyId"].as_str(),
                Some(b.credential.as_str())
            );
            assert!(r["userIdentity"]["sessionContext"]["ec2RoleDelivery"].is_string());
            for k in [
                "X-Amz-Algorithm",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "Host",
                "key",
                "bucketName",
            ] {
                assert!(r["requestParameters"][k].is_string(), "{k}: {r}");
            }
            let ip: IpAddr = b.source_ip.parse().expect("address");
            outside += usize::from(!trailhound_core::address::is_private(ip));
        }
    }
    assert!(outside > 50, "{outside} presigned downloads");
    // Auto Scaling launches: the response shows no public address, only the private one.
    let mut asg = 0;
    for r in records.iter().filter(|r| {
        r["eventName"] == "RunInstances"
            && r["userIdentity"]["invokedBy"] == "autoscaling.amazonaws.com"
    }) {
        asg += 1;
        let text = r["responseElements"].to_string();
        assert!(
            !text.contains("publicIp") && !text.contains("ipAddress\":\"5"),
            "{text}"
        );
        assert_eq!(
            r["responseElements"]["instancesSet"]["items"][0]["instanceState"]["name"],
            "pending"
        );
    }
    assert!(asg > 5);
    // IPv6: every instance IPv6 address is an EC2 address of the instance's own region.
    let ranges = Ranges::builtin();
    let mut v6 = 0;
    for b in benign.iter().filter(|b| b.behaviour == "dual-stack-ipv6") {
        let r = by_id[b.event_ids.last().map(String::as_str).unwrap_or("")];
        let ip: IpAddr = b.source_ip.parse().expect("address");
        assert!(ip.is_ipv6());
        let region = r["awsRegion"].as_str().unwrap_or("");
        let info = ranges.lookup(ip);
        assert!(
            info.as_ref()
                .is_some_and(|i| i.is_ec2() && i.region == Some(region)),
            "{ip} {region} {info:?}"
        );
        v6 += 1;
    }
    assert!(v6 > 0);
    // Elastic IP pools: the instance's own AssociateAddress names the allocation, not the address.
    let assoc: Vec<&&Value> = by_id
        .values()
        .filter(|r| {
            r["eventName"] == "AssociateAddress"
                && r["userIdentity"]["sessionContext"]["ec2RoleDelivery"].is_string()
        })
        .collect();
    assert!(!assoc.is_empty());
    for r in assoc {
        assert!(r["requestParameters"]["allocationId"].is_string());
        assert_eq!(r["requestParameters"]["allowReassociation"], true);
        assert!(r["responseElements"]["associationId"].is_string());
        assert!(r["responseElements"].get("publicIp").is_none());
    }
}
