//! Tests of the cloud range lookup: the embedded data, real addresses, and loading `ip-ranges.json`.

use std::net::IpAddr;

use super::build::{parse_tsv, AWS_TSV, OTHER_TSV};
use super::{Provider, Ranges, RangesError};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// (address, provider id, prefix, region, services); `None` provider ⇒ no published range.
type Case = (
    &'static str,
    Option<(
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
    )>,
);

fn check(ranges: &Ranges, cases: &[Case]) {
    for &(addr, want) in cases {
        let got = ranges.lookup(ip(addr));
        // The per-event form answers as the full lookup does.
        let classified = got.as_ref().map(|i| (i.provider, i.region, i.is_ec2()));
        assert_eq!(ranges.classify(ip(addr)), classified, "{addr}");
        let got = got.as_ref().map(|i| {
            (
                i.provider.id(),
                i.prefix.to_string(),
                i.region,
                i.services.clone(),
            )
        });
        let want = want
            .map(|(p, prefix, region, services)| (p, prefix.to_owned(), region, services.to_vec()));
        assert_eq!(got, want, "{addr}");
    }
}

#[test]
fn builtin_counts_match_the_sources() {
    let ranges = Ranges::builtin();
    // Computed with python3 from /work/shared/data: AWS is the number of distinct prefixes in
    // aws-ip-ranges.json (10,668 IPv4 + 6,160 IPv6 entries, 11,013 distinct prefixes); GCP, Oracle
    // and Linode are the distinct prefixes of their files (no nesting to aggregate); Azure's 50,887
    // distinct service-tag prefixes and DigitalOcean's 1,182 aggregate to 12,573 and 1,174 prefixes
    // that decide a region (see data/refresh-ranges.py).
    let want = [
        (Provider::Aws, 11_013),
        (Provider::Gcp, 782),
        (Provider::Azure, 12_573),
        (Provider::Oracle, 896),
        (Provider::DigitalOcean, 1_174),
        (Provider::Linode, 4_552),
    ];
    assert_eq!(ranges.counts(), want);
    assert_eq!(
        ranges.aws_version(),
        "2026-08-22-15-17-05 (syncToken 1787411825)"
    );
}

#[test]
fn embedded_files_agree_with_their_headers() {
    let ranges = Ranges::builtin();
    let files = std::iter::once((Provider::Aws, AWS_TSV.0, AWS_TSV.1)).chain(OTHER_TSV);
    for (provider, file, text) in files {
        let header = parse_tsv(file, text, |_, _, _| Ok(())).expect(file);
        let declared = header
            .iter()
            .find(|(k, _)| *k == "prefixes")
            .map(|(_, v)| v.parse::<usize>());
        let loaded = ranges
            .counts()
            .into_iter()
            .find(|&(p, _)| p == provider)
            .map(|(_, n)| n);
        assert_eq!(declared.and_then(Result::ok), loaded, "{file}");
        assert_eq!(
            header
                .iter()
                .find(|(k, _)| *k == "provider")
                .map(|(_, v)| *v),
            Some(provider.id()),
            "{file}"
        );
    }
}

#[test]
fn real_addresses() {
    let ranges = Ranges::builtin();
    check(
        &ranges,
        &[
            // EC2 in us-east-1.
            (
                "3.225.16.109",
                Some(("aws", "3.224.0.0/12", Some("us-east-1"), &["AMAZON", "EC2"])),
            ),
            (
                "::ffff:3.225.16.109",
                Some(("aws", "3.224.0.0/12", Some("us-east-1"), &["AMAZON", "EC2"])),
            ),
            // CloudFront only, published with region GLOBAL.
            (
                "13.32.0.10",
                Some(("aws", "13.32.0.0/15", None, &["AMAZON", "CLOUDFRONT"])),
            ),
            // AMAZON only (AWS's own services).
            (
                "52.94.76.1",
                Some(("aws", "52.94.76.0/22", Some("us-west-2"), &["AMAZON"])),
            ),
            // A CLOUDFRONT /25 inside an EC2 /14: the most specific prefix, the union of services.
            (
                "3.10.17.130",
                Some((
                    "aws",
                    "3.10.17.128/25",
                    Some("eu-west-2"),
                    &["AMAZON", "CLOUDFRONT", "EC2"],
                )),
            ),
            (
                "2600:1f18:4000::1",
                Some((
                    "aws",
                    "2600:1f18::/33",
                    Some("us-east-1"),
                    &["AMAZON", "EC2"],
                )),
            ),
            (
                "34.35.1.1",
                Some(("gcp", "34.35.0.0/16", Some("africa-south1"), &[])),
            ),
            (
                "2600:1900:8000::1",
                Some(("gcp", "2600:1900:8000::/44", Some("africa-south1"), &[])),
            ),
            (
                "20.42.0.1",
                Some(("azure", "20.42.0.0/17", Some("eastus"), &[])),
            ),
            (
                "129.80.1.1",
                Some(("oracle", "129.80.0.0/16", Some("us-ashburn-1"), &[])),
            ),
            (
                "5.101.96.1",
                Some((
                    "digitalocean",
                    "5.101.96.0/21",
                    Some("Amsterdam, NL-NH"),
                    &[],
                )),
            ),
            (
                "45.79.0.1",
                Some(("linode", "45.79.0.0/24", Some("Richardson, US-TX"), &[])),
            ),
            (
                "2600:3c00::1",
                Some(("linode", "2600:3c00::/32", Some("Richardson, US-TX"), &[])),
            ),
            ("203.0.113.7", None),
            ("192.168.10.20", None),
            ("10.0.1.10", None),
            ("198.18.0.1", None),
            ("8.8.8.8", None),
            ("2001:db8::1", None),
        ],
    );
    let ec2 = |a| ranges.lookup(ip(a)).is_some_and(|i| i.is_ec2());
    assert!(ec2("3.225.16.109"));
    assert!(ec2("3.10.17.130"));
    assert!(!ec2("13.32.0.10"));
    assert!(!ec2("52.94.76.1"));
    assert!(!ec2("34.35.1.1"));
    assert_eq!(
        ranges.lookup(ip("20.42.0.1")).map(|i| i.provider.name()),
        Some("Microsoft Azure")
    );
}

const SMALL: &str = r#"{
  "syncToken": "1900000000",
  "createDate": "2030-03-01-12-00-00",
  "prefixes": [
    {"ip_prefix": "198.51.100.0/24", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
    {"ip_prefix": "198.51.100.0/24", "region": "eu-west-1", "service": "EC2", "network_border_group": "eu-west-1"},
    {"ip_prefix": "198.51.100.128/25", "region": "GLOBAL", "service": "CLOUDFRONT", "network_border_group": "GLOBAL"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2001:db8::/32", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"}
  ]
}"#;

#[test]
fn aws_json_replaces_the_builtin_aws_data() {
    let ranges = Ranges::with_aws_json(SMALL.as_bytes()).expect("small ip-ranges.json loads");
    assert_eq!(
        ranges.aws_version(),
        "2030-03-01-12-00-00 (syncToken 1900000000)"
    );
    assert_eq!(ranges.counts()[0], (Provider::Aws, 3));
    assert_eq!(ranges.counts()[1..], Ranges::builtin().counts()[1..]);
    check(
        &ranges,
        &[
            (
                "198.51.100.7",
                Some((
                    "aws",
                    "198.51.100.0/24",
                    Some("eu-west-1"),
                    &["AMAZON", "EC2"],
                )),
            ),
            // GLOBAL is no region: the covering /24's region applies; services are the union.
            (
                "198.51.100.200",
                Some((
                    "aws",
                    "198.51.100.128/25",
                    Some("eu-west-1"),
                    &["AMAZON", "CLOUDFRONT", "EC2"],
                )),
            ),
            (
                "2001:db8::1",
                Some(("aws", "2001:db8::/32", Some("us-east-1"), &["S3"])),
            ),
            // Only in the builtin AWS data: gone.
            ("3.225.16.109", None),
            // Other providers stay.
            (
                "34.35.1.1",
                Some(("gcp", "34.35.0.0/16", Some("africa-south1"), &[])),
            ),
        ],
    );
}

#[test]
fn aws_json_and_embedded_tsv_give_the_same_answers() {
    // Re-express the embedded AWS file in AWS's format (one entry per service, as AWS publishes).
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    parse_tsv(AWS_TSV.0, AWS_TSV.1, |net, region, services| {
        for service in services.split(',') {
            let (list, key) = if net.addr().is_ipv4() {
                (&mut v4, "ip_prefix")
            } else {
                (&mut v6, "ipv6_prefix")
            };
            list.push(
                serde_json::json!({ key: net.to_string(), "region": region, "service": service }),
            );
        }
        Ok(())
    })
    .expect("embedded AWS file");
    let json = serde_json::json!({
        "syncToken": "1787411825", "createDate": "2026-08-22-15-17-05", "prefixes": v4, "ipv6_prefixes": v6,
    });
    let from_json =
        Ranges::with_aws_json(json.to_string().as_bytes()).expect("re-expressed file loads");
    let builtin = Ranges::builtin();
    assert_eq!(from_json.counts(), builtin.counts());
    assert_eq!(from_json.aws_version(), builtin.aws_version());
    for a in [
        "3.225.16.109",
        "13.32.0.10",
        "3.10.17.130",
        "52.94.76.1",
        "2600:1f18:4000::1",
        "15.230.15.29",
    ] {
        assert_eq!(from_json.lookup(ip(a)), builtin.lookup(ip(a)), "{a}");
    }
}

#[test]
fn bad_aws_json_is_reported_clearly() {
    let cases: &[(&str, &str)] = &[
        ("<html>Access Denied</html>", "AWS ip-ranges.json: expected value at line 1 column 1"),
        (
            "{\"syncToken\": \"1\", \"createDate\": \"d\",\n \"prefixes\": [{\"ip_prefix\": \"3.5.140.0/33\", \"region\": \"r\", \"service\": \"EC2\"}]}",
            "bad prefix \"3.5.140.0/33\": invalid IP address syntax at line 2",
        ),
        ("{\"createDate\": \"d\", \"prefixes\": []}", "missing field `syncToken`"),
        // Google's cloud.json is not AWS's format.
        (
            r#"{"syncToken": "1", "createDate": "d", "prefixes": [{"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud", "scope": "x"}]}"#,
            "missing field `ip_prefix`",
        ),
        (
            r#"{"syncToken": "42", "createDate": "d", "prefixes": [], "ipv6_prefixes": []}"#,
            "AWS ip-ranges.json (syncToken \"42\") lists no prefixes",
        ),
    ];
    for &(json, want) in cases {
        let err = Ranges::with_aws_json(json.as_bytes())
            .expect_err(json)
            .to_string();
        assert!(err.contains(want), "{json}\n  got: {err}\n want: {want}");
    }
}

#[test]
fn bad_tsv_line_names_file_line_and_value() {
    let text = "# provider: x\n10.0.0.0/8\tr\n10.0.0.0/33\tr\n";
    let err = parse_tsv("data/ranges-x.tsv", text, |_, _, _| Ok(())).expect_err("bad prefix");
    assert!(matches!(err, RangesError::Tsv { line: 3, .. }), "{err:?}");
    assert_eq!(err.to_string(), "data/ranges-x.tsv:3: bad prefix \"10.0.0.0/33\": invalid IP address syntax: \"10.0.0.0/33\\tr\"");
    let err =
        parse_tsv("data/ranges-x.tsv", "10.0.0.0/8\n", |_, _, _| Ok(())).expect_err("no region");
    assert_eq!(
        err.to_string(),
        "data/ranges-x.tsv:1: no region column: \"10.0.0.0/8\""
    );
}

#[test]
fn provider_names_and_ids() {
    let got: Vec<_> = Provider::ALL.iter().map(|p| (p.id(), p.name())).collect();
    assert_eq!(
        got,
        [
            ("aws", "AWS"),
            ("gcp", "Google Cloud"),
            ("azure", "Microsoft Azure"),
            ("oracle", "Oracle Cloud"),
            ("digitalocean", "DigitalOcean"),
            ("linode", "Linode (Akamai)"),
        ]
    );
}

#[test]
fn ranges_are_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Ranges>();
}
