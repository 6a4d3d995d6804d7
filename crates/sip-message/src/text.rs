//! [`Text`]: a cheaply clonable, UTF-8 checked slice of a received buffer.
//!
//! Every textual piece of a parsed message (header values, the Request-URI, unknown header
//! names) is a `Text`: a [`Bytes`] view into the one buffer the datagram or stream frame arrived
//! in, whose UTF-8 validity was checked once by the parser. Cloning one is a reference-count
//! increment, never a copy.
#![allow(unsafe_code)]

use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// A UTF-8 string backed by [`Bytes`]; cloning shares the buffer.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Bytes);

impl Text {
    /// A `Text` over a string literal, without copying.
    pub const fn from_static(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps `bytes` after checking that they are UTF-8.
    pub fn from_bytes(bytes: Bytes) -> Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }

    /// Wraps a slice of a buffer whose UTF-8 validity the caller already checked.
    ///
    /// Crate-internal: only the parser, which validated the whole header section, calls this.
    pub(crate) fn from_checked(bytes: Bytes) -> Text {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor of `Text` either validates UTF-8 (`from_bytes`), starts from
        // a `str`/`String` (`from_static`, the `From` impls), or is `from_checked`, whose callers
        // slice a buffer that was validated as UTF-8 at character boundaries (ASCII delimiters).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The sub-`Text` at `range` (byte offsets). An empty `Text` if `range` is out of bounds or
    /// does not fall on character boundaries.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Text {
        if self.as_str().get(range.clone()).is_some() {
            Text(self.0.slice(range))
        } else {
            Text::default()
        }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The sub-`Text` covering `sub`, which must be a slice of `self.as_str()`; shares the
    /// buffer. Returns a copy if `sub` does not point into `self`.
    pub fn slice_ref(&self, sub: &str) -> Text {
        let base = self.0.as_ptr() as usize;
        let start = sub.as_ptr() as usize;
        if start >= base && start + sub.len() <= base + self.0.len() {
            Text(self.0.slice(start - base..start - base + sub.len()))
        } else {
            Text::from(sub)
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
