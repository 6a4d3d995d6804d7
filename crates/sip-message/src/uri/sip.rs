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
        let scan = scan_host(s.as_bytes());
        if scan.len < s.len() {
            return Err(ParseError::syntax(scan.len, "a hostname character"));
        }
        Host::from_scan(s, scan)
    }

    /// The host `s`, every byte of which is a hostname character, as `scan_host` found it.
    #[inline]
    pub(crate) fn from_scan(s: &'a str, scan: HostScan) -> Result<Host<'a>, ParseError> {
        let b = s.as_bytes();
        let Some(&first) = b.first() else {
            return Err(ParseError::syntax(0, "a host"));
        };
        if scan.digits_dots {
            return parse_ipv4(b).map(Host::Ipv4).ok_or(ParseError::syntax(0, "an IPv4 address"));
        }
        if first == b'.' || first == b'-' || scan.dot_dot {
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

/// What [`scan_host`] found.
#[derive(Clone, Copy)]
pub(crate) struct HostScan {
    /// The length of the run of hostname characters.
    pub len: usize,
    /// Are they all digits and dots (an IPv4 address, if anything)?
    pub digits_dots: bool,
    /// Do two dots follow each other (an empty label)?
    pub dot_dot: bool,
}

/// The run of hostname characters (alphanumerics, `-`, `.`, `_`) at the start of `b`, with what
/// [`Host::from_scan`] needs to know about it, in one pass.
#[inline]
pub(crate) fn scan_host(b: &[u8]) -> HostScan {
    let len = scan::run(b, scan::HOST);
    let host = &b[..len];
    // A name that starts with a letter is no IPv4 address: no need to look at the rest.
    let digits_dots = host.first().is_none_or(|&c| scan::is(c, scan::DIGIT_DOT))
        && host.iter().all(|&c| scan::is(c, scan::DIGIT_DOT));
    HostScan { len, digits_dots, dot_dot: has_dot_dot(host) }
}

/// Do two dots follow each other in `b`? Eight bytes at a time, overlapping by one so that no
/// pair is split.
#[inline]
fn has_dot_dot(b: &[u8]) -> bool {
    if b.len() < 8 {
        return b.windows(2).any(|w| w == b"..");
    }
    // The exact mask of the lanes holding '.' (high bit of each), without carries between lanes.
    let dots = |w: u64| {
        let x = w ^ 0x2e2e_2e2e_2e2e_2e2e;
        !(((x & 0x7f7f_7f7f_7f7f_7f7f) + 0x7f7f_7f7f_7f7f_7f7f) | x) & 0x8080_8080_8080_8080
    };
    let mut i = 0;
    loop {
        let w = b.get(i..).and_then(|r| r.first_chunk::<8>()).map_or(0, |c| u64::from_le_bytes(*c));
        let m = dots(w);
        if m & (m >> 8) != 0 {
            return true;
        }
        if i + 8 >= b.len() {
            return false;
        }
        i = (i + 7).min(b.len() - 8);
    }
}

/// Dotted-quad IPv4 with the acceptance of `Ipv4Addr::from_str`: four decimal octets of at
/// most 255 without leading zeros. The common form is read in one pass; anything else is left
/// to the standard library, so the two can never disagree on what is accepted.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut i = 0;
    while n < 4 {
        let start = i;
        let mut v = 0u32;
        while i < b.len() && i - start < 3 && scan::is(b[i], scan::DIGIT) {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let len = i - start;
        let leading_zero = len > 1 && b[start] == b'0';
        let ends_right = if n < 3 { b.get(i) == Some(&b'.') } else { i == b.len() };
        if len == 0 || leading_zero || v > 255 || !ends_right {
            return std::str::from_utf8(b).ok()?.parse().ok();
        }
        octets[n] = v as u8;
        n += 1;
        i += 1;
    }
    Some(Ipv4Addr::from(octets))
}

/// Splits `host[:port]`, where host may be an `[IPv6]` reference; also returns the host as
/// written.
pub(crate) fn split_hostport(s: &str) -> Result<(Host<'_>, &str, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(ParseError::syntax(s.len(), "']'"))? + 1;
        match &s[end..] {
            "" => (&s[..end], None),
            p => {
                (&s[..end], Some((end + 1, p.strip_prefix(':').ok_or(ParseError::syntax(end, "':' or end of host"))?)))
            }
        }
    } else {
        match s.bytes().position(|c| c == b':') {
            // ':' is ASCII, so both sides are whole characters.
            Some(c) => {
                (scan::sub(s, 0, c).unwrap_or_default(), Some((c + 1, scan::tail(s, c + 1).unwrap_or_default())))
            }
            None => (s, None),
        }
    };
    let parsed = Host::parse(host)?;
    let port = match port {
        None => None,
        Some((at, p)) => Some(parse_port(p.as_bytes(), at)?),
    };
    Ok((parsed, host, port))
}

/// A port: one to five digits, below 65536. Errors are at `at`.
#[inline]
pub(crate) fn parse_port(p: &[u8], at: usize) -> Result<u16, ParseError> {
    if p.is_empty() || p.len() > 5 || !p.iter().all(|&c| scan::is(c, scan::DIGIT)) {
        return Err(ParseError::syntax(at, "a port number"));
    }
    let v = p.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    u16::try_from(v).map_err(|_| ParseError::syntax(at, "a port number below 65536"))
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

/// `sip:` or `sips:` at the start of `b`, in any case: whether it is `sips`, and its length.
#[inline]
pub(crate) fn sip_scheme(b: &[u8]) -> Option<(bool, usize)> {
    // Letters compare with 0x20 or-ed in, which folds exactly their two cases together.
    let w = u32::from_le_bytes(*b.first_chunk::<4>()?);
    if w | 0x0020_2020 == u32::from_le_bytes(*b"sip:") {
        Some((false, 4))
    } else if w | 0x2020_2020 == u32::from_le_bytes(*b"sips") && b.get(4) == Some(&b':') {
        Some((true, 5))
    } else {
        None
    }
}

impl<'a> SipUri<'a> {
    /// Parses a complete `sip:`/`sips:` URI (scheme case-insensitive).
    #[inline]
    pub fn parse(raw: &'a str) -> Result<SipUri<'a>, ParseError> {
        match SipUri::parse_common(raw) {
            Some(u) => Ok(u),
            None => SipUri::parse_general(raw),
        }
    }

    /// The URIs found in practice, in one forward pass: a user (and password) without
    /// %-escapes, a hostname or IPv4 address, a port, parameters without %-escapes, no
    /// header component. `None` for anything else, which [`SipUri::parse_general`] then
    /// accepts or rejects; whatever this accepts, that accepts too, with the same result.
    #[inline]
    fn parse_common(raw: &'a str) -> Option<SipUri<'a>> {
        let b = raw.as_bytes();
        let (secure, skip) = sip_scheme(b)?;
        // The userinfo ends at the first '@' (see parse_general). User and password characters
        // exclude '@' and '%', so a run of them ending at '@' is the userinfo; a run ending
        // elsewhere means there is no userinfo only if no '@' follows at all.
        let no_at_from = |i: usize| b.get(i..).is_some_and(|rest| scan::find_byte(b'@', rest).is_none());
        let u_end = skip + scan::run(b.get(skip..)?, scan::USER);
        let (user, password, hp_start) = match b.get(u_end) {
            Some(b'@') if u_end > skip => (Some(scan::sub(raw, skip, u_end)?), None, u_end + 1),
            Some(b':') => {
                let p_end = u_end + 1 + scan::run(b.get(u_end + 1..)?, scan::PASSWORD);
                if b.get(p_end) == Some(&b'@') && u_end > skip {
                    (Some(scan::sub(raw, skip, u_end)?), Some(scan::sub(raw, u_end + 1, p_end)?), p_end + 1)
                } else if no_at_from(p_end) {
                    (None, None, skip)
                } else {
                    return None;
                }
            }
            Some(b'@') => return None,
            _ if no_at_from(u_end) => (None, None, skip),
            _ => return None,
        };
        // hostname or IPv4 (an IPv6 reference goes the general way), then an optional port.
        let host_scan = scan_host(b.get(hp_start..)?);
        let h_end = hp_start + host_scan.len;
        let host_raw = scan::sub(raw, hp_start, h_end)?;
        let host = Host::from_scan(host_raw, host_scan).ok()?;
        let mut k = h_end;
        let mut port = None;
        if b.get(k) == Some(&b':') {
            let digits = scan::run(b.get(k + 1..)?, scan::DIGIT);
            port = Some(parse_port(b.get(k + 1..k + 1 + digits)?, 0).ok()?);
            k += 1 + digits;
        }
        // uri-parameters: (';' name ['=' value])*, then the end.
        let params_start = k;
        loop {
            match b.get(k) {
                None => break,
                Some(b';') => {
                    let name = scan::run(b.get(k + 1..)?, scan::PARAM_NAME);
                    if name == 0 {
                        return None;
                    }
                    k += 1 + name;
                    if b.get(k) == Some(&b'=') {
                        let value = scan::run(b.get(k + 1..)?, scan::URI_PARAM_VALUE);
                        if value == 0 {
                            return None;
                        }
                        k += 1 + value;
                    }
                }
                Some(_) => return None,
            }
        }
        let params = Params::validated(scan::sub(raw, params_start, k)?);
        Some(SipUri { raw, secure, user, password, host_raw, host, port, params, headers: None })
    }

    /// Any `sip:`/`sips:` URI, with the error and its offset for one that is not.
    #[inline(never)]
    fn parse_general(raw: &'a str) -> Result<SipUri<'a>, ParseError> {
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
        let (host, host_raw, port) = split_hostport(hostport).map_err(|e| e.shifted(hp_start))?;
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
                // A repeated parameter name is compared by its first occurrence, the one
                // lookups see.
                if a.params.get(name) != Some(value) {
                    continue;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every URI the one-pass parser accepts, the general one accepts with the same result;
    /// checked on URIs of every shape and every one-byte change of them.
    #[test]
    fn common_path_agrees_with_the_general_parser() {
        let seeds = [
            "sip:bob@biloxi.example.com",
            "sips:alice:secret@atlanta.example.com:5061;transport=tls;lr",
            "sip:alice@192.0.2.101:5060;transport=udp",
            "sip:proxy.example.com;lr",
            "sip:host;param=x:y",
            "SIP:User@Host.Com:1;A=b;c",
            "sip:user;par=u%40example.net@example.com",
            "sip:a@[::1]:5060",
            "sip:a@b?h=v",
            "sip:1.2.3.4",
            "sip:01.2.3.4",
            "sip:a@b:65535",
            "sip:a@b:65536",
            "sip::pw@b",
            "sip:a@b;x=[::1];y=$&",
        ];
        let alphabet = b"@:;=?%.-_[]$&/ \"\t,0a9ZsSIiPp";
        let mut checked = 0;
        for seed in seeds {
            let mut inputs = vec![seed.to_owned()];
            for i in 0..seed.len() {
                for &c in alphabet {
                    let mut v = seed.as_bytes().to_vec();
                    v[i] = c;
                    inputs.push(String::from_utf8(v.clone()).unwrap_or_default());
                    v.insert(i, c);
                    inputs.push(String::from_utf8(v).unwrap_or_default());
                }
                inputs.push(format!("{}{}", &seed[..i], &seed[i + 1..]));
            }
            for s in &inputs {
                if let Some(u) = SipUri::parse_common(s) {
                    assert_eq!(Ok(u), SipUri::parse_general(s), "{s}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn scheme_in_any_case_and_nothing_else() {
        for s in ["sip:", "SIP:", "sIp:", "sips:", "SIPS:", "sIpS:"] {
            let expected = (s.len() == 5, s.len());
            assert_eq!(sip_scheme(s.as_bytes()), Some(expected), "{s}");
            let mut longer = s.to_owned();
            longer.push_str("a@b");
            assert_eq!(sip_scheme(longer.as_bytes()), Some(expected), "{longer}");
        }
        for s in [
            "sip",
            "sips",
            "sip;",
            "sipz:",
            "tel:",
            "si:p",
            "sIp\u{1a}",
            "sip\u{1a}",
            "s\u{9}p:",
            "sip\u{7f}",
            "sips\u{1a}",
        ] {
            assert_eq!(sip_scheme(s.as_bytes()), None, "{s:?}");
        }
        // Every byte that is not a letter of the scheme, in every position.
        for at in 0..5 {
            for c in 0..=255u8 {
                let mut b = *b"sips:";
                if b[at].eq_ignore_ascii_case(&c) {
                    continue;
                }
                b[at] = c;
                let expected = (at == 3 && c == b':').then_some((false, 4));
                assert_eq!(sip_scheme(&b), expected, "{b:?}");
            }
        }
    }

    #[test]
    fn host_scan_agrees_with_a_byte_scan() {
        let alphabet = b"a.9-_:.Z0;";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..24 {
            for _ in 0..300 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let run = b.iter().position(|&c| !scan::is(c, scan::HOST)).unwrap_or(b.len());
                let host = &b[..run];
                let scan = scan_host(&b);
                assert_eq!(scan.len, run, "{b:?}");
                assert_eq!(scan.digits_dots, host.iter().all(|&c| c.is_ascii_digit() || c == b'.'), "{b:?}");
                assert_eq!(scan.dot_dot, host.windows(2).any(|w| w == b".."), "{b:?}");
                assert_eq!(has_dot_dot(&b), b.windows(2).any(|w| w == b".."), "{b:?}");
            }
        }
    }

    #[test]
    fn ipv4_agrees_with_the_standard_library() {
        let parts =
            ["0", "1", "9", "10", "99", "100", "199", "255", "256", "300", "999", "00", "01", "010", "1000", ""];
        for a in parts {
            for b in parts {
                for s in [format!("{a}.{b}.1.2"), format!("1.2.{a}.{b}"), format!("{a}.{b}"), format!("1.2.3.{a}.{b}")]
                {
                    assert_eq!(parse_ipv4(s.as_bytes()), s.parse::<Ipv4Addr>().ok(), "{s}");
                }
            }
        }
    }
}
