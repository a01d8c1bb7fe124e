//! Configuration: a TOML file into documented serde structs that reject unknown keys, validated
//! into [`Settings`] before any work starts.
//!
//! ```toml
//! [organization]
//! accounts = ["111111111111", "222222222222"]   # member accounts (AffiliatedAccount, VPC endpoints)
//!
//! [[trusted]]                                     # your own egress: never flagged, used as context
//! cidr = "198.51.100.0/24"
//! label = "office"
//!
//! [instances]
//! inventory = "inventory.csv"                     # instance_id,ip[,account] lines
//!
//! [state]
//! ttl = "6h"                                      # forget an instance after this much idle event time
//! max_instances = 1000000
//!
//! [order]
//! window = "15m"                                  # reorder window
//! dedup_horizon = "1h"                            # how long an eventID is remembered
//!
//! [detect]
//! write_only = false                              # true: only write calls raise exfiltration findings
//!
//! [[suppress]]                                    # silence a known-good pattern; every field optional
//! type = "InstanceCredentialExfiltration.InsideAWS"
//! source_cidr = "52.94.0.0/16"
//! reason = "partner scanner, ticket SEC-123"
//!
//! [ranges]
//! aws_ip_ranges = "ip-ranges.json"                # a newer AWS ip-ranges.json than the bundled one
//!
//! [[chains.allow]]                                # a role chain that is normal operation: low severity
//! origin = "web_identity_federation"              # optional: iam_user, root, ec2_instance, saml_federation,
//!                                                 #   web_identity_federation, aws_service, unknown
//! roles = ["arn:aws:iam::111111111111:role/github-actions-deployer", "arn:aws:iam::*:role/ci-deploy"]
//! reason = "GitHub Actions deploy pipeline"
//! ```
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use crate::time::{parse_duration, HOUR, MINUTE};

/// A configuration problem, quoting the bad value and where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse or has unknown keys / wrong types (the message has line and column).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A value parses but is not acceptable.
    #[error("{key} = {value:?}: {why}")]
    Invalid {
        /// The key, e.g. `state.ttl`.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What is wrong and what is expected.
        why: &'static str,
    },
    /// An inventory line is malformed.
    #[error("inventory line {line}: {text:?}: expected `instance_id,ip[,account]`")]
    Inventory {
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The AWS organisation the logs come from.
    #[serde(default)]
    pub organization: Organization,
    /// Trusted source ranges (office, VPN, Direct Connect / Transit Gateway egress).
    #[serde(default)]
    pub trusted: Vec<Trusted>,
    /// Instance address inventory.
    #[serde(default)]
    pub instances: Instances,
    /// Tracked-state limits.
    #[serde(default)]
    pub state: State,
    /// Event ordering.
    #[serde(default)]
    pub order: Order,
    /// Detection options.
    #[serde(default)]
    pub detect: Detect,
    /// Suppressions: findings matching every given field of one entry are dropped (and counted).
    #[serde(default)]
    pub suppress: Vec<Suppression>,
    /// Reference data overrides.
    #[serde(default)]
    pub ranges: RangesConfig,
    /// Role-chain options.
    #[serde(default)]
    pub chains: Chains,
}

/// `[chains]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chains {
    /// `[[chains.allow]]`: chain paths that are normal operation (e.g. a CI/CD pipeline's deploy
    /// roles); a `RoleChaining` finding on such a path is reported at low severity, with the reason.
    #[serde(default)]
    pub allow: Vec<ChainAllowEntry>,
}

/// `[[chains.allow]]`: one allow-listed chain path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainAllowEntry {
    /// Origin kind of the chain: `iam_user`, `root`, `ec2_instance`, `saml_federation`,
    /// `web_identity_federation`, `aws_service` or `unknown`; absent: any origin.
    pub origin: Option<String>,
    /// The roles of the path in order, as ARN patterns where `*` matches any run of characters
    /// (`arn:aws:iam::*:role/ci-deploy`). The path must have exactly this many role hops.
    pub roles: Vec<String>,
    /// Why the path is normal — required, shown in the finding.
    pub reason: String,
}

/// `[organization]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Member account ids. Accounts whose own events appear in the input (`recipientAccountId`) are
    /// members too, without being listed.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// `[[trusted]]`: a range whose addresses are expected for any instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trusted {
    /// CIDR, IPv4 or IPv6, e.g. `198.51.100.0/24`.
    pub cidr: IpNet,
    /// Name shown in findings and enrichment, e.g. `office`, `vpn`, `direct-connect`.
    pub label: String,
}

/// `[instances]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instances {
    /// CSV file of `instance_id,ip[,account]` lines: addresses known to belong to instances
    /// (e.g. exported from `aws ec2 describe-instances`). Relative to the config file.
    pub inventory: Option<PathBuf>,
}

/// `[state]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Idle event time after which an instance's learned state is forgotten (default `6h`).
    #[serde(default = "default_ttl")]
    pub ttl: String,
    /// At most this many instances are tracked; the least recently active are evicted first (counted).
    #[serde(default = "default_max_instances")]
    pub max_instances: usize,
}

impl Default for State {
    fn default() -> Self {
        State {
            ttl: default_ttl(),
            max_instances: default_max_instances(),
        }
    }
}

/// `[order]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// How far out of order events may arrive and still be processed in order (default `15m`).
    #[serde(default = "default_window")]
    pub window: String,
    /// How long an `eventID` is remembered to drop re-deliveries (default `1h`; at least the window).
    #[serde(default = "default_dedup")]
    pub dedup_horizon: String,
}

impl Default for Order {
    fn default() -> Self {
        Order {
            window: default_window(),
            dedup_horizon: default_dedup(),
        }
    }
}

/// `[detect]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// Only write calls (`readOnly: false` or absent) raise exfiltration findings, as Prisma Cloud
    /// does; by default every call counts, as GuardDuty does. Reads still teach addresses.
    #[serde(default)]
    pub write_only: bool,
}

/// `[[suppress]]`: every field given must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Finding type, e.g. `InstanceCredentialExfiltration.InsideAWS`.
    #[serde(rename = "type")]
    pub finding_type: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Role ARN (`arn:aws:iam::…:role/…`) or assumed-role ARN prefix.
    pub principal: Option<String>,
    /// Instance id.
    pub instance_id: Option<String>,
    /// Source range.
    pub source_cidr: Option<IpNet>,
    /// Why — required, shown in the summary.
    pub reason: String,
}

/// `[ranges]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangesConfig {
    /// A newer AWS `ip-ranges.json` to use instead of the bundled one. Relative to the config file.
    pub aws_ip_ranges: Option<PathBuf>,
}

fn default_ttl() -> String {
    "6h".into()
}
fn default_window() -> String {
    "15m".into()
}
fn default_dedup() -> String {
    "1h".into()
}
fn default_max_instances() -> usize {
    1_000_000
}

/// Validated settings the engine runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Member accounts.
    pub org_accounts: BTreeSet<String>,
    /// Trusted ranges.
    pub trusted: Vec<Trusted>,
    /// Inventory: instance id → addresses.
    pub inventory: Vec<(String, IpAddr)>,
    /// Instance TTL (ms of event time).
    pub ttl: i64,
    /// Instance cap.
    pub max_instances: usize,
    /// Reorder window (ms).
    pub window: i64,
    /// De-duplication horizon (ms).
    pub dedup_horizon: i64,
    /// Write-only mode.
    pub write_only: bool,
    /// Suppressions.
    pub suppress: Vec<Suppression>,
    /// Allow-listed role-chain paths (`[[chains.allow]]`).
    pub chain_allow: Vec<crate::detect::ChainAllow>,
    /// Instances whose learned addresses and decisions are logged (`scan --explain`).
    pub explain: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            org_accounts: BTreeSet::new(),
            trusted: Vec::new(),
            inventory: Vec::new(),
            ttl: 6 * HOUR,
            max_instances: default_max_instances(),
            window: 15 * MINUTE,
            dedup_horizon: HOUR,
            write_only: false,
            suppress: Vec::new(),
            chain_allow: Vec::new(),
            explain: Vec::new(),
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Validates into settings; `inventory` is the inventory file's text when one is configured.
    pub fn settings(&self, inventory: Option<&str>) -> Result<Settings, ConfigError> {
        for a in &self.organization.accounts {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid {
                    key: "organization.accounts",
                    value: a.clone(),
                    why: "an AWS account id is 12 digits",
                });
            }
        }
        let ttl = duration("state.ttl", &self.state.ttl)?;
        let window = duration("order.window", &self.order.window)?;
        let dedup_horizon = duration("order.dedup_horizon", &self.order.dedup_horizon)?;
        if self.state.max_instances == 0 {
            return Err(ConfigError::Invalid {
                key: "state.max_instances",
                value: "0".into(),
                why: "must be at least 1",
            });
        }
        for s in &self.suppress {
            if s.reason.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "suppress.reason",
                    value: s.reason.clone(),
                    why: "say why the suppression exists",
                });
            }
        }
        let chain_allow = self
            .chains
            .allow
            .iter()
            .map(ChainAllowEntry::validate)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            org_accounts: self.organization.accounts.iter().cloned().collect(),
            trusted: self.trusted.clone(),
            inventory: inventory
                .map(parse_inventory)
                .transpose()?
                .unwrap_or_default(),
            ttl,
            max_instances: self.state.max_instances,
            window,
            dedup_horizon,
            write_only: self.detect.write_only,
            suppress: self.suppress.clone(),
            chain_allow,
            explain: Vec::new(),
        })
    }
}

/// Origin kinds a `[[chains.allow]]` entry may name (`OriginKind::as_str`).
const ORIGIN_KINDS: &[&str] = &[
    "iam_user",
    "root",
    "ec2_instance",
    "saml_federation",
    "web_identity_federation",
    "aws_service",
    "unknown",
];

impl ChainAllowEntry {
    fn validate(&self) -> Result<crate::detect::ChainAllow, ConfigError> {
        if let Some(o) = &self.origin {
            if !ORIGIN_KINDS.contains(&o.as_str()) {
                return Err(ConfigError::Invalid {
                    key: "chains.allow.origin",
                    value: o.clone(),
                    why: "expected iam_user, root, ec2_instance, saml_federation, web_identity_federation, aws_service or unknown",
                });
            }
        }
        if self.roles.is_empty() {
            return Err(ConfigError::Invalid {
                key: "chains.allow.roles",
                value: "[]".into(),
                why: "list the path's roles in order (ARN patterns, `*` allowed)",
            });
        }
        if let Some(r) = self.roles.iter().find(|r| !r.starts_with("arn:")) {
            return Err(ConfigError::Invalid {
                key: "chains.allow.roles",
                value: r.clone(),
                why: "a role ARN pattern such as arn:aws:iam::*:role/ci-deploy",
            });
        }
        if self.reason.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "chains.allow.reason",
                value: self.reason.clone(),
                why: "say why the chain is normal",
            });
        }
        Ok(crate::detect::ChainAllow {
            origin: self.origin.clone(),
            roles: self.roles.clone(),
            reason: self.reason.clone(),
        })
    }
}

fn duration(key: &'static str, value: &str) -> Result<i64, ConfigError> {
    parse_duration(value)
        .filter(|&ms| ms > 0)
        .ok_or_else(|| ConfigError::Invalid {
            key,
            value: value.into(),
            why: "expected a duration such as 90s, 15m, 6h or 2d",
        })
}

/// Parses `instance_id,ip[,account]` lines (`#` comments and a header line allowed).
pub fn parse_inventory(text: &str) -> Result<Vec<(String, IpAddr)>, ConfigError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("instance")) {
            continue;
        }
        let mut cols = line.split(',').map(str::trim);
        let (Some(id), Some(ip)) = (cols.next(), cols.next()) else {
            return Err(ConfigError::Inventory {
                line: i + 1,
                text: line.into(),
            });
        };
        let ip: IpAddr = ip.parse().map_err(|_| ConfigError::Inventory {
            line: i + 1,
            text: line.into(),
        })?;
        if !crate::event::is_instance_id(id) {
            return Err(ConfigError::Inventory {
                line: i + 1,
                text: line.into(),
            });
        }
        out.push((id.to_owned(), ip));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let text = r#"
[organization]
accounts = ["111111111111", "222222222222"]
[[trusted]]
cidr = "198.51.100.0/24"
label = "office"
[state]
ttl = "4h"
[order]
window = "5m"
[detect]
write_only = true
[[suppress]]
type = "InstanceCredentialExfiltration.InsideAWS"
source_cidr = "52.94.0.0/16"
reason = "partner scanner"
[[chains.allow]]
origin = "web_identity_federation"
roles = ["arn:aws:iam::111111111111:role/github-actions-deployer", "arn:aws:iam::*:role/ci-deploy"]
reason = "GitHub Actions deploy pipeline"
"#;
        let s = Config::parse(text)
            .unwrap()
            .settings(Some("instance_id,ip\ni-0abc1234def567890,3.225.16.5\n"))
            .unwrap();
        assert_eq!(s.org_accounts.len(), 2);
        assert_eq!(s.ttl, 4 * HOUR);
        assert_eq!(s.window, 5 * MINUTE);
        assert!(s.write_only);
        assert_eq!(s.trusted[0].label, "office");
        assert_eq!(s.chain_allow.len(), 1);
        assert_eq!(
            s.chain_allow[0].origin.as_deref(),
            Some("web_identity_federation")
        );
        assert_eq!(s.chain_allow[0].roles[1], "arn:aws:iam::*:role/ci-deploy");
        assert_eq!(
            s.inventory,
            vec![(
                "i-0abc1234def567890".to_owned(),
                "3.225.16.5".parse().unwrap()
            )]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let err = Config::parse("[state]\nttl = \"6h\"\nttll = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("ttll"), "{err}");
        let err = Config::parse("[[trusted]]\ncidr = \"10.0.0.0/33\"\nlabel = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = Config::parse("[state]\nttl = \"soon\"\n")
            .unwrap()
            .settings(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("state.ttl") && err.contains("soon"), "{err}");
        let err = Config::parse("")
            .unwrap()
            .settings(Some("i-0abc1234def567890,not-an-ip\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn chains_allow_rejects_unknown_keys_and_bad_values() {
        let err = Config::parse(
            "[[chains.allow]]\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \"x\"\nrole = \"y\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("role"), "{err}");
        let err = Config::parse("[[chains.allow]]\norigin = \"github\"\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \"x\"\n")
            .unwrap()
            .settings(None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chains.allow.origin") && err.contains("github"),
            "{err}"
        );
        let err = Config::parse("[[chains.allow]]\nroles = [\"ci-deploy\"]\nreason = \"x\"\n")
            .unwrap()
            .settings(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("chains.allow.roles"), "{err}");
        let err = Config::parse(
            "[[chains.allow]]\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \" \"\n",
        )
        .unwrap()
        .settings(None)
        .unwrap_err()
        .to_string();
        assert!(err.contains("chains.allow.reason"), "{err}");
    }
}
