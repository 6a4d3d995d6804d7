//! The reference plan's end-to-end check, against real peers: two agent clients register
//! with kamailio (a real registrar and proxy, digest authentication on); a sipp customer
//! calls agent 1 through kamailio; agent 1 answers; RTP flows both ways (sipp echoes the
//! agent's audio, and the agent's recording of the call holds its own tone come back); the
//! customer hangs up; every client event expected arrives, in order.

use client_core::{AccountConfig, CallState, ClientBuilder, ClientEvent, ClientManager, EndCause, RegistrationState};
use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Scenario, Sipp, SippOptions, Transport};
use std::sync::Arc;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(15);

async fn agent(k: &Kamailio, user: &str, password: &str) -> Arc<ClientManager> {
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let c = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .account(AccountConfig::new(user, Some(password.into()), registrar))
        .auto_answer(true)
        .tone(Some(440.0))
        .build()
        .await
        .expect("config");
    c
}

/// Every event until `done` says the story is complete (or PATIENCE passes).
async fn collect(
    rx: &mut client_core::broadcast::Receiver<ClientEvent>,
    done: impl Fn(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, async {
        while let Ok(e) = rx.recv().await {
            let stop = done(&e);
            seen.push(e);
            if stop {
                break;
            }
        }
    })
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_calls_agent_one_through_kamailio() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("agent1", "pw1").user("agent2", "pw2")).expect("kamailio");
    let agent1 = agent(&k, "agent1", "pw1").await;
    let agent2 = agent(&k, "agent2", "pw2").await;
    let mut events1 = agent1.subscribe_events();
    let mut events2 = agent2.subscribe_events();
    agent1.start().await.expect("agent 1 starts");
    agent2.start().await.expect("agent 2 starts");
    // start registered the configured accounts: the tables say so as soon as it returns.
    for a in [&agent1, &agent2] {
        let regs = a.get_all_registrations();
        assert!(regs.len() == 1 && regs[0].is_registered(), "{regs:?}");
    }
    let registered = |e: &ClientEvent| {
        matches!(e, ClientEvent::RegistrationStateChanged { state: RegistrationState::Registered { .. }, .. })
    };
    let story2 = collect(&mut events2, registered).await;
    assert!(story2.iter().any(registered), "agent 2 registered: {story2:?}\n{}", k.log());
    assert_eq!(k.registered_contacts("agent1").expect("ul.dump").len(), 1);
    assert_eq!(k.registered_contacts("agent2").expect("ul.dump").len(), 1);

    // Agent 1 records each call it answers.
    let recording = std::env::temp_dir().join(format!("client-core-echo-{}.wav", std::process::id()));
    let recorder = {
        let (agent, path, mut rx) = (agent1.clone(), recording.clone(), agent1.subscribe_events());
        tokio::spawn(async move {
            while let Ok(e) = rx.recv().await {
                if let ClientEvent::CallStateChanged { id, new: CallState::Active, .. } = e {
                    agent.start_recording(id, &path).await.expect("record the call");
                    return;
                }
            }
        })
    };
    let media_port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("a free port");
        s.local_addr().expect("addr").port()
    };
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/customer_uac.xml"));
    let mut customer = Sipp::start(
        SippOptions::uac(scenario, k.addr(Transport::Udp))
            .service("agent1")
            .calls(1)
            .pause_ms(2000)
            .arg("-rtp_echo")
            .arg("-mp")
            .arg(media_port.to_string()),
    )
    .expect("sipp customer");

    let story = collect(&mut events1, |e| matches!(e, ClientEvent::CallEnded { .. })).await;
    let code = customer.wait(PATIENCE).expect("sipp ends");
    assert_eq!(code, 0, "the customer's call succeeded; sipp: {}\nkamailio:\n{}", customer.command_line(), k.log());

    // The story of agent 1, in order.
    let kinds: Vec<String> = story
        .iter()
        .filter(|e| !matches!(e, ClientEvent::MediaQuality { .. } | ClientEvent::CallProgress { .. }))
        .map(|e| match e {
            ClientEvent::RegistrationStateChanged { state: RegistrationState::Registered { .. }, .. } => {
                "registered".into()
            }
            ClientEvent::RegistrationStateChanged { .. } => "registration".into(),
            ClientEvent::IncomingCall { .. } => "incoming".into(),
            ClientEvent::CallStateChanged { old, new, .. } => format!("{old}->{new}"),
            ClientEvent::CallEnded { .. } => "ended".into(),
            other => format!("{other}"),
        })
        .filter(|k| k != "registration")
        .collect();
    assert_eq!(kinds, ["registered", "incoming", "incoming->active", "ended"], "{story:#?}");
    let ClientEvent::IncomingCall { call: incoming } =
        story.iter().find(|e| matches!(e, ClientEvent::IncomingCall { .. })).expect("incoming")
    else {
        unreachable!()
    };
    assert_eq!(incoming.remote_header("X-Customer-Tier"), Some("gold"), "the customer's header reached the agent");
    let Some(ClientEvent::CallEnded { call }) = story.last() else { panic!("ends with the end") };
    assert_eq!(call.end.as_ref().map(|e| e.cause), Some(EndCause::RemoteHangup));
    assert_eq!(call.state, CallState::Terminated);
    let rtp = call.final_rtp().expect("final RTP statistics");
    assert!(rtp.packets_sent >= 50, "the agent sent audio for 2 s: {rtp:?}");
    assert!(rtp.packets_received >= 25, "sipp echoed it back: {rtp:?}");
    assert_eq!(agent1.get_call_history().len(), 1);
    // What came back is what the agent sent: its own 440 Hz tone.
    recorder.await.expect("the recorder task");
    let heard = client_core::load_wav(&recording).expect("the recording");
    assert!(heard.samples.len() >= 8000, "{} samples recorded", heard.samples.len());
    let echo = &heard.samples[heard.samples.len() / 2 - 4000..heard.samples.len() / 2 + 4000];
    assert_eq!(client_core::dominant_tone(echo, &[440.0, 1000.0], 8000, 0.8), Some(440.0));
    std::fs::remove_file(&recording).ok();

    agent1.stop().await;
    agent2.stop().await;
    assert!(k.registered_contacts("agent1").expect("ul.dump").is_empty(), "stop unregistered agent 1");
    assert!(k.registered_contacts("agent2").expect("ul.dump").is_empty(), "stop unregistered agent 2");
}
