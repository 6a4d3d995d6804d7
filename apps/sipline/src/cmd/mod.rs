//! The subcommands, one file each.

pub mod agent;
pub mod answer;
pub mod call;
mod client;
pub mod demo;
mod media;
pub mod message;
pub mod options;
pub mod parse;
mod pcap;
pub mod register;
pub mod subscribe;
