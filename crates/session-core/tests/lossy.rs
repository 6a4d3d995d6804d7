//! Whole calls over a lossy network: both agents lose a quarter of the SIP datagrams they
//! send (seeded, so a failure can be replayed), with short timers so retransmissions come
//! quickly. Every call must be answered, held, resumed and hung up, every session must end
//! in a terminal state, and nothing may be left behind. The same for crossing re-INVITEs
//! (491 and the §14.1 retry), a CANCEL while ringing, and registration with kamailio (our
//! REGISTERs and ACKs lost, refresh and removal still done).

mod common;

use common::*;
use session_core::{AcceptAll, DeferAll, EndCause, SessionControl, SessionEvent, SessionState};
use std::time::Duration;

const SEEDS: u64 = 20;
const LOSS: f64 = 0.25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_survive_a_quarter_of_the_datagrams_lost() {
    for seed in 0..SEEDS {
        let timers = (Duration::from_millis(20), Duration::from_millis(160));
        let alice = builder()
            .with_handler(DeferAll)
            .timers(timers.0, timers.1)
            .impairment(LOSS, seed * 2 + 1)
            .build()
            .await
            .expect("alice");
        let bob = builder()
            .with_handler(AcceptAll)
            .timers(timers.0, timers.1)
            .impairment(LOSS, seed * 2 + 2)
            .build()
            .await
            .expect("bob");
        let mut bob_events = bob.subscribe_events();
        let call =
            alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
        alice.wait_for_answer(call.id, PATIENCE).await.unwrap_or_else(|e| panic!("seed {seed}: not answered: {e}"));
        let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
        alice.hold_session(call.id).await.unwrap_or_else(|e| panic!("seed {seed}: hold: {e}"));
        alice.resume_session(call.id).await.unwrap_or_else(|e| panic!("seed {seed}: resume: {e}"));
        alice.terminate_session(call.id).await.expect("hang up");
        let end = alice.wait_for_end(call.id).await.expect("ended");
        assert_eq!(end.cause, EndCause::LocalHangup, "seed {seed}");
        let bob_end = next_event(&mut bob_events, "bob's end", |e| match e {
            SessionEvent::Ended { id, info } if *id == bob_id => Some(info.clone()),
            _ => None,
        })
        .await;
        // Bob ends by the BYE, or, if every copy of it was lost, never learns: the BYE's
        // transaction retransmits for 64*T1, so with 25 % loss it arrives.
        assert_eq!(bob_end.cause, EndCause::RemoteHangup, "seed {seed}");
        all_released(&alice).await;
        all_released(&bob).await;
    }
}

fn lossy(seed: u64) -> session_core::SessionManagerBuilder {
    builder().timers(Duration::from_millis(20), Duration::from_millis(160)).impairment(LOSS, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glare_and_cancel_survive_loss() {
    for seed in 0..SEEDS / 2 {
        let alice = lossy(seed * 2 + 101).with_handler(DeferAll).build().await.expect("alice");
        let bob = lossy(seed * 2 + 102).with_handler(AcceptAll).build().await.expect("bob");
        let mut bob_events = bob.subscribe_events();
        let call =
            alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
        alice.wait_for_answer(call.id, PATIENCE).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
        // Both hold at once: whichever re-INVITE loses the race gets 491 and goes again.
        let (a, b) = tokio::join!(alice.hold_session(call.id), bob.hold_session(bob_id));
        a.unwrap_or_else(|e| panic!("seed {seed}: alice's hold: {e}"));
        b.unwrap_or_else(|e| panic!("seed {seed}: bob's hold: {e}"));
        bob.terminate_session(bob_id).await.expect("bob hangs up");
        assert_eq!(alice.wait_for_end(call.id).await.expect("end").cause, EndCause::RemoteHangup, "seed {seed}");

        // A call cancelled while it rings.
        let carol = lossy(seed * 2 + 103).with_handler(DeferAll).build().await.expect("carol");
        let mut alice_events = alice.subscribe_events();
        let call =
            alice.create_outgoing_call(&alice.local_uri("alice"), &carol.local_uri("carol"), None).await.expect("call");
        session_reaching(&mut alice_events, SessionState::Ringing).await;
        alice.terminate_session(call.id).await.expect("cancel");
        let end = alice.wait_for_end(call.id).await.expect("end");
        assert_eq!(end.cause, EndCause::Cancelled, "seed {seed}: {end}");
        for agent in [&alice, &bob, &carol] {
            all_released(agent).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refresh_and_removal_survive_loss() {
    use session_core::{Account, SipClient};
    use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
    require_peers();
    let kamailio = Kamailio::start(KamailioOptions::new().user("alice", "alicepw").min_expires(2)).expect("kamailio");
    for seed in 0..4 {
        let agent = lossy(seed + 201).build().await.expect("agent");
        let mut events = agent.subscribe_events();
        let mut account = Account::new("alice", Some("alicepw".into()), kamailio.uri(Transport::Udp));
        account.expires = 4;
        let id = agent.register(account).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        registered_times(&mut events, 2).await;
        agent.unregister(id).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(kamailio.registered_contacts("alice").expect("kamcmd").is_empty(), "seed {seed}");
        all_released(&agent).await;
    }
}
