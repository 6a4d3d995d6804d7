//! Self-tests of kamailio as a proxy: it relays to registered users, over the connection a
//! TCP or WebSocket user registered on, challenges when asked to, and keeps to loopback.

use std::net::SocketAddr;
use std::time::Duration;

use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Sipp, Transport};

mod common;
use common::*;

fn kamailio(options: KamailioOptions) -> Kamailio {
    require_peers();
    Kamailio::start(options).expect("kamailio starts")
}

/// An out-of-dialog OPTIONS to `uri`, sent over UDP to `proxy`.
fn options_via(proxy: SocketAddr, uri: &str) -> (Channel, String) {
    let channel = Channel::udp(proxy);
    let local = channel.local();
    let call_id = unique();
    let request = format!(
        "OPTIONS {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:carol@{local}>;tag=c-{call_id}\r\n\
         To: <{uri}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    (channel, request)
}

#[test]
fn relays_to_a_registered_udp_contact_and_404s_the_unknown() {
    let kamailio = kamailio(KamailioOptions::new().user("alice", "a-pw"));
    let log = kamailio.log_path().display().to_string();
    let mut uas = Sipp::options_uas().expect("sipp");
    let udp = kamailio.addr(Transport::Udp);

    let mut alice = Channel::udp(udp);
    let contact = format!("sip:alice@{}", uas.local_addr());
    let ok = register(&mut alice, &udp.to_string(), "alice", "a-pw", &contact);
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}\nlog: {log}");
    assert_eq!(kamailio.registered_contacts("alice").unwrap(), vec![contact.clone()]);

    // Through the proxy to sipp, and sipp's 200 back.
    let (mut carol, request) = options_via(udp, &format!("sip:alice@{udp}"));
    let response = carol.transact(&request);
    assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}\nlog: {log}");
    assert!(header(&response, "To").unwrap().contains("SIPpTag"), "{response}");
    assert!(uas.stats().is_ok() || uas.try_wait().unwrap().is_none());

    let (mut carol, request) = options_via(udp, &format!("sip:nobody@{udp}"));
    let response = carol.transact(&request);
    assert!(status_line(&response).starts_with("SIP/2.0 404"), "{response}");
}

/// A TCP or WS client that registered a Contact nobody listens on is reached over the
/// connection it registered on (nathelper: fix_nated_register, add_contact_alias).
fn reached_over_its_connection(transport: Transport) {
    let kamailio = kamailio(KamailioOptions::new().user("alice", "a-pw"));
    let log = kamailio.log_path().display().to_string();
    let udp = kamailio.addr(Transport::Udp);
    let mut alice = match transport {
        Transport::Tcp => Channel::tcp(kamailio.addr(Transport::Tcp)),
        Transport::Ws => Channel::ws(kamailio.addr(Transport::Ws)),
        other => unreachable!("{other}"),
    };
    // Port 9 (discard) over TCP, or a WebSocket client's made-up host: unreachable as such.
    let contact = match transport {
        Transport::Tcp => "sip:alice@127.0.0.1:9;transport=tcp".to_string(),
        _ => "sip:alice@df7jal23ls0d.invalid;transport=ws".to_string(),
    };
    let registrar = kamailio.addr(transport).to_string();
    let ok = register(&mut alice, &registrar, "alice", "a-pw", &contact);
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}\nlog: {log}");

    let (mut carol, request) = options_via(udp, &format!("sip:alice@{udp}"));
    carol.send(&request);
    let relayed =
        alice.recv(Duration::from_secs(3)).unwrap_or_else(|| panic!("nothing relayed over {transport}; log: {log}"));
    assert!(relayed.starts_with("OPTIONS sip:alice@"), "{relayed}");
    assert_eq!(headers(&relayed, "Via").len(), 2, "{relayed}");
    alice.send(&ok_response(&relayed));
    let response = carol.recv(Duration::from_secs(3)).unwrap_or_else(|| panic!("no response relayed back; log: {log}"));
    assert_eq!(status_line(&response), "SIP/2.0 200 OK", "{response}");
    assert_eq!(headers(&response, "Via").len(), 1, "{response}");
}

#[test]
fn reaches_a_tcp_client_over_its_connection() {
    reached_over_its_connection(Transport::Tcp);
}

#[test]
fn reaches_a_websocket_client_over_its_connection() {
    reached_over_its_connection(Transport::Ws);
}

#[test]
fn challenges_requests_when_asked_and_keeps_to_loopback() {
    let kamailio = kamailio(KamailioOptions::new().user("alice", "a-pw").challenge_requests(true));
    let udp = kamailio.addr(Transport::Udp);
    let (mut carol, request) = options_via(udp, &format!("sip:alice@{udp}"));
    let response = carol.transact(&request);
    assert!(status_line(&response).starts_with("SIP/2.0 407"), "{response}");
    assert!(header(&response, "Proxy-Authenticate").is_some());
    // OPTIONS to the proxy itself is still answered without credentials.
    let (mut carol, request) = options_via(udp, &format!("sip:{udp}"));
    assert_eq!(status_line(&carol.transact(&request)), "SIP/2.0 200 OK");

    // 0.0.0.0 is not a loopback literal: refused before any relaying (and a packet to it
    // would stay on this host anyway).
    let kamailio = self::kamailio(KamailioOptions::new());
    let udp = kamailio.addr(Transport::Udp);
    let (mut carol, request) = options_via(udp, "sip:someone@0.0.0.0:9");
    let response = carol.transact(&request);
    assert_eq!(status_line(&response), "SIP/2.0 403 Loopback Only", "{response}");
}
