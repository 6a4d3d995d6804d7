//! `sipline`: the command-line SIP user agent.
//!
//! Each subcommand lives in its own file under `cmd/`. Exit codes follow one rule across the
//! program: 0 for success, 1 for a failure of the operation (a rejected message, a failed
//! call), 2 for bad usage.

mod cmd;
#[cfg(feature = "otel")]
mod otel;

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
    /// Export spans and metrics to an OpenTelemetry collector at this URL over OTLP/HTTP
    /// (e.g. http://127.0.0.1:4318; needs a build with `--features otel`).
    #[arg(long, global = true, value_name = "URL")]
    otlp: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a SIP message and print it as JSON (exit 0 parsed, 1 rejected, 2 usage).
    Parse(cmd::parse::Args),
    /// Send OPTIONS to a URI and show the answer, the transport and the round-trip time
    /// (exit 0 on a 2xx, 1 on any other answer or none, 2 usage).
    Options(cmd::options::Args),
    /// Send TEXT as an instant message (SIP MESSAGE) to a URI and show the answer (exit 0 on
    /// a 2xx, 1 on any other answer or none, 2 usage).
    Message(cmd::message::Args),
    /// Subscribe to an event package (message-summary, presence, dialog), print each NOTIFY,
    /// unsubscribe after --duration seconds or on Ctrl-C (exit 0 accepted and ended as
    /// asked, 1 refused or ended by the notifier, 2 usage).
    Subscribe(cmd::subscribe::Args),
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Library logs go to stderr, off unless RUST_LOG asks for them.
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::EnvFilter::from_default_env());
    let registry = tracing_subscriber::registry().with(logs);
    #[cfg(feature = "otel")]
    let otel = match &cli.otlp {
        Some(url) => match otel::Otel::start(url) {
            Ok((otel, layer)) => {
                // The spans of the client's operations, whatever RUST_LOG says.
                let spans = tracing_subscriber::filter::Targets::new()
                    .with_target("client_core", tracing::Level::INFO)
                    .with_target("session_core", tracing::Level::INFO);
                registry.with(layer.with_filter(spans)).init();
                Some(otel)
            }
            Err(e) => {
                eprintln!("sipline: --otlp: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            registry.init();
            None
        }
    };
    #[cfg(not(feature = "otel"))]
    {
        if cli.otlp.is_some() {
            eprintln!("sipline: --otlp needs a build with OpenTelemetry (cargo build -p sipline --features otel)");
            return ExitCode::from(2);
        }
        registry.init();
    }
    let code = match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Options(args) => cmd::options::run(args),
        Command::Message(args) => cmd::message::run(args),
        Command::Subscribe(args) => cmd::subscribe::run(args),
        Command::Register(args) => cmd::register::run(args),
        Command::Call(args) => cmd::call::run(args),
        Command::Answer(args) => cmd::answer::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Agent(args) => cmd::agent::run(args),
    };
    // After the runtime: the exporters' HTTP client blocks.
    #[cfg(feature = "otel")]
    if let Some(otel) = otel {
        otel.shutdown();
    }
    code
}
