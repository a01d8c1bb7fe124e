//! Source-address context: what a `sourceIPAddress` is (an address, an AWS service, AWS-internal),
//! whose range it lies in (AWS region and service, another cloud), and whether it is configured as
//! trusted. Pure lookups over read-only data; learned ownership lives in `track`.
use std::net::IpAddr;

use ipnet::IpNet;
use prefix_trie::joint::map::JointPrefixMap;
use serde::Serialize;

use crate::config::Trusted;
use crate::deferred::Deferred;
use crate::ranges::{Provider, Ranges};

/// What CloudTrail's `sourceIPAddress` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// An AWS service calling on the principal's behalf (`ec2.amazonaws.com`).
    Service(&'a str),
    /// `AWS Internal`, or an address AWS uses internally (`198.18.0.0/15`, seen in real logs).
    AwsInternal,
    /// A network address.
    Ip(IpAddr),
    /// Anything else (empty, a hostname).
    Other(&'a str),
}

/// Reads `sourceIPAddress`.
pub fn source(s: &str) -> Source<'_> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return if is_aws_internal(ip) {
            Source::AwsInternal
        } else {
            Source::Ip(ip)
        };
    }
    if s == "AWS Internal" {
        Source::AwsInternal
    } else if s.ends_with(".amazonaws.com") || s.ends_with(".amazonaws.com.cn") {
        Source::Service(s)
    } else {
        Source::Other(s)
    }
}

/// Private, shared, loopback and link-local space: never routable from the internet, so CloudTrail
/// only shows it for calls through a VPC endpoint.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            v6.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

/// `198.18.0.0/15`: benchmark space that appears as an AWS-internal source in real CloudTrail.
pub fn is_aws_internal(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 198 && (v4.octets()[1] & 0xfe) == 18)
}

/// Everything known about one address from published ranges and configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IpContext {
    /// The address.
    pub ip: String,
    /// Private / VPC space.
    pub private: bool,
    /// Provider id (`aws`, `gcp`, `azure`, …) whose published ranges contain it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub provider: Option<crate::state::serde_util::Name>,
    /// Provider name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub provider_name: Option<crate::state::serde_util::Name>,
    /// The published prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Region of the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS services of the range (`EC2`, `AMAZON`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Trusted-range label from the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted: Option<String>,
}

/// Published ranges plus configured trusted ranges.
pub struct AddressBook {
    ranges: Deferred<Ranges>,
    trusted: JointPrefixMap<IpNet, usize>,
    labels: Vec<String>,
}

impl AddressBook {
    /// Builds the book (the ranges may still be being built: see [`Deferred`]).
    pub fn new(ranges: impl Into<Deferred<Ranges>>, trusted: &[Trusted]) -> Self {
        let mut map = JointPrefixMap::new();
        let mut labels = Vec::new();
        for t in trusted {
            map.insert(t.cidr.trunc(), labels.len());
            labels.push(t.label.clone());
        }
        AddressBook {
            ranges: ranges.into(),
            trusted: map,
            labels,
        }
    }

    /// The published ranges.
    pub fn ranges(&self) -> &Ranges {
        self.ranges.get()
    }

    /// The label of the configured trusted range containing `ip`.
    pub fn trusted(&self, ip: IpAddr) -> Option<&str> {
        let (_, &i) = self.trusted.get_lpm(&IpNet::from(ip))?;
        self.labels.get(i).map(String::as_str)
    }

    /// Full context for an address (allocates: for findings and enrichment, not per event).
    pub fn context(&self, ip: IpAddr) -> IpContext {
        let info = self.ranges().lookup(ip);
        IpContext {
            ip: ip.to_string(),
            private: is_private(ip),
            provider: info.as_ref().map(|i| i.provider.id()),
            provider_name: info.as_ref().map(|i| i.provider.name()),
            prefix: info.as_ref().map(|i| i.prefix.to_string()),
            region: info.as_ref().and_then(|i| i.region.map(str::to_owned)),
            services: info
                .as_ref()
                .map(|i| i.services.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default(),
            trusted: self.trusted(ip).map(str::to_owned),
        }
    }

    /// The provider, region and EC2-ness of an address (no allocation).
    pub fn cloud(&self, ip: IpAddr) -> Option<Cloud<'_>> {
        self.ranges()
            .classify(ip)
            .map(|(provider, region, ec2)| Cloud {
                provider,
                region,
                ec2,
            })
    }
}

/// The cloud facts the detectors branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cloud<'a> {
    /// Provider.
    pub provider: Provider,
    /// Region of the range.
    pub region: Option<&'a str>,
    /// An AWS EC2 range (where instances' public addresses live).
    pub ec2: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            source("ec2.amazonaws.com"),
            Source::Service("ec2.amazonaws.com")
        );
        assert_eq!(source("AWS Internal"), Source::AwsInternal);
        assert_eq!(source("198.19.4.2"), Source::AwsInternal);
        assert_eq!(
            source("3.225.16.109"),
            Source::Ip("3.225.16.109".parse().unwrap())
        );
        assert_eq!(
            source("2600:1f18::1"),
            Source::Ip("2600:1f18::1".parse().unwrap())
        );
        assert_eq!(source(""), Source::Other(""));
    }

    #[test]
    fn private_space() {
        for p in [
            "10.0.1.10",
            "172.16.0.1",
            "192.168.10.20",
            "100.64.1.1",
            "169.254.169.254",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in [
            "3.225.16.109",
            "100.128.0.1",
            "172.32.0.1",
            "2600:1f18::1",
            "203.0.113.5",
        ] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn trusted_ranges_by_longest_match() {
        let t = vec![
            Trusted {
                cidr: "198.51.100.0/24".parse().unwrap(),
                label: "office".into(),
            },
            Trusted {
                cidr: "198.51.100.128/25".parse().unwrap(),
                label: "vpn".into(),
            },
            Trusted {
                cidr: "2001:db8::/32".parse().unwrap(),
                label: "dx".into(),
            },
        ];
        let book = AddressBook::new(Ranges::builtin(), &t);
        assert_eq!(
            book.trusted("198.51.100.7".parse().unwrap()),
            Some("office")
        );
        assert_eq!(book.trusted("198.51.100.200".parse().unwrap()), Some("vpn"));
        assert_eq!(book.trusted("2001:db8::5".parse().unwrap()), Some("dx"));
        assert_eq!(book.trusted("203.0.113.5".parse().unwrap()), None);
    }
}
