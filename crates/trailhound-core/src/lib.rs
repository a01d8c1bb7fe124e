//! trailhound-core: CloudTrail bytes in, enriched events and findings out.
//!
//! The pipeline is visible in the module list, in the order data flows through it:
//! `input` → `decode` → `order` → `track` → `enrich` → `detect` → `finding`; only `pipeline` wires the
//! stages together. This crate has no clock, no network and no terminal: event time is always a
//! parameter (see `time`), and every dropped or skipped event is counted with a reason (see `summary`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod catalog;
pub mod config;
pub mod decode;
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
pub mod summary;
pub mod time;
pub mod track;
pub mod useragent;
