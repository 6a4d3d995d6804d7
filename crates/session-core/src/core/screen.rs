//! What our UAS core answers before a request reaches a call: the checks of RFC 3261 §8.2
//! in their order — method (§8.2.1: 405 with Allow, 501 for a method we do not know),
//! Request-URI scheme (§8.2.2.1: 416), required extensions (§8.2.2.3: 420 with
//! Unsupported), and the body of an INVITE (§8.2.3: 415 with Accept or Accept-Encoding;
//! RFC 4475 §3.3.15: 406 when the Accept header rules out SDP). Sans-IO: a request in, an
//! optional response out. It must not look at dialogs: requests inside one reach it only for
//! the Require check.

use sip_message::header::typed::Require;
use sip_message::{Method, Request, Response, StatusCode, Uri};

/// The methods our user agent implements, for Allow headers.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, REFER, NOTIFY, UPDATE, PRACK";
/// The extensions we support: reliable provisional responses (RFC 3262), Replaces
/// (RFC 3891), session timers (RFC 4028) and REFER without subscription (RFC 4488).
pub(crate) const SUPPORTED: &[&str] = &["100rel", "replaces", "timer", "norefersub"];
/// [`SUPPORTED`] as a header value, for INVITEs and OPTIONS answers.
pub(crate) const SUPPORTED_HEADER: &str = "100rel, replaces, timer, norefersub";

/// The response owed to a request that starts no dialog, or `None` to go on with it.
pub(crate) fn screen_new(request: &Request) -> Option<Response> {
    let method = request.method();
    if matches!(method, Method::Ack | Method::Cancel) {
        return None;
    }
    match method {
        Method::Invite | Method::Options | Method::Message => {}
        Method::Extension(_) => {
            // §21.5.2: not recognised at all.
            return respond(request, StatusCode::NOT_IMPLEMENTED, &[]);
        }
        Method::Notify => {
            // RFC 6665 §4.1.3: a NOTIFY that matches no subscription of ours.
            return respond(request, StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST, &[]);
        }
        _ => {
            // §8.2.1: a method we know but do not serve outside a dialog.
            return respond(request, StatusCode::METHOD_NOT_ALLOWED, &[("Allow", ALLOW.to_owned())]);
        }
    }
    if let Some(r) = screen_uri(request) {
        return Some(r);
    }
    if let Some(r) = screen_require(request) {
        return Some(r);
    }
    if *method == Method::Invite {
        return screen_invite_body(request);
    }
    None
}

/// §8.2.2.1: a Request-URI of a scheme we cannot serve gets 416.
fn screen_uri(request: &Request) -> Option<Response> {
    match request.uri() {
        Ok(Uri::Sip(_)) | Ok(Uri::Tel(_)) => None,
        Ok(Uri::Other { .. }) | Err(_) => respond(request, StatusCode::UNSUPPORTED_URI_SCHEME, &[]),
    }
}

/// §8.2.2.3: every Require tag we do not support goes in the Unsupported header of a 420.
pub(crate) fn screen_require(request: &Request) -> Option<Response> {
    if matches!(request.method(), Method::Ack | Method::Cancel) {
        return None;
    }
    let unknown: Vec<String> = request
        .headers()
        .typed_all::<Require>()
        .filter_map(Result::ok)
        .map(|r| r.0.to_owned())
        .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    respond(request, StatusCode::BAD_EXTENSION, &[("Unsupported", unknown.join(", "))])
}

/// §8.2.3: an INVITE body must be SDP we can decode, and the answer must be allowed to be
/// SDP.
fn screen_invite_body(request: &Request) -> Option<Response> {
    let h = request.headers();
    if !request.body().is_empty() {
        let sdp = matches!(h.content_type(), Ok(Some(t)) if t.is("application", "sdp"));
        if !sdp {
            return respond(request, StatusCode::UNSUPPORTED_MEDIA_TYPE, &[("Accept", "application/sdp".to_owned())]);
        }
        let encoded = h
            .get_all("Content-Encoding")
            .flat_map(|v| v.split(','))
            .any(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"));
        if encoded {
            return respond(request, StatusCode::UNSUPPORTED_MEDIA_TYPE, &[("Accept-Encoding", "identity".to_owned())]);
        }
    }
    // An Accept header says what the response may carry; ours carries SDP (RFC 4475 §3.3.15).
    let accepts: Vec<String> = h.get_all("Accept").flat_map(|v| v.split(',')).map(|s| s.trim().to_owned()).collect();
    if !accepts.is_empty() && !accepts.iter().any(|a| accepts_sdp(a)) {
        return respond(
            request,
            StatusCode::NOT_ACCEPTABLE,
            &[("Warning", "399 sipline \"the answer to an INVITE is application/sdp\"".to_owned())],
        );
    }
    None
}

fn accepts_sdp(range: &str) -> bool {
    let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media.is_empty() || media == "application/sdp" || media == "application/*" || media == "*/*"
}

fn respond(request: &Request, status: StatusCode, headers: &[(&str, String)]) -> Option<Response> {
    let mut response = request.make_response(status, None).ok()?;
    for (name, value) in headers {
        response.push_header(*name, value.as_str());
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::Message;

    fn request(text: &str) -> Request {
        match sip_message::parse_message(bytes::Bytes::from(text.replace('\n', "\r\n"))) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn invite(extra: &str, body: &str) -> Request {
        request(&format!(
            "INVITE sip:bob@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\nFrom: <sip:a@127.0.0.1>;tag=1\nTo: <sip:bob@127.0.0.1>\nCall-ID: c1\nCSeq: 1 INVITE\nContact: <sip:a@127.0.0.1:5070>\nMax-Forwards: 70\n{extra}Content-Length: {}\n\n{body}",
            body.len()
        ))
    }

    #[test]
    fn a_plain_invite_passes() {
        assert!(screen_new(&invite("Content-Type: application/sdp\n", "v=0\n")).is_none());
        assert!(screen_new(&invite("", "")).is_none());
    }

    #[test]
    fn body_and_accept_checks() {
        let r = screen_new(&invite("Content-Type: application/unknownformat\n", "<x/>")).expect("415");
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(r.headers().get("Accept").map(|v| v.to_string()).as_deref(), Some("application/sdp"));
        let r = screen_new(&invite("Content-Type: application/sdp\nContent-Encoding: gzip\n", "v=0\n")).expect("415");
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r =
            screen_new(&invite("Accept: text/nobodyKnowsThis\nContent-Type: application/sdp\n", "v=0\n")).expect("406");
        assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
        assert!(screen_new(&invite("Accept: application/sdp;level=1, text/html\n", "")).is_none());
    }

    #[test]
    fn require_gets_420_listing_every_unknown_tag() {
        let r = screen_new(&invite("Require: nothingSupportsThis, nothingSupportsThisEither\n", "")).expect("420");
        assert_eq!(r.status(), StatusCode::BAD_EXTENSION);
        assert_eq!(
            r.headers().get("Unsupported").map(|v| v.to_string()).as_deref(),
            Some("nothingSupportsThis, nothingSupportsThisEither")
        );
    }

    #[test]
    fn the_supported_header_lists_the_supported_tags() {
        assert_eq!(SUPPORTED.join(", "), SUPPORTED_HEADER);
        assert!(screen_new(&invite("Require: 100rel\n", "")).is_none());
    }

    #[test]
    fn methods_and_schemes() {
        let msg = request("SUBSCRIBE sip:bob@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK2\nFrom: <sip:a@b>;tag=1\nTo: <sip:bob@127.0.0.1>\nCall-ID: c2\nCSeq: 1 SUBSCRIBE\nMax-Forwards: 70\nEvent: presence\nContent-Length: 0\n\n");
        let r = screen_new(&msg).expect("405");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get("Allow").map(|v| v.to_string()).as_deref(), Some(ALLOW));
        let stray = request("NOTIFY sip:bob@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK5\nFrom: <sip:a@b>;tag=1\nTo: <sip:bob@127.0.0.1>\nCall-ID: c5\nCSeq: 1 NOTIFY\nMax-Forwards: 70\nEvent: message-summary\nSubscription-State: active\nContent-Length: 0\n\n");
        assert_eq!(screen_new(&stray).map(|r| r.status()), Some(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST));
        let odd = request("FOOBAR sip:bob@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK3\nFrom: <sip:a@b>;tag=1\nTo: <sip:bob@127.0.0.1>\nCall-ID: c3\nCSeq: 1 FOOBAR\nMax-Forwards: 70\nContent-Length: 0\n\n");
        assert_eq!(screen_new(&odd).map(|r| r.status()), Some(StatusCode::NOT_IMPLEMENTED));
        let scheme = request("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK4\nFrom: <sip:a@b>;tag=1\nTo: <sip:bob@127.0.0.1>\nCall-ID: c4\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n");
        assert_eq!(screen_new(&scheme).map(|r| r.status()), Some(StatusCode::UNSUPPORTED_URI_SCHEME));
    }
}
