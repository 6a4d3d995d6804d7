//! Headers built around a number: CSeq, Max-Forwards, Content-Length, Expires, Min-Expires,
//! RSeq, RAck (RFC 3262), Session-Expires and Min-SE (RFC 4028), Retry-After.

use crate::error::ParseError;
use crate::header::{StandardHeader, TypedHeader};
use crate::method::Method;
use crate::params::Params;
use crate::scan::{self, is_ws, lead_ws, parse_u32, parse_u32_bytes, trim_ws};
use crate::text::Text;

/// Splits `number rest`, parsing the leading decimal number (at most `max`).
fn leading_number(value: &str, max: u32, what: &'static str) -> Result<(u32, usize), ParseError> {
    let lead = lead_ws(value);
    let digits = value[lead..].bytes().take_while(u8::is_ascii_digit).count();
    let n = parse_u32(&value[lead..lead + digits]).filter(|n| *n <= max).ok_or(ParseError::syntax(lead, what))?;
    Ok((n, lead + digits))
}

/// A header that is only a number.
fn whole_number(value: &str, max: u32, what: &'static str) -> Result<u32, ParseError> {
    let (n, end) = leading_number(value, max, what)?;
    if !trim_ws(&value[end..]).is_empty() {
        return Err(ParseError::syntax(end, "the end of the value after the number"));
    }
    Ok(n)
}

/// `CSeq: 4711 INVITE`. The number is below 2^31 (RFC 3261 §8.1.1.5).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl TypedHeader<'_> for CSeq {
    const NAME: StandardHeader = StandardHeader::CSeq;
    fn parse(value: &str) -> Result<CSeq, ParseError> {
        // As sent by everyone: digits, one SP, a method. Anything else takes the general path.
        let b = value.as_bytes();
        let digits = scan::run(b, scan::DIGIT);
        if b.get(digits) == Some(&b' ') {
            let seq = parse_u32_bytes(&b[..digits]).filter(|&n| n <= i32::MAX as u32);
            let name = scan::tail(value, digits + 1).unwrap_or_default();
            if let (Some(seq), Some(method)) = (seq, Method::from_bytes(name.as_bytes(), || Text::from(name))) {
                return Ok(CSeq { seq, method });
            }
        }
        let (seq, end) = leading_number(value, i32::MAX as u32, "a sequence number below 2^31")?;
        let rest = &value[end..];
        if !rest.starts_with([' ', '\t']) {
            return Err(ParseError::syntax(end, "whitespace after the sequence number"));
        }
        let m = trim_ws(rest);
        let method = Method::from_token(m).ok_or(ParseError::syntax(end + 1, "a method"))?;
        Ok(CSeq { seq, method })
    }
}

macro_rules! number_header {
    ($(#[$doc:meta])* $name:ident($ty:ty), $std:ident, max = $max:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name(pub $ty);

        impl TypedHeader<'_> for $name {
            const NAME: StandardHeader = StandardHeader::$std;
            fn parse(value: &str) -> Result<$name, ParseError> {
                // The range check keeps the cast lossless.
                whole_number(value, $max, $what).map(|n| $name(n as $ty))
            }
        }
    };
}

number_header!(
    /// Max-Forwards: 0–255 (RFC 3261 §20.22).
    MaxForwards(u8), MaxForwards, max = 255, "a hop count of 0-255");
number_header!(
    /// Content-Length in octets.
    ContentLength(u32), ContentLength, max = u32::MAX, "a length");
number_header!(
    /// Expires in seconds (RFC 3261 §20.19; delta-seconds up to 2^32-1).
    Expires(u32), Expires, max = u32::MAX, "delta-seconds");
number_header!(
    /// Min-Expires in seconds, sent with 423.
    MinExpires(u32), MinExpires, max = u32::MAX, "delta-seconds");
number_header!(
    /// RSeq of a reliable provisional response (RFC 3262 §7.1): 1 to 2^31-1.
    RSeq(u32), RSeq, max = i32::MAX as u32, "a response number below 2^31");

/// `RAck: 776656 1 INVITE` (RFC 3262 §7.2).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RAck {
    /// The RSeq being acknowledged.
    pub rseq: u32,
    /// The CSeq number of the INVITE.
    pub cseq: u32,
    /// The method of that CSeq.
    pub method: Method,
}

impl TypedHeader<'_> for RAck {
    const NAME: StandardHeader = StandardHeader::RAck;
    fn parse(value: &str) -> Result<RAck, ParseError> {
        let (rseq, e1) = leading_number(value, u32::MAX, "a response number")?;
        let (cseq, e2) = leading_number(&value[e1..], u32::MAX, "a CSeq number").map_err(|e| e.shifted(e1))?;
        let rest = &value[e1 + e2..];
        let method = Method::from_token(trim_ws(rest)).filter(|_| rest.starts_with([' ', '\t']));
        let method = method.ok_or(ParseError::syntax(e1 + e2, "a method"))?;
        Ok(RAck { rseq, cseq, method })
    }
}

/// Who refreshes a session (RFC 4028 §4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Refresher {
    /// `refresher=uac`
    Uac,
    /// `refresher=uas`
    Uas,
}

/// `Session-Expires: 1800;refresher=uac` (RFC 4028 §4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SessionExpires<'a> {
    /// The interval in seconds.
    pub delta: u32,
    /// The refresher, if named.
    pub refresher: Option<Refresher>,
    /// All parameters.
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for SessionExpires<'a> {
    const NAME: StandardHeader = StandardHeader::SessionExpires;
    fn parse(value: &'a str) -> Result<SessionExpires<'a>, ParseError> {
        let (delta, end) = leading_number(value, u32::MAX, "delta-seconds")?;
        let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
        let refresher = match params.value("refresher") {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err(ParseError::syntax(end, "refresher=uac or refresher=uas")),
        };
        Ok(SessionExpires { delta, refresher, params })
    }
}

/// `Min-SE: 90` (RFC 4028 §5).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MinSe<'a> {
    /// The minimum interval in seconds.
    pub delta: u32,
    /// Extension parameters.
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for MinSe<'a> {
    const NAME: StandardHeader = StandardHeader::MinSe;
    fn parse(value: &'a str) -> Result<MinSe<'a>, ParseError> {
        let (delta, end) = leading_number(value, u32::MAX, "delta-seconds")?;
        let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
        Ok(MinSe { delta, params })
    }
}

/// `Retry-After: 18000 (in a meeting);duration=3600` (RFC 3261 §20.33).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RetryAfter<'a> {
    /// Seconds to wait.
    pub delta: u32,
    /// The comment, without its parentheses.
    pub comment: Option<&'a str>,
    /// Parameters (`duration`).
    pub params: Params<'a>,
}

impl<'a> TypedHeader<'a> for RetryAfter<'a> {
    const NAME: StandardHeader = StandardHeader::RetryAfter;
    fn parse(value: &'a str) -> Result<RetryAfter<'a>, ParseError> {
        let (delta, mut end) = leading_number(value, u32::MAX, "delta-seconds")?;
        let b = value.as_bytes();
        while end < b.len() && is_ws(b[end]) {
            end += 1;
        }
        let mut comment = None;
        if end < b.len() && b[end] == b'(' {
            let close = comment_len(&b[end..]).ok_or(ParseError::syntax(end, "a closing ')'"))?;
            comment = Some(&value[end + 1..end + close - 1]);
            end += close;
        }
        let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
        Ok(RetryAfter { delta, comment, params })
    }
}

/// The length of the (possibly nested) comment at the start of `b`, parentheses included.
fn comment_len(b: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    None
}
