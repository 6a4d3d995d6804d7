//! The subcommands.

pub mod parse;
