//! The embedded user-agent tables: attack tools and pentest distributions
//! (`data/useragent-attack-tools.tsv`) and raw HTTP clients (`data/useragent-raw-http.tsv`),
//! provenance in `data/README.md`. Parsed once into a process-wide table that borrows from the
//! embedded text; malformed rows are skipped here and rejected by the data-file test.
use std::sync::OnceLock;

/// What an attack-tool match means (column `kind` of `data/useragent-attack-tools.tsv`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ToolKind {
    /// An attack framework: any use is suspicious.
    Offensive,
    /// A penetration-testing distribution (Kali, Parrot, Pentoo) seen in the agent's OS part.
    PentestOs,
    /// A dual-use posture scanner also run by defenders (ScoutSuite, Prowler): report at lower severity.
    Audit,
    /// Adversary emulation (Stratus Red Team): real attack behaviour, usually authorised.
    Simulation,
    /// A leaked-key validator (TruffleHog).
    CredentialCheck,
}

impl ToolKind {
    /// The data file's spelling: `offensive`, `pentest-os`, `audit`, `simulation`, `credential-check`.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolKind::Offensive => "offensive",
            ToolKind::PentestOs => "pentest-os",
            ToolKind::Audit => "audit",
            ToolKind::Simulation => "simulation",
            ToolKind::CredentialCheck => "credential-check",
        }
    }

    fn parse(s: &str) -> Option<ToolKind> {
        Some(match s {
            "offensive" => ToolKind::Offensive,
            "pentest-os" => ToolKind::PentestOs,
            "audit" => ToolKind::Audit,
            "simulation" => ToolKind::Simulation,
            "credential-check" => ToolKind::CredentialCheck,
            _ => return None,
        })
    }
}

/// One row of `data/useragent-attack-tools.tsv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttackTool {
    /// Lower-case substring matched case-insensitively.
    pub pattern: &'static str,
    /// Tool or distribution name.
    pub tool: &'static str,
    /// What kind of tool it is.
    pub kind: ToolKind,
    /// Where the marker is documented.
    pub reference: &'static str,
}

/// One row of `data/useragent-raw-http.tsv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawHttpClient {
    /// Lower-case substring matched case-insensitively.
    pub pattern: &'static str,
    /// Client name.
    pub client: &'static str,
    /// Where the default agent is documented.
    pub reference: &'static str,
}

pub(super) const ATTACK_TOOLS_TSV: &str =
    include_str!("../../../../data/useragent-attack-tools.tsv");
pub(super) const RAW_HTTP_TSV: &str = include_str!("../../../../data/useragent-raw-http.tsv");

struct Tables {
    attack: Vec<AttackTool>,
    raw: Vec<RawHttpClient>,
}

pub(super) fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        // Malformed rows are skipped here and rejected by the data-file test.
        attack: rows(ATTACK_TOOLS_TSV)
            .filter_map(|c| match c.as_slice() {
                [pattern, tool, kind, reference] => Some(AttackTool {
                    pattern,
                    tool,
                    kind: ToolKind::parse(kind)?,
                    reference,
                }),
                _ => None,
            })
            .collect(),
        raw: rows(RAW_HTTP_TSV)
            .filter_map(|c| match c.as_slice() {
                [pattern, client, reference] => Some(RawHttpClient {
                    pattern,
                    client,
                    reference,
                }),
                _ => None,
            })
            .collect(),
    })
}

/// The embedded attack-tool table, in matching order.
pub fn attack_tools() -> &'static [AttackTool] {
    &tables().attack
}

/// The embedded raw-HTTP-client table, in matching order.
pub fn raw_http_clients() -> &'static [RawHttpClient] {
    &tables().raw
}
