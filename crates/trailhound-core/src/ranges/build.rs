//! Building [`Ranges`]: the embedded `data/ranges-*.tsv` files and AWS's own `ip-ranges.json`.
//!
//! Every source goes through one [`Builder`], so the embedded AWS file and a newer `ip-ranges.json`
//! give the same tables for the same data. AWS entries are merged by prefix while loading; `finish`
//! then resolves each entry over the prefixes covering it (services union, region inheritance), so a
//! lookup is one longest-prefix match. File formats are described in `data/refresh-ranges.py`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use ipnet::IpNet;
use prefix_trie::joint::JointPrefixMap;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::{AwsEntry, OtherEntry, Provider, Ranges, RangesError, Sym};

/// The embedded AWS ranges (`prefix TAB region TAB SERVICE,SERVICE`).
pub(super) const AWS_TSV: (&str, &str) = (
    "data/ranges-aws.tsv",
    include_str!("../../../../data/ranges-aws.tsv"),
);

/// The embedded ranges of the other providers (`prefix TAB region`), in priority order.
pub(super) const OTHER_TSV: [(Provider, &str, &str); 5] = [
    (
        Provider::Gcp,
        "data/ranges-gcp.tsv",
        include_str!("../../../../data/ranges-gcp.tsv"),
    ),
    (
        Provider::Azure,
        "data/ranges-azure.tsv",
        include_str!("../../../../data/ranges-azure.tsv"),
    ),
    (
        Provider::Oracle,
        "data/ranges-oracle.tsv",
        include_str!("../../../../data/ranges-oracle.tsv"),
    ),
    (
        Provider::DigitalOcean,
        "data/ranges-digitalocean.tsv",
        include_str!("../../../../data/ranges-digitalocean.tsv"),
    ),
    (
        Provider::Linode,
        "data/ranges-linode.tsv",
        include_str!("../../../../data/ranges-linode.tsv"),
    ),
];

/// Accumulates prefixes and interned strings, then resolves them into a [`Ranges`].
pub(super) struct Builder {
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, Sym>,
    /// AWS prefix → (region of this prefix, services published for this prefix).
    aws: JointPrefixMap<IpNet, (Option<Sym>, Vec<Sym>)>,
    others: JointPrefixMap<IpNet, OtherEntry>,
    counts: [usize; Provider::ALL.len()],
}

impl Builder {
    /// A builder holding the embedded ranges of every provider but AWS.
    pub(super) fn with_others() -> Result<Builder, RangesError> {
        let mut b = Builder {
            strings: Vec::new(),
            index: HashMap::new(),
            aws: JointPrefixMap::new(),
            others: JointPrefixMap::new(),
            counts: [0; Provider::ALL.len()],
        };
        for (provider, file, text) in OTHER_TSV {
            b.add_other_tsv(provider, file, text)?;
        }
        Ok(b)
    }

    /// Adds the embedded AWS file; returns its version.
    pub(super) fn add_aws_tsv(&mut self) -> Result<String, RangesError> {
        let (file, text) = AWS_TSV;
        let header = parse_tsv(file, text, |net, region, services| {
            let mut any = false;
            for service in services.split(',').filter(|s| !s.is_empty()) {
                self.add_aws(net, region, service);
                any = true;
            }
            if any {
                Ok(())
            } else {
                Err("no services in the third column".to_owned())
            }
        })?;
        let get = |key| {
            header
                .iter()
                .find(|(k, _)| *k == key)
                .map(|&(_, v)| v)
                .ok_or(RangesError::Header { file, key })
        };
        Ok(version(get("createDate")?, get("syncToken")?))
    }

    /// Adds an AWS `ip-ranges.json`; returns its version.
    pub(super) fn add_aws_json(&mut self, json: &[u8]) -> Result<String, RangesError> {
        let doc: AwsJson<'_> = serde_json::from_slice(json).map_err(RangesError::Json)?;
        if doc.prefixes.is_empty() && doc.ipv6_prefixes.is_empty() {
            return Err(RangesError::Empty {
                sync_token: doc.sync_token.into_owned(),
            });
        }
        for p in doc.prefixes.iter().chain(&doc.ipv6_prefixes) {
            self.add_aws(p.prefix, &p.region, &p.service);
        }
        Ok(version(&doc.create_date, &doc.sync_token))
    }

    fn add_other_tsv(
        &mut self,
        provider: Provider,
        file: &'static str,
        text: &str,
    ) -> Result<(), RangesError> {
        parse_tsv(file, text, |net, region, _| {
            // Same prefix from an earlier provider (or twice from one): the first one keeps it.
            if !self.others.contains_key(&net) {
                let region = self.region(region);
                self.others.insert(net, OtherEntry { provider, region });
                self.counts[provider as usize] += 1;
            }
            Ok(())
        })?;
        Ok(())
    }

    fn add_aws(&mut self, net: IpNet, region: &str, service: &str) {
        let region = self.region(region);
        let service = self.intern(service.trim());
        let (r, services) = self.aws.entry(net).or_default();
        // One prefix has one region in practice; should it ever get several, the first real one wins.
        if r.is_none() {
            *r = region;
        }
        if !services.contains(&service) {
            services.push(service);
        }
    }

    fn region(&mut self, region: &str) -> Option<Sym> {
        let region = region.trim();
        // AWS publishes "GLOBAL" (CloudFront, Global Accelerator), Google "global": no region.
        if region.is_empty() || region.eq_ignore_ascii_case("global") {
            None
        } else {
            Some(self.intern(region))
        }
    }

    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = Sym::try_from(self.strings.len())
            .expect("fewer than 2^32 distinct region and service names");
        self.strings.push(s.into());
        self.index.insert(s.into(), sym);
        sym
    }

    /// Resolves every entry over the prefixes covering it, so a lookup is one longest-prefix match.
    pub(super) fn finish(self, aws_version: String) -> Ranges {
        let strings = self.strings.into_boxed_slice();
        let aws: JointPrefixMap<IpNet, AwsEntry> = self
            .aws
            .iter()
            .map(|(net, _)| {
                let mut region = None;
                let mut services = Vec::new();
                // `cover` yields the shortest prefix first, and includes `net` itself.
                for (_, (r, s)) in self.aws.cover(&net) {
                    region = r.or(region);
                    services.extend_from_slice(s);
                }
                services.sort_unstable_by(|&a, &b| strings[a as usize].cmp(&strings[b as usize]));
                services.dedup();
                (
                    net,
                    AwsEntry {
                        region,
                        services: services.into_boxed_slice(),
                    },
                )
            })
            .collect();
        let others: JointPrefixMap<IpNet, OtherEntry> = self
            .others
            .iter()
            .map(|(net, e)| {
                let region = self
                    .others
                    .cover(&net)
                    .filter(|(_, c)| c.provider == e.provider)
                    .fold(None, |region, (_, c)| c.region.or(region));
                (
                    net,
                    OtherEntry {
                        provider: e.provider,
                        region,
                    },
                )
            })
            .collect();
        let mut counts = self.counts;
        counts[Provider::Aws as usize] = aws.len();
        Ranges {
            strings,
            aws,
            others,
            aws_version,
            counts,
        }
    }
}

/// "2026-08-22-15-17-05 (syncToken 1787411825)".
fn version(create_date: &str, sync_token: &str) -> String {
    format!("{create_date} (syncToken {sync_token})")
}

/// Calls `row(prefix, second column, third column or "")` for each data line; returns the
/// `# key: value` header lines.
pub(super) fn parse_tsv<'t>(
    file: &'static str,
    text: &'t str,
    mut row: impl FnMut(IpNet, &'t str, &'t str) -> Result<(), String>,
) -> Result<Vec<(&'t str, &'t str)>, RangesError> {
    let mut header = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = |reason: String| RangesError::Tsv {
            file,
            line: i + 1,
            text: line.to_owned(),
            reason,
        };
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((k, v)) = comment.split_once(':') {
                header.push((k.trim(), v.trim()));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let prefix = fields.next().unwrap_or_default();
        let net: IpNet = prefix
            .parse()
            .map_err(|e| err(format!("bad prefix {prefix:?}: {e}")))?;
        let region = fields
            .next()
            .ok_or_else(|| err("no region column".to_owned()))?;
        row(net.trunc(), region, fields.next().unwrap_or_default()).map_err(err)?;
    }
    Ok(header)
}

/// AWS's `ip-ranges.json`; unknown fields (e.g. `network_border_group`) are ignored.
#[derive(Deserialize)]
struct AwsJson<'a> {
    #[serde(rename = "syncToken", borrow)]
    sync_token: Cow<'a, str>,
    #[serde(rename = "createDate", borrow)]
    create_date: Cow<'a, str>,
    #[serde(borrow)]
    prefixes: Vec<AwsPrefix<'a>>,
    #[serde(default, borrow)]
    ipv6_prefixes: Vec<AwsPrefix<'a>>,
}

/// One entry of `prefixes` (`ip_prefix`) or `ipv6_prefixes` (`ipv6_prefix`).
#[derive(Deserialize)]
struct AwsPrefix<'a> {
    #[serde(
        rename = "ip_prefix",
        alias = "ipv6_prefix",
        deserialize_with = "prefix"
    )]
    prefix: IpNet,
    #[serde(default, borrow)]
    region: Cow<'a, str>,
    #[serde(borrow)]
    service: Cow<'a, str>,
}

/// Parses a prefix without allocating; the error quotes it (serde_json adds line and column).
fn prefix<'de, D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
    struct PrefixVisitor;
    impl Visitor<'_> for PrefixVisitor {
        type Value = IpNet;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an IP prefix such as \"3.5.140.0/22\"")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<IpNet, E> {
            s.parse::<IpNet>()
                .map(|n| n.trunc())
                .map_err(|e| E::custom(format_args!("bad prefix {s:?}: {e}")))
        }
    }
    d.deserialize_str(PrefixVisitor)
}
