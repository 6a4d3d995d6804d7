//! Reason (RFC 3326) and Warning (RFC 3261 §20.43): why something happened.

use crate::error::ParseError;
use crate::header::{ListHeader, StandardHeader, TypedHeader};
use crate::params::Params;
use crate::scan::{is_token, is_ws, lead_ws, quoted_len, unquote};
use std::borrow::Cow;

/// One Reason entry: `SIP ;cause=200 ;text="Call completed elsewhere"`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reason<'a> {
    /// `SIP`, `Q.850`, or another protocol token.
    pub protocol: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> Reason<'a> {
    /// The `cause` code.
    pub fn cause(&self) -> Option<u16> {
        self.params.value("cause").and_then(|c| c.parse().ok())
    }

    /// The `text`, unquoted.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        self.params.value("text").map(unquote)
    }
}

impl<'a> TypedHeader<'a> for Reason<'a> {
    const NAME: StandardHeader = StandardHeader::Reason;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let lead = lead_ws(value);
        let len = value[lead..].bytes().take_while(|&b| is_token(b)).count();
        if len == 0 {
            return Err(ParseError::syntax(lead, "a protocol token"));
        }
        let end = lead + len;
        let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
        Ok(Reason { protocol: &value[lead..end], params })
    }
}

impl<'a> ListHeader<'a> for Reason<'a> {}

/// One Warning entry: `307 isi.edu "Session parameter 'foo' not understood"`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Warning<'a> {
    /// The three-digit warn-code.
    pub code: u16,
    /// The warn-agent (`host[:port]` or a pseudonym).
    pub agent: &'a str,
    /// The warn-text, with its quotes.
    pub text_raw: &'a str,
}

impl<'a> Warning<'a> {
    /// The warn-text without quotes and escapes.
    pub fn text(&self) -> Cow<'a, str> {
        unquote(self.text_raw)
    }
}

impl<'a> TypedHeader<'a> for Warning<'a> {
    const NAME: StandardHeader = StandardHeader::Warning;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let b = value.as_bytes();
        let mut i = 0;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if b.len() < i + 4 || !b[i..i + 3].iter().all(u8::is_ascii_digit) || !is_ws(b[i + 3]) {
            return Err(ParseError::syntax(i, "a three-digit warn-code"));
        }
        let code = value[i..i + 3].parse().map_err(|_| ParseError::syntax(i, "a warn-code"))?;
        i += 4;
        let a = i;
        while i < b.len() && !is_ws(b[i]) {
            i += 1;
        }
        if i == a {
            return Err(ParseError::syntax(i, "a warn-agent"));
        }
        let agent = &value[a..i];
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'"' {
            return Err(ParseError::syntax(i, "a quoted warn-text"));
        }
        let q = quoted_len(&b[i..]).ok_or(ParseError::syntax(i, "a closing '\"'"))?;
        if !value[i + q..].trim_matches([' ', '\t']).is_empty() {
            return Err(ParseError::syntax(i + q, "the end of the warning"));
        }
        Ok(Warning { code, agent, text_raw: &value[i..i + q] })
    }
}

impl<'a> ListHeader<'a> for Warning<'a> {}
