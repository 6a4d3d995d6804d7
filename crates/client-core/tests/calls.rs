//! Whole calls between two clients on loopback, through the public client API only: the
//! events arrive in order, the tables and the history say what happened, and nothing is
//! left behind.

use client_core::{
    CallDecision, CallDirection, CallHandle, CallInfo, CallState, ClientBuilder, ClientError, ClientEvent,
    ClientManager, EndCause, EventFilter, EventKind, EventPriority, IncomingCallHandler, MakeCallOptions,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const PATIENCE: Duration = Duration::from_secs(10);

async fn client(auto_answer: bool, tone: f32) -> Arc<ClientManager> {
    let c = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .auto_answer(auto_answer)
        .tone(Some(tone))
        .with_telemetry(|t| t.quality_interval_ms = 200)
        .build()
        .await
        .expect("valid config");
    c.start().await.expect("starts");
    c
}

/// The next event `pick` accepts, skipping others; fails after PATIENCE.
async fn next<T>(
    rx: &mut broadcast::Receiver<ClientEvent>,
    what: &str,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(v) = pick(&e) {
                        return v;
                    }
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {PATIENCE:?}"))
}

/// Waits until the session layer holds nothing.
async fn released(c: &ClientManager) {
    for _ in 0..100 {
        if c.resource_counts().await.expect("running") == Default::default() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("resources left: {:?}", c.resource_counts().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_audio_hold_mute_and_hang_up_tells_everything_in_order() {
    let alice = client(false, 440.0).await;
    let bob = client(true, 1000.0).await;
    let mut alice_events = alice.subscribe_events();
    let mut bob_events = bob.subscribe_events();
    let to = bob.local_uri("bob").expect("running");
    let options = MakeCallOptions::default().header("X-Queue", "sales").metadata("ticket", "T-1");
    let call = alice.make_call_with(&alice.local_uri("alice").expect("running"), &to, options).await.expect("call");
    assert_eq!(alice.get_call(call).expect("known at once").direction, CallDirection::Outgoing);

    let answered = alice.wait_for_answer(call, PATIENCE).await.expect("answered");
    assert_eq!(answered.state, CallState::Active);
    assert_eq!(answered.metadata.get("ticket").map(String::as_str), Some("T-1"));
    // Bob's side, event by event: the incoming call (with our header), then active.
    let incoming = next(&mut bob_events, "incoming", |e| match e {
        ClientEvent::IncomingCall { call } => Some(call.clone()),
        _ => None,
    })
    .await;
    assert_eq!(incoming.remote_header("x-queue"), Some("sales"));
    assert_eq!(incoming.direction, CallDirection::Incoming);
    let bob_call = incoming.id;
    next(&mut bob_events, "bob active", |e| {
        matches!(e, ClientEvent::CallStateChanged { id, new: CallState::Active, .. } if *id == bob_call).then_some(())
    })
    .await;
    assert_eq!(bob.get_calls_by_state(CallState::Active).len(), 1);
    assert_eq!(bob.get_calls_by_direction(CallDirection::Incoming).len(), 1);

    // Quality samples arrive for a live call, and RTP flows both ways.
    let q = next(&mut alice_events, "quality sample", |e| match e {
        ClientEvent::MediaQuality { id, packets_received, .. } if *id == call && *packets_received > 0 => {
            Some(e.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(q.priority(), EventPriority::Low);
    let info = alice.get_call_media_info(call).await.expect("media info");
    assert_eq!(info.codec.as_deref(), Some("PCMU/8000"));

    alice.hold_call(call).await.expect("hold");
    next(&mut bob_events, "bob sees the hold", |e| {
        matches!(e, ClientEvent::RemoteHold { held: true, .. }).then_some(())
    })
    .await;
    assert!(bob.get_call(bob_call).expect("bob's call").remote_hold);
    alice.resume_call(call).await.expect("resume");
    next(&mut alice_events, "alice resumed", |e| {
        matches!(e, ClientEvent::CallStateChanged { old: CallState::OnHold, new: CallState::Active, .. }).then_some(())
    })
    .await;

    // DTMF both ways arrives as events, with the digit and its duration.
    alice.send_dtmf(call, "5#").await.expect("alice sends DTMF");
    bob.send_dtmf(bob_call, "9").await.expect("bob sends DTMF");
    let mut to_bob = Vec::new();
    while to_bob.len() < 2 {
        to_bob.push(
            next(&mut bob_events, "a digit for bob", |e| match e {
                ClientEvent::Dtmf { id, digit, duration_ms } if *id == bob_call => Some((*digit, *duration_ms)),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(to_bob, [('5', 100), ('#', 100)]);
    let to_alice = next(&mut alice_events, "a digit for alice", |e| match e {
        ClientEvent::Dtmf { id, digit, .. } if *id == call => Some(*digit),
        _ => None,
    })
    .await;
    assert_eq!(to_alice, '9');
    assert_eq!(ClientEvent::Dtmf { id: call, digit: '9', duration_ms: 100 }.kind(), EventKind::Dtmf);
    // The quality samples carry a MOS for a clean loopback call.
    let mos = next(&mut alice_events, "a MOS", |e| match e {
        ClientEvent::MediaQuality { id, mos: Some(m), .. } if *id == call => Some(*m),
        _ => None,
    })
    .await;
    assert!(mos > 4.0, "{mos}");

    alice.set_microphone_mute(call, true).await.expect("mute");
    assert!(alice.get_call(call).expect("call").microphone_muted);
    bob.set_speaker_mute(bob_call, true).await.expect("speaker mute");
    assert!(bob.get_received_audio(bob_call).await.expect("audio").iter().all(|s| *s == 0));

    tokio::time::sleep(Duration::from_millis(300)).await; // some talk time to measure
    alice.hangup_call(call).await.expect("hang up");
    let ended = alice.wait_for_end(call).await.expect("ended");
    assert_eq!(ended.state, CallState::Terminated);
    let end = ended.end.clone().expect("end info");
    assert_eq!(end.cause, EndCause::LocalHangup);
    assert!(ended.talk_time.is_some_and(|t| t >= Duration::from_millis(300)), "{:?}", ended.talk_time);
    let rtp = ended.final_rtp().expect("final RTP statistics in the history");
    assert!(rtp.packets_sent > 10 && rtp.packets_received > 10, "{rtp:?}");
    // After the end the statistics are still there, from the history.
    assert_eq!(alice.get_rtp_statistics(call).await.expect("final stats").packets_sent, rtp.packets_sent);
    assert_eq!(alice.get_call_history().len(), 1);
    assert!(alice.list_calls().is_empty());

    let bob_end = next(&mut bob_events, "bob's end", |e| match e {
        ClientEvent::CallEnded { call } if call.id == bob_call => Some(call.clone()),
        _ => None,
    })
    .await;
    assert_eq!(bob_end.end.as_ref().map(|e| e.cause), Some(EndCause::RemoteHangup));
    assert!(bob_end.final_rtp().is_some_and(|r| r.packets_received > 10));
    assert!(format!("{}", ClientEvent::CallEnded { call: bob_end }).contains("ended: remote hung up"));
    released(&alice).await;
    released(&bob).await;
    alice.stop().await;
    bob.stop().await;
    assert!(matches!(alice.make_call("sip:a@127.0.0.1", "sip:b@127.0.0.1").await, Err(ClientError::NotRunning)));
    assert!(matches!(alice.start().await, Err(ClientError::Stopped)));
}

/// Defers every call and answers it from another task through the handle.
struct AnswerLater;

impl IncomingCallHandler for AnswerLater {
    async fn on_incoming_call(&self, call: CallInfo, handle: CallHandle) -> CallDecision {
        assert_eq!(handle.id(), call.id);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            handle.answer().await.expect("answered through the handle");
        });
        CallDecision::Defer
    }
}

/// Turns everyone away as busy.
struct Busy;

impl IncomingCallHandler for Busy {
    async fn on_incoming_call(&self, _call: CallInfo, _handle: CallHandle) -> CallDecision {
        CallDecision::Reject(486)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_acts_on_the_call_through_its_handle_or_rejects_it() {
    let alice = client(false, 440.0).await;
    let bob = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_handler(AnswerLater)
        .build()
        .await
        .expect("config");
    bob.start().await.expect("starts");
    let from = alice.local_uri("alice").expect("running");
    let call = alice.make_call(&from, &bob.local_uri("bob").expect("running")).await.expect("call");
    alice.wait_for_answer(call, PATIENCE).await.expect("answered by the deferred handle");
    alice.hangup_call(call).await.expect("hang up");
    alice.wait_for_end(call).await.expect("ended");

    let carol = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_handler(Busy)
        .build()
        .await
        .expect("config");
    carol.start().await.expect("starts");
    let call = alice.make_call(&from, &carol.local_uri("carol").expect("running")).await.expect("call");
    let refused = alice.wait_for_answer(call, PATIENCE).await;
    assert!(refused.is_err(), "{refused:?}");
    let ended = alice.wait_for_end(call).await.expect("ended");
    let end = ended.end.clone().expect("end");
    assert_eq!((end.cause, end.status), (EndCause::Failed, Some(486)));
    assert!(ended.talk_time.is_none() && ended.final_rtp().is_none_or(|r| r.packets_received == 0));
    for c in [&alice, &bob, &carol] {
        released(c).await;
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_answers_or_rejects_after_the_event_and_filters_work() {
    let alice = client(false, 440.0).await;
    let bob = client(false, 1000.0).await;
    let mut incoming = bob.subscribe_filtered(EventFilter::all().kinds(&[EventKind::IncomingCall]));
    let mut high = bob.subscribe_filtered(EventFilter::all().min_priority(EventPriority::High));
    let from = alice.local_uri("alice").expect("running");
    let to = bob.local_uri("bob").expect("running");

    let call = alice.make_call(&from, &to).await.expect("call");
    let ClientEvent::IncomingCall { call: ringing } = incoming.recv().await.expect("event") else { panic!("filter") };
    assert_eq!(ringing.state, CallState::Incoming);
    assert!(matches!(high.recv().await.expect("event"), ClientEvent::IncomingCall { .. }));
    bob.set_call_metadata(ringing.id, "agent", "7").expect("metadata");
    bob.reject_call(ringing.id, 603).await.expect("reject");
    let ended = alice.wait_for_end(call).await.expect("ended");
    assert_eq!(ended.end.and_then(|e| e.status), Some(603));
    let ClientEvent::CallEnded { call: bob_end } = high.recv().await.expect("event") else { panic!("high only") };
    assert_eq!(bob_end.metadata.get("agent").map(String::as_str), Some("7"), "metadata goes into the history");

    // An unknown call is a typed error, not a panic or a success.
    assert!(matches!(bob.answer_call(client_core::CallId(999)).await, Err(ClientError::CallNotFound(_))));
    assert!(matches!(bob.hold_call(client_core::CallId(999)).await, Err(ClientError::CallNotFound(_))));
    for c in [&alice, &bob] {
        released(c).await;
        c.stop().await;
    }
}
