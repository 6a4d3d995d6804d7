//! `sipline subscribe URI --event message-summary|presence|dialog [--duration S]`:
//! subscribes (RFC 6665; registering first when an account is given), prints each NOTIFY as
//! it arrives (a message summary's counts, a presentity's open or closed, each dialog's
//! state), and unsubscribes after `--duration` seconds or on Ctrl-C. Exit 0 when the
//! subscription was accepted and ended as asked, 1 when it was refused or the notifier
//! ended it, 2 on bad usage.

use super::client::{self, ClientArgs, Failure};
use client_core::{ClientEvent, SubscriptionId};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `sipline subscribe`.
#[derive(clap::Args)]
pub struct Args {
    /// Whose state to subscribe to, e.g. sip:alice@example.com.
    uri: String,
    /// The event package.
    #[arg(long, value_parser = ["message-summary", "presence", "dialog"])]
    event: String,
    /// Unsubscribe after this many seconds (default: on Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("subscribe", async move {
        match subscribe(args).await {
            Ok(code) => code,
            Err(f) => f.exit("subscribe"),
        }
    })
}

async fn subscribe(args: Args) -> Result<ExitCode, Failure> {
    if !args.uri.starts_with("sip:") && !args.uri.starts_with("sips:") {
        return Err(Failure::Usage(format!("'{}' is not a sip: or sips: URI", args.uri)));
    }
    let duration = args.duration.map(|d| client::seconds(d, "duration")).transpose()?;
    let config = args.client.config(Some(&args.uri))?;
    let mut running = match client::launch(&args.client, config).await? {
        Ok(running) => running,
        Err(code) => return Ok(code),
    };
    println!("subscribing to {} at {} (waiting for the notifier)", args.event, args.uri);
    let code = match running.client.subscribe(&args.uri, &args.event).await {
        Err(e) => {
            println!("subscription failed: {e}");
            ExitCode::from(1)
        }
        Ok(id) => {
            println!("{id} accepted; each NOTIFY prints as it arrives");
            watch(&running.client, id, &mut running.events, duration).await
        }
    };
    running.finish(true).await;
    Ok(code)
}

/// Waits for the end: `duration`, Ctrl-C (then unsubscribes: exit 0), or the notifier
/// ending the subscription first (exit 1).
async fn watch(
    client: &client_core::ClientManager,
    id: SubscriptionId,
    events: &mut client_core::broadcast::Receiver<ClientEvent>,
    duration: Option<Duration>,
) -> ExitCode {
    let until = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        _ = until => {
            if let Err(e) = client.unsubscribe(id).await {
                println!("unsubscribe failed: {e}");
                return ExitCode::from(1);
            }
            // The notifier's last NOTIFY (terminated) follows the unsubscription.
            let _ = tokio::time::timeout(FINAL_NOTIFY, ended(events, id)).await;
            ExitCode::SUCCESS
        }
        _ = ended(events, id) => ExitCode::from(1),
    }
}

/// How long to wait for the final NOTIFY after unsubscribing.
const FINAL_NOTIFY: Duration = Duration::from_secs(5);

/// Returns when subscription `id` has ended.
async fn ended(events: &mut client_core::broadcast::Receiver<ClientEvent>, id: SubscriptionId) {
    loop {
        match events.recv().await {
            Ok(ClientEvent::SubscriptionEnded { subscription, .. }) if subscription == id => return,
            Err(client_core::broadcast::error::RecvError::Closed) => return,
            _ => {}
        }
    }
}
