//! The UAS of an INVITE on a simulated clock: answers, the 2xx repeated until its ACK and the
//! BYE after 64·T1 without one, CANCEL, 481 and 500, BYE both ways.

mod common;

use common::*;
use sip_dialog::{CallEventKind, CallKey, CallState, EndReason, Output};
use sip_message::{Method, Request, StandardHeader as H, StatusCode};
use sip_transaction::TxId;

fn received_invite() -> Request {
    let mut r = alice_invite();
    r.headers_mut().push_front(H::Via, "SIP/2.0/UDP proxy.biloxi.com;branch=z9hG4bKproxy");
    r.push_header(H::RecordRoute, "<sip:proxy.biloxi.com;lr>");
    r
}

/// Bob's Sim with an incoming call in server transaction 10.
fn incoming() -> (Sim, CallKey) {
    let mut sim = Sim::new(bob_config());
    assert!(sim.request(10, received_invite()).is_none());
    let out = sim.take();
    let call = match &out[..] {
        [Output::Event(e)] => {
            assert!(matches!(&e.kind, CallEventKind::Incoming { .. }));
            e.call
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(sim.calls.state(call), Some(CallState::Incoming));
    (sim, call)
}

/// Answers with 200 and returns Bob's tag.
fn accepted() -> (Sim, CallKey, String) {
    let (mut sim, call) = incoming();
    sim.calls.accept(sim.now, call, Some(sip_dialog::Body::sdp(&b"v=0\r\n"[..]))).unwrap();
    let (tx, ok) = responses(&sim.take()).remove(0);
    assert_eq!(tx, TxId(10));
    let tag = ok.headers().to().unwrap().tag().unwrap().to_owned();
    (sim, call, tag)
}

#[test]
fn provisional_with_tag_makes_an_early_dialog_and_200_confirms() {
    let (mut sim, call) = incoming();
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    let (_, ringing) = responses(&sim.take()).remove(0);
    let tag = ringing.headers().to().unwrap().tag().unwrap().to_owned();
    assert_eq!(ringing.headers().get(H::Contact).unwrap().as_str(), "<sip:bob@client.biloxi.com>");
    assert_eq!(ringing.headers().get(H::RecordRoute).unwrap().as_str(), "<sip:proxy.biloxi.com;lr>");
    assert_eq!(sim.calls.state(call), Some(CallState::Early));
    sim.calls.accept(sim.now, call, None).unwrap();
    let (_, ok) = responses(&sim.take()).remove(0);
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers().to().unwrap().tag(), Some(tag.as_str()), "the same tag");
    assert_eq!(ok.headers().via().count(), 2, "every Via copied");
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    let d = sim.calls.dialog(call).unwrap();
    assert_eq!(d.route_set(), ["<sip:proxy.biloxi.com;lr>"]);
    assert!(sim.calls.accept(sim.now, call, None).is_err(), "answered once");
}

#[test]
fn the_2xx_is_repeated_t1_doubling_to_t2_and_bye_comes_at_64_t1_without_ack() {
    let (mut sim, call, _) = accepted();
    sim.run_until(MS(32_000));
    let times: Vec<u128> = sim
        .log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Response { response, .. } if response.status() == StatusCode::OK))
        .map(|(t, _)| t.as_millis())
        .collect();
    assert_eq!(times, [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    let byes: Vec<_> = sim
        .log
        .iter()
        .filter_map(|(t, o)| match o {
            Output::Request(r) if r.method() == &Method::Bye => Some((t.as_millis(), r.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(byes.len(), 1);
    assert_eq!(byes[0].0, 32_000);
    let bye = &byes[0].1;
    assert_eq!(bye.uri_str(), "sip:alice@pc33.atlanta.com");
    assert_eq!(bye.headers().get(H::Route).unwrap().as_str(), "<sip:proxy.biloxi.com;lr>");
    assert_eq!(sim.calls.state(call), Some(CallState::Terminating));
    sim.take();
    sim.response(bye.make_response(StatusCode::OK, None).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::NoAck));
    assert!(sim.calls.is_empty());
    assert_eq!(sim.calls.poll_timeout(), None);
}

#[test]
fn the_ack_stops_the_retransmissions() {
    let (mut sim, call, tag) = accepted();
    sim.run_until(MS(2000));
    assert_eq!(statuses(&sim.take()), [200, 200]);
    sim.ack(alice_ack(1, &tag));
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::Confirmed { .. }]));
    only_the_session_timer_left(&sim);
    sim.run_until(MS(40_000));
    assert!(sim.take().is_empty());
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    // A retransmitted ACK is absorbed.
    sim.ack(alice_ack(1, &tag));
    assert!(sim.take().is_empty());
}

#[test]
fn hangup_before_the_ack_waits_for_it() {
    let (mut sim, call, tag) = accepted();
    sim.calls.hangup(sim.now, call).unwrap();
    assert!(requests(&sim.take()).is_empty(), "§15: no BYE before the ACK");
    sim.run_until(MS(600));
    sim.ack(alice_ack(1, &tag));
    let out = sim.take();
    let bye = requests(&out).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    sim.response(bye.make_response(StatusCode::OK, None).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::LocalBye));
}

#[test]
fn cancel_gets_200_and_the_invite_487() {
    let (mut sim, call) = incoming();
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    sim.take();
    let mut cancel = received_invite().cancel().unwrap();
    cancel.headers_mut().push_front(H::Via, "SIP/2.0/UDP proxy.biloxi.com;branch=z9hG4bKproxy");
    sim.calls.handle_request(sim.now, TxId(11), cancel, Some(TxId(10)));
    let out = sim.take();
    let rs = responses(&out);
    assert_eq!(rs.iter().map(|(tx, r)| (tx.0, r.status().as_u16())).collect::<Vec<_>>(), [(11, 200), (10, 487)]);
    assert_eq!(terminated(&out), Some(EndReason::CancelledByPeer));
    assert!(sim.calls.is_empty());
    // A CANCEL matching no transaction gets 481 (§9.2).
    let cancel = received_invite().cancel().unwrap();
    sim.calls.handle_request(sim.now, TxId(12), cancel, None);
    assert_eq!(statuses(&sim.take()), [481]);
}

#[test]
fn reject_ends_the_call() {
    let (mut sim, call) = incoming();
    sim.calls.reject(sim.now, call, StatusCode::BUSY_HERE).unwrap();
    let out = sim.take();
    assert_eq!(statuses(&out), [486]);
    assert_eq!(terminated(&out), Some(EndReason::Rejected { status: StatusCode::BUSY_HERE }));
    assert!(sim.calls.is_empty());
}

#[test]
fn unknown_dialog_gets_481_and_lower_cseq_gets_500() {
    let (mut sim, call, tag) = accepted();
    sim.ack(alice_ack(1, &tag));
    sim.take();
    // A request naming a dialog that does not exist (§12.2.2).
    assert!(sim.request(20, from_alice(Method::Bye, 2, "not-our-tag")).is_none());
    assert_eq!(statuses(&sim.take()), [481]);
    // In order: to the application.
    assert!(sim.request(21, from_alice(Method::Info, 5, &tag)).is_none());
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::Request { tx, .. }] if tx.0 == 21));
    sim.calls.respond(sim.now, call, TxId(21), StatusCode::OK, None).unwrap();
    assert_eq!(statuses(&sim.take()), [200]);
    // Out of order (§12.2.2).
    sim.request(22, from_alice(Method::Info, 4, &tag));
    assert_eq!(statuses(&sim.take()), [500]);
    // Outside any dialog and not an INVITE: not ours.
    let options = sip_message::RequestBuilder::new(Method::Options, "sip:bob@biloxi.com")
        .from(None, "sip:alice@atlanta.com")
        .to(None, "sip:bob@biloxi.com")
        .via("UDP", "pc33.atlanta.com")
        .build()
        .unwrap();
    assert_eq!(sim.request(23, options.clone()), Some(options));
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
}

#[test]
fn bye_from_the_peer_ends_the_call_and_answers_open_requests() {
    let (mut sim, call, tag) = accepted();
    sim.ack(alice_ack(1, &tag));
    sim.request(21, from_alice(Method::Info, 2, &tag));
    sim.take();
    sim.request(22, from_alice(Method::Bye, 3, &tag));
    let out = sim.take();
    let rs: Vec<_> = responses(&out).iter().map(|(tx, r)| (tx.0, r.status().as_u16())).collect();
    assert_eq!(rs, [(22, 200), (21, 487)]);
    assert_eq!(terminated(&out), Some(EndReason::RemoteBye));
    assert_eq!(sim.calls.state(call), None);
    assert_eq!(sim.calls.poll_timeout(), None);
    // The dialog is gone: another request for it gets 481.
    sim.request(23, from_alice(Method::Info, 4, &tag));
    assert_eq!(statuses(&sim.take()), [481]);
}

#[test]
fn invite_without_contact_is_refused() {
    let mut sim = Sim::new(bob_config());
    let mut invite = received_invite();
    invite.headers_mut().remove_all(H::Contact);
    sim.request(10, invite);
    let out = sim.take();
    assert_eq!(statuses(&out), [400]);
    assert!(events(&out).is_empty());
    assert!(sim.calls.is_empty());
}

#[test]
fn a_merged_invite_gets_482() {
    let (mut sim, call) = incoming();
    // The same INVITE by another path: another branch at the top.
    let mut again = received_invite();
    again.headers_mut().set(H::Via, "SIP/2.0/UDP other.biloxi.com;branch=z9hG4bKother");
    sim.request(11, again);
    let out = sim.take();
    assert_eq!(responses(&out).iter().map(|(tx, r)| (tx.0, r.status().as_u16())).collect::<Vec<_>>(), [(11, 482)]);
    assert_eq!(sim.calls.len(), 1);
    assert_eq!(sim.calls.state(call), Some(CallState::Incoming));
}

#[test]
fn a_lost_ack_is_still_awaited_after_a_reinvite_is_answered() {
    let (mut sim, call, tag) = accepted();
    // The ACK for our 200 is lost; Alice re-INVITEs.
    sim.run_until(MS(700));
    sim.take();
    sim.request(30, from_alice(Method::Invite, 2, &tag));
    sim.take();
    sim.calls.respond(sim.now, call, TxId(30), StatusCode::OK, None).unwrap();
    sim.take();
    // Both 200s go on being repeated: the first one's ACK can only come back that way.
    sim.run_until(MS(1600));
    let mut cseqs: Vec<u32> = responses(&sim.take()).iter().map(|(_, r)| r.headers().cseq().unwrap().seq).collect();
    cseqs.sort();
    assert_eq!(cseqs, [1, 2]);
    sim.ack(alice_ack(1, &tag));
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::Confirmed { .. }]));
    sim.ack(alice_ack(2, &tag));
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::ReinviteAcked { .. }]));
    only_the_session_timer_left(&sim);
}
