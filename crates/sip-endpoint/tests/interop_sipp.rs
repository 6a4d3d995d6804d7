//! Interop with sipp 3.6 (a real third-party SIP implementation), started by the test:
//! retransmissions seen and answered, a sipp client with packet loss against our server, UDP
//! and TCP. A missing sipp fails the test (scripts/install-peers installs it).

use sip_endpoint::{Endpoint, EndpointConfig, IncomingEvent};
use sip_message::{Method, Peer, RequestBuilder, StatusCode, Transport};
use sip_testpeers::{require_peers, Scenario, Sipp, SippOptions, SippTransport};
use std::net::SocketAddr;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

async fn client() -> Endpoint {
    let mut c = EndpointConfig::default();
    c.transport.listen = vec![(Transport::Udp, "127.0.0.1:0".parse().expect("addr"))];
    Endpoint::start(c).await.expect("client").0
}

fn request(ep: &Endpoint, method: Method, transport: Transport, to: SocketAddr) -> sip_message::Request {
    let local = ep.local_addr(Transport::Udp).expect("local");
    let mut b = RequestBuilder::new(method.clone(), format!("sip:service@{to}"))
        .from(None, format!("sip:sipline@{local}"))
        .to(None, format!("sip:service@{to}"))
        .via(transport.as_str(), local.to_string())
        .contact(format!("sip:sipline@{local}"));
    if method == Method::Invite {
        b = b.body(
            "application/sdp",
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
        );
    }
    b.build().expect("request")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

#[tokio::test]
async fn options_retransmitted_over_udp_until_sipp_answers() {
    require_peers();
    // The scenario ignores the first OPTIONS and answers the retransmission; it ends after one
    // call, which proves the retransmission came.
    let mut sipp = Sipp::start(SippOptions::uas(Scenario::OptionsUasDropFirst).calls(1)).expect("sipp");
    let to = sipp.local_addr();
    let ep = client().await;
    let mut tx = ep
        .send_request(request(&ep, Method::Options, Transport::Udp, to), Peer::new(Transport::Udp, to))
        .await
        .expect("send");
    let resp = tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::OK, "{}", sipp.report());
    let code = blocking(move || {
        let code = sipp.wait(WAIT);
        (code, sipp.report())
    })
    .await;
    assert_eq!(code.0.expect("sipp ended"), 0, "sipp saw the retransmission and answered it: {}", code.1);
}

#[tokio::test]
async fn invite_retransmitted_rejected_and_acked_over_udp() {
    require_peers();
    let mut sipp = Sipp::start(SippOptions::uas(Scenario::InviteUasDropFirst).calls(1)).expect("sipp");
    let to = sipp.local_addr();
    let ep = client().await;
    let mut tx = ep
        .send_request(request(&ep, Method::Invite, Transport::Udp, to), Peer::new(Transport::Udp, to))
        .await
        .expect("send");
    let resp = tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::BUSY_HERE, "{}", sipp.report());
    // sipp's scenario ends only when our transaction's ACK for the 486 arrives.
    let (code, report) = blocking(move || (sipp.wait(WAIT), sipp.report())).await;
    assert_eq!(code.expect("sipp ended"), 0, "sipp got the ACK: {report}");
}

#[tokio::test]
async fn options_over_tcp_to_sipp() {
    require_peers();
    let mut sipp =
        Sipp::start(SippOptions::uas(Scenario::OptionsUas).transport(SippTransport::Tcp).calls(1)).expect("sipp");
    let to = sipp.local_addr();
    let ep = client().await;
    let mut tx = ep
        .send_request(request(&ep, Method::Options, Transport::Tcp, to), Peer::new(Transport::Tcp, to))
        .await
        .expect("send");
    let resp = tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::OK, "{}", sipp.report());
    let (code, report) = blocking(move || (sipp.wait(WAIT), sipp.report())).await;
    assert_eq!(code.expect("sipp ended"), 0, "{report}");
}

/// Our endpoint answers every request with 200 until dropped.
async fn server(transport: Transport) -> Endpoint {
    let mut c = EndpointConfig::default();
    c.transport.listen = vec![(transport, "127.0.0.1:0".parse().expect("addr"))];
    let (ep, mut incoming) = Endpoint::start(c).await.expect("server");
    tokio::spawn(async move {
        while let Some(ev) = incoming.next().await {
            if let IncomingEvent::Request(mut st) = ev {
                let _ = st.reply(StatusCode::OK, Some("sipline")).await;
            }
        }
    });
    ep
}

#[tokio::test]
async fn sipp_client_with_20_percent_loss_completes_against_our_server() {
    require_peers();
    let ep = server(Transport::Udp).await;
    let target = ep.local_addr(Transport::Udp).expect("bound");
    let mut sipp =
        Sipp::start(SippOptions::uac(Scenario::OptionsUac, target).calls(40).rate(20.0).lost(20)).expect("sipp");
    let (code, stats, report) = blocking(move || {
        let code = sipp.wait(Duration::from_secs(120));
        (code, sipp.stats(), sipp.report())
    })
    .await;
    let stats = stats.expect("stats");
    assert_eq!(code.expect("sipp ended"), 0, "{report}");
    assert_eq!(stats.successful_calls, 40, "{report}");
    assert!(stats.retransmissions > 0, "20 % loss forces retransmissions, which our server answered: {report}");
}

#[tokio::test]
async fn sipp_client_over_tcp_against_our_server() {
    require_peers();
    let ep = server(Transport::Tcp).await;
    let target = ep.local_addr(Transport::Tcp).expect("bound");
    let mut sipp =
        Sipp::start(SippOptions::uac(Scenario::OptionsUac, target).transport(SippTransport::Tcp).calls(20).rate(20.0))
            .expect("sipp");
    let (code, stats, report) = blocking(move || (sipp.wait(WAIT), sipp.stats(), sipp.report())).await;
    assert_eq!(code.expect("sipp ended"), 0, "{report}");
    assert_eq!(stats.expect("stats").successful_calls, 20, "{report}");
}
