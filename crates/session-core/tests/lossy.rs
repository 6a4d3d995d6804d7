//! Whole calls over a lossy network: both agents lose a quarter of the SIP datagrams they
//! send (seeded, so a failure can be replayed), with short timers so retransmissions come
//! quickly. Every call must be answered, held, resumed and hung up, every session must end
//! in a terminal state, and nothing may be left behind.

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
