//! The MITRE ATT&CK techniques of trailhound's own finding types (SPEC §2, §4 `mitre`).
//!
//! These are `const`s so that [`finding_techniques_for`] can hand out `'static` slices without building
//! a catalog; a test checks every one against `data/catalog-mitre.tsv` (ATT&CK v19).
use super::Technique;

const fn t(id: &'static str, name: &'static str, tactic: &'static str) -> Technique {
    Technique { id, name, tactic }
}

const T1552_005: Technique = t(
    "T1552.005",
    "Unsecured Credentials: Cloud Instance Metadata API",
    "Credential Access",
);
const T1078_004: Technique = t(
    "T1078.004",
    "Valid Accounts: Cloud Accounts",
    "Initial Access",
);
const T1548_005: Technique = t(
    "T1548.005",
    "Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access",
    "Privilege Escalation",
);
const T1550_001: Technique = t(
    "T1550.001",
    "Use Alternate Authentication Material: Application Access Token",
    "Lateral Movement",
);
const T1190: Technique = t(
    "T1190",
    "Exploit Public-Facing Application",
    "Initial Access",
);
const T1059_009: Technique = t(
    "T1059.009",
    "Command and Scripting Interpreter: Cloud API",
    "Execution",
);
const T1098: Technique = t("T1098", "Account Manipulation", "Persistence");
const T1098_001: Technique = t(
    "T1098.001",
    "Account Manipulation: Additional Cloud Credentials",
    "Persistence",
);
const T1098_003: Technique = t(
    "T1098.003",
    "Account Manipulation: Additional Cloud Roles",
    "Privilege Escalation",
);
const T1136_003: Technique = t("T1136.003", "Create Account: Cloud Account", "Persistence");
const T1685: Technique = t("T1685", "Disable or Modify Tools", "Defense Impairment");
const T1685_002: Technique = t(
    "T1685.002",
    "Disable or Modify Tools: Disable or Modify Cloud Log",
    "Defense Impairment",
);

/// Every technique used below, for the consistency test.
#[cfg(test)]
pub(super) const ALL: &[Technique] = &[
    T1552_005, T1078_004, T1548_005, T1550_001, T1190, T1059_009, T1098, T1098_001, T1098_003,
    T1136_003, T1685, T1685_002,
];

/// See [`super::Catalog::finding_techniques`]. Why each:
/// - `InstanceCredentialExfiltration.*`: credentials taken from IMDS (T1552.005) and used as a valid cloud
///   account from elsewhere (T1078.004) — GuardDuty's `InstanceCredentialExfiltration` describes the same.
/// - `RoleChaining`: `AssumeRole` hops (T1548.005, which ATT&CK T1606 cites for `AssumeRole`), each session
///   an application access token (T1550.001), on a valid account (T1078.004) — Elastic's "AWS STS Role
///   Chaining" rule maps T1548 and T1550.001.
/// - `SsrfUserAgentAnomaly`: SSRF in a public application (T1190) reaching IMDS (T1552.005).
/// - `AttackToolUserAgent`: tooling driving the cloud API (T1059.009) with valid credentials (T1078.004).
/// - `Persistence` / `PrivilegeEscalation` / `DefenseEvasion`: the SPEC §2.4 families; in ATT&CK v19 the
///   last one is Defense Impairment (T1685, T1685.002 replace T1562.001, T1562.008).
pub(crate) fn finding_techniques_for(finding_type: &str) -> &'static [Technique] {
    match finding_type {
        t if t == "InstanceCredentialExfiltration"
            || t.starts_with("InstanceCredentialExfiltration.") =>
        {
            &[T1552_005, T1078_004]
        }
        "RoleChaining" => &[T1548_005, T1550_001, T1078_004],
        "SsrfUserAgentAnomaly" => &[T1190, T1552_005, T1078_004],
        "AttackToolUserAgent" => &[T1059_009, T1078_004],
        "Persistence" => &[T1098, T1098_001, T1136_003],
        "PrivilegeEscalation" => &[T1098_003, T1548_005],
        "DefenseEvasion" => &[T1685, T1685_002],
        _ => &[],
    }
}
