//! [`RequestBuilder`] (RFC 3261 §8.1.1), and the ACK and CANCEL derived from a request.

use super::{new_branch, new_call_id, new_tag, BuildError};
use crate::header::{HeaderName, StandardHeader as H};
use crate::message::{Request, Response};
use crate::method::Method;
use crate::name_addr::format_name_addr;
use crate::text::Text;
use crate::uri::Uri;
use bytes::Bytes;

/// Builds a new out-of-dialog request with every header RFC 3261 §8.1.1 requires: To, From
/// (with a fresh tag), Call-ID (fresh), CSeq, Max-Forwards (70) and Via (with a fresh
/// `z9hG4bK` branch), plus Contact when given.
///
/// ```
/// use sip_message::{Method, RequestBuilder};
/// let invite = RequestBuilder::new(Method::Invite, "sip:bob@biloxi.com")
///     .from(Some("Alice"), "sip:alice@atlanta.com")
///     .to(Some("Bob"), "sip:bob@biloxi.com")
///     .via("UDP", "pc33.atlanta.com:5060")
///     .contact("sip:alice@pc33.atlanta.com")
///     .body("application/sdp", &b"v=0\r\n"[..])
///     .build()
///     .unwrap();
/// assert_eq!(invite.headers().cseq().unwrap().seq, 1);
/// assert!(invite.headers().top_via().unwrap().has_rfc3261_branch());
/// ```
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Method,
    uri: String,
    from: Option<(Option<String>, String)>,
    from_tag: Option<String>,
    to: Option<(Option<String>, String)>,
    to_tag: Option<String>,
    via: Option<(String, String)>,
    rport: bool,
    branch: Option<String>,
    call_id: Option<String>,
    cseq: u32,
    max_forwards: u8,
    contact: Option<String>,
    extra: Vec<(HeaderName, String)>,
    body: Option<(String, Bytes)>,
}

impl RequestBuilder {
    /// A builder for `method` to `request_uri`.
    pub fn new(method: Method, request_uri: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            method,
            uri: request_uri.into(),
            from: None,
            from_tag: None,
            to: None,
            to_tag: None,
            via: None,
            rport: false,
            branch: None,
            call_id: None,
            cseq: 1,
            max_forwards: 70,
            contact: None,
            extra: Vec::new(),
            body: None,
        }
    }

    /// From: display name and URI. A tag is generated unless [`Self::from_tag`] sets one.
    pub fn from(mut self, display: Option<&str>, uri: impl Into<String>) -> Self {
        self.from = Some((display.map(str::to_owned), uri.into()));
        self
    }

    /// Uses this From tag instead of a fresh one.
    pub fn from_tag(mut self, tag: impl Into<String>) -> Self {
        self.from_tag = Some(tag.into());
        self
    }

    /// To: display name and URI (no tag outside a dialog).
    pub fn to(mut self, display: Option<&str>, uri: impl Into<String>) -> Self {
        self.to = Some((display.map(str::to_owned), uri.into()));
        self
    }

    /// A To tag (for requests inside a dialog).
    pub fn to_tag(mut self, tag: impl Into<String>) -> Self {
        self.to_tag = Some(tag.into());
        self
    }

    /// Via: transport (`UDP`, `TCP`, `TLS`, `WS`, `WSS`) and sent-by (`host[:port]`).
    pub fn via(mut self, transport: &str, sent_by: impl Into<String>) -> Self {
        self.via = Some((transport.to_ascii_uppercase(), sent_by.into()));
        self
    }

    /// Adds the `rport` flag to the Via (RFC 3581), asking for the source port in responses.
    pub fn rport(mut self) -> Self {
        self.rport = true;
        self
    }

    /// Uses this branch instead of a fresh one (it should start with `z9hG4bK`).
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Uses this Call-ID instead of a fresh one.
    pub fn call_id(mut self, call_id: impl Into<String>) -> Self {
        self.call_id = Some(call_id.into());
        self
    }

    /// The CSeq number (default 1; must stay below 2^31).
    pub fn cseq(mut self, seq: u32) -> Self {
        self.cseq = seq;
        self
    }

    /// Max-Forwards (default 70).
    pub fn max_forwards(mut self, hops: u8) -> Self {
        self.max_forwards = hops;
        self
    }

    /// Contact: a URI, or a full name-addr with parameters (`<sip:a@h>;+sip.instance="..."`).
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.contact = Some(contact.into());
        self
    }

    /// Any other header, added after the mandatory ones in the order given.
    pub fn header(mut self, name: impl Into<HeaderName>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// The body and its Content-Type; Content-Length is set to match.
    pub fn body(mut self, content_type: impl Into<String>, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    /// Checks every part and assembles the request.
    pub fn build(self) -> Result<Request, BuildError> {
        let mut req = Request::new(self.method.clone(), Text::from(self.uri))?;
        let (transport, sent_by) = self.via.ok_or(BuildError::Missing("Via (transport and sent-by)"))?;
        let (from_display, from_uri) = self.from.ok_or(BuildError::Missing("From"))?;
        let (to_display, to_uri) = self.to.ok_or(BuildError::Missing("To"))?;
        Uri::parse(&from_uri)?;
        Uri::parse(&to_uri)?;
        if self.cseq > i32::MAX as u32 {
            return Err(BuildError::NotApplicable("CSeq must be below 2^31 (RFC 3261 §8.1.1.5)"));
        }
        crate::uri::split_hostport(&sent_by)?;
        let branch = match self.branch {
            Some(b) => b,
            None => new_branch()?,
        };
        let from_tag = match self.from_tag {
            Some(t) => t,
            None => new_tag()?,
        };
        let call_id = match self.call_id {
            Some(c) => c,
            None => new_call_id(None)?,
        };
        let h = req.headers_mut();
        let rport = if self.rport { ";rport" } else { "" };
        h.push(H::Via, format!("SIP/2.0/{transport} {sent_by};branch={branch}{rport}"));
        h.push(H::MaxForwards, self.max_forwards.to_string());
        let to_params = self.to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        h.push(H::To, format_name_addr(to_display.as_deref(), &to_uri, &to_params));
        h.push(H::From, format_name_addr(from_display.as_deref(), &from_uri, &format!(";tag={from_tag}")));
        h.push(H::CallId, call_id);
        h.push(H::CSeq, format!("{} {}", self.cseq, self.method));
        if let Some(c) = self.contact {
            let value = if c.contains('<') || c.trim() == "*" { c } else { format!("<{c}>") };
            crate::header::typed::Contact::parse_value(&value)?;
            h.push(H::Contact, value);
        }
        for (name, value) in self.extra {
            if value.contains(['\r', '\n']) {
                return Err(BuildError::NotApplicable("a header value may not contain CR or LF"));
            }
            h.push(name, value);
        }
        match self.body {
            Some((ct, body)) => req.set_body(Some(&ct), body),
            None => req.set_body(None, Bytes::new()),
        }
        Ok(req)
    }
}

impl Request {
    /// The ACK for a non-2xx final response to this INVITE (RFC 3261 §17.1.1.3): same
    /// Request-URI, Call-ID, From and CSeq number; the To of the response (with its tag); only
    /// the top Via of this request; this request's Route headers.
    pub fn ack_for(&self, response: &Response) -> Result<Request, BuildError> {
        if self.method != Method::Invite {
            return Err(BuildError::NotApplicable("only an INVITE is acknowledged"));
        }
        if response.status().is_success() || !response.status().is_final() {
            return Err(BuildError::NotApplicable(
                "the ACK for a 2xx belongs to the dialog (RFC 3261 §13.2.2.4), none is sent for a 1xx",
            ));
        }
        let to = response.headers().get_owned(H::To).ok_or(BuildError::Missing("To in the response"))?;
        self.derive(Method::Ack, to)
    }

    /// The CANCEL of this request (RFC 3261 §9.1): same Request-URI, Call-ID, To, From and
    /// CSeq number, method CANCEL, only the top Via (same branch), this request's Routes.
    pub fn cancel(&self) -> Result<Request, BuildError> {
        if self.method == Method::Ack || self.method == Method::Cancel {
            return Err(BuildError::NotApplicable("ACK and CANCEL cannot be cancelled"));
        }
        let to = self.headers.get_owned(H::To).ok_or(BuildError::Missing("To"))?;
        self.derive(Method::Cancel, to)
    }

    fn derive(&self, method: Method, to: Text) -> Result<Request, BuildError> {
        let src = &self.headers;
        let via = src.top_via()?;
        let cseq = src.cseq()?;
        let mut req = Request::new(method.clone(), self.uri.clone())?;
        let h = req.headers_mut();
        h.push(H::Via, Text::from(via.as_str()));
        h.push(H::MaxForwards, "70");
        h.push(H::To, to);
        h.push(H::From, src.get_owned(H::From).ok_or(BuildError::Missing("From"))?);
        h.push(H::CallId, src.get_owned(H::CallId).ok_or(BuildError::Missing("Call-ID"))?);
        h.push(H::CSeq, format!("{} {}", cseq.seq, method));
        for route in src.get_all_owned(H::Route) {
            h.push(H::Route, route);
        }
        h.push(H::ContentLength, "0");
        Ok(req)
    }
}

impl crate::header::typed::Contact<'_> {
    /// Checks that `value` is a Contact header value (one or more entries, or `*`).
    pub fn parse_value(value: &str) -> Result<(), crate::ParseError> {
        for (off, item) in crate::scan::split_commas(value) {
            <crate::header::typed::Contact as crate::header::TypedHeader>::parse(item).map_err(|e| e.shifted(off))?;
        }
        if value.trim().is_empty() {
            return Err(crate::ParseError::syntax(0, "a contact"));
        }
        Ok(())
    }
}
