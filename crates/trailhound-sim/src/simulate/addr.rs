//! Where simulated addresses come from: real, published ranges, checked against the bundled cloud ranges.
//!
//! Every table below was verified with Python against `shared/data/aws-ip-ranges.json` (syncToken
//! 1787411825, 2026-08-22) and the Google Cloud, Azure, Oracle, DigitalOcean and Linode lists of
//! `shared/data/cloud-ip-ranges/`:
//! - `EC2`: prefixes listed for service `EC2` in that region, containing no more specific AWS prefix and
//!   overlapping no prefix of another region or provider, so any address drawn is an EC2 address of
//!   exactly that region (instance public IPs, NAT gateway and Elastic IPs, attacker EC2 hosts);
//! - `OUTSIDE`: residential and business ISP blocks and a known Tor-exit block that overlap no cloud
//!   range at all (offices, homes, outside attackers);
//! - `CLOUD`: other providers' blocks that overlap nothing else (attackers renting a VM elsewhere,
//!   GitHub-hosted CI runners in Azure).
//!
//! Private VPC addresses come from 10.0.0.0/8 only. Documentation ranges and 198.18.0.0/15 are never used.
use std::net::{Ipv4Addr, Ipv6Addr};

use super::rng::Rng;

/// Regions the simulated organisation runs in, with the EC2 prefixes addresses are drawn from.
pub(crate) const EC2: &[(&str, &[&str])] = &[
    (
        "us-east-1",
        &[
            "54.152.0.0/16",
            "54.198.0.0/16",
            "54.221.0.0/16",
            "184.73.0.0/16",
            "35.153.0.0/16",
            "50.19.0.0/16",
        ],
    ),
    (
        "us-east-2",
        &[
            "18.189.0.0/16",
            "18.190.0.0/16",
            "3.13.0.0/16",
            "52.14.0.0/16",
        ],
    ),
    (
        "us-west-2",
        &[
            "35.155.0.0/16",
            "50.112.0.0/16",
            "54.214.0.0/16",
            "54.218.0.0/16",
        ],
    ),
    (
        "eu-west-1",
        &[
            "54.154.0.0/16",
            "54.78.0.0/16",
            "54.220.0.0/16",
            "18.201.0.0/16",
        ],
    ),
    (
        "eu-central-1",
        &["52.28.0.0/16", "52.29.0.0/16", "54.93.0.0/16"],
    ),
    (
        "ap-southeast-2",
        &[
            "52.65.0.0/16",
            "54.206.0.0/16",
            "54.253.0.0/16",
            "54.66.0.0/16",
        ],
    ),
];

/// Per region (same order as `EC2`), the EC2 IPv6 block VPCs' Amazon-provided /56s are drawn from
/// (`data/ranges-aws.tsv`, service `EC2`; checked against the bundled ranges in the tests below).
pub(crate) const EC2_V6: &[(&str, &str)] = &[
    ("us-east-1", "2600:1f18::/33"),
    ("us-east-2", "2600:1f16::/34"),
    ("us-west-2", "2600:1f14::/34"),
    ("eu-west-1", "2a05:d018::/35"),
    ("eu-central-1", "2a05:d014::/35"),
    ("ap-southeast-2", "2406:da1c::/35"),
];

/// A VPC's Amazon-provided IPv6 /56 in region number `region` (its first address, as a number).
pub(crate) fn vpc_v6(rng: &mut Rng, region: usize) -> u128 {
    let (_, prefix) = EC2_V6[region % EC2_V6.len()];
    let (net, len) = prefix.split_once('/').unwrap_or((prefix, "32"));
    let base = net.parse::<Ipv6Addr>().map(u128::from).unwrap_or(0);
    let len: u32 = len.parse().unwrap_or(32);
    // Bits between the block's length and /56 are free.
    let free = 56 - len;
    let n = u128::from(rng.below(1u64 << free.min(63)));
    base | (n << (128 - 56))
}

/// The `k`th /64 of a VPC's /56 `vpc` (a subnet's IPv6 CIDR).
pub(crate) fn subnet_v6(vpc: u128, k: usize) -> u128 {
    vpc | ((k as u128 & 0xff) << 64)
}

/// An interface address in the /64 `subnet` (AWS picks the interface id; here a random one).
pub(crate) fn host_v6(rng: &mut Rng, subnet: u128) -> Ipv6Addr {
    let iid = u128::from(rng.u64() | 1);
    Ipv6Addr::from(subnet | iid)
}

/// Blocks outside every cloud range: (label, prefix).
pub(crate) const OUTSIDE: &[(&str, &str)] = &[
    ("Comcast (US)", "73.0.0.0/8"),
    ("Comcast (US)", "24.16.0.0/13"),
    ("Verizon (US)", "71.192.0.0/12"),
    ("BT (UK)", "86.128.0.0/10"),
    ("Orange (FR)", "90.0.0.0/9"),
    ("Deutsche Telekom (DE)", "79.192.0.0/10"),
    ("Telefonica (ES)", "83.32.0.0/11"),
    ("Brazilian ISP", "189.0.0.0/11"),
    ("Korean ISP", "121.128.0.0/10"),
    ("Russian ISP", "5.18.0.0/16"),
    ("Tor exit (Zwiebelfreunde)", "185.220.100.0/22"),
    ("Bulletproof hosting (NL)", "94.102.48.0/20"),
];

/// Index of the first hostile block in `OUTSIDE` (Russian ISP onwards): attackers draw from those and
/// from the residential ones; offices and homes only from the residential ones before it.
pub(crate) const OUTSIDE_HOSTILE_FROM: usize = 9;

/// Another provider's block: (provider name as `ranges::Provider::name` gives it, location, prefix).
pub(crate) const CLOUD: &[(&str, &str, &str)] = &[
    ("GCP", "us-central1", "34.28.0.0/14"),
    ("GCP", "europe-west1", "34.76.0.0/14"),
    ("Azure", "eastus", "172.190.0.0/15"),
    ("Azure", "eastus", "4.156.0.0/15"),
    ("DigitalOcean", "Frankfurt", "46.101.128.0/17"),
    ("DigitalOcean", "Clifton", "104.131.0.0/18"),
];

/// Index into `CLOUD` of the Azure block GitHub-hosted runners are drawn from.
pub(crate) const GITHUB_RUNNERS: usize = 2;

fn parse(prefix: &str) -> (u32, u32) {
    let (net, len) = prefix.split_once('/').unwrap_or((prefix, "32"));
    let base = net.parse::<Ipv4Addr>().map(u32::from).unwrap_or(0);
    let len: u32 = len.parse().unwrap_or(32).min(32);
    let size = if len == 0 {
        u32::MAX
    } else {
        (1u32 << (32 - len)) - 1
    };
    (base, size)
}

/// An address inside `prefix`, avoiding the first and last 16 of the block and .0/.255 hosts.
pub(crate) fn draw(rng: &mut Rng, prefix: &str) -> Ipv4Addr {
    let (base, size) = parse(prefix);
    loop {
        let off = if size > 64 {
            16 + rng.below(u64::from(size - 32)) as u32
        } else {
            1 + rng.below(u64::from(size.max(2) - 1)) as u32
        };
        let ip = base.wrapping_add(off);
        if !matches!(ip & 0xff, 0 | 255) || size < 256 {
            return Ipv4Addr::from(ip);
        }
    }
}

/// Index of `region` in `EC2` (regions are addressed by this index everywhere).
pub(crate) fn region_index(region: &str) -> Option<usize> {
    EC2.iter().position(|(r, _)| *r == region)
}

/// A public EC2 address of region number `region`.
pub(crate) fn ec2(rng: &mut Rng, region: usize) -> Ipv4Addr {
    let prefixes = EC2[region % EC2.len()].1;
    let prefix = prefixes[rng.index(prefixes.len())];
    draw(rng, prefix)
}

/// A residential or business address outside every cloud (an office, a home).
pub(crate) fn residential(rng: &mut Rng) -> (Ipv4Addr, &'static str) {
    let (label, prefix) = OUTSIDE[rng.index(OUTSIDE_HOSTILE_FROM)];
    (draw(rng, prefix), label)
}

/// An outside attacker's address (residential proxies, Tor exits, bulletproof hosting).
pub(crate) fn hostile(rng: &mut Rng) -> (Ipv4Addr, &'static str) {
    let (label, prefix) = OUTSIDE[rng.index(OUTSIDE.len())];
    (draw(rng, prefix), label)
}

/// An address in another provider's block `CLOUD[i]`: (address, provider, location).
pub(crate) fn cloud(rng: &mut Rng, i: usize) -> (Ipv4Addr, &'static str, &'static str) {
    let (provider, location, prefix) = CLOUD[i % CLOUD.len()];
    (draw(rng, prefix), provider, location)
}

/// The `n`th host of a private /16 `10.<second>.0.0`, in subnet `third` (`10.second.third.host`).
pub(crate) fn private(second: u8, third: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, second, third, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(ip: Ipv4Addr, prefix: &str) -> bool {
        let (base, size) = parse(prefix);
        let ip = u32::from(ip);
        ip >= base && ip - base <= size
    }

    #[test]
    fn draws_stay_inside_their_prefix() {
        let mut rng = Rng::new(11);
        for (region, prefixes) in EC2 {
            let r = region_index(region).unwrap_or(usize::MAX);
            for _ in 0..200 {
                let ip = ec2(&mut rng, r);
                assert!(
                    prefixes.iter().any(|p| inside(ip, p)),
                    "{ip} not in {region}"
                );
            }
        }
        for _ in 0..200 {
            let (ip, _) = residential(&mut rng);
            assert!(OUTSIDE[..OUTSIDE_HOSTILE_FROM]
                .iter()
                .any(|(_, p)| inside(ip, p)));
            let (ip, _) = hostile(&mut rng);
            assert!(OUTSIDE.iter().any(|(_, p)| inside(ip, p)));
        }
        for (i, (.., prefix)) in CLOUD.iter().enumerate() {
            let (ip, ..) = cloud(&mut rng, i);
            assert!(inside(ip, prefix));
        }
    }

    /// Every drawn address is where the bundled ranges (`trailhound_core::ranges`) say it is: instance and NAT
    /// addresses are EC2 addresses of their region, outside addresses are in no cloud, other clouds'
    /// addresses are theirs.
    #[test]
    fn drawn_addresses_agree_with_the_bundled_ranges() {
        use std::net::IpAddr;
        use trailhound_core::ranges::{Provider, Ranges};
        let ranges = Ranges::builtin();
        let mut rng = Rng::new(3);
        for (r, (region, _)) in EC2.iter().enumerate() {
            for _ in 0..500 {
                let ip = ec2(&mut rng, r);
                let info = ranges.lookup(IpAddr::V4(ip));
                assert!(
                    info.as_ref()
                        .is_some_and(|i| i.is_ec2() && i.region == Some(*region)),
                    "{ip} in {region}: {info:?}"
                );
            }
        }
        for _ in 0..2000 {
            let (ip, label) = hostile(&mut rng);
            let info = ranges.lookup(IpAddr::V4(ip));
            assert!(info.is_none(), "{ip} ({label}) is in {info:?}");
        }
        for (i, (provider, ..)) in CLOUD.iter().enumerate() {
            let want = match *provider {
                "GCP" => Provider::Gcp,
                "Azure" => Provider::Azure,
                _ => Provider::DigitalOcean,
            };
            for _ in 0..200 {
                let (ip, ..) = cloud(&mut rng, i);
                let info = ranges.lookup(IpAddr::V4(ip));
                assert_eq!(info.map(|x| x.provider), Some(want), "{ip}");
            }
        }
    }

    /// IPv6 addresses of dual-stack VPCs are EC2 addresses of their region in the bundled ranges.
    #[test]
    fn ipv6_addresses_are_in_the_regions_ec2_ranges() {
        use std::net::IpAddr;
        use trailhound_core::ranges::Ranges;
        let ranges = Ranges::builtin();
        let mut rng = Rng::new(8);
        for (r, (region, _)) in EC2.iter().enumerate() {
            assert_eq!(EC2_V6[r].0, *region);
            for _ in 0..400 {
                let vpc = vpc_v6(&mut rng, r);
                let k = rng.index(5);
                let ip = host_v6(&mut rng, subnet_v6(vpc, k));
                let info = ranges.lookup(IpAddr::V6(ip));
                assert!(
                    info.as_ref()
                        .is_some_and(|i| i.is_ec2() && i.region == Some(*region)),
                    "{ip} in {region}: {info:?}"
                );
                assert_eq!(u128::from(ip) >> 72, vpc >> 72, "{ip} outside its /56");
            }
        }
    }

    #[test]
    fn no_reserved_ranges() {
        let mut rng = Rng::new(5);
        for _ in 0..1000 {
            let (ip, _) = hostile(&mut rng);
            let o = ip.octets();
            assert!(!(o[0] == 198 && (o[1] & 0xfe) == 18));
            assert!(!ip.is_private() && !ip.is_documentation() && !ip.is_loopback());
        }
    }
}
