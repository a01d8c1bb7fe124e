//! Building the [`Catalog`] from its embedded data files, once.
//!
//! Builtin data never stops the program: a malformed row is skipped and described in the returned
//! problem list, which the data-file test requires to be empty.
use super::{AccessLevel, Catalog, Entry, FollowUp, FxMap, Risks, Service, Technique};

pub(super) const ACCESS_LEVELS: &str = include_str!("../../../../data/iam/access-levels.tsv");
pub(super) const RISKS: &str = include_str!("../../../../data/iam/risks.tsv");
pub(super) const RISKS_EXTRA: &str = include_str!("../../../../data/catalog-risks-extra.tsv");
pub(super) const EVENT_SOURCES: &str = include_str!("../../../../data/catalog-event-sources.tsv");
pub(super) const EVENT_NAMES: &str = include_str!("../../../../data/catalog-eventnames.tsv");
pub(super) const KNOWN_UNKNOWNS: &str = include_str!("../../../../data/catalog-known-unknowns.tsv");
pub(super) const MITRE: &str = include_str!("../../../../data/catalog-mitre.tsv");
pub(super) const TECHNIQUES: &str = include_str!("../../../../data/catalog-techniques.tsv");
pub(super) const FOLLOW_UPS: &str = include_str!("../../../../data/catalog-follow-ups.tsv");

/// Every embedded file with its name, for the data-file test.
#[cfg(test)]
pub(super) const FILES: &[(&str, &str)] = &[
    ("data/iam/access-levels.tsv", ACCESS_LEVELS),
    ("data/iam/risks.tsv", RISKS),
    ("data/catalog-risks-extra.tsv", RISKS_EXTRA),
    ("data/catalog-event-sources.tsv", EVENT_SOURCES),
    ("data/catalog-eventnames.tsv", EVENT_NAMES),
    ("data/catalog-known-unknowns.tsv", KNOWN_UNKNOWNS),
    ("data/catalog-mitre.tsv", MITRE),
    ("data/catalog-techniques.tsv", TECHNIQUES),
    ("data/catalog-follow-ups.tsv", FOLLOW_UPS),
];

/// Non-comment, non-blank rows of a TSV file, split on tabs, with their 1-based line numbers.
pub(super) fn rows(text: &'static str) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

fn level(code: &str) -> Option<AccessLevel> {
    Some(match code {
        "L" => AccessLevel::List,
        "R" => AccessLevel::Read,
        "W" => AccessLevel::Write,
        "P" => AccessLevel::PermissionsManagement,
        "T" => AccessLevel::Tagging,
        _ => return None,
    })
}

struct Builder {
    cat: Catalog,
    problems: Vec<String>,
}

impl Builder {
    fn service(&mut self, prefix: &str) -> usize {
        if let Some(&i) = self.cat.prefixes.get(prefix) {
            return i as usize;
        }
        let i = self.cat.services.len();
        self.cat.services.push(Service {
            prefix: prefix.into(),
            actions: FxMap::default(),
        });
        self.cat.prefixes.insert(prefix.into(), i as u32);
        self.cat
            .sources
            .insert(format!("{prefix}.amazonaws.com").into(), i as u32);
        i
    }

    /// The entry of `prefix:action` (any case), created empty when missing.
    fn entry(&mut self, prefix: &str, action: &str) -> &mut Entry {
        let s = self.service(prefix);
        self.cat.services[s]
            .actions
            .entry(action.to_ascii_lowercase().into())
            .or_default()
    }

    fn existing(&self, prefix: &str, action: &str) -> Option<Entry> {
        let s = *self.cat.prefixes.get(prefix)? as usize;
        self.cat.services[s]
            .actions
            .get(action.to_ascii_lowercase().as_str())
            .copied()
    }

    fn problem(&mut self, file: &str, line: usize, what: String) {
        self.problems.push(format!("{file}:{line}: {what}"));
    }

    /// `prefix:Action` keys of the curated files.
    fn split_key<'k>(
        &mut self,
        file: &str,
        line: usize,
        key: &'k str,
    ) -> Option<(&'k str, &'k str)> {
        let split = key
            .split_once(':')
            .filter(|(p, a)| !p.is_empty() && !a.is_empty());
        if split.is_none() {
            self.problem(file, line, format!("key {key:?} is not prefix:Action"));
        }
        split
    }

    fn access_levels(&mut self) {
        for (line, c) in rows(ACCESS_LEVELS) {
            match c.as_slice() {
                [prefix, code, actions] => match level(code) {
                    Some(l) => {
                        for a in actions.split(' ').filter(|a| !a.is_empty()) {
                            self.entry(prefix, a).access = Some(l);
                        }
                    }
                    None => self.problem(
                        "data/iam/access-levels.tsv",
                        line,
                        format!("level code {code:?}"),
                    ),
                },
                _ => self.problem(
                    "data/iam/access-levels.tsv",
                    line,
                    "expected 3 columns".into(),
                ),
            }
        }
    }

    fn risks(&mut self, file: &str, text: &'static str) {
        for (line, c) in rows(text) {
            let [key, category, _source] = c.as_slice() else {
                self.problem(file, line, "expected 3 columns".into());
                continue;
            };
            let Some((prefix, action)) = self.split_key(file, line, key) else {
                continue;
            };
            match Risks::from_name(category) {
                Some(r) => self.entry(prefix, action).risks |= r,
                None => self.problem(file, line, format!("unknown risk category {category:?}")),
            }
        }
    }

    fn event_sources(&mut self) {
        for (line, c) in rows(EVENT_SOURCES) {
            let [source, prefix, _note] = c.as_slice() else {
                self.problem(
                    "data/catalog-event-sources.tsv",
                    line,
                    "expected 3 columns".into(),
                );
                continue;
            };
            let s = self.service(prefix);
            self.cat.sources.insert((*source).into(), s as u32);
        }
    }

    /// eventName aliases take the access level and risks of the IAM action they stand for.
    fn event_names(&mut self) {
        const FILE: &str = "data/catalog-eventnames.tsv";
        for (line, c) in rows(EVENT_NAMES) {
            let [prefix, name, target, _source] = c.as_slice() else {
                self.problem(FILE, line, "expected 4 columns".into());
                continue;
            };
            let (tp, ta) = target.split_once(':').unwrap_or((prefix, target));
            match self.existing(tp, ta).filter(|e| e.access.is_some()) {
                Some(t) => {
                    let e = self.entry(prefix, name);
                    e.access = t.access;
                    e.risks |= t.risks;
                }
                None => self.problem(FILE, line, format!("{tp}:{ta} has no access level")),
            }
        }
    }

    fn known_unknowns(&mut self) {
        const FILE: &str = "data/catalog-known-unknowns.tsv";
        for (line, c) in rows(KNOWN_UNKNOWNS) {
            let [source, name, reason] = c.as_slice() else {
                self.problem(FILE, line, "expected 3 columns".into());
                continue;
            };
            let prefix = self.cat.iam_prefix(source).to_owned();
            let e = self.entry(&prefix, name);
            e.known_unknown = Some(reason);
            if e.access.is_some() {
                self.problem(
                    FILE,
                    line,
                    format!("{source} {name} has an access level: not unknown"),
                );
            }
        }
    }

    fn mitre(&mut self) {
        for (line, c) in rows(MITRE) {
            match c.as_slice() {
                [id, name, tactic] => {
                    self.cat
                        .mitre
                        .insert((*id).into(), Technique { id, name, tactic });
                }
                _ => self.problem("data/catalog-mitre.tsv", line, "expected 3 columns".into()),
            }
        }
    }

    fn techniques(&mut self) {
        const FILE: &str = "data/catalog-techniques.tsv";
        for (line, c) in rows(TECHNIQUES) {
            let [key, ids, _source] = c.as_slice() else {
                self.problem(FILE, line, "expected 3 columns".into());
                continue;
            };
            let Some((prefix, action)) = self.split_key(FILE, line, key) else {
                continue;
            };
            let start = self.cat.techniques.len();
            for id in ids.split(',') {
                match self.cat.mitre.get(id).copied() {
                    Some(t) => self.cat.techniques.push(t),
                    None => {
                        self.problem(FILE, line, format!("{id} is not in data/catalog-mitre.tsv"))
                    }
                }
            }
            let len = self.cat.techniques.len() - start;
            let e = self.entry(prefix, action);
            if e.tech_len != 0 {
                self.problems
                    .push(format!("{FILE}:{line}: {key} listed twice"));
            }
            let e = self.entry(prefix, action);
            (e.tech_start, e.tech_len) = (start as u32, len as u16);
        }
    }

    fn follow_ups(&mut self) {
        const FILE: &str = "data/catalog-follow-ups.tsv";
        for (line, c) in rows(FOLLOW_UPS) {
            let [key, family, param, reason] = c.as_slice() else {
                self.problem(FILE, line, "expected 4 columns".into());
                continue;
            };
            let Some((prefix, action)) = self.split_key(FILE, line, key) else {
                continue;
            };
            let family = match *family {
                "Persistence" => FollowUp::Persistence,
                "PrivilegeEscalation" => FollowUp::PrivilegeEscalation,
                "DefenseEvasion" => FollowUp::DefenseEvasion,
                other => {
                    self.problem(FILE, line, format!("unknown family {other:?}"));
                    continue;
                }
            };
            let e = self.entry(prefix, action);
            if e.follow_up.is_some() {
                self.problems
                    .push(format!("{FILE}:{line}: {key} listed twice"));
            }
            let e = self.entry(prefix, action);
            e.follow_up = Some((family, reason));
            e.role_parameter = (*param != "-").then_some(*param);
        }
    }
}

/// The builtin catalog and the problems met while building it (empty for good data).
pub(super) fn builtin() -> (Catalog, Vec<String>) {
    let mut b = Builder {
        cat: Catalog {
            sources: FxMap::default(),
            prefixes: FxMap::default(),
            services: Vec::new(),
            techniques: Vec::new(),
            mitre: FxMap::default(),
        },
        problems: Vec::new(),
    };
    // Order matters: levels and risks first, so that aliases copy them; sources before anything that
    // resolves an event source.
    b.access_levels();
    b.risks("data/iam/risks.tsv", RISKS);
    b.risks("data/catalog-risks-extra.tsv", RISKS_EXTRA);
    b.event_sources();
    b.event_names();
    b.known_unknowns();
    b.mitre();
    b.techniques();
    b.follow_ups();
    let mut id = 0;
    for s in &mut b.cat.services {
        s.actions.shrink_to_fit();
        for e in s.actions.values_mut() {
            id += 1;
            e.id = id;
        }
    }
    (b.cat, b.problems)
}
