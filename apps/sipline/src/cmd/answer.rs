//! `sipline answer`: answers incoming calls (registering first when an account is given),
//! keeps each until the caller hangs up (or `--hangup-after`), and exits 0 once `--count`
//! calls have completed.

use super::agent::{self, AccountArgs};
use session_core::{AcceptAll, MediaControl, SessionControl, SessionEvent, SessionState, SipClient};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `sipline answer`.
#[derive(clap::Args)]
pub struct Args {
    /// Listen on this address (default 127.0.0.1 with a free port, printed).
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    account: AccountArgs,
    /// Exit after this many calls have completed (answered and hung up).
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Hang up each call ourselves this many seconds after answering it.
    #[arg(long)]
    hangup_after: Option<f64>,
    /// Send a sine tone of this frequency (Hz) instead of silence.
    #[arg(long)]
    tone: Option<f32>,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    agent::run("answer", run_async(args))
}

async fn run_async(args: Args) -> ExitCode {
    let hangup_after = match args.hangup_after {
        Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => {
            eprintln!("sipline answer: --hangup-after must be a number of seconds");
            return ExitCode::from(2);
        }
        None => None,
    };
    let towards = args.account.registrar.clone();
    let builder = agent::builder(args.listen, towards.as_deref(), &[], args.account.trace)
        .await
        .media_tone(args.tone)
        .with_handler(AcceptAll);
    let agent = match builder.build().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sipline answer: {e}");
            return ExitCode::from(1);
        }
    };
    let mut events = agent.subscribe_events();
    let printer = agent::print_events(&agent, "");
    let mut account_id = None;
    if let Some(account) = args.account.account() {
        match agent::register(&agent, account).await {
            Some(id) => account_id = Some(id),
            None => {
                agent.shutdown().await;
                return ExitCode::from(1);
            }
        }
    }
    println!("listening on {} (call {})", agent.local_sip_addr(), agent.local_uri("sipline"));
    let mut completed = 0u32;
    let mut answered = HashSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let status = loop {
        if completed >= args.count {
            break ExitCode::SUCCESS;
        }
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(SessionEvent::StateChanged { id, new: SessionState::Active, old: SessionState::Incoming }) => {
                    answered.insert(id);
                    if let Some(after) = hangup_after {
                        let agent = agent.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            if let Ok(stats) = agent.get_rtp_statistics(id).await {
                                println!("{}", agent::rtp_line(id, &stats));
                            }
                            let _ = agent.terminate_session(id).await;
                        });
                    } else {
                        // Report the call's RTP just before the caller is likely to hang up:
                        // every few seconds while it lasts.
                        let agent = agent.clone();
                        tokio::spawn(async move {
                            let mut tick = tokio::time::interval(Duration::from_secs(2));
                            tick.tick().await;
                            loop {
                                tick.tick().await;
                                match agent.get_rtp_statistics(id).await {
                                    Ok(stats) => println!("{}", agent::rtp_line(id, &stats)),
                                    Err(_) => break,
                                }
                            }
                        });
                    }
                }
                Ok(SessionEvent::Ended { id, info }) => {
                    if answered.remove(&id) && agent::ended_normally(&info) {
                        completed += 1;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break ExitCode::from(1),
            },
            _ = &mut ctrl_c => {
                println!("stopping (Ctrl-C) after {completed} completed call(s)");
                break ExitCode::from(1);
            }
        }
    };
    if let Some(id) = account_id {
        let _ = agent.unregister(id).await;
    }
    agent.shutdown().await;
    drop(agent);
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    status
}
