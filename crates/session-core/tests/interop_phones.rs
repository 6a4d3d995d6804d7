//! session-core against two real softphones, PJSIP 2.15 (pjsua2) and baresip 1.0, through
//! kamailio: each calls a sipline agent and is called by it; the call is answered, carries
//! RTP both ways (sipline checks by Goertzel filter that it hears the phone's tone), is held
//! and resumed from either side, and hung up from either side.
//!
//! The phones' harness is blocking (threads and pipes); these tests run it on the runtime's
//! worker threads with `block_in_place`.

mod common;

use common::*;
use session_core::{
    Account, DeferAll, EndCause, MediaControl, SessionControl, SessionCoordinator, SessionEvent, SessionId,
    SessionState, SipClient,
};
use sip_testpeers::{
    require_peers, AnswerMode, Baresip, BaresipOptions, EventKind, Kamailio, KamailioOptions, MediaState, PhoneEvent,
    Pjsua, PjsuaOptions, Transport,
};
use std::time::Duration;
use tokio::sync::broadcast;

const STEP: Duration = Duration::from_secs(10);
const PHONE_TONE: u32 = 700;
const SIPLINE_TONE: f32 = 440.0;

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn kamailio() -> Kamailio {
    Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("carol", "carolpw")).expect("kamailio")
}

/// A sipline agent registered to kamailio as alice.
async fn sipline(kamailio: &Kamailio) -> (std::sync::Arc<SessionCoordinator>, broadcast::Receiver<SessionEvent>) {
    let agent = agent(DeferAll, Some(SIPLINE_TONE)).await;
    let events = agent.subscribe_events();
    let account = Account::new("alice", Some("alicepw".into()), kamailio.uri(Transport::Udp));
    agent.register(account).await.expect("alice registers");
    (agent, events)
}

/// pjsua registered to kamailio as carol, sending its tone.
fn pjsua_as_carol(kamailio: &Kamailio) -> Pjsua {
    let registrar = kamailio.addr(Transport::Udp);
    blocking(|| Pjsua::start(PjsuaOptions::new().register("carol", "carolpw", registrar).tone_hz(PHONE_TONE)))
        .expect("pjsua")
}

/// baresip registered to kamailio as carol, sending its tone, answering only when told.
fn baresip_as_carol(kamailio: &Kamailio) -> Baresip {
    let registrar = kamailio.addr(Transport::Udp);
    blocking(|| {
        Baresip::start(
            BaresipOptions::new()
                .register("carol", "carolpw", registrar)
                .tone_hz(PHONE_TONE)
                .answer_mode(AnswerMode::Manual),
        )
    })
    .expect("baresip")
}

fn alice_uri(kamailio: &Kamailio) -> String {
    format!("sip:alice@{}", kamailio.addr(Transport::Udp))
}

/// Waits for the incoming call and answers it.
async fn answer_incoming(agent: &SessionCoordinator, events: &mut broadcast::Receiver<SessionEvent>) -> SessionId {
    let id = next_event(events, "an incoming call", |e| match e {
        SessionEvent::IncomingCall { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    agent.accept_incoming_call(id, None).await.expect("accept");
    id
}

/// RTP arrives from the phone, and it is the phone's tone.
async fn hears_the_phone(agent: &SessionCoordinator, id: SessionId) {
    eventually("RTP from the phone", || async {
        let s = agent.get_rtp_statistics(id).await.ok()?;
        (s.packets_received >= 50 && s.packets_sent >= 50).then_some(())
    })
    .await;
    eventually("the phone's tone", || async {
        let audio = agent.get_received_audio(id).await.ok()?;
        let tone = media_core::tone::dominant_tone(&audio, &[PHONE_TONE as f32, SIPLINE_TONE], 8000, 0.5);
        (tone == Some(PHONE_TONE as f32)).then_some(())
    })
    .await;
}

async fn remote_hold(events: &mut broadcast::Receiver<SessionEvent>, held: bool) {
    next_event(events, if held { "held by the phone" } else { "resumed by the phone" }, |e| match e {
        SessionEvent::RemoteHold { held: h, .. } if *h == held => Some(()),
        _ => None,
    })
    .await;
}

async fn ended(events: &mut broadcast::Receiver<SessionEvent>, id: SessionId) -> EndCause {
    next_event(events, "the end of the call", |e| match e {
        SessionEvent::Ended { id: i, info } if *i == id => Some(info.cause),
        _ => None,
    })
    .await
}

/// Runs a phone command until the phone takes it: a softphone refuses a re-INVITE while its
/// previous INVITE transaction is still open (PJSIP: PJ_EINVALIDOP until our ACK arrives).
fn until_accepted(what: &str, mut f: impl FnMut() -> Result<(), sip_testpeers::PeerError>) {
    blocking(|| {
        let deadline = std::time::Instant::now() + STEP;
        loop {
            match f() {
                Ok(()) => return,
                Err(e) if std::time::Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
    })
}

fn pjsua_media(pjsua: &Pjsua, state: MediaState) {
    blocking(|| pjsua.wait_until(STEP, |e| *e == PhoneEvent::Media(state)))
        .unwrap_or_else(|e| panic!("pjsua media {state:?}: {e}"));
}

fn pjsua_rtp_grows(pjsua: &Pjsua, min: u64) {
    blocking(|| {
        let deadline = std::time::Instant::now() + STEP;
        loop {
            let s = pjsua.rtp_stats().expect("pjsua stats");
            if s.both_ways(min) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "pjsua: RTP not both ways: {s:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pjsua_calls_sipline_through_kamailio() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline(&kamailio).await;
    let pjsua = pjsua_as_carol(&kamailio);
    blocking(|| pjsua.call(&alice_uri(&kamailio))).expect("pjsua dials");
    let id = answer_incoming(&alice, &mut events).await;
    blocking(|| pjsua.wait_for(EventKind::Established, STEP)).expect("pjsua established");
    hears_the_phone(&alice, id).await;
    pjsua_rtp_grows(&pjsua, 50);

    // sipline holds and resumes: pjsua sees the remote hold.
    alice.hold_session(id).await.expect("hold");
    pjsua_media(&pjsua, MediaState::RemoteHold);
    alice.resume_session(id).await.expect("resume");
    pjsua_media(&pjsua, MediaState::Active);
    // pjsua holds and resumes: sipline sees it.
    until_accepted("pjsua holds", || pjsua.hold());
    remote_hold(&mut events, true).await;
    until_accepted("pjsua resumes", || pjsua.resume());
    remote_hold(&mut events, false).await;
    assert_eq!(alice.get_session(id).await.map(|s| s.state), Some(SessionState::Active));

    blocking(|| pjsua.hangup()).expect("pjsua hangs up");
    assert_eq!(ended(&mut events, id).await, EndCause::RemoteHangup);
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipline_calls_pjsua_through_kamailio() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline(&kamailio).await;
    let pjsua = pjsua_as_carol(&kamailio);
    let call = alice.create_outgoing_call("sip:alice@127.0.0.1", &pjsua.uri(), None).await.expect("call");
    blocking(|| pjsua.wait_for(EventKind::Incoming, STEP)).expect("pjsua rings");
    session_reaching(&mut events, SessionState::Ringing).await;
    blocking(|| pjsua.answer(200)).expect("pjsua answers");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    hears_the_phone(&alice, call.id).await;
    pjsua_rtp_grows(&pjsua, 50);

    alice.hold_session(call.id).await.expect("hold");
    pjsua_media(&pjsua, MediaState::RemoteHold);
    alice.resume_session(call.id).await.expect("resume");
    pjsua_media(&pjsua, MediaState::Active);

    alice.terminate_session(call.id).await.expect("hang up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("end").cause, EndCause::LocalHangup);
    match blocking(|| pjsua.wait_for(EventKind::Closed, STEP)).expect("pjsua sees the BYE") {
        PhoneEvent::Closed { .. } => {}
        other => panic!("{other:?}"),
    }
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_sipline_through_kamailio() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline(&kamailio).await;
    let baresip = baresip_as_carol(&kamailio);
    blocking(|| baresip.dial(&alice_uri(&kamailio))).expect("baresip dials");
    let id = answer_incoming(&alice, &mut events).await;
    blocking(|| baresip.wait_for(EventKind::Established, STEP)).expect("baresip established");
    hears_the_phone(&alice, id).await;

    until_accepted("baresip holds", || baresip.hold());
    remote_hold(&mut events, true).await;
    until_accepted("baresip resumes", || baresip.resume());
    remote_hold(&mut events, false).await;
    alice.hold_session(id).await.expect("sipline holds");
    alice.resume_session(id).await.expect("sipline resumes");
    hears_the_phone(&alice, id).await;

    alice.terminate_session(id).await.expect("sipline hangs up");
    assert_eq!(ended(&mut events, id).await, EndCause::LocalHangup);
    match blocking(|| baresip.wait_for(EventKind::Closed, STEP)).expect("baresip sees the BYE") {
        PhoneEvent::Closed { reason, .. } => assert!(reason.contains("peer") || reason.contains("reset"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let stats = baresip.rtp_stats().expect("baresip's end-of-call RTP summary");
    assert!(stats.both_ways(50), "baresip {stats:?}");
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipline_calls_baresip_through_kamailio() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline(&kamailio).await;
    let baresip = baresip_as_carol(&kamailio);
    let call = alice.create_outgoing_call("sip:alice@127.0.0.1", &baresip.uri(), None).await.expect("call");
    blocking(|| baresip.wait_for(EventKind::Incoming, STEP)).expect("baresip rings");
    session_reaching(&mut events, SessionState::Ringing).await;
    blocking(|| baresip.accept()).expect("baresip answers");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    hears_the_phone(&alice, call.id).await;

    alice.hold_session(call.id).await.expect("hold");
    alice.resume_session(call.id).await.expect("resume");
    hears_the_phone(&alice, call.id).await;

    blocking(|| baresip.hangup()).expect("baresip hangs up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("end").cause, EndCause::RemoteHangup);
    alice.shutdown().await;
}
