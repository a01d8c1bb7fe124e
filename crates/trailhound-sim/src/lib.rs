//! trailhound-sim: the simulator and the scorer that sit beside the engine.
//!
//! * `simulate` writes a synthetic organisation's CloudTrail (S3 layout or NDJSON) with labelled
//!   attacks and benign look-alikes, and its ground truth.
//! * `eval` scores findings (as `trailhound scan --format jsonl` writes them) against that truth.
//!
//! May depend on: `trailhound-core` (its types and bundled reference data), randomness (`rand`,
//! seeded: one seed gives byte-identical output), the file system. Must never: be a dependency of
//! `trailhound-core` (the engine compiles and runs without a simulator), read the wall clock (time is
//! simulated from `--start`), or touch the network.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod eval;
pub mod simulate;
