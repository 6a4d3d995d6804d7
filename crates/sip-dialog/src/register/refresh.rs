//! Reading what a registrar granted (RFC 3261 §10.2.4) and choosing when to refresh it.

use sip_message::header::typed::Contact;
use sip_message::{NameAddr, Response, Uri};
use std::time::Duration;

/// When to refresh a binding granted for `granted`:
///
/// - over 60 s: at half the interval, which leaves the other half for retries should the
///   refresh fail;
/// - 11–60 s: 5 s before it ends — registrars that force short intervals (NAT keep-alive)
///   would otherwise see twice the traffic, and 5 s is ample for one transaction to complete;
/// - 10 s or less: at half again, as 5 s would be all or most of it.
pub fn refresh_after(granted: Duration) -> Duration {
    let five = Duration::from_secs(5);
    if granted > Duration::from_secs(60) || granted <= Duration::from_secs(10) {
        granted / 2
    } else {
        granted - five
    }
}

/// The URI of a Contact value we configured (a URI or a `name-addr`).
fn our_uri(contact: &str) -> Option<Uri<'_>> {
    let c = contact.trim();
    if c.contains('<') {
        NameAddr::parse(c).ok().map(|a| *a.uri())
    } else {
        Uri::parse(c).ok()
    }
}

/// Our binding among the Contacts of a registrar's 2xx: the same URI, or the same
/// `+sip.instance` (RFC 5626 registrars key on the instance).
fn our_binding<'r>(response: &'r Response, contact: &str, instance: Option<&str>) -> Option<Contact<'r>> {
    let ours = our_uri(contact);
    let instance = instance.map(|i| i.trim_start_matches('<').trim_end_matches('>'));
    response.headers().contacts().filter_map(Result::ok).find(|c| {
        let Contact::Address(a) = c else { return false };
        let same_uri = ours.as_ref().is_some_and(|u| u.equivalent(a.uri()));
        let same_instance = instance.is_some_and(|i| {
            c.sip_instance().is_some_and(|theirs| theirs.trim_start_matches('<').trim_end_matches('>') == i)
        });
        same_uri || same_instance
    })
}

/// The expiry the registrar granted our binding, in seconds: the `expires` parameter of
/// our Contact in the 2xx, else the response's Expires, else what we asked for (§10.2.4).
pub(crate) fn granted_expiry(response: &Response, contact: &str, instance: Option<&str>, requested: u32) -> u32 {
    let mine = our_binding(response, contact, instance);
    mine.and_then(|c| c.expires()).or_else(|| response.headers().expires().ok().flatten()).unwrap_or(requested)
}

/// The public GRUU the registrar assigned our binding (RFC 5627 §5.3), if it is a `sip:` or
/// `sips:` URI.
pub(crate) fn granted_gruu(response: &Response, contact: &str, instance: Option<&str>) -> Option<String> {
    let gruu = our_binding(response, contact, instance)?.pub_gruu()?.into_owned();
    matches!(Uri::parse(&gruu), Ok(Uri::Sip(_))).then_some(gruu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::{Method, RequestBuilder, StandardHeader as H, StatusCode};

    #[test]
    fn the_pub_gruu_of_our_binding_only() {
        let theirs = ok(
            &[
                "<sip:bob@192.0.2.9>;pub-gruu=\"sip:bob@example.com;gr=urn:uuid:2\";expires=300",
                "<sip:alice@203.0.113.7:40000>;+sip.instance=\"<urn:uuid:1>\";pub-gruu=\"sip:alice@example.com;gr=urn:uuid:1\";expires=300",
            ],
            None,
        );
        let gruu = granted_gruu(&theirs, "sip:alice@192.0.2.4", Some("urn:uuid:1"));
        assert_eq!(gruu.as_deref(), Some("sip:alice@example.com;gr=urn:uuid:1"));
        assert_eq!(granted_gruu(&theirs, "sip:carol@192.0.2.4", Some("urn:uuid:3")), None);
        let not_sip = ok(&["<sip:alice@192.0.2.4>;pub-gruu=\"http://example.com/\""], None);
        assert_eq!(granted_gruu(&not_sip, "sip:alice@192.0.2.4", None), None);
    }

    #[test]
    fn refresh_rule() {
        let s = Duration::from_secs;
        assert_eq!(refresh_after(s(3600)), s(1800));
        assert_eq!(refresh_after(s(61)), Duration::from_millis(30_500));
        assert_eq!(refresh_after(s(60)), s(55));
        assert_eq!(refresh_after(s(30)), s(25));
        assert_eq!(refresh_after(s(11)), s(6));
        assert_eq!(refresh_after(s(10)), s(5));
        assert_eq!(refresh_after(s(4)), s(2));
        assert_eq!(refresh_after(s(0)), s(0));
    }

    fn ok(contacts: &[&str], expires: Option<&str>) -> Response {
        let req = RequestBuilder::new(Method::Register, "sip:example.com")
            .from(None, "sip:alice@example.com")
            .to(None, "sip:alice@example.com")
            .via("UDP", "192.0.2.4")
            .build()
            .unwrap();
        let mut r = req.make_response(StatusCode::OK, Some("reg")).unwrap();
        for c in contacts {
            r.push_header(H::Contact, *c);
        }
        if let Some(e) = expires {
            r.push_header(H::Expires, e);
        }
        r
    }

    #[test]
    fn granted_from_our_contact_then_expires_then_requested() {
        let r = ok(&["<sip:other@198.51.100.1>;expires=3600, <sip:alice@192.0.2.4:5060>;expires=120"], Some("900"));
        assert_eq!(granted_expiry(&r, "sip:alice@192.0.2.4:5060", None, 3600), 120);
        assert_eq!(granted_expiry(&r, "<sip:alice@192.0.2.4:5060>", None, 3600), 120);
        assert_eq!(granted_expiry(&r, "sip:nobody@192.0.2.9", None, 3600), 900);
        assert_eq!(granted_expiry(&ok(&[], None), "sip:alice@192.0.2.4", None, 3600), 3600);
        let outbound = ok(&["<sip:alice@203.0.113.7:40000>;+sip.instance=\"<urn:uuid:1>\";expires=300"], None);
        assert_eq!(granted_expiry(&outbound, "sip:alice@192.0.2.4", Some("urn:uuid:1"), 3600), 300);
    }
}
