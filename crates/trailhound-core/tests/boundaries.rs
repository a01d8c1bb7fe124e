//! The engine's dependency boundary (STYLE "Layout"; issue 19): `trailhound-core` turns bytes into
//! enriched events and findings, with no clock, network, terminal, async runtime or randomness. Its
//! normal (non-dev) dependency tree, as `cargo tree` prints it from the lock file, must not contain
//! any crate that brings one of those in, nor the simulator. Dev-dependencies (`rand` for the
//! property tests, `criterion` for the benches) are not part of the engine and are not checked.

use std::path::Path;
use std::process::Command;

/// Crates the engine must never depend on, and why. A name ending in `*` is a prefix.
const BANNED: &[(&str, &str)] = &[
    (
        "rand",
        "randomness: finding ids are content hashes, output order is defined",
    ),
    (
        "rand_chacha",
        "randomness: the simulator's generator lives in trailhound-sim",
    ),
    (
        "tokio",
        "an async runtime: async is a thin wrapper outside the engine",
    ),
    ("reqwest", "network I/O belongs to trailhound-net"),
    ("hyper", "network I/O belongs to trailhound-net"),
    (
        "aws-sdk-*",
        "network I/O (S3, SQS) belongs to trailhound-net",
    ),
    (
        "aws-config",
        "network I/O (credentials, endpoints) belongs to trailhound-net",
    ),
    (
        "indicatif",
        "the terminal (progress bars) belongs to the CLI",
    ),
    ("clap", "argument parsing belongs to the CLI"),
    (
        "trailhound-sim",
        "the simulator and scorer are built on the engine, never the reverse",
    ),
];

/// The crate names in `trailhound-core`'s normal dependency tree (itself included).
fn normal_dependencies() -> Vec<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args([
            "tree",
            "-p",
            "trailhound-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
            "--locked",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("cargo tree prints UTF-8");
    // Each line is `name vX.Y.Z [(path)] [(proc-macro)] [(*)]`.
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The banned crates among `names`, each with the reason it is banned.
fn banned_in(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| {
            BANNED
                .iter()
                .find(|(pattern, _)| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == pattern,
                })
                .map(|(_, why)| format!("{name}: {why}"))
        })
        .collect()
}

#[test]
fn the_engine_depends_on_no_clock_network_terminal_runtime_or_randomness() {
    let names = normal_dependencies();
    assert!(
        names.iter().any(|n| n == "trailhound-core") && names.iter().any(|n| n == "serde_json"),
        "cargo tree did not list the engine's dependencies: {names:?}"
    );
    let banned = banned_in(&names);
    assert!(
        banned.is_empty(),
        "trailhound-core must not depend on:\n  {}",
        banned.join("\n  ")
    );
}

#[test]
fn the_check_recognises_banned_names_and_prefixes() {
    let names: Vec<String> = ["serde", "aws-sdk-s3", "tokio", "randomness", "clap_lex"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let banned = banned_in(&names);
    assert_eq!(banned.len(), 2, "{banned:?}");
    assert!(banned[0].starts_with("aws-sdk-s3:") && banned[1].starts_with("tokio:"));
}
