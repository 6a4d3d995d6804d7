//! The hash functions behind the digest algorithms, and their lowercase-hex
//! output.
//!
//! RFC 7616 §3.4.2 defines `H(data)` as the lowercase hex encoding of the
//! hash of `data`; every place this module hashes goes through
//! [`HashFn::hex`], which feeds the parts joined by `:` without building the
//! joined string first.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A hash function used by a digest algorithm (the `-sess` variants share
/// the function of their base algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HashFn {
    Md5,
    Sha256,
    Sha512_256,
}

impl HashFn {
    /// Length in hex characters of one output of this function.
    pub(crate) fn hex_len(self) -> usize {
        match self {
            HashFn::Md5 => 32,
            HashFn::Sha256 | HashFn::Sha512_256 => 64,
        }
    }

    /// `H(p0 ":" p1 ":" ...)` as lowercase hex.
    pub(crate) fn hex(self, parts: &[&[u8]]) -> String {
        match self {
            HashFn::Md5 => hash_parts::<Md5>(parts),
            HashFn::Sha256 => hash_parts::<Sha256>(parts),
            HashFn::Sha512_256 => hash_parts::<Sha512_256>(parts),
        }
    }
}

fn hash_parts<D: Digest>(parts: &[&[u8]]) -> String {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
    to_hex(&hasher.finalize())
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `s` is non-empty hex (either case) of exactly `len` characters.
pub(crate) fn is_hex_of_len(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-4 / RFC 1321 test vectors for "abc".
        assert_eq!(HashFn::Md5.hex(&[b"abc"]), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(HashFn::Sha256.hex(&[b"abc"]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            HashFn::Sha512_256.hex(&[b"abc"]),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
    }

    #[test]
    fn parts_are_joined_with_colons() {
        assert_eq!(HashFn::Md5.hex(&[b"a", b"b", b""]), HashFn::Md5.hex(&[b"a:b:"]));
        for f in [HashFn::Md5, HashFn::Sha256, HashFn::Sha512_256] {
            assert_eq!(f.hex(&[b"x"]).len(), f.hex_len());
        }
    }

    #[test]
    fn hex_checks() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert!(is_hex_of_len("00AbfF", 6));
        assert!(!is_hex_of_len("00abfg", 6));
        assert!(!is_hex_of_len("00ab", 6));
    }
}
