//! [`Request`], [`Response`] and [`Message`]: a start line, [`Headers`] and a body.

use crate::error::ParseError;
use crate::header::{HeaderName, Headers, StandardHeader};
use crate::method::Method;
use crate::status::StatusCode;
use crate::text::Text;
use crate::uri::Uri;
use crate::version::Version;
use bytes::Bytes;

/// A SIP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Text,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

/// A SIP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub(crate) version: Version,
    pub(crate) status: StatusCode,
    pub(crate) reason: Text,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

/// Either kind of SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no headers and no body. The Request-URI is checked.
    pub fn new(method: Method, uri: impl Into<Text>) -> Result<Request, ParseError> {
        let uri = uri.into();
        check_request_uri(uri.as_str())?;
        Ok(Request { method, uri, version: Version::SIP_2_0, headers: Headers::new(), body: Bytes::new() })
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI as written.
    pub fn uri_str(&self) -> &Text {
        &self.uri
    }

    /// The Request-URI, parsed (it was validated when the request was parsed or built).
    pub fn uri(&self) -> Result<Uri<'_>, ParseError> {
        Uri::parse(self.uri.as_str())
    }

    /// Replaces the Request-URI (e.g. with a dialog's remote target).
    pub fn set_uri(&mut self, uri: impl Into<Text>) -> Result<(), ParseError> {
        let uri = uri.into();
        check_request_uri(uri.as_str())?;
        self.uri = uri;
        Ok(())
    }

    /// The SIP-Version.
    pub fn version(&self) -> Version {
        self.version
    }
}

impl Response {
    /// A response with the canonical reason phrase, no headers and no body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: Text::from_static(status.reason_or_generic()),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &Text {
        &self.reason
    }

    /// Sets the reason phrase (it must not contain CR or LF).
    pub fn set_reason(&mut self, reason: impl Into<Text>) {
        let reason: Text = reason.into();
        if !reason.contains(['\r', '\n']) {
            self.reason = reason;
        }
    }

    /// The SIP-Version.
    pub fn version(&self) -> Version {
        self.version
    }
}

/// Rejects what may not stand in a Request-URI: anything unparsable, and a SIP URI with a
/// header component (RFC 3261 §19.1.1, table 1: headers are not allowed there).
pub(crate) fn check_request_uri(uri: &str) -> Result<(), ParseError> {
    match Uri::parse(uri)? {
        Uri::Sip(s) if s.headers_str().is_some() => {
            Err(ParseError::syntax(uri.find('?').unwrap_or(0), "no header component in a Request-URI"))
        }
        _ => Ok(()),
    }
}

macro_rules! common_accessors {
    ($t:ty) => {
        impl $t {
            /// The headers.
            pub fn headers(&self) -> &Headers {
                &self.headers
            }

            /// The headers, for changing.
            pub fn headers_mut(&mut self) -> &mut Headers {
                &mut self.headers
            }

            /// The body.
            pub fn body(&self) -> &Bytes {
                &self.body
            }

            /// Sets the body with its Content-Type (removed when `content_type` is `None`) and
            /// a matching Content-Length.
            pub fn set_body(&mut self, content_type: Option<&str>, body: Bytes) {
                match content_type {
                    Some(ct) => self.headers.set(StandardHeader::ContentType, ct),
                    None => {
                        self.headers.remove_all(StandardHeader::ContentType);
                    }
                }
                self.headers.set(StandardHeader::ContentLength, body.len().to_string());
                self.body = body;
            }

            /// Appends a header line.
            pub fn push_header(&mut self, name: impl Into<HeaderName>, value: impl Into<Text>) {
                self.headers.push(name, value);
            }
        }
    };
}

common_accessors!(Request);
common_accessors!(Response);

impl Message {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The headers, for changing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Request(_) => None,
            Message::Response(r) => Some(r),
        }
    }

    /// Is this a request?
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// The SIP-Version of the start line.
    pub fn version(&self) -> Version {
        match self {
            Message::Request(r) => r.version,
            Message::Response(r) => r.version,
        }
    }

    /// Checks what every element needs before acting on a message (RFC 3261 §8.1.3.3 and
    /// §8.2): exactly one well-formed To, From, Call-ID and CSeq, at least one well-formed Via,
    /// a well-formed Max-Forwards and Contact if present, and — for a request — a CSeq method
    /// equal to the
    /// request method. A request that fails this is answered with 400 by the transaction layer.
    pub fn check_essentials(&self) -> Result<(), ParseError> {
        let h = self.headers();
        h.to()?;
        h.from()?;
        h.call_id()?;
        let cseq = h.cseq()?;
        let mut vias = 0;
        for via in h.via() {
            via?;
            vias += 1;
        }
        if vias == 0 {
            return Err(ParseError::missing("Via"));
        }
        h.max_forwards()?;
        // A malformed Contact would break the dialog or binding made from it (RFC 4475
        // §3.1.2.13).
        for contact in h.contacts() {
            contact?;
        }
        if let Message::Request(r) = self {
            if cseq.method != r.method {
                return Err(ParseError::syntax(0, "the CSeq method to equal the request method").within("CSeq"));
            }
        }
        Ok(())
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Message {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Message {
        Message::Response(r)
    }
}
