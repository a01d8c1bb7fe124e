//! `trailhound graph`: draw the role chains of a findings file and where they began (SPEC §2.2, the
//! "graphical chains" of Uptycs' ITDR) as Graphviz DOT or Mermaid.
//!
//! Reads the JSON Lines `trailhound scan --format jsonl` writes. Each finding with an `origin` or a
//! `chain` becomes a path: its origin (user, instance, federation, service), one node per session on
//! the chain (role, account, when, from where, with which client), then the finding on the last
//! session. `parent_finding_id` links a finding to the one it follows from (a chain to the stolen
//! instance credential, a persistence finding to the chain). Nodes shared by several findings (the
//! same origin, the same session) are drawn once. Output order follows the file: the same findings
//! give the same bytes.
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::Value;

/// Draw the role chains and origins of a findings file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Findings as JSON Lines (`trailhound scan … --format jsonl --output FILE`); `-` for stdin.
    #[arg(long)]
    pub findings: PathBuf,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Graph languages.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

/// Runs `graph`.
pub fn run(args: Args) -> Result<ExitCode> {
    let reader: Box<dyn Read> = if args.findings.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(&args.findings).with_context(|| {
            format!(
                "cannot read the findings file {} (write one with `trailhound scan … --format jsonl --output FILE`)",
                args.findings.display()
            )
        })?)
    };
    let mut findings = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", args.findings.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.get("type").is_some() => findings.push(v),
            Ok(_) | Err(_) => eprintln!(
                "{}:{}: not a finding, skipped",
                args.findings.display(),
                i + 1
            ),
        }
    }
    let graph = Graph::build(&findings);
    let text = match args.format {
        Format::Dot => graph.dot(),
        Format::Mermaid => graph.mermaid(),
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let mut out = io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    return Err(e).context("writing the graph");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a node stands for (styles differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Origin,
    Session,
    Finding,
}

struct Node {
    kind: Kind,
    lines: Vec<String>,
}

/// Nodes in first-seen order and labelled edges (`dashed` for "led to").
#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    edges: Vec<(usize, usize, String, bool)>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `arn:aws:iam::1:role/path/name` → `name`.
fn short(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// The client's first product token (`aws-cli/2.15.30 …` → `aws-cli/2.15.30`).
fn client(ua: &str) -> &str {
    ua.split_whitespace().next().unwrap_or("")
}

impl Graph {
    fn node(&mut self, key: String, kind: Kind, lines: Vec<String>) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.nodes.push(Node { kind, lines });
        self.index.insert(key, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, label: &str, dashed: bool) {
        let e = (from, to, label.to_owned(), dashed);
        if !self.edges.contains(&e) {
            self.edges.push(e);
        }
    }

    fn build(findings: &[Value]) -> Graph {
        let mut g = Graph::default();
        let referenced: std::collections::HashSet<&str> = findings
            .iter()
            .filter_map(|f| f.get("parent_finding_id").and_then(Value::as_str))
            .collect();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for f in findings {
            let id = s(f, "id");
            let origin = f.get("origin").filter(|o| o.is_object());
            let chain = f
                .get("chain")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty());
            if origin.is_none()
                && chain.is_none()
                && f.get("parent_finding_id").is_none_or(Value::is_null)
                && !referenced.contains(id)
            {
                continue;
            }
            let mut last = None;
            if let Some(o) = origin {
                let mut lines = vec![format!(
                    "{} {}",
                    s(o, "kind").replace('_', " "),
                    short(s(o, "principal"))
                )];
                if let Some(i) = o.get("instance_id").and_then(Value::as_str) {
                    if !lines[0].contains(i) {
                        lines.push(i.to_owned());
                    }
                }
                if let Some(k) = o.get("access_key_id").and_then(Value::as_str) {
                    lines.push(format!("key {k}"));
                }
                lines.push(format!("account {}", s(o, "account_id")));
                if !s(o, "source_ip").is_empty() {
                    lines.push(format!("from {}", s(o, "source_ip")));
                }
                if let Some(p) = o.get("source_identity").and_then(Value::as_str) {
                    lines.push(format!("sourceIdentity {p}"));
                }
                let key = format!(
                    "o|{}|{}|{}",
                    s(o, "kind"),
                    s(o, "principal"),
                    s(o, "access_key_id")
                );
                last = Some(g.node(key, Kind::Origin, lines));
            }
            for h in chain.into_iter().flatten() {
                let role = h.get("role_arn").and_then(Value::as_str);
                let lines = vec![
                    match role {
                        Some(r) => format!("role {} ({})", short(r), s(h, "account_id")),
                        None => format!("session token ({})", s(h, "account_id")),
                    },
                    s(h, "time").to_owned(),
                    format!("from {}", s(h, "source_ip")),
                    client(s(h, "user_agent")).to_owned(),
                ];
                let n = g.node(format!("s|{}", s(h, "access_key_id")), Kind::Session, lines);
                if let Some(p) = last {
                    g.edge(p, n, s(h, "via"), false);
                }
                last = Some(n);
            }
            let mut lines = vec![format!("{} ({})", s(f, "type"), s(f, "severity"))];
            if chain.is_none() {
                let who = f
                    .get("instance_id")
                    .and_then(Value::as_str)
                    .map_or_else(|| short(s(f, "principal_arn")).to_owned(), str::to_owned);
                lines.push(who);
                lines.push(format!("from {}", s(f, "source_ip")));
            }
            lines.push(format!("id {}", id.get(..12).unwrap_or(id)));
            let n = g.node(format!("f|{id}"), Kind::Finding, lines);
            by_id.insert(id, n);
            if let Some(p) = last {
                g.edge(p, n, "", true);
            }
        }
        for f in findings {
            let (Some(&child), Some(parent)) = (
                by_id.get(s(f, "id")),
                f.get("parent_finding_id").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(&p) = by_id.get(parent) {
                g.edge(p, child, "led to", true);
            }
        }
        g
    }

    fn dot(&self) -> String {
        let esc = |t: &str| t.replace('\\', "\\\\").replace('"', "\\\"");
        let mut o = String::from("digraph trailhound {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let style = match n.kind {
                Kind::Origin => "shape=ellipse, style=filled, fillcolor=\"#dde8f5\"",
                Kind::Session => "style=rounded",
                Kind::Finding => "style=filled, fillcolor=\"#f8d7d0\"",
            };
            let label: Vec<String> = n.lines.iter().map(|l| esc(l)).collect();
            o.push_str(&format!(
                "  n{i} [label=\"{}\", {style}];\n",
                label.join("\\n")
            ));
        }
        for (a, b, label, dashed) in &self.edges {
            let mut attrs = Vec::new();
            if !label.is_empty() {
                attrs.push(format!("label=\"{}\"", esc(label)));
            }
            if *dashed {
                attrs.push("style=dashed".to_owned());
            }
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!(" [{}]", attrs.join(", "))
            };
            o.push_str(&format!("  n{a} -> n{b}{attrs};\n"));
        }
        o.push_str("}\n");
        o
    }

    fn mermaid(&self) -> String {
        let esc = |t: &str| {
            t.replace('&', "#amp;")
                .replace('"', "#quot;")
                .replace('<', "#lt;")
                .replace('>', "#gt;")
                .replace('|', "#124;")
        };
        let mut o = String::from("flowchart LR\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let label: Vec<String> = n.lines.iter().map(|l| esc(l)).collect();
            let label = label.join("<br/>");
            let shape = match n.kind {
                Kind::Origin => format!("n{i}([\"{label}\"])"),
                Kind::Session => format!("n{i}(\"{label}\")"),
                Kind::Finding => format!("n{i}[\"{label}\"]"),
            };
            o.push_str(&format!("  {shape}\n"));
        }
        for (a, b, label, dashed) in &self.edges {
            let arrow = if *dashed { "-.->" } else { "-->" };
            if label.is_empty() {
                o.push_str(&format!("  n{a} {arrow} n{b}\n"));
            } else {
                o.push_str(&format!("  n{a} {arrow}|{}| n{b}\n", esc(label)));
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == Kind::Finding {
                o.push_str(&format!("  style n{i} fill:#f8d7d0\n"));
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings() -> Vec<Value> {
        let chain = serde_json::json!({
            "id": "aaaaaaaaaaaaaaaa", "type": "RoleChaining", "severity": "high",
            "parent_finding_id": "eeeeeeeeeeeeeeee",
            "origin": {"kind": "ec2_instance", "principal": "i-0a5b97b5c8174ca3a", "instance_id": "i-0a5b97b5c8174ca3a",
                       "access_key_id": "ASIAINST", "account_id": "111111111111", "source_ip": "185.220.101.47"},
            "chain": [
                {"via": "AssumeRole", "role_arn": "arn:aws:iam::111111111111:role/deploy", "account_id": "111111111111",
                 "time": "2024-03-05T10:06:00Z", "source_ip": "185.220.101.47", "user_agent": "Boto3/1.34.69 x", "access_key_id": "ASIAH1"},
                {"via": "AssumeRole", "role_arn": "arn:aws:iam::222222222222:role/admin\"x", "account_id": "222222222222",
                 "time": "2024-03-05T10:07:00Z", "source_ip": "185.220.101.47", "user_agent": "Boto3/1.34.69 x", "access_key_id": "ASIAH2"}
            ]
        });
        let exfil = serde_json::json!({"id": "eeeeeeeeeeeeeeee", "type": "InstanceCredentialExfiltration.OutsideAWS",
            "severity": "high", "instance_id": "i-0a5b97b5c8174ca3a", "source_ip": "185.220.101.47", "principal_arn": "x"});
        let unrelated = serde_json::json!({"id": "uuuu", "type": "Persistence", "severity": "low", "principal_arn": "x"});
        vec![exfil, chain, unrelated]
    }

    #[test]
    fn dot_draws_origin_hops_finding_and_parent_link() {
        let g = Graph::build(&findings());
        let d = g.dot();
        assert!(d.starts_with("digraph trailhound {"), "{d}");
        assert!(d.contains("ec2 instance i-0a5b97b5c8174ca3a"), "{d}");
        assert!(d.contains("role deploy (111111111111)"), "{d}");
        assert!(
            d.contains("role admin\\\"x (222222222222)"),
            "quotes escaped: {d}"
        );
        assert!(d.contains("[label=\"AssumeRole\"]"), "{d}");
        assert!(d.contains("[label=\"led to\", style=dashed]"), "{d}");
        assert!(
            !d.contains("Persistence"),
            "a finding with no chain or link is left out: {d}"
        );
        // exfil, origin, 2 sessions, chain finding.
        assert_eq!(g.nodes.len(), 5);
    }

    #[test]
    fn mermaid_is_a_flowchart_with_the_same_graph() {
        let m = Graph::build(&findings()).mermaid();
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(m.contains("-->|AssumeRole|"), "{m}");
        assert!(m.contains("-.->|led to|"), "{m}");
        assert!(m.contains("#quot;"), "{m}");
        assert!(!m.contains("\"x"), "{m}");
    }
}
