//! The subcommands, one file each.

pub mod options;
pub mod parse;
mod target;
