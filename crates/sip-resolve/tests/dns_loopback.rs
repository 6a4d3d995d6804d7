//! The resolver against a real DNS server: a tiny authoritative UDP responder for a fixed zone,
//! bound on 127.0.0.1 and answering only loopback peers. Each test has its own server and
//! resolver (so no cache is shared) and never reaches the system's name servers.
//!
//! The addresses in the zone (192.0.2.0/24, 2001:db8::/32, reserved for documentation) are
//! only data: resolving never connects to a target.

use sip_message::Transport::{self, Tcp, Tls, Udp};
use sip_message::Uri;
use sip_resolve::{
    ErrorCategory, IpFamilies, ResolveError, Resolver, ResolverConfig, Target, Transports, WeightedRandom,
};
use sip_testpeers::{DnsServer, DnsZone, RecordType};
use std::net::IpAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// The test zone.
fn zone() -> DnsZone {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    DnsZone::new()
        // example.test: NAPTR -> SRV -> A/AAAA, TLS preferred, then TCP, then UDP; one WS record.
        .naptr("example.test", 10, 30, "SIP+D2U", "_sip._udp.example.test")
        .and_then(|z| z.naptr("example.test", 10, 10, "SIPS+D2T", "_sips._tcp.example.test"))
        .and_then(|z| z.naptr("example.test", 10, 20, "SIP+D2T", "_sip._tcp.example.test"))
        .and_then(|z| z.naptr("example.test", 10, 40, "SIP+D2W", "_sip._ws.example.test"))
        .and_then(|z| z.naptr("example.test", 20, 10, "SIP+D2U", "_sip._udp.later.example.test"))
        .and_then(|z| z.srv("_sips._tcp.example.test", 10, 0, 5061, "edge.example.test"))
        .and_then(|z| z.srv("_sip._tcp.example.test", 20, 0, 5060, "backup.example.test"))
        .and_then(|z| z.srv("_sip._tcp.example.test", 10, 0, 5060, "edge.example.test"))
        .and_then(|z| z.srv("_sip._udp.example.test", 10, 70, 5060, "edge.example.test"))
        .and_then(|z| z.srv("_sip._udp.example.test", 10, 30, 5070, "backup.example.test"))
        .and_then(|z| z.srv("_sip._ws.example.test", 10, 0, 8080, "edge.example.test"))
        // srv-only.test: no NAPTR; SRV for TCP and UDP only.
        .and_then(|z| z.srv("_sip._tcp.srv-only.test", 10, 0, 5062, "pbx.srv-only.test"))
        .and_then(|z| z.srv("_sip._udp.srv-only.test", 10, 0, 5064, "pbx.srv-only.test"))
        .unwrap()
        .addr("edge.example.test", ip("192.0.2.10"))
        .addr("edge.example.test", ip("2001:db8::10"))
        .addr("backup.example.test", ip("192.0.2.20"))
        .addr("backup.example.test", ip("192.0.2.21"))
        .addr("example.test", ip("192.0.2.1"))
        .addr("pbx.srv-only.test", ip("192.0.2.30"))
        // plain.test: addresses only.
        .addr("plain.test", ip("192.0.2.40"))
        .addr("plain.test", ip("192.0.2.41"))
        .addr("plain.test", ip("2001:db8::40"))
        // v6.test: IPv6 only.
        .addr("v6.test", ip("2001:db8::60"))
        // broken.test: every lookup fails with SERVFAIL.
        .servfail("broken.test")
}

async fn resolver(families: IpFamilies) -> (Resolver, DnsServer) {
    let server = DnsServer::start(zone()).unwrap();
    let config = ResolverConfig::with_name_servers([server.addr()])
        .families(families)
        .timeout(Duration::from_secs(2))
        .attempts(1);
    (Resolver::new(config).unwrap(), server)
}

/// Draws scripted numbers, then zeros.
struct Script(Vec<u32>);
impl WeightedRandom for Script {
    fn pick(&mut self, max: u32) -> u32 {
        if self.0.is_empty() {
            0
        } else {
            self.0.remove(0).min(max)
        }
    }
}

async fn resolve(
    r: &Resolver,
    uri: &str,
    transports: &[Transport],
    draws: Vec<u32>,
) -> Result<Vec<Target>, ResolveError> {
    let uri = Uri::parse(uri).unwrap();
    r.resolve_with_rng(&uri, &Transports::new(transports.iter().copied()), &mut Script(draws)).await
}

fn short(targets: &[Target]) -> Vec<(Transport, String)> {
    targets.iter().map(|t| (t.transport, t.addr.to_string())).collect()
}

fn pairs(list: &[(Transport, &str)]) -> Vec<(Transport, String)> {
    list.iter().map(|&(t, a)| (t, a.to_owned())).collect()
}

fn asked(server: &DnsServer) -> Vec<(String, RecordType)> {
    server.questions()
}

#[tokio::test]
async fn naptr_srv_address_chain() {
    let (r, log) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    // UDP draw: 80 of 0..=100 passes edge (70) and picks backup (running sum 100).
    let t = resolve(&r, "sip:alice@example.test", &[Udp, Tcp, Tls], vec![80]).await.unwrap();
    assert_eq!(
        short(&t),
        pairs(&[
            // SIPS+D2T (preference 10): one SRV target, IPv4 then IPv6.
            (Tls, "192.0.2.10:5061"),
            (Tls, "[2001:db8::10]:5061"),
            // SIP+D2T (20): priority 10 edge, then priority 20 backup.
            (Tcp, "192.0.2.10:5060"),
            (Tcp, "[2001:db8::10]:5060"),
            (Tcp, "192.0.2.20:5060"),
            (Tcp, "192.0.2.21:5060"),
            // SIP+D2U (30): weighted, backup drawn first.
            (Udp, "192.0.2.20:5070"),
            (Udp, "192.0.2.21:5070"),
            (Udp, "192.0.2.10:5060"),
            (Udp, "[2001:db8::10]:5060"),
        ])
    );
    assert!(t.iter().all(|t| t.host == "example.test"));
    let log = asked(&log);
    assert_eq!(log[0], ("example.test".into(), RecordType::NAPTR));
    assert!(
        !log.iter().any(|(n, _)| n.contains("_ws") || n.contains("later")),
        "unsupported and later-order records not followed: {log:?}"
    );
}

#[tokio::test]
async fn naptr_filtered_to_supported_and_sips() {
    let (r, _dns) = resolver(IpFamilies::Ipv4Only).await;
    let t = resolve(&r, "sip:example.test", &[Udp], vec![0]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "192.0.2.10:5060"), (Udp, "192.0.2.20:5070"), (Udp, "192.0.2.21:5070")]));
    let t = resolve(&r, "sips:example.test", &[Udp, Tcp, Tls], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Tls, "192.0.2.10:5061")]));
}

#[tokio::test]
async fn without_naptr_srv_names_are_guessed() {
    let (r, log) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let t = resolve(&r, "sip:srv-only.test", &[Udp, Tcp, Tls], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.30:5062"), (Udp, "192.0.2.30:5064")]));
    let log = asked(&log);
    for name in ["_sips._tcp.srv-only.test", "_sip._tcp.srv-only.test", "_sip._udp.srv-only.test"] {
        assert!(log.contains(&(name.into(), RecordType::SRV)), "{name} not asked: {log:?}");
    }
}

#[tokio::test]
async fn without_srv_the_domain_addresses_are_used() {
    let (r, log) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let t = resolve(&r, "sip:plain.test", &[Udp, Tcp], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "192.0.2.40:5060"), (Udp, "192.0.2.41:5060"), (Udp, "[2001:db8::40]:5060")]));
    let t = resolve(&r, "sips:plain.test", &[Tls], vec![]).await.unwrap();
    assert_eq!(t[0].transport, Tls);
    assert_eq!(t[0].addr.port(), 5061);
    assert!(asked(&log).contains(&("_sips._tcp.plain.test".into(), RecordType::SRV)));
}

#[tokio::test]
async fn explicit_port_asks_only_for_addresses() {
    let (r, log) = resolver(IpFamilies::Ipv6ThenIpv4).await;
    let t = resolve(&r, "sip:plain.test:5080;transport=tcp", &[Udp, Tcp], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "[2001:db8::40]:5080"), (Tcp, "192.0.2.40:5080"), (Tcp, "192.0.2.41:5080")]));
    let log = asked(&log);
    assert!(log.iter().all(|(_, t)| matches!(t, RecordType::A | RecordType::AAAA)), "{log:?}");
}

#[tokio::test]
async fn transport_param_queries_its_srv_only() {
    let (r, log) = resolver(IpFamilies::Ipv4Only).await;
    let t = resolve(&r, "sip:example.test;transport=tcp", &[Udp, Tcp], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.10:5060"), (Tcp, "192.0.2.20:5060"), (Tcp, "192.0.2.21:5060")]));
    assert!(!asked(&log).iter().any(|(_, t)| *t == RecordType::NAPTR));
}

#[tokio::test]
async fn ipv6_only_host() {
    let (r, _dns) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let t = resolve(&r, "sip:v6.test:5060", &[Udp], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "[2001:db8::60]:5060")]));
}

#[tokio::test]
async fn ip_literal_sends_no_query() {
    let (r, log) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let t = resolve(&r, "sips:[2001:db8::1]", &[Tls], vec![]).await.unwrap();
    assert_eq!(short(&t), pairs(&[(Tls, "[2001:db8::1]:5061")]));
    assert!(asked(&log).is_empty());
}

#[tokio::test]
async fn unknown_domain_is_not_found() {
    let (r, _dns) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let e = resolve(&r, "sip:nowhere.test", &[Udp, Tcp], vec![]).await.unwrap_err();
    assert_eq!(e, ResolveError::NotFound { name: "nowhere.test".into() });
    assert!(!e.is_recoverable());
}

#[tokio::test]
async fn server_failure_is_a_recoverable_dns_error() {
    let (r, _dns) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let e = resolve(&r, "sip:broken.test", &[Udp], vec![]).await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Network, "{e}");
    assert!(e.is_recoverable());
}

#[tokio::test]
async fn the_default_random_source_lists_the_same_set() {
    let (r, _dns) = resolver(IpFamilies::Ipv4Only).await;
    let uri = Uri::parse("sip:example.test;transport=udp").unwrap();
    let mut t = r.resolve(&uri, &Transports::new([Udp])).await.unwrap();
    t.sort_by_key(|t| t.addr);
    assert_eq!(short(&t), pairs(&[(Udp, "192.0.2.10:5060"), (Udp, "192.0.2.20:5070"), (Udp, "192.0.2.21:5070")]));
}

#[tokio::test]
async fn configuration_errors() {
    let e = Resolver::new(ResolverConfig::with_name_servers([])).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Input);
    let (r, _dns) = resolver(IpFamilies::Ipv4ThenIpv6).await;
    let e = resolve(&r, "tel:+15551234", &[Udp], vec![]).await.unwrap_err();
    assert_eq!(e, ResolveError::UnsupportedScheme { scheme: "tel".into() });
}

#[tokio::test]
async fn a_silent_server_times_out_as_a_recoverable_error() {
    // A socket that receives and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = ResolverConfig::with_name_servers([silent.local_addr().unwrap()])
        .timeout(Duration::from_millis(200))
        .attempts(0);
    let r = Resolver::new(config).unwrap();
    let started = std::time::Instant::now();
    let e = resolve(&r, "sip:silent.test:5060", &[Udp], vec![]).await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Network, "{e}");
    assert!(e.is_recoverable());
    assert!(started.elapsed() < Duration::from_secs(5), "A and AAAA are asked concurrently and time out");
    drop(silent);
}
