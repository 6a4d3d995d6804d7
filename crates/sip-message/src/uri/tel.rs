//! `tel:` URIs (RFC 3966).

use crate::error::ParseError;
use crate::params::Params;
use std::fmt;

/// A `tel:` URI: a global (`+` E.164) or local number with parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TelUri<'a> {
    raw: &'a str,
    number: &'a str,
    params: Params<'a>,
}

fn is_visual_separator(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'(' | b')')
}

impl<'a> TelUri<'a> {
    /// Parses `tel:number;params` (scheme case-insensitive). A local number (no `+`) must carry
    /// a `phone-context` parameter (RFC 3966 §5.1.5).
    pub fn parse(raw: &'a str) -> Result<TelUri<'a>, ParseError> {
        if raw.len() < 4 || !raw.as_bytes()[..4].eq_ignore_ascii_case(b"tel:") {
            return Err(ParseError::syntax(0, "'tel:'"));
        }
        let rest = &raw[4..];
        let end = rest.find(';').unwrap_or(rest.len());
        let number = &rest[..end];
        let global = number.starts_with('+');
        let digits = if global { &number[1..] } else { number };
        let ok = |b: u8| {
            if global {
                b.is_ascii_digit() || is_visual_separator(b)
            } else {
                b.is_ascii_hexdigit() || b == b'*' || b == b'#' || is_visual_separator(b)
            }
        };
        if !digits.bytes().any(|b| b.is_ascii_hexdigit() || b == b'*' || b == b'#') {
            return Err(ParseError::syntax(4, "a telephone number"));
        }
        if let Some(i) = digits.bytes().position(|b| !ok(b)) {
            return Err(ParseError::syntax(4 + (number.len() - digits.len()) + i, "a phone digit"));
        }
        let params = Params::parse(&rest[end..]).map_err(|e| e.shifted(4 + end))?;
        if !global && !params.contains("phone-context") {
            return Err(ParseError::syntax(raw.len(), "a phone-context parameter for a local number"));
        }
        Ok(TelUri { raw, number, params })
    }

    /// The number as written, visual separators included.
    pub fn number(&self) -> &'a str {
        self.number
    }

    /// Is it a global (E.164, `+`) number?
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The number without visual separators (RFC 3966 §5.1.1), upper-cased hex digits.
    pub fn normalized_number(&self) -> String {
        self.number.bytes().filter(|&b| !is_visual_separator(b)).map(|b| b.to_ascii_uppercase() as char).collect()
    }

    /// The parameters (`ext`, `isub`, `phone-context`, ...).
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Equivalence per RFC 3966 §4: same normalized number, and the same set of parameters
    /// (names and values case-insensitive; phone-context compared without separators).
    pub fn equivalent(&self, other: &TelUri<'_>) -> bool {
        if self.normalized_number() != other.normalized_number() || self.params.len() != other.params.len() {
            return false;
        }
        let strip = |s: &str| s.bytes().filter(|&c| !is_visual_separator(c)).map(|c| c.to_ascii_lowercase()).collect();
        // Every value a name has, in order: a name given twice (which RFC 3966 does not
        // forbid the parser to meet) compares all its values, not only the first.
        let values = |params: &Params<'_>, name: &str| -> Vec<Option<Vec<u8>>> {
            params.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.map(strip)).collect()
        };
        self.params.iter().all(|(n, _)| values(&self.params, n) == values(&other.params, n))
    }
}

impl fmt::Display for TelUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}
