//! `sip:` and `sips:` URIs (RFC 3261 §19.1) and their comparison rules (§19.1.4).

use super::escape::{self, canonical};
use crate::error::ParseError;
use crate::params::Params;
use crate::scan;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The host part of a SIP URI or Via sent-by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name, as written (compare case-insensitively).
    Domain(&'a str),
    /// A dotted IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference (written in brackets).
    Ipv6(Ipv6Addr),
}

impl<'a> Host<'a> {
    /// Parses a host: `[IPv6]`, dotted IPv4, or a hostname (RFC 3261 §25.1).
    pub fn parse(s: &'a str) -> Result<Host<'a>, ParseError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(ParseError::syntax(s.len(), "']'"))?;
            return inner.parse::<Ipv6Addr>().map(Host::Ipv6).map_err(|_| ParseError::syntax(1, "an IPv6 address"));
        }
        if s.is_empty() {
            return Err(ParseError::syntax(0, "a host"));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s.parse::<Ipv4Addr>().map(Host::Ipv4).map_err(|_| ParseError::syntax(0, "an IPv4 address"));
        }
        let b = s.as_bytes();
        if let Some(i) = b.iter().position(|&c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')) {
            return Err(ParseError::syntax(i, "a hostname character"));
        }
        if b[0] == b'.' || b[0] == b'-' || s.contains("..") {
            return Err(ParseError::syntax(0, "a hostname label"));
        }
        Ok(Host::Domain(s))
    }

    /// Case-insensitive comparison; an IP address never equals a name (RFC 3261 §19.1.4).
    pub fn equivalent(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.')),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Splits `host[:port]`, where host may be an `[IPv6]` reference.
pub(crate) fn split_hostport(s: &str) -> Result<(Host<'_>, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(ParseError::syntax(s.len(), "']'"))? + 1;
        match &s[end..] {
            "" => (&s[..end], None),
            p => {
                (&s[..end], Some((end + 1, p.strip_prefix(':').ok_or(ParseError::syntax(end, "':' or end of host"))?)))
            }
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some((h.len() + 1, p))),
            None => (s, None),
        }
    };
    let host = Host::parse(host)?;
    let port = match port {
        None => None,
        Some((at, p)) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseError::syntax(at, "a port number"));
            }
            Some(p.parse::<u16>().map_err(|_| ParseError::syntax(at, "a port number below 65536"))?)
        }
    };
    Ok((host, port))
}

fn is_user_char(b: u8) -> bool {
    scan::is(b, scan::USER)
}

fn is_password_char(b: u8) -> bool {
    scan::is(b, scan::PASSWORD)
}

fn is_header_char(b: u8) -> bool {
    scan::is(b, scan::URI_HEADER)
}

/// A `sip:` or `sips:` URI, borrowed from the text it was parsed from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    raw: &'a str,
    secure: bool,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host_raw: &'a str,
    host: Host<'a>,
    port: Option<u16>,
    params: Params<'a>,
    headers: Option<&'a str>,
}

impl<'a> SipUri<'a> {
    /// Parses a complete `sip:`/`sips:` URI (scheme case-insensitive).
    pub fn parse(raw: &'a str) -> Result<SipUri<'a>, ParseError> {
        // Compare bytes: slicing the str at a fixed index could split a UTF-8 character.
        let b = raw.as_bytes();
        let (secure, skip) = if b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"sips:") {
            (true, 5)
        } else if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"sip:") {
            (false, 4)
        } else {
            return Err(ParseError::syntax(0, "'sip:' or 'sips:'"));
        };
        let rest = &raw[skip..];
        // '@' cannot appear unescaped after the userinfo (RFC 3261 §25.1), so the first one
        // ends it; the user part itself may contain ';', '?' and '/'.
        let (user, password, hp_start) = match rest.find('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (u, p) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if u.is_empty() {
                    return Err(ParseError::syntax(skip, "a user before '@'"));
                }
                escape::validate(u, is_user_char)
                    .map_err(|i| ParseError::syntax(skip + i, "a user character or %-escape"))?;
                if let Some(p) = p {
                    escape::validate(p, is_password_char)
                        .map_err(|i| ParseError::syntax(skip + u.len() + 1 + i, "a password character or %-escape"))?;
                }
                (Some(u), p, skip + at + 1)
            }
            None => (None, None, skip),
        };
        let after = &raw[hp_start..];
        let hp_end = after.find([';', '?']).unwrap_or(after.len());
        let hostport = &after[..hp_end];
        let (host, port) = split_hostport(hostport).map_err(|e| e.shifted(hp_start))?;
        let host_raw = match hostport.rfind(':') {
            Some(c) if port.is_some() => &hostport[..c],
            _ => hostport,
        };
        let tail = &after[hp_end..];
        let (params_raw, headers) = match tail.find('?') {
            Some(q) => (&tail[..q], Some(&tail[q + 1..])),
            None => (tail, None),
        };
        let params_at = hp_start + hp_end;
        if params_raw.bytes().any(|b| b == b' ' || b == b'\t' || b == b'"') {
            return Err(ParseError::syntax(params_at, "a URI parameter without whitespace or quotes"));
        }
        let params = Params::parse(params_raw).map_err(|e| e.shifted(params_at))?;
        if let Some(h) = headers {
            let at = params_at + params_raw.len() + 1;
            if h.is_empty() {
                return Err(ParseError::syntax(at, "a URI header"));
            }
            for (off, hdr) in split_offsets(h, '&') {
                let Some((name, value)) = hdr.split_once('=') else {
                    return Err(ParseError::syntax(at + off, "'=' in a URI header"));
                };
                if name.is_empty() {
                    return Err(ParseError::syntax(at + off, "a URI header name"));
                }
                escape::validate(name, is_header_char)
                    .and_then(|_| escape::validate(value, is_header_char))
                    .map_err(|i| ParseError::syntax(at + off + i, "a URI header character or %-escape"))?;
            }
        }
        Ok(SipUri { raw, secure, user, password, host_raw, host, port, params, headers })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// `sips:`?
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The scheme, lower-case.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "sips"
        } else {
            "sip"
        }
    }

    /// The user part as written (may contain %-escapes).
    pub fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// The user part with %-escapes decoded.
    pub fn user_unescaped(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.user.map(escape::unescape)
    }

    /// The password as written. Never log it.
    pub fn password(&self) -> Option<&'a str> {
        self.password
    }

    /// The host.
    pub fn host(&self) -> Host<'a> {
        self.host
    }

    /// The host exactly as written (brackets included for IPv6).
    pub fn host_str(&self) -> &'a str {
        self.host_raw
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to use: the explicit one, or 5060 / 5061 for sips.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }

    /// The uri-parameters.
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&'a str> {
        self.params.value("transport")
    }

    /// Is the `lr` (loose routing) flag present?
    pub fn is_loose_route(&self) -> bool {
        self.params.contains("lr")
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    /// The raw header component after `?`, if any.
    pub fn headers_str(&self) -> Option<&'a str> {
        self.headers
    }

    /// The header component as `(name, value)` pairs, still escaped.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.headers.into_iter().flat_map(|h| h.split('&')).filter_map(|kv| kv.split_once('='))
    }

    /// URI equivalence per RFC 3261 §19.1.4.
    pub fn equivalent(&self, other: &SipUri<'_>) -> bool {
        if self.secure != other.secure
            || !opt_eq(self.user, other.user, false)
            || !opt_eq(self.password, other.password, false)
            || !self.host.equivalent(&other.host)
            || self.port != other.port
        {
            return false;
        }
        // Parameters present in both must match; user, ttl, method, maddr (and transport) must
        // also be present in both if present in either. Others present in only one are ignored.
        for (a, b) in [(self, other), (other, self)] {
            for (name, value) in a.params.iter() {
                match b.params.get(name) {
                    Some(v) => {
                        if !opt_eq(value, v, true) {
                            return false;
                        }
                    }
                    // transport is not in the rule's list, but the RFC's own examples
                    // (sip:bob@biloxi.com vs. ...;transport=udp) treat it the same way.
                    None => {
                        if ["user", "ttl", "method", "maddr", "transport"].iter().any(|n| n.eq_ignore_ascii_case(name))
                        {
                            return false;
                        }
                    }
                }
            }
        }
        // Header components are never ignored: both must carry the same set.
        let mut ha: Vec<_> = self.headers().map(|(n, v)| (canonical(n, true), canonical(v, false))).collect();
        let mut hb: Vec<_> = other.headers().map(|(n, v)| (canonical(n, true), canonical(v, false))).collect();
        ha.sort();
        hb.sort();
        ha == hb
    }
}

fn opt_eq(a: Option<&str>, b: Option<&str>, fold_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => canonical(a, fold_case) == canonical(b, fold_case),
        _ => false,
    }
}

/// Splits on `sep`, yielding each piece with its offset.
fn split_offsets(s: &str, sep: char) -> impl Iterator<Item = (usize, &str)> {
    let mut off = 0;
    s.split(sep).map(move |p| {
        let r = (off, p);
        off += p.len() + 1;
        r
    })
}

impl fmt::Display for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

impl fmt::Debug for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is never printed.
        let mut d = f.debug_struct("SipUri");
        d.field("scheme", &self.scheme()).field("user", &self.user);
        if self.password.is_some() {
            d.field("password", &"<redacted>");
        }
        d.field("host", &self.host).field("port", &self.port).field("params", &self.params);
        d.field("headers", &self.headers).finish()
    }
}
