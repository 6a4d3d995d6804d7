//! A UDP datagram as the transport reads it: STUN (RFC 5626 keep-alive answers) is told
//! apart and parsed as a Binding response; anything else goes to the SIP parser, then
//! every typed view and a re-serialize/re-parse round trip.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_message::header::typed::*;
use sip_message::{parse_message, Message};

fuzz_target!(|data: &[u8]| {
    if sip_transport::stun::is_stun(data) {
        if let Ok(r) = sip_transport::stun::parse_binding_response(data) {
            let _ = r.id();
        }
        return;
    }
    let Ok(msg) = parse_message(Bytes::copy_from_slice(data)) else { return };
    let h = msg.headers();
    for via in h.via().flatten() {
        let _ = (via.branch(), via.rport(), via.received());
    }
    let _ = (h.from(), h.to(), h.call_id(), h.cseq(), h.max_forwards(), h.expires(), h.content_type());
    for c in h.contacts().flatten() {
        let _ = (c.expires(), c.q(), c.sip_instance(), c.reg_id());
    }
    let _ = h.routes().count() + h.record_routes().count();
    let _ = h.typed_all::<Allow>().count() + h.typed_all::<Supported>().count() + h.typed_all::<Warning>().count();
    let _ = (h.typed_opt::<RAck>(), h.typed_opt::<SessionExpires>(), h.typed_opt::<Replaces>(), h.typed_opt::<Event>());
    let _ = (h.typed_opt::<RetryAfter>(), h.typed_opt::<SubscriptionState>(), h.typed_opt::<ReferTo>());
    let _ = msg.check_essentials();
    if let Message::Request(r) = &msg {
        let _ = r.uri();
    }
    let again = parse_message(msg.to_bytes()).expect("a parsed message re-serializes to a parsable one");
    assert_eq!(again, msg);
});
