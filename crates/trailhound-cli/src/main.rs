//! `trailhound`: find stolen and misused AWS workload credentials in CloudTrail.
//!
//! trailhound-cli is the thin binary around the engine: argument parsing (clap, validated into
//! settings before any work), wiring (`drive`: opening inputs, decoding them on every core in input
//! order), output formats (`sink/`, one file per format) and the run report. It may depend on
//! `trailhound-core`, `trailhound-sim` (the `simulate` and `eval` subcommands), the terminal and the
//! clock (progress, `bench`). It must never hold detection logic: what a finding is and when it is
//! raised belongs to the engine.
//!
//! Exit codes: 0 ok, 1 findings at or above `--fail-on`, 2 error. A broken pipe exits 0.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: every event's strings are allocated on a decoding thread and freed on the engine's,
/// which glibc's allocator handles with locks and consolidation (measured in
/// docs/performance-choices.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mi_option_e` in the bundled v3 `mimalloc.h`; the crate
/// names no constant for it). A test below holds the index to the option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of returning it to the OS a second later (mimalloc's
/// default). `enrich` frees each log file's text (~0.5 MB) once its records leave the reorder
/// window and allocates the next one: with purging, every file cost fresh pages and their zeroing
/// by the kernel (14,000 page faults and ~4 % of the run on 1 M events; 270 without). Peak memory,
/// which is what bounds us, barely moves: kept memory is reused (docs/performance-choices.md).
fn keep_freed_memory() {
    // SAFETY: sets a process-wide option; mimalloc allows this at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Asks the kernel for no transparent huge pages in this process. mimalloc madvises its arenas for
/// them, and a huge page is zeroed whole (2 MiB) on its first touch however little of it is used:
/// resident memory mid-way through a one-core `scan` of the 1M-event simulation was 69 MB (55 MB
/// of it huge pages), 47 MB with this. Speed did not change measurably (alternating runs,
/// docs/performance-choices.md). The flag covers every page faulted from now on.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only and changes a flag of this
    // process; its failure (an old kernel) is harmless and ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

mod cmd;
mod drive;
mod investigate;
mod ordered;
mod remote;
mod report;
mod sink;
mod state;

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
    /// Write the HTML report of a findings file (and its run summary).
    Report(cmd::report::Args),
    /// Tell one credential's story: where it came from, every call, what it created or assumed.
    Investigate(cmd::investigate::Args),
    /// Follow the trail's S3 bucket through SQS notifications and report findings as they happen.
    Watch(cmd::watch::Args),
}

fn main() -> ExitCode {
    keep_freed_memory();
    no_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Enrich(args) => cmd::enrich::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Graph(args) => cmd::graph::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Investigate(args) => cmd::investigate::run(args),
        Command::Watch(args) => cmd::watch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("trailhound: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_option_is_the_one_we_mean() {
        // 1000 (ms) is `mi_option_purge_delay`'s default (the bundled `src/options.c`); no other
        // option has it.
        // SAFETY: reads a process-wide option.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            before, 1000,
            "option {MI_OPTION_PURGE_DELAY} is not the purge delay"
        );
        keep_freed_memory();
        // SAFETY: as above.
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            -1
        );
    }
}
