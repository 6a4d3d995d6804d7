//! A change of the host's address, against real peers: an agent listening on every
//! interface registers with kamailio and calls PJSIP (pjsua2, registered there too); the
//! agent's address then moves from 127.0.0.1 to 127.0.0.2. kamailio must hold only the new
//! Contact (the move's REGISTER removed the old binding), PJSIP must have taken the
//! re-INVITE naming the new address and keep exchanging audio, and its hang-up must reach
//! the agent.

use client_core::{AccountConfig, ClientBuilder, ClientConfig, ClientEvent, EndCause};
use sip_testpeers::{require_peers, AnswerMode, EventKind, Kamailio, KamailioOptions, Pjsua, PjsuaOptions, Transport};
use std::net::IpAddr;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(15);

/// Runs a blocking peer call off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

/// Polls `check` every 100 ms until it holds or PATIENCE passes; false then.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + PATIENCE;
    while Instant::now() < until {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_address_moves_the_registration_and_the_call_with_kamailio_and_pjsip() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("agent1", "pw1").user("phone", "phonepw")).expect("kamailio");
    let registrar = k.addr(Transport::Udp);
    let phone = blocking(move || {
        Pjsua::start(PjsuaOptions::new().register("phone", "phonepw", registrar).answer_mode(AnswerMode::Auto))
    })
    .await
    .expect("pjsua");

    // The agent listens on every interface and is reached at 127.0.0.1 for now.
    let mut config = ClientConfig::default();
    config.network.local_address = "0.0.0.0:0".parse().expect("addr");
    config.network.public_ip = Some("127.0.0.1".parse().expect("ip"));
    config.accounts.push(AccountConfig::new("agent1", Some("pw1".into()), format!("sip:{registrar}")));
    let agent = ClientBuilder::from_config(config).build().await.expect("config");
    let mut events = agent.subscribe_events();
    agent.start().await.expect("start");
    let port = agent.local_address().expect("address").port();
    assert_eq!(k.registered_contacts("agent1").expect("ul.dump").len(), 1);

    let call =
        agent.make_call(&format!("sip:agent1@{registrar}"), &format!("sip:phone@{registrar}")).await.expect("call");
    agent.wait_for_answer(call, PATIENCE).await.expect("PJSIP answers");

    let moved: IpAddr = "127.0.0.2".parse().expect("ip");
    agent.change_local_address(moved).await.expect("the move");
    assert_eq!(agent.local_address().expect("address"), std::net::SocketAddr::new(moved, port));
    let told = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::AddressChanged { to, .. }) = events.recv().await {
                return to;
            }
        }
    })
    .await;
    assert_eq!(told.ok().map(|a| a.ip()), Some(moved), "the application hears of the move");

    // kamailio holds the new Contact only: the move's REGISTER removed the old binding.
    let only_new = eventually(|| {
        let contacts = k.registered_contacts("agent1").unwrap_or_default();
        contacts.len() == 1 && contacts[0].contains(&format!("127.0.0.2:{port}"))
    })
    .await;
    assert!(only_new, "{:?}\n{}", k.registered_contacts("agent1"), k.log());

    // PJSIP took the re-INVITE that names the new address, for signalling and media.
    let refreshed = eventually(|| {
        phone.log().contains(&format!("Contact: <sip:agent1@127.0.0.2:{port}"))
            && phone.log().contains("c=IN IP4 127.0.0.2")
    })
    .await;
    assert!(refreshed, "PJSIP saw no re-INVITE naming 127.0.0.2:\n{}", phone.log());
    let ours = agent.get_rtp_statistics(call).await.expect("stats").packets_received;
    let theirs = phone.rtp_stats().expect("pjsua stats").rx_packets;
    let mut flowing = false;
    let until = Instant::now() + PATIENCE;
    while Instant::now() < until && !flowing {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now_ours = agent.get_rtp_statistics(call).await.expect("stats").packets_received;
        let now_theirs = phone.rtp_stats().expect("pjsua stats").rx_packets;
        flowing = now_ours >= ours + 25 && now_theirs >= theirs + 25;
    }
    assert!(flowing, "audio keeps flowing both ways after the move");

    // PJSIP hangs up, and the agent hears it.
    phone.hangup().expect("PJSIP hangs up");
    let info = tokio::time::timeout(PATIENCE, agent.wait_for_end(call)).await.expect("in time").expect("the end");
    assert_eq!(info.end.map(|e| e.cause), Some(EndCause::RemoteHangup));
    agent.stop().await;
    assert!(k.registered_contacts("agent1").expect("ul.dump").is_empty(), "stop removed the new binding");
    let _ = blocking(move || phone.wait_for(EventKind::Closed, Duration::from_secs(1))).await;
}

/// Subscriptions follow a move (RFC 6665 §4.1.2.1): the agent subscribes to a voicemail
/// server (sipp) and gets its first NOTIFY; when the agent's address moves to 127.0.0.2 it
/// refreshes the subscription in its dialog at once, naming the new Contact (sipp checks),
/// and the next NOTIFY, sent there, reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_follows_a_new_address() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/notifier_follows.xml"));
    let mut sipp = Sipp::start(SippOptions::uas(scenario).calls(1)).expect("sipp");
    let mut config = ClientConfig::default();
    config.network.local_address = "0.0.0.0:0".parse().expect("addr");
    config.network.public_ip = Some("127.0.0.1".parse().expect("ip"));
    let agent = ClientBuilder::from_config(config).build().await.expect("config");
    let mut events = agent.subscribe_events();
    agent.start().await.expect("start");
    let sub = agent.subscribe(&format!("sip:alice@{}", sipp.local_addr()), "message-summary").await.expect("accepted");
    let first = next_notify(&mut events, sub).await;
    assert_eq!(first.message_summary().and_then(|m| m.voice).map(|v| v.new), Some(2));
    agent.change_local_address("127.0.0.2".parse().expect("ip")).await.expect("the move");
    let second = next_notify(&mut events, sub).await;
    assert_eq!(
        second.message_summary().and_then(|m| m.voice).map(|v| v.new),
        Some(3),
        "the NOTIFY sent to the new address arrived"
    );
    agent.unsubscribe(sub).await.expect("unsubscribed");
    let (code, report) = blocking(move || (sipp.wait(PATIENCE), sipp.report())).await;
    assert_eq!(code.expect("sipp ends"), 0, "the notifier saw the refresh name 127.0.0.2:\n{report}");
    agent.stop().await;
}

/// The next NOTIFY of subscription `sub`.
async fn next_notify(
    events: &mut client_core::broadcast::Receiver<ClientEvent>,
    sub: client_core::SubscriptionId,
) -> client_core::Notification {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::Notify { notification }) = events.recv().await {
                if notification.subscription == sub {
                    return notification;
                }
            }
        }
    })
    .await
    .expect("a NOTIFY")
}
