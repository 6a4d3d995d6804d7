//! STUN (RFC 5389) as far as the keep-alive of RFC 5626 §4.4.2 needs it: a Binding request
//! to write, and a Binding response to read for the address the far end saw us at.
//!
//! Sans-IO and allocation-free: bytes in, values out. Owns the wire format only — when to
//! send, how often to repeat and what a changed address means belong to the session core
//! (`session-core`'s `core/outbound.rs`). It must not touch sockets. No authentication
//! attributes: the keep-alive binding goes over the flow the registration already uses,
//! and RFC 5389 §10.1 asks for none there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// RFC 5389 §6: the fixed value in bytes 4..8 of every STUN message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Every STUN message starts with a header of this many bytes.
pub const HEADER_LEN: usize = 20;

const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const BINDING_ERROR: u16 = 0x0111;
const MAPPED_ADDRESS: u16 = 0x0001;
const ERROR_CODE: u16 = 0x0009;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// The 96-bit transaction id that pairs a response with its request (RFC 5389 §6).
pub type TransactionId = [u8; 12];

/// Whether `data` is framed as a STUN message: the two top bits of the type zero, the magic
/// cookie in place, and a length that is a multiple of four and accounts for every byte.
/// SIP starts with a letter, so the two never mix on one socket (RFC 5626 §4.4.2, RFC 7983).
pub fn is_stun(data: &[u8]) -> bool {
    if data.len() < HEADER_LEN || data[0] & 0xC0 != 0 {
        return false;
    }
    let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let cookie = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    cookie == MAGIC_COOKIE && length.is_multiple_of(4) && HEADER_LEN + length == data.len()
}

/// Whether a STUN message (as [`is_stun`] accepts) is a response — success or error — as
/// opposed to a request or an indication.
pub fn is_response(data: &[u8]) -> bool {
    // The class's high bit (C1, 0x0100 of the type): set in success and error responses.
    data.first().is_some_and(|b| b & 0x01 != 0)
}

/// A Binding request with transaction id `id` and no attributes.
pub fn binding_request(id: &TransactionId) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    // Length 0: no attributes.
    out[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out[8..20].copy_from_slice(id);
    out
}

/// A Binding response, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingResponse {
    /// A success response.
    Success {
        /// The request it answers.
        id: TransactionId,
        /// The address the server saw the request come from (XOR-MAPPED-ADDRESS, or the
        /// older MAPPED-ADDRESS), if it said.
        mapped: Option<SocketAddr>,
    },
    /// An error response.
    Error {
        /// The request it answers.
        id: TransactionId,
        /// Its ERROR-CODE (300–699), 0 when it had none.
        code: u16,
    },
}

impl BindingResponse {
    /// The transaction id it answers.
    pub fn id(&self) -> &TransactionId {
        match self {
            BindingResponse::Success { id, .. } | BindingResponse::Error { id, .. } => id,
        }
    }
}

/// Why bytes are not a Binding response we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunError {
    /// Not framed as STUN (see [`is_stun`]).
    NotStun,
    /// STUN, but not a Binding success or error response.
    NotBindingResponse,
    /// An attribute runs past the end of the message.
    Truncated,
    /// An address attribute of an unknown family or the wrong length.
    BadAddress,
}

impl std::fmt::Display for StunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StunError::NotStun => "not a STUN message",
            StunError::NotBindingResponse => "not a STUN Binding response",
            StunError::Truncated => "a STUN attribute runs past the message",
            StunError::BadAddress => "a STUN address attribute is malformed",
        })
    }
}

impl std::error::Error for StunError {}

/// Reads a Binding response. Unknown attributes are skipped (those below 0x8000 are
/// comprehension-required for a server's requests, not for a client reading a response it
/// only needs the address of).
pub fn parse_binding_response(data: &[u8]) -> Result<BindingResponse, StunError> {
    if !is_stun(data) {
        return Err(StunError::NotStun);
    }
    let kind = u16::from_be_bytes([data[0], data[1]]);
    if kind != BINDING_SUCCESS && kind != BINDING_ERROR {
        return Err(StunError::NotBindingResponse);
    }
    let mut id = [0u8; 12];
    id.copy_from_slice(&data[8..20]);
    let mut xor_mapped = None;
    let mut mapped = None;
    let mut code = 0;
    let mut at = HEADER_LEN;
    while at < data.len() {
        let header = data.get(at..at + 4).ok_or(StunError::Truncated)?;
        let kind = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let value = data.get(at + 4..at + 4 + len).ok_or(StunError::Truncated)?;
        match kind {
            XOR_MAPPED_ADDRESS => xor_mapped = Some(address(value, Some(&id))?),
            MAPPED_ADDRESS => mapped = Some(address(value, None)?),
            ERROR_CODE if value.len() >= 4 => {
                code = u16::from(value[2] & 0x07) * 100 + u16::from(value[3]);
            }
            _ => {}
        }
        // Attributes are padded to four bytes (§15).
        at += 4 + len.div_ceil(4) * 4;
    }
    Ok(if kind == BINDING_SUCCESS {
        BindingResponse::Success { id, mapped: xor_mapped.or(mapped) }
    } else {
        BindingResponse::Error { id, code }
    })
}

/// A (XOR-)MAPPED-ADDRESS value (§15.1, §15.2): reserved byte, family, port, address; XORed
/// with the cookie (and, for IPv6, the transaction id) when `xor_id` is given.
fn address(value: &[u8], xor_id: Option<&TransactionId>) -> Result<SocketAddr, StunError> {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let (family, port) = match value {
        [_, family, p0, p1, ..] => (*family, u16::from_be_bytes([*p0, *p1])),
        _ => return Err(StunError::BadAddress),
    };
    let port = if xor_id.is_some() { port ^ (MAGIC_COOKIE >> 16) as u16 } else { port };
    let ip = match (family, value.len()) {
        (0x01, 8) => {
            let mut b = [value[4], value[5], value[6], value[7]];
            if xor_id.is_some() {
                b.iter_mut().zip(cookie).for_each(|(x, k)| *x ^= k);
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        (0x02, 20) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&value[4..20]);
            if let Some(id) = xor_id {
                let key = cookie.iter().chain(id.iter());
                b.iter_mut().zip(key).for_each(|(x, k)| *x ^= k);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return Err(StunError::BadAddress),
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769's transaction id.
    const ID: TransactionId = [0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae];

    /// A message of `kind` with RFC 5769's transaction id and these attributes.
    fn message(kind: u16, attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in attributes {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut out = kind.to_be_bytes().to_vec();
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&ID);
        out.extend_from_slice(&body);
        out
    }

    /// The XOR-MAPPED-ADDRESS values of RFC 5769 §2.2 and §2.3 decode to the addresses the
    /// RFC gives; SOFTWARE (odd length, padded), MESSAGE-INTEGRITY and FINGERPRINT (here
    /// zeros: we do not check them) are skipped.
    #[test]
    fn the_rfc_5769_sample_addresses_are_read() {
        let v4: &[u8] = &[0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43];
        let sample = message(
            BINDING_SUCCESS,
            &[(0x8022, b"test vector"), (XOR_MAPPED_ADDRESS, v4), (0x0008, &[0; 20]), (0x8028, &[0; 4])],
        );
        let want: SocketAddr = "192.0.2.1:32853".parse().expect("addr");
        assert_eq!(parse_binding_response(&sample), Ok(BindingResponse::Success { id: ID, mapped: Some(want) }));

        let v6: &[u8] = &[
            0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2,
            0xb9, 0xd9,
        ];
        let sample = message(BINDING_SUCCESS, &[(0x8022, b"test vector"), (XOR_MAPPED_ADDRESS, v6)]);
        let want: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853".parse().expect("addr");
        assert_eq!(parse_binding_response(&sample), Ok(BindingResponse::Success { id: ID, mapped: Some(want) }));

        // The older MAPPED-ADDRESS, not XORed, when that is all a server says.
        let plain: &[u8] = &[0x00, 0x01, 0x80, 0x55, 192, 0, 2, 1];
        let sample = message(BINDING_SUCCESS, &[(MAPPED_ADDRESS, plain)]);
        let want: SocketAddr = "192.0.2.1:32853".parse().expect("addr");
        assert_eq!(parse_binding_response(&sample), Ok(BindingResponse::Success { id: ID, mapped: Some(want) }));
    }

    #[test]
    fn a_request_is_stun_and_not_a_response() {
        let id = [7u8; 12];
        let request = binding_request(&id);
        assert!(is_stun(&request));
        assert!(!is_response(&request));
        assert_eq!(parse_binding_response(&request), Err(StunError::NotBindingResponse));
        assert_eq!(&request[8..], &id);
    }

    #[test]
    fn sip_and_broken_stun_are_refused() {
        assert!(!is_stun(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"));
        assert!(!is_stun(b"\r\n\r\n"));
        let mut sample = message(BINDING_SUCCESS, &[(0x8022, b"test vector")]);
        assert!(is_response(&sample));
        sample.pop();
        assert_eq!(parse_binding_response(&sample), Err(StunError::NotStun), "the length no longer adds up");
        // An attribute claiming more bytes than the message has.
        let mut lying = binding_request(&[1; 12]).to_vec();
        lying[0] = 0x01;
        lying[3] = 8;
        lying.extend_from_slice(&[0x00, 0x20, 0x00, 0x40, 0, 1, 0, 0]);
        assert_eq!(parse_binding_response(&lying), Err(StunError::Truncated));
        // An address of an unknown family.
        let mut bad = binding_request(&[1; 12]).to_vec();
        bad[0] = 0x01;
        bad[3] = 12;
        bad.extend_from_slice(&[0x00, 0x20, 0x00, 0x08, 0, 9, 0, 0, 1, 2, 3, 4]);
        assert_eq!(parse_binding_response(&bad), Err(StunError::BadAddress));
    }

    #[test]
    fn an_error_response_gives_its_code() {
        let mut error = binding_request(&[2; 12]).to_vec();
        error[0..2].copy_from_slice(&BINDING_ERROR.to_be_bytes());
        error[3] = 12;
        error.extend_from_slice(&[0x00, 0x09, 0x00, 0x07, 0, 0, 4, 20, b'B', b'a', b'd', 0]);
        assert_eq!(parse_binding_response(&error), Ok(BindingResponse::Error { id: [2; 12], code: 420 }));
    }
}
