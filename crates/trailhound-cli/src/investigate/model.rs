//! What `investigate` tells: the seed, the credentials with where each came from, the calls, and
//! the story they make (plain data, serialised for `--format jsonl` and the page).
use serde::Serialize;
use serde_json::Value;

/// What to investigate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// An access key (`ASIA…` session or `AKIA…` user key).
    Key(String),
    /// An EC2 instance: every credential delivered to it.
    Instance(String),
    /// A principal (user, role or assumed-role ARN): every credential it used.
    Principal(String),
}

impl Seed {
    /// `key ASIA…`, `instance i-…`, `principal arn:…`.
    pub fn describe(&self) -> String {
        match self {
            Seed::Key(k) => format!("key {k}"),
            Seed::Instance(i) => format!("instance {i}"),
            Seed::Principal(p) => format!("principal {p}"),
        }
    }

    pub(super) fn text(&self) -> &str {
        match self {
            Seed::Key(s) | Seed::Instance(s) | Seed::Principal(s) => s,
        }
    }
}

/// How a credential was issued.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    /// The call (`AssumeRole`, `CreateAccessKey`, …).
    pub via: String,
    /// When.
    pub time: String,
    /// From where.
    pub source_ip: String,
    /// With which client.
    pub user_agent: String,
    /// The call's event id.
    pub event_id: String,
    /// Who called: the caller's ARN, or the service.
    pub by: String,
}

/// One credential of the story.
#[derive(Clone, Debug, Serialize)]
pub struct Credential {
    /// The access key id.
    pub key: String,
    /// `session`, `access key` or `instance credential`.
    pub kind: &'static str,
    /// The credential it was issued with, when it is in the story.
    pub parent: Option<String>,
    /// Depth in the tree (roots 0).
    pub depth: usize,
    /// The principal seen using it (first call).
    pub principal: Option<String>,
    /// The role behind it.
    pub role_arn: Option<String>,
    /// `roleSessionName`, or the user a key was created for.
    pub session_name: Option<String>,
    /// Where it came from, when the issuing call is in the logs.
    pub issued_by: Option<Issue>,
    /// Its first and last call.
    pub first_seen: Option<String>,
    /// Its last call.
    pub last_seen: Option<String>,
    /// Calls made with it.
    pub calls: u64,
    /// Of which failed.
    pub failed: u64,
    /// Of which came from an AWS service on its behalf (`AWS Internal`, `*.amazonaws.com`).
    pub service_calls: u64,
    /// Findings that touch it.
    pub findings: u64,
}

/// One call of the story, for the table and the page.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    /// `eventTime`.
    pub time: String,
    /// `eventID`.
    pub event_id: String,
    /// The credential used.
    pub key: String,
    /// The caller: its ARN, else the service that called (`invokedBy`) or the identity type.
    pub principal: String,
    /// `service:EventName`.
    pub action: String,
    /// No `errorCode`.
    pub ok: bool,
    /// `errorCode: errorMessage`, or `ok`.
    pub outcome: String,
    /// `sourceIPAddress`.
    pub source_ip: String,
    /// `userAgent`.
    pub user_agent: String,
    /// IAM access level.
    pub access_level: String,
    /// MITRE technique ids, comma-separated.
    pub mitre: String,
    /// Risk categories, comma-separated.
    pub risks: String,
    /// The credential the call issued, or "".
    pub issued: String,
    /// `by` a credential of the story; `issued` one of them (the call that created a root);
    /// `about` one of them, by someone else (e.g. `UpdateAccessKey`).
    pub relation: &'static str,
    /// The enriched record (redacted by the engine).
    #[serde(skip)]
    pub record: Value,
}

/// The story.
#[derive(Debug, Default)]
pub struct Story {
    /// Credentials, in tree order (each followed by its descendants).
    pub credentials: Vec<Credential>,
    /// Calls, in event-time order.
    pub events: Vec<EventRow>,
    /// Findings touching any credential (or the instance), in output order.
    pub findings: Vec<Value>,
    /// Calls of a followed credential that arrived before its issuance was read (late delivery).
    pub missed_early: u64,
    /// Credentials left out of the tree because AWS services alone used them on the story's
    /// behalf (each `AWS Internal` call can carry a key of its own); their calls stay listed.
    pub service_only: u64,
}
