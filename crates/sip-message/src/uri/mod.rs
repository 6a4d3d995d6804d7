//! URIs: `sip:`/`sips:` (RFC 3261 §19.1), `tel:` (RFC 3966), and any other absolute URI kept
//! opaque, with %-escaping and the comparison rules of each scheme.

mod escape;
mod sip;
mod tel;

pub use escape::{escape, unescape, unescape_bytes};
pub(crate) use sip::{parse_port, scan_host, split_hostport};
pub use sip::{Host, SipUri};
pub use tel::TelUri;

use crate::error::ParseError;
use std::fmt;

/// Any URI a SIP message can carry, borrowed from the text it was parsed from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Uri<'a> {
    /// `sip:` or `sips:`
    Sip(SipUri<'a>),
    /// `tel:`
    Tel(TelUri<'a>),
    /// Another scheme, kept opaque (a UAS answers 416 to it in a Request-URI).
    Other {
        /// The scheme as written.
        scheme: &'a str,
        /// The whole URI.
        raw: &'a str,
    },
}

impl<'a> Uri<'a> {
    /// Parses an absolute URI, dispatching on the scheme.
    pub fn parse(s: &'a str) -> Result<Uri<'a>, ParseError> {
        let b = s.as_bytes();
        // The usual case first: the scheme is exactly "sip" or "sips", in any case.
        if (b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"sip:"))
            || (b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"sips:"))
        {
            return SipUri::parse(s).map(Uri::Sip);
        }
        let colon = s.find(':').ok_or(ParseError::syntax(s.len(), "':' after a URI scheme"))?;
        let scheme = &s[..colon];
        let sb = scheme.as_bytes();
        if sb.is_empty()
            || !sb[0].is_ascii_alphabetic()
            || !sb.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(ParseError::syntax(0, "a URI scheme"));
        }
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse(s).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse(s).map(Uri::Tel)
        } else {
            let rest = &s[colon + 1..];
            if rest.is_empty() {
                return Err(ParseError::syntax(colon + 1, "URI content after the scheme"));
            }
            if let Some(i) = rest.bytes().position(|b| b <= b' ' || matches!(b, b'<' | b'>' | b'"' | 0x7f)) {
                return Err(ParseError::syntax(colon + 1 + i, "a URI character"));
            }
            Ok(Uri::Other { scheme, raw: s })
        }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        match self {
            Uri::Sip(u) => u.as_str(),
            Uri::Tel(u) => u.as_str(),
            Uri::Other { raw, .. } => raw,
        }
    }

    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// Equivalence under the rules of the scheme; opaque URIs compare by exact text, but for
    /// a case-insensitive scheme.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (Uri::Tel(a), Uri::Tel(b)) => a.equivalent(b),
            (Uri::Other { scheme: sa, raw: ra }, Uri::Other { scheme: sb, raw: rb }) => {
                sa.eq_ignore_ascii_case(sb) && ra[sa.len()..] == rb[sb.len()..]
            }
            _ => false,
        }
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
