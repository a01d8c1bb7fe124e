//! [`Settings`]: the configuration validated (durations parsed, accounts and allow-list entries
//! checked, the inventory read) into the values the engine runs with; [`Settings::default`] is a run
//! without a configuration file.
use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{
    default_max_instances, parse_inventory, ChainAllow, ChainAllowEntry, Config, ConfigError,
    Suppression, Trusted,
};
use crate::time::{parse_duration, HOUR, MINUTE};

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
    pub chain_allow: Vec<ChainAllow>,
    /// Instances whose learned addresses and decisions are logged (`scan --explain`).
    pub explain: Vec<String>,
    /// Sigma rules to run on every event (loaded by the caller: `scan --sigma`).
    pub sigma: Option<std::sync::Arc<crate::sigma::RuleSet>>,
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
            sigma: None,
        }
    }
}

impl Config {
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
            sigma: None,
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
