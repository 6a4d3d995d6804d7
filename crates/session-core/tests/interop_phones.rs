//! session-core against two real softphones, PJSIP 2.15 (pjsua2) and baresip 1.0, through
//! kamailio: each calls a sipline agent and is called by it; the call is answered, carries
//! RTP both ways (sipline checks by Goertzel filter that it hears the phone's tone), is held
//! and resumed from either side, and hung up from either side. DTMF crosses both ways as
//! RFC 4733 events, PJSIP's own recorder hears sipline's tone, and calls with SDES-keyed
//! SRTP carry the tones both ways.
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
    require_peers, AnswerMode, Baresip, BaresipOptions, EventKind, Kamailio, KamailioOptions, MediaState, PeerSrtp,
    PhoneEvent, Pjsua, PjsuaOptions, Transport,
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
    sipline_srtp(kamailio, session_core::SrtpPolicy::Off).await
}

/// A sipline agent registered to kamailio as alice, with SRTP per `policy`.
async fn sipline_srtp(
    kamailio: &Kamailio,
    policy: session_core::SrtpPolicy,
) -> (std::sync::Arc<SessionCoordinator>, broadcast::Receiver<SessionEvent>) {
    sipline_with(kamailio, |b| b.srtp(policy)).await
}

/// A sipline agent preferring `codec` (then PCMU, with telephone-event), as alice.
async fn sipline_preferring(
    kamailio: &Kamailio,
    codec: session_core::Codec,
) -> (std::sync::Arc<SessionCoordinator>, broadcast::Receiver<SessionEvent>) {
    let codecs = vec![codec, session_core::Codec::PCMU, session_core::Codec::TELEPHONE_EVENT];
    sipline_with(kamailio, |b| b.codecs(codecs)).await
}

/// A sipline agent sending its tone, set up further by `configure`, registered as alice.
async fn sipline_with(
    kamailio: &Kamailio,
    configure: impl FnOnce(session_core::SessionManagerBuilder) -> session_core::SessionManagerBuilder,
) -> (std::sync::Arc<SessionCoordinator>, broadcast::Receiver<SessionEvent>) {
    let agent =
        configure(builder().with_handler(DeferAll).media_tone(Some(SIPLINE_TONE))).build().await.expect("agent");
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
    baresip_as_carol_with(kamailio, |o| o)
}

/// [`baresip_as_carol`], its options set up further by `configure`.
fn baresip_as_carol_with(kamailio: &Kamailio, configure: impl FnOnce(BaresipOptions) -> BaresipOptions) -> Baresip {
    let registrar = kamailio.addr(Transport::Udp);
    let options = BaresipOptions::new()
        .register("carol", "carolpw", registrar)
        .tone_hz(PHONE_TONE)
        .answer_mode(AnswerMode::Manual);
    blocking(|| Baresip::start(configure(options))).expect("baresip")
}

/// baresip dials alice, who answers; the call is up on both sides.
async fn baresip_calls_alice(
    kamailio: &Kamailio,
    baresip: &Baresip,
    alice: &SessionCoordinator,
    events: &mut broadcast::Receiver<SessionEvent>,
) -> SessionId {
    blocking(|| baresip.dial(&alice_uri(kamailio))).expect("baresip dials");
    let id = answer_incoming(alice, events).await;
    blocking(|| baresip.wait_for(EventKind::Established, STEP)).expect("baresip established");
    id
}

/// sipline hangs up; baresip sees the BYE and counted RTP both ways (so it decoded, and
/// decrypted, what sipline sent).
async fn sipline_hangs_up_on_baresip(alice: &SessionCoordinator, id: SessionId, baresip: &Baresip) {
    alice.terminate_session(id).await.expect("sipline hangs up");
    blocking(|| baresip.wait_for(EventKind::Closed, STEP)).expect("baresip sees the BYE");
    let stats = baresip.rtp_stats().expect("baresip's end-of-call RTP summary");
    assert!(stats.both_ways(50), "baresip {stats:?}");
}

/// The call runs `codec` and the phone's tone arrives, decoded at `rate`.
async fn hears_the_phone_in(agent: &SessionCoordinator, id: SessionId, codec: &str, rate: u32) {
    let info = agent.get_media_info(id).await.expect("media info");
    assert_eq!(info.codec.as_deref(), Some(codec), "{info:?}");
    eventually(&format!("the phone's tone in {codec}"), || async {
        let audio = agent.get_received_audio(id).await.ok()?;
        let tone = media_core::tone::dominant_tone(&audio, &[PHONE_TONE as f32, SIPLINE_TONE], rate, 0.7);
        (audio.len() == rate as usize && tone == Some(PHONE_TONE as f32)).then_some(())
    })
    .await;
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

/// The digits sipline reports for call `id`, until `count` have come.
async fn digits_heard(events: &mut broadcast::Receiver<SessionEvent>, id: SessionId, count: usize) -> String {
    let mut digits = String::new();
    while digits.len() < count {
        let d = next_event(events, "a DTMF digit from the phone", |e| match e {
            SessionEvent::Dtmf { id: i, digit, .. } if *i == id => Some(*digit),
            _ => None,
        })
        .await;
        digits.push(d);
    }
    digits
}

/// The digits a phone reports, until `count` have come.
fn phone_digits(mut next: impl FnMut() -> Result<PhoneEvent, sip_testpeers::PeerError>, count: usize) -> String {
    let mut digits = String::new();
    while digits.len() < count {
        match next() {
            Ok(PhoneEvent::Dtmf { digit }) => digits.push(digit),
            Ok(_) => {}
            Err(e) => panic!("the phone reported {digits:?}, then: {e}"),
        }
    }
    digits
}

/// DTMF both ways: sipline sends `ours` (RFC 4733), the phone `theirs`.
async fn dtmf_both_ways(
    agent: &SessionCoordinator,
    events: &mut broadcast::Receiver<SessionEvent>,
    id: SessionId,
    (ours, phone_heard): (&str, impl FnOnce() -> String),
    (theirs, send_theirs): (&str, impl FnOnce()),
) {
    agent.send_dtmf(id, ours).await.expect("sipline sends DTMF");
    assert_eq!(blocking(phone_heard), ours, "what the phone heard");
    blocking(send_theirs);
    assert_eq!(digits_heard(events, id, theirs.len()).await, theirs, "what sipline heard");
}

/// The rate and 16-bit samples of a PCM WAV file that PJSIP's recorder wrote, read from the
/// bytes on disk: the recorder completes the header's lengths only when PJSIP destroys it,
/// which the Python binding leaves to its garbage collector.
fn recorded_pcm(path: &std::path::Path) -> (u32, Vec<i16>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = u32::from_le_bytes(bytes[24..28].try_into().expect("a WAV header"));
    let data = bytes.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
    let samples = bytes[data..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    (rate, samples)
}

/// Alice calls the phone, which rings and answers; the call is up.
async fn call_pjsua(
    alice: &SessionCoordinator,
    events: &mut broadcast::Receiver<SessionEvent>,
    pjsua: &Pjsua,
) -> session_core::CallSession {
    let call = alice.create_outgoing_call("sip:alice@127.0.0.1", &pjsua.uri(), None).await.expect("call");
    blocking(|| pjsua.wait_for(EventKind::Incoming, STEP)).expect("pjsua rings");
    session_reaching(events, SessionState::Ringing).await;
    blocking(|| pjsua.answer(200)).expect("pjsua answers");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    call
}

/// PJSIP's own recorder, run for a second and a half, hears sipline's tone: PJSIP decoded
/// (and decrypted) what sipline sent.
async fn pjsua_hears_our_tone(pjsua: &Pjsua, file: &str) {
    let recording = pjsua.dir().join(file);
    blocking(|| pjsua.record(&recording)).expect("pjsua records");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    blocking(|| pjsua.stop_recording()).expect("stop");
    let (rate, heard) = recorded_pcm(&recording);
    assert!(heard.len() >= rate as usize, "{} samples recorded; pjsua said:\n{}", heard.len(), pjsua.log());
    let tail = &heard[heard.len() - rate as usize..];
    let tones = [PHONE_TONE as f32, SIPLINE_TONE];
    assert_eq!(media_core::tone::dominant_tone(tail, &tones, rate, 0.5), Some(SIPLINE_TONE));
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
    let call = call_pjsua(&alice, &mut events, &pjsua).await;
    hears_the_phone(&alice, call.id).await;
    pjsua_rtp_grows(&pjsua, 50);
    let phone = &pjsua;
    dtmf_both_ways(
        &alice,
        &mut events,
        call.id,
        ("159#", || phone_digits(|| phone.wait_for(EventKind::Dtmf, STEP), 4)),
        ("*07", || phone.dial_dtmf("*07").expect("pjsua sends DTMF")),
    )
    .await;
    pjsua_hears_our_tone(&pjsua, "heard.wav").await;

    alice.hold_session(call.id).await.expect("hold");
    pjsua_media(&pjsua, MediaState::RemoteHold);
    alice.resume_session(call.id).await.expect("resume");
    pjsua_media(&pjsua, MediaState::Active);
    hears_the_phone(&alice, call.id).await;

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
    let phone = &baresip;
    dtmf_both_ways(
        &alice,
        &mut events,
        call.id,
        ("2468", || phone_digits(|| phone.wait_for(EventKind::Dtmf, STEP), 4)),
        ("#9*", || phone.send_dtmf("#9*").expect("baresip sends DTMF")),
    )
    .await;

    alice.hold_session(call.id).await.expect("hold");
    alice.resume_session(call.id).await.expect("resume");
    hears_the_phone(&alice, call.id).await;

    blocking(|| baresip.hangup()).expect("baresip hangs up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("end").cause, EndCause::RemoteHangup);
    alice.shutdown().await;
}

/// SRTP is on for the call, and nothing failed to unprotect.
async fn srtp_in_use(agent: &SessionCoordinator, id: SessionId) {
    let info = agent.get_media_info(id).await.expect("media info");
    assert!(info.srtp.is_some(), "the call is not SRTP: {info:?}");
    let stats = agent.get_rtp_statistics(id).await.expect("stats");
    assert!(stats.srtp && stats.srtp_failed == 0 && stats.packets_received > 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipline_calls_pjsua_over_srtp() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline_srtp(&kamailio, session_core::SrtpPolicy::Required).await;
    let registrar = kamailio.addr(Transport::Udp);
    let pjsua = blocking(|| {
        Pjsua::start(
            PjsuaOptions::new().register("carol", "carolpw", registrar).tone_hz(PHONE_TONE).srtp(PeerSrtp::Mandatory),
        )
    })
    .expect("pjsua");
    let call = call_pjsua(&alice, &mut events, &pjsua).await;
    hears_the_phone(&alice, call.id).await;
    srtp_in_use(&alice, call.id).await;
    // PJSIP decrypts our packets and hears our tone.
    pjsua_hears_our_tone(&pjsua, "srtp.wav").await;
    alice.terminate_session(call.id).await.expect("hang up");
    assert_eq!(alice.wait_for_end(call.id).await.expect("end").cause, EndCause::LocalHangup);
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_sipline_over_srtp() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline_srtp(&kamailio, session_core::SrtpPolicy::Optional).await;
    let baresip = baresip_as_carol_with(&kamailio, |o| o.srtp(PeerSrtp::Mandatory));
    let id = baresip_calls_alice(&kamailio, &baresip, &alice, &mut events).await;
    hears_the_phone(&alice, id).await;
    srtp_in_use(&alice, id).await;
    sipline_hangs_up_on_baresip(&alice, id, &baresip).await;
    assert_eq!(ended(&mut events, id).await, EndCause::LocalHangup);
    alice.shutdown().await;
}

/// RTCP multiplexed on the RTP ports (RFC 5761) with baresip: it offers `a=rtcp-mux`, sipline
/// agrees, and each side's reports reach the other on the RTP port — sipline reads baresip's
/// (a round-trip time from its report blocks on ours) while the audio flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_and_sipline_multiplex_rtcp() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline(&kamailio).await;
    let baresip = baresip_as_carol_with(&kamailio, |o| o.rtcp_mux(true));
    let id = baresip_calls_alice(&kamailio, &baresip, &alice, &mut events).await;
    hears_the_phone(&alice, id).await;
    let info = alice.get_media_info(id).await.expect("media info");
    let (offer, answer) = (info.remote_sdp.unwrap_or_default(), info.local_sdp.unwrap_or_default());
    assert!(offer.contains("a=rtcp-mux") && answer.contains("a=rtcp-mux"), "{offer}\n{answer}");
    // baresip reports every few seconds; one report on ours gives the round trip.
    eventually("baresip's RTCP on the RTP port, with a round-trip time", || async {
        let s = alice.get_rtp_statistics(id).await.ok()?;
        (s.rtcp_received >= 1 && s.rtcp_invalid == 0 && s.rtt_ms.is_some()).then_some(())
    })
    .await;
    sipline_hangs_up_on_baresip(&alice, id, &baresip).await;
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipline_and_pjsua_talk_in_g722() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline_preferring(&kamailio, session_core::Codec::G722).await;
    let pjsua = pjsua_as_carol(&kamailio);
    let call = call_pjsua(&alice, &mut events, &pjsua).await;
    hears_the_phone_in(&alice, call.id, "G722/8000", 16_000).await;
    // PJSIP decodes our G.722 and hears our tone.
    pjsua_hears_our_tone(&pjsua, "g722.wav").await;
    alice.terminate_session(call.id).await.expect("hang up");
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_sipline_in_g722() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline_preferring(&kamailio, session_core::Codec::G722).await;
    let baresip = baresip_as_carol_with(&kamailio, |o| o.audio_codecs("g722"));
    let id = baresip_calls_alice(&kamailio, &baresip, &alice, &mut events).await;
    hears_the_phone_in(&alice, id, "G722/8000", 16_000).await;
    sipline_hangs_up_on_baresip(&alice, id, &baresip).await;
    alice.shutdown().await;
}

/// baresip calls sipline in Opus (a build with `--features opus`): sipline hears the phone's
/// tone decoded at 48 kHz, and baresip counts sipline's packets.
#[cfg(feature = "opus")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_sipline_in_opus() {
    require_peers();
    let kamailio = kamailio();
    let (alice, mut events) = sipline_preferring(&kamailio, session_core::Codec::OPUS).await;
    let baresip = baresip_as_carol_with(&kamailio, |o| o.audio_codecs("opus"));
    let id = baresip_calls_alice(&kamailio, &baresip, &alice, &mut events).await;
    hears_the_phone_in(&alice, id, "opus/48000", 48_000).await;
    sipline_hangs_up_on_baresip(&alice, id, &baresip).await;
    alice.shutdown().await;
}
