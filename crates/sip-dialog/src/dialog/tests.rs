//! Dialog creation on both sides, route sets, strict routing, the CSeq rules and target
//! refresh.

use super::*;
use crate::error::DialogError;
use crate::via::ViaTemplate;
use sip_message::{Method, Request, RequestBuilder, Response, StandardHeader as H, StatusCode};

fn invite() -> Request {
    RequestBuilder::new(Method::Invite, "sip:bob@biloxi.com")
        .from(Some("Alice"), "sip:alice@atlanta.com")
        .from_tag("a1")
        .to(Some("Bob"), "sip:bob@biloxi.com")
        .via("UDP", "pc33.atlanta.com")
        .call_id("c1@atlanta.com")
        .cseq(314159)
        .contact("sip:alice@pc33.atlanta.com")
        .build()
        .unwrap()
}

/// The INVITE as Bob's UAS receives it, through two record-routing proxies.
fn received_invite() -> Request {
    let mut r = invite();
    r.headers_mut().push_front(H::Via, "SIP/2.0/UDP p2.biloxi.com;branch=z9hG4bKp2");
    r.headers_mut().push_front(H::Via, "SIP/2.0/UDP p1.atlanta.com;branch=z9hG4bKp1");
    r.push_header(H::RecordRoute, "<sip:p2.biloxi.com;lr>");
    r.push_header(H::RecordRoute, "<sip:p1.atlanta.com;lr>");
    r
}

/// A response as it reaches the UAC: the proxies' Vias gone, Record-Route as the UAS sent it.
fn answer(status: StatusCode, tag: &str) -> Response {
    let mut resp = invite().make_response(status, Some(tag)).unwrap();
    resp.push_header(H::RecordRoute, "<sip:p2.biloxi.com;lr>");
    resp.push_header(H::RecordRoute, "<sip:p1.atlanta.com;lr>");
    resp.push_header(H::Contact, "<sip:bob@client.biloxi.com>");
    resp
}

fn bob() -> ViaTemplate {
    ViaTemplate::new("UDP", "client.biloxi.com")
}

#[test]
fn uac_dialog_from_a_2xx() {
    let d = Dialog::uac(&invite(), &answer(StatusCode::OK, "b1")).unwrap();
    assert_eq!(d.id(), &DialogId::new("c1@atlanta.com", "a1", "b1"));
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.role(), Role::Uac);
    assert!(d.owns_call_id());
    assert_eq!(d.local_seq(), Some(314159));
    assert_eq!(d.remote_seq(), None);
    assert_eq!(d.local_uri(), "sip:alice@atlanta.com");
    assert_eq!(d.remote_uri(), "sip:bob@biloxi.com");
    assert_eq!(d.remote_target(), "sip:bob@client.biloxi.com");
    // §12.1.2: the UAC reverses the Record-Route.
    assert_eq!(d.route_set(), ["<sip:p1.atlanta.com;lr>", "<sip:p2.biloxi.com;lr>"]);
    assert!(!d.is_secure());
    assert_eq!(d.via().sent_by, "pc33.atlanta.com");
}

#[test]
fn uac_early_dialog_then_confirmed() {
    let mut ringing = answer(StatusCode::RINGING, "b1");
    ringing.headers_mut().remove_all(H::Contact);
    ringing.headers_mut().remove_all(H::RecordRoute);
    let mut d = Dialog::uac(&invite(), &ringing).unwrap();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.remote_target(), "sip:bob@biloxi.com", "without a Contact, the Request-URI");
    assert!(d.route_set().is_empty());
    d.confirm_with(&answer(StatusCode::OK, "b1")).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target(), "sip:bob@client.biloxi.com");
    assert_eq!(d.route_set().len(), 2, "recomputed from the 2xx (§13.2.2.4)");

    assert!(Dialog::uac(&invite(), &answer(StatusCode::TRYING, "b1")).is_err());
    assert!(Dialog::uac(&invite(), &answer(StatusCode::BUSY_HERE, "b1")).is_err());
    let untagged = invite().make_response(StatusCode::RINGING, None).unwrap();
    assert_eq!(Dialog::uac(&invite(), &untagged), Err(DialogError::Missing("a To tag in the response")));
}

#[test]
fn uas_dialog_from_the_invite() {
    let mut d = Dialog::uas(&received_invite(), "b1", "sip:bob@client.biloxi.com", bob()).unwrap();
    assert_eq!(d.id(), &DialogId::new("c1@atlanta.com", "b1", "a1"));
    assert_eq!(d.state(), DialogState::Early);
    assert!(!d.owns_call_id());
    assert_eq!(d.remote_seq(), Some(314159));
    assert_eq!(d.local_seq(), None);
    assert_eq!(d.local_party(), "Bob <sip:bob@biloxi.com>;tag=b1");
    assert_eq!(d.remote_target(), "sip:alice@pc33.atlanta.com");
    // §12.1.1: the UAS keeps the Record-Route order.
    assert_eq!(d.route_set(), ["<sip:p2.biloxi.com;lr>", "<sip:p1.atlanta.com;lr>"]);
    assert_eq!(d.local_contact(), "<sip:bob@client.biloxi.com>");
    d.confirm();
    assert_eq!(d.state(), DialogState::Confirmed);

    let mut no_contact = received_invite();
    no_contact.headers_mut().remove_all(H::Contact);
    assert_eq!(Dialog::uas(&no_contact, "b1", "sip:b@h", bob()), Err(DialogError::Missing("a Contact in the INVITE")));
}

#[test]
fn secure_needs_tls_and_sips() {
    let mut r = RequestBuilder::new(Method::Invite, "sips:bob@biloxi.com")
        .from(None, "sips:alice@atlanta.com")
        .to(None, "sips:bob@biloxi.com")
        .via("TLS", "pc33.atlanta.com")
        .contact("sips:alice@pc33.atlanta.com")
        .build()
        .unwrap();
    assert!(Dialog::uas(&r, "b", "sips:bob@h", bob()).unwrap().is_secure());
    r.set_uri("sip:bob@biloxi.com").unwrap();
    assert!(!Dialog::uas(&r, "b", "sips:bob@h", bob()).unwrap().is_secure());
}

#[test]
fn in_dialog_request_per_12_2_1_1() {
    let mut d = Dialog::uac(&invite(), &answer(StatusCode::OK, "b1")).unwrap();
    let bye = d.new_request(Method::Bye).unwrap();
    assert_eq!(bye.method(), &Method::Bye);
    assert_eq!(bye.uri_str(), "sip:bob@client.biloxi.com");
    let h = bye.headers();
    assert_eq!(h.cseq().unwrap().seq, 314160);
    assert_eq!(h.from().unwrap().tag(), Some("a1"));
    assert_eq!(h.to().unwrap().tag(), Some("b1"));
    assert_eq!(h.call_id().unwrap(), "c1@atlanta.com");
    let routes: Vec<_> = h.get_all(H::Route).map(|r| r.to_string()).collect();
    assert_eq!(routes, ["<sip:p1.atlanta.com;lr>", "<sip:p2.biloxi.com;lr>"]);
    assert!(!h.contains(H::Contact), "BYE is no target refresh");
    assert!(h.top_via().unwrap().has_rfc3261_branch());
    assert!(sip_message::Message::Request(bye.clone()).check_essentials().is_ok());

    let reinvite = d.new_request(Method::Invite).unwrap();
    assert_eq!(reinvite.headers().cseq().unwrap().seq, 314161);
    assert_eq!(reinvite.headers().get(H::Contact).unwrap().as_str(), "<sip:alice@pc33.atlanta.com>");
    assert_ne!(
        bye.headers().top_via().unwrap().branch(),
        reinvite.headers().top_via().unwrap().branch(),
        "a fresh branch each time"
    );
    for m in [Method::Update, Method::Info, Method::Refer, Method::Notify] {
        let r = d.new_request(m.clone()).unwrap();
        assert_eq!(r.headers().cseq().unwrap().method, m);
    }
    assert_eq!(d.local_seq(), Some(314165));
    assert!(d.new_request(Method::Ack).is_err());
    d.terminate();
    assert_eq!(d.new_request(Method::Bye), Err(DialogError::InvalidState("the dialog is terminated")));
}

#[test]
fn uas_first_request_starts_its_own_sequence() {
    let mut d = Dialog::uas(&received_invite(), "b1", "sip:bob@client.biloxi.com", bob()).unwrap();
    d.confirm();
    let bye = d.new_request(Method::Bye).unwrap();
    assert_eq!(bye.headers().cseq().unwrap().seq, 1);
    assert_eq!(bye.uri_str(), "sip:alice@pc33.atlanta.com");
    assert_eq!(bye.headers().from().unwrap().tag(), Some("b1"));
    assert_eq!(bye.headers().to().unwrap().tag(), Some("a1"));
    assert_eq!(bye.headers().top_via().unwrap().host_str(), "client.biloxi.com");
    let routes: Vec<_> = bye.headers().get_all(H::Route).map(|r| r.to_string()).collect();
    assert_eq!(routes, ["<sip:p2.biloxi.com;lr>", "<sip:p1.atlanta.com;lr>"]);
}

#[test]
fn strict_route_takes_the_request_uri() {
    let mut resp = answer(StatusCode::OK, "b1");
    resp.headers_mut().remove_all(H::RecordRoute);
    // Record-Route as the UAS saw it: the UAC reverses it, so the strict p1 comes first.
    resp.push_header(H::RecordRoute, "<sip:p2.biloxi.com;lr>");
    resp.push_header(H::RecordRoute, "<sip:p1.atlanta.com>");
    let mut d = Dialog::uac(&invite(), &resp).unwrap();
    let bye = d.new_request(Method::Bye).unwrap();
    assert_eq!(bye.uri_str(), "sip:p1.atlanta.com");
    let routes: Vec<_> = bye.headers().get_all(H::Route).map(|r| r.to_string()).collect();
    assert_eq!(routes, ["<sip:p2.biloxi.com;lr>", "<sip:bob@client.biloxi.com>"]);
}

#[test]
fn ack_for_2xx_keeps_the_invite_cseq_and_credentials() {
    let mut inv = invite();
    inv.push_header(H::ProxyAuthorization, "Digest username=\"alice\", realm=\"atlanta.com\"");
    let d = Dialog::uac(&inv, &answer(StatusCode::OK, "b1")).unwrap();
    let ack = d.ack(&inv).unwrap();
    assert_eq!(ack.method(), &Method::Ack);
    let c = ack.headers().cseq().unwrap();
    assert_eq!((c.seq, c.method), (314159, Method::Ack));
    assert_eq!(ack.uri_str(), "sip:bob@client.biloxi.com");
    assert_eq!(ack.headers().get_all(H::Route).count(), 2);
    assert!(ack.headers().contains(H::ProxyAuthorization));
    assert_ne!(ack.headers().top_via().unwrap().branch(), inv.headers().top_via().unwrap().branch());
    assert_eq!(d.local_seq(), Some(314159), "the ACK takes no sequence number");
    assert!(sip_message::Message::Request(ack).check_essentials().is_ok());
}

/// A request from the UAC (Alice) as Bob's UAS dialog receives it.
fn from_alice(method: Method, seq: u32) -> Request {
    RequestBuilder::new(method, "sip:bob@client.biloxi.com")
        .from(Some("Alice"), "sip:alice@atlanta.com")
        .from_tag("a1")
        .to(Some("Bob"), "sip:bob@biloxi.com")
        .to_tag("b1")
        .via("UDP", "pc33.atlanta.com")
        .call_id("c1@atlanta.com")
        .cseq(seq)
        .contact("sip:alice@moved.atlanta.com")
        .build()
        .unwrap()
}

#[test]
fn cseq_rules_of_12_2_2() {
    let mut d = Dialog::uas(&received_invite(), "b1", "sip:bob@client.biloxi.com", bob()).unwrap();
    d.confirm();
    assert_eq!(d.receive_request(&from_alice(Method::Info, 314160)), Ok(()));
    assert_eq!(d.remote_seq(), Some(314160));
    assert_eq!(d.receive_request(&from_alice(Method::Info, 314100)), Err(StatusCode::SERVER_INTERNAL_ERROR));
    assert_eq!(d.receive_request(&from_alice(Method::Info, 314160)), Err(StatusCode::SERVER_INTERNAL_ERROR));
    assert_eq!(d.remote_seq(), Some(314160), "a rejected request changes nothing");
    assert_eq!(d.receive_request(&from_alice(Method::Ack, 314159)), Ok(()), "ACK is not checked");
    assert_eq!(d.remote_target(), "sip:alice@pc33.atlanta.com", "INFO refreshes no target");

    // The UAC's remote sequence starts with the first request it receives.
    let mut uac = Dialog::uac(&invite(), &answer(StatusCode::OK, "b1")).unwrap();
    let mut from_bob = d.new_request(Method::Info).unwrap();
    assert_eq!(uac.receive_request(&from_bob), Ok(()));
    assert_eq!(uac.remote_seq(), Some(1));
    from_bob.headers_mut().set(H::CSeq, "1 INFO");
    assert_eq!(uac.receive_request(&from_bob), Err(StatusCode::SERVER_INTERNAL_ERROR));
    uac.terminate();
    assert_eq!(uac.receive_request(&from_bob), Err(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST));
}

#[test]
fn target_refresh_by_request_and_by_2xx() {
    let mut d = Dialog::uas(&received_invite(), "b1", "sip:bob@client.biloxi.com", bob()).unwrap();
    d.confirm();
    d.receive_request(&from_alice(Method::Invite, 314160)).unwrap();
    assert_eq!(d.remote_target(), "sip:alice@moved.atlanta.com");
    d.receive_request(&from_alice(Method::Update, 314161)).unwrap();

    let mut uac = Dialog::uac(&invite(), &answer(StatusCode::OK, "b1")).unwrap();
    let reinvite = uac.new_request(Method::Invite).unwrap();
    let mut ok = reinvite.make_response(StatusCode::OK, None).unwrap();
    ok.push_header(H::Contact, "<sip:bob@new.biloxi.com>");
    uac.receive_response(&Method::Invite, &ok);
    assert_eq!(uac.remote_target(), "sip:bob@new.biloxi.com");
    let mut not_ok = ok.clone();
    not_ok.headers_mut().set(H::Contact, "<sip:bob@other.biloxi.com>");
    uac.receive_response(&Method::Info, &not_ok);
    assert_eq!(uac.remote_target(), "sip:bob@new.biloxi.com", "INFO's 2xx refreshes nothing");
}

#[test]
fn table_routes_requests_and_answers_481() {
    let mut t = DialogTable::new();
    let id = DialogId::new("c1@atlanta.com", "b1", "a1");
    t.insert(id.clone(), 7u32);
    match t.route_request(&from_alice(Method::Bye, 314160)) {
        RequestRoute::Dialog { id: found, owner } => {
            assert_eq!(found, id);
            assert_eq!(*owner, 7);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.route_request(&received_invite()), RequestRoute::OutOfDialog);
    let mut stranger = from_alice(Method::Bye, 1);
    stranger.headers_mut().set(H::CallId, "unknown");
    match t.route_request(&stranger) {
        RequestRoute::NoDialog(Some(resp)) => {
            assert_eq!(resp.status(), StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST)
        }
        other => panic!("{other:?}"),
    }
    let mut ack = from_alice(Method::Ack, 1);
    ack.headers_mut().set(H::CallId, "unknown");
    assert_eq!(t.route_request(&ack), RequestRoute::NoDialog(None), "an ACK is never answered");
    assert_eq!(t.remove(&id), Some(7));
    assert!(t.is_empty());
}

#[test]
fn table_routes_responses_by_dialog_or_call_id_and_tag() {
    let mut t = DialogTable::new();
    t.insert_owner("c1@atlanta.com", "a1", 1u32);
    assert_eq!(t.route_response(&answer(StatusCode::RINGING, "b1")), Some(&1));
    t.insert(DialogId::new("c1@atlanta.com", "a1", "b2"), 2u32);
    assert_eq!(t.route_response(&answer(StatusCode::RINGING, "b2")), Some(&2));
    assert_eq!(t.route_response(&answer(StatusCode::RINGING, "b3")), Some(&1));
    let trying = invite().make_response(StatusCode::TRYING, None).unwrap();
    assert_eq!(t.route_response(&trying), Some(&1));
    t.remove_owner("c1@atlanta.com", "a1");
    assert_eq!(t.route_response(&trying), None);
}
