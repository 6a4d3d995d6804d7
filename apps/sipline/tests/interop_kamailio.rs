//! `sipline options` against kamailio 5.6 (a real SIP server, started by the test) over every
//! transport, IPv4 and IPv6, with kamailio's TLS certificate signed by a CA the test made.

use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
use std::process::{Command, Output};

fn sipline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sipline")).args(args).output().expect("run sipline")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn options(k: &Kamailio, uri: &str, transport: &str, extra: &[&str]) -> Output {
    let ca = k.ca_cert_path().display().to_string();
    let mut args = vec!["options", uri, "--transport", transport, "--ca", ca.as_str(), "--timeout", "10"];
    args.extend_from_slice(extra);
    sipline(&args)
}

#[test]
fn options_to_kamailio_over_every_transport() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().ipv6(true)).expect("kamailio");
    for (t, name) in [
        (Transport::Udp, "udp"),
        (Transport::Tcp, "tcp"),
        (Transport::Tls, "tls"),
        (Transport::Ws, "ws"),
        (Transport::Wss, "wss"),
    ] {
        let addr = k.addr(t);
        let scheme = if t.is_secure() { "sips" } else { "sip" };
        let out = options(&k, &format!("{scheme}:{addr}"), name, &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}\n--- kamailio log:\n{}", text(&out), k.log());
        let t_upper = name.to_ascii_uppercase();
        assert!(text(&out).contains(&format!("200 OK from {addr} over {t_upper}")), "{name}: {}", text(&out));
    }
}

#[test]
fn options_to_kamailio_over_ipv6() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().ipv6(true)).expect("kamailio");
    for (t, name) in [(Transport::Udp, "udp"), (Transport::Tcp, "tcp"), (Transport::Tls, "tls")] {
        let addr = k.addr_v6(t).expect("kamailio listens on ::1");
        let scheme = if t.is_secure() { "sips" } else { "sip" };
        let out = options(&k, &format!("{scheme}:{addr}"), name, &[]);
        assert_eq!(out.status.code(), Some(0), "{name} over ::1: {}\n{}", text(&out), k.log());
        assert!(text(&out).contains(&addr.to_string()), "{}", text(&out));
    }
}

#[test]
fn kamailio_tls_without_its_ca_is_refused_with_the_reason() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new()).expect("kamailio");
    let addr = k.addr(Transport::Tls);
    let out = sipline(&["options", &format!("sips:{addr}"), "--timeout", "10"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("TLS handshake") && t.contains("UnknownIssuer"), "{t}");
}
