//! trailhound-core: the engine. CloudTrail bytes in, enriched events and findings out.
//!
//! The pipeline is visible in the module list, in the order data flows through it:
//! `input` → `decode` → `order` → `track` → `enrich` → `detect` → `finding`; only `pipeline` wires the
//! stages together. Dependencies point one way, down the pipeline: a stage may use the stages before
//! it and the shared leaf modules (`event`, `time`, `address`, `ranges`, `catalog`, `useragent`,
//! `keyed`, `config`, `redact`, `summary`), which import from no stage.
//!
//! May depend on: plain data crates (serde, parsing, hashing, gzip, IP ranges). Must never: read the
//! clock (event time is always a parameter, see `time`; `clippy.toml` bans `now()`), touch the
//! network, draw on a terminal, run an async runtime or use randomness (finding ids are content
//! hashes). `tests/boundaries.rs` fails if such a crate, or the simulator, enters the dependency tree.
//! Every dropped or skipped event is counted with a reason (see `summary`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod catalog;
pub mod config;
pub mod decode;
pub mod deferred;
pub mod detect;
pub mod enrich;
pub mod event;
pub mod finding;
pub mod input;
pub mod keyed;
pub mod order;
pub mod pipeline;
pub mod ranges;
pub mod redact;
pub mod remedy;
pub mod sigma;
pub mod state;
pub mod summary;
pub mod time;
pub mod track;
pub mod useragent;
