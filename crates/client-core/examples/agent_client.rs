//! A call-center agent in one screen of code: it registers with its credentials,
//! answers every call, lets the media run by itself (no SDP here), hangs up after N
//! seconds, prints what happens, and unregisters on Ctrl-C.
//!
//! ```text
//! cargo run -p client-core --example agent_client -- USER PASSWORD REGISTRAR [SECONDS]
//! cargo run -p client-core --example agent_client -- alice secret sip:127.0.0.1:5060 10
//! ```

use client_core::{AccountConfig, CallState, ClientBuilder, ClientEvent};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [user, password, registrar, rest @ ..] = args.as_slice() else {
        eprintln!("usage: agent_client USER PASSWORD REGISTRAR [SECONDS]");
        std::process::exit(2);
    };
    let talk = Duration::from_secs(rest.first().and_then(|s| s.parse().ok()).unwrap_or(10));

    let agent = ClientBuilder::new()
        .listen_towards(registrar.clone())
        .account(AccountConfig::new(user.clone(), Some(password.clone()), registrar.clone()))
        .auto_answer(true)
        .build()
        .await?;
    let mut events = agent.subscribe_events();
    agent.start().await?; // binds a free port and registers the account

    loop {
        tokio::select! {
            event = events.recv() => {
                let Ok(event) = event else { break };
                println!("{event}");
                if let ClientEvent::CallStateChanged { id, new: CallState::Active, .. } = event {
                    let agent = agent.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(talk).await;
                        let _ = agent.hangup_call(id).await;
                    });
                }
                if let ClientEvent::CallEnded { call } = &event {
                    if let Some(rtp) = call.final_rtp() {
                        println!("  {} RTP packets sent, {} received, {} lost", rtp.packets_sent, rtp.packets_received, rtp.packets_lost);
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    agent.stop().await; // unregisters, hangs up, frees every port
    Ok(())
}
