//! Character classes and small scanners of the RFC 3261 §25 grammar, shared by every parser.
//!
//! The classes are bits of one 256-entry table, so each test is a load and a mask, whatever
//! the class.

/// `token` (RFC 3261 §25.1).
pub(crate) const TOKEN: u16 = 1;
/// `unreserved` = alphanum / mark.
pub(crate) const UNRESERVED: u16 = 1 << 1;
/// `reserved`.
pub(crate) const RESERVED: u16 = 1 << 2;
/// Characters allowed in an unquoted parameter value: token characters plus those that appear
/// in hosts and URI parameters (`[` `]` `:` `/` `&` `$` `@` `?` `=`: RFC 3261 §25.1
/// paramchar, gen-value host form).
pub(crate) const VALUE: u16 = 1 << 3;
/// Characters of a parameter name: token plus `[ ] / : & $`.
pub(crate) const PARAM_NAME: u16 = 1 << 4;
/// The `user` part of a SIP URI (without `%`, which starts an escape).
pub(crate) const USER: u16 = 1 << 5;
/// The `password` part of a SIP URI (without `%`).
pub(crate) const PASSWORD: u16 = 1 << 6;
/// `hname` / `hvalue` characters of a SIP URI header (without `%`).
pub(crate) const URI_HEADER: u16 = 1 << 7;
/// Hostname characters: alphanum / `-` / `.` / `_`.
pub(crate) const HOST: u16 = 1 << 8;
/// `word` characters (Call-ID).
pub(crate) const WORD: u16 = 1 << 9;
/// A decimal digit.
pub(crate) const DIGIT: u16 = 1 << 10;
/// SP or HTAB.
pub(crate) const WS: u16 = 1 << 11;
/// Characters of a parameter value inside a SIP URI: [`VALUE`] without `?`, which starts the
/// headers.
pub(crate) const URI_PARAM_VALUE: u16 = 1 << 12;

const fn build_classes() -> [u16; 256] {
    const fn any_of(set: &[u8], c: u8) -> bool {
        let mut i = 0;
        while i < set.len() {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
        false
    }
    let mut t = [0u16; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut bits = 0;
        let token = alnum || any_of(b"-.!%*_+`'~", b);
        let unreserved = alnum || any_of(b"-_.!~*'()", b);
        if token {
            bits |= TOKEN;
        }
        if unreserved {
            bits |= UNRESERVED;
        }
        if any_of(b";/?:@&=+$,", b) {
            bits |= RESERVED;
        }
        if token || any_of(b"[]:/&$@?=", b) {
            bits |= VALUE;
        }
        if token || any_of(b"[]:/&$@=", b) {
            bits |= URI_PARAM_VALUE;
        }
        if token || any_of(b"[]/:&$", b) {
            bits |= PARAM_NAME;
        }
        if unreserved || any_of(b"&=+$,;?/", b) {
            bits |= USER;
        }
        if unreserved || any_of(b"&=+$,", b) {
            bits |= PASSWORD;
        }
        if unreserved || any_of(b"[]/?:+$=&", b) {
            bits |= URI_HEADER;
        }
        if alnum || any_of(b"-._", b) {
            bits |= HOST;
        }
        if token || any_of(b"()<>:\\\"/[]?{}", b) {
            bits |= WORD;
        }
        if b.is_ascii_digit() {
            bits |= DIGIT;
        }
        if b.is_ascii_digit() || b == b'.' {
            bits |= DIGIT_DOT;
        }
        if any_of(b"\"<(", b) {
            bits |= COMMA_GUARD;
        }
        if b == b' ' || b == b'\t' {
            bits |= WS;
        }
        t[c] = bits;
        c += 1;
    }
    t
}

/// The class bits of every byte.
static CLASSES: [u16; 256] = build_classes();

/// A decimal digit or `.`.
pub(crate) const DIGIT_DOT: u16 = 1 << 13;
/// What can hide a comma from [`split_commas`]: `"`, `<`, `(`.
pub(crate) const COMMA_GUARD: u16 = 1 << 14;

/// Is `b` in `class` (one of the constants above, or several or-ed together: any of them)?
#[inline(always)]
pub(crate) fn is(b: u8, class: u16) -> bool {
    CLASSES[b as usize] & class != 0
}

/// `s[start..end]`, `None` if that is out of bounds or not on character boundaries. For the
/// parsers' cuts, which are at ASCII bytes: unlike `str::get` it always inlines.
#[inline(always)]
pub(crate) fn sub(s: &str, start: usize, end: usize) -> Option<&str> {
    s.split_at_checked(end)?.0.split_at_checked(start).map(|(_, tail)| tail)
}

/// `s[start..]`, `None` if `start` is out of bounds or not on a character boundary.
#[inline(always)]
pub(crate) fn tail(s: &str, start: usize) -> Option<&str> {
    s.split_at_checked(start).map(|(_, tail)| tail)
}

/// The first `needle` in `b`. On x86-64 with memchr's SSE2 searcher, which (SSE2 being part of
/// the baseline) inlines into the caller: what the parsers look for is near, and the runtime
/// dispatch of `memchr::memchr` would cost more than the search.
#[inline(always)]
pub(crate) fn find_byte(needle: u8, b: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = memchr::arch::x86_64::sse2::memchr::One::new(needle) {
        return one.find(b);
    }
    memchr::memchr(needle, b)
}

/// The length of the run of `class` bytes at the start of `b`.
#[inline]
pub(crate) fn run(b: &[u8], class: u16) -> usize {
    b.iter().position(|&c| !is(c, class)).unwrap_or(b.len())
}

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
#[inline(always)]
pub(crate) fn is_token(b: u8) -> bool {
    is(b, TOKEN)
}

/// `reserved` characters of RFC 3261 §25.1.
#[inline(always)]
pub(crate) fn is_reserved(b: u8) -> bool {
    is(b, RESERVED)
}

/// Whitespace inside a header value (after unfolding: SP and HTAB only).
#[inline(always)]
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The number of SP/HTAB bytes at the start of `s`.
#[inline]
pub(crate) fn lead_ws(s: &str) -> usize {
    s.bytes().position(|c| !is_ws(c)).unwrap_or(s.len())
}

/// `s` with leading and trailing SP/HTAB removed.
#[inline]
pub(crate) fn trim_ws(s: &str) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    while start < b.len() && is_ws(b[start]) {
        start += 1;
    }
    let mut end = b.len();
    while end > start && is_ws(b[end - 1]) {
        end -= 1;
    }
    // SP and HTAB are ASCII, so both ends are character boundaries.
    sub(s, start, end).unwrap_or_default()
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
            // Most values have no comma at all (one item), or no quote, bracket or comment
            // before the first one; only otherwise is the state machine below needed.
            let i = match find_byte(b',', b) {
                None => b.len(),
                Some(p) if !b[..p].iter().any(|&c| is(c, COMMA_GUARD)) => p,
                Some(_) => top_level_comma(b),
            };
            let item = sub(self.rest, 0, i).unwrap_or_default();
            let start = self.offset;
            let consumed = (i + 1).min(self.rest.len());
            self.rest = tail(self.rest, consumed).unwrap_or_default();
            self.offset += consumed;
            let lead = lead_ws(item);
            let trimmed = trim_ws(item);
            if !trimmed.is_empty() {
                return Some((start + lead, trimmed));
            }
        }
    }
}

/// The offset of the first comma of `b` outside quoted strings, angle brackets and comments,
/// or its length.
fn top_level_comma(b: &[u8]) -> usize {
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
                None => return b.len(),
            },
            b'<' => angle = true,
            b'>' => angle = false,
            b'(' => paren += 1,
            b')' => paren = paren.saturating_sub(1),
            b',' if !angle && paren == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Parses a decimal number of at most `u32` range, rejecting empty input, signs and overflow.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    parse_u32_bytes(s.as_bytes())
}

/// [`parse_u32`] on bytes: one pass, accumulating in a `u64` (ten digits cannot overflow it).
#[inline]
pub(crate) fn parse_u32_bytes(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n = 0u64;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    u32::try_from(n).ok()
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
    fn class_table_matches_the_grammar() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric();
            let token = alnum || b"-.!%*_+`'~".contains(&b);
            let unreserved = alnum || b"-_.!~*'()".contains(&b);
            assert_eq!(is_token(b), token, "{b}");
            assert_eq!(is(b, UNRESERVED), unreserved, "{b}");
            assert_eq!(is_reserved(b), b";/?:@&=+$,".contains(&b), "{b}");
            assert_eq!(is(b, VALUE), token || b"[]:/&$@?=".contains(&b), "{b}");
            assert_eq!(is(b, URI_PARAM_VALUE), is(b, VALUE) && b != b'?', "{b}");
            assert_eq!(is(b, PARAM_NAME), token || b"[]/:&$".contains(&b), "{b}");
            assert_eq!(is(b, USER), unreserved || b"&=+$,;?/".contains(&b), "{b}");
            assert_eq!(is(b, PASSWORD), unreserved || b"&=+$,".contains(&b), "{b}");
            assert_eq!(is(b, URI_HEADER), unreserved || b"[]/?:+$=&".contains(&b), "{b}");
            assert_eq!(is(b, HOST), alnum || b"-._".contains(&b), "{b}");
            assert_eq!(is(b, WORD), token || b"()<>:\\\"/[]?{}".contains(&b), "{b}");
            assert_eq!(is(b, DIGIT), b.is_ascii_digit(), "{b}");
            assert_eq!(is(b, DIGIT_DOT), b.is_ascii_digit() || b == b'.', "{b}");
            assert_eq!(is(b, COMMA_GUARD), b"\"<(".contains(&b), "{b}");
            assert_eq!(is(b, WS), b == b' ' || b == b'\t', "{b}");
        }
        for s in ["", "a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghi", "abc;", "abcd;e", "abcdefg;hijk"] {
            let expected = s.find(';').unwrap_or(s.len());
            assert_eq!(run(s.as_bytes(), TOKEN), expected, "{s}");
        }
        assert_eq!(trim_ws(" \t a b\t "), "a b");
        assert_eq!(trim_ws(" \t "), "");
        assert_eq!(lead_ws("\t x "), 2);
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
        assert_eq!(parse_u32("0000000000"), Some(0));
        assert_eq!(parse_u32("00000000001"), None);
        assert_eq!(parse_u32("9999999999"), None);
        assert_eq!(parse_u32("12a"), None);
        assert_eq!(parse_u32("1 "), None);
        assert_eq!(parse_u32("70"), Some(70));
    }
}
