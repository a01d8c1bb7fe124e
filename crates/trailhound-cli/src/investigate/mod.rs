//! `investigate`'s story of one credential (issue 16): which events belong to it, and to every
//! credential it created or assumed, followed recursively.
//!
//! It reads the engine's enriched output (`enrich`'s NDJSON: each record redacted by the engine,
//! with its access level, MITRE techniques, risks and origin), so the story shows exactly what
//! `enrich` would and no secret. The engine writes events in event-time order (its reorder
//! window), so a credential is issued before it is used: the set of credentials followed grows as
//! the stream goes, and a line is parsed only when it names one of them (or the instance or
//! principal investigated). A call that reached the engine later than the window, before the
//! issuance of its credential, is missed; such calls are counted and reported.
mod model;
mod output;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use memchr::memmem;
use serde_json::Value;

pub use model::{Credential, EventRow, Issue, Seed, Story};
pub use output::{jsonl, table};

/// Follows credentials through the enriched event stream.
pub struct Collector {
    seed: Seed,
    creds: BTreeMap<String, Credential>,
    /// Insertion order of credentials.
    order: Vec<String>,
    events: Vec<EventRow>,
    /// Lines seen per key before it was followed (only keys that look like credentials).
    seen_before: HashMap<String, u64>,
    pending: Vec<u8>,
    /// Finds the seed's text in a line.
    seed_finder: memmem::Finder<'static>,
}

/// A `Write` into a shared [`Collector`] (the engine wants an owned, `Send` writer).
pub struct Tap(pub Arc<Mutex<Collector>>);

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut c = self
            .0
            .lock()
            .map_err(|_| io::Error::other("collector poisoned"))?;
        c.pending.extend_from_slice(buf);
        while let Some(nl) = memchr::memchr(b'\n', &c.pending) {
            let line: Vec<u8> = c.pending.drain(..=nl).collect();
            c.line(&line);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn kind_of(key: &str) -> &'static str {
    if key.starts_with("AKIA") {
        "access key"
    } else {
        "session"
    }
}

impl Collector {
    /// A collector following `seed`.
    pub fn new(seed: Seed) -> Self {
        let mut c = Collector {
            creds: BTreeMap::new(),
            order: Vec::new(),
            events: Vec::new(),
            seen_before: HashMap::new(),
            pending: Vec::new(),
            seed_finder: memmem::Finder::new(seed.text().as_bytes()).into_owned(),
            seed,
        };
        if let Seed::Key(k) = &c.seed {
            let k = k.clone();
            c.follow(&k, None, kind_of(&k));
        }
        c
    }

    fn follow(&mut self, key: &str, parent: Option<&str>, kind: &'static str) {
        if key.is_empty() || self.creds.contains_key(key) {
            return;
        }
        let depth = parent
            .and_then(|p| self.creds.get(p))
            .map_or(0, |p| p.depth + 1);
        self.creds.insert(
            key.to_owned(),
            Credential {
                key: key.to_owned(),
                kind,
                parent: parent.map(str::to_owned),
                depth,
                principal: None,
                role_arn: None,
                session_name: None,
                issued_by: None,
                first_seen: None,
                last_seen: None,
                calls: 0,
                failed: 0,
                service_calls: 0,
                findings: 0,
            },
        );
        self.order.push(key.to_owned());
    }

    fn line(&mut self, line: &[u8]) {
        // Parsed only when it names the seed or a followed credential (as caller, issued or
        // request parameter): every `"accessKeyId"` value in the line is looked up.
        let mut wanted = self.seed_finder.find(line).is_some();
        let mut caller = None;
        for key in access_keys(line) {
            caller.get_or_insert(key);
            if self.creds.contains_key(key) {
                wanted = true;
                break;
            }
        }
        if !wanted {
            if let Some(k) = caller {
                *self.seen_before.entry(k.to_owned()).or_default() += 1;
            }
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            return;
        };
        self.event(v);
    }

    fn event(&mut self, v: Value) {
        let key = get(&v, &["userIdentity", "accessKeyId"]).unwrap_or("");
        let arn = get(&v, &["userIdentity", "arn"]).unwrap_or("");
        let issuer = get(
            &v,
            &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        )
        .unwrap_or("");
        let name = get(&v, &["eventName"]).unwrap_or("");
        let issued = get(&v, &["responseElements", "credentials", "accessKeyId"])
            .or_else(|| get(&v, &["responseElements", "accessKey", "accessKeyId"]))
            .unwrap_or("")
            .to_owned();
        // A root of the story by the seed.
        match &self.seed {
            Seed::Instance(i) => {
                let session = get(&v, &["requestParameters", "roleSessionName"]);
                let by_service = get(&v, &["userIdentity", "type"]) == Some("AWSService");
                if get(&v, &["enrichment", "origin", "instance_id"]) == Some(i.as_str()) {
                    let k = key.to_owned();
                    self.follow(&k, None, "instance credential");
                } else if by_service && session == Some(i.as_str()) && !issued.is_empty() {
                    self.follow(&issued, None, "instance credential");
                }
            }
            Seed::Principal(p) if !key.is_empty() && (arn == p || issuer == p) => {
                let k = key.to_owned();
                self.follow(&k, None, kind_of(&k));
            }
            _ => {}
        }
        let followed = self.creds.contains_key(key);
        let issues_followed = !issued.is_empty() && self.creds.contains_key(&issued);
        let about = get(&v, &["requestParameters", "accessKeyId"])
            .filter(|k| self.creds.contains_key(*k))
            .is_some();
        if !followed && !issues_followed && !about {
            return;
        }
        if followed && !issued.is_empty() {
            let kind = if name == "CreateAccessKey" {
                "access key"
            } else {
                "session"
            };
            self.follow(&issued, Some(key), kind);
        }
        let time = get(&v, &["eventTime"]).unwrap_or("").to_owned();
        let source_ip = get(&v, &["sourceIPAddress"]).unwrap_or("").to_owned();
        let user_agent = get(&v, &["userAgent"]).unwrap_or("").to_owned();
        let event_id = get(&v, &["eventID"]).unwrap_or("").to_owned();
        let error = get(&v, &["errorCode"]);
        if !issued.is_empty() {
            if let Some(c) = self.creds.get_mut(&issued) {
                if c.issued_by.is_none() {
                    let by = get(&v, &["userIdentity", "invokedBy"])
                        .filter(|_| arn.is_empty())
                        .unwrap_or(arn);
                    c.issued_by = Some(Issue {
                        via: name.to_owned(),
                        time: time.clone(),
                        source_ip: source_ip.clone(),
                        user_agent: user_agent.clone(),
                        event_id: event_id.clone(),
                        by: by.to_owned(),
                    });
                    c.role_arn = get(&v, &["requestParameters", "roleArn"]).map(str::to_owned);
                    c.session_name = get(&v, &["requestParameters", "roleSessionName"])
                        .or_else(|| get(&v, &["requestParameters", "userName"]))
                        .map(str::to_owned);
                    // EC2 assuming the instance profile's role, the session named by the instance.
                    if by == "ec2.amazonaws.com"
                        && c.session_name
                            .as_deref()
                            .is_some_and(trailhound_core::event::is_instance_id)
                    {
                        c.kind = "instance credential";
                    }
                }
            }
        }
        if let Some(c) = self.creds.get_mut(key) {
            c.calls += 1;
            c.failed += u64::from(error.is_some());
            c.service_calls += u64::from(source_ip.parse::<std::net::IpAddr>().is_err());
            if c.principal.is_none() && !arn.is_empty() {
                c.principal = Some(arn.to_owned());
            }
            if c.role_arn.is_none() && !issuer.is_empty() {
                c.role_arn = Some(issuer.to_owned());
            }
            c.first_seen.get_or_insert_with(|| time.clone());
            c.last_seen = Some(time.clone());
        }
        let list = |p: &[&str]| -> String {
            p.iter()
                .try_fold(&v, |v, k| v.get(k))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.get("id").and_then(Value::as_str).or(x.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let outcome = match error {
            Some(code) => match get(&v, &["errorMessage"]) {
                Some(m) => format!("{code}: {}", m.chars().take(200).collect::<String>()),
                None => code.to_owned(),
            },
            None => "ok".to_owned(),
        };
        self.events.push(EventRow {
            time,
            event_id,
            key: key.to_owned(),
            principal: if arn.is_empty() {
                get(&v, &["userIdentity", "invokedBy"])
                    .or(get(&v, &["userIdentity", "type"]))
                    .unwrap_or("")
                    .to_owned()
            } else {
                arn.to_owned()
            },
            action: get(&v, &["enrichment", "action"])
                .unwrap_or(name)
                .to_owned(),
            ok: error.is_none(),
            outcome,
            source_ip,
            user_agent,
            access_level: get(&v, &["enrichment", "access_level"])
                .unwrap_or("")
                .to_owned(),
            mitre: list(&["enrichment", "mitre"]),
            risks: list(&["enrichment", "risks"]),
            issued,
            relation: if followed {
                "by"
            } else if issues_followed {
                "issued"
            } else {
                "about"
            },
            record: v,
        });
    }

    /// The story, with the `findings` of the run that touch it.
    pub fn finish(self, findings: &[Value]) -> Story {
        let Collector {
            seed,
            mut creds,
            order,
            mut events,
            seen_before,
            ..
        } = self;
        let missed_early = order.iter().filter_map(|k| seen_before.get(k)).sum::<u64>();
        let touching: Vec<Value> = findings
            .iter()
            .filter(|f| {
                let keys = finding_keys(f);
                let hit: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| creds.contains_key(*k))
                    .collect();
                for k in &hit {
                    if let Some(c) = creds.get_mut(*k) {
                        c.findings += 1;
                    }
                }
                let instance = matches!(&seed, Seed::Instance(i)
                    if f.get("instance_id").and_then(Value::as_str) == Some(i.as_str()));
                !hit.is_empty() || instance
            })
            .cloned()
            .collect();
        // Tree order: each credential followed by its descendants, siblings by first issuance.
        let has_kids: std::collections::HashSet<String> =
            creds.values().filter_map(|c| c.parent.clone()).collect();
        let service_only: Vec<String> = order
            .iter()
            .filter(|k| {
                let c = &creds[*k];
                c.calls > 0
                    && c.service_calls == c.calls
                    && c.issued_by.is_none()
                    && c.findings == 0
                    && !has_kids.contains(*k)
            })
            .cloned()
            .collect();
        for k in &service_only {
            creds.remove(k);
        }
        let mut kids: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
        for k in order.iter().filter(|k| creds.contains_key(*k)) {
            kids.entry(creds[k].parent.clone())
                .or_default()
                .push(k.clone());
        }
        let mut tree = Vec::new();
        let mut stack: Vec<String> = kids.get(&None).cloned().unwrap_or_default();
        stack.reverse();
        while let Some(k) = stack.pop() {
            if let Some(children) = kids.get(&Some(k.clone())) {
                stack.extend(children.iter().rev().cloned());
            }
            if let Some(c) = creds.remove(&k) {
                tree.push(c);
            }
        }
        events.sort_by(|a, b| a.time.cmp(&b.time));
        Story {
            credentials: tree,
            events,
            findings: touching,
            missed_early,
            service_only: service_only.len() as u64,
        }
    }
}

/// Every credential a finding names: its key(s), the chain's keys and the origin's.
fn finding_keys(f: &Value) -> Vec<&str> {
    let mut keys = vec![f.get("access_key_id").and_then(Value::as_str).unwrap_or("")];
    keys.extend(
        f.get("access_key_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str),
    );
    for h in f
        .get("chain")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        keys.extend(h.get("access_key_id").and_then(Value::as_str));
        keys.extend(h.get("caller_access_key_id").and_then(Value::as_str));
    }
    keys.extend(
        f.get("origin")
            .and_then(|o| o.get("access_key_id"))
            .and_then(Value::as_str),
    );
    keys.retain(|k| !k.is_empty());
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The values of every `"accessKeyId"` in a line (the caller's first), found without parsing.
fn access_keys(line: &[u8]) -> impl Iterator<Item = &str> {
    memmem::find_iter(line, b"\"accessKeyId\"").filter_map(move |at| {
        let mut i = at + 13;
        let skip = |i: &mut usize| {
            while line.get(*i).is_some_and(u8::is_ascii_whitespace) {
                *i += 1;
            }
        };
        skip(&mut i);
        (line.get(i) == Some(&b':')).then_some(())?;
        i += 1;
        skip(&mut i);
        (line.get(i) == Some(&b'"')).then_some(())?;
        let rest = &line[i + 1..];
        let end = memchr::memchr(b'"', rest)?;
        std::str::from_utf8(&rest[..end]).ok()
    })
}

#[cfg(test)]
mod tests;
