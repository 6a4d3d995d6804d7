//! Instant messages (SIP MESSAGE, RFC 3428) both ways, against real peers: sipp sends one
//! to a client (and one with no body, which gets 415), and takes one from it; a client
//! registered with kamailio sends one to baresip, whose user agent answers 200; a message
//! to nobody reports kamailio's 404.

use client_core::{AccountConfig, ClientBuilder, ClientEvent};
use sip_testpeers::Transport;
use sip_testpeers::{require_peers, Baresip, BaresipOptions, Kamailio, KamailioOptions, Scenario, Sipp, SippOptions};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_sipp_reaches_the_application() {
    require_peers();
    let client =
        ClientBuilder::new().local_address("127.0.0.1:0".parse().expect("addr")).build().await.expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    let addr = client.local_address().expect("address");
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/message_uac.xml"));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("agent").calls(1)).expect("sipp");
    let message = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::MessageReceived { message }) = events.recv().await {
                return message;
            }
        }
    })
    .await
    .expect("the message arrives");
    assert_eq!(message.text().trim_end(), "Hello from the queue");
    assert!(message.from.starts_with("sip:customer@"), "{message:?}");
    assert!(message.to.starts_with("sip:agent@"), "{message:?}");
    assert!(message.content_type.starts_with("text/plain"), "{message:?}");
    assert_eq!(message.call, None);
    let code = tokio::task::spawn_blocking(move || sipp.wait(PATIENCE)).await.expect("join").expect("sipp ends");
    assert_eq!(code, 0, "sipp got 200 for the message and 415 for the empty one");
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_sipp_is_answered_200() {
    require_peers();
    let client =
        ClientBuilder::new().local_address("127.0.0.1:0".parse().expect("addr")).build().await.expect("config");
    client.start().await.expect("start");
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/message_uas.xml"));
    let mut sipp = Sipp::start(SippOptions::uas(scenario).calls(1)).expect("sipp");
    let answer = client.send_message(&format!("sip:desk@{}", sipp.local_addr()), "ticket 4711 is yours").await;
    let answer = answer.expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.raw);
    let code = tokio::task::spawn_blocking(move || sipp.wait(PATIENCE)).await.expect("join").expect("sipp ends");
    assert_eq!(code, 0, "sipp got a text/plain MESSAGE with the text");
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_client_sends_a_message_to_baresip_through_kamailio() {
    require_peers();
    let k =
        Kamailio::start(KamailioOptions::new().user("agent1", "pw1").user("carol", "carolpw").challenge_requests(true))
            .expect("kamailio");
    let registrar = k.addr(Transport::Udp);
    // start returns once baresip has registered.
    let carol = tokio::task::spawn_blocking(move || {
        Baresip::start(BaresipOptions::new().register("carol", "carolpw", registrar))
    })
    .await
    .expect("join")
    .expect("baresip registered");
    let agent = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .account(AccountConfig::new("agent1", Some("pw1".into()), format!("sip:{registrar}")))
        .build()
        .await
        .expect("config");
    agent.start().await.expect("start");

    let answer = agent.send_message(&format!("sip:carol@{registrar}"), "caller 4711 asks for you").await.expect("sent");
    assert!((200..300).contains(&answer.status), "{} {}\n{}", answer.status, answer.reason, k.log());
    // baresip itself took it: its user agent answered (kamailio only relays the 200).
    assert!(answer.raw.contains("baresip"), "the 200 comes from baresip:\n{}", answer.raw);
    drop(carol);

    let answer = agent.send_message(&format!("sip:nobody@{registrar}"), "anyone?").await.expect("answered");
    assert_eq!(answer.status, 404, "kamailio knows nobody: {} {}", answer.status, answer.reason);
    agent.stop().await;
}
