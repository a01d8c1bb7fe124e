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
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

mod chains;
mod inventory;
mod settings;

pub use chains::{glob, ChainAllow, ChainAllowEntry, Chains};
pub use inventory::parse_inventory;
pub use settings::Settings;

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

impl Config {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Ok(toml::from_str(text)?)
    }
}

#[cfg(test)]
mod tests;
