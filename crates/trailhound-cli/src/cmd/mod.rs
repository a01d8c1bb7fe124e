//! One module per subcommand.
pub mod eval;
pub mod scan;
pub mod simulate;
