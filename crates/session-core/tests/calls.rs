//! Whole calls between sipline agents on loopback, through the public session API: every
//! flow ends in a terminal state and leaves nothing behind.

mod common;

use common::*;
use session_core::{
    AcceptAll, CallDecision, CallHandler, CallOptions, Codec, DeferAll, EndCause, IncomingCall, MediaControl,
    SessionControl, SessionError, SessionEvent, SessionState, SipClient,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_answer_audio_both_ways_hang_up_and_release_everything() {
    let alice = agent(DeferAll, Some(440.0)).await;
    let bob = agent(AcceptAll, Some(1000.0)).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    assert_eq!(call.state, SessionState::Initiating);
    let answered = alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    assert_eq!(answered.state, SessionState::Active);
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;

    // Real RTP both ways, and it is the other side's tone.
    for (agent, id) in [(&alice, call.id), (&bob, bob_id)] {
        eventually("RTP received", || async {
            let s = agent.get_rtp_statistics(id).await.ok()?;
            (s.packets_received >= 25 && s.packets_sent >= 25).then_some(())
        })
        .await;
    }
    let heard = bob.get_received_audio(bob_id).await.expect("audio");
    assert!(
        media_core::tone::dominant_tone(&heard, &[440.0, 1000.0], 8000, 0.5) == Some(440.0),
        "bob hears alice's 440 Hz"
    );
    let heard = alice.get_received_audio(call.id).await.expect("audio");
    assert!(
        media_core::tone::dominant_tone(&heard, &[440.0, 1000.0], 8000, 0.5) == Some(1000.0),
        "alice hears bob's 1 kHz"
    );
    let info = alice.get_media_info(call.id).await.expect("media info");
    assert_eq!(info.codec.as_deref(), Some("PCMU/8000"));
    assert_eq!(info.direction.as_deref(), Some("sendrecv"));

    alice.terminate_session(call.id).await.expect("hang up");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!(end.cause, EndCause::LocalHangup);
    // The end carries what the call was: its talk time and its stream's final counters.
    assert!(end.talk_time.is_some_and(|t| t > Duration::ZERO), "talk time: {:?}", end.talk_time);
    let rtp = end.rtp.expect("final RTP statistics on the end");
    assert!(rtp.packets_sent >= 25 && rtp.packets_received >= 25, "{rtp:?}");
    let bob_end = next_event(&mut bob_events, "bob's call ends", |e| match e {
        SessionEvent::Ended { id, info } if *id == bob_id => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(bob_end.cause, EndCause::RemoteHangup);
    assert!(bob_end.rtp.is_some_and(|r| r.packets_received >= 25), "bob's end event carries his stream's counters");
    all_released(&alice).await;
    all_released(&bob).await;
    assert!(alice.get_session(call.id).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_invite_headers_reach_the_callee_and_the_answer_headers_the_caller() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(AcceptAll, None).await;
    let mut bob_events = bob.subscribe_events();
    let options = CallOptions::default()
        .header("X-Campaign", "spring-42")
        .header("P-Asserted-Identity", "<sip:+15550100@example.com>");
    let call =
        alice.create_outgoing_call_with(&alice.local_uri("alice"), &bob.local_uri("bob"), options).await.expect("call");
    let answered = alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    // The 200's headers are the caller's to read: bob's Contact is among them.
    let bob_addr = bob.local_sip_addr().to_string();
    assert!(answered.remote_header("contact").is_some_and(|c| c.contains(&bob_addr)), "{answered:?}");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
    let bob_call = bob.get_session(bob_id).await.expect("bob's session");
    assert_eq!(bob_call.remote_header("x-campaign"), Some("spring-42"));
    assert_eq!(bob_call.remote_header("P-Asserted-Identity"), Some("<sip:+15550100@example.com>"));
    assert_eq!(bob_call.call_id, answered.call_id);
    alice.terminate_session(call.id).await.expect("hang up");
    alice.wait_for_end(call.id).await.expect("ended");

    // What the stack writes itself, and what is not a header, is refused before anything goes out.
    for (name, value) in [("Call-ID", "x"), ("cseq", "1 INVITE"), ("Bad Name", "x"), ("X-Split", "a\r\nVia: evil")] {
        let refused = alice
            .create_outgoing_call_with(
                &alice.local_uri("alice"),
                &bob.local_uri("bob"),
                CallOptions::default().header(name, value),
            )
            .await;
        assert!(matches!(refused, Err(SessionError::InvalidInput(_))), "{name}: {refused:?}");
    }
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_resume_change_both_directions() {
    let alice = agent(DeferAll, Some(440.0)).await;
    let bob = agent(AcceptAll, Some(1000.0)).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;

    alice.hold_session(call.id).await.expect("hold");
    assert_eq!(alice.get_session(call.id).await.map(|s| s.state), Some(SessionState::OnHold));
    next_event(&mut bob_events, "bob sees the hold", |e| {
        matches!(e, SessionEvent::RemoteHold { held: true, .. }).then_some(())
    })
    .await;
    assert_eq!(alice.get_media_info(call.id).await.expect("info").direction.as_deref(), Some("sendonly"));
    assert_eq!(bob.get_media_info(bob_id).await.expect("info").direction.as_deref(), Some("recvonly"));
    assert!(bob.get_session(bob_id).await.expect("bob's session").remote_hold);
    // Holding twice is a state error, not a second re-INVITE.
    assert!(matches!(alice.hold_session(call.id).await, Err(SessionError::InvalidState { .. })));

    alice.resume_session(call.id).await.expect("resume");
    next_event(&mut bob_events, "bob sees the resume", |e| {
        matches!(e, SessionEvent::RemoteHold { held: false, .. }).then_some(())
    })
    .await;
    assert_eq!(bob.get_media_info(bob_id).await.expect("info").direction.as_deref(), Some("sendrecv"));
    let before = alice.get_rtp_statistics(call.id).await.expect("stats").packets_received;
    eventually("bob sends again", || async {
        (alice.get_rtp_statistics(call.id).await.ok()?.packets_received > before + 10).then_some(())
    })
    .await;

    // The callee hangs up this time.
    bob.terminate_session(bob_id).await.expect("bob hangs up");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!(end.cause, EndCause::RemoteHangup);
    all_released(&alice).await;
    all_released(&bob).await;
}

struct Reject(u16, &'static str);
impl CallHandler for Reject {
    async fn on_incoming_call(&self, _call: IncomingCall) -> CallDecision {
        CallDecision::Reject(self.0, self.1.to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_call_reports_the_status_and_reason() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(Reject(486, "Busy Right Now"), None).await;
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    match alice.wait_for_answer(call.id, PATIENCE).await {
        Err(SessionError::Rejected { status: 486, reason }) => assert_eq!(reason, "Busy Right Now"),
        other => panic!("expected a 486 rejection, got {other:?}"),
    }
    all_released(&alice).await;
    all_released(&bob).await;
}

struct Forward(String);
impl CallHandler for Forward {
    async fn on_incoming_call(&self, _call: IncomingCall) -> CallDecision {
        CallDecision::Forward(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_answers_302_and_the_caller_follows_it() {
    let carol = agent(AcceptAll, None).await;
    let bob = agent(Forward(carol.local_uri("carol")), None).await;
    let alice = agent(DeferAll, None).await;
    let mut carol_events = carol.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("carol answers the redirected call");
    let carol_id = session_reaching(&mut carol_events, SessionState::Active).await;
    alice.terminate_session(call.id).await.expect("hang up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("ended").cause, EndCause::LocalHangup);
    let _ = carol_id;
    for a in [&alice, &bob, &carol] {
        all_released(a).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_ringing_call_ends_both_sides() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(DeferAll, None).await;
    let mut alice_events = alice.subscribe_events();
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    session_reaching(&mut alice_events, SessionState::Ringing).await;
    let bob_id = next_event(&mut bob_events, "the incoming call", |e| match e {
        SessionEvent::IncomingCall { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    alice.terminate_session(call.id).await.expect("cancel");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!((end.cause, end.status), (EndCause::Cancelled, Some(487)));
    let bob_end = next_event(&mut bob_events, "bob's end", |e| match e {
        SessionEvent::Ended { id, info } if *id == bob_id => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(bob_end.cause, EndCause::CancelledByPeer);
    // Too late to answer now.
    assert!(bob.accept_incoming_call(bob_id, None).await.is_err());
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_call_is_answered_through_the_api() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(DeferAll, None).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    let bob_id = next_event(&mut bob_events, "the incoming call", |e| match e {
        SessionEvent::IncomingCall { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    // Still ringing for the caller while bob thinks.
    assert!(matches!(alice.wait_for_answer(call.id, Duration::from_millis(300)).await, Err(SessionError::Timeout)));
    let session = bob.accept_incoming_call(bob_id, None).await.expect("accept");
    assert_eq!(session.state, SessionState::Active);
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    alice.terminate_session(call.id).await.expect("hang up");
    alice.wait_for_end(call.id).await.expect("ended");
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_without_a_common_codec_gets_488() {
    let alice = agent_with_codecs(DeferAll, vec![Codec::PCMA]).await;
    let bob = agent_with_codecs(AcceptAll, vec![Codec::PCMU]).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    match alice.wait_for_answer(call.id, PATIENCE).await {
        Err(SessionError::Rejected { status: 488, .. }) => {}
        other => panic!("expected 488, got {other:?}"),
    }
    let bob_end = next_event(&mut bob_events, "bob's end", |e| match e {
        SessionEvent::Ended { info, .. } => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(bob_end.cause, EndCause::MediaFailed);
    all_released(&alice).await;
    all_released(&bob).await;
}

/// The application answering an offer it cannot meet gets the negotiation's own error, typed,
/// as the source; the caller gets the 488.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_an_offer_without_a_common_codec_gives_the_typed_media_error() {
    let alice = agent_with_codecs(DeferAll, vec![Codec::PCMA]).await;
    let bob = agent_with_codecs(DeferAll, vec![Codec::PCMU]).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    let incoming = next_event(&mut bob_events, "the call at bob", |e| match e {
        SessionEvent::IncomingCall { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    let err = bob.accept_incoming_call(incoming, None).await.expect_err("no common codec");
    assert!(matches!(err, SessionError::Media(session_core::MediaFailure::Negotiation(_))), "{err:?}");
    assert!(std::error::Error::source(&err).is_some(), "{err}");
    assert!(!err.is_recoverable(), "the same offer will not do better");
    match alice.wait_for_answer(call.id, PATIENCE).await {
        Err(SessionError::Rejected { status: 488, .. }) => {}
        other => panic!("expected 488, got {other:?}"),
    }
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_holding_at_once_resolve_the_glare() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(AcceptAll, None).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
    let (a, b) = tokio::join!(alice.hold_session(call.id), bob.hold_session(bob_id));
    a.expect("alice's hold gets through");
    b.expect("bob's hold gets through");
    assert_eq!(alice.get_session(call.id).await.map(|s| s.state), Some(SessionState::OnHold));
    assert_eq!(bob.get_session(bob_id).await.map(|s| s.state), Some(SessionState::OnHold));
    alice.terminate_session(call.id).await.expect("hang up");
    alice.wait_for_end(call.id).await.expect("ended");
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_and_requests_outside_calls() {
    let alice = agent(DeferAll, None).await;
    let bob = agent(DeferAll, None).await;
    let ok = alice.send_options(&bob.local_uri("bob")).await.expect("OPTIONS answered");
    assert_eq!(ok.status, 200);
    assert!(ok.header("Allow").is_some_and(|a| a.contains("INVITE")));
    let mut bob_events = bob.subscribe_events();
    let msg = alice
        .send_request("MESSAGE", &bob.local_uri("bob"), vec![], Some(("text/plain".into(), b"hi".to_vec())))
        .await
        .expect("MESSAGE answered");
    assert_eq!(msg.status, 200, "RFC 3428: delivered");
    let delivered = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(SessionEvent::Message(m)) = bob_events.recv().await {
                return m;
            }
        }
    })
    .await
    .expect("bob's application gets it");
    assert_eq!((delivered.text().as_ref(), delivered.call), ("hi", None));
    let publish = alice.send_request("PUBLISH", &bob.local_uri("bob"), vec![], None).await.expect("PUBLISH answered");
    assert_eq!(publish.status, 405, "a method we do not serve outside dialogs");
    assert!(publish.header("Allow").is_some_and(|a| a.contains("MESSAGE") && a.contains("REFER")));
    assert!(matches!(
        alice.send_request("BYE", &bob.local_uri("bob"), vec![], None).await,
        Err(SessionError::InvalidInput(_))
    ));
    all_released(&bob).await;
}

/// Records every callback, in order.
#[derive(Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>, Option<u16>);

impl Recorder {
    fn log(&self, line: String) {
        self.0.lock().expect("lock").push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

impl CallHandler for Recorder {
    async fn on_incoming_call(&self, call: IncomingCall) -> CallDecision {
        self.log(format!("incoming {}", call.sdp.is_some()));
        match self.1 {
            Some(status) => CallDecision::Reject(status, "Not Now".into()),
            None => CallDecision::Accept(None),
        }
    }
    async fn on_call_established(&self, call: session_core::CallSession) {
        self.log(format!("established {}", call.state));
    }
    async fn on_call_failed(&self, _id: session_core::SessionId, info: session_core::EndInfo) {
        self.log(format!("failed {:?}", info.status));
    }
    async fn on_call_ended(&self, _call: session_core::CallSession, info: session_core::EndInfo) {
        self.log(format!("ended {}", info.cause));
    }
    async fn on_state_changed(&self, _id: session_core::SessionId, old: SessionState, new: SessionState) {
        self.log(format!("state {old} -> {new}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_hears_every_step_in_order() {
    let alice_log = Recorder::default();
    let alice = builder().with_handler(alice_log.clone()).build().await.expect("alice");
    let bob_log = Recorder::default();
    let bob = builder().with_handler(bob_log.clone()).build().await.expect("bob");
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    alice.terminate_session(call.id).await.expect("hang up");
    alice.wait_for_end(call.id).await.expect("ended");
    eventually("bob's callbacks", || async { (bob_log.lines().len() >= 5).then_some(()) }).await;
    eventually("alice's callbacks", || async { (alice_log.lines().len() >= 6).then_some(()) }).await;
    assert_eq!(
        bob_log.lines(),
        [
            "incoming true",
            "state incoming -> active",
            "established active",
            "state active -> terminated",
            "ended remote hung up"
        ]
    );
    assert_eq!(
        alice_log.lines(),
        [
            "state initiating -> ringing",
            "state ringing -> active",
            "established active",
            "state active -> terminating",
            "state terminating -> terminated",
            "ended hung up"
        ]
    );

    // A call that never comes up is a failure, with the status.
    let carol_log = Recorder(Default::default(), Some(480));
    let carol = builder().with_handler(carol_log.clone()).build().await.expect("carol");
    let call =
        alice.create_outgoing_call(&alice.local_uri("alice"), &carol.local_uri("carol"), None).await.expect("call");
    assert!(alice.wait_for_answer(call.id, PATIENCE).await.is_err());
    eventually("alice hears the failure", || async {
        alice_log.lines().iter().any(|l| l == "failed Some(480)").then_some(())
    })
    .await;
    eventually("carol's callbacks", || async { (carol_log.lines().len() >= 3).then_some(()) }).await;
    assert_eq!(carol_log.lines(), ["incoming true", "state incoming -> terminated", "failed Some(480)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muting_sends_silence_and_unmuting_the_tone_again() {
    let alice = agent(DeferAll, Some(440.0)).await;
    let bob = agent(AcceptAll, None).await;
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
    let hears = |want: Option<f32>| {
        let bob = bob.clone();
        async move {
            let audio = bob.get_received_audio(bob_id).await.ok()?;
            let tone = media_core::tone::dominant_tone(&audio, &[440.0], 8000, 0.5);
            let silent = media_core::tone::energy(&audio) == 0.0;
            match want {
                Some(_) => (tone == want).then_some(()),
                None => silent.then_some(()),
            }
        }
    };
    eventually("bob hears the tone", || hears(Some(440.0))).await;
    alice.set_audio_muted(call.id, true).await.expect("mute");
    assert!(alice.get_session(call.id).await.expect("session").muted);
    let sent = alice.get_rtp_statistics(call.id).await.expect("stats").packets_sent;
    eventually("bob hears silence", || hears(None)).await;
    // Muted is not stopped: packets keep flowing.
    assert!(alice.get_rtp_statistics(call.id).await.expect("stats").packets_sent > sent);
    alice.set_audio_muted(call.id, false).await.expect("unmute");
    eventually("bob hears the tone again", || hears(Some(440.0))).await;
    alice.terminate_session(call.id).await.expect("hang up");
    alice.wait_for_end(call.id).await.expect("ended");
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_agent_sheds_new_calls_with_503() {
    let alice = agent(DeferAll, None).await;
    let bob = builder().with_handler(DeferAll).max_sessions(1).build().await.expect("bob");
    let first = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    eventually("bob has the first call", || async { (bob.resource_counts().await.sessions == 1).then_some(()) }).await;
    // Bob holds one session: the second INVITE is refused at once.
    let second =
        alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    match alice.wait_for_answer(second.id, PATIENCE).await {
        Err(SessionError::Rejected { status: 503, .. }) => {}
        other => panic!("expected 503 from a full agent, got {other:?}"),
    }
    assert_eq!(bob.counters().await.refused_full, 1, "the refusal is counted");
    alice.terminate_session(first.id).await.expect("cancel the first");
    alice.wait_for_end(first.id).await.expect("ended");
    all_released(&alice).await;
    all_released(&bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_is_turned_away_with_480() {
    let alice = agent(DeferAll, None).await;
    let bob = builder().with_handler(DeferAll).ring_timeout(Duration::from_millis(500)).build().await.expect("bob");
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    match alice.wait_for_answer(call.id, PATIENCE).await {
        Err(SessionError::Rejected { status: 480, reason }) => assert_eq!(reason, "No Answer"),
        other => panic!("expected 480, got {other:?}"),
    }
    all_released(&alice).await;
    all_released(&bob).await;
}
