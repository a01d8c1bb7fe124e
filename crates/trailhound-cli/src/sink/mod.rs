//! Sinks: where findings go. One file per format.
pub mod jsonl;
pub mod ocsf;
pub mod table;
