//! The head of a message: start line and header lines, up to the empty line.

use super::Limits;
use crate::error::ParseError;
use crate::header::{HeaderName, Headers, StandardHeader};
use crate::message::check_request_uri;
use crate::method::Method;
use crate::scan::{self, is_ws, parse_u32, parse_u32_bytes};
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

/// The next line of `b` from `start`: where its content ends (before CRLF or LF) and where the
/// next line starts. `None` if no LF follows.
#[inline(always)]
fn next_line(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let lf = start + find_lf(b.get(start..)?)?;
    let end = if lf > start && b[lf - 1] == b'\r' { lf - 1 } else { lf };
    Some((end, lf + 1))
}

/// The first LF of `b`.
#[inline(always)]
fn find_lf(b: &[u8]) -> Option<usize> {
    scan::find_byte(b'\n', b)
}

/// What the head of `b` (from `start`) must satisfy: an empty line ends it, and it is UTF-8
/// (RFC 3261 §7.3.1). The parser checks both itself (the start line before reading it, the
/// header lines once their end is found); when it fails for any reason, this decides which
/// error is reported, so that a missing empty line or bad UTF-8 anywhere in the head takes
/// precedence over what the parser ran into, as it always has.
fn check_head(b: &[u8], start: usize) -> Result<(), ParseError> {
    let head_end = find_head_end(b, start).ok_or(ParseError::syntax(b.len(), "an empty line ending the headers"))?;
    match std::str::from_utf8(&b[start..head_end]) {
        Ok(_) => Ok(()),
        Err(e) => Err(ParseError::utf8(start + e.valid_up_to())),
    }
}

/// Parses the head of `buf`, which starts at `start` (after any leading CRLFs).
pub(crate) fn parse_head(buf: &Bytes, start: usize, limits: &Limits) -> Result<Head, ParseError> {
    parse_head_once(buf, start, limits).map_err(|e| match check_head(buf, start) {
        Err(first) => first,
        Ok(()) => e,
    })
}

/// Checks `b[start..end]` for UTF-8, quickly if it is ASCII.
#[inline]
fn check_utf8(b: &[u8], start: usize, end: usize) -> Result<(), ParseError> {
    let part = &b[start..end];
    if part.is_ascii() {
        return Ok(());
    }
    match std::str::from_utf8(part) {
        Ok(_) => Ok(()),
        Err(e) => Err(ParseError::utf8(start + e.valid_up_to())),
    }
}

/// The parser proper: one pass over the head, line by line.
fn parse_head_once(buf: &Bytes, start: usize, limits: &Limits) -> Result<Head, ParseError> {
    let b: &[u8] = buf;
    let text = |s: usize, e: usize| Text::from_checked(buf.slice(s..e));

    let Some((le, pos)) = next_line(b, start) else {
        return Err(ParseError::syntax(start, "a start line"));
    };
    // The start line is read as text, so it is checked now; the header lines (whose values are
    // not looked at here) at the end.
    check_utf8(b, start, pos)?;
    let start_line = parse_start_line(&b[start..le], start, &text)?;

    let mut headers = Headers::with_capacity(16);
    let (body_start, content_length) = parse_headers(buf, pos, limits, &mut headers)?;
    // Every line up to here was checked as UTF-8, and what precedes the start line is line
    // ends.
    headers.set_head(Text::from_checked(buf.slice(..body_start)));
    Ok(Head { start: start_line, headers, body_start, content_length })
}

/// The header lines from `pos` up to the empty line: stores them in `headers` and returns
/// where the body starts and the Content-Length.
fn parse_headers(
    buf: &Bytes,
    mut pos: usize,
    limits: &Limits,
    headers: &mut Headers,
) -> Result<(usize, Option<usize>), ParseError> {
    let b: &[u8] = buf;
    let first = pos;
    let mut content_length = None;
    loop {
        let s = pos;
        let end = match b.get(s..) {
            // The empty line.
            Some([b'\n', ..]) => Some(s + 1),
            Some([b'\r', b'\n', ..]) => Some(s + 2),
            _ => None,
        };
        if let Some(body_start) = end {
            // RFC 3261 §7.3.1: header text is UTF-8. (Before this, nothing read a header line
            // as text: values are only ranges so far, and names are tokens.)
            check_utf8(b, first, body_start)?;
            return Ok((body_start, content_length));
        }
        match b.get(s..) {
            Some([c, ..]) if is_ws(*c) => {
                // Continuation lines are taken with the header they continue, so this one
                // continues nothing.
                return Err(ParseError::syntax(s, "a header name, not whitespace, after the start line"));
            }
            Some([_, ..]) => {}
            _ => return Err(ParseError::syntax(s, "a line end")),
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::limit(s, "header count", limits.max_headers));
        }
        let rest = &b[s..];
        // The name of a known header ends at the first ':' (give or take whitespace before it):
        // if what precedes that ':' is one, it is all tokens and needs no scan.
        let known = scan::find_byte(b':', rest).and_then(|c| {
            let n = c - rest[..c].iter().rev().take_while(|&&x| is_ws(x)).count();
            StandardHeader::from_name(&rest[..n]).map(|found| (n, c, found))
        });
        let (name_len, colon, standard) = match known {
            Some((n, c, found)) => (n, s + c, Some(found)),
            None => {
                // Neither the name nor the whitespace after it can run past the line end (CR
                // and LF are neither token nor SP/HTAB), so they are scanned before the end is
                // known.
                let name_len = scan::run(rest, scan::TOKEN);
                if name_len == 0 {
                    return Err(ParseError::syntax(s, "a header name"));
                }
                let colon = s + name_len + scan::run(&rest[name_len..], scan::WS);
                if b.get(colon) != Some(&b':') {
                    return Err(ParseError::syntax(colon, "':' after the header name"));
                }
                (name_len, colon, StandardHeader::from_name(&rest[..name_len]))
            }
        };
        let Some((ve, next)) = next_line(b, colon + 1) else {
            return Err(ParseError::syntax(s, "a line end"));
        };
        let name = &rest[..name_len];
        if ve - s > limits.max_header_len {
            return Err(ParseError::limit(s, "header length", limits.max_header_len));
        }
        // Lines that start with whitespace continue this header (RFC 3261 §7.3.1).
        if b.get(next).is_some_and(|&c| is_ws(c)) {
            pos = folded_header(buf, name, s, colon + 1, next, limits, headers, &mut content_length)?;
            continue;
        }
        // The value without the whitespace around it.
        let mut vs = colon + 1;
        while vs < ve && is_ws(b[vs]) {
            vs += 1;
        }
        let mut e = ve;
        while e > vs && is_ws(b[e - 1]) {
            e -= 1;
        }
        let (name, compact) = match standard {
            Some((StandardHeader::ContentLength, compact)) => {
                let slot = content_length_slot(&mut content_length, s)?;
                *slot = parse_u32_bytes(&b[vs..e])
                    .ok_or(ParseError::content_length(colon + 1, "is not a number below 2^32"))?
                    as usize;
                (HeaderName::Standard(StandardHeader::ContentLength), compact)
            }
            Some((h, compact)) => (HeaderName::Standard(h), compact),
            None => (HeaderName::Other(Text::from_checked(buf.slice(s..s + name_len))), false),
        };
        headers.push_parsed(name, vs, e, compact, || Text::from_checked(buf.slice(vs..e)));
        pos = next;
    }
}

/// Where the first Content-Length goes; an error for a second one: RFC 3261 §18.3 frames the
/// body by this value, so a second or a malformed one makes the message unusable (RFC 4475
/// §3.1.2.2, §3.1.2.? multiple Content-Length).
#[inline]
fn content_length_slot(slot: &mut Option<usize>, line_start: usize) -> Result<&mut usize, ParseError> {
    if slot.is_some() {
        return Err(ParseError::content_length(line_start, "appears more than once"));
    }
    Ok(slot.insert(0))
}

/// A header with continuation lines: `next` is where the first of them starts. Joins the lines
/// (each run of whitespace around a line break becomes one SP, RFC 3261 §7.3.1), stores the
/// header and returns where the next line starts.
#[cold]
#[allow(clippy::too_many_arguments)]
fn folded_header(
    buf: &Bytes,
    name: &[u8],
    line_start: usize,
    vs: usize,
    mut next: usize,
    limits: &Limits,
    headers: &mut Headers,
    content_length: &mut Option<usize>,
) -> Result<usize, ParseError> {
    let b: &[u8] = buf;
    let mut ve = next;
    while b.get(next).is_some_and(|&c| is_ws(c)) {
        let Some((e, n)) = next_line(b, next) else {
            return Err(ParseError::syntax(next, "a line end"));
        };
        (ve, next) = (e, n);
    }
    if ve - line_start > limits.max_header_len {
        return Err(ParseError::limit(line_start, "header length", limits.max_header_len));
    }
    let (name, compact) = match StandardHeader::from_name(name) {
        Some((h, compact)) => (HeaderName::Standard(h), compact),
        None => (HeaderName::Other(Text::from_checked(buf.slice(line_start..line_start + name.len()))), false),
    };
    // The head is checked for UTF-8 at its end, and rejected if it is not; until then the
    // lossy conversion keeps this a string either way.
    let raw = String::from_utf8_lossy(&b[vs..ve]);
    let joined: Vec<&str> = raw
        .split('\n')
        .map(|l| l.trim_matches(|c| c == ' ' || c == '\t' || c == '\r'))
        .filter(|l| !l.is_empty())
        .collect();
    let value = Text::from(joined.join(" "));
    if name == HeaderName::Standard(StandardHeader::ContentLength) {
        let slot = content_length_slot(content_length, line_start)?;
        *slot = parse_u32(&value).ok_or(ParseError::content_length(vs, "is not a number below 2^32"))? as usize;
    }
    headers.push_parsed_text(name, value, compact);
    Ok(next)
}

fn parse_start_line(line: &[u8], at: usize, text: &impl Fn(usize, usize) -> Text) -> Result<StartLine, ParseError> {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let sp = memchr(b' ', line).ok_or(ParseError::syntax(at + line.len(), "SP after the SIP version"))?;
        let version = Version::parse_bytes(&line[..sp]).ok_or(ParseError::syntax(at, "a SIP version like SIP/2.0"))?;
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
    let method =
        Method::from_bytes(&line[..sp1], || text(at, at + sp1)).ok_or(ParseError::syntax(at, "a method token"))?;
    let uri_bytes = &line[sp1 + 1..sp2];
    if let Some(p) = memchr::memchr2(b' ', b'\t', uri_bytes) {
        return Err(ParseError::syntax(at + sp1 + 1 + p, "a Request-URI without whitespace"));
    }
    let uri = text(at + sp1 + 1, at + sp2);
    check_request_uri(&uri).map_err(|e| e.shifted(at + sp1 + 1))?;
    let version =
        Version::parse_bytes(&line[sp2 + 1..]).ok_or(ParseError::syntax(at + sp2 + 1, "a SIP version like SIP/2.0"))?;
    Ok(StartLine::Request { method, uri, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line scan agrees with a byte-by-byte one at every start offset, whatever sits
    /// around the LF (CR, other control bytes, bytes with the high bit set).
    #[test]
    fn next_line_agrees_with_a_byte_scan() {
        let alphabet = [b'a', b'\n', b'\r', 0x0b, 0x09, 0x8a, 0xff, 0x80, 0x00, b'z'];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..70 {
            for _ in 0..100 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                for start in 0..=len {
                    let expected = b[start..].iter().position(|&c| c == b'\n').map(|p| {
                        let lf = start + p;
                        let end = if lf > start && b[lf - 1] == b'\r' { lf - 1 } else { lf };
                        (end, lf + 1)
                    });
                    assert_eq!(next_line(&b, start), expected, "{b:?} from {start}");
                }
            }
        }
    }
}
