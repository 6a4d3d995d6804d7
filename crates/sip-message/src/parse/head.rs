//! The head of a message: start line and header lines, up to the empty line.

use super::Limits;
use crate::error::ParseError;
use crate::header::{Header, HeaderName, Headers, StandardHeader};
use crate::message::check_request_uri;
use crate::method::Method;
use crate::scan::{is_token, is_ws, parse_u32};
use crate::status::StatusCode;
use crate::text::Text;
use crate::version::Version;
use bytes::Bytes;
use memchr::memchr;

/// What the start line said.
pub(crate) enum StartLine {
    Request { method: Method, uri: Text, version: Version },
    Response { version: Version, status: StatusCode, reason: Text },
}

/// A parsed head.
pub(crate) struct Head {
    pub start: StartLine,
    pub headers: Headers,
    /// Offset of the first body byte.
    pub body_start: usize,
    /// The value of the Content-Length header, if there was one.
    pub content_length: Option<usize>,
}

/// The number of CR/LF bytes at the start of `b` that form whole CRLF (or bare LF) line ends.
pub(crate) fn leading_line_ends(b: &[u8]) -> usize {
    let mut i = 0;
    loop {
        if b[i..].starts_with(b"\r\n") {
            i += 2;
        } else if b[i..].starts_with(b"\n") {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Finds the end of the head in `b[from..]`: the offset just past the empty line, if present.
/// Bare LF line ends are tolerated (RFC 3261 §7 asks for CRLF; being liberal costs nothing).
pub(crate) fn find_head_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memchr(b'\n', &b[i..]) {
        let nl = i + p;
        match b.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// One line: its content range (without the line end) and where the next line starts.
fn next_line(b: &[u8], start: usize) -> Option<(usize, usize, usize)> {
    let p = memchr(b'\n', &b[start..])?;
    let nl = start + p;
    let end = if nl > start && b[nl - 1] == b'\r' { nl - 1 } else { nl };
    Some((start, end, nl + 1))
}

/// Parses the head of `buf`, which starts at `start` (after any leading CRLFs).
pub(crate) fn parse_head(buf: &Bytes, start: usize, limits: &Limits) -> Result<Head, ParseError> {
    let b: &[u8] = buf;
    let head_end = find_head_end(b, start).ok_or(ParseError::syntax(b.len(), "an empty line ending the headers"))?;
    // RFC 3261 §7.3.1: header text is UTF-8. One check over the whole head lets every later
    // slice be used as a str.
    if let Err(e) = std::str::from_utf8(&b[start..head_end]) {
        return Err(ParseError::utf8(start + e.valid_up_to()));
    }
    let text = |s: usize, e: usize| Text::from_checked(buf.slice(s..e));

    let Some((ls, le, mut pos)) = next_line(b, start) else {
        return Err(ParseError::syntax(start, "a start line"));
    };
    let start_line = parse_start_line(&b[ls..le], ls, &text)?;

    let mut headers = Headers::with_capacity(16);
    let mut content_length = None;
    // The header being collected: name, compact flag, value range, and whether a
    // continuation line folded into it.
    let mut pending: Option<(HeaderName, bool, usize, usize, usize, bool)> = None;
    let mut count = 0usize;
    loop {
        let Some((s, e, next)) = next_line(b, pos) else {
            return Err(ParseError::syntax(pos, "a line end"));
        };
        if s == e {
            // The empty line.
            if let Some(p) = pending.take() {
                finish_header(buf, p, limits, &mut headers, &mut content_length)?;
            }
            return Ok(Head { start: start_line, headers, body_start: next, content_length });
        }
        if is_ws(b[s]) {
            // A continuation line folds into the previous header (RFC 3261 §7.3.1).
            match pending.as_mut() {
                Some(p) => {
                    p.4 = e;
                    p.5 = true;
                }
                None => return Err(ParseError::syntax(s, "a header name, not whitespace, after the start line")),
            }
        } else {
            if let Some(p) = pending.take() {
                finish_header(buf, p, limits, &mut headers, &mut content_length)?;
            }
            count += 1;
            if count > limits.max_headers {
                return Err(ParseError::limit(s, "header count", limits.max_headers));
            }
            let mut i = s;
            while i < e && is_token(b[i]) {
                i += 1;
            }
            if i == s {
                return Err(ParseError::syntax(s, "a header name"));
            }
            let name_end = i;
            while i < e && is_ws(b[i]) {
                i += 1;
            }
            if i >= e || b[i] != b':' {
                return Err(ParseError::syntax(i, "':' after the header name"));
            }
            let (name, compact) = match StandardHeader::from_name(&b[s..name_end]) {
                Some((h, compact)) => (HeaderName::Standard(h), compact),
                None => (HeaderName::Other(text(s, name_end)), false),
            };
            pending = Some((name, compact, s, i + 1, e, false));
        }
        pos = next;
    }
}

/// Trims, unfolds and stores one header; notes Content-Length on the way.
fn finish_header(
    buf: &Bytes,
    (name, compact, line_start, vs, ve, folded): (HeaderName, bool, usize, usize, usize, bool),
    limits: &Limits,
    headers: &mut Headers,
    content_length: &mut Option<usize>,
) -> Result<(), ParseError> {
    if ve - line_start > limits.max_header_len {
        return Err(ParseError::limit(line_start, "header length", limits.max_header_len));
    }
    let b: &[u8] = buf;
    let value = if folded {
        // Each run of whitespace around a line break becomes one SP (RFC 3261 §7.3.1). The
        // head was validated as UTF-8 and we only cut at ASCII, so this is UTF-8 too.
        let raw = String::from_utf8_lossy(&b[vs..ve]);
        let joined: Vec<&str> = raw
            .split('\n')
            .map(|l| l.trim_matches(|c| c == ' ' || c == '\t' || c == '\r'))
            .filter(|l| !l.is_empty())
            .collect();
        Text::from(joined.join(" "))
    } else {
        let mut s = vs;
        let mut e = ve;
        while s < e && is_ws(b[s]) {
            s += 1;
        }
        while e > s && is_ws(b[e - 1]) {
            e -= 1;
        }
        Text::from_checked(buf.slice(s..e))
    };
    if name.standard() == Some(StandardHeader::ContentLength) {
        // RFC 3261 §18.3 frames the body by this value, so a second or a malformed one makes
        // the message unusable (RFC 4475 §3.1.2.2, §3.1.2.? multiple Content-Length).
        if content_length.is_some() {
            return Err(ParseError::content_length(line_start, "appears more than once"));
        }
        let n = parse_u32(&value).ok_or(ParseError::content_length(vs, "is not a number below 2^32"))?;
        *content_length = Some(n as usize);
    }
    headers.push_header(Header::parsed(name, value, compact));
    Ok(())
}

fn parse_start_line(line: &[u8], at: usize, text: &impl Fn(usize, usize) -> Text) -> Result<StartLine, ParseError> {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let sp = memchr(b' ', line).ok_or(ParseError::syntax(at + line.len(), "SP after the SIP version"))?;
        let version = std::str::from_utf8(&line[..sp]).ok().and_then(Version::parse);
        let version = version.ok_or(ParseError::syntax(at, "a SIP version like SIP/2.0"))?;
        let rest = &line[sp + 1..];
        let code_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if code_len != 3 || (rest.len() > 3 && rest[3] != b' ') {
            return Err(ParseError::syntax(at + sp + 1, "a three-digit status code"));
        }
        let code = u16::from(rest[0] - b'0') * 100 + u16::from(rest[1] - b'0') * 10 + u16::from(rest[2] - b'0');
        let status = StatusCode::new(code).ok_or(ParseError::syntax(at + sp + 1, "a status code of 100-699"))?;
        // RFC 4475 §3.1.1.13: the reason phrase may be empty, and even its SP may be missing.
        let reason_start = (at + sp + 5).min(at + line.len());
        let reason = text(reason_start, at + line.len());
        if reason.bytes().any(|c| c < b' ' && c != b'\t') {
            return Err(ParseError::syntax(reason_start, "a reason phrase without control characters"));
        }
        return Ok(StartLine::Response { version, status, reason });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces.
    let sp1 = memchr(b' ', line).ok_or(ParseError::syntax(at + line.len(), "SP after the method"))?;
    if sp1 == 0 {
        return Err(ParseError::syntax(at, "a method"));
    }
    let sp2 = memchr::memrchr(b' ', line)
        .filter(|&p| p > sp1)
        .ok_or(ParseError::syntax(at + line.len(), "SP before the SIP version"))?;
    let method = Method::from_text(&text(at, at + sp1)).ok_or(ParseError::syntax(at, "a method token"))?;
    let uri_bytes = &line[sp1 + 1..sp2];
    if let Some(p) = uri_bytes.iter().position(|&c| c == b' ' || c == b'\t') {
        return Err(ParseError::syntax(at + sp1 + 1 + p, "a Request-URI without whitespace"));
    }
    let uri = text(at + sp1 + 1, at + sp2);
    check_request_uri(&uri).map_err(|e| e.shifted(at + sp1 + 1))?;
    let version = std::str::from_utf8(&line[sp2 + 1..]).ok().and_then(Version::parse);
    let version = version.ok_or(ParseError::syntax(at + sp2 + 1, "a SIP version like SIP/2.0"))?;
    Ok(StartLine::Request { method, uri, version })
}
