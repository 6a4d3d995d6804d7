//! %-escaping of URI components (RFC 3261 §19.1.2, RFC 3986 §2.1).

use crate::scan::is_reserved;
use std::borrow::Cow;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that `s` consists of bytes allowed by `allowed` and well-formed `%HH` escapes.
/// Returns the offset of the first offending byte.
pub(crate) fn validate(s: &str, allowed: impl Fn(u8) -> bool) -> Result<(), usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || hex(b[i + 1]).is_none() || hex(b[i + 2]).is_none() {
                return Err(i);
            }
            i += 3;
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return Err(i);
        }
    }
    Ok(())
}

/// Decodes every `%HH` escape. Malformed escapes are left as they are.
pub fn unescape_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&x| hex(x)), b.get(i + 2).and_then(|&x| hex(x))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Decodes every `%HH` escape into a string; bytes that do not form UTF-8 are replaced with
/// U+FFFD.
pub fn unescape(s: &str) -> Cow<'_, str> {
    match unescape_bytes(s) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

/// The canonical form used for comparison (RFC 3261 §19.1.4): escapes of characters outside
/// the `reserved` set are decoded, escapes of reserved characters are kept (upper-case hex),
/// and, if `fold_case`, ASCII letters are lower-cased.
pub(crate) fn canonical(s: &str, fold_case: bool) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if !s.contains('%') && (!fold_case || !b.iter().any(|c| c.is_ascii_uppercase())) {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&x| hex(x)), b.get(i + 2).and_then(|&x| hex(x))) {
                let c = h << 4 | l;
                if is_reserved(c) {
                    out.push(b'%');
                    out.push(b[i + 1].to_ascii_uppercase());
                    out.push(b[i + 2].to_ascii_uppercase());
                } else {
                    out.push(if fold_case { c.to_ascii_lowercase() } else { c });
                }
                i += 3;
                continue;
            }
        }
        out.push(if fold_case { b[i].to_ascii_lowercase() } else { b[i] });
        i += 1;
    }
    Cow::Owned(out)
}

/// Escapes every byte of `s` not allowed by `allowed` as `%HH`.
pub fn escape(s: &str, allowed: impl Fn(u8) -> bool) -> Cow<'_, str> {
    if s.bytes().all(&allowed) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for &c in s.as_bytes() {
        if allowed(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(c >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(c & 15) as usize]));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_escapes() {
        let ok = |c: u8| c.is_ascii_alphanumeric();
        assert_eq!(validate("ab%20c", ok), Ok(()));
        assert_eq!(validate("ab%2", ok), Err(2));
        assert_eq!(validate("ab%", ok), Err(2));
        assert_eq!(validate("ab%zz", ok), Err(2));
        assert_eq!(validate("a b", ok), Err(1));
    }

    #[test]
    fn unescape_and_canonical() {
        assert_eq!(unescape("sips%3Auser%40example.com"), "sips:user@example.com");
        assert_eq!(unescape("%00"), "\0");
        assert_eq!(&*canonical("%61lice%3a", false), b"alice%3A");
        assert_eq!(&*canonical("ExAmple", true), b"example");
        assert_eq!(escape("a b", |c| c.is_ascii_alphanumeric()), "a%20b");
    }
}
