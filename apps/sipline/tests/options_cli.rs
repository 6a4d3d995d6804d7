//! `sipline options` as a user runs it, against an endpoint served by this test.

use sip_endpoint::{Endpoint, EndpointConfig, IncomingEvent};
use sip_message::{StatusCode, Transport};
use std::path::PathBuf;
use std::process::{Command, Output};

fn sipline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sipline")).args(args).output().expect("run sipline")
}

/// A server on `transport` answering every request with `status`.
async fn server(
    transport: Transport,
    addr: &str,
    status: StatusCode,
    identity: Option<sip_transport::Identity>,
) -> Endpoint {
    let mut c = EndpointConfig::default();
    c.transport.listen = vec![(transport, addr.parse().expect("addr"))];
    c.transport.server_identity = identity;
    let (ep, mut incoming) = Endpoint::start(c).await.expect("server");
    tokio::spawn(async move {
        while let Some(ev) = incoming.next().await {
            if let IncomingEvent::Request(mut st) = ev {
                let mut resp = st.request().make_response(status, Some("t")).expect("response");
                resp.push_header("Server", "sipline-test-server");
                let _ = st.respond(resp).await;
            }
        }
    });
    ep
}

async fn run_cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || sipline(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("join")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test]
async fn ok_over_udp_prints_the_answer_and_exits_0() {
    let ep = server(Transport::Udp, "127.0.0.1:0", StatusCode::OK, None).await;
    let addr = ep.local_addr(Transport::Udp).expect("bound");
    let out = run_cli(vec!["options".into(), format!("sip:{addr}")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains(&format!("200 OK from {addr} over UDP in ")), "{t}");
    assert!(t.contains("Server: sipline-test-server"), "{t}");
}

#[tokio::test]
async fn tcp_on_ipv6_with_the_transport_option() {
    let ep = server(Transport::Tcp, "[::1]:0", StatusCode::OK, None).await;
    let addr = ep.local_addr(Transport::Tcp).expect("bound");
    let out = run_cli(vec!["options".into(), format!("sip:{addr}"), "--transport".into(), "tcp".into()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("over TCP"), "{}", text(&out));
}

#[tokio::test]
async fn a_non_2xx_answer_exits_1() {
    let ep = server(Transport::Udp, "127.0.0.1:0", StatusCode::NOT_FOUND, None).await;
    let addr = ep.local_addr(Transport::Udp).expect("bound");
    let out = run_cli(vec!["options".into(), format!("sip:{addr}")]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("404 Not Found"), "{}", text(&out));
}

#[tokio::test]
async fn refused_connection_and_bad_usage() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let closed = probe.local_addr().expect("addr");
    drop(probe);
    let out = run_cli(vec!["options".into(), format!("sip:{closed};transport=tcp")]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("Connection refused"), "{}", text(&out));
    for bad in [
        vec!["options", "not-a-uri"],
        vec!["options", "sips:127.0.0.1", "--transport", "udp"],
        vec!["options", "sip:h", "--transport", "carrier-pigeon"],
    ] {
        let out = run_cli(bad.iter().map(|s| s.to_string()).collect()).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
    }
}

#[tokio::test]
async fn silence_exits_1_after_the_timeout() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent");
    let addr = silent.local_addr().expect("addr");
    let out = run_cli(vec!["options".into(), format!("sip:{addr}"), "--timeout".into(), "1".into()]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no answer"), "{}", text(&out));
}

struct Pki {
    dir: PathBuf,
    identity: sip_transport::Identity,
    ca: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pki() -> Pki {
    let dir = std::env::temp_dir().join(format!("sipline-options-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("leaf");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).expect("leaf cert");
    let w = |n: &str, pem: String| {
        let p = dir.join(n);
        std::fs::write(&p, pem).expect("write");
        p
    };
    let identity = sip_transport::Identity {
        cert_chain: w("cert.pem", leaf_cert.pem()),
        private_key: w("key.pem", leaf_key.serialize_pem()),
    };
    let ca = w("ca.pem", ca_cert.pem());
    Pki { dir, identity, ca }
}

#[tokio::test]
async fn tls_names_the_certificate_problem_and_works_with_the_right_ca() {
    let p = pki();
    let ep = server(Transport::Tls, "127.0.0.1:0", StatusCode::OK, Some(p.identity.clone())).await;
    let addr = ep.local_addr(Transport::Tls).expect("bound");
    let uri = format!("sips:{addr}");
    let out = run_cli(vec!["options".into(), uri.clone()]).await;
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(t.contains("TLS handshake") && t.contains("UnknownIssuer"), "{t}");
    let out = run_cli(vec!["options".into(), uri, "--ca".into(), p.ca.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("over TLS"), "{}", text(&out));
}

/// RFC 3263 fail-over: SRV gives two servers; the first answers 503 (UDP) or refuses the
/// connection (TCP), and sipline moves on to the second.
#[tokio::test]
async fn fails_over_to_the_next_srv_target_on_503_and_on_a_refused_connection() {
    use sip_testpeers::{DnsServer, DnsZone};
    let busy = server(Transport::Udp, "127.0.0.1:0", StatusCode::SERVICE_UNAVAILABLE, None).await;
    let ok = server(Transport::Udp, "127.0.0.1:0", StatusCode::OK, None).await;
    let ok_tcp = server(Transport::Tcp, "127.0.0.1:0", StatusCode::OK, None).await;
    let (busy_addr, ok_addr, ok_tcp_addr) = (
        busy.local_addr(Transport::Udp).expect("bound"),
        ok.local_addr(Transport::Udp).expect("bound"),
        ok_tcp.local_addr(Transport::Tcp).expect("bound"),
    );
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let closed = probe.local_addr().expect("addr");
    drop(probe);
    let lo = "127.0.0.1".parse().expect("ip");
    let zone = DnsZone::new()
        .srv("_sip._udp.failover.test", 10, 0, busy_addr.port(), "first.failover.test")
        .and_then(|z| z.srv("_sip._udp.failover.test", 20, 0, ok_addr.port(), "second.failover.test"))
        .and_then(|z| z.srv("_sip._tcp.failover.test", 10, 0, closed.port(), "first.failover.test"))
        .and_then(|z| z.srv("_sip._tcp.failover.test", 20, 0, ok_tcp_addr.port(), "second.failover.test"))
        .expect("zone")
        .addr("first.failover.test", lo)
        .addr("second.failover.test", lo);
    let dns = DnsServer::start(zone).expect("dns");
    let dns_addr = dns.addr().to_string();

    let out = run_cli(vec![
        "options".into(),
        "sip:failover.test".into(),
        "--transport".into(),
        "udp".into(),
        "--dns-server".into(),
        dns_addr.clone(),
    ])
    .await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("503 Service Unavailable from {busy_addr}")), "{t}");
    assert!(t.contains("trying the next address"), "{t}");
    assert!(t.contains(&format!("200 OK from {ok_addr} over UDP")), "{t}");

    let out = run_cli(vec![
        "options".into(),
        "sip:failover.test".into(),
        "--transport".into(),
        "tcp".into(),
        "--dns-server".into(),
        dns_addr,
    ])
    .await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Connection refused") && t.contains("trying the next address"), "{t}");
    assert!(t.contains(&format!("200 OK from {ok_tcp_addr} over TCP")), "{t}");
    assert!(dns.questions().iter().any(|(n, _)| n == "_sip._tcp.failover.test"), "{:?}", dns.questions());
}
