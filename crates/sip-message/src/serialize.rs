//! Serialisation of messages into one [`BytesMut`].

use crate::header::{HeaderName, Headers};
use crate::message::{Message, Request, Response};
use bytes::{BufMut, Bytes, BytesMut};

fn headers_len(headers: &Headers) -> usize {
    headers.raw_iter().map(|(name, value, _)| name.as_str().len() + value.len() + 4).sum()
}

fn write_version(out: &mut BytesMut, v: crate::Version) {
    if v == crate::Version::SIP_2_0 {
        out.put_slice(b"SIP/2.0");
    } else {
        out.put_slice(v.to_string().as_bytes());
    }
}

fn write_headers(out: &mut BytesMut, headers: &Headers) {
    for (name, value, compact) in headers.raw_iter() {
        match name {
            HeaderName::Standard(h) => match h.compact_byte() {
                c if compact && c != 0 => out.put_slice(&[c, b':', b' ']),
                _ => out.put_slice(h.wire_name()),
            },
            HeaderName::Other(t) => {
                out.put_slice(t.as_bytes());
                out.put_slice(b": ");
            }
        }
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

impl Request {
    /// An upper bound of the encoded size, for sizing buffers.
    pub fn encoded_len(&self) -> usize {
        self.method.as_str().len() + self.uri.len() + 14 + headers_len(&self.headers) + 2 + self.body.len()
    }

    /// Appends the wire form to `out`. Headers are written as they are, one line each;
    /// Content-Length is whatever the headers say (builders and `set_body` keep it right).
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.write_unreserved(out);
    }

    /// [`Request::write_to`] once `out` has room.
    fn write_unreserved(&self, out: &mut BytesMut) {
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.uri.as_bytes());
        out.put_u8(b' ');
        write_version(out, self.version);
        out.put_slice(b"\r\n");
        write_headers(out, &self.headers);
        out.put_slice(&self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.write_unreserved(&mut out);
        out.freeze()
    }
}

impl Response {
    /// An upper bound of the encoded size, for sizing buffers.
    pub fn encoded_len(&self) -> usize {
        14 + self.reason.len() + headers_len(&self.headers) + 2 + self.body.len()
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.write_unreserved(out);
    }

    /// [`Response::write_to`] once `out` has room.
    fn write_unreserved(&self, out: &mut BytesMut) {
        write_version(out, self.version);
        out.put_u8(b' ');
        let code = self.status.as_u16();
        out.put_slice(&[b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8]);
        out.put_u8(b' ');
        out.put_slice(self.reason.as_bytes());
        out.put_slice(b"\r\n");
        write_headers(out, &self.headers);
        out.put_slice(&self.body);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.write_unreserved(&mut out);
        out.freeze()
    }
}

impl Message {
    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}
