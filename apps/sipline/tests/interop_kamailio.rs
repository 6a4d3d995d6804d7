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

#[test]
fn register_once_with_kamailio_and_a_wrong_password_is_a_clear_failure() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("alice", "secret")).expect("kamailio");
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let out = sipline(&["register", "--user", "alice", "--password", "secret", "--registrar", &registrar, "--once"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n--- kamailio:\n{}", k.log());
    assert!(t.contains("registered (expires in"), "{t}");
    assert!(t.contains("unregistered"), "{t}");
    assert!(k.registered_contacts("alice").expect("ul.dump").is_empty(), "--once removed the binding");

    let out = sipline(&["register", "--user", "alice", "--password", "wrong", "--registrar", &registrar, "--once"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("authentication failed"), "{t}");
}

#[test]
fn register_holds_the_binding_until_interrupted() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("bob", "pw2")).expect("kamailio");
    let registrar = format!("sip:{}", k.addr(Transport::Tcp));
    let child = Command::new(env!("CARGO_BIN_EXE_sipline"))
        .args(["register", "--user", "bob", "--password", "pw2", "--registrar", &registrar, "--transport", "tcp"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut bound = Vec::new();
    for _ in 0..100 {
        bound = k.registered_contacts("bob").expect("ul.dump");
        if !bound.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(bound.len(), 1, "kamailio holds one binding for bob: {bound:?}\n{}", k.log());
    assert!(bound[0].contains("transport=tcp"), "{bound:?}");
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("unregistering (Ctrl-C)") && t.trim_end().ends_with("unregistered"), "{t}");
    assert!(k.registered_contacts("bob").expect("ul.dump").is_empty());
}

/// `--no-md5`: against kamailio's usual MD5 challenge the registration fails, naming the
/// reason, and no credentials are sent at all; against kamailio challenging with SHA-256
/// (RFC 8760) the same account registers.
#[test]
fn register_with_no_md5_refuses_an_md5_registrar_and_registers_with_sha256() {
    require_peers();
    let register = |k: &Kamailio| {
        let registrar = format!("sip:{}", k.addr(Transport::Udp));
        sipline(&["register", "--user", "alice", "--password", "secret", "--registrar", &registrar, "--once"])
    };
    let register_strict = |k: &Kamailio| {
        let registrar = format!("sip:{}", k.addr(Transport::Udp));
        let args = ["register", "--user", "alice", "--password", "secret", "--registrar", &registrar, "--once"];
        sipline(&[&args[..], &["--no-md5", "--trace"]].concat())
    };

    let md5 = Kamailio::start(KamailioOptions::new().user("alice", "secret")).expect("kamailio");
    let out = register_strict(&md5);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("offers only digest algorithm `MD5`, which this account refuses"), "{t}");
    assert!(t.contains("WWW-Authenticate: Digest"), "the challenge came: {t}");
    assert!(!t.contains("Authorization: Digest"), "no credentials were sent: {t}");
    assert!(md5.registered_contacts("alice").expect("ul.dump").is_empty());
    // Without the flag the same account registers with MD5: the refusal is the flag's.
    let out = register(&md5);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let sha = Kamailio::start(KamailioOptions::new().user("alice", "secret").digest_sha256(true)).expect("kamailio");
    let out = register_strict(&sha);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n--- kamailio:\n{}", sha.log());
    assert!(t.contains("algorithm=SHA-256"), "the answer is SHA-256: {t}");
    assert!(t.contains("registered (expires in"), "{t}");
}

/// What a user shares when asking for help — the `--trace` ladder, the library's logs at
/// their most verbose, and the `--pcap` capture — carries neither the password nor the
/// digest response (a hash anyone could test password guesses against offline), while the
/// Authorization header itself is still shown.
#[test]
fn no_password_or_digest_response_in_trace_logs_or_capture() {
    require_peers();
    let password = "s3cret-Passw0rd";
    let k = Kamailio::start(KamailioOptions::new().user("alice", password)).expect("kamailio");
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let pcap = std::env::temp_dir().join(format!("sipline-secrets-{}.pcap", std::process::id()));
    let pcap_arg = pcap.display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sipline"))
        .args(["register", "--user", "alice", "--password", password, "--registrar", &registrar, "--once"])
        .args(["--trace", "--pcap", &pcap_arg])
        .env("RUST_LOG", "trace")
        .output()
        .expect("run sipline");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let capture = std::fs::read(&pcap).expect("the capture file");
    std::fs::remove_file(&pcap).ok();
    let capture = String::from_utf8_lossy(&capture);
    for (what, shown) in [("the trace and logs", t.as_str()), ("the capture", capture.as_ref())] {
        assert!(shown.contains("Authorization: Digest"), "{what} shows the Authorization header");
        assert!(shown.contains("response=\"<redacted>\""), "{what} marks the response as hidden");
        assert!(!shown.contains(password), "{what} holds the password");
        let digest = md5_response(shown);
        assert_eq!(digest, None, "{what} holds a digest response");
    }
}

/// The first `response="` followed by 32 hex digits (an MD5 digest response), if any.
fn md5_response(text: &str) -> Option<&str> {
    text.match_indices("response=\"").map(|(i, m)| &text[i + m.len()..]).find_map(|rest| {
        let hex = rest.get(..32)?;
        (hex.bytes().all(|b| b.is_ascii_hexdigit()) && rest.as_bytes().get(32) == Some(&b'"')).then_some(hex)
    })
}
