//! [`StreamFramer`]: cuts messages out of a byte stream (TCP, TLS) by Content-Length.

use super::head::{find_head_end, parse_head};
use super::{assemble, Limits};
use crate::error::ParseError;
use crate::message::Message;
use bytes::{Buf, BytesMut};

/// What the framer found next in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A keep-alive ping, CRLFCRLF (RFC 5626 §4.4.1): answer with a pong (CRLF).
    Ping,
    /// A keep-alive pong, a lone CRLF.
    Pong,
}

/// Accumulates bytes from a stream transport and yields whole messages.
///
/// Messages may arrive split across reads or several in one read (pipelined); CRLFs between
/// messages are keep-alives. Content-Length frames the body (RFC 3261 §18.3); a message
/// without one is taken to have no body. Buffering is bounded by [`Limits::max_message_size`]:
/// a peer that sends a head that never ends, or announces a larger body, gets an error, after
/// which the stream is unusable and the connection should be closed.
///
/// A lone CRLF is reported as a pong at once, so a client waiting for one is not kept waiting;
/// if it was the first half of a ping split across reads, the second half is then reported as
/// a ping (the extra pong is harmless: RFC 5626 §4.4.1 peers ignore unexpected pongs). A
/// side that pings tells the framer with [`Self::set_awaiting_pong`]: while it waits, a lone
/// CRLF is its pong, never half of a ping — else the pong to its second ping, following the
/// pong to the first, would pass for the second half of a ping and the flow would be given
/// up as dead.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    /// How far the search for the end of the current head has got, so bytes are scanned once.
    scanned: usize,
    /// Total length of the current message once its head has been seen.
    frame_len: Option<usize>,
    /// The last frame was a Pong made of a lone CRLF that ended the buffer: if CRLF follows at
    /// once, the two were a ping split across reads.
    half_ping: bool,
    /// We sent a ping and wait for its pong.
    awaiting_pong: bool,
    failed: bool,
}

impl Default for StreamFramer {
    fn default() -> StreamFramer {
        StreamFramer::new(Limits::default())
    }
}

impl StreamFramer {
    /// A framer with the given limits.
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::new(),
            limits,
            scanned: 0,
            frame_len: None,
            half_ping: false,
            awaiting_pong: false,
            failed: false,
        }
    }

    /// Says whether we sent a keep-alive ping and wait for its pong (RFC 5626 §4.4.1): while
    /// we do, a lone CRLF is that pong.
    pub fn set_awaiting_pong(&mut self, awaiting: bool) {
        self.awaiting_pong = awaiting;
        if awaiting {
            self.half_ping = false;
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` if more bytes are needed. After an error every later call
    /// returns the same kind of error: the stream has lost its framing.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.failed {
            return Err(ParseError::syntax(0, "a fresh connection (this stream failed to frame earlier)"));
        }
        let r = self.next_inner(self.half_ping && !self.awaiting_pong);
        if let Ok(Some(frame)) = &r {
            self.half_ping = *frame == Frame::Pong && self.buf.is_empty() && !self.awaiting_pong;
            if *frame == Frame::Pong {
                self.awaiting_pong = false;
            }
        }
        if r.is_err() {
            self.failed = true;
            self.buf.clear();
        }
        r
    }

    fn next_inner(&mut self, half_ping: bool) -> Result<Option<Frame>, ParseError> {
        if self.frame_len.is_none() {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                return Ok(Some(Frame::Ping));
            }
            if self.buf.starts_with(b"\r\n") {
                if self.buf.len() == 3 && self.buf[2] == b'\r' {
                    // Possibly the first three bytes of a ping: wait for the fourth.
                    return Ok(None);
                }
                self.buf.advance(2);
                return Ok(Some(if half_ping { Frame::Ping } else { Frame::Pong }));
            }
            if self.buf.starts_with(b"\n") {
                self.buf.advance(1);
                return Ok(Some(Frame::Pong));
            }
            if self.buf.is_empty() || self.buf == b"\r"[..] {
                return Ok(None);
            }
            let from = self.scanned.saturating_sub(3);
            match find_head_end(&self.buf, from) {
                None => {
                    self.scanned = self.buf.len();
                    if self.buf.len() > self.limits.max_message_size {
                        return Err(ParseError::limit(self.buf.len(), "message size", self.limits.max_message_size));
                    }
                    return Ok(None);
                }
                Some(head_end) => {
                    let body = content_length_in(&self.buf[..head_end])?;
                    let total = head_end + body;
                    if total > self.limits.max_message_size {
                        return Err(ParseError::limit(head_end, "message size", self.limits.max_message_size));
                    }
                    self.frame_len = Some(total);
                }
            }
        }
        let Some(total) = self.frame_len else { return Ok(None) };
        if self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        self.frame_len = None;
        self.scanned = 0;
        let head = parse_head(&frame, 0, &self.limits)?;
        let mut body = frame;
        body.advance(head.body_start);
        Ok(Some(Frame::Message(assemble(head.start, head.headers, body))))
    }
}

/// A quick scan of a complete head for its Content-Length, so the frame length is known
/// before the full parse. The full parse later checks the same value properly.
fn content_length_in(head: &[u8]) -> Result<usize, ParseError> {
    let mut found: Option<usize> = None;
    let mut pos = 0;
    for line in head.split(|&c| c == b'\n') {
        let at = pos;
        pos += line.len() + 1;
        let Some(colon) = line.iter().position(|&c| c == b':') else { continue };
        let name = line[..colon].trim_ascii_end();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let v = line[colon + 1..].trim_ascii();
            let n = std::str::from_utf8(v)
                .ok()
                .and_then(crate::scan::parse_u32)
                .ok_or(ParseError::content_length(at + colon + 1, "is not a number below 2^32"))?;
            if found.is_some() {
                return Err(ParseError::content_length(at, "appears more than once"));
            }
            found = Some(n as usize);
        }
    }
    Ok(found.unwrap_or(0))
}
