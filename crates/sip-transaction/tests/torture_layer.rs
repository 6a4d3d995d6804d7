//! The RFC 4475 messages whose handling belongs to the transaction layer.

mod common;

use bytes::Bytes;
use common::*;
use sip_message::{parse_message, Message, StatusCode, Transport};
use sip_transaction::Event;

fn torture(name: &str) -> Message {
    let path = format!("{}/../sip-message/tests/torture/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_message(Bytes::from(bytes)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Delivers a torture message and returns the status of the stateless answer, if any.
fn answer(name: &str) -> (Harness, Option<StatusCode>) {
    let mut h = Harness::new();
    h.deliver(torture(name), peer(Transport::Udp, 5070));
    let status = h.sent.first().map(|(_, _, b)| match reparse(b) {
        Message::Response(r) => r.status(),
        other => panic!("{other:?}"),
    });
    (h, status)
}

#[test]
fn badvers_is_answered_505() {
    let (h, status) = answer("badvers");
    assert_eq!(status, Some(StatusCode::VERSION_NOT_SUPPORTED));
    assert!(h.events.is_empty(), "no transaction, nothing for the TU");
    assert!(h.layer.is_empty());
}

#[test]
fn malformed_requests_are_answered_400_without_a_transaction() {
    for name in
        ["insuf", "multi01", "mismatch01", "mismatch02", "badinv01", "quotbal", "badaspec", "regbadct", "scalar02"]
    {
        let (h, status) = answer(name);
        // insuf has no From/To/Call-ID: a response cannot even be built, so it is dropped.
        if name == "insuf" {
            assert_eq!(status, None, "{name}");
        } else {
            assert_eq!(status, Some(StatusCode::BAD_REQUEST), "{name}");
            let Message::Response(r) = reparse(&h.sent[0].2) else { panic!() };
            assert!(r.reason().starts_with("Bad Request ("), "{name}: the reason says why: {}", r.reason());
        }
        assert!(h.events.is_empty(), "{name} reaches no TU");
        assert!(h.layer.is_empty(), "{name} makes no transaction");
    }
}

#[test]
fn malformed_responses_are_discarded() {
    let (h, status) = answer("scalarlg");
    assert_eq!(status, None);
    assert!(h.events.is_empty());
}

#[test]
fn badbranch_falls_back_to_rfc2543_matching() {
    let mut h = Harness::new();
    let msg = torture("badbranch");
    let from = peer(Transport::Udp, 5070);
    h.deliver(msg.clone(), from);
    assert_eq!(h.events.len(), 1, "a new transaction");
    // The same request again is a retransmission of it, not a second transaction.
    h.deliver(msg, from);
    assert_eq!(h.events.len(), 1);
    assert_eq!(h.layer.len(), 1);
}

#[test]
fn inv2543_makes_a_transaction_and_its_ack_matches_by_to_tag() {
    let mut h = Harness::new();
    let Message::Request(invite) = torture("inv2543") else { panic!() };
    let from = peer(Transport::Udp, 5070);
    h.deliver(Message::Request(invite.clone()), from);
    let tx = h.last_request_tx();
    let busy = invite.make_response(StatusCode::BUSY_HERE, Some("srv1")).unwrap();
    h.respond(tx, busy.clone());
    // An ACK with another To tag is not for this transaction: it goes to the TU.
    let mut stray = invite.ack_for(&busy).unwrap();
    stray.headers_mut().set("To", "sip:j.user@example.com;tag=other");
    h.deliver(Message::Request(stray), from);
    assert!(h.has_event(|e| matches!(e, Event::Ack { tx: None, .. })));
    // The right one is absorbed and confirms the transaction.
    h.deliver(Message::Request(invite.ack_for(&busy).unwrap()), from);
    let sent_before = h.sent.len();
    h.run_until(std::time::Duration::from_secs(10));
    assert_eq!(h.sent.len(), sent_before, "no 486 retransmission after the ACK");
    assert!(h.has_event(|e| *e == Event::Terminated { tx }));
}
