//! Credentials taken out of a message before anyone shows it: the digest `response` of
//! Authorization and Proxy-Authorization headers (RFC 3261 §22.4, RFC 7616 §3.4) is a hash of
//! the password that an offline dictionary attack can test guesses against, together with
//! the nonce and realm beside it. A trace, a log or a capture file must not carry it.
//!
//! It works on the raw bytes as they cross the wire, without parsing the message: what it is
//! given may be a fragment, a malformed request or not SIP at all, and it must still be safe
//! to show afterwards.

use std::borrow::Cow;

/// What replaces each digest response.
pub const REDACTED: &str = "\"<redacted>\"";

/// `message` with the value of every `response=` parameter of its Authorization and
/// Proxy-Authorization headers (continuation lines included) replaced by [`REDACTED`].
/// Borrows when there is nothing to hide. The body is left alone.
pub fn redact_credentials(message: &[u8]) -> Cow<'_, [u8]> {
    // The head as the parser finds it (bare LF line ends tolerated); no head end: all of it.
    let head_end = crate::parse::head::find_head_end(message, 0).unwrap_or(message.len());
    let mut spans = Vec::new();
    let mut in_auth = false;
    let mut start = 0;
    while start < head_end {
        let end = crate::scan::find_byte(b'\n', &message[start..head_end]).map_or(head_end, |i| start + i + 1);
        let line = &message[start..end];
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        in_auth = if continuation { in_auth } else { is_auth_header(line) };
        if in_auth {
            let from =
                if continuation { 0 } else { line.iter().position(|b| *b == b':').map_or(line.len(), |i| i + 1) };
            collect_responses(line, from, start, &mut spans);
        }
        start = end;
    }
    if spans.is_empty() {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    let mut at = 0;
    for (from, to) in spans {
        out.extend_from_slice(&message[at..from]);
        out.extend_from_slice(REDACTED.as_bytes());
        at = to;
    }
    out.extend_from_slice(&message[at..]);
    Cow::Owned(out)
}

/// Does this header line carry credentials (`Authorization` or `Proxy-Authorization`)?
fn is_auth_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|b| *b == b':') else { return false };
    let name = line[..colon].trim_ascii();
    name.eq_ignore_ascii_case(b"authorization") || name.eq_ignore_ascii_case(b"proxy-authorization")
}

/// The byte ranges (offset by `base`) of every `response` parameter value in `line` after
/// `from`: a quoted string (to its closing quote, escapes honoured) or a token.
fn collect_responses(line: &[u8], from: usize, base: usize, spans: &mut Vec<(usize, usize)>) {
    let mut i = from;
    while i < line.len() {
        // A parameter name starts after the scheme, a comma or whitespace.
        let boundary = i == from || matches!(line[i - 1], b',' | b' ' | b'\t');
        let name = b"response";
        if boundary && line.len() >= i + name.len() && line[i..i + name.len()].eq_ignore_ascii_case(name) {
            let mut j = i + name.len();
            while j < line.len() && matches!(line[j], b' ' | b'\t') {
                j += 1;
            }
            if line.get(j) == Some(&b'=') {
                j += 1;
                while j < line.len() && matches!(line[j], b' ' | b'\t') {
                    j += 1;
                }
                let end = value_end(line, j);
                if end > j {
                    spans.push((base + j, base + end));
                }
                i = end.max(i + 1);
                continue;
            }
        }
        if line[i] == b'"' {
            // Skip a quoted string: "response=" inside another parameter's value is no parameter.
            i = value_end(line, i);
            continue;
        }
        i += 1;
    }
}

/// Where the value starting at `at` ends: after a quoted string's closing quote (or at the
/// end of the line if it never closes), else at the next comma or whitespace.
fn value_end(line: &[u8], at: usize) -> usize {
    if line.get(at) == Some(&b'"') {
        let mut k = at + 1;
        while k < line.len() {
            match line[k] {
                b'\\' => k += 2,
                b'"' => return k + 1,
                b'\r' | b'\n' => return k,
                _ => k += 1,
            }
        }
        return line.len();
    }
    line[at..].iter().position(|b| matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n')).map_or(line.len(), |n| at + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        String::from_utf8(redact_credentials(text.as_bytes()).into_owned()).expect("utf-8")
    }

    const REGISTER: &str = "REGISTER sip:example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
        Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", \
        uri=\"sip:example.com\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn the_digest_response_is_replaced_and_the_rest_kept() {
        let out = redact(REGISTER);
        assert!(!out.contains("6629fae4"), "{out}");
        assert!(out.contains("response=\"<redacted>\", algorithm=MD5\r\n"), "{out}");
        assert!(out.contains("username=\"alice\"") && out.contains("nonce=\"abc\""), "{out}");
        assert!(out.starts_with("REGISTER sip:example.com SIP/2.0\r\nVia:"));
        assert!(out.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn nothing_to_hide_borrows() {
        let options = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n";
        assert!(matches!(redact_credentials(options.as_bytes()), Cow::Borrowed(_)));
        // A body that mentions a response is not a header.
        let body = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 30\r\n\r\nAuthorization: response=\"x\"\r\n";
        assert_eq!(redact(body), body);
    }

    #[test]
    fn proxy_authorization_any_case_spacing_and_tokens() {
        let text = "INVITE sip:b@c SIP/2.0\r\nproxy-AUTHORIZATION : Digest Response = deadbeef ,nonce=\"n\"\r\n\r\n";
        let out = redact(text);
        assert!(!out.contains("deadbeef"), "{out}");
        assert!(out.contains("Response = \"<redacted>\" ,nonce=\"n\""), "{out}");
    }

    #[test]
    fn continuation_lines_and_lookalikes() {
        let text = "REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"u\",\r\n response=\"0123abcd\",\r\n\
                    \tnonce=\"response=notme\", cresponse=\"keep\"\r\nX-Note: response=\"visible\"\r\n\r\n";
        let out = redact(text);
        assert!(!out.contains("0123abcd"), "{out}");
        assert!(out.contains("nonce=\"response=notme\""), "a quoted value is not a parameter: {out}");
        assert!(out.contains("cresponse=\"keep\""), "another parameter's name: {out}");
        assert!(out.contains("X-Note: response=\"visible\""), "another header: {out}");
    }

    #[test]
    fn broken_input_is_safe() {
        for text in [
            "Authorization: Digest response=\"unterminated",
            "Authorization: Digest response=",
            "Authorization",
            "",
            "\r\n\r\n",
            "Authorization: response=\"a\\\"b\" x",
        ] {
            let out = redact(text);
            assert!(!out.contains("unterminated") && !out.contains("a\\\"b"), "{text:?} -> {out:?}");
        }
    }
}
