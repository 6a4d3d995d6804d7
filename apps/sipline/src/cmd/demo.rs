//! `sipline demo`: the whole product in one command, with no server. Two agents start on
//! loopback; alice calls bob, bob answers; alice sends a 440 Hz tone and bob a 1 kHz one
//! over real RTP (PCMU); alice holds and resumes; alice hangs up. Each side prints what
//! happens, then the demo checks by Goertzel filter that each side heard the other's tone.
//! Exit 0 only when the call went through and the audio arrived both ways.

use super::agent;
use session_core::{AcceptAll, MediaControl, SessionControl, SessionState};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
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
    agent::run("demo", async {
        match demo(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("demo failed: {e}");
                ExitCode::from(1)
            }
        }
    })
}

async fn demo(args: Args) -> Result<(), String> {
    if !(args.duration.is_finite() && args.duration >= 1.0) {
        return Err("--duration must be at least 1 second".into());
    }
    let duration = Duration::from_secs_f64(args.duration);
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let alice = agent::builder(Some(loopback), None, &[], args.trace)
        .await
        .media_tone(Some(ALICE_HZ))
        .build()
        .await
        .map_err(|e| format!("alice: {e}"))?;
    let bob = agent::builder(Some(loopback), None, &[], args.trace)
        .await
        .media_tone(Some(BOB_HZ))
        .with_handler(AcceptAll)
        .build()
        .await
        .map_err(|e| format!("bob: {e}"))?;
    println!("alice listens on {}, bob on {}", alice.local_sip_addr(), bob.local_sip_addr());
    let alice_log = agent::print_events(&alice, "alice");
    let bob_log = agent::print_events(&bob, "bob  ");
    let mut bob_events = bob.subscribe_events();

    let call = alice
        .create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None)
        .await
        .map_err(|e| e.to_string())?;
    alice.wait_for_answer(call.id, Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    let bob_id = loop {
        match bob_events.recv().await {
            Ok(session_core::SessionEvent::StateChanged { id, new: SessionState::Active, .. }) => break id,
            Ok(_) => {}
            Err(e) => return Err(format!("bob's events: {e}")),
        }
    };
    let info = alice.get_media_info(call.id).await.map_err(|e| e.to_string())?;
    println!(
        "media: {} from {} to {}",
        info.codec.unwrap_or_default(),
        info.local_rtp.map(|a| a.to_string()).unwrap_or_default(),
        info.remote_rtp.map(|a| a.to_string()).unwrap_or_default()
    );
    tokio::time::sleep(duration / 2).await;
    let heard_by_bob = tone_heard(&bob.get_received_audio(bob_id).await.map_err(|e| e.to_string())?, ALICE_HZ);
    let heard_by_alice = tone_heard(&alice.get_received_audio(call.id).await.map_err(|e| e.to_string())?, BOB_HZ);

    alice.hold_session(call.id).await.map_err(|e| format!("hold: {e}"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.resume_session(call.id).await.map_err(|e| format!("resume: {e}"))?;
    tokio::time::sleep(duration / 2).await;

    let a = alice.get_rtp_statistics(call.id).await.map_err(|e| e.to_string())?;
    let b = bob.get_rtp_statistics(bob_id).await.map_err(|e| e.to_string())?;
    println!("alice: {}", agent::rtp_line(call.id, &a));
    println!("bob  : {}", agent::rtp_line(bob_id, &b));
    alice.terminate_session(call.id).await.map_err(|e| e.to_string())?;
    let end = alice.wait_for_end(call.id).await.map_err(|e| e.to_string())?;
    let leftover = async {
        for _ in 0..50 {
            if alice.resource_counts().await == Default::default() && bob.resource_counts().await == Default::default()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
    .await;
    alice.shutdown().await;
    bob.shutdown().await;
    drop((alice, bob));
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = alice_log.await;
        let _ = bob_log.await;
    })
    .await;

    println!("bob heard alice's {ALICE_HZ} Hz tone: {}", yes(heard_by_bob));
    println!("alice heard bob's {BOB_HZ} Hz tone: {}", yes(heard_by_alice));
    println!("everything released after the call: {}", yes(leftover));
    if !agent::ended_normally(&end) {
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
    media_core::tone::dominant_tone(samples, &[ALICE_HZ, BOB_HZ], 8000, 0.5) == Some(hz)
}
