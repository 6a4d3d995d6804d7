//! `sipline call URI`: places a call (registering first when an account is given), keeps it
//! for `--duration` seconds (optionally holding and resuming it), hangs up, and says how it
//! went. Exit 0 only if the call was answered and ended normally.

use super::agent::{self, AccountArgs};
use session_core::{MediaControl, SessionControl, SipClient};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `sipline call`.
#[derive(clap::Args)]
pub struct Args {
    /// Whom to call, e.g. sip:bob@127.0.0.1:5080.
    uri: String,
    #[command(flatten)]
    account: AccountArgs,
    /// How long to keep the call up after it is answered, in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Put the call on hold this many seconds after the answer, and resume it halfway to
    /// the end of --duration.
    #[arg(long)]
    hold_after: Option<f64>,
    /// Give up if the call is not answered within this many seconds.
    #[arg(long, default_value_t = 60.0)]
    answer_timeout: f64,
    /// Listen on this address (default: a free port on the interface towards the callee).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Send a sine tone of this frequency (Hz) instead of silence.
    #[arg(long)]
    tone: Option<f32>,
    /// Ask this DNS server (ADDR:PORT) instead of the system's, for RFC 3263 lookups.
    #[arg(long = "dns-server")]
    dns_server: Vec<SocketAddr>,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    agent::run("call", run_async(args))
}

fn seconds(s: f64, what: &str) -> Result<Duration, String> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!("--{what} must be a number of seconds"))
    }
}

async fn run_async(args: Args) -> ExitCode {
    let (duration, answer_timeout) =
        match (seconds(args.duration, "duration"), seconds(args.answer_timeout, "answer-timeout")) {
            (Ok(d), Ok(t)) => (d, t),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("sipline call: {e}");
                return ExitCode::from(2);
            }
        };
    let hold_after = match args.hold_after.map(|h| seconds(h, "hold-after")).transpose() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("sipline call: {e}");
            return ExitCode::from(2);
        }
    };
    let builder =
        agent::builder(args.listen, Some(&args.uri), &args.dns_server, args.account.trace).await.media_tone(args.tone);
    let agent = match builder.build().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sipline call: {e}");
            return ExitCode::from(1);
        }
    };
    let printer = agent::print_events(&agent, "");
    let mut account_id = None;
    let from = match args.account.account() {
        Some(account) => {
            let host = account.registrar.trim_start_matches("sips:").trim_start_matches("sip:").to_owned();
            let host = host.split(';').next().unwrap_or(&host).to_owned();
            let from = format!("sip:{}@{}", account.user, host);
            match agent::register(&agent, account).await {
                Some(id) => account_id = Some(id),
                None => {
                    agent.shutdown().await;
                    return ExitCode::from(1);
                }
            }
            from
        }
        None => agent.local_uri("sipline"),
    };
    println!("calling {} from {from}", args.uri);
    let outcome = call(&agent, &from, &args.uri, answer_timeout, duration, hold_after).await;
    if let Some(id) = account_id {
        let _ = agent.unregister(id).await;
    }
    agent.shutdown().await;
    drop(agent);
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            println!("call failed: {why}");
            ExitCode::from(1)
        }
    }
}

async fn call(
    agent: &session_core::SessionCoordinator,
    from: &str,
    to: &str,
    answer_timeout: Duration,
    duration: Duration,
    hold_after: Option<Duration>,
) -> Result<(), String> {
    let call = agent.create_outgoing_call(from, to, None).await.map_err(|e| e.to_string())?;
    let id = call.id;
    if let Err(e) = agent.wait_for_answer(id, answer_timeout).await {
        if matches!(e, session_core::SessionError::Timeout) {
            let _ = agent.terminate_session(id).await;
        }
        let end = agent.wait_for_end(id).await;
        return Err(match end {
            Ok(info) => info.to_string(),
            Err(_) => e.to_string(),
        });
    }
    let ended = agent.wait_for_end(id);
    tokio::pin!(ended);
    let answered = tokio::time::Instant::now();
    let mut hold_at = hold_after.map(|h| answered + h);
    let mut resume_at = hold_after.map(|h| answered + h + duration.saturating_sub(h) / 2);
    let hang_up_at = answered + duration;
    loop {
        let next = [hold_at, resume_at, Some(hang_up_at)].into_iter().flatten().min().unwrap_or(hang_up_at);
        tokio::select! {
            end = &mut ended => {
                let info = end.map_err(|e| e.to_string())?;
                return if super::agent::ended_normally(&info) { Ok(()) } else { Err(info.to_string()) };
            }
            _ = tokio::time::sleep_until(next) => {
                if hold_at.take_if(|t| *t <= next).is_some() {
                    if let Err(e) = agent.hold_session(id).await { println!("{id} hold failed: {e}"); }
                } else if resume_at.take_if(|t| *t <= next).is_some() {
                    if let Err(e) = agent.resume_session(id).await { println!("{id} resume failed: {e}"); }
                } else {
                    if let Ok(stats) = agent.get_rtp_statistics(id).await {
                        println!("{}", super::agent::rtp_line(id, &stats));
                    }
                    agent.terminate_session(id).await.map_err(|e| e.to_string())?;
                    let info = ended.await.map_err(|e| e.to_string())?;
                    return if super::agent::ended_normally(&info) { Ok(()) } else { Err(info.to_string()) };
                }
            }
        }
    }
}
