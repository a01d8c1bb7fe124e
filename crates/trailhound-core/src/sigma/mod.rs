//! Sigma rules (issue 17): the community's CloudTrail detections, run on every event.
//!
//! A rule is loaded from YAML ([`Rule::parse`]), refused with a reason when it uses anything this
//! engine does not implement exactly as the Sigma specification defines it, and compiled once:
//! every field check into matchers (case-insensitive wildcards `*` `?`, `contains`, `startswith`,
//! `endswith`, `all`, `re`, `fieldref`, `null`), the condition into an expression tree
//! ([`condition`]). A [`RuleSet`] indexes rules by the `eventName` values they require, so an event
//! is only tested against rules that can match it.
//!
//! Matching happens in two steps. First on the decoded [`Event`]'s own fields (`eventSource`,
//! `eventName`, `userIdentity.type`, …) with three-valued logic: a field the event does not carry
//! is *unknown*. Only when the answer is unknown is the record's text parsed and the rule decided
//! on it. Both happen while decoding, on the decoding threads, with the record at hand
//! ([`RuleSet::hits`] fills [`Event::sigma`]): the record text is never kept for it. Field paths
//! are dotted paths into the record's objects; a list field matches when one element does; an object
//! field is matched as its compact JSON text. Case-insensitive matching folds ASCII only.
mod condition;
mod glob;
mod rules;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::Value;

use crate::event::{Event, IdentityType};
pub use condition::Expr;
pub(crate) use glob::glob_match;
use glob::Glob;
pub use rules::builtin;

/// What a rule says about itself (kept in its findings).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleInfo {
    /// `id`.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `author`.
    pub author: String,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `description`.
    pub description: String,
    /// Where it was loaded from.
    pub source: String,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// What it says about itself.
    pub info: RuleInfo,
    searches: Vec<Search>,
    condition: Expr,
}

/// A search identifier: field checks that must all hold, or a list of such maps (any).
#[derive(Debug)]
enum Search {
    All(Vec<Check>),
    Any(Vec<Vec<Check>>),
}

/// One `field|modifiers: values` entry.
#[derive(Debug)]
struct Check {
    path: String,
    /// The path as a field the decoded event carries, resolved once.
    known: Known,
    /// Values must all match (`|all`) rather than any.
    all: bool,
    values: Vec<Matcher>,
}

#[derive(Debug)]
enum Matcher {
    /// A string with wildcards (case-insensitive).
    Glob(Glob),
    /// `|re`: a regular expression (case-sensitive unless it says otherwise).
    Re(regex::Regex),
    /// `|fieldref`: equal to another field's value.
    FieldRef(String),
    /// `null`: absent or null.
    Null,
    /// A number: equal to the field's number (or its text).
    Num(String),
    /// A boolean.
    Bool(bool),
}

/// Why a rule was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: rule {id}: {reason}")]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// The rule's id (or `?`).
    pub id: String,
    /// Why.
    pub reason: String,
}

/// Three-valued truth: a field the decoded event does not carry is unknown until the record is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot tell from the decoded event.
    Unknown,
}

/// What a record says about a field.
enum Look<'a> {
    Absent,
    Null,
    Str(&'a str),
    Num(String),
    Bool(bool),
    List(&'a [Value]),
    /// Values gathered through a list on the path.
    Found(Vec<Value>),
    Object(String),
    /// The decoded event does not carry the field.
    Unknown,
}

/// The fields a decoded [`Event`] carries, named once when a rule is compiled (so testing a rule
/// on an event compares no field names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    EventSource,
    EventName,
    AwsRegion,
    ErrorCode,
    UserAgent,
    SourceIp,
    IdentityType,
    IdentityArn,
    IssuerType,
    /// Only the record has it.
    Other,
}

impl Known {
    fn of(path: &str) -> Known {
        match path {
            "eventSource" => Known::EventSource,
            "eventName" => Known::EventName,
            "awsRegion" => Known::AwsRegion,
            "errorCode" => Known::ErrorCode,
            "userAgent" => Known::UserAgent,
            "sourceIPAddress" => Known::SourceIp,
            "userIdentity.type" => Known::IdentityType,
            "userIdentity.arn" => Known::IdentityArn,
            "userIdentity.sessionContext.sessionIssuer.type" => Known::IssuerType,
            _ => Known::Other,
        }
    }
}

/// Where a rule reads fields from.
trait Fields {
    fn look(&self, path: &str, known: Known) -> Look<'_>;
}

impl Fields for Event {
    fn look(&self, _path: &str, known: Known) -> Look<'_> {
        let id = &self.identity;
        fn opt(v: Option<&str>) -> Look<'_> {
            match v {
                Some(s) => Look::Str(s),
                None => Look::Unknown,
            }
        }
        match known {
            Known::EventSource => Look::Str(self.event_source()),
            Known::EventName => Look::Str(self.event_name()),
            Known::AwsRegion => Look::Str(&self.region),
            Known::ErrorCode => opt(self.error_code.as_deref()),
            Known::UserAgent | Known::SourceIp => {
                let v: &str = if known == Known::UserAgent {
                    self.user_agent()
                } else {
                    &self.source_ip
                };
                // Empty is how the decoded event says absent (or empty): the record decides.
                if v.is_empty() {
                    Look::Unknown
                } else {
                    Look::Str(v)
                }
            }
            Known::IdentityType => match id.kind {
                IdentityType::AssumedRole => Look::Str("AssumedRole"),
                IdentityType::IamUser => Look::Str("IAMUser"),
                IdentityType::Root => Look::Str("Root"),
                IdentityType::AwsService => Look::Str("AWSService"),
                IdentityType::AwsAccount => Look::Str("AWSAccount"),
                IdentityType::FederatedUser => Look::Str("FederatedUser"),
                IdentityType::SamlUser => Look::Str("SAMLUser"),
                IdentityType::WebIdentityUser => Look::Str("WebIdentityUser"),
                IdentityType::Other | IdentityType::Missing => Look::Unknown,
            },
            Known::IdentityArn => opt(self.identity_arn()),
            Known::IssuerType => match self.issuer_arn() {
                Some(a) if a.contains(":role/") => Look::Str("Role"),
                _ => Look::Unknown,
            },
            Known::Other => Look::Unknown,
        }
    }
}

impl Fields for Value {
    fn look(&self, path: &str, _known: Known) -> Look<'_> {
        let mut v = self;
        let mut parts = path.split('.');
        while let Some(part) = parts.next() {
            match v {
                // A path through a list reaches into each element (`containerDefinitions.command`).
                Value::Array(items) => {
                    let rest: Vec<&str> = std::iter::once(part).chain(parts).collect();
                    let rest = rest.join(".");
                    let found: Vec<Value> = items
                        .iter()
                        .flat_map(|item| match item.look(&rest, Known::Other) {
                            Look::Str(s) => vec![Value::String(s.to_owned())],
                            Look::Num(n) => vec![Value::String(n)],
                            Look::Bool(b) => vec![Value::Bool(b)],
                            Look::List(l) => l.to_vec(),
                            Look::Object(o) => vec![Value::String(o)],
                            _ => Vec::new(),
                        })
                        .collect();
                    return if found.is_empty() {
                        Look::Absent
                    } else {
                        Look::Found(found)
                    };
                }
                _ => match v.get(part) {
                    Some(next) => v = next,
                    None => return Look::Absent,
                },
            }
        }
        match v {
            Value::Null => Look::Null,
            Value::String(s) => Look::Str(s),
            Value::Number(n) => Look::Num(n.to_string()),
            Value::Bool(b) => Look::Bool(*b),
            Value::Array(a) => Look::List(a),
            Value::Object(_) => Look::Object(object_text(v)),
        }
    }
}

/// An object or list as text to match: JSON, but with string values written as they are (not
/// escaped), so that a policy document held as a string reads as the document it is
/// (`"Effect":"Allow"`), as in the rules written against raw log text.
fn object_text(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(k);
                    out.push_str("\":");
                    write(x, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

impl Rule {
    /// Loads one rule from YAML text; `source` names the file in errors.
    pub fn parse(text: &str, source: &str) -> Result<Rule, LoadError> {
        rules::compile(text, source)
    }

    /// The rule on the decoded event alone.
    pub fn on_event(&self, ev: &Event) -> Tri {
        self.eval(ev)
    }

    /// The rule on the record.
    pub fn on_record(&self, record: &Value) -> bool {
        self.eval(record) == Tri::True
    }

    fn eval(&self, f: &dyn Fields) -> Tri {
        eval(&self.condition, &self.searches, f)
    }
}

fn eval(e: &Expr, searches: &[Search], f: &dyn Fields) -> Tri {
    match e {
        Expr::Search(i) => match &searches[*i] {
            Search::All(checks) => all(checks.iter().map(|c| c.eval(f))),
            Search::Any(maps) => any(maps.iter().map(|m| all(m.iter().map(|c| c.eval(f))))),
        },
        Expr::All(es) => all(es.iter().map(|x| eval(x, searches, f))),
        Expr::Any(es) => any(es.iter().map(|x| eval(x, searches, f))),
        Expr::Not(x) => match eval(x, searches, f) {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        },
    }
}

fn all(it: impl Iterator<Item = Tri>) -> Tri {
    let mut out = Tri::True;
    for t in it {
        match t {
            Tri::False => return Tri::False,
            Tri::Unknown => out = Tri::Unknown,
            Tri::True => {}
        }
    }
    out
}

fn any(it: impl Iterator<Item = Tri>) -> Tri {
    let mut out = Tri::False;
    for t in it {
        match t {
            Tri::True => return Tri::True,
            Tri::Unknown => out = Tri::Unknown,
            Tri::False => {}
        }
    }
    out
}

impl Check {
    fn eval(&self, f: &dyn Fields) -> Tri {
        let look = f.look(&self.path, self.known);
        if matches!(look, Look::Unknown) {
            return Tri::Unknown;
        }
        let mut results = self.values.iter().map(|m| m.matches(&look, f));
        let hit = if self.all {
            results.all(|r| r)
        } else {
            results.any(|r| r)
        };
        // A fieldref to a field the decoded event does not carry cannot be decided on it.
        if !hit
            && self
                .values
                .iter()
                .any(|m| matches!(m, Matcher::FieldRef(p) if matches!(f.look(p, Known::of(p)), Look::Unknown)))
        {
            return Tri::Unknown;
        }
        if hit {
            Tri::True
        } else {
            Tri::False
        }
    }
}

impl Matcher {
    fn matches(&self, look: &Look<'_>, f: &dyn Fields) -> bool {
        match (self, look) {
            (Matcher::Null, Look::Absent | Look::Null) => true,
            (Matcher::Null, _) => false,
            (_, Look::Found(items)) => items
                .iter()
                .any(|item| self.matches(&Look::List(std::slice::from_ref(item)), f)),
            (_, Look::List(items)) => items.iter().any(|item| {
                let inner = match item {
                    Value::Null => Look::Null,
                    Value::String(s) => Look::Str(s),
                    Value::Number(n) => Look::Num(n.to_string()),
                    Value::Bool(b) => Look::Bool(*b),
                    other => Look::Object(object_text(other)),
                };
                self.matches(&inner, f)
            }),
            (_, Look::Absent | Look::Null | Look::Unknown) => false,
            (Matcher::Glob(g), Look::Str(s)) => g.matches(s),
            (Matcher::Glob(g), Look::Num(s) | Look::Object(s)) => g.matches(s),
            (Matcher::Glob(g), Look::Bool(b)) => g.matches(if *b { "true" } else { "false" }),
            (Matcher::Re(r), Look::Str(s)) => r.is_match(s),
            (Matcher::Re(r), Look::Num(s) | Look::Object(s)) => r.is_match(s),
            (Matcher::Re(r), Look::Bool(b)) => r.is_match(if *b { "true" } else { "false" }),
            (Matcher::Num(n), Look::Num(s)) => n == s,
            (Matcher::Num(n), Look::Str(s)) => n == s,
            (Matcher::Num(_), _) => false,
            (Matcher::Bool(want), Look::Bool(b)) => want == b,
            (Matcher::Bool(want), Look::Str(s)) => {
                s.eq_ignore_ascii_case(if *want { "true" } else { "false" })
            }
            (Matcher::Bool(_), _) => false,
            (Matcher::FieldRef(other), look) => match (look, f.look(other, Known::of(other))) {
                (Look::Str(a), Look::Str(b)) => *a == b,
                (Look::Num(a), Look::Num(b)) => a == &b,
                (Look::Bool(a), Look::Bool(b)) => *a == b,
                _ => false,
            },
        }
    }
}

/// Rules indexed for the stream.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Lower-cased `eventName` → the rules that require it.
    by_name: HashMap<String, Vec<u32>, foldhash::fast::RandomState>,
    /// Rules without such a requirement: tested on every event.
    everywhere: Vec<u32>,
}

impl RuleSet {
    /// Indexes `rules`.
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let mut set = RuleSet {
            rules,
            ..RuleSet::default()
        };
        for (i, r) in set.rules.iter().enumerate() {
            match rules::required_names(r) {
                Some(names) => {
                    for n in names {
                        set.by_name.entry(n).or_default().push(i as u32);
                    }
                }
                None => set.everywhere.push(i as u32),
            }
        }
        set
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Calls `f` with the index of every rule that can match `ev` and its verdict on the decoded
    /// event (never `False`).
    pub fn candidates(&self, ev: &Event, mut f: impl FnMut(usize, Tri)) {
        let mut buf = [0u8; 128];
        let name = ev.event_name().as_bytes();
        let indexed = if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            std::str::from_utf8(lower)
                .ok()
                .and_then(|n| self.by_name.get(n))
        } else {
            None
        };
        for &i in indexed.into_iter().flatten().chain(&self.everywhere) {
            let i = i as usize;
            match self.rules[i].on_event(ev) {
                Tri::False => {}
                t => f(i, t),
            }
        }
    }

    /// The rules `ev` matches, decided while decoding: on the decoded event when it can tell,
    /// else on `record` (its text, parsed only then). `None` when none match.
    pub fn hits(&self, ev: &Event, record: &str) -> Option<Box<[u16]>> {
        let mut hits: Vec<u16> = Vec::new();
        let mut parsed: Option<Option<Value>> = None;
        self.candidates(ev, |i, t| {
            let hit = match t {
                Tri::True => true,
                _ => parsed
                    .get_or_insert_with(|| serde_json::from_str(record).ok())
                    .as_ref()
                    .is_some_and(|v| self.rules[i].on_record(v)),
            };
            if hit {
                hits.push(i as u16);
            }
        });
        (!hits.is_empty()).then(|| hits.into_boxed_slice())
    }
}
