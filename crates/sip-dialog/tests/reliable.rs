//! Reliable provisional responses (RFC 3262) on a simulated clock: the UAS repeats a
//! reliable 1xx until its PRACK and holds back what must wait for it; the UAC PRACKs each
//! new reliable 1xx once, in RSeq order.

mod common;

use common::*;
use sip_dialog::{Body, CallEventKind, CallKey, CallState, EndReason, Output};
use sip_message::header::typed::{RAck, RSeq};
use sip_message::{Method, Request, Response, StandardHeader as H, StatusCode};

/// Bob's Sim with Alice's INVITE carrying `extra` (e.g. `Require: 100rel`) in transaction 10.
fn incoming(extra: (H, &str)) -> (Sim, CallKey) {
    let mut sim = Sim::new(bob_config());
    let mut invite = alice_invite();
    invite.push_header(extra.0, extra.1);
    assert!(sim.request(10, invite).is_none());
    let call = match &sim.take()[..] {
        [Output::Event(e)] => e.call,
        other => panic!("{other:?}"),
    };
    (sim, call)
}

fn rseq(r: &Response) -> Option<u32> {
    r.headers().typed_opt::<RSeq>().expect("RSeq parses").map(|n| n.0)
}

fn prack(seq: u32, tag: &str, rseq: u32) -> Request {
    let mut p = from_alice(Method::Prack, seq, tag);
    p.headers_mut().remove_all(H::Contact);
    p.push_header(H::RAck, format!("{rseq} 1 INVITE"));
    p
}

fn sdp() -> Option<Body> {
    Some(Body::sdp(&b"v=0\r\n"[..]))
}

#[test]
fn a_required_180_is_repeated_t1_doubling_until_its_prack() {
    let (mut sim, call) = incoming((H::Require, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    let (_, ringing) = responses(&sim.take()).remove(0);
    assert_eq!(ringing.headers().get(H::Require).map(|v| v.as_str()), Some("100rel"));
    let n = rseq(&ringing).expect("an RSeq");
    assert!((1..1 << 31).contains(&n));
    let tag = ringing.headers().to().unwrap().tag().unwrap().to_owned();
    sim.run_until(MS(3_600));
    let times: Vec<u128> = sim
        .log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Response { response, .. } if response.status() == StatusCode::RINGING))
        .map(|(t, _)| t.as_millis())
        .collect();
    assert_eq!(times, [0, 500, 1500, 3500], "from T1, doubling");
    sim.take();

    // A PRACK naming another RSeq is refused; the right one stops the repeats.
    assert!(sim.request(11, prack(2, &tag, n + 7)).is_none());
    assert_eq!(statuses(&sim.take()), [481]);
    assert!(sim.request(12, prack(3, &tag, n)).is_none());
    let out = sim.take();
    assert_eq!(responses(&out).iter().map(|(tx, r)| (tx.0, r.status().as_u16())).collect::<Vec<_>>(), [(12, 200)]);
    assert!(events(&out).is_empty(), "a PRACK without a body is no news");
    sim.run_until(MS(40_000));
    assert!(sim.take().is_empty(), "no repeats after the PRACK");
    assert_eq!(sim.calls.state(call), Some(CallState::Early));

    // The next reliable 1xx takes the next RSeq.
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    let (_, progress) = responses(&sim.take()).remove(0);
    assert_eq!(rseq(&progress), Some(n + 1));
}

#[test]
fn only_a_1xx_with_a_body_goes_reliably_when_100rel_is_merely_supported() {
    let (mut sim, call) = incoming((H::Supported, "timer, 100rel"));
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    let (_, ringing) = responses(&sim.take()).remove(0);
    assert_eq!(rseq(&ringing), None, "a bare 180 gains nothing from a PRACK");
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    let (_, progress) = responses(&sim.take()).remove(0);
    assert!(rseq(&progress).is_some(), "the early answer must not be lost");

    let (mut plain, call) = incoming((H::Subject, "no extensions"));
    plain.calls.progress(plain.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    let (_, progress) = responses(&plain.take()).remove(0);
    assert_eq!(progress.headers().get(H::Require), None);
    assert_eq!(rseq(&progress), None);
}

#[test]
fn the_next_1xx_and_a_2xx_after_early_sdp_wait_for_the_prack() {
    let (mut sim, call) = incoming((H::Require, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    let (_, progress) = responses(&sim.take()).remove(0);
    let (n, tag) = (rseq(&progress).unwrap(), progress.headers().to().unwrap().tag().unwrap().to_owned());
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    sim.calls.accept(sim.now, call, sdp()).unwrap();
    assert!(sim.take().is_empty(), "§3: both wait for the PRACK of the 183 with SDP");
    assert!(sim.request(11, prack(2, &tag, n)).is_none());
    // 200 to the PRACK, then the 180 (reliable, RSeq n+1) — the 200 still waits behind it.
    let out = sim.take();
    let sent: Vec<(u64, u16, Option<u32>)> =
        responses(&out).iter().map(|(tx, r)| (tx.0, r.status().as_u16(), rseq(r))).collect();
    assert_eq!(sent, [(11, 200, None), (10, 180, Some(n + 1))]);
    assert!(sim.request(12, prack(3, &tag, n + 1)).is_none());
    let out = sim.take();
    let sent: Vec<(u64, u16)> = responses(&out).iter().map(|(tx, r)| (tx.0, r.status().as_u16())).collect();
    assert_eq!(sent, [(12, 200), (10, 200)]);
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    sim.ack(alice_ack(1, &tag));
    assert!(matches!(&events(&sim.take())[..], [CallEventKind::Confirmed { .. }]));
}

/// RFC 3262 §5: after our reliable 183 answered the INVITE's offer, a PRACK with a body
/// offers anew. It is not answered by the layer but goes to the application as a request,
/// and the 200 the application gives carries its answer.
#[test]
fn an_offer_in_a_prack_goes_to_the_application_which_answers_it() {
    let (mut sim, call) = incoming((H::Supported, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    let (_, progress) = responses(&sim.take()).remove(0);
    let (n, tag) = (rseq(&progress).unwrap(), progress.headers().to().unwrap().tag().unwrap().to_owned());
    let mut offer = prack(2, &tag, n);
    offer.set_body(Some("application/sdp"), bytes::Bytes::from_static(b"v=0\r\n"));
    assert!(sim.request(11, offer).is_none());
    let out = sim.take();
    assert!(responses(&out).is_empty(), "the PRACK waits for the application's answer");
    assert!(
        matches!(&events(&out)[..], [CallEventKind::Request { request, .. }] if *request.method() == Method::Prack)
    );
    sim.calls.respond(sim.now, call, sip_transaction::TxId(11), StatusCode::OK, sdp()).unwrap();
    let out = sim.take();
    let (tx, ok) = responses(&out).remove(0);
    assert_eq!((tx.0, ok.status()), (11, StatusCode::OK));
    assert_eq!(ok.body().as_ref(), b"v=0\r\n", "the answer rides in the PRACK's 200");
    // The repeats of the 183 stopped with the PRACK.
    sim.run_until(MS(5_000));
    assert!(responses(&sim.take()).is_empty());
}

#[test]
fn a_2xx_waits_behind_a_held_183_with_sdp() {
    let (mut sim, call) = incoming((H::Require, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    let (_, ringing) = responses(&sim.take()).remove(0);
    let (n, tag) = (rseq(&ringing).unwrap(), ringing.headers().to().unwrap().tag().unwrap().to_owned());
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    sim.calls.accept(sim.now, call, sdp()).unwrap();
    assert!(sim.take().is_empty(), "the 183 waits for the 180's PRACK, the 200 for the 183's");
    sim.request(11, prack(2, &tag, n));
    let sent: Vec<u16> = responses(&sim.take()).iter().map(|(_, r)| r.status().as_u16()).collect();
    assert_eq!(sent, [200, 183]);
    sim.request(12, prack(3, &tag, n + 1));
    let sent: Vec<u16> = responses(&sim.take()).iter().map(|(_, r)| r.status().as_u16()).collect();
    assert_eq!(sent, [200, 200]);
}

#[test]
fn a_2xx_after_a_bare_reliable_180_goes_at_once() {
    let (mut sim, call) = incoming((H::Require, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::RINGING, None).unwrap();
    sim.take();
    sim.calls.accept(sim.now, call, sdp()).unwrap();
    assert_eq!(statuses(&sim.take()), [200]);
    sim.run_until(MS(1_600));
    assert!(statuses(&sim.take()).iter().all(|s| *s == 200), "the 180 is not repeated after the 200");
}

#[test]
fn no_prack_in_64_t1_refuses_the_invite_with_500() {
    let (mut sim, call) = incoming((H::Require, "100rel"));
    sim.calls.progress(sim.now, call, StatusCode::SESSION_PROGRESS, sdp()).unwrap();
    sim.calls.accept(sim.now, call, sdp()).unwrap();
    sim.run_until(MS(32_000));
    let out = sim.take();
    let last = responses(&out).pop().unwrap().1;
    assert_eq!((last.status().as_u16(), last.reason().as_str()), (500, "No PRACK"));
    assert_eq!(terminated(&out), Some(EndReason::NoPrack));
    assert!(!statuses(&out).contains(&200), "the held 200 never went");
    assert!(sim.calls.is_empty());
}

/// Alice's Sim with her INVITE sent; returns it.
fn calling() -> (Sim, CallKey, Request) {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    (sim, call, invite)
}

fn reliable(invite: &Request, status: StatusCode, tag: &str, rseq: u32) -> Response {
    let mut r = answer(invite, status, tag, "sip:bob@client.biloxi.com");
    r.push_header(H::Require, "100rel");
    r.push_header(H::RSeq, rseq.to_string());
    r
}

#[test]
fn the_caller_pracks_each_new_reliable_1xx_once_in_order() {
    let (mut sim, call, invite) = calling();
    sim.response(reliable(&invite, StatusCode::SESSION_PROGRESS, "b1", 77));
    let out = sim.take();
    let pracks = requests(&out);
    assert_eq!(pracks.len(), 1);
    let p = &pracks[0];
    assert_eq!(p.method(), &Method::Prack);
    assert_eq!(p.uri_str(), "sip:bob@client.biloxi.com", "sent in the early dialog");
    assert_eq!(p.headers().to().unwrap().tag(), Some("b1"));
    assert_eq!(cseq(p), 2);
    assert_eq!(p.headers().typed::<RAck>().unwrap(), RAck { rseq: 77, cseq: 1, method: Method::Invite });
    assert!(matches!(&events(&out)[..], [CallEventKind::Progress { .. }]));

    // A repeat and one out of order are dropped without a PRACK or an event.
    sim.response(reliable(&invite, StatusCode::SESSION_PROGRESS, "b1", 77));
    sim.response(reliable(&invite, StatusCode::RINGING, "b1", 79));
    assert!(sim.take().is_empty());
    sim.response(p.make_response(StatusCode::OK, None).unwrap());
    assert!(sim.take().is_empty());
    sim.response(reliable(&invite, StatusCode::RINGING, "b1", 78));
    let out = sim.take();
    assert_eq!(requests(&out).iter().map(cseq).collect::<Vec<_>>(), [3]);

    // Another fork numbers its own responses; an unreliable 1xx is never PRACKed.
    sim.response(reliable(&invite, StatusCode::RINGING, "b2", 5));
    sim.response(answer(&invite, StatusCode::RINGING, "b3", "sip:bob@phone3.biloxi.com"));
    let out = sim.take();
    assert_eq!(requests(&out).len(), 1);
    assert_eq!(requests(&out)[0].headers().to().unwrap().tag(), Some("b2"));

    // The BYE after the answer comes after the PRACKs in the dialog's CSeq space.
    sim.response(answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com"));
    sim.take();
    sim.calls.hangup(sim.now, call).unwrap();
    let bye = requests(&sim.take()).remove(0);
    assert_eq!((bye.method(), cseq(&bye)), (&Method::Bye, 4));
}
