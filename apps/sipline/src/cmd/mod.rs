//! The subcommands, one file each.

pub mod options;
pub mod parse;
pub mod register;
mod target;
