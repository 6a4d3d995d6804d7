//! Character classes and small scanners of the RFC 3261 §25 grammar, shared by every parser.

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

/// `unreserved` = alphanum / mark.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

/// `reserved` characters of RFC 3261 §25.1.
pub(crate) fn is_reserved(b: u8) -> bool {
    matches!(b, b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',')
}

/// Whitespace inside a header value (after unfolding: SP and HTAB only).
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` with leading and trailing SP/HTAB removed.
pub(crate) fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Is the whole of `s` a non-empty token?
pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// The length of the quoted-string (with its quotes) at the start of `s`, which begins with
/// `"`; `None` if it is unterminated. Handles `\` quoted-pairs (RFC 3261 §25.1).
pub(crate) fn quoted_len(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            b'\r' | b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Removes the quotes and quoted-pair escapes of a quoted-string; returns `s` unchanged when it
/// is not quoted.
pub fn unquote(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return std::borrow::Cow::Borrowed(s);
    }
    let inner = &s[1..s.len() - 1];
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Splits a header value at top-level commas: commas inside quoted strings, angle brackets
/// (`<sip:a@b;x=1,2>`) or comments do not split (RFC 3261 §7.3.1). Items are trimmed; empty
/// items (as in `a,,b`) are skipped.
pub fn split_commas(value: &str) -> CommaSplit<'_> {
    CommaSplit { rest: value, offset: 0 }
}

/// Iterator returned by [`split_commas`]: yields `(offset, item)` pairs.
#[derive(Debug, Clone)]
pub struct CommaSplit<'a> {
    rest: &'a str,
    offset: usize,
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let b = self.rest.as_bytes();
            let mut i = 0;
            let mut angle = false;
            let mut paren = 0u32;
            while i < b.len() {
                match b[i] {
                    b'"' => match quoted_len(&b[i..]) {
                        Some(n) => {
                            i += n;
                            continue;
                        }
                        None => {
                            i = b.len();
                            break;
                        }
                    },
                    b'<' => angle = true,
                    b'>' => angle = false,
                    b'(' => paren += 1,
                    b')' => paren = paren.saturating_sub(1),
                    b',' if !angle && paren == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            let item = &self.rest[..i];
            let start = self.offset;
            let consumed = (i + 1).min(self.rest.len());
            self.rest = &self.rest[consumed..];
            self.offset += consumed;
            let lead = item.len() - item.trim_start_matches([' ', '\t']).len();
            let trimmed = trim_ws(item);
            if !trimmed.is_empty() {
                return Some((start + lead, trimmed));
            }
        }
    }
}

/// Parses a decimal number of at most `u32` range, rejecting empty input, signs and overflow.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_respect_quotes_and_brackets() {
        let v = r#""Doe, John" <sip:j@x;a=1,2>;p="x,y" , <sip:b@y>,,"#;
        let items: Vec<_> = split_commas(v).map(|(_, s)| s).collect();
        assert_eq!(items, [r#""Doe, John" <sip:j@x;a=1,2>;p="x,y""#, "<sip:b@y>"]);
    }

    #[test]
    fn unquote_handles_escapes() {
        assert_eq!(unquote(r#""a\"b""#), "a\"b");
        assert_eq!(unquote("plain"), "plain");
    }

    #[test]
    fn u32_rejects_overflow_and_signs() {
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32("+1"), None);
        assert_eq!(parse_u32(""), None);
    }
}
