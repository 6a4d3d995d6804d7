//! RFC 3263 fail-over against real servers: a domain whose SRV records name two servers,
//! the first one down, served by the test's own DNS server on loopback. REGISTER and
//! INVITE each try the first, get no answer (or a refused connection), and go on to the
//! second — kamailio — where they succeed.

mod common;

use common::*;
use session_core::{AcceptAll, Account, EndCause, SessionControl, SipClient, WireDirection, WireTap};
use sip_testpeers::{require_peers, DnsServer, DnsZone, Kamailio, KamailioOptions};
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The requests an agent sent: (method, destination).
type Sent = Arc<Mutex<Vec<(String, SocketAddr)>>>;

fn request_tap(seen: Sent) -> WireTap {
    WireTap::new(move |dir, peer, bytes| {
        if dir != WireDirection::Sent {
            return;
        }
        let method = bytes.split(|b| *b == b' ').next().map(|m| String::from_utf8_lossy(m).into_owned());
        if let Some(m) = method.filter(|m| m.chars().all(|c| c.is_ascii_uppercase())) {
            seen.lock().expect("lock").push((m, peer.addr));
        }
    })
}

/// A zone where `failover.test` has two UDP servers: `dead` first (priority 10), `live`
/// second (priority 20).
fn zone(dead: u16, live: u16) -> DnsZone {
    DnsZone::new()
        .srv("_sip._udp.failover.test", 10, 0, dead, "first.failover.test")
        .and_then(|z| z.srv("_sip._udp.failover.test", 20, 0, live, "second.failover.test"))
        .expect("zone")
        .addr("first.failover.test", "127.0.0.1".parse().expect("ip"))
        .addr("second.failover.test", "127.0.0.1".parse().expect("ip"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_invite_fail_over_past_a_server_that_is_down() {
    require_peers();
    let kamailio =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").domain("failover.test"))
            .expect("kamailio");
    // The first server is down: a socket that takes datagrams and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("a silent socket");
    let dead = silent.local_addr().expect("addr");
    let dns = DnsServer::start(zone(dead.port(), kamailio.port(sip_testpeers::Transport::Udp))).expect("dns");

    let sent: Sent = Arc::default();
    // T1 = 50 ms: Timer B and F give up on the silent server after 64·T1 = 3.2 s.
    let alice = builder()
        .timers(Duration::from_millis(50), Duration::from_millis(400))
        .dns_servers(vec![dns.addr()])
        .wire_tap(request_tap(sent.clone()))
        .build()
        .await
        .expect("alice");
    let bob = agent(AcceptAll, None).await;
    let bob_account =
        bob.register(Account::new("bob", Some("bobpw".into()), kamailio.uri(sip_testpeers::Transport::Udp))).await;
    let bob_account = bob_account.expect("bob registers directly");

    let alice_account = alice
        .register(Account::new("alice", Some("alicepw".into()), "sip:failover.test"))
        .await
        .expect("alice registers at the second server");
    let contacts = kamailio.registered_contacts("alice").expect("kamcmd");
    assert!(contacts.iter().any(|c| c.contains(&alice.local_sip_addr().to_string())), "{contacts:?}");

    let call =
        alice.create_outgoing_call("sip:alice@failover.test", "sip:bob@failover.test", None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered through the second server");
    alice.terminate_session(call.id).await.expect("hang up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("ended").cause, EndCause::LocalHangup);

    let live = SocketAddr::from(([127, 0, 0, 1], kamailio.port(sip_testpeers::Transport::Udp)));
    {
        let sent = sent.lock().expect("lock");
        for method in ["REGISTER", "INVITE"] {
            let to: Vec<SocketAddr> = sent.iter().filter(|(m, _)| m == method).map(|(_, a)| *a).collect();
            let first_live = to.iter().position(|a| *a == live).expect("reached the second server");
            assert!(first_live > 0 && to[..first_live].iter().all(|a| *a == dead), "{method}: {to:?}");
        }
    }
    let asked = dns.questions();
    assert!(asked.iter().any(|(name, _)| name.starts_with("_sip._udp.failover.test")), "{asked:?}");

    alice.unregister(alice_account).await.expect("alice unregisters");
    bob.unregister(bob_account).await.expect("bob unregisters");
    all_released(&alice).await;
    all_released(&bob).await;
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_a_name_that_does_not_resolve_says_so() {
    let dns = DnsServer::start(DnsZone::new()).expect("dns");
    let alice = builder().dns_servers(vec![dns.addr()]).build().await.expect("alice");
    let call = alice.create_outgoing_call("sip:alice@127.0.0.1", "sip:bob@nowhere.invalid", None).await.expect("call");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!(end.cause, EndCause::Unreachable, "{end}");
    assert!(end.reason.contains("nowhere.invalid"), "{end}");
    let err = alice.wait_for_answer(call.id, PATIENCE).await.expect_err("no answer");
    let session_core::SessionError::Unreachable(unreachable) = &err else { panic!("{err}") };
    assert!(matches!(unreachable.cause, session_core::UnreachableCause::Resolve(_)), "{unreachable:?}");
    // A name that does not exist will not exist on a second try either.
    assert_eq!(err.category(), session_core::ErrorCategory::NotFound, "{err}");
    assert!(!err.is_recoverable());
    assert!(std::error::Error::source(&err).is_some(), "the resolver's error is the source");
    all_released(&alice).await;
}
