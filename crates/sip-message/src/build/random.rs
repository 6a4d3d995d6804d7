//! Identifiers drawn from the operating system's secure random source: branches, tags and
//! Call-IDs must be unguessable (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3).

use super::BuildError;
use crate::header::typed::BRANCH_MAGIC_COOKIE;

fn random_hex(n: usize) -> Result<String, BuildError> {
    let mut bytes = [0u8; 32];
    let bytes = &mut bytes[..n.min(32)];
    getrandom::getrandom(bytes).map_err(|_| BuildError::RandomUnavailable)?;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes.iter() {
        out.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        out.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    Ok(out)
}

/// A Via branch: the magic cookie `z9hG4bK` and 96 random bits.
pub fn new_branch() -> Result<String, BuildError> {
    Ok(format!("{BRANCH_MAGIC_COOKIE}{}", random_hex(12)?))
}

/// A From/To tag with 64 random bits.
pub fn new_tag() -> Result<String, BuildError> {
    random_hex(8)
}

/// A Call-ID with 128 random bits, `@host` appended when given.
pub fn new_call_id(host: Option<&str>) -> Result<String, BuildError> {
    let id = random_hex(16)?;
    Ok(match host {
        Some(h) => format!("{id}@{h}"),
        None => id,
    })
}
