//! [`ParseError`]: why a message, header or URI was rejected, and where.

use std::fmt;

/// What kind of problem a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input does not match the grammar; `expected` says what should have been there.
    Syntax {
        /// A short description of what the grammar required at the offset.
        expected: &'static str,
    },
    /// A configured limit was exceeded (message size, header count, header length, ...).
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its configured value.
        limit: usize,
    },
    /// The header section is not valid UTF-8 (RFC 3261 §7.3.1 requires UTF-8 text).
    InvalidUtf8,
    /// Content-Length is missing where required, unparsable, contradictory, or larger than the
    /// body that arrived (RFC 3261 §18.3).
    ContentLength {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A header the operation needs is absent.
    MissingHeader {
        /// The header's canonical name.
        name: &'static str,
    },
}

/// A parse failure: what went wrong and the byte offset where it was noticed.
///
/// For a whole message the offset counts from the start of the buffer; for a header value
/// parsed on demand it counts from the start of that value, and `context` names the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ErrorKind,
    offset: usize,
    context: Option<&'static str>,
}

impl ParseError {
    /// Always [`ErrorCategory::Malformed`](crate::ErrorCategory::Malformed): the bytes are
    /// not the SIP they claim to be.
    pub fn category(&self) -> crate::ErrorCategory {
        crate::ErrorCategory::Malformed
    }

    /// A syntax error at `offset`, expecting `expected`.
    pub fn syntax(offset: usize, expected: &'static str) -> ParseError {
        ParseError { kind: ErrorKind::Syntax { expected }, offset, context: None }
    }

    /// A limit exceeded at `offset`.
    pub fn limit(offset: usize, what: &'static str, limit: usize) -> ParseError {
        ParseError { kind: ErrorKind::Limit { what, limit }, offset, context: None }
    }

    /// A Content-Length problem at `offset`.
    pub fn content_length(offset: usize, problem: &'static str) -> ParseError {
        ParseError { kind: ErrorKind::ContentLength { problem }, offset, context: None }
    }

    /// A required header is missing.
    pub fn missing(name: &'static str) -> ParseError {
        ParseError { kind: ErrorKind::MissingHeader { name }, offset: 0, context: None }
    }

    /// Invalid UTF-8 at `offset`.
    pub fn utf8(offset: usize) -> ParseError {
        ParseError { kind: ErrorKind::InvalidUtf8, offset, context: None }
    }

    /// Names the header (or other element) the offset is relative to.
    pub fn within(mut self, context: &'static str) -> ParseError {
        if self.context.is_none() {
            self.context = Some(context);
        }
        self
    }

    /// Shifts the offset by `by` bytes: for a parser that ran on a slice starting `by` bytes
    /// into the text the caller reports on.
    pub fn shifted(mut self, by: usize) -> ParseError {
        self.offset += by;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset where the failure was noticed.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The header or element the offset is relative to, if not the whole message.
    pub fn context(&self) -> Option<&'static str> {
        self.context
    }

    /// The status code a UAS answers a request that failed this way with: 513 (Message Too
    /// Large) for the size limit, 400 (Bad Request) otherwise (RFC 3261 §21.4).
    pub fn response_status(&self) -> u16 {
        match self.kind {
            ErrorKind::Limit { what: "message size", .. } => 513,
            _ => 400,
        }
    }

    /// Parse errors are never cured by retrying the same input.
    pub fn is_recoverable(&self) -> bool {
        false
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ctx) = self.context {
            write!(f, "{ctx}: ")?;
        }
        write!(f, "at byte {}: ", self.offset)?;
        match self.kind {
            ErrorKind::Syntax { expected } => write!(f, "expected {expected}"),
            ErrorKind::Limit { what, limit } => write!(f, "{what} exceeds the limit of {limit}"),
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ErrorKind::ContentLength { problem } => write!(f, "Content-Length {problem}"),
            ErrorKind::MissingHeader { name } => write!(f, "missing {name} header"),
        }
    }
}

impl std::error::Error for ParseError {}
