//! session-core against kamailio 5.6 as registrar and authenticating proxy (started by the
//! test, see `sip-testpeers`): registration with digest, the refresh seen on the wire (same
//! Call-ID, increasing CSeq), removal; a wrong password as a clear error; and a call from one
//! sipline agent to another through kamailio, which challenges the INVITE (407), with hold
//! and resume across the record-routed dialog.

mod common;

use common::*;
use session_core::{
    AcceptAll, Account, DeferAll, EndCause, MediaControl, RegistrationState, SessionControl, SessionError,
    SessionEvent, SessionState, SipClient, WireDirection, WireTap,
};
use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
use std::sync::{Arc, Mutex};

/// The REGISTERs an agent sent: (Call-ID, CSeq number, has Authorization).
type Registers = Arc<Mutex<Vec<(String, u32, bool)>>>;

fn register_tap(seen: Registers) -> WireTap {
    WireTap::new(move |dir, _peer, bytes| {
        if dir != WireDirection::Sent || !bytes.starts_with(b"REGISTER ") {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let header = |name: &str| {
            text.lines()
                .find(|l| l.to_ascii_lowercase().starts_with(&format!("{}:", name.to_ascii_lowercase())))
                .map(|l| l[name.len() + 1..].trim().to_owned())
        };
        let call_id = header("Call-ID").unwrap_or_default();
        let cseq = header("CSeq").and_then(|c| c.split_whitespace().next()?.parse().ok()).unwrap_or(0);
        let authorized = header("Authorization").is_some();
        seen.lock().expect("lock").push((call_id, cseq, authorized));
    })
}

fn account(kamailio: &Kamailio, user: &str, password: &str, expires: u32) -> Account {
    let mut a = Account::new(user, Some(password.to_owned()), kamailio.uri(Transport::Udp));
    a.expires = expires;
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_refresh_and_unregister_with_kamailio() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new().user("alice", "alicepw").min_expires(2)).expect("kamailio");
    let seen: Registers = Arc::default();
    let agent = builder().wire_tap(register_tap(seen.clone())).build().await.expect("agent");
    let mut events = agent.subscribe_events();

    let id = agent.register(account(&kamailio, "alice", "alicepw", 4)).await.expect("registered");
    let contacts = kamailio.registered_contacts("alice").expect("kamcmd");
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(contacts[0].contains(&agent.local_sip_addr().to_string()), "{contacts:?}");

    // The binding is refreshed before its 4 s run out, without asking anything of us.
    // The first registration, then the refresh nobody asked for.
    registered_times(&mut events, 2).await;
    {
        let sent = seen.lock().expect("lock");
        let authorized: Vec<_> = sent.iter().filter(|r| r.2).collect();
        assert!(authorized.len() >= 2, "an authorized REGISTER and its refresh: {sent:?}");
        assert!(sent.iter().all(|r| r.0 == sent[0].0), "one Call-ID for the registration: {sent:?}");
        assert!(sent.windows(2).all(|w| w[1].1 > w[0].1), "CSeq increases: {sent:?}");
    }
    assert!(matches!(agent.registration_state(id).await, Ok(RegistrationState::Registered { .. })));

    agent.unregister(id).await.expect("unregistered");
    assert!(kamailio.registered_contacts("alice").expect("kamcmd").is_empty());
    assert!(matches!(agent.registration_state(id).await, Err(SessionError::NotFound(_))));
    all_released(&agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_authentication_error() {
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new().user("alice", "alicepw")).expect("kamailio");
    let agent = builder().build().await.expect("agent");
    match agent.register(account(&kamailio, "alice", "wrong", 60)).await {
        Err(SessionError::AuthFailed(reason)) => assert!(!reason.is_empty()),
        other => panic!("expected an authentication failure, got {other:?}"),
    }
    assert!(kamailio.registered_contacts("alice").expect("kamcmd").is_empty());
    all_released(&agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_through_kamailio_with_hold_and_resume() {
    require_peers();
    let kamailio =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").challenge_requests(true))
            .expect("kamailio");
    let alice = agent(DeferAll, Some(440.0)).await;
    let bob = agent(AcceptAll, Some(1000.0)).await;
    let alice_account = alice.register(account(&kamailio, "alice", "alicepw", 300)).await.expect("alice registers");
    let bob_account = bob.register(account(&kamailio, "bob", "bobpw", 300)).await.expect("bob registers");
    let mut bob_events = bob.subscribe_events();

    // kamailio answers the INVITE with 407; alice's account credentials answer it.
    let port = kamailio.port(Transport::Udp);
    let call = alice
        .create_outgoing_call("sip:alice@127.0.0.1", &format!("sip:bob@127.0.0.1:{port}"), None)
        .await
        .expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("bob answers through kamailio");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
    for (agent, id) in [(&alice, call.id), (&bob, bob_id)] {
        eventually("RTP both ways", || async {
            let s = agent.get_rtp_statistics(id).await.ok()?;
            (s.packets_received >= 25).then_some(())
        })
        .await;
    }

    alice.hold_session(call.id).await.expect("hold through the proxy");
    next_event(&mut bob_events, "bob held", |e| matches!(e, SessionEvent::RemoteHold { held: true, .. }).then_some(()))
        .await;
    alice.resume_session(call.id).await.expect("resume through the proxy");
    next_event(&mut bob_events, "bob resumed", |e| {
        matches!(e, SessionEvent::RemoteHold { held: false, .. }).then_some(())
    })
    .await;

    bob.terminate_session(bob_id).await.expect("bob hangs up");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!(end.cause, EndCause::RemoteHangup);
    alice.unregister(alice_account).await.expect("alice unregisters");
    bob.unregister(bob_account).await.expect("bob unregisters");
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_proxy_carries_calls_to_a_bare_domain_and_refresh_on_demand() {
    require_peers();
    let kamailio =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").domain("sipline.test"))
            .expect("kamailio");
    let seen: Registers = Arc::default();
    let alice = builder().wire_tap(register_tap(seen.clone())).build().await.expect("alice");
    let bob = agent(AcceptAll, None).await;
    let proxy = format!("{};lr", kamailio.uri(Transport::Udp));
    let mut alice_account = account(&kamailio, "alice", "alicepw", 300);
    alice_account.outbound_proxy = Some(proxy.clone());
    alice_account.domain = Some("sipline.test".into());
    let alice_id = alice.register(alice_account).await.expect("alice registers through the proxy");
    let bob_id = bob.register(account(&kamailio, "bob", "bobpw", 300)).await.expect("bob registers");

    // A refresh on demand: one more REGISTER in the same registration (same Call-ID).
    let before = seen.lock().expect("lock").len();
    alice.refresh_registration(alice_id).await.expect("refreshed");
    {
        let sent = seen.lock().expect("lock");
        assert!(sent.len() > before, "{sent:?}");
        assert!(sent.iter().all(|r| r.0 == sent[0].0), "{sent:?}");
    }

    // sip:bob@sipline.test resolves nowhere: only the pre-loaded Route gets it to kamailio,
    // which takes the domain as its own.
    let call = alice.create_outgoing_call("sip:alice@sipline.test", "sip:bob@sipline.test", None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered through the outbound proxy");
    alice.terminate_session(call.id).await.expect("hang up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("ended").cause, EndCause::LocalHangup);
    alice.unregister(alice_id).await.expect("unregister");
    bob.unregister(bob_id).await.expect("unregister");
    all_released(&alice).await;
    all_released(&bob).await;
}

/// Requests outside calls answer the proxy's challenge with the same digest code as calls
/// and registrations (sip-dialog's `Authenticator`): right credentials get through to Bob,
/// wrong ones give the caller kamailio's 407 back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_calls_answer_the_proxy_challenge() {
    require_peers();
    let kamailio =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").challenge_requests(true))
            .expect("kamailio");
    let bob = agent(AcceptAll, None).await;
    let bob_id = bob.register(account(&kamailio, "bob", "bobpw", 300)).await.expect("bob registers");
    let target = format!("sip:bob@127.0.0.1:{}", kamailio.port(Transport::Udp));

    let alice = builder().from_uri("sip:alice@127.0.0.1").credentials("alice", "alicepw").build().await.expect("alice");
    let answer = alice.send_options(&target).await.expect("OPTIONS answered");
    assert_eq!(answer.status, 200, "Bob answers once the 407 is answered:\n{}", answer.raw);

    let wrong = builder().from_uri("sip:alice@127.0.0.1").credentials("alice", "nope").build().await.expect("agent");
    let answer = wrong.send_options(&target).await.expect("OPTIONS answered");
    assert_eq!(answer.status, 407, "{}", answer.raw);

    bob.unregister(bob_id).await.expect("bob unregisters");
    all_released(&bob).await;
    all_released(&alice).await;
}
