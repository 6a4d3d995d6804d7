//! The subcommands, one file each.

mod agent;
pub mod answer;
pub mod call;
pub mod demo;
pub mod options;
pub mod parse;
pub mod register;
mod target;
