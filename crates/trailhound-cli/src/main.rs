//! `trailhound`: find stolen and misused AWS workload credentials in CloudTrail.
//!
//! Exit codes: 0 ok, 1 findings at or above `--fail-on`, 2 error. A broken pipe exits 0.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: every event's strings are allocated on a decoding thread and freed on the engine's,
/// which glibc's allocator handles with locks and consolidation (measured in
/// docs/performance-choices.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod drive;
mod ordered;
mod sink;

/// Find stolen and misused AWS workload credentials in CloudTrail.
#[derive(Parser, Debug)]
#[command(name = "trailhound", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse CloudTrail files, directories or stdin and report stolen or misused credentials.
    Scan(cmd::scan::Args),
    /// Write every event with its enrichment (access level, MITRE, risks, origin, source context).
    Enrich(cmd::enrich::Args),
    /// Benchmark the pipeline against the decode floor on a directory of CloudTrail files.
    Bench(cmd::bench::Args),
    /// Write a synthetic organisation's CloudTrail with labelled attacks, and its ground truth.
    Simulate(cmd::simulate::Args),
    /// Score findings against a simulation's ground truth.
    Eval(cmd::eval::Args),
    /// Draw the role chains and origins of a findings file (Graphviz DOT or Mermaid).
    Graph(cmd::graph::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Enrich(args) => cmd::enrich::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Graph(args) => cmd::graph::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("trailhound: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
