//! The UAC of an INVITE on a simulated clock: early dialogs and forking, the 2xx ACK and its
//! retransmission, CANCEL and the 487, redirects, and digest challenges.

mod common;

use common::*;
use sip_dialog::{CallEventKind, CallState, EndReason, Output};
use sip_message::auth::{Authorization, Credentials, DigestServer, Secret, Verdict, VerifyRequest};
use sip_message::{Method, StandardHeader as H, StatusCode};

#[test]
fn the_invite_goes_out_first() {
    let mut sim = Sim::new(alice_config());
    let invite = alice_invite();
    let call = sim.invite(invite.clone());
    let out = sim.take();
    // As built, with the session timer of the default configuration (RFC 4028).
    let mut expected = invite.clone();
    let at = expected.headers().position(H::ContentLength).unwrap();
    expected.headers_mut().insert(at, H::SessionExpires, "1800");
    expected.headers_mut().insert(at + 1, H::MinSe, "90");
    assert!(matches!(&out[..], [Output::Request(r)] if *r == expected), "{out:?}");
    assert_eq!(sim.calls.state(call), Some(CallState::Calling));
    let mut no_contact = alice_invite();
    no_contact.headers_mut().remove_all(H::Contact);
    assert!(sim.calls.invite(sim.now, no_contact, None).is_err());
}

#[test]
fn forking_first_2xx_wins_and_a_later_one_gets_ack_then_bye() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);

    sim.response(answer(&invite, StatusCode::TRYING, "", ""));
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@phone1.biloxi.com"));
    sim.response(answer(&invite, StatusCode::RINGING, "b2", "sip:bob@phone2.biloxi.com"));
    let out = sim.take();
    let early: Vec<_> = events(&out)
        .into_iter()
        .filter_map(|e| {
            if let CallEventKind::Progress { early, .. } = e {
                Some(early.map(|d| d.remote_tag))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(early, [None, Some("b1".into()), Some("b2".into())]);
    assert_eq!(sim.calls.state(call), Some(CallState::Early));
    assert_eq!(sim.calls.early_dialogs(call).len(), 2);

    // The first 200 wins: ACK, and the call is established in b1's dialog.
    sim.response(answer(&invite, StatusCode::OK, "b1", "sip:bob@phone1.biloxi.com"));
    let out = sim.take();
    let ack = acks(&out).remove(0);
    assert_eq!(ack.uri_str(), "sip:bob@phone1.biloxi.com");
    assert_eq!(ack.headers().to().unwrap().tag(), Some("b1"));
    assert_eq!(ack.headers().cseq().unwrap().seq, 1);
    assert_eq!(ack.headers().cseq().unwrap().method, Method::Ack);
    assert!(matches!(events(&out)[..], [CallEventKind::Answered { .. }]));
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    assert_eq!(sim.calls.dialog(call).unwrap().id().remote_tag, "b1");

    // The second fork's 200: ACK, then BYE, both in b2's dialog.
    sim.response(answer(&invite, StatusCode::OK, "b2", "sip:bob@phone2.biloxi.com"));
    let out = sim.take();
    let ack2 = acks(&out).remove(0);
    assert_eq!(ack2.headers().to().unwrap().tag(), Some("b2"));
    assert_eq!(ack2.uri_str(), "sip:bob@phone2.biloxi.com");
    let bye = requests(&out).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    assert_eq!(bye.headers().to().unwrap().tag(), Some("b2"));
    assert_eq!(bye.uri_str(), "sip:bob@phone2.biloxi.com");
    assert_eq!(cseq(&bye), 2);
    let pos_ack = out.iter().position(|o| matches!(o, Output::Ack(_))).unwrap();
    let pos_bye = out.iter().position(|o| matches!(o, Output::Request(_))).unwrap();
    assert!(pos_ack < pos_bye, "the ACK goes before the BYE");
    assert!(matches!(&events(&out)[..], [CallEventKind::ForkDiscarded { dialog }] if dialog.remote_tag == "b2"));
    // The discarded fork's BYE completes quietly; the call goes on with b1.
    sim.response(answer(&bye, StatusCode::OK, "b2", "sip:bob@phone2.biloxi.com"));
    assert!(sim.take().is_empty());
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    // A retransmission of the discarded fork's 200 is acknowledged again.
    sim.response(answer(&invite, StatusCode::OK, "b2", "sip:bob@phone2.biloxi.com"));
    assert_eq!(acks(&sim.take()), [ack2]);
}

#[test]
fn the_2xx_ack_is_sent_again_for_every_retransmitted_2xx() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    let ok = answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com");
    sim.response(ok.clone());
    let first = acks(&sim.take());
    assert_eq!(first.len(), 1);
    for _ in 0..3 {
        sim.response(ok.clone());
        let out = sim.take();
        assert_eq!(acks(&out), first, "the same ACK, branch and all");
        assert!(events(&out).is_empty(), "a retransmission is no news");
    }
    assert_eq!(sim.calls.state(call), Some(CallState::Established));
    assert_eq!(sim.calls.poll_timeout(), None, "an established UAC call holds no timer");
}

#[test]
fn cancel_waits_for_a_provisional_then_the_487_ends_the_call() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.calls.cancel(sim.now, call).unwrap();
    assert!(requests(&sim.take()).is_empty(), "no CANCEL before a provisional response (§9.1)");
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@client.biloxi.com"));
    let cancel = requests(&sim.take()).remove(0);
    assert_eq!(cancel, invite.cancel().unwrap());
    sim.response(cancel.make_response(StatusCode::OK, Some("b1")).unwrap());
    assert!(sim.take().is_empty());
    sim.response(answer(&invite, StatusCode::REQUEST_TERMINATED, "b1", "sip:bob@client.biloxi.com"));
    assert_eq!(terminated(&sim.take()), Some(EndReason::Cancelled));
    assert!(sim.calls.is_empty());
    assert_eq!(sim.calls.poll_timeout(), None);
}

#[test]
fn cancel_without_a_final_response_gives_up_after_64_t1() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@client.biloxi.com"));
    sim.run_until(MS(1000));
    sim.calls.cancel(sim.now, call).unwrap();
    sim.take();
    sim.run_to_end();
    assert_eq!(terminated(&sim.take()), Some(EndReason::Cancelled));
    assert_eq!(sim.elapsed(), MS(33_000));
    assert!(sim.calls.is_empty());
}

#[test]
fn answered_while_cancelling_gets_ack_and_bye() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@client.biloxi.com"));
    sim.calls.cancel(sim.now, call).unwrap();
    sim.take();
    sim.response(answer(&invite, StatusCode::OK, "b1", "sip:bob@client.biloxi.com"));
    let out = sim.take();
    assert_eq!(acks(&out).len(), 1);
    let bye = requests(&out).remove(0);
    assert_eq!(bye.method(), &Method::Bye);
    assert!(!events(&out).iter().any(|e| matches!(e, CallEventKind::Answered { .. })));
    sim.response(bye.make_response(StatusCode::OK, None).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::Cancelled));
}

#[test]
fn no_answer_timeout_cancels() {
    let mut cfg = alice_config();
    cfg.no_answer_timeout = Some(MS(20_000));
    let mut sim = Sim::new(cfg);
    sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@client.biloxi.com"));
    sim.run_until(MS(20_000));
    let out = sim.take();
    assert_eq!(requests(&out)[0].method(), &Method::Cancel);
    sim.response(answer(&invite, StatusCode::REQUEST_TERMINATED, "b1", "sip:bob@client.biloxi.com"));
    assert_eq!(terminated(&sim.take()), Some(EndReason::NoAnswer));
}

#[test]
fn failure_ends_the_call_and_its_early_dialogs() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@client.biloxi.com"));
    sim.response(answer(&invite, StatusCode::BUSY_HERE, "b1", "sip:bob@client.biloxi.com"));
    assert_eq!(terminated(&sim.take()), Some(EndReason::Failed { status: StatusCode::BUSY_HERE }));
    assert_eq!(sim.calls.state(call), None);
    // A timeout reported by the transaction layer is a 408 (§8.1.3.1).
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(sip_dialog::failure_response(&invite, sip_dialog::TxFailure::Timeout).unwrap());
    assert_eq!(terminated(&sim.take()), Some(EndReason::Failed { status: StatusCode::REQUEST_TIMEOUT }));
    assert_eq!(sim.calls.state(call), None);
}

#[test]
fn redirect_follows_the_best_target_within_the_bound() {
    let mut cfg = alice_config();
    cfg.max_redirects = 2;
    let mut sim = Sim::new(cfg);
    sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    let mut moved = invite.make_response(StatusCode::MOVED_TEMPORARILY, Some("r1")).unwrap();
    moved.push_header(H::Contact, "<sip:bob@low.biloxi.com>;q=0.1, <sip:bob@high.biloxi.com>;q=0.9");
    moved.push_header(H::Contact, "<sip:bob@mid.biloxi.com>;q=0.5");
    sim.response(moved);
    let out = sim.take();
    let (targets, following) = match &events(&out)[..] {
        [CallEventKind::Redirected { targets, following, status }] => {
            assert_eq!(*status, StatusCode::MOVED_TEMPORARILY);
            (targets.clone(), following.clone())
        }
        other => panic!("{other:?}"),
    };
    let uris: Vec<_> = targets.iter().map(|t| t.uri.as_str()).collect();
    assert_eq!(uris, ["sip:bob@high.biloxi.com", "sip:bob@mid.biloxi.com", "sip:bob@low.biloxi.com"]);
    assert_eq!(following.as_deref(), Some("sip:bob@high.biloxi.com"));
    let second = requests(&out).remove(0);
    assert_eq!(second.uri_str(), "sip:bob@high.biloxi.com");
    assert_eq!(cseq(&second), 2);
    assert_eq!(second.headers().call_id().unwrap(), "call-1@atlanta.com");
    assert_eq!(second.headers().from().unwrap().tag(), Some("a1"));
    assert_eq!(second.headers().to().unwrap().tag(), None);
    assert_ne!(second.headers().top_via().unwrap().branch(), invite.headers().top_via().unwrap().branch());

    // That target fails: the next one, which reaches the bound of 2.
    sim.response(answer(&second, StatusCode::NOT_FOUND, "x", "sip:x@x"));
    let third = requests(&sim.take()).remove(0);
    assert_eq!(third.uri_str(), "sip:bob@mid.biloxi.com");
    assert_eq!(cseq(&third), 3);
    let mut again = third.make_response(StatusCode::MOVED_PERMANENTLY, Some("r3")).unwrap();
    again.push_header(H::Contact, "<sip:bob@elsewhere.biloxi.com>");
    sim.response(again);
    let out = sim.take();
    assert!(matches!(&events(&out)[0], CallEventKind::Redirected { following: None, .. }));
    assert!(requests(&out).is_empty());
    assert_eq!(terminated(&out), Some(EndReason::Failed { status: StatusCode::MOVED_PERMANENTLY }));
}

fn challenge(server: &DigestServer, request: &sip_message::Request, nonce: &str) -> sip_message::Response {
    let mut r = request.make_response(StatusCode::PROXY_AUTHENTICATION_REQUIRED, Some("p")).unwrap();
    for c in server.challenges_with_nonce(nonce, false) {
        r.push_header(H::ProxyAuthenticate, c.to_string());
    }
    r
}

#[test]
fn a_challenged_invite_goes_again_with_credentials() {
    let server = DigestServer::new("atlanta.com");
    let mut sim = Sim::new(alice_config());
    let call = sim.calls.invite(sim.now, alice_invite(), Some(Credentials::new("alice", "secret"))).unwrap();
    let invite = requests(&sim.take()).remove(0);
    sim.response(challenge(&server, &invite, "n1"));
    let retry = requests(&sim.take()).remove(0);
    assert_eq!(cseq(&retry), 2);
    assert_eq!(retry.headers().call_id().unwrap(), "call-1@atlanta.com");
    assert_eq!(retry.body(), invite.body());
    let creds = retry.headers().get(H::ProxyAuthorization).unwrap();
    let auth = Authorization::parse(creds).unwrap();
    let verdict = server
        .verify(
            &auth,
            &VerifyRequest {
                method: "INVITE",
                request_uri: Some(retry.uri_str()),
                body: retry.body(),
                username: "alice",
                secret: Secret::Password("secret"),
                nonce_stale: false,
                last_nc: None,
            },
        )
        .unwrap();
    assert_eq!(verdict, Verdict::Authorized);
    sim.response(answer(&retry, StatusCode::OK, "b1", "sip:bob@client.biloxi.com"));
    let ack = acks(&sim.take()).remove(0);
    assert_eq!(ack.headers().get(H::ProxyAuthorization), Some(creds), "§13.2.2.4: the INVITE's credentials");
    assert_eq!(cseq(&ack), 2);
    assert_eq!(sim.calls.state(call), Some(CallState::Established));

    // Challenged again after answering: the password is wrong.
    let mut other = alice_invite();
    other.headers_mut().set(H::CallId, "call-2@atlanta.com");
    let call = sim.calls.invite(sim.now, other, Some(Credentials::new("alice", "wrong"))).unwrap();
    let invite = requests(&sim.take()).remove(0);
    sim.response(challenge(&server, &invite, "n1"));
    let retry = requests(&sim.take()).remove(0);
    sim.response(challenge(&server, &retry, "n2"));
    assert!(matches!(terminated(&sim.take()), Some(EndReason::AuthFailed { .. })));
    assert_eq!(sim.calls.state(call), None);
}

#[test]
fn a_2xx_after_the_call_is_gone_gets_ack_and_bye_once() {
    let mut sim = Sim::new(alice_config());
    let call = sim.invite(alice_invite());
    let invite = requests(&sim.take()).remove(0);
    sim.response(answer(&invite, StatusCode::RINGING, "b1", "sip:bob@phone1.biloxi.com"));
    sim.calls.cancel(sim.now, call).unwrap();
    let cancel = requests(&sim.take()).remove(0);
    sim.response(cancel.make_response(StatusCode::OK, Some("b1")).unwrap());
    sim.response(answer(&invite, StatusCode::REQUEST_TERMINATED, "b1", "sip:bob@phone1.biloxi.com"));
    assert_eq!(terminated(&sim.take()), Some(EndReason::Cancelled));
    assert!(sim.calls.is_empty());

    // Another fork answers after all that (a proxy forwards every 2xx, RFC 3261 §16.7).
    let mut late = answer(&invite, StatusCode::OK, "b2", "sip:bob@phone2.biloxi.com");
    late.push_header(H::RecordRoute, "<sip:proxy.biloxi.com;lr>");
    sim.response(late.clone());
    let out = sim.take();
    let ack = acks(&out).remove(0);
    let bye = requests(&out).remove(0);
    assert_eq!(ack.uri_str(), "sip:bob@phone2.biloxi.com");
    assert_eq!(cseq(&ack), cseq(&invite), "the ACK keeps the INVITE's CSeq number");
    assert_eq!(*bye.method(), Method::Bye);
    assert_eq!(bye.uri_str(), "sip:bob@phone2.biloxi.com");
    assert_eq!(bye.headers().get(H::Route).map(|r| r.to_string()).as_deref(), Some("<sip:proxy.biloxi.com;lr>"));
    assert_eq!(bye.headers().to().unwrap().tag(), Some("b2"));
    assert!(cseq(&bye) > cseq(&invite));
    assert!(events(&out).is_empty(), "no call, no event");

    // Its retransmission is ACKed again, with no second BYE.
    sim.response(late);
    let out = sim.take();
    assert_eq!(acks(&out), vec![ack]);
    assert!(requests(&out).is_empty());
    assert!(sim.calls.is_empty());
}

/// A key reserved before the INVITE exists names the call from then on; a key no one
/// reserved, or one a call already has, is refused.
#[test]
fn a_reserved_key_starts_the_call_it_names() {
    let mut calls = sip_dialog::Calls::new(alice_config(), seeded(1));
    let now = std::time::Instant::now();
    let key = calls.reserve_key();
    calls.invite_as(now, key, alice_invite(), None).expect("the reserved key starts a call");
    assert!(calls.state(key).is_some(), "the call is known by the reserved key");
    assert!(calls.invite_as(now, key, alice_invite(), None).is_err(), "a key in use is refused");
    let unreserved = sip_dialog::CallKey(key.0 + 100);
    assert!(calls.invite_as(now, unreserved, alice_invite(), None).is_err(), "an unreserved key is refused");
    assert_ne!(calls.reserve_key(), key, "keys are not handed out twice");
}
