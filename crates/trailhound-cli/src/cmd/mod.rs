//! One module per subcommand.
pub mod bench;
pub mod enrich;
pub mod eval;
pub mod graph;
pub mod scan;
pub mod simulate;
