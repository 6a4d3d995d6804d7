//! Redirects (RFC 3261 §8.1.3.4): the Contacts of a 3xx in order of `q`, the targets not yet
//! tried, and the bound on how many redirected INVITEs one call sends.

use super::event::RedirectTarget;
use sip_message::header::typed::Contact;
use sip_message::Response;

/// The Contacts of a 3xx as targets, highest `q` first (1.0 when absent); equal `q` keep the
/// order of the message. `*` and the header component of a URI are dropped.
pub(crate) fn targets(response: &Response) -> Vec<RedirectTarget> {
    let mut out: Vec<RedirectTarget> = response
        .headers()
        .contacts()
        .filter_map(Result::ok)
        .filter_map(|c| match c {
            Contact::Address(a) => {
                let uri = a.uri().as_str();
                let uri = uri.split_once('?').map_or(uri, |(u, _)| u).to_owned();
                Some(RedirectTarget { uri, q: Contact::Address(a).q().unwrap_or(1.0) })
            }
            Contact::Star => None,
        })
        .collect();
    // A stable sort keeps the message's order among equal q.
    out.sort_by(|a, b| b.q.total_cmp(&a.q));
    out
}

/// What a call has done with redirects.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redirects {
    /// Redirected INVITEs sent.
    pub(crate) followed: u8,
    /// Every URI an INVITE of this call went to, so no target is tried twice (a loop).
    pub(crate) tried: Vec<String>,
    /// Targets not tried yet, best first.
    pub(crate) remaining: Vec<RedirectTarget>,
}

impl Redirects {
    /// Adds the targets of a 3xx ahead of older ones (the newest redirect is the most
    /// specific), skipping any already tried or known.
    pub(crate) fn learn(&mut self, new: Vec<RedirectTarget>) {
        let mut merged: Vec<RedirectTarget> = Vec::new();
        for t in new.into_iter().chain(self.remaining.drain(..)) {
            if !self.tried.contains(&t.uri) && !merged.iter().any(|m| m.uri == t.uri) {
                merged.push(t);
            }
        }
        self.remaining = merged;
    }

    /// The next target to try, if the bound `max` allows another redirected INVITE.
    pub(crate) fn next(&mut self, max: u8) -> Option<String> {
        if self.followed >= max || self.remaining.is_empty() {
            return None;
        }
        let t = self.remaining.remove(0);
        self.followed += 1;
        self.tried.push(t.uri.clone());
        Some(t.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::{Method, RequestBuilder, StandardHeader, StatusCode};

    fn moved(contacts: &[&str]) -> Response {
        let req = RequestBuilder::new(Method::Invite, "sip:bob@biloxi.com")
            .from(None, "sip:alice@atlanta.com")
            .to(None, "sip:bob@biloxi.com")
            .via("UDP", "pc33.atlanta.com")
            .build()
            .unwrap();
        let mut r = req.make_response(StatusCode::MOVED_TEMPORARILY, Some("t")).unwrap();
        for c in contacts {
            r.push_header(StandardHeader::Contact, *c);
        }
        r
    }

    #[test]
    fn ordered_by_q_then_message_order() {
        let r = moved(&["<sip:a@x>;q=0.5, <sip:b@x>", "<sip:c@x?Subject=hi>;q=0.9", "<sip:d@x>;q=0.5", "*"]);
        let uris: Vec<_> = targets(&r).into_iter().map(|t| t.uri).collect();
        assert_eq!(uris, ["sip:b@x", "sip:c@x", "sip:a@x", "sip:d@x"]);
    }

    #[test]
    fn bounded_and_never_twice() {
        let mut r = Redirects::default();
        r.tried.push("sip:bob@biloxi.com".into());
        r.learn(targets(&moved(&["<sip:a@x>", "<sip:bob@biloxi.com>"])));
        assert_eq!(r.next(2).as_deref(), Some("sip:a@x"));
        r.learn(targets(&moved(&["<sip:a@x>", "<sip:b@x>", "<sip:c@x>"])));
        assert_eq!(r.next(2).as_deref(), Some("sip:b@x"));
        assert_eq!(r.next(2), None, "the bound is reached");
        assert_eq!(r.remaining.len(), 1);
    }
}
