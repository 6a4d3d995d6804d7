//! re-INVITE for hold and resume, glare (491 and the retry intervals of RFC 3261 §14.1),
//! BYE from our side, and requests of the application inside the dialog.

mod common;

use common::*;
use sip_dialog::{Body, CallConfig, CallEventKind, CallKey, CallState, Calls, EndReason, RandomSource};
use sip_message::{Method, StandardHeader as H, StatusCode};
use sip_transaction::TxId;
use std::time::Duration;

const HOLD: &[u8] = b"v=0\r\na=sendonly\r\n";

/// Alice's established call with Bob (tag b1).
fn alice_in_call(rng: Box<dyn RandomSource + Send>) -> (Sim, CallKey) {
    let mut sim = Sim::with_rng(alice_config(), rng);
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com"));
    sim.take();
    (sim, call)
}

#[test]
fn hold_then_resume_are_reinvites_with_the_callers_body() {
    let (mut sim, call) = alice_in_call(seeded(1));
    sim.calls.reinvite(sim.now, call, Some(Body::sdp(HOLD))).unwrap();
    let hold = requests(&sim.take()).remove(0);
    assert_eq!(hold.method(), &Method::Invite);
    assert_eq!(cseq(&hold), 2);
    assert_eq!(hold.headers().to().unwrap().tag(), Some("b1"));
    assert_eq!(&hold.body()[..], HOLD);
    assert_eq!(hold.headers().get(H::ContentType).unwrap().as_str(), "application/sdp");
    assert!(hold.headers().contains(H::Contact));
    assert_eq!(
        sim.calls.reinvite(sim.now, call, None),
        Err(sip_dialog::DialogError::InviteInProgress),
        "one INVITE at a time (§14.1)"
    );
    // The 2xx moves the target (target refresh) and is acknowledged.
    sim.response(answer(&hold, StatusCode::OK, "b1", "sip:bob@moved.biloxi.com"));
    let out = sim.take();
    let ack = acks(&out).remove(0);
    assert_eq!(cseq(&ack), 2);
    assert_eq!(ack.uri_str(), "sip:bob@moved.biloxi.com");
    assert!(
        matches!(&events(&out)[..], [CallEventKind::ReinviteAnswered { response }] if response.status() == StatusCode::OK)
    );
    assert_eq!(sim.calls.dialog(call).unwrap().remote_target(), "sip:bob@moved.biloxi.com");
    // Its retransmission is acknowledged again.
    sim.response(answer(&hold, StatusCode::OK, "b1", "sip:bob@moved.biloxi.com"));
    assert_eq!(acks(&sim.take()), [ack]);

    sim.calls.reinvite(sim.now, call, Some(Body::sdp(&b"v=0\r\na=sendrecv\r\n"[..]))).unwrap();
    let resume = requests(&sim.take()).remove(0);
    assert_eq!(cseq(&resume), 3);
    assert_eq!(resume.uri_str(), "sip:bob@moved.biloxi.com");
    // A rejected re-INVITE leaves the call as it was.
    sim.response(answer(&resume, StatusCode::NOT_ACCEPTABLE_HERE, "b1", "sip:bob@moved.biloxi.com"));
    let out = sim.take();
    assert!(matches!(&events(&out)[..], [CallEventKind::ReinviteAnswered { .. }]));
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
}

#[test]
fn glare_answers_491_and_retries_after_the_owner_interval() {
    for (fraction, expected) in [(0.0, 2100), (1.0, 4000), (0.5, 3050)] {
        let (mut sim, call) = alice_in_call(Box::new(Fixed(fraction)));
        sim.calls.reinvite(sim.now, call, Some(Body::sdp(HOLD))).unwrap();
        let ours = requests(&sim.take()).remove(0);
        // Bob's re-INVITE crosses ours: 491 (§14.2).
        sim.request(30, from_bob(Method::Invite, 10));
        assert_eq!(statuses(&sim.take()), [491]);
        // And ours meets his: retried 2.1–4 s later, since Alice owns the Call-ID (§14.1).
        let at = sim.elapsed();
        sim.response(answer(&ours, StatusCode::REQUEST_PENDING, "b1", "sip:bob@client.biloxi.com"));
        let retry_at = match &events(&sim.take())[..] {
            [CallEventKind::ReinviteGlare { retry_at }] => *retry_at,
            other => panic!("{other:?}"),
        };
        assert_eq!(retry_at - sim.start - at, Duration::from_millis(expected));
        sim.run_until(at + Duration::from_millis(expected) - Duration::from_millis(1));
        assert!(requests(&sim.take()).is_empty());
        sim.run_until(at + Duration::from_millis(expected));
        let again = requests(&sim.take()).remove(0);
        assert_eq!(again.method(), &Method::Invite);
        assert_eq!(cseq(&again), cseq(&ours) + 1);
        assert_eq!(&again.body()[..], HOLD, "the same offer");
    }
}

#[test]
fn glare_interval_of_the_callee_is_0_to_2_s() {
    for seed in 0..200 {
        let mut sim = Sim::with_rng(bob_config(), seeded(seed));
        sim.request(10, alice_invite());
        let call = sim
            .take()
            .iter()
            .find_map(|o| if let sip_dialog::Output::Event(e) = o { Some(e.call) } else { None })
            .unwrap();
        sim.calls.accept(sim.now, call, None).unwrap();
        let tag = responses(&sim.take())[0].1.headers().to().unwrap().tag().unwrap().to_owned();
        sim.ack(alice_ack(1, &tag));
        sim.calls.reinvite(sim.now, call, None).unwrap();
        let ours = requests(&sim.take()).remove(0);
        let at = sim.now;
        sim.response(ours.make_response(StatusCode::REQUEST_PENDING, None).unwrap());
        let retry_at = events(&sim.take())
            .into_iter()
            .find_map(|e| if let CallEventKind::ReinviteGlare { retry_at } = e { Some(retry_at) } else { None })
            .unwrap();
        let wait = retry_at - at;
        assert!(wait <= Duration::from_secs(2), "{wait:?}");
        assert_eq!(wait.as_millis() % 10, 0, "units of 10 ms");
    }
}

#[test]
fn owner_interval_stays_within_bounds_for_many_seeds() {
    for seed in 0..200 {
        let (mut sim, call) = alice_in_call(seeded(seed));
        sim.calls.reinvite(sim.now, call, None).unwrap();
        let ours = requests(&sim.take()).remove(0);
        let at = sim.now;
        sim.response(ours.make_response(StatusCode::REQUEST_PENDING, None).unwrap());
        let retry_at = events(&sim.take())
            .into_iter()
            .find_map(|e| if let CallEventKind::ReinviteGlare { retry_at } = e { Some(retry_at) } else { None })
            .unwrap();
        let wait = retry_at - at;
        assert!(wait >= Duration::from_millis(2100) && wait <= Duration::from_millis(4000), "{wait:?}");
    }
}

#[test]
fn their_reinvite_is_answered_by_the_application_and_repeated_until_acked() {
    let (mut sim, call) = alice_in_call(seeded(3));
    sim.request(30, from_bob(Method::Invite, 10));
    let request = match &events(&sim.take())[..] {
        [CallEventKind::Reinvite { tx, request }] => {
            assert_eq!(tx.0, 30);
            request.clone()
        }
        other => panic!("{other:?}"),
    };
    // A second one before we answer: 500 with Retry-After 0-10 s (§14.2).
    sim.request(31, from_bob(Method::Invite, 11));
    let (_, r500) = responses(&sim.take()).remove(0);
    assert_eq!(r500.status(), StatusCode::SERVER_INTERNAL_ERROR);
    let secs: u32 = r500.headers().get(H::RetryAfter).unwrap().parse().unwrap();
    assert!(secs <= 10);
    // Ours cannot go while theirs is open.
    assert_eq!(sim.calls.reinvite(sim.now, call, None), Err(sip_dialog::DialogError::InviteInProgress));

    sim.calls.respond(sim.now, call, TxId(30), StatusCode::OK, Some(Body::sdp(HOLD))).unwrap();
    let (_, ok) = responses(&sim.take()).remove(0);
    assert_eq!(ok.headers().get(H::Contact).unwrap().as_str(), "<sip:alice@pc33.atlanta.com>");
    assert_eq!(ok.headers().cseq().unwrap().seq, request.headers().cseq().unwrap().seq);
    sim.run_until(sim.elapsed() + Duration::from_millis(1600));
    assert_eq!(statuses(&sim.take()), [200, 200]);
    let mut ack = from_bob(Method::Ack, 10);
    ack.headers_mut().remove_all(H::Contact);
    sim.ack(ack);
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::ReinviteAcked { .. }]));
    only_the_session_timer_left(&sim);
    sim.calls.reinvite(sim.now, call, None).unwrap();
}

#[test]
fn our_bye_ends_the_call_and_releases_everything() {
    let (mut sim, call) = alice_in_call(seeded(4));
    sim.calls.hangup(sim.now, call).unwrap();
    let bye = requests(&sim.take()).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    assert_eq!(cseq(&bye), 2);
    assert_eq!(sim.calls.state(call), Some(CallState::Terminating));
    // Crossing BYEs: Bob's is answered and the call ends.
    sim.request(40, from_bob(Method::Bye, 10));
    let out = sim.take();
    assert_eq!(statuses(&out), [200]);
    assert_eq!(terminated(&out), Some(EndReason::LocalBye));
    assert!(sim.calls.is_empty());
    assert_eq!(sim.calls.poll_timeout(), None);
    // Its late 200 finds nothing.
    assert!(!sim.calls.handle_response(sim.now, bye.make_response(StatusCode::OK, None).unwrap()));
}

#[test]
fn bye_without_any_answer_still_ends_the_call() {
    let (mut sim, call) = alice_in_call(seeded(5));
    sim.calls.hangup(sim.now, call).unwrap();
    sim.take();
    sim.run_to_end();
    assert_eq!(terminated(&sim.take()), Some(EndReason::LocalBye));
    assert_eq!(sim.elapsed(), Duration::from_secs(32));
    assert!(sim.calls.is_empty());
}

#[test]
fn requests_in_the_dialog_and_the_481_that_ends_it() {
    let (mut sim, call) = alice_in_call(seeded(6));
    sim.calls
        .request(
            sim.now,
            call,
            Method::Refer,
            vec![sip_message::Header::new("Refer-To", "<sip:carol@chicago.com>")],
            None,
        )
        .unwrap();
    let refer = requests(&sim.take()).remove(0);
    assert_eq!(refer.method(), &Method::Refer);
    assert_eq!(refer.headers().get("Refer-To").unwrap().as_str(), "<sip:carol@chicago.com>");
    sim.response(refer.make_response(StatusCode::ACCEPTED, None).unwrap());
    assert!(
        matches!(&events(&sim.take())[..], [CallEventKind::Response { response }] if response.status() == StatusCode::ACCEPTED)
    );
    assert!(sim.calls.request(sim.now, call, Method::Bye, vec![], None).is_err());

    sim.calls
        .request(sim.now, call, Method::Info, vec![], Some(Body::new("application/dtmf-relay", "Signal=5")))
        .unwrap();
    let info = requests(&sim.take()).remove(0);
    sim.response(info.make_response(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST, None).unwrap());
    let out = sim.take();
    assert!(requests(&out).is_empty(), "no BYE into a dialog the peer does not know");
    assert_eq!(
        terminated(&out),
        Some(EndReason::DialogFailed { status: StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST })
    );
}

#[test]
fn a_timed_out_request_ends_the_dialog_with_a_bye() {
    let (mut sim, call) = alice_in_call(seeded(7));
    sim.calls.request(sim.now, call, Method::Info, vec![], None).unwrap();
    let info = requests(&sim.take()).remove(0);
    sim.response(sip_dialog::failure_response(&info, sip_dialog::TxFailure::Timeout).unwrap());
    let bye = requests(&sim.take()).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    sim.response(sip_dialog::failure_response(&bye, sip_dialog::TxFailure::Timeout).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::DialogFailed { status: StatusCode::REQUEST_TIMEOUT }));
}

#[test]
fn calls_is_send() {
    fn is_send<T: Send>() {}
    is_send::<Calls>();
    let _ = CallConfig::new("sip:a@b", sip_dialog::ViaTemplate::new("UDP", "b"));
}

/// With `offer_by_update` and a peer whose 2xx allows UPDATE, hold goes in an UPDATE
/// (RFC 3311): its 2xx refreshes the target and needs no ACK; a 491 is retried as an UPDATE
/// after the glare interval. A peer that does not allow UPDATE still gets a re-INVITE.
#[test]
fn offers_go_by_update_when_configured_and_allowed() {
    for allowed in [true, false] {
        let mut config = alice_config();
        config.offer_by_update = true;
        let mut sim = Sim::with_rng(config, Box::new(Fixed(0.0)));
        let call = sim.invite(alice_invite());
        let invite = requests(&sim.take()).remove(0);
        let mut ok = answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com");
        if allowed {
            ok.push_header(H::Allow, "INVITE, ACK, BYE, UPDATE");
        }
        sim.response(ok);
        sim.take();
        sim.calls.reinvite(sim.now, call, Some(Body::sdp(HOLD))).unwrap();
        let hold = requests(&sim.take()).remove(0);
        if !allowed {
            assert_eq!(hold.method(), &Method::Invite, "the peer did not allow UPDATE");
            continue;
        }
        assert_eq!(hold.method(), &Method::Update);
        assert_eq!(&hold.body()[..], HOLD);
        assert!(hold.headers().contains(H::Contact), "an UPDATE is a target refresh");
        assert_eq!(
            sim.calls.reinvite(sim.now, call, None),
            Err(sip_dialog::DialogError::InviteInProgress),
            "one offer at a time"
        );
        let at = sim.elapsed();
        sim.response(answer(&hold, StatusCode::REQUEST_PENDING, "b1", "sip:bob@client.biloxi.com"));
        assert!(matches!(&events(&sim.take())[..], [CallEventKind::ReinviteGlare { .. }]));
        sim.run_until(at + Duration::from_millis(2100));
        let again = requests(&sim.take()).remove(0);
        assert_eq!((again.method(), &again.body()[..]), (&Method::Update, HOLD), "the same offer, by UPDATE");
        sim.response(answer(&again, StatusCode::OK, "b1", "sip:bob@moved.biloxi.com"));
        let out = sim.take();
        assert!(acks(&out).is_empty(), "no ACK for an UPDATE");
        assert!(
            matches!(&events(&out)[..], [CallEventKind::ReinviteAnswered { response }] if response.status() == StatusCode::OK)
        );
        assert_eq!(sim.calls.dialog(call).unwrap().remote_target(), "sip:bob@moved.biloxi.com");
    }
}
