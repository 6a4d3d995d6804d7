//! [`NameAddr`]: `name-addr` / `addr-spec` with header parameters, the value shape of From,
//! To, Contact, Route, Record-Route, Refer-To, Referred-By and P-Asserted-Identity.

use crate::error::ParseError;
use crate::params::{self, Params};
use crate::scan::{self, is_token, is_ws, lead_ws, quoted_len, trim_ws, unquote};
use crate::uri::Uri;
use std::borrow::Cow;
use std::fmt;

/// An address with an optional display name and header parameters, borrowed from a header
/// value: `"Alice" <sip:alice@atlanta.com>;tag=1928301774`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    raw: &'a str,
    display: Option<&'a str>,
    uri: Uri<'a>,
    bracketed: bool,
    params: Params<'a>,
    /// The value of the first `tag` parameter, found while the parameters were validated.
    tag: Option<&'a str>,
}

impl fmt::Debug for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameAddr")
            .field("raw", &self.raw)
            .field("display", &self.display)
            .field("uri", &self.uri)
            .field("bracketed", &self.bracketed)
            .field("params", &self.params)
            .finish()
    }
}

impl<'a> NameAddr<'a> {
    /// Parses one address (not a comma-separated list). Offsets in errors are relative to
    /// `s`.
    pub fn parse(s: &'a str) -> Result<NameAddr<'a>, ParseError> {
        let lead = lead_ws(s);
        let t = trim_ws(s);
        let b = t.as_bytes();
        if b.is_empty() {
            return Err(ParseError::syntax(lead, "an address"));
        }
        let (display, uri_start) = if b[0] == b'"' {
            let q = quoted_len(b).ok_or(ParseError::syntax(lead, "a closing '\"' of the display name"))?;
            let mut i = q;
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
            if i >= b.len() || b[i] != b'<' {
                return Err(ParseError::syntax(lead + i, "'<' after the display name"));
            }
            (Some(&t[..q]), Some(i))
        } else if let Some(lt) = scan::find_byte(b'<', b) {
            // Unquoted display name: *(token LWS). UTF-8 beyond ASCII is tolerated, as many
            // user agents send it unquoted.
            let name = trim_ws(scan::sub(t, 0, lt).unwrap_or_default());
            if let Some(i) = name.bytes().position(|c| !(is_token(c) || is_ws(c) || c >= 0x80)) {
                return Err(ParseError::syntax(lead + i, "a token or quoted string as display name"));
            }
            (if name.is_empty() { None } else { Some(name) }, Some(lt))
        } else {
            (None, None)
        };
        let (uri_str, uri_at, rest, rest_at) = match uri_start {
            Some(lt) => {
                let gt = scan::find_byte(b'>', &b[lt..]).ok_or(ParseError::syntax(lead + t.len(), "'>'"))? + lt;
                (
                    scan::sub(t, lt + 1, gt).unwrap_or_default(),
                    lead + lt + 1,
                    scan::tail(t, gt + 1).unwrap_or_default(),
                    lead + gt + 1,
                )
            }
            None => {
                // addr-spec without brackets: the URI ends at the first ';' and may not contain
                // ',' or '?' (RFC 3261 §20.10); what follows are header parameters.
                let end = b.iter().position(|&c| matches!(c, b';' | b' ' | b'\t')).unwrap_or(b.len());
                let u = &t[..end];
                if let Some(i) = u.find(['?', ',', '>', '"']) {
                    return Err(ParseError::syntax(lead + i, "angle brackets around a URI with '?' or ','"));
                }
                (u, lead, &t[end..], lead + end)
            }
        };
        let uri = Uri::parse(uri_str).map_err(|e| e.shifted(uri_at))?;
        let mut tag = None;
        params::walk(rest, |name, value| {
            if tag.is_none() && name.eq_ignore_ascii_case("tag") {
                tag = Some(value);
            }
        })
        .map_err(|e| e.shifted(rest_at))?;
        let params = Params::validated(rest);
        Ok(NameAddr { raw: t, display, uri, bracketed: uri_start.is_some(), params, tag: tag.flatten() })
    }

    /// The whole address as written (trimmed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The display name as written (quotes included if it was quoted).
    pub fn display_raw(&self) -> Option<&'a str> {
        self.display
    }

    /// The display name with quotes and escapes removed. An empty quoted name gives `""`.
    pub fn display_name(&self) -> Option<Cow<'a, str>> {
        self.display.map(unquote)
    }

    /// The URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }

    /// Was the URI in angle brackets?
    pub fn is_bracketed(&self) -> bool {
        self.bracketed
    }

    /// The header parameters (after the URI, outside the brackets).
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// Writes a name-addr: quotes the display name when it is not a plain token sequence and
/// always brackets the URI.
pub fn format_name_addr(display: Option<&str>, uri: &str, params: &str) -> String {
    let mut out = String::with_capacity(uri.len() + params.len() + 16);
    if let Some(d) = display {
        if !d.is_empty() && d.bytes().all(|c| is_token(c) || c == b' ') && !d.starts_with(' ') {
            out.push_str(d);
        } else {
            out.push('"');
            for c in d.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        out.push(' ');
    }
    out.push('<');
    out.push_str(uri);
    out.push('>');
    out.push_str(params);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(r#" "A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s"#).unwrap();
        assert_eq!(a.display_name().as_deref(), Some("A. G. Bell"));
        assert_eq!(a.uri().as_str(), "sip:agb@bell-telephone.com");
        assert_eq!(a.tag(), Some("a48s"));

        let b = NameAddr::parse("sip:+12125551212@server.phone2net.com;tag=887s").unwrap();
        assert!(!b.is_bracketed());
        assert_eq!(b.uri().as_str(), "sip:+12125551212@server.phone2net.com");
        assert_eq!(b.tag(), Some("887s"));

        let c = NameAddr::parse("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8").unwrap();
        assert_eq!(c.display_name().as_deref(), Some("Anonymous"));

        let d = NameAddr::parse(r#""" <sip:x@y>"#).unwrap();
        assert_eq!(d.display_name().as_deref(), Some(""));

        let e = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(e.display_name().as_deref(), Some("caller"));
    }

    #[test]
    fn rejects() {
        for bad in ["", "<sip:a@b", "\"open <sip:a@b>", "\"x\" sip:a@b", "sip:a@b?x=y", "a,b <sip:a@b>", "<sip:a@b>;"] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_name_addr(Some("Bob"), "sip:bob@b", ";tag=1"), "Bob <sip:bob@b>;tag=1");
        assert_eq!(format_name_addr(Some("Doe, \"J\""), "sip:j@d", ""), r#""Doe, \"J\"" <sip:j@d>"#);
        assert_eq!(format_name_addr(None, "sip:x@y", ""), "<sip:x@y>");
    }
}
