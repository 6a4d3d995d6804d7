//! Constant-time comparison of request-digests.
//!
//! Comparing a received `response` with the expected one byte by byte and
//! stopping at the first difference would let an attacker learn, from the
//! timing, how many leading characters of a forged digest are right.

/// Compares two ASCII hex strings without short-circuiting on the first
/// difference, ignoring ASCII case (RFC 7616 specifies lowercase hex, but a
/// peer's uppercase digest carries the same value).
///
/// Lengths are not secret (they follow from the algorithm), so a length
/// difference returns early.
pub(crate) fn hex_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x.to_ascii_lowercase() ^ y.to_ascii_lowercase();
    }
    // black_box keeps the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::hex_eq;

    #[test]
    fn compares() {
        assert!(hex_eq("00abcdef", "00ABCDEF"));
        assert!(!hex_eq("00abcdef", "00abcdee"));
        assert!(!hex_eq("00abcdef", "00abcde"));
        assert!(hex_eq("", ""));
    }
}
