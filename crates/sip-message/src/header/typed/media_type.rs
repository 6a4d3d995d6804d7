//! Content-Type and Accept (RFC 3261 §20.15, §20.1; media types per RFC 2045).

use crate::error::ParseError;
use crate::header::{ListHeader, StandardHeader, TypedHeader};
use crate::params::Params;
use crate::scan::{is_token, is_ws};

/// `type/subtype;params`, as in Content-Type. Compare type and subtype case-insensitively.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MediaType<'a> {
    /// The top-level type (`application`), or `*` in Accept.
    pub kind: &'a str,
    /// The subtype (`sdp`), or `*` in Accept.
    pub subtype: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// Parses `type/subtype *(;param)`.
    pub fn parse(value: &'a str) -> Result<MediaType<'a>, ParseError> {
        let b = value.as_bytes();
        let mut i = 0;
        let token = |i: &mut usize, what| {
            while *i < b.len() && is_ws(b[*i]) {
                *i += 1;
            }
            let s = *i;
            while *i < b.len() && is_token(b[*i]) {
                *i += 1;
            }
            if *i == s {
                return Err(ParseError::syntax(*i, what));
            }
            let t = &value[s..*i];
            while *i < b.len() && is_ws(b[*i]) {
                *i += 1;
            }
            Ok(t)
        };
        let kind = token(&mut i, "a media type")?;
        if i >= b.len() || b[i] != b'/' {
            return Err(ParseError::syntax(i, "'/' between type and subtype"));
        }
        i += 1;
        let subtype = token(&mut i, "a media subtype")?;
        let params = Params::parse(&value[i..]).map_err(|e| e.shifted(i))?;
        Ok(MediaType { kind, subtype, params })
    }

    /// Is this `kind/subtype` (case-insensitive)?
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The `boundary` parameter of a multipart type, unquoted.
    pub fn boundary(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.params.value("boundary").map(crate::scan::unquote)
    }
}

/// The Content-Type header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ContentType<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for ContentType<'a> {
    const NAME: StandardHeader = StandardHeader::ContentType;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        MediaType::parse(value).map(ContentType)
    }
}

/// One media range of an Accept header (`application/sdp`, `text/*;q=0.5`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Accept<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for Accept<'a> {
    const NAME: StandardHeader = StandardHeader::Accept;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        MediaType::parse(value).map(Accept)
    }
}

impl<'a> ListHeader<'a> for Accept<'a> {}
