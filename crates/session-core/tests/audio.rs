//! A call's audio through the public session API, between sipline agents on loopback: DTMF
//! as RFC 4733 events and as SIP INFO when the peer has no telephone-event, WAV files
//! played and recorded, frames pushed by the application and streamed back to it, and the
//! errors a user meets.

mod common;

use common::*;
use session_core::{
    AcceptAll, AudioSource, Codec, DeferAll, MediaControl, MediaFailure, SessionControl, SessionCoordinator,
    SessionError, SessionEvent, SessionId, SessionState, SrtpPolicy,
};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Alice calls bob; both calls up. Returns alice, bob, their ids and bob's events.
async fn call_up(
    alice: Arc<SessionCoordinator>,
    bob: Arc<SessionCoordinator>,
) -> (Arc<SessionCoordinator>, Arc<SessionCoordinator>, SessionId, SessionId, broadcast::Receiver<SessionEvent>) {
    let mut bob_events = bob.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    let bob_id = session_reaching(&mut bob_events, SessionState::Active).await;
    (alice, bob, call.id, bob_id, bob_events)
}

async fn digits(events: &mut broadcast::Receiver<SessionEvent>, id: SessionId, count: usize) -> Vec<(char, u32)> {
    let mut got = Vec::new();
    while got.len() < count {
        got.push(
            next_event(events, "a digit", |e| match e {
                SessionEvent::Dtmf { id: i, digit, duration_ms } if *i == id => Some((*digit, *duration_ms)),
                _ => None,
            })
            .await,
        );
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_goes_as_rfc_4733_events_and_as_info_when_the_peer_has_none() {
    // With telephone-event on both sides: RTP events, 100 ms each.
    let (alice, bob, id, bob_id, mut bob_events) =
        call_up(agent(DeferAll, None).await, agent(AcceptAll, None).await).await;
    alice.send_dtmf(id, "7#a").await.expect("send");
    assert_eq!(digits(&mut bob_events, bob_id, 3).await, [('7', 100), ('#', 100), ('A', 100)]);
    let stats = bob.get_rtp_statistics(bob_id).await.expect("stats");
    assert_eq!(stats.dtmf_received, 3);
    let bad = alice.send_dtmf(id, "1x").await.unwrap_err();
    assert!(matches!(bad, SessionError::Media(MediaFailure::Dtmf(_))), "{bad:?}");

    // Bob offers no telephone-event: alice falls back to SIP INFO dtmf-relay, in order.
    let (alice, _bob, id, bob_id, mut bob_events) =
        call_up(agent(DeferAll, None).await, agent_with_codecs(AcceptAll, vec![Codec::PCMU]).await).await;
    alice.send_dtmf(id, "0123456789*#").await.expect("send by INFO");
    let got: String = digits(&mut bob_events, bob_id, 12)
        .await
        .iter()
        .map(|(d, ms)| {
            assert_eq!(*ms, 160, "the relay body's duration");
            *d
        })
        .collect();
    assert_eq!(got, "0123456789*#");
    let info = alice.get_rtp_statistics(id).await.expect("stats");
    assert_eq!(info.dtmf_sent, 0, "nothing went as RTP events");
}

fn tone_file(path: &std::path::Path, hz: f32, rate: u32) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for s in media_core::tone::ToneGenerator::new(hz, 9000, rate).samples(rate as usize) {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_played_and_recorded_pushed_frames_and_the_received_stream() {
    let dir = std::env::temp_dir().join(format!("session-core-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (alice, bob, id, bob_id, _bob_events) =
        call_up(agent(DeferAll, None).await, agent(AcceptAll, None).await).await;

    // Alice plays a 16 kHz file of 697 Hz; bob records and streams what he hears.
    let tone = dir.join("697.wav");
    tone_file(&tone, 697.0, 16_000);
    let recording = dir.join("bob.wav");
    bob.record_audio(bob_id, &recording).await.expect("record");
    let mut frames = bob.received_audio_stream(bob_id, 100).await.expect("stream");
    alice.play_audio_file(id, &tone).await.expect("play");
    let mut heard = Vec::new();
    while heard.len() < 16_000 {
        let frame = tokio::time::timeout(PATIENCE, frames.recv()).await.expect("a frame in time").expect("a frame");
        assert_eq!((frame.rate, frame.samples.len()), (8000, 160));
        heard.extend(frame.samples);
    }
    let tones = [440.0, 697.0, 1000.0];
    assert_eq!(media_core::tone::dominant_tone(&heard[8000..], &tones, 8000, 0.8), Some(697.0));

    // Then frames the application pushes: a second of 1 kHz, heard as such.
    alice.set_audio_source(id, AudioSource::Pushed).await.expect("pushed source");
    let pushed = media_core::tone::ToneGenerator::new(1000.0, 9000, 8000).samples(8000);
    alice.push_audio(id, pushed).await.expect("push");
    let mut heard = Vec::new();
    while heard.len() < 24_000 {
        heard.extend(frames.recv().await.expect("a frame").samples);
    }
    let window = heard.chunks(4000).map(|w| media_core::tone::dominant_tone(w, &tones, 8000, 0.8)).collect::<Vec<_>>();
    assert!(window.contains(&Some(1000.0)), "the pushed second is heard: {window:?}");
    // Too much at once is refused rather than queued without bound.
    let flood = alice.push_audio(id, vec![0; 8000 * 11]).await.unwrap_err();
    assert!(matches!(flood, SessionError::Media(MediaFailure::Audio(session_core::AudioError::Full))), "{flood:?}");

    bob.stop_recording(bob_id).await.expect("stop");
    let recorded = media_core::audio::load_wav(&recording).expect("bob's recording");
    assert_eq!(recorded.rate, 8000);
    assert!(recorded.samples.len() >= 16_000, "{}", recorded.samples.len());
    assert_eq!(media_core::tone::dominant_tone(&recorded.samples[8000..16_000], &tones, 8000, 0.8), Some(697.0));
    assert!(frames.dropped() == 0, "the stream kept up");

    // Errors a user meets: a file that is not audio, a call that does not exist.
    let junk = dir.join("junk.wav");
    std::fs::write(&junk, b"RIFF....WAVEjunk").expect("write");
    let e = alice.play_audio_file(id, &junk).await.unwrap_err();
    assert!(matches!(e, SessionError::Media(MediaFailure::Audio(_))), "{e:?}");
    let e = alice.record_audio(SessionId(999_999), dir.join("x.wav")).await.unwrap_err();
    assert!(matches!(e, SessionError::NotFound(_)), "{e:?}");
    alice.terminate_session(id).await.expect("hang up");
    drop(frames);
    std::fs::remove_dir_all(&dir).ok();
    let _ = bob;
}

async fn srtp_agent<H: session_core::CallHandler>(
    handler: H,
    policy: SrtpPolicy,
    tone: f32,
) -> Arc<SessionCoordinator> {
    builder().with_handler(handler).srtp(policy).media_tone(Some(tone)).build().await.expect("agent starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srtp_carries_the_call_when_both_agree_and_refuses_plain_rtp_when_required() {
    let tones = [440.0, 1000.0];
    // Required calls optional: SRTP both ways, each hears the other's tone.
    let (alice, bob, id, bob_id, _) = call_up(
        srtp_agent(DeferAll, SrtpPolicy::Required, 440.0).await,
        srtp_agent(AcceptAll, SrtpPolicy::Optional, 1000.0).await,
    )
    .await;
    let info = alice.get_media_info(id).await.expect("media info");
    assert_eq!(info.srtp.as_deref(), Some("AES_CM_128_HMAC_SHA1_80"));
    assert!(info.local_sdp.as_deref().is_some_and(|s| s.contains("RTP/SAVP") && s.contains("a=crypto:")));
    eventually("bob hears alice over SRTP", || async {
        let audio = bob.get_received_audio(bob_id).await.ok()?;
        (media_core::tone::dominant_tone(&audio, &tones, 8000, 0.8) == Some(440.0)).then_some(())
    })
    .await;
    eventually("alice hears bob over SRTP", || async {
        let audio = alice.get_received_audio(id).await.ok()?;
        (media_core::tone::dominant_tone(&audio, &tones, 8000, 0.8) == Some(1000.0)).then_some(())
    })
    .await;
    let stats = alice.get_rtp_statistics(id).await.expect("stats");
    assert!(stats.srtp && stats.srtp_failed == 0, "{stats:?}");

    // Required calls off: the callee cannot do SRTP and answers 488.
    let alice = srtp_agent(DeferAll, SrtpPolicy::Required, 440.0).await;
    let carol = srtp_agent(AcceptAll, SrtpPolicy::Off, 1000.0).await;
    let call =
        alice.create_outgoing_call(&alice.local_uri("alice"), &carol.local_uri("carol"), None).await.expect("call");
    let e = alice.wait_for_answer(call.id, PATIENCE).await.unwrap_err();
    assert!(matches!(e, SessionError::Rejected { status: 488, .. }), "{e:?}");

    // Off calls required: refused the same way, by the callee that requires it.
    let strict = srtp_agent(AcceptAll, SrtpPolicy::Required, 1000.0).await;
    let e = call_refused(srtp_agent(DeferAll, SrtpPolicy::Off, 440.0).await, strict).await;
    assert!(matches!(e, SessionError::Rejected { status: 488, .. }), "{e:?}");

    // A callee that answers a required offer with plain RTP: the caller hangs up at once,
    // saying why, and never sends a plain packet.
    let dave = srtp_agent(DeferAll, SrtpPolicy::Off, 1000.0).await;
    let mut dave_events = dave.subscribe_events();
    let call =
        alice.create_outgoing_call(&alice.local_uri("alice"), &dave.local_uri("dave"), None).await.expect("call");
    let dave_id = next_event(&mut dave_events, "the call at dave", |e| match e {
        SessionEvent::IncomingCall { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    let plain = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 39998 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    dave.accept_incoming_call(dave_id, Some(plain.into())).await.expect("dave answers in plain");
    let end = alice.wait_for_end(call.id).await.expect("the call ends");
    assert_eq!(end.cause, session_core::EndCause::MediaFailed, "{end:?}");
    assert!(end.reason.contains("SRTP is required"), "{}", end.reason);
    assert_eq!(end.rtp.map_or(0, |r| r.packets_sent), 0, "no plain RTP left alice");
}

/// `caller` calls `callee` (which accepts everything it can); the error of the answer wait.
async fn call_refused(caller: Arc<SessionCoordinator>, callee: Arc<SessionCoordinator>) -> SessionError {
    let call = caller.create_outgoing_call(&caller.local_uri("x"), &callee.local_uri("y"), None).await.expect("call");
    caller.wait_for_answer(call.id, PATIENCE).await.unwrap_err()
}
