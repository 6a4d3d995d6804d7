//! The defence against scanners' "ghost calls" (`security.only_from_registrar`, on by
//! default): an agent registered with kamailio on 127.0.0.1 drops, unanswered, the INVITE
//! and OPTIONS a stranger on 127.0.0.2 sends straight to it — nothing rings, and the
//! stranger cannot even tell a user agent is there — while a customer's call through
//! kamailio is answered. With the option off, the same stranger gets its 200.

use client_core::{AccountConfig, ClientBuilder, ClientEvent, ClientManager};
use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Scenario, Sipp, SippOptions, Transport};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(15);

async fn agent(k: &Kamailio, user: &str, password: &str, only_from_registrar: bool) -> Arc<ClientManager> {
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let mut config = client_core::ClientConfig::default();
    config.security.only_from_registrar = only_from_registrar;
    let c = ClientBuilder::from_config(config)
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .account(AccountConfig::new(user, Some(password.into()), registrar))
        .auto_answer(true)
        .build()
        .await
        .expect("config");
    c.start().await.expect("starts and registers");
    c
}

/// A request from the stranger's socket to `to`, as a scanner sends it.
fn probe(from: &UdpSocket, to: SocketAddr, method: &str, n: u32) {
    let me = from.local_addr().expect("addr");
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let body = if method == "INVITE" { body } else { "" };
    let content_type = if method == "INVITE" { "Content-Type: application/sdp\r\n" } else { "" };
    let text = format!(
        "{method} sip:100@{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-scan{n};rport\r\n\
         From: <sip:100@{me}>;tag=scan{n}\r\nTo: <sip:100@{to}>\r\nCall-ID: scan-{n}@{me}\r\n\
         CSeq: 1 {method}\r\nContact: <sip:100@{me}>\r\nMax-Forwards: 70\r\n{content_type}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    from.send_to(text.as_bytes(), to).expect("send");
}

/// Whatever came back to the stranger (nothing waiting: `None`).
fn answer(socket: &UdpSocket, wait: Duration) -> Option<String> {
    socket.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 4096];
    socket.recv(&mut buf).ok().map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_agent_drops_strangers_and_takes_calls_through_its_registrar() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("agent1", "pw1").user("agent2", "pw2")).expect("kamailio");
    let guarded = agent(&k, "agent1", "pw1", true).await;
    let open = agent(&k, "agent2", "pw2", false).await;
    let mut events = guarded.subscribe_events();
    let stranger = UdpSocket::bind("127.0.0.2:0").expect("a stranger's socket");

    let target = guarded.local_address().expect("listening");
    probe(&stranger, target, "INVITE", 1);
    probe(&stranger, target, "OPTIONS", 2);
    let deadline = Instant::now() + PATIENCE;
    while guarded.counters().await.expect("counters").from_strangers < 2 {
        assert!(Instant::now() < deadline, "the agent never counted the stranger's requests as dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both were dropped before any transaction was made: nothing was or will be sent back.
    assert_eq!(answer(&stranger, Duration::from_millis(300)), None, "the stranger heard nothing");
    assert_eq!(guarded.resource_counts().await.expect("counts").server_transactions, 0);
    assert!(guarded.list_calls().is_empty(), "no ghost call rang");

    // A customer's call through kamailio is taken.
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/customer_uac.xml"));
    let mut customer = Sipp::start(SippOptions::uac(scenario, k.addr(Transport::Udp)).service("agent1").calls(1))
        .expect("sipp customer");
    let code = customer.wait(PATIENCE).expect("sipp ends");
    assert_eq!(code, 0, "the call through the registrar was answered; kamailio:\n{}", k.log());
    let mut incoming = 0;
    while let Ok(e) = events.try_recv() {
        incoming += usize::from(matches!(e, ClientEvent::IncomingCall { .. }));
    }
    assert_eq!(incoming, 1, "one call rang: the customer's");

    // The same OPTIONS to an agent with the defence off is answered.
    probe(&stranger, open.local_address().expect("listening"), "OPTIONS", 3);
    let reply = answer(&stranger, PATIENCE).expect("an answer");
    assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
    assert_eq!(open.counters().await.expect("counters").from_strangers, 0);

    guarded.stop().await;
    open.stop().await;
}
