//! Parsing: whole datagrams ([`parse_message`]) and byte streams ([`StreamFramer`]).
//!
//! Both are zero-copy: the message's header values and body are slices of the buffer that
//! was handed in. Both are bounded by [`Limits`].

mod framer;
pub(crate) mod head;
mod limits;

pub use framer::{Frame, StreamFramer};
pub use limits::Limits;

use crate::error::ParseError;
use crate::message::{Message, Request, Response};
use bytes::{Buf, Bytes};
use head::{leading_line_ends, parse_head, StartLine};

/// Parses one message from a datagram with the default [`Limits`].
///
/// Leading CRLFs are skipped (RFC 3261 §7.5). The body is framed per §18.3: with a
/// Content-Length, exactly that many bytes (extra bytes are ignored, fewer is an error);
/// without one, the rest of the datagram.
pub fn parse_message(buf: Bytes) -> Result<Message, ParseError> {
    parse_message_with(buf, &Limits::default())
}

/// [`parse_message`] with explicit limits.
pub fn parse_message_with(buf: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::limit(limits.max_message_size, "message size", limits.max_message_size));
    }
    let start = leading_line_ends(&buf);
    if start == buf.len() {
        return Err(ParseError::syntax(start, "a start line (the input is empty or only line ends)"));
    }
    let head = parse_head(&buf, start, limits)?;
    let available = buf.len() - head.body_start;
    let body_len = match head.content_length {
        Some(n) if n > available => {
            return Err(ParseError::content_length(head.body_start, "is larger than the body received"));
        }
        Some(n) => n,
        None => available,
    };
    // The body is the buffer itself, narrowed: taking a slice would add a reference (an atomic
    // increment) and dropping `buf` would remove one.
    let mut body = buf;
    body.advance(head.body_start);
    body.truncate(body_len);
    Ok(assemble(head.start, head.headers, body))
}

pub(crate) fn assemble(start: StartLine, headers: crate::header::Headers, body: Bytes) -> Message {
    match start {
        StartLine::Request { method, uri, version } => {
            Message::Request(Request { method, uri, version, headers, body })
        }
        StartLine::Response { version, status, reason } => {
            Message::Response(Response { version, status, reason, headers, body })
        }
    }
}

#[cfg(test)]
mod tests;
