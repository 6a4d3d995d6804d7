//! [`HeaderName`]: case-insensitive header names, with the compact forms of RFC 3261 §7.3.3
//! and its extensions.

use crate::text::Text;
use std::fmt;

macro_rules! standard_headers {
    ($($variant:ident => $name:literal, $lower:literal, $compact:expr;)*) => {
        /// A header this crate knows by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StandardHeader {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl StandardHeader {
            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(StandardHeader::$variant => $name,)*
                }
            }

            /// The compact form, if the header has one.
            pub const fn compact(self) -> Option<char> {
                match self {
                    $(StandardHeader::$variant => $compact,)*
                }
            }

            /// Looks up an already lower-cased name (long or compact form).
            fn from_lower(name: &[u8]) -> Option<StandardHeader> {
                if name.len() == 1 {
                    return StandardHeader::from_compact(name[0]);
                }
                match name {
                    $($lower => Some(StandardHeader::$variant),)*
                    _ => None,
                }
            }

            fn from_compact(c: u8) -> Option<StandardHeader> {
                $(
                    let compact: Option<char> = $compact;
                    if compact.is_some_and(|k| k as u32 == u32::from(c)) {
                        return Some(StandardHeader::$variant);
                    }
                )*
                None
            }
        }
    };
}

standard_headers! {
    Accept => "Accept", b"accept", None;
    AcceptContact => "Accept-Contact", b"accept-contact", Some('a');
    AcceptEncoding => "Accept-Encoding", b"accept-encoding", None;
    AcceptLanguage => "Accept-Language", b"accept-language", None;
    AlertInfo => "Alert-Info", b"alert-info", None;
    Allow => "Allow", b"allow", None;
    AllowEvents => "Allow-Events", b"allow-events", Some('u');
    AuthenticationInfo => "Authentication-Info", b"authentication-info", None;
    Authorization => "Authorization", b"authorization", None;
    CallId => "Call-ID", b"call-id", Some('i');
    CallInfo => "Call-Info", b"call-info", None;
    Contact => "Contact", b"contact", Some('m');
    ContentDisposition => "Content-Disposition", b"content-disposition", None;
    ContentEncoding => "Content-Encoding", b"content-encoding", Some('e');
    ContentLanguage => "Content-Language", b"content-language", None;
    ContentLength => "Content-Length", b"content-length", Some('l');
    ContentType => "Content-Type", b"content-type", Some('c');
    CSeq => "CSeq", b"cseq", None;
    Date => "Date", b"date", None;
    ErrorInfo => "Error-Info", b"error-info", None;
    Event => "Event", b"event", Some('o');
    Expires => "Expires", b"expires", None;
    From => "From", b"from", Some('f');
    Identity => "Identity", b"identity", Some('y');
    InReplyTo => "In-Reply-To", b"in-reply-to", None;
    MaxForwards => "Max-Forwards", b"max-forwards", None;
    MimeVersion => "MIME-Version", b"mime-version", None;
    MinExpires => "Min-Expires", b"min-expires", None;
    MinSe => "Min-SE", b"min-se", None;
    Organization => "Organization", b"organization", None;
    PAssertedIdentity => "P-Asserted-Identity", b"p-asserted-identity", None;
    PPreferredIdentity => "P-Preferred-Identity", b"p-preferred-identity", None;
    Path => "Path", b"path", None;
    Priority => "Priority", b"priority", None;
    Privacy => "Privacy", b"privacy", None;
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate", None;
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization", None;
    ProxyRequire => "Proxy-Require", b"proxy-require", None;
    RAck => "RAck", b"rack", None;
    Reason => "Reason", b"reason", None;
    RecordRoute => "Record-Route", b"record-route", None;
    ReferTo => "Refer-To", b"refer-to", Some('r');
    ReferredBy => "Referred-By", b"referred-by", Some('b');
    RejectContact => "Reject-Contact", b"reject-contact", Some('j');
    Replaces => "Replaces", b"replaces", None;
    ReplyTo => "Reply-To", b"reply-to", None;
    RequestDisposition => "Request-Disposition", b"request-disposition", Some('d');
    Require => "Require", b"require", None;
    RetryAfter => "Retry-After", b"retry-after", None;
    Route => "Route", b"route", None;
    RSeq => "RSeq", b"rseq", None;
    Server => "Server", b"server", None;
    ServiceRoute => "Service-Route", b"service-route", None;
    SessionExpires => "Session-Expires", b"session-expires", Some('x');
    Subject => "Subject", b"subject", Some('s');
    SubscriptionState => "Subscription-State", b"subscription-state", None;
    Supported => "Supported", b"supported", Some('k');
    Timestamp => "Timestamp", b"timestamp", None;
    To => "To", b"to", Some('t');
    Unsupported => "Unsupported", b"unsupported", None;
    UserAgent => "User-Agent", b"user-agent", None;
    Via => "Via", b"via", Some('v');
    Warning => "Warning", b"warning", None;
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate", None;
}

/// A header name: a [`StandardHeader`] or any other token, compared case-insensitively.
#[derive(Clone)]
pub enum HeaderName {
    /// A known header.
    Standard(StandardHeader),
    /// Any other header, spelled as received.
    Other(Text),
}

impl HeaderName {
    /// Classifies a name as received (any case, long or compact form). `text` is kept for
    /// unknown names. Returns the name and whether the compact form was used.
    pub(crate) fn classify(text: &Text) -> (HeaderName, bool) {
        let raw = text.as_bytes();
        let mut buf = [0u8; 24];
        if raw.len() <= buf.len() {
            for (d, s) in buf.iter_mut().zip(raw.iter()) {
                *d = s.to_ascii_lowercase();
            }
            if let Some(h) = StandardHeader::from_lower(&buf[..raw.len()]) {
                return (HeaderName::Standard(h), raw.len() == 1);
            }
        }
        (HeaderName::Other(text.clone()), false)
    }

    /// A name from a string: standard if known (in any spelling), otherwise kept as given.
    pub fn new(name: &str) -> HeaderName {
        HeaderName::classify(&Text::from(name)).0
    }

    /// The canonical spelling for standard headers, the received one for others.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Standard(h) => h.as_str(),
            HeaderName::Other(t) => t.as_str(),
        }
    }

    /// The standard header, if this is one.
    pub fn standard(&self) -> Option<StandardHeader> {
        match self {
            HeaderName::Standard(h) => Some(*h),
            HeaderName::Other(_) => None,
        }
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            (HeaderName::Standard(a), HeaderName::Standard(b)) => a == b,
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Eq for HeaderName {}

impl From<StandardHeader> for HeaderName {
    fn from(h: StandardHeader) -> HeaderName {
        HeaderName::Standard(h)
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> HeaderName {
        HeaderName::new(s)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case() {
        for (raw, h, compact) in [
            ("v", StandardHeader::Via, true),
            ("VIA", StandardHeader::Via, false),
            ("i", StandardHeader::CallId, true),
            ("call-ID", StandardHeader::CallId, false),
            ("l", StandardHeader::ContentLength, true),
            ("x", StandardHeader::SessionExpires, true),
            ("www-authenticate", StandardHeader::WwwAuthenticate, false),
        ] {
            assert_eq!(HeaderName::classify(&Text::from(raw)), (HeaderName::Standard(h), compact), "{raw}");
        }
        assert_eq!(HeaderName::new("X-Custom"), HeaderName::new("x-custom"));
        assert_eq!(HeaderName::new("NewFangledHeader").as_str(), "NewFangledHeader");
        assert_eq!(HeaderName::new("q").standard(), None);
    }
}
