//! `sipline demo`: the whole product in one command, with no server. Two agents start on
//! loopback; alice calls bob, bob answers; alice sends a 440 Hz tone and bob a 1 kHz one
//! over real RTP (PCMU); alice holds and resumes; alice hangs up. Each side prints what
//! happens, then the demo checks by Goertzel filter that each side heard the other's tone.
//! Exit 0 only when the call went through and the audio arrived both ways.

use super::client;
use client_core::{CallState, ClientBuilder, ClientEvent, ClientManager};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `sipline demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of conversation before alice hangs up.
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Print every SIP message both agents send and receive.
    #[arg(long)]
    trace: bool,
}

const ALICE_HZ: f32 = 440.0;
const BOB_HZ: f32 = 1000.0;

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("demo", async {
        if !(args.duration.is_finite() && args.duration >= 1.0) {
            eprintln!("sipline demo: --duration must be at least 1 second");
            return ExitCode::from(2);
        }
        match demo(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("demo failed: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// One of the two agents: on loopback, a free port, sending its tone.
async fn agent(name: &'static str, hz: f32, auto_answer: bool, trace: bool) -> Result<Arc<ClientManager>, String> {
    let mut b = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().map_err(|_| "address")?)
        .tone(Some(hz))
        .auto_answer(auto_answer);
    if trace {
        b = b.wire_tap(client::trace_tap(name));
    }
    let c = b.build().await.map_err(|e| format!("{name}: {e}"))?;
    c.start().await.map_err(|e| format!("{name}: {e}"))?;
    Ok(c)
}

async fn demo(args: Args) -> Result<(), String> {
    let duration = Duration::from_secs_f64(args.duration);
    let alice = agent("alice ", ALICE_HZ, false, args.trace).await?;
    let bob = agent("bob   ", BOB_HZ, true, args.trace).await?;
    let uri = |c: &ClientManager, user: &str| c.local_uri(user).map_err(|e| e.to_string());
    println!(
        "alice listens on {}, bob on {}",
        alice.local_address().map_err(|e| e.to_string())?,
        bob.local_address().map_err(|e| e.to_string())?
    );
    let alice_log = client::print_events(&alice, "alice");
    let bob_log = client::print_events(&bob, "bob  ");
    let mut bob_events = bob.subscribe_events();

    let call = alice.make_call(&uri(&alice, "alice")?, &uri(&bob, "bob")?).await.map_err(|e| e.to_string())?;
    alice.wait_for_answer(call, Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    let bob_id = loop {
        match bob_events.recv().await {
            Ok(ClientEvent::CallStateChanged { id, new: CallState::Active, .. }) => break id,
            Ok(_) => {}
            Err(e) => return Err(format!("bob's events: {e}")),
        }
    };
    let info = alice.get_call_media_info(call).await.map_err(|e| e.to_string())?;
    println!(
        "media: {} from {} to {}",
        info.codec.unwrap_or_default(),
        info.local_rtp.map(|a| a.to_string()).unwrap_or_default(),
        info.remote_rtp.map(|a| a.to_string()).unwrap_or_default()
    );
    tokio::time::sleep(duration / 2).await;
    let heard_by_bob = tone_heard(&bob.get_received_audio(bob_id).await.map_err(|e| e.to_string())?, ALICE_HZ);
    let heard_by_alice = tone_heard(&alice.get_received_audio(call).await.map_err(|e| e.to_string())?, BOB_HZ);

    alice.hold_call(call).await.map_err(|e| format!("hold: {e}"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.resume_call(call).await.map_err(|e| format!("resume: {e}"))?;
    tokio::time::sleep(duration / 2).await;

    alice.hangup_call(call).await.map_err(|e| e.to_string())?;
    let ended = alice.wait_for_end(call).await.map_err(|e| e.to_string())?;
    let bob_ended = bob.wait_for_end(bob_id).await.map_err(|e| e.to_string())?;
    let a = ended.final_rtp().cloned().unwrap_or_default();
    let b = bob_ended.final_rtp().cloned().unwrap_or_default();
    println!("alice: {}", client::rtp_line(call, &a));
    println!("bob  : {}", client::rtp_line(bob_id, &b));
    println!("talk time: {:.1} s", ended.talk_time.unwrap_or_default().as_secs_f64());
    let leftover = async {
        for _ in 0..50 {
            let idle = |c: Result<client_core::ResourceCounts, _>| c.is_ok_and(|c| c == Default::default());
            if idle(alice.resource_counts().await) && idle(bob.resource_counts().await) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
    .await;
    client::finish(alice, alice_log, None).await;
    client::finish(bob, bob_log, None).await;

    println!("bob heard alice's {ALICE_HZ} Hz tone: {}", yes(heard_by_bob));
    println!("alice heard bob's {BOB_HZ} Hz tone: {}", yes(heard_by_alice));
    println!("everything released after the call: {}", yes(leftover));
    let end = ended.end.ok_or("the call ended without a reason")?;
    if !client::ended_normally(&end) {
        return Err(format!("the call ended badly: {end}"));
    }
    if !(heard_by_bob && heard_by_alice && a.packets_received > 0 && b.packets_received > 0) {
        return Err("audio did not arrive both ways".into());
    }
    if !leftover {
        return Err("a session left resources behind".into());
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "NO"
    }
}

/// Is `hz` the dominant tone of `samples` (8 kHz)?
fn tone_heard(samples: &[i16], hz: f32) -> bool {
    client_core::dominant_tone(samples, &[ALICE_HZ, BOB_HZ], 8000, 0.5) == Some(hz)
}
