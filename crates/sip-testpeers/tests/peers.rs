//! Self-tests: the peers start, answer on every transport, and leave nothing behind.
//!
//! Every message here is hand-written and sent over std sockets, so these tests depend on no
//! SIP stack, only on the peers (installed by scripts/install-peers).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use sip_message::auth::{select, Challenge, Credentials, DigestClient, QopPreference};

mod common;
use common::*;
use sip_testpeers::{
    require_peers, which, Kamailio, KamailioOptions, PeerError, Scenario, Sipp, SippOptions, SippTransport, Transport,
};

fn print_on_failure(kamailio: &Kamailio) -> impl Drop + '_ {
    struct Guard<'a>(&'a Kamailio);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("kamailio log: {}", self.0.log_path().display());
            }
        }
    }
    Guard(kamailio)
}

#[test]
fn kamailio_answers_options_over_udp_on_both_loopbacks() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new()).expect("kamailio starts");
    let _guard = print_on_failure(&kamailio);
    assert!(kamailio.is_running());

    let mut targets = vec![(kamailio.addr(Transport::Udp), false)];
    if let Some(v6) = kamailio.addr_v6(Transport::Udp) {
        targets.push((v6, true));
    }
    for (target, v6) in targets {
        let socket = loopback_udp(v6);
        let call_id = unique();
        let request = options(target, socket.local_addr().unwrap(), "UDP", &call_id);
        socket.send_to(request.as_bytes(), target).unwrap();
        let response = recv_text(&socket).expect("a response to OPTIONS");
        assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
        assert_eq!(header(&response, "Call-ID"), Some(call_id.as_str()));
        assert!(header(&response, "Allow").unwrap().contains("REGISTER"));
    }
}

#[test]
fn kamailio_ports_are_distinct_and_its_config_passes_the_check() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new().challenge_requests(true)).expect("kamailio starts");
    let _guard = print_on_failure(&kamailio);
    let ports: Vec<u16> = Transport::ALL.iter().map(|t| kamailio.port(*t)).collect();
    let mut sorted = ports.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "{ports:?}");

    let config = std::fs::read_to_string(kamailio.config_path()).unwrap();
    assert!(!config.contains("{{"));
    let output = Command::new(which("kamailio").unwrap())
        .arg("-c")
        .arg("-f")
        .arg(kamailio.config_path())
        .args(["-m", "64", "-M", "8"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kamailio -c rejects the rendered config:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // TCP, TLS, WS and WSS accept connections on both loopbacks.
    for transport in [Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss] {
        let mut addrs = vec![kamailio.addr(transport)];
        addrs.extend(kamailio.addr_v6(transport));
        for addr in addrs {
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("{transport} at {addr}: {e}"));
        }
    }
}

#[test]
fn kamailio_tls_and_wss_handshakes_trust_the_test_ca() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new()).expect("kamailio starts");
    let _guard = print_on_failure(&kamailio);
    assert!(kamailio.ca_cert_path().exists());

    let mut cases = vec![
        (kamailio.addr(Transport::Tls), "-verify_hostname", "localhost"),
        (kamailio.addr(Transport::Wss), "-verify_ip", "127.0.0.1"),
    ];
    if let Some(v6) = kamailio.addr_v6(Transport::Tls) {
        cases.push((v6, "-verify_ip", "::1"));
    }
    for (addr, check, name) in cases {
        let output = Command::new(which("openssl").unwrap())
            .args(["s_client", "-connect", &addr.to_string(), "-CAfile"])
            .arg(kamailio.ca_cert_path())
            .args(["-verify_return_error", check, name, "-brief"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "s_client to {addr}:\n{text}");
        assert!(text.contains("Verification: OK"), "s_client to {addr}:\n{text}");
        assert!(text.contains("TLSv1.3") || text.contains("TLSv1.2"), "{text}");
    }

    // Without the CA the same handshake fails: the trust really comes from the test CA.
    let output = Command::new(which("openssl").unwrap())
        .args([
            "s_client",
            "-connect",
            &kamailio.addr(Transport::Tls).to_string(),
            "-CAfile",
            "/dev/null",
            "-verify_return_error",
            "-brief",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// REGISTER over UDP: 401, then 200 with the digest answer, and the binding shows.
#[test]
fn kamailio_registers_a_user_with_digest_auth() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new().user("alice", "alice-secret")).expect("kamailio starts");
    let _guard = print_on_failure(&kamailio);
    let target = kamailio.addr(Transport::Udp);
    let socket = loopback_udp(false);
    let local = socket.local_addr().unwrap();
    let call_id = unique();
    let uri = format!("sip:{target}");
    let register = |cseq: u32, authorization: Option<&str>, password_tag: &str| {
        let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-{cseq}{password_tag}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@127.0.0.1>;tag=f-{call_id}\r\n\
             To: <sip:alice@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:alice@{local}>\r\n\
             Expires: 60\r\n\
             {auth}Content-Length: 0\r\n\r\n"
        )
    };

    socket.send_to(register(1, None, "").as_bytes(), target).unwrap();
    let challenge = recv_text(&socket).unwrap();
    assert!(status_line(&challenge).starts_with("SIP/2.0 401"), "{challenge}");
    let parsed = Challenge::parse(header(&challenge, "WWW-Authenticate").unwrap()).unwrap();
    let chosen = select(std::slice::from_ref(&parsed), QopPreference::Auth).unwrap();

    // A wrong password: challenged again.
    let wrong = DigestClient::new()
        .respond(chosen, &Credentials::new("alice", "wrong"), "REGISTER", &uri, b"")
        .unwrap()
        .to_string();
    socket.send_to(register(2, Some(&wrong), "w").as_bytes(), target).unwrap();
    let refused = recv_text(&socket).unwrap();
    assert!(status_line(&refused).starts_with("SIP/2.0 401"), "{refused}");

    let right = DigestClient::new()
        .respond(chosen, &Credentials::new("alice", "alice-secret"), "REGISTER", &uri, b"")
        .unwrap()
        .to_string();
    socket.send_to(register(3, Some(&right), "").as_bytes(), target).unwrap();
    let ok = recv_text(&socket).unwrap();
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}");

    let contacts = kamailio.registered_contacts("alice").unwrap();
    assert_eq!(contacts, vec![format!("sip:alice@{local}")]);
}

/// RFC 6455 handshake on the ws port, then an OPTIONS in a masked text frame.
#[test]
fn kamailio_websocket_handshake_and_options() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new()).expect("kamailio starts");
    let _guard = print_on_failure(&kamailio);
    let addr = kamailio.addr(Transport::Ws);
    let mut ws = Channel::ws(addr);
    let call_id = unique();
    let request = format!(
        "OPTIONS sip:{addr};transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:selftest@df7jal23ls0d.invalid>;tag=t-{call_id}\r\n\
         To: <sip:{addr}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let response = ws.transact(&request);
    assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
    assert_eq!(header(&response, "Call-ID"), Some(call_id.as_str()));

    // The plain TCP port refuses the upgrade: WebSocket only where configured.
    let mut tcp = TcpStream::connect_timeout(&kamailio.addr(Transport::Tcp), Duration::from_secs(2)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    write!(
        tcp,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: sip\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = tcp.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 403"), "{}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn kamailio_drop_leaves_no_process_behind() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new()).expect("kamailio starts");
    let pid = kamailio.pid();
    let dir = kamailio.dir().to_path_buf();
    let members = group_members(pid);
    assert!(members.contains(&pid));
    assert!(members.len() > 2, "kamailio forks its workers: {members:?}");
    drop(kamailio);
    // Gone, or at most a zombie: a worker that outlived kamailio's main process is killed,
    // and, an orphan by then, is reaped by init, not by us.
    assert_eq!(process_state(pid), None, "kamailio's main process is reaped");
    for member in &members {
        let state = process_state(*member);
        assert!(matches!(state, None | Some('Z')), "process {member} of kamailio's group is still there ({state:?})");
    }
    assert!(group_members(pid).is_empty());
    assert!(!dir.exists(), "the temporary directory is removed");
}

#[test]
fn sipp_options_uas_answers_over_udp_and_counts_calls() {
    require_peers();
    let mut sipp = Sipp::start(SippOptions::uas(Scenario::OptionsUas).calls(3)).expect("sipp");
    let target = sipp.local_addr();
    assert_eq!(target.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    let socket = loopback_udp(false);
    for _ in 0..3 {
        let call_id = unique();
        let request = options(target, socket.local_addr().unwrap(), "UDP", &call_id);
        socket.send_to(request.as_bytes(), target).unwrap();
        let response = recv_text(&socket).unwrap_or_else(|e| panic!("{e}\n{}", sipp.report()));
        assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
        assert_eq!(header(&response, "Call-ID"), Some(call_id.as_str()));
    }
    // -m 3: sipp exits by itself, every call successful.
    let code = sipp.wait(Duration::from_secs(10)).unwrap();
    assert_eq!(code, 0, "{}", sipp.report());
    let stats = sipp.stats().unwrap();
    assert_eq!(stats.successful_calls, 3, "{stats:?}");
    assert_eq!(stats.incoming_calls, 3);
}

#[test]
fn sipp_options_uas_answers_over_tcp() {
    require_peers();
    let mut sipp =
        Sipp::start(SippOptions::uas(Scenario::OptionsUas).transport(SippTransport::Tcp).calls(1)).expect("sipp");
    let target = sipp.local_addr();
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let call_id = unique();
    let request = options(target, stream.local_addr().unwrap(), "TCP", &call_id);
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    let response = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
    // Closing at once is fine over TCP (no lingering <pause/> to fail).
    drop(stream);
    assert_eq!(sipp.wait(Duration::from_secs(10)).unwrap(), 0, "{}", sipp.report());
}

/// The first copy gets nothing; the identical retransmission gets the 200.
#[test]
fn sipp_drop_first_answers_only_the_retransmission() {
    require_peers();
    let mut sipp = Sipp::start(SippOptions::uas(Scenario::OptionsUasDropFirst).calls(2)).expect("sipp");
    assert!(sipp.command_line().contains("\"-nr\""));
    let target = sipp.local_addr();
    let socket = loopback_udp(false);
    for _ in 0..2 {
        let call_id = unique();
        let request = options(target, socket.local_addr().unwrap(), "UDP", &call_id);
        socket.send_to(request.as_bytes(), target).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        match recv_text(&socket) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            other => panic!("the first copy was answered: {other:?}"),
        }
        // Timer E: the same bytes again.
        socket.send_to(request.as_bytes(), target).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let response = recv_text(&socket).unwrap_or_else(|e| panic!("{e}\n{}", sipp.report()));
        assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
        assert_eq!(header(&response, "Call-ID"), Some(call_id.as_str()));
    }
    assert_eq!(sipp.wait(Duration::from_secs(10)).unwrap(), 0, "{}", sipp.report());
}

#[test]
fn sipp_invite_drop_first_answers_the_retransmission_with_486() {
    require_peers();
    let mut sipp = Sipp::start(SippOptions::uas(Scenario::InviteUasDropFirst).calls(1)).expect("sipp");
    let target = sipp.local_addr();
    let socket = loopback_udp(false);
    let local = socket.local_addr().unwrap();
    let call_id = unique();
    let branch = format!("z9hG4bK-{call_id}");
    let invite = format!(
        "INVITE sip:bob@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{local}>;tag=a-{call_id}\r\n\
         To: <sip:bob@{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:alice@{local}>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(invite.as_bytes(), target).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    assert!(recv_text(&socket).is_err(), "the first INVITE was answered");
    socket.send_to(invite.as_bytes(), target).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let response = recv_text(&socket).unwrap_or_else(|e| panic!("{e}\n{}", sipp.report()));
    assert!(status_line(&response).starts_with("SIP/2.0 486"), "{response}");
    let to = header(&response, "To").unwrap();
    assert!(to.contains(";tag="), "{to}");
    let ack = format!(
        "ACK sip:bob@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{local}>;tag=a-{call_id}\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 ACK\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(ack.as_bytes(), target).unwrap();
    assert_eq!(sipp.wait(Duration::from_secs(10)).unwrap(), 0, "{}", sipp.report());
}

/// sipp's UAC with -lost 20 against sipp's UAS kept alive for retransmissions: every
/// OPTIONS ends with its 200, and the losses show as retransmissions.
#[test]
fn sipp_uac_with_loss_completes_against_a_lingering_uas() {
    require_peers();
    let uas = Sipp::start(SippOptions::uas(Scenario::OptionsUas).pause_ms(40_000)).expect("uas");
    let mut uac = Sipp::start(SippOptions::uac(Scenario::OptionsUac, uas.local_addr()).calls(20).rate(20.0).lost(20))
        .expect("uac");
    // An unlucky OPTIONS can need ~30 s of retransmissions (T1 doubling to T2 = 4 s).
    let code = uac.wait(Duration::from_secs(60)).unwrap();
    assert_eq!(code, 0, "{}\n{}", uac.report(), uas.report());
    let stats = uac.stats().unwrap();
    assert_eq!(stats.successful_calls, 20, "{stats:?}");
    assert_eq!(stats.outgoing_calls, 20);
    assert!(stats.retransmissions > 0, "20% loss each way over 20 transactions retransmits: {stats:?}");
}

#[test]
fn sipp_is_stopped_by_drop_and_terminate() {
    require_peers();
    let sipp = Sipp::options_uas().expect("sipp");
    let pid = sipp.pid();
    let dir = sipp.dir().to_path_buf();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(sipp);
    assert_eq!(process_state(pid), None);
    assert!(group_members(pid).is_empty());
    assert!(!dir.exists());

    // One call left open (the first copy of a drop-first OPTIONS), then SIGTERM.
    let mut sipp = Sipp::options_uas_drop_first().expect("sipp");
    let socket = loopback_udp(false);
    let target = sipp.local_addr();
    let request = options(target, socket.local_addr().unwrap(), "UDP", &unique());
    socket.send_to(request.as_bytes(), target).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sipp.stats().map(|s| s.incoming_calls).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "{}", sipp.report());
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    let code = sipp.terminate().unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    // sipp 3.6 exits 0 on SIGTERM even with a call open: the statistics tell.
    assert_eq!(code, 0);
    let stats = sipp.stats().unwrap();
    assert_eq!((stats.incoming_calls, stats.successful_calls), (1, 0), "{stats:?}");
    assert_eq!(process_state(sipp.pid()), None);
}

#[test]
fn a_missing_binary_is_named() {
    match which("sip-testpeers-no-such-peer") {
        Err(PeerError::Missing(name)) => assert_eq!(name, "sip-testpeers-no-such-peer"),
        other => panic!("{other:?}"),
    }
    let message = PeerError::Missing("sipp".into()).to_string();
    assert!(message.contains("sipp") && message.contains("install-peers"));
}

#[test]
fn wait_times_out_without_killing() {
    require_peers();
    let mut sipp = Sipp::options_uas().expect("sipp");
    assert!(matches!(sipp.wait(Duration::from_millis(200)), Err(PeerError::Timeout(_))));
    assert_eq!(sipp.try_wait().unwrap(), None);
    // Still answering.
    let socket = loopback_udp(false);
    let target = sipp.local_addr();
    let request = options(target, socket.local_addr().unwrap(), "UDP", &unique());
    socket.send_to(request.as_bytes(), target).unwrap();
    assert!(recv_text(&socket).unwrap().starts_with("SIP/2.0 200"));
}
