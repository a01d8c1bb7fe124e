//! `[chains]`: role-chain paths that are normal operation (`[[chains.allow]]`), as written in the
//! configuration ([`ChainAllowEntry`]) and as validated for the `RoleChaining` detector
//! ([`ChainAllow`], matched against a path with [`glob`]). Origin kinds are plain strings here
//! (`OriginKind::as_str` in `track`), so configuration imports nothing from the pipeline's stages.
use serde::Deserialize;

use super::ConfigError;

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

/// A `[[chains.allow]]` entry: a chain path that is normal operation (reported at low severity).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainAllow {
    /// Origin kind the entry applies to (`iam_user`, `root`, `ec2_instance`, `saml_federation`,
    /// `web_identity_federation`, `aws_service`, `unknown`); `None` for any.
    pub origin: Option<String>,
    /// The roles of the path, in order, as ARN patterns (`*` matches any run of characters, e.g.
    /// `arn:aws:iam::*:role/ci-deploy`). The path must have exactly this many role hops.
    pub roles: Vec<String>,
    /// Why it is normal (shown in the finding).
    pub reason: String,
}

impl ChainAllow {
    /// True when the entry covers a path of `roles` from an origin of kind `kind` (the origin kind's
    /// `as_str`, e.g. `web_identity_federation`).
    pub fn matches(&self, kind: &str, roles: &[&str]) -> bool {
        self.origin.as_deref().is_none_or(|o| o == kind)
            && self.roles.len() == roles.len()
            && self.roles.iter().zip(roles).all(|(p, r)| glob(p, r))
    }
}

/// `*`-only glob, case-sensitive (ARNs are).
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
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
    pub(super) fn validate(&self) -> Result<ChainAllow, ConfigError> {
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
        Ok(ChainAllow {
            origin: self.origin.clone(),
            roles: self.roles.clone(),
            reason: self.reason.clone(),
        })
    }
}
