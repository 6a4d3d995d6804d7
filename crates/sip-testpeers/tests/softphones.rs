//! The softphone harness against real peers only: baresip and pjsua register with kamailio
//! and call each other through it, with RTP both ways, hold and resume, and a hang-up from
//! either side. No sipline code is involved: this proves the harness that sipline's own
//! interop tests use.

use std::time::Duration;

use sip_testpeers::{
    require_peers, AnswerMode, Baresip, BaresipOptions, EventKind, Kamailio, KamailioOptions, MediaState, PhoneEvent,
    Pjsua, PjsuaOptions, RtpStats, Transport,
};

/// Every wait is bounded by this; the steps themselves take well under a second on loopback.
const STEP: Duration = Duration::from_secs(10);
/// RTP runs at 50 packets/s per direction (20 ms PCMU): two seconds give about 100.
const MIN_PACKETS: u64 = 40;

fn kamailio() -> Kamailio {
    Kamailio::start(KamailioOptions::new().user("bob", "bobpw").user("carol", "carolpw")).expect("kamailio")
}

/// Waits until pjsua counts at least `min` packets each way (polling its counters).
fn pjsua_rtp_both_ways(pjsua: &Pjsua, min: u64) -> RtpStats {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let stats = pjsua.rtp_stats().expect("pjsua stats");
        if stats.both_ways(min) {
            return stats;
        }
        assert!(std::time::Instant::now() < deadline, "pjsua: RTP not flowing both ways: {stats:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn media(pjsua: &Pjsua, state: MediaState) {
    pjsua.wait_until(STEP, |e| *e == PhoneEvent::Media(state)).unwrap_or_else(|e| panic!("pjsua {state:?}: {e}"));
}

#[test]
fn baresip_calls_pjsua_through_kamailio() {
    require_peers();
    let kamailio = kamailio();
    let registrar = kamailio.addr(Transport::Udp);
    let baresip = Baresip::start(BaresipOptions::new().register("bob", "bobpw", registrar)).expect("baresip");
    let pjsua = Pjsua::start(PjsuaOptions::new().register("carol", "carolpw", registrar)).expect("pjsua");
    assert_eq!(kamailio.registered_contacts("bob").unwrap().len(), 1, "{}", kamailio.log());
    assert_eq!(kamailio.registered_contacts("carol").unwrap().len(), 1, "{}", kamailio.log());

    baresip.dial(&pjsua.uri()).unwrap();
    match pjsua.wait_for(EventKind::Incoming, STEP).unwrap() {
        PhoneEvent::Incoming { from } => assert!(from.contains("bob@"), "{from}"),
        other => unreachable!("{other:?}"),
    }
    baresip.wait_for(EventKind::Ringing, STEP).unwrap();
    pjsua.answer(200).unwrap();
    pjsua.wait_for(EventKind::Established, STEP).unwrap();
    // baresip reports its RTP starting and the call established in either order (the
    // answer's SDP can start the stream first): wait for both, whichever comes first.
    let mut pending = vec![EventKind::Established, EventKind::RtpStarted];
    while !pending.is_empty() {
        let seen = baresip.wait_until(STEP, |e| pending.contains(&e.kind())).unwrap();
        pending.retain(|k| *k != seen.kind());
    }
    let before_hold = pjsua_rtp_both_ways(&pjsua, MIN_PACKETS);

    pjsua.hold().unwrap();
    media(&pjsua, MediaState::LocalHold);
    pjsua.resume().unwrap();
    media(&pjsua, MediaState::Active);
    // RTP flows again after the resume: the counters go on growing both ways.
    let after = pjsua_rtp_both_ways(&pjsua, before_hold.rx_packets.max(before_hold.tx_packets) + MIN_PACKETS);

    baresip.hangup().unwrap();
    match baresip.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { reason, .. } => assert!(reason.contains("by user"), "{reason}"),
        other => unreachable!("{other:?}"),
    }
    match pjsua.wait_for(EventKind::Closed, STEP).unwrap() {
        // The BYE's status: pjsua reports its own 200 to the BYE.
        PhoneEvent::Closed { code, .. } => assert_eq!(code, Some(200)),
        other => unreachable!("{other:?}"),
    }
    let baresip_stats = baresip.rtp_stats().expect("baresip's end-of-call RTP summary");
    assert!(baresip_stats.both_ways(MIN_PACKETS), "baresip {baresip_stats:?}");
    let pjsua_stats = pjsua.rtp_stats().unwrap();
    assert!(pjsua_stats.rx_packets >= after.rx_packets && pjsua_stats.tx_packets >= after.tx_packets);
    eprintln!("baresip {baresip_stats:?}, pjsua {pjsua_stats:?}");
}

#[test]
fn pjsua_calls_baresip_through_kamailio_and_hangs_up() {
    require_peers();
    let kamailio = kamailio();
    let registrar = kamailio.addr(Transport::Udp);
    let baresip = Baresip::start(BaresipOptions::new().register("bob", "bobpw", registrar)).expect("baresip");
    let pjsua = Pjsua::start(PjsuaOptions::new().register("carol", "carolpw", registrar)).expect("pjsua");

    pjsua.call(&baresip.uri()).unwrap();
    pjsua.wait_for(EventKind::Calling, STEP).unwrap();
    baresip.wait_for(EventKind::Incoming, STEP).unwrap();
    match pjsua.wait_for(EventKind::Ringing, STEP).unwrap() {
        PhoneEvent::Ringing { code } => assert_eq!(code, Some(180)),
        other => unreachable!("{other:?}"),
    }
    baresip.accept().unwrap();
    baresip.wait_for(EventKind::Established, STEP).unwrap();
    pjsua.wait_for(EventKind::Established, STEP).unwrap();
    media(&pjsua, MediaState::Active);
    pjsua_rtp_both_ways(&pjsua, MIN_PACKETS);

    // baresip holds: pjsua sees the remote hold, then the resume.
    baresip.hold().unwrap();
    media(&pjsua, MediaState::RemoteHold);
    baresip.resume().unwrap();
    media(&pjsua, MediaState::Active);

    pjsua.hangup().unwrap();
    match pjsua.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { code, .. } => assert_eq!(code, Some(200)),
        other => unreachable!("{other:?}"),
    }
    match baresip.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { reason, .. } => assert!(reason.contains("by peer"), "{reason}"),
        other => unreachable!("{other:?}"),
    }
    let stats = baresip.rtp_stats().expect("baresip's end-of-call RTP summary");
    assert!(stats.both_ways(MIN_PACKETS), "baresip {stats:?}");
}

#[test]
fn direct_calls_without_a_registrar_and_auto_answer() {
    require_peers();
    let baresip = Baresip::start(BaresipOptions::new().user("alice").answer_mode(AnswerMode::Auto)).expect("baresip");
    let pjsua = Pjsua::start(PjsuaOptions::new().answer_mode(AnswerMode::Auto)).expect("pjsua");
    assert_eq!(baresip.uri(), format!("sip:alice@{}", baresip.sip_addr()));

    // pjsua -> baresip, answered by baresip itself.
    pjsua.call(&baresip.uri()).unwrap();
    pjsua.wait_for(EventKind::Established, STEP).unwrap();
    baresip.wait_for(EventKind::Established, STEP).unwrap();
    pjsua_rtp_both_ways(&pjsua, MIN_PACKETS);
    pjsua.hangup().unwrap();
    baresip.wait_for(EventKind::Closed, STEP).unwrap();
    pjsua.wait_for(EventKind::Closed, STEP).unwrap();

    // baresip -> pjsua, answered by pjsua itself.
    baresip.dial(&pjsua.uri()).unwrap();
    pjsua.wait_for(EventKind::Incoming, STEP).unwrap();
    baresip.wait_for(EventKind::Established, STEP).unwrap();
    pjsua_rtp_both_ways(&pjsua, MIN_PACKETS);
    baresip.hangup().unwrap();
    pjsua.wait_for(EventKind::Closed, STEP).unwrap();
}

#[test]
fn a_refused_call_reports_its_status() {
    require_peers();
    let kamailio = kamailio();
    let registrar = kamailio.addr(Transport::Udp);
    let baresip = Baresip::start(BaresipOptions::new().register("bob", "bobpw", registrar)).expect("baresip");
    let pjsua = Pjsua::start(PjsuaOptions::new().register("carol", "carolpw", registrar)).expect("pjsua");

    baresip.dial(&pjsua.uri()).unwrap();
    pjsua.wait_for(EventKind::Incoming, STEP).unwrap();
    pjsua.answer(486).unwrap();
    match pjsua.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { code, .. } => assert_eq!(code, Some(486)),
        other => unreachable!("{other:?}"),
    }
    match baresip.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { reason, .. } => assert!(reason.contains("486"), "{reason}"),
        other => unreachable!("{other:?}"),
    }
    // No call was established: no RTP summary.
    assert_eq!(baresip.rtp_stats(), None);

    // A user nobody registered: kamailio answers 404 and pjsua reports it.
    pjsua.call(&format!("sip:nobody@{registrar}")).unwrap();
    match pjsua.wait_for(EventKind::Closed, STEP).unwrap() {
        PhoneEvent::Closed { code, .. } => assert_eq!(code, Some(404)),
        other => unreachable!("{other:?}"),
    }
}

#[test]
fn a_wrong_password_fails_the_start_with_the_log() {
    require_peers();
    let kamailio = kamailio();
    let registrar = kamailio.addr(Transport::Udp);
    let mut options = PjsuaOptions::new().register("carol", "wrong", registrar);
    options.startup_timeout = Duration::from_secs(10);
    let err = Pjsua::start(options).expect_err("a wrong password must not register");
    let text = err.to_string();
    assert!(text.contains("pjsua did not start") && text.contains("register carol@"), "{text}");
    assert!(text.contains("RegisterFailed"), "{text}");
    // A failed start keeps its directory for the log: this failure was expected, remove it.
    if let sip_testpeers::PeerError::Startup { log, .. } = &err {
        if let Some(dir) = log.parent().filter(|d| d.starts_with(std::env::temp_dir())) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
