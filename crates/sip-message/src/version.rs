//! [`Version`]: the SIP-Version of a start line.

use std::fmt;

/// `SIP/major.minor`. Parsed for any numbers so that a UAS can answer an unknown version with
/// 505 (RFC 3261 §8.2.1, RFC 4475 §3.1.2.16) instead of treating the request as garbage.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Version {
    /// The major number.
    pub major: u16,
    /// The minor number.
    pub minor: u16,
}

impl Version {
    /// SIP/2.0, the only version this stack speaks.
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };

    /// [`Version::parse`] on bytes, with SIP/2.0 recognised at once.
    #[inline]
    pub(crate) fn parse_bytes(b: &[u8]) -> Option<Version> {
        if b == b"SIP/2.0" {
            return Some(Version::SIP_2_0);
        }
        std::str::from_utf8(b).ok().and_then(Version::parse)
    }

    /// Parses `SIP/1*DIGIT.1*DIGIT`; the literal "SIP" is case-insensitive (RFC 3261 §7.1).
    pub fn parse(s: &str) -> Option<Version> {
        let b = s.as_bytes();
        if b.len() < 7 || !b[..4].eq_ignore_ascii_case(b"SIP/") {
            return None;
        }
        let (maj, min) = s[4..].split_once('.')?;
        let num = |x: &str| {
            if x.is_empty() || x.len() > 4 || !x.bytes().all(|c| c.is_ascii_digit()) {
                None
            } else {
                x.parse().ok()
            }
        };
        Some(Version { major: num(maj)?, minor: num(min)? })
    }
}

impl Default for Version {
    fn default() -> Version {
        Version::SIP_2_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/{}.{}", self.major, self.minor)
    }
}
