//! `sipline`: the command-line SIP user agent.
//!
//! Each subcommand lives in its own file under `cmd/`. Exit codes follow one rule across the
//! program: 0 for success, 1 for a failure of the operation (a rejected message, a failed
//! call), 2 for bad usage.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sipline",
    version,
    about = "A SIP user agent: parse, probe, register, call, answer, an agent softphone"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a SIP message and print it as JSON (exit 0 parsed, 1 rejected, 2 usage).
    Parse(cmd::parse::Args),
    /// Send OPTIONS to a URI and show the answer, the transport and the round-trip time
    /// (exit 0 on a 2xx, 1 on any other answer or none, 2 usage).
    Options(cmd::options::Args),
    /// Register an account, show each state change and refresh, unregister on Ctrl-C
    /// (`--once`: register, unregister, exit 0 on success, 1 on failure).
    Register(cmd::register::Args),
    /// Call a URI (registering first with --user/--password/--registrar), keep the call for
    /// --duration seconds, hang up (exit 0 only if answered and ended normally).
    Call(cmd::call::Args),
    /// Answer incoming calls until --count of them have completed (exit 0), registering
    /// first when an account is given.
    Answer(cmd::answer::Args),
    /// A call-center agent's softphone: a full-screen view on a terminal (account, calls with
    /// state, timer, codec and quality; keys to answer, hang up, hold, mute, call), or one
    /// command per line when standard input is not a terminal.
    Agent(cmd::agent::Args),
    /// Two agents on loopback, no server: a call with real audio both ways, hold, resume,
    /// hang up, and a check that each side heard the other's tone.
    Demo(cmd::demo::Args),
}

fn main() -> ExitCode {
    // Library logs go to stderr, off unless RUST_LOG asks for them.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Options(args) => cmd::options::run(args),
        Command::Register(args) => cmd::register::run(args),
        Command::Call(args) => cmd::call::run(args),
        Command::Answer(args) => cmd::answer::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Agent(args) => cmd::agent::run(args),
    }
}
