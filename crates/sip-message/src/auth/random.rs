//! Fresh nonces and cnonces from the operating system's secure random source.
//!
//! RFC 7616 §3.3 and §5 want nonces and cnonces an attacker cannot predict;
//! 16 random bytes (128 bits) rendered as 32 hex digits are plenty and are
//! a valid token as well as a valid quoted-string.

use super::error::AuthError;
use super::hash::to_hex;

/// Number of random bytes in a generated nonce or cnonce.
const RANDOM_BYTES: usize = 16;

/// 32 lowercase hex digits from `getrandom`.
pub(crate) fn random_hex() -> Result<String, AuthError> {
    let mut buf = [0u8; RANDOM_BYTES];
    getrandom::getrandom(&mut buf).map_err(|_| AuthError::Random)?;
    Ok(to_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::random_hex;

    #[test]
    fn distinct_hex_values() {
        let a = random_hex().unwrap();
        let b = random_hex().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
