//! Session timers (RFC 4028) on a simulated clock: negotiation and 422 both ways, the
//! refresher's UPDATE or re-INVITE at half the interval, and the BYE when refreshes stop.

mod common;

use common::*;
use sip_dialog::{Body, CallEventKind, CallKey, CallState, EndReason, Output};
use sip_message::{Method, Request, Response, StandardHeader as H, StatusCode};
use sip_transaction::TxId;
use std::time::Duration;

const S: fn(u64) -> Duration = Duration::from_secs;

fn value(r: &impl HasHeaders, name: H) -> Option<String> {
    r.headers_of().get(name).map(|v| v.to_string())
}

trait HasHeaders {
    fn headers_of(&self) -> &sip_message::Headers;
}
impl HasHeaders for Request {
    fn headers_of(&self) -> &sip_message::Headers {
        self.headers()
    }
}
impl HasHeaders for Response {
    fn headers_of(&self) -> &sip_message::Headers {
        self.headers()
    }
}

/// Alice calls; Bob's 200 carries `extra` header lines. Returns the call and the INVITE.
fn answered(extra: &[(H, &str)]) -> (Sim, CallKey, Request) {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    assert_eq!(value(&invite, H::SessionExpires).as_deref(), Some("1800"));
    assert_eq!(value(&invite, H::MinSe).as_deref(), Some("90"));
    let mut ok = answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com");
    for (name, v) in extra {
        ok.push_header(*name, *v);
    }
    sim.response(ok);
    assert!(!acks(&sim.take()).is_empty());
    (sim, call, invite)
}

#[test]
fn the_caller_refreshes_with_update_at_half_the_interval() {
    let (mut sim, call, _) =
        answered(&[(H::SessionExpires, "120;refresher=uac"), (H::Require, "timer"), (H::Allow, "INVITE, UPDATE")]);
    sim.run_until(S(59));
    assert!(sim.take().is_empty());
    sim.run_until(S(60));
    let update = requests(&sim.take()).remove(0);
    assert_eq!(update.method(), &Method::Update);
    assert_eq!(value(&update, H::SessionExpires).as_deref(), Some("120;refresher=uac"));
    assert!(update.body().is_empty(), "a refresh by UPDATE needs no SDP");
    let mut ok = update.make_response(StatusCode::OK, None).unwrap();
    ok.push_header(H::SessionExpires, "120;refresher=uac");
    sim.response(ok);
    assert!(sim.take().is_empty(), "a refresh is no news to the application");
    // The next at half the interval after that 2xx; never a BYE while refreshes succeed.
    sim.run_until(S(120));
    let next = requests(&sim.take());
    assert_eq!(next.iter().map(|r| r.method().clone()).collect::<Vec<_>>(), [Method::Update]);
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
}

#[test]
fn without_update_the_refresh_is_a_reinvite_repeating_our_sdp() {
    let (mut sim, _call, invite) = answered(&[(H::SessionExpires, "100;refresher=uac")]);
    sim.run_until(S(50));
    let reinvite = requests(&sim.take()).remove(0);
    assert_eq!(reinvite.method(), &Method::Invite);
    assert_eq!(reinvite.body(), invite.body(), "the offer of the INVITE, unchanged");
    assert_eq!(value(&reinvite, H::SessionExpires).as_deref(), Some("100;refresher=uac"));
    let mut ok = answer(&reinvite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com");
    ok.set_body(Some("application/sdp"), bytes::Bytes::from_static(b"v=0\r\n"));
    sim.response(ok);
    let out = sim.take();
    assert_eq!(acks(&out).len(), 1, "the refresh's 2xx is ACKed");
    assert!(events(&out).is_empty());
    // A 491 (glare) to the next one: again after the glare interval, not at once.
    sim.run_until(S(100));
    let second = requests(&sim.take()).remove(0);
    sim.response(second.make_response(StatusCode::REQUEST_PENDING, None).unwrap());
    sim.take();
    sim.run_until(S(100) + MS(2000));
    assert!(requests(&sim.take()).is_empty());
    sim.run_until(S(100) + MS(4000));
    assert_eq!(requests(&sim.take()).len(), 1);
}

#[test]
fn when_the_peer_refreshes_and_stops_we_send_bye_before_the_end() {
    let (mut sim, call, _) = answered(&[(H::SessionExpires, "120;refresher=uas")]);
    // Bob refreshes at 60 s with an UPDATE, then never again.
    sim.run_until(S(60));
    assert!(sim.take().is_empty(), "the peer refreshes, not us");
    let mut update = from_bob(Method::Update, 2);
    update.push_header(H::SessionExpires, "120;refresher=uac");
    sim.request(40, update);
    let tx = match &events(&sim.take())[..] {
        [CallEventKind::Request { tx, .. }] => *tx,
        other => panic!("{other:?}"),
    };
    sim.calls.respond(sim.now, call, tx, StatusCode::OK, None).unwrap();
    let (_, ok) = responses(&sim.take()).remove(0);
    assert_eq!(value(&ok, H::SessionExpires).as_deref(), Some("120;refresher=uac"), "the peer stays the refresher");
    // 120 s after that refresh, less min(32, 120/3): a BYE at 60 + 88 s.
    sim.run_until(S(147));
    assert!(requests(&sim.take()).is_empty());
    sim.run_until(S(148));
    let bye = requests(&sim.take()).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    sim.response(bye.make_response(StatusCode::OK, None).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::SessionExpired));
}

#[test]
fn a_422_raises_the_interval_to_the_peers_min_se() {
    let mut sim = Sim::new(alice_config());
    sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    let mut too_small = invite.make_response(StatusCode::SESSION_INTERVAL_TOO_SMALL, Some("b1")).unwrap();
    too_small.push_header(H::MinSe, "3600");
    sim.response(too_small);
    let again = requests(&sim.take()).remove(0);
    assert_eq!(again.method(), &Method::Invite);
    assert_eq!(cseq(&again), 2);
    assert_eq!(value(&again, H::SessionExpires).as_deref(), Some("3600"));
    assert_eq!(value(&again, H::MinSe).as_deref(), Some("3600"));
    // A second 422 asking for no more than we asked ends the call.
    let mut same = again.make_response(StatusCode::SESSION_INTERVAL_TOO_SMALL, Some("b1")).unwrap();
    same.push_header(H::MinSe, "3600");
    sim.response(same);
    let out = sim.take();
    assert!(requests(&out).is_empty());
    assert_eq!(terminated(&out), Some(EndReason::Failed { status: StatusCode::SESSION_INTERVAL_TOO_SMALL }));
}

fn bob_receives(extra: &[(H, &str)]) -> (Sim, Option<CallKey>) {
    let mut sim = Sim::new(bob_config());
    let mut invite = alice_invite();
    for (name, v) in extra {
        invite.push_header(*name, *v);
    }
    sim.request(10, invite);
    let call = match &sim.take()[..] {
        [Output::Event(e)] => Some(e.call),
        _ => None,
    };
    (sim, call)
}

#[test]
fn an_interval_below_our_min_se_gets_422_and_no_call() {
    let mut sim = Sim::new(bob_config());
    let mut invite = alice_invite();
    invite.push_header(H::SessionExpires, "60");
    sim.request(10, invite);
    let out = sim.take();
    let (tx, r) = responses(&out).remove(0);
    assert_eq!((tx, r.status()), (TxId(10), StatusCode::SESSION_INTERVAL_TOO_SMALL));
    assert_eq!(value(&r, H::MinSe).as_deref(), Some("90"));
    assert!(events(&out).is_empty());
    assert!(sim.calls.is_empty());
}

#[test]
fn the_callee_takes_the_callers_interval_and_lets_a_supporting_caller_refresh() {
    let (mut sim, call) = bob_receives(&[(H::Supported, "timer"), (H::SessionExpires, "300")]);
    let call = call.unwrap();
    sim.calls.accept(sim.now, call, Some(Body::sdp(&b"v=0\r\n"[..]))).unwrap();
    let (_, ok) = responses(&sim.take()).remove(0);
    assert_eq!(value(&ok, H::SessionExpires).as_deref(), Some("300;refresher=uac"));
    assert_eq!(value(&ok, H::Require).as_deref(), Some("timer"));
    let tag = ok.headers().to().unwrap().tag().unwrap().to_owned();
    sim.ack(alice_ack(1, &tag));
    sim.take();
    // No refresh from Alice: Bob ends the call at 300 - 32 s.
    sim.run_until(S(267));
    assert!(requests(&sim.take()).is_empty());
    sim.run_until(S(268));
    let bye = requests(&sim.take()).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
}

#[test]
fn a_caller_without_timers_gets_one_run_by_the_callee_with_reinvites() {
    let (mut sim, call) = bob_receives(&[]);
    let call = call.unwrap();
    sim.calls.accept(sim.now, call, Some(Body::sdp(&b"v=0 bob\r\n"[..]))).unwrap();
    let (_, ok) = responses(&sim.take()).remove(0);
    assert_eq!(value(&ok, H::SessionExpires).as_deref(), Some("1800;refresher=uas"));
    assert_eq!(value(&ok, H::Require), None, "the caller does not support timer");
    let tag = ok.headers().to().unwrap().tag().unwrap().to_owned();
    sim.ack(alice_ack(1, &tag));
    sim.take();
    sim.run_until(S(900));
    let refresh = requests(&sim.take()).remove(0);
    assert_eq!(refresh.method(), &Method::Invite);
    assert_eq!(&refresh.body()[..], b"v=0 bob\r\n", "our own SDP, unchanged");
    assert_eq!(value(&refresh, H::SessionExpires).as_deref(), Some("1800;refresher=uac"));
    // A refresh that times out ends the call with a BYE (RFC 4028 §10).
    sim.response(sip_dialog::failure_response(&refresh, sip_dialog::TxFailure::Timeout).unwrap());
    let bye = requests(&sim.take()).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
}
