//! The transport layer on loopback: every transport both ways, connection reuse, TLS
//! verification failures, the WebSocket subprotocol, keep-alives, and cutting off bad peers.

use bytes::Bytes;
use sip_message::{Method, Peer, RequestBuilder, Transport};
use sip_transport::{Identity, TransportConfig, TransportErrorKind, TransportEvent, TransportLayer, TrustRoots};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

fn options(tag: &str) -> Bytes {
    RequestBuilder::new(Method::Options, "sip:bob@127.0.0.1")
        .from(None, "sip:alice@127.0.0.1")
        .from_tag(tag)
        .to(None, "sip:bob@127.0.0.1")
        .via("UDP", "127.0.0.1:5060")
        .build()
        .expect("request")
        .to_bytes()
}

struct Pki {
    dir: PathBuf,
    identity: Identity,
    ca: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test CA and a server certificate for localhost, 127.0.0.1 and ::1.
fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("sipline-transport-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "sipline test CA");
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])
            .expect("leaf params");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = leaf_params.signed_by(&leaf_key, &ca_cert, &ca_key).expect("leaf cert");
    let write = |file: &str, pem: String| {
        let p = dir.join(file);
        std::fs::write(&p, pem).expect("write pem");
        p
    };
    let identity = Identity {
        cert_chain: write("server.pem", leaf.pem()),
        private_key: write("server.key", leaf_key.serialize_pem()),
    };
    let ca = write("ca.pem", ca_cert.pem());
    Pki { dir, identity, ca }
}

async fn bind(
    listen: &[(Transport, &str)],
    tweak: impl FnOnce(&mut TransportConfig),
) -> (TransportLayer, mpsc::Receiver<TransportEvent>) {
    let mut cfg = TransportConfig {
        listen: listen.iter().map(|(t, a)| (*t, a.parse::<SocketAddr>().expect("addr"))).collect(),
        ..TransportConfig::default()
    };
    tweak(&mut cfg);
    TransportLayer::bind(cfg).await.expect("bind")
}

async fn next_event(rx: &mut mpsc::Receiver<TransportEvent>) -> TransportEvent {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("an event in time").expect("the transport is alive")
}

async fn next_message(rx: &mut mpsc::Receiver<TransportEvent>) -> (sip_message::Message, Peer) {
    loop {
        if let TransportEvent::Message { message, source } = next_event(rx).await {
            return (message, source);
        }
    }
}

fn tag_of(m: &sip_message::Message) -> String {
    m.headers().from().expect("from").tag().expect("tag").to_owned()
}

/// Sends from `a` to `b` over `transport`, then answers back over the flow it came on.
async fn round_trip(transport: Transport, addr: &str, pki: Option<&Pki>) {
    let tweak_server = |c: &mut TransportConfig| c.server_identity = pki.map(|p| p.identity.clone());
    let (server, mut server_rx) = bind(&[(transport, addr)], tweak_server).await;
    let trust = pki.map(|p| TrustRoots::PemFile(p.ca.clone()));
    let (client, mut client_rx) = bind(&[(Transport::Udp, addr)], |c| {
        if let Some(t) = trust {
            c.trust = t;
        }
    })
    .await;
    let to = Peer::new(transport, server.local_addr(transport).expect("listener"));
    let used = client.send(to, options("one"), 1);
    assert_eq!(used.flow.is_some(), transport.is_reliable());
    let (msg, source) = next_message(&mut server_rx).await;
    assert_eq!(tag_of(&msg), "one");
    assert_eq!(source.transport, transport);
    // The answer goes back over the connection the request came in on.
    server.send(source, options("two"), 2);
    let (msg, back) = next_message(&mut client_rx).await;
    assert_eq!(tag_of(&msg), "two");
    if transport.is_reliable() {
        assert_eq!(back.flow, used.flow, "same connection both ways");
        // A second request reuses the open connection.
        let again = client.send(to, options("three"), 3);
        assert_eq!(again.flow, used.flow);
        assert_eq!(client.connection_count(), 1);
        let (msg, _) = next_message(&mut server_rx).await;
        assert_eq!(tag_of(&msg), "three");
    }
    client.shutdown();
    server.shutdown();
}

#[tokio::test]
async fn udp_round_trip() {
    round_trip(Transport::Udp, "127.0.0.1:0", None).await;
}

#[tokio::test]
async fn udp_round_trip_ipv6() {
    round_trip(Transport::Udp, "[::1]:0", None).await;
}

#[tokio::test]
async fn tcp_round_trip_and_reuse() {
    round_trip(Transport::Tcp, "127.0.0.1:0", None).await;
}

#[tokio::test]
async fn tcp_round_trip_ipv6() {
    round_trip(Transport::Tcp, "[::1]:0", None).await;
}

#[tokio::test]
async fn tls_round_trip() {
    let p = pki("tls");
    round_trip(Transport::Tls, "127.0.0.1:0", Some(&p)).await;
}

#[tokio::test]
async fn ws_round_trip() {
    round_trip(Transport::Ws, "127.0.0.1:0", None).await;
}

#[tokio::test]
async fn wss_round_trip() {
    let p = pki("wss");
    round_trip(Transport::Wss, "127.0.0.1:0", Some(&p)).await;
}

async fn tls_failure(p: &Pki, trust: TrustRoots, server_name: Option<&str>) -> String {
    let (server, _srx) =
        bind(&[(Transport::Tls, "127.0.0.1:0")], |c| c.server_identity = Some(p.identity.clone())).await;
    let (client, mut rx) = bind(&[], |c| c.trust = trust).await;
    let to = Peer::new(Transport::Tls, server.local_addr(Transport::Tls).expect("tls"));
    client.send_named(to, server_name, options("x"), 77);
    loop {
        if let TransportEvent::SendFailed { token, error, .. } = next_event(&mut rx).await {
            assert_eq!(token, 77);
            assert_eq!(error.kind(), TransportErrorKind::Tls);
            assert!(!error.is_recoverable());
            return error.to_string();
        }
    }
}

#[tokio::test]
async fn tls_untrusted_certificate_is_refused_with_the_reason() {
    let p = pki("untrusted");
    let msg = tls_failure(&p, TrustRoots::System, None).await;
    assert!(msg.contains("UnknownIssuer"), "{msg}");
}

#[tokio::test]
async fn tls_wrong_name_is_refused_with_the_reason() {
    let p = pki("wrong-name");
    let msg = tls_failure(&p, TrustRoots::PemFile(p.ca.clone()), Some("sip.example.com")).await;
    assert!(msg.contains("NotValidForName"), "{msg}");
}

#[tokio::test]
async fn connection_refused_is_reported() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let closed = probe.local_addr().expect("addr");
    drop(probe);
    let (client, mut rx) = bind(&[], |_| {}).await;
    client.send(Peer::new(Transport::Tcp, closed), options("x"), 5);
    loop {
        if let TransportEvent::SendFailed { token, error, .. } = next_event(&mut rx).await {
            assert_eq!(token, 5);
            assert_eq!(error.kind(), TransportErrorKind::Network);
            assert!(error.is_recoverable());
            break;
        }
    }
}

/// A datagram to a UDP port nobody listens on: the kernel's ICMP port unreachable comes back
/// as the failure of that send (Linux: IP_RECVERR and the error queue), not as silence.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn icmp_port_unreachable_fails_the_udp_send() {
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("probe");
    let closed = probe.local_addr().expect("addr");
    drop(probe);
    let (client, mut rx) = bind(&[(Transport::Udp, "127.0.0.1:0")], |_| {}).await;
    client.send(Peer::new(Transport::Udp, closed), options("x"), 9);
    loop {
        if let TransportEvent::SendFailed { token, error, to } = next_event(&mut rx).await {
            assert_eq!((token, to.addr), (9, closed));
            assert_eq!(error.kind(), TransportErrorKind::Network);
            assert!(error.to_string().contains("Connection refused"), "{error}");
            break;
        }
    }
    // A send to a port that does listen is not failed by it.
    let (server, _srx) = bind(&[(Transport::Udp, "127.0.0.1:0")], |_| {}).await;
    let open = server.local_addr(Transport::Udp).expect("udp");
    client.send(Peer::new(Transport::Udp, open), options("y"), 10);
    let quiet = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            if let TransportEvent::SendFailed { token, .. } = next_event(&mut rx).await {
                return token;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "no failure for a delivered datagram: {quiet:?}");
}

#[tokio::test]
async fn websocket_without_the_sip_subprotocol_is_refused() {
    let (server, _rx) = bind(&[(Transport::Ws, "127.0.0.1:0")], |_| {}).await;
    let addr = server.local_addr(Transport::Ws).expect("ws");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let result = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp).await;
    assert!(result.is_err(), "a handshake without Sec-WebSocket-Protocol: sip must fail");
}

#[tokio::test]
async fn tcp_server_answers_a_keepalive_ping_with_a_pong() {
    let (server, _rx) = bind(&[(Transport::Tcp, "127.0.0.1:0")], |_| {}).await;
    let mut raw =
        tokio::net::TcpStream::connect(server.local_addr(Transport::Tcp).expect("tcp")).await.expect("connect");
    raw.write_all(b"\r\n\r\n").await.expect("ping");
    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, raw.read_exact(&mut pong)).await.expect("pong in time").expect("read");
    assert_eq!(&pong, b"\r\n");
}

#[tokio::test]
async fn client_keepalive_closes_a_flow_that_never_pongs() {
    // A raw server that accepts and then stays silent.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let (mut s, _) = silent.accept().await.expect("accept");
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut sink)).await;
        sink
    });
    let (client, mut rx) = bind(&[], |c| {
        c.keepalive_interval = Some(Duration::from_millis(100));
        c.pong_timeout = Duration::from_millis(200);
    })
    .await;
    client.send(Peer::new(Transport::Tcp, addr), options("x"), 1);
    loop {
        if let TransportEvent::FlowClosed { reason, .. } = next_event(&mut rx).await {
            assert!(reason.contains("pong"), "{reason}");
            break;
        }
    }
    let seen = hold.await.expect("server task");
    assert!(seen.windows(4).any(|w| w == b"\r\n\r\n"), "the client sent a CRLFCRLF ping");
}

/// A connection's keep-alive interval follows `set_keepalive` (a registrar's Flow-Timer):
/// a client with none configured starts pinging once one is set, and the silent server's
/// missing pong closes the flow.
#[tokio::test]
async fn set_keepalive_starts_pinging_a_connection() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let (mut s, _) = silent.accept().await.expect("accept");
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut sink)).await;
        sink
    });
    let (client, mut rx) = bind(&[], |c| {
        c.keepalive_interval = None;
        c.pong_timeout = Duration::from_millis(200);
    })
    .await;
    assert!(!client.set_keepalive(Transport::Tcp, addr, Some(Duration::from_millis(100))), "no connection yet");
    client.send(Peer::new(Transport::Tcp, addr), options("x"), 1);
    let until = tokio::time::Instant::now() + WAIT;
    while !client.set_keepalive(Transport::Tcp, addr, Some(Duration::from_millis(100))) {
        assert!(tokio::time::Instant::now() < until, "the connection never appeared");
        tokio::task::yield_now().await;
    }
    loop {
        if let TransportEvent::FlowClosed { reason, .. } = next_event(&mut rx).await {
            assert!(reason.contains("pong"), "{reason}");
            break;
        }
    }
    let seen = hold.await.expect("server task");
    assert!(seen.windows(4).any(|w| w == b"\r\n\r\n"), "the client sent a CRLFCRLF ping");
}

#[tokio::test]
async fn garbage_on_a_stream_cuts_the_peer_off() {
    let (server, mut rx) = bind(&[(Transport::Tcp, "127.0.0.1:0")], |_| {}).await;
    let mut raw =
        tokio::net::TcpStream::connect(server.local_addr(Transport::Tcp).expect("tcp")).await.expect("connect");
    raw.write_all(b"GARBAGE GARBAGE\r\nContent-Length: nope\r\n\r\n").await.expect("write");
    loop {
        if let TransportEvent::FlowClosed { reason, .. } = next_event(&mut rx).await {
            assert!(reason.contains("framing"), "{reason}");
            break;
        }
    }
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, raw.read_to_end(&mut rest)).await.expect("closed in time").expect("read");
    assert_eq!(n, 0, "the server closed the connection");
}

#[tokio::test]
async fn a_peer_that_never_finishes_a_message_is_cut_off() {
    let (server, mut rx) =
        bind(&[(Transport::Tcp, "127.0.0.1:0")], |c| c.message_timeout = Duration::from_millis(200)).await;
    let mut raw =
        tokio::net::TcpStream::connect(server.local_addr(Transport::Tcp).expect("tcp")).await.expect("connect");
    raw.write_all(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n").await.expect("write");
    loop {
        if let TransportEvent::FlowClosed { reason, .. } = next_event(&mut rx).await {
            assert!(reason.contains("incomplete"), "{reason}");
            break;
        }
    }
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn oversized_stream_message_is_refused() {
    let (server, mut rx) = bind(&[(Transport::Tcp, "127.0.0.1:0")], |c| c.limits.max_message_size = 2048).await;
    let mut raw =
        tokio::net::TcpStream::connect(server.local_addr(Transport::Tcp).expect("tcp")).await.expect("connect");
    raw.write_all(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 100000\r\n\r\n").await.expect("write");
    loop {
        if let TransportEvent::FlowClosed { reason, .. } = next_event(&mut rx).await {
            assert!(reason.contains("exceeds the limit"), "{reason}");
            break;
        }
    }
}

#[tokio::test]
async fn tls_listener_requires_an_identity() {
    let cfg = TransportConfig {
        listen: vec![(Transport::Tls, "127.0.0.1:0".parse().expect("addr"))],
        ..TransportConfig::default()
    };
    let err = TransportLayer::bind(cfg).await.expect_err("no identity");
    assert_eq!(err.kind(), TransportErrorKind::Config);
}
