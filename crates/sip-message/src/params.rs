//! [`Params`]: a `;name[=value]` parameter list, read lazily from the text it came in.

use crate::error::ParseError;
use crate::scan::{self, is_ws, quoted_len, trim_ws};
use std::fmt;

/// A validated list of `;name[=value]` parameters (generic-param of RFC 3261 §25.1, or
/// uri-parameters), borrowed from the message. Names compare case-insensitively; values are
/// returned raw (a quoted-string keeps its quotes: see [`crate::unquote`]).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a str,
}

/// Characters allowed in an unquoted parameter value: token characters plus those that appear
/// in hosts and URI parameters (`[` `]` `:` `/` `&` `$` `@` `?` `=`: RFC 3261 §25.1
/// paramchar, gen-value host form).
fn is_value_char(b: u8) -> bool {
    scan::is(b, scan::VALUE)
}

impl<'a> Params<'a> {
    /// Validates `raw`, which is empty or starts with `;`. Whitespace is allowed around `;` and
    /// `=` (SEMI and EQUAL of RFC 3261 §25.1). Offsets in errors are relative to `raw`.
    pub fn parse(raw: &'a str) -> Result<Params<'a>, ParseError> {
        let b = raw.as_bytes();
        let mut i = 0;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        while i < b.len() {
            if b[i] != b';' {
                return Err(ParseError::syntax(i, "';' before a parameter"));
            }
            i += 1;
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
            let name_start = i;
            while i < b.len() && scan::is(b[i], scan::PARAM_NAME) {
                i += 1;
            }
            if i == name_start {
                return Err(ParseError::syntax(i, "a parameter name"));
            }
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
            if i < b.len() && b[i] == b'=' {
                i += 1;
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
                if i < b.len() && b[i] == b'"' {
                    i += quoted_len(&b[i..]).ok_or(ParseError::syntax(i, "a closing '\"'"))?;
                } else {
                    let v = i;
                    while i < b.len() && is_value_char(b[i]) {
                        i += 1;
                    }
                    if i == v {
                        return Err(ParseError::syntax(i, "a parameter value"));
                    }
                }
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
            }
        }
        Ok(Params { raw })
    }

    /// A list the caller has already validated with the grammar of [`Params::parse`].
    #[inline]
    pub(crate) fn validated(raw: &'a str) -> Params<'a> {
        Params { raw }
    }

    /// An empty list.
    pub const fn empty() -> Params<'static> {
        Params { raw: "" }
    }

    /// The raw text, starting with `;` unless empty.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        trim_ws(self.raw).is_empty()
    }

    /// Iterates `(name, value)` pairs in order; `value` is `None` for a flag like `;lr`.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter { rest: self.raw }
    }

    /// The first parameter named `name` (case-insensitive): `Some(None)` for a flag,
    /// `Some(Some(value))` for a valued one, `None` if absent.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The value of `name` if present with a value.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).flatten()
    }

    /// Is `name` present (with or without a value)?
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

/// Iterator over a [`Params`] list.
#[derive(Clone, Debug)]
pub struct ParamIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.trim_start_matches([' ', '\t']);
        let s = s.strip_prefix(';')?;
        let b = s.as_bytes();
        // The list was validated, so the end is the next ';' outside a quoted string.
        let mut i = 0;
        while i < b.len() && b[i] != b';' {
            if b[i] == b'"' {
                i += quoted_len(&b[i..]).unwrap_or(b.len() - i);
            } else {
                i += 1;
            }
        }
        let item = &s[..i];
        self.rest = &s[i..];
        Some(match item.split_once('=') {
            Some((n, v)) => (trim_ws(n), Some(trim_ws(v))),
            None => (trim_ws(item), None),
        })
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_values_and_quotes() {
        let p = Params::parse(r#";branch=z9hG4bK1 ; rport;received=[::1];x="a;b""#).unwrap();
        assert_eq!(p.value("BRANCH"), Some("z9hG4bK1"));
        assert_eq!(p.get("rport"), Some(None));
        assert_eq!(p.value("received"), Some("[::1]"));
        assert_eq!(p.value("x"), Some("\"a;b\""));
        assert_eq!(p.len(), 4);
        assert!(p.get("ttl").is_none());
    }

    #[test]
    fn rejects_malformed() {
        assert!(Params::parse(";").is_err());
        assert!(Params::parse(";a=").is_err());
        assert!(Params::parse(";a=\"open").is_err());
        assert!(Params::parse("a=b").is_err());
        assert!(Params::parse(";a b").is_err());
    }
}
