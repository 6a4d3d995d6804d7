//! Call-ID (RFC 3261 §20.8) and Replaces (RFC 3891 §6.1), which name a dialog.

use crate::error::ParseError;
use crate::header::{StandardHeader, TypedHeader};
use crate::params::Params;
use crate::scan::{self, lead_ws, trim_ws};

/// `word` characters of RFC 3261 §25.1 (Call-ID).
fn is_word(b: u8) -> bool {
    scan::is(b, scan::WORD)
}

/// Checks `word ["@" word]`.
#[inline]
fn validate_call_id(s: &str) -> Result<(), ParseError> {
    // One pass for what Call-IDs look like: a word, or two joined by one '@'.
    let b = s.as_bytes();
    let first = scan::run(b, scan::WORD);
    let ok = match b.get(first) {
        None => first > 0,
        Some(b'@') => {
            let second = scan::run(&b[first + 1..], scan::WORD);
            first > 0 && second > 0 && first + 1 + second == b.len()
        }
        Some(_) => false,
    };
    if ok {
        Ok(())
    } else {
        call_id_error(s)
    }
}

/// Why `s` is no Call-ID.
#[cold]
fn call_id_error(s: &str) -> Result<(), ParseError> {
    let (a, b) = match s.split_once('@') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    if a.is_empty() || b.is_some_and(str::is_empty) {
        return Err(ParseError::syntax(0, "a Call-ID of the form word[@word]"));
    }
    if let Some(i) = s.bytes().position(|c| !(is_word(c) || c == b'@')) {
        return Err(ParseError::syntax(i, "a Call-ID character"));
    }
    if b.is_some_and(|b| b.contains('@')) {
        return Err(ParseError::syntax(a.len() + 1, "at most one '@' in Call-ID"));
    }
    Ok(())
}

/// The Call-ID. Compared byte for byte (case-sensitive).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CallId<'a>(pub &'a str);

impl<'a> TypedHeader<'a> for CallId<'a> {
    const NAME: StandardHeader = StandardHeader::CallId;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let v = trim_ws(value);
        validate_call_id(v)?;
        Ok(CallId(v))
    }
}

/// `Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Replaces<'a> {
    /// The Call-ID of the dialog to replace.
    pub call_id: &'a str,
    /// The `to-tag`.
    pub to_tag: &'a str,
    /// The `from-tag`.
    pub from_tag: &'a str,
    /// `early-only` present?
    pub early_only: bool,
    /// All parameters.
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for Replaces<'a> {
    const NAME: StandardHeader = StandardHeader::Replaces;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let lead = lead_ws(value);
        let end = value[lead..].find([';', ' ', '\t']).map_or(value.len(), |e| e + lead);
        let call_id = &value[lead..end];
        validate_call_id(call_id).map_err(|e| e.shifted(lead))?;
        let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
        let to_tag = params.value("to-tag").ok_or(ParseError::syntax(value.len(), "a to-tag parameter"))?;
        let from_tag = params.value("from-tag").ok_or(ParseError::syntax(value.len(), "a from-tag parameter"))?;
        Ok(Replaces { call_id, to_tag, from_tag, early_only: params.contains("early-only"), params })
    }
}
