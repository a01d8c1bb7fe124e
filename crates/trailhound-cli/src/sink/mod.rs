//! Sinks: where findings go. One file per format.
pub mod html;
pub mod jsonl;
pub mod ocsf;
pub mod table;
