//! `sipline call URI`: places a call (registering first when an account is given), keeps it
//! for `--duration` seconds (optionally holding and resuming it, playing and recording
//! audio, sending DTMF), hangs up, and says how it went, ending with one line of statistics.
//! With `--transfer-to URI2` the answered call is transferred instead (a blind transfer,
//! `--transfer-after` seconds after the answer) and the far end's progress is printed.
//! Exit 0 only if the call was answered and ended normally (or, transferring, the transfer
//! succeeded); 1 on a failed call or transfer; 2 on bad usage.

use super::client::{self, ClientArgs, Failure};
use super::media::{self, MediaArgs};
use client_core::{CallId, ClientError, ClientEvent, ClientManager, EndCause};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `sipline call`.
#[derive(clap::Args)]
pub struct Args {
    /// Whom to call, e.g. sip:bob@127.0.0.1:5080.
    uri: String,
    #[command(flatten)]
    client: ClientArgs,
    /// How long to keep the call up after it is answered, in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Put the call on hold this many seconds after the answer, and resume it halfway to
    /// the end of --duration.
    #[arg(long)]
    hold_after: Option<f64>,
    /// Give up if the call is not answered within this many seconds (the program ends then,
    /// even when the far end never sent a provisional response).
    #[arg(long, default_value_t = 60.0)]
    answer_timeout: f64,
    /// Once answered, transfer the far end to this URI (a blind transfer: REFER), print its
    /// progress, and exit 0 only if the transfer succeeded.
    #[arg(long, value_name = "URI")]
    transfer_to: Option<String>,
    /// Seconds after the answer before the transfer (default: at once).
    #[arg(long, value_name = "S", requires = "transfer_to")]
    transfer_after: Option<f64>,
    #[command(flatten)]
    media: MediaArgs,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("call", async move {
        match call(args).await {
            Ok(code) => code,
            Err(f) => f.exit("call"),
        }
    })
}

async fn call(args: Args) -> Result<ExitCode, Failure> {
    let duration = client::seconds(args.duration, "duration")?;
    let answer_timeout = client::seconds(args.answer_timeout, "answer-timeout")?;
    let hold_after = args.hold_after.map(|h| client::seconds(h, "hold-after")).transpose()?;
    let transfer_after = args.transfer_after.map(|t| client::seconds(t, "transfer-after")).transpose()?;
    let transfer = args.transfer_to.clone().map(|to| (to, transfer_after.unwrap_or_default()));
    let mut config = args.client.config(Some(&args.uri))?;
    args.media.apply(&mut config)?;
    let running = match client::launch(&args.client, config).await? {
        Ok(running) => running,
        Err(code) => return Ok(code),
    };
    let client = running.client.clone();
    let from = match args.client.account() {
        Some(a) => a.aor(),
        None => client.local_uri("sipline").map_err(|e| Failure::Run(e.to_string()))?,
    };
    println!("calling {} from {from} (waiting up to {} s for an answer)", args.uri, answer_timeout.as_secs_f64());
    let plan = Plan { answer_timeout, duration, hold_after, transfer, media: &args.media };
    let outcome = talk(&client, &from, &args.uri, &plan).await;
    drop(client);
    if matches!(outcome, Err(Outcome::NoAnswer(_))) {
        // The INVITE may still wait for a provisional response before it can be
        // cancelled (RFC 3261 §9.1): the program ends now rather than at timer B.
        running.finish_now().await;
    } else {
        running.finish(true).await;
    }
    Ok(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Outcome::Failed(why)) | Err(Outcome::NoAnswer(why)) => {
            println!("call failed: {why}");
            ExitCode::from(1)
        }
    })
}

enum Outcome {
    Failed(String),
    NoAnswer(String),
}

/// The end of call `id` as the outcome of the command.
async fn ended(client: &ClientManager, id: CallId) -> Result<(), Outcome> {
    let call = client.wait_for_end(id).await.map_err(|e| Outcome::Failed(e.to_string()))?;
    match call.end {
        Some(end) if client::ended_normally(&end) => Ok(()),
        Some(end) => Err(Outcome::Failed(end.to_string())),
        None => Err(Outcome::Failed("ended without a reason".into())),
    }
}

/// What to do with the call once it is up.
struct Plan<'a> {
    answer_timeout: Duration,
    duration: Duration,
    hold_after: Option<Duration>,
    /// Transfer the far end to this URI, this long after the answer.
    transfer: Option<(String, Duration)>,
    media: &'a MediaArgs,
}

async fn talk(client: &Arc<ClientManager>, from: &str, to: &str, plan: &Plan<'_>) -> Result<(), Outcome> {
    let id = client.make_call(from, to).await.map_err(|e| Outcome::Failed(e.to_string()))?;
    plan.media.start_recording(client, id, 1).await;
    let outcome = connected(client, id, plan).await;
    // The final statistics, once the call is over and they are complete.
    if let Ok(stats) = client.get_rtp_statistics(id).await {
        if stats.packets_sent + stats.packets_received > 0 {
            println!("{}", media::stats_line(id, &stats));
        }
    }
    outcome
}

async fn connected(client: &Arc<ClientManager>, id: CallId, plan: &Plan<'_>) -> Result<(), Outcome> {
    let (answer_timeout, duration, hold_after) = (plan.answer_timeout, plan.duration, plan.hold_after);
    match client.wait_for_answer(id, answer_timeout).await {
        Ok(_) => {}
        Err(ClientError::Timeout { after, .. }) => {
            let _ = client.hangup_call(id).await;
            // A CANCEL ends a ringing call at once; give it a moment to say so.
            if let Ok(Err(Outcome::Failed(why))) = tokio::time::timeout(Duration::from_secs(1), ended(client, id)).await
            {
                return Err(Outcome::NoAnswer(format!("no answer within {} s ({why})", after.as_secs_f64())));
            }
            return Err(Outcome::NoAnswer(format!("no answer within {} s", after.as_secs_f64())));
        }
        Err(_) => return ended(client, id).await,
    }
    let answered = tokio::time::Instant::now();
    plan.media.send_digits(client, id).await;
    if let Some((target, after)) = &plan.transfer {
        return transfer(client, id, target, answered + *after, answer_timeout).await;
    }
    let end = ended(client, id);
    tokio::pin!(end);
    let mut hold_at = hold_after.map(|h| answered + h);
    let mut resume_at = hold_after.map(|h| answered + h + duration.saturating_sub(h) / 2);
    let hang_up_at = answered + duration;
    loop {
        let next = [hold_at, resume_at, Some(hang_up_at)].into_iter().flatten().min().unwrap_or(hang_up_at);
        tokio::select! {
            outcome = &mut end => return outcome,
            _ = tokio::time::sleep_until(next) => {
                if hold_at.take_if(|t| *t <= next).is_some() {
                    if let Err(e) = client.hold_call(id).await { println!("{id} hold failed: {e}"); }
                } else if resume_at.take_if(|t| *t <= next).is_some() {
                    if let Err(e) = client.resume_call(id).await { println!("{id} resume failed: {e}"); }
                } else {
                    client.hangup_call(id).await.map_err(|e| Outcome::Failed(e.to_string()))?;
                    return end.await;
                }
            }
        }
    }
}

/// Transfers call `id` to `target` at `at`, then waits (up to `patience`) for the far end's
/// last word on it: a 2xx is success, and the call ends as transferred; anything else a
/// failure, and we hang up.
async fn transfer(
    client: &Arc<ClientManager>,
    id: CallId,
    target: &str,
    at: tokio::time::Instant,
    patience: Duration,
) -> Result<(), Outcome> {
    let mut events = client.subscribe_events();
    let end = ended(client, id);
    tokio::pin!(end);
    tokio::select! {
        outcome = &mut end => return outcome.and(Err(Outcome::Failed("the call ended before the transfer".into()))),
        _ = tokio::time::sleep_until(at) => {}
    }
    println!("{id} transferring to {target} (waiting up to {} s for the outcome)", patience.as_secs_f64());
    if let Err(e) = client.transfer_call(id, target).await {
        let _ = client.hangup_call(id).await;
        let _ = end.await;
        return Err(Outcome::Failed(format!("transfer refused: {e}")));
    }
    let last_word = tokio::time::timeout(patience, async {
        loop {
            match events.recv().await {
                Ok(ClientEvent::TransferProgress { id: of, status, reason, done: true }) if of == id => {
                    return Some((status, reason));
                }
                Ok(_) | Err(client_core::broadcast::error::RecvError::Lagged(_)) => {}
                Err(client_core::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .await;
    match last_word {
        Ok(Some((200..=299, _))) => {
            // We hang up once the target answered; a transferee may hang up first.
            let call = client.wait_for_end(id).await.map_err(|e| Outcome::Failed(e.to_string()))?;
            match call.end.map(|e| e.cause) {
                Some(EndCause::Transferred | EndCause::RemoteHangup | EndCause::LocalHangup) => Ok(()),
                other => Err(Outcome::Failed(format!("the call ended as {other:?} after the transfer"))),
            }
        }
        Ok(Some((status, reason))) => {
            let _ = client.hangup_call(id).await;
            let _ = end.await;
            Err(Outcome::Failed(format!("transfer failed: {status} {reason}")))
        }
        Ok(None) | Err(_) => {
            let _ = client.hangup_call(id).await;
            let _ = end.await;
            Err(Outcome::Failed(format!("no outcome of the transfer within {} s", patience.as_secs_f64())))
        }
    }
}
