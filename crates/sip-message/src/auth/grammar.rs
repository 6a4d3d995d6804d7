//! The credentials/challenge header-value grammar, both ways: splitting
//! `scheme name=value, name="quoted value", ...` into parameters, and writing
//! parameters back with the right quoting.
//!
//! Grammar (RFC 7235 §2.1 with the SIP whitespace rules of RFC 3261 §25.1):
//!
//! ```text
//! value       = LWS* auth-scheme [ LWS+ [ list ] ] LWS*
//! list        = element *( LWS* "," LWS* element )     ; empty elements allowed
//! element     = token LWS* "=" LWS* ( token / quoted-string )
//! LWS         = SP / HTAB / CRLF (SP / HTAB)           ; folded lines
//! quoted-pair = "\" %x00-09 / %x0B-0C / %x0E-7F         ; never CR or LF
//! ```
//!
//! RFC 7235 §2.1 forbids a parameter name twice in one challenge or
//! credentials, so duplicates are an error. The number of parameters is
//! capped at [`MAX_PARAMS`]; every allocation is bounded by the input length.

use std::fmt::{self, Write as _};

use super::error::AuthError;

/// Most parameters accepted in one header value. A Digest challenge or
/// credentials has at most a dozen defined parameters; 64 leaves room for
/// extensions while bounding the work a hostile header can cause.
pub(crate) const MAX_PARAMS: usize = 64;

/// One `name=value` pair, with the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: String,
}

/// The parameters of a split header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedValue<'a> {
    pub(crate) params: Vec<Param<'a>>,
}

/// RFC 7230 `tchar`, a superset of the RFC 3261 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// Whether `s` can be written as a bare token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

struct Cursor<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn error(&self, expected: &'static str) -> AuthError {
        AuthError::Syntax { expected, offset: self.pos }
    }

    /// Length of the line fold starting at the cursor (CRLF or a bare LF
    /// followed by SP/HTAB), or 0. A bare LF is accepted like CRLF, as
    /// RFC 7230 §3.5 lets a recipient recognise a single LF as a line end.
    fn fold_len(&self) -> usize {
        let wsp = |b: Option<u8>| matches!(b, Some(b' ' | b'\t'));
        match self.peek() {
            Some(b'\r') if self.peek_at(1) == Some(b'\n') && wsp(self.peek_at(2)) => 2,
            Some(b'\n') if wsp(self.peek_at(1)) => 1,
            _ => 0,
        }
    }

    /// Skips linear whitespace; returns whether any was skipped.
    fn skip_lws(&mut self) -> bool {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                _ => {
                    let fold = self.fold_len();
                    if fold == 0 {
                        break;
                    }
                    self.pos += fold;
                }
            }
        }
        self.pos > start
    }

    fn token(&mut self, expected: &'static str) -> Result<&'a str, AuthError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(expected));
        }
        // Token bytes are ASCII, so these are character boundaries.
        self.input.get(start..self.pos).ok_or(AuthError::Syntax { expected, offset: start })
    }

    /// Parses a quoted-string at the cursor (which is on the opening quote)
    /// and returns its unescaped content.
    fn quoted_string(&mut self) -> Result<String, AuthError> {
        let start = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("closing '\"' of quoted-string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        // quoted-pair never carries CR or LF (RFC 3261 §25.1),
                        // and only ASCII: a multi-byte character after '\'
                        // is outside the grammar.
                        Some(c) if c != b'\r' && c != b'\n' && c.is_ascii() => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("ASCII character other than CR or LF after '\\'")),
                    }
                }
                b'\r' | b'\n' => {
                    // Only a line fold may appear; its CRLF is dropped and the
                    // following whitespace kept, as unfolding does
                    // (RFC 3261 §7.3.1).
                    let fold = self.fold_len();
                    if fold == 0 {
                        return Err(self.error("whitespace after line break in quoted-string"));
                    }
                    self.pos += fold;
                }
                0x00..=0x08 | 0x0a..=0x1f | 0x7f => {
                    return Err(self.error("printable character or '\"' in quoted-string"));
                }
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        // The bytes are the input's own, minus ASCII quotes, backslashes and
        // line breaks, so they remain UTF-8; the check cannot fail.
        String::from_utf8(out).map_err(|_| AuthError::Syntax { expected: "UTF-8 text in quoted-string", offset: start })
    }
}

/// Splits a `Digest` challenge or credentials header value into its
/// parameters.
///
/// Any other scheme is refused with [`AuthError::UnsupportedScheme`] before
/// its parameters are looked at, since other schemes (e.g. `Basic` with a
/// token68) follow a different grammar.
pub(crate) fn parse(input: &str) -> Result<ParsedValue<'_>, AuthError> {
    let mut cur = Cursor { input, bytes: input.as_bytes(), pos: 0 };
    cur.skip_lws();
    let scheme = cur.token("auth-scheme token")?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::UnsupportedScheme);
    }
    let mut params: Vec<Param<'_>> = Vec::new();
    if cur.peek().is_some() && !cur.skip_lws() {
        return Err(cur.error("whitespace after auth-scheme"));
    }
    loop {
        if cur.peek().is_none() {
            break;
        }
        if cur.peek() == Some(b',') {
            // Empty list element (RFC 7230 §7 asks recipients to skip them).
            cur.pos += 1;
            cur.skip_lws();
            continue;
        }
        let name = cur.token("parameter name")?;
        cur.skip_lws();
        if cur.peek() != Some(b'=') {
            return Err(cur.error("'=' after parameter name"));
        }
        cur.pos += 1;
        cur.skip_lws();
        let value = if cur.peek() == Some(b'"') {
            cur.quoted_string()?
        } else {
            cur.token("token or quoted-string value")?.to_owned()
        };
        if params.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(AuthError::DuplicateParam { name: name.to_owned() });
        }
        if params.len() == MAX_PARAMS {
            return Err(AuthError::TooManyParams { limit: MAX_PARAMS });
        }
        params.push(Param { name, value });
        cur.skip_lws();
        match cur.peek() {
            None => break,
            Some(b',') => {
                cur.pos += 1;
                cur.skip_lws();
            }
            Some(_) => return Err(cur.error("',' between parameters")),
        }
    }
    Ok(ParsedValue { params })
}

/// Writes `s` as a quoted-string, escaping `"` and `\` and the control
/// characters that quoted-pair allows.
///
/// CR and LF cannot be represented in a quoted-string at all; they are
/// written as SP so a value can never split the header (this module's
/// parsers and client never produce such values).
pub(crate) fn write_quoted(f: &mut dyn fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for ch in s.chars() {
        match ch {
            '\r' | '\n' => f.write_char(' ')?,
            '"' | '\\' => {
                f.write_char('\\')?;
                f.write_char(ch)?;
            }
            c if c != '\t' && c.is_ascii_control() => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes `name=value` pairs separated by `", "` after a scheme.
pub(crate) struct ParamWriter<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    first: bool,
}

impl<'a, 'b> ParamWriter<'a, 'b> {
    /// Starts a header value with `scheme`.
    pub(crate) fn new(f: &'a mut fmt::Formatter<'b>, scheme: &str) -> Result<Self, fmt::Error> {
        f.write_str(scheme)?;
        Ok(ParamWriter { f, first: true })
    }

    fn name(&mut self, name: &str) -> fmt::Result {
        self.f.write_str(if self.first { " " } else { ", " })?;
        self.first = false;
        self.f.write_str(name)?;
        self.f.write_char('=')
    }

    /// `name="value"`.
    pub(crate) fn quoted(&mut self, name: &str, value: &str) -> fmt::Result {
        self.name(name)?;
        write_quoted(self.f, value)
    }

    /// `name=value` unquoted when `value` is a token, quoted otherwise (for
    /// parameters the RFCs want unquoted, such as `algorithm`, `qop`, `nc`).
    pub(crate) fn token(&mut self, name: &str, value: &str) -> fmt::Result {
        if is_token(value) {
            self.name(name)?;
            self.f.write_str(value)
        } else {
            self.quoted(name, value)
        }
    }

    /// Extension parameters: skipped when the name is not a token (it could
    /// not be parsed back), value written as token when possible.
    pub(crate) fn extensions(&mut self, params: &[(String, String)]) -> fmt::Result {
        for (name, value) in params {
            if is_token(name) {
                self.token(name, value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(input: &str) -> Vec<(String, String)> {
        parse(input).unwrap().params.into_iter().map(|p| (p.name.to_owned(), p.value)).collect()
    }

    #[test]
    fn tokens_and_quoted_strings() {
        let v = values(r#"Digest a=b, c="d e", f="""#);
        assert_eq!(v, vec![("a".into(), "b".into()), ("c".into(), "d e".into()), ("f".into(), "".into())]);
    }

    #[test]
    fn escapes_are_removed() {
        let v = values(r#"Digest realm="a\"b\\c\d""#);
        assert_eq!(v[0].1, r#"a"b\cd"#);
    }

    #[test]
    fn folded_whitespace_between_and_inside() {
        let v = values("Digest\r\n  a = \"x\r\n\ty\" ,\r\n b=c");
        assert_eq!(v, vec![("a".into(), "x\ty".into()), ("b".into(), "c".into())]);
    }

    #[test]
    fn empty_elements_and_trailing_comma() {
        let v = values("Digest , a=b,, c=d ,");
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn scheme_only() {
        assert!(parse("  digest  ").unwrap().params.is_empty());
        assert!(parse("Digest").unwrap().params.is_empty());
    }

    #[test]
    fn errors_carry_offsets() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(
            err(r#"Digest a="open"#),
            AuthError::Syntax { expected: "closing '\"' of quoted-string", offset: 14 }
        );
        assert_eq!(err("Digest a b"), AuthError::Syntax { expected: "'=' after parameter name", offset: 9 });
        assert_eq!(err("Digest a=b c=d"), AuthError::Syntax { expected: "',' between parameters", offset: 11 });
        assert_eq!(err("Digest a="), AuthError::Syntax { expected: "token or quoted-string value", offset: 9 });
        assert!(matches!(err(""), AuthError::Syntax { offset: 0, .. }));
        assert!(matches!(err("Digest=x"), AuthError::Syntax { offset: 6, .. }));
        assert_eq!(err("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), AuthError::UnsupportedScheme);
        assert_eq!(err("Digestx a=b"), AuthError::UnsupportedScheme);
        assert!(matches!(err("Digest a=\"x\r\ny\""), AuthError::Syntax { .. }));
        assert!(matches!(err("Digest a=\"x\\\r\""), AuthError::Syntax { .. }));
        assert!(matches!(err("Digest a=\"x\0\""), AuthError::Syntax { .. }));
        assert!(matches!(err("Digest a=b,\r\nc=d"), AuthError::Syntax { .. }));
        assert!(matches!(err("Digest a=\"\\"), AuthError::Syntax { .. }));
    }

    #[test]
    fn duplicates_are_rejected_case_insensitively() {
        assert_eq!(parse("Digest realm=a, REALM=b").unwrap_err(), AuthError::DuplicateParam { name: "REALM".into() });
    }

    #[test]
    fn parameter_count_is_capped() {
        let mut s = String::from("Digest ");
        for i in 0..MAX_PARAMS {
            s.push_str(&format!("p{i}=v, "));
        }
        assert_eq!(parse(&s).unwrap().params.len(), MAX_PARAMS);
        s.push_str("one=more");
        assert_eq!(parse(&s).unwrap_err(), AuthError::TooManyParams { limit: MAX_PARAMS });
    }

    #[test]
    fn quoting_round_trips() {
        let mut s = String::new();
        write_quoted(&mut s, "a\"b\\c\td\u{1}é").unwrap();
        assert_eq!(s, "\"a\\\"b\\\\c\td\\\u{1}é\"");
        let v = values(&format!("Digest x={s}"));
        assert_eq!(v[0].1, "a\"b\\c\td\u{1}é");
        let mut s = String::new();
        write_quoted(&mut s, "a\r\nb").unwrap();
        assert_eq!(s, "\"a  b\"");
    }

    #[test]
    fn non_ascii_inside_quotes_is_kept() {
        let v = values("Digest username=\"Jäsøn Doe\"");
        assert_eq!(v[0].1, "Jäsøn Doe");
        assert!(parse("Digest username=Jäsøn").is_err());
    }
}
