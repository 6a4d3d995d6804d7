//! Two endpoints on loopback: requests and responses through transactions over each transport.

use sip_endpoint::{ClientEvent, Endpoint, EndpointConfig, EndpointError, IncomingEvent};
use sip_message::{Method, Peer, RequestBuilder, StatusCode, Transport};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn config(listen: &[(Transport, &str)]) -> EndpointConfig {
    let mut c = EndpointConfig::default();
    c.transport.listen = listen.iter().map(|(t, a)| (*t, a.parse().expect("addr"))).collect();
    c
}

fn options(from: &Endpoint, transport: Transport, to: std::net::SocketAddr) -> sip_message::Request {
    let local = from.local_addr_for(Transport::Udp, to).or(from.local_addr(Transport::Tcp)).expect("local");
    RequestBuilder::new(Method::Options, format!("sip:{to}"))
        .from(None, format!("sip:probe@{local}"))
        .to(None, format!("sip:{to}"))
        .via(transport.as_str(), local.to_string())
        .build()
        .expect("options")
}

/// Runs a server that answers every request with 200 until it is dropped.
fn answer_all(mut incoming: sip_endpoint::Incoming) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(ev) = incoming.next().await {
            if let IncomingEvent::Request(mut st) = ev {
                n += 1;
                st.reply(StatusCode::OK, Some("srv")).await.expect("reply");
            }
        }
        n
    })
}

async fn options_over(transport: Transport, bind: &str) {
    let (server, incoming) = Endpoint::start(config(&[(transport, bind)])).await.expect("server");
    let _srv = answer_all(incoming);
    let (client, _in) =
        Endpoint::start(config(&[(Transport::Udp, bind), (Transport::Tcp, bind)])).await.expect("client");
    let to = server.local_addr(transport).expect("bound");
    let mut tx = client.send_request(options(&client, transport, to), Peer::new(transport, to)).await.expect("send");
    let resp = tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().to().expect("to").tag(), Some("srv"));
}

#[tokio::test]
async fn options_over_udp() {
    options_over(Transport::Udp, "127.0.0.1:0").await;
}

#[tokio::test]
async fn options_over_udp_ipv6() {
    options_over(Transport::Udp, "[::1]:0").await;
}

#[tokio::test]
async fn options_over_tcp() {
    options_over(Transport::Tcp, "127.0.0.1:0").await;
}

#[tokio::test]
async fn options_over_ws() {
    options_over(Transport::Ws, "127.0.0.1:0").await;
}

#[tokio::test]
async fn unreachable_tcp_target_is_reported_with_the_reason() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let closed = probe.local_addr().expect("addr");
    drop(probe);
    let (client, _in) = Endpoint::start(config(&[(Transport::Udp, "127.0.0.1:0")])).await.expect("client");
    let mut tx = client
        .send_request(options(&client, Transport::Tcp, closed), Peer::new(Transport::Tcp, closed))
        .await
        .expect("send");
    match tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time") {
        Err(EndpointError::Unreachable(Some(e))) => assert!(e.to_string().contains("connecting to"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn silence_times_out_after_64_t1() {
    let mut c = config(&[(Transport::Udp, "127.0.0.1:0")]);
    c.transaction.t1 = Duration::from_millis(10);
    let (client, _in) = Endpoint::start(c).await.expect("client");
    // A UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent");
    let to = silent.local_addr().expect("addr");
    let mut tx =
        client.send_request(options(&client, Transport::Udp, to), Peer::new(Transport::Udp, to)).await.expect("send");
    let mut seen = Vec::new();
    while let Some(e) = tokio::time::timeout(WAIT, tx.next()).await.expect("in time") {
        seen.push(e);
    }
    assert_eq!(seen, [ClientEvent::Timeout]);
    // The request really was retransmitted (Timer E): count what arrived.
    silent.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 4096];
    let mut copies = 0;
    while silent.recv(&mut buf).is_ok() {
        copies += 1;
    }
    assert!(copies >= 5, "retransmissions: {copies}");
}

#[tokio::test]
async fn an_unanswered_server_transaction_answers_500_when_dropped() {
    let (server, mut incoming) = Endpoint::start(config(&[(Transport::Udp, "127.0.0.1:0")])).await.expect("server");
    tokio::spawn(async move {
        while let Some(ev) = incoming.next().await {
            drop(ev);
        }
    });
    let (client, _in) = Endpoint::start(config(&[(Transport::Udp, "127.0.0.1:0")])).await.expect("client");
    let to = server.local_addr(Transport::Udp).expect("bound");
    let mut tx =
        client.send_request(options(&client, Transport::Udp, to), Peer::new(Transport::Udp, to)).await.expect("send");
    let resp = tokio::time::timeout(WAIT, tx.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::SERVER_INTERNAL_ERROR);
}

#[tokio::test]
async fn an_application_that_does_not_keep_up_gets_503_for_new_requests() {
    let mut c = config(&[(Transport::Udp, "127.0.0.1:0")]);
    c.incoming_queue = 1;
    let (server, _incoming_not_read) = Endpoint::start(c).await.expect("server");
    let (client, _in) = Endpoint::start(config(&[(Transport::Udp, "127.0.0.1:0")])).await.expect("client");
    let to = server.local_addr(Transport::Udp).expect("bound");
    let _first =
        client.send_request(options(&client, Transport::Udp, to), Peer::new(Transport::Udp, to)).await.expect("send");
    let mut second =
        client.send_request(options(&client, Transport::Udp, to), Peer::new(Transport::Udp, to)).await.expect("send");
    let resp = tokio::time::timeout(WAIT, second.final_response()).await.expect("in time").expect("final");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("Retry-After").is_some());
}

#[tokio::test]
async fn dropping_every_handle_releases_the_sockets() {
    let (ep, incoming) = Endpoint::start(config(&[(Transport::Tcp, "127.0.0.1:0")])).await.expect("endpoint");
    let addr = ep.local_addr(Transport::Tcp).expect("bound");
    drop(incoming);
    drop(ep);
    // The listener closes once the driver has stopped: connecting is then refused.
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener on {addr} was released");
}

#[tokio::test]
async fn shutdown_stops_the_endpoint() {
    let (ep, mut incoming) = Endpoint::start(config(&[(Transport::Udp, "127.0.0.1:0")])).await.expect("endpoint");
    ep.shutdown();
    assert!(tokio::time::timeout(WAIT, incoming.next()).await.expect("in time").is_none(), "incoming ends");
    let to: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    assert!(matches!(
        ep.send_request(options(&ep, Transport::Udp, to), Peer::new(Transport::Udp, to)).await,
        Err(EndpointError::Closed)
    ));
}
