//! One module per subcommand.
pub mod bench;
pub mod enrich;
pub mod eval;
pub mod graph;
pub mod investigate;
pub mod report;
pub mod scan;
pub mod simulate;
pub mod watch;
