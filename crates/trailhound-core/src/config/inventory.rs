//! The instance inventory (`[instances] inventory`): `instance_id,ip[,account]` lines naming
//! addresses known to belong to instances (e.g. exported from `aws ec2 describe-instances`).
use std::net::IpAddr;

use super::ConfigError;

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
