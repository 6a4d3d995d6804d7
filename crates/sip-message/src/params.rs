//! [`Params`]: a `;name[=value]` parameter list, read lazily from the text it came in.

use crate::error::ParseError;
use crate::scan::{self, quoted_len, trim_ws};
use std::fmt;

/// A validated list of `;name[=value]` parameters (generic-param of RFC 3261 §25.1, or
/// uri-parameters), borrowed from the message. Names compare case-insensitively; values are
/// returned raw (a quoted-string keeps its quotes: see [`crate::unquote`]).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// Validates `raw`, which is empty or starts with `;`. Whitespace is allowed around `;` and
    /// `=` (SEMI and EQUAL of RFC 3261 §25.1). Offsets in errors are relative to `raw`.
    pub fn parse(raw: &'a str) -> Result<Params<'a>, ParseError> {
        walk(raw, |_, _| {})?;
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
        let mut it = self.iter();
        loop {
            let (n, v) = it.next()?;
            if n.len() == name.len() && n.eq_ignore_ascii_case(name) {
                return Some(v);
            }
        }
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

/// One parameter: its name, its raw value, and where the next one starts.
type Step<'a> = (&'a str, Option<&'a str>, usize);

/// One parameter of `raw` from `i` (`;`, name, optional value, trailing whitespace). `Ok(None)`
/// at the end.
#[inline]
fn step(raw: &str, mut i: usize) -> Result<Option<Step<'_>>, ParseError> {
    let b = raw.as_bytes();
    let rest = |i: usize| b.get(i..).unwrap_or_default();
    if i >= b.len() {
        return Ok(None);
    }
    if b[i] != b';' {
        return Err(ParseError::syntax(i, "';' before a parameter"));
    }
    i += 1;
    i += scan::run(rest(i), scan::WS);
    let name_start = i;
    i += scan::run(rest(i), scan::PARAM_NAME);
    if i == name_start {
        return Err(ParseError::syntax(i, "a parameter name"));
    }
    let name = scan::sub(raw, name_start, i).unwrap_or_default();
    i += scan::run(rest(i), scan::WS);
    let mut value = None;
    if b.get(i) == Some(&b'=') {
        i += 1;
        i += scan::run(rest(i), scan::WS);
        let v = i;
        if b.get(i) == Some(&b'"') {
            i += quoted_len(rest(i)).ok_or(ParseError::syntax(i, "a closing '\"'"))?;
        } else {
            i += scan::run(rest(i), scan::VALUE);
            if i == v {
                return Err(ParseError::syntax(i, "a parameter value"));
            }
        }
        value = Some(scan::sub(raw, v, i).unwrap_or_default());
        i += scan::run(rest(i), scan::WS);
    }
    Ok(Some((name, value, i)))
}

/// Walks `raw` with the grammar of [`Params::parse`], calling `each(name, value)` for every
/// parameter in order (values raw: a quoted one keeps its quotes). Offsets in errors are
/// relative to `raw`.
#[inline]
pub(crate) fn walk<'a>(raw: &'a str, mut each: impl FnMut(&'a str, Option<&'a str>)) -> Result<(), ParseError> {
    let mut i = scan::run(raw.as_bytes(), scan::WS);
    while let Some((name, value, next)) = step(raw, i)? {
        each(name, value);
        i = next;
    }
    Ok(())
}

/// Iterator over a [`Params`] list.
#[derive(Clone, Debug)]
pub struct ParamIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The list was validated, so it follows the grammar: one step is one parameter.
        let lead = scan::run(self.rest.as_bytes(), scan::WS);
        let (name, value, next) = step(self.rest, lead).ok()??;
        self.rest = scan::tail(self.rest, next).unwrap_or_default();
        Some((name, value))
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
