//! [`Limits`]: bounds on what the parser accepts, so no input makes it allocate without bound.

/// Bounds applied while parsing. Each exceeded bound is a typed error naming it
/// ([`crate::ErrorKind::Limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest whole message (start line, headers and body), in bytes. 65,535 by default:
    /// the largest UDP payload, and far above what a stream peer should send.
    pub max_message_size: usize,
    /// The most header lines a message may have. 256 by default.
    pub max_headers: usize,
    /// The longest header line (name and value, continuation lines included). 8,192 by default.
    pub max_header_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_message_size: 65_535, max_headers: 256, max_header_len: 8_192 }
    }
}
