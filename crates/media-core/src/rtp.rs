//! [`RtpPacket`]: the RTP fixed header of RFC 3550 §5.1, parsed from and written to bytes.
//!
//! Owns the wire format of an RTP packet: version, padding, header extension, CSRC list,
//! marker, payload type, sequence number, timestamp, SSRC and payload. It must not judge
//! sequence numbers or timing (that is [`crate::stats`]) nor interpret the payload.
//! Parsing never panics and never allocates more than the packet it reads.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// The size of the fixed header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Fewer bytes than the header (fixed part, CSRCs, extension) says there are.
    Truncated,
    /// The version field is not 2.
    BadVersion(u8),
    /// The padding count is 0 or longer than the packet (RFC 3550 §5.1: P bit).
    BadPadding,
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::Truncated => f.write_str("RTP packet truncated"),
            RtpError::BadVersion(v) => write!(f, "RTP version {v}, expected 2"),
            RtpError::BadPadding => f.write_str("RTP padding count does not fit the packet"),
        }
    }
}

impl std::error::Error for RtpError {}

/// A header extension (RFC 3550 §5.3.1): a profile-defined 16-bit value and the data, whose
/// length is a multiple of four bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpExtension {
    /// The profile-defined identifier (e.g. 0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// The extension data, without its 4-byte header.
    pub data: Bytes,
}

/// An RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// The marker bit; for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// The payload type (7 bits).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The timestamp, in units of the payload format's clock.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// The contributing sources (at most 15: the CC field has 4 bits).
    pub csrcs: Vec<u32>,
    /// The header extension, if the X bit is set.
    pub extension: Option<RtpExtension>,
    /// The number of padding bytes at the end (0 for none); the padding is not in `payload`.
    pub padding: u8,
    /// The payload.
    pub payload: Bytes,
}

impl RtpPacket {
    /// A packet with no CSRCs, extension or padding.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: Bytes) -> RtpPacket {
        RtpPacket {
            marker: false,
            payload_type: payload_type & 0x7F,
            sequence,
            timestamp,
            ssrc,
            csrcs: Vec::new(),
            extension: None,
            padding: 0,
            payload,
        }
    }

    /// Parses a packet, copying the payload out of `data`.
    pub fn parse(data: &[u8]) -> Result<RtpPacket, RtpError> {
        RtpPacket::parse_bytes(&Bytes::copy_from_slice(data))
    }

    /// Parses a packet; the payload and extension are slices of `data` (no copy).
    pub fn parse_bytes(data: &Bytes) -> Result<RtpPacket, RtpError> {
        let head = data.get(..FIXED_HEADER_LEN).ok_or(RtpError::Truncated)?;
        let version = head[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = head[0] & 0x20 != 0;
        let has_extension = head[0] & 0x10 != 0;
        let csrc_count = usize::from(head[0] & 0x0F);
        let marker = head[1] & 0x80 != 0;
        let payload_type = head[1] & 0x7F;
        let sequence = u16::from_be_bytes([head[2], head[3]]);
        let timestamp = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let ssrc = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);

        let mut offset = FIXED_HEADER_LEN;
        let csrc_bytes = data.get(offset..offset + 4 * csrc_count).ok_or(RtpError::Truncated)?;
        let csrcs = csrc_bytes.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
        offset += 4 * csrc_count;

        let extension = if has_extension {
            let ext = data.get(offset..offset + 4).ok_or(RtpError::Truncated)?;
            let profile = u16::from_be_bytes([ext[0], ext[1]]);
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            let start = offset + 4;
            let end = start + 4 * words;
            if end > data.len() {
                return Err(RtpError::Truncated);
            }
            offset = end;
            Some(RtpExtension { profile, data: data.slice(start..end) })
        } else {
            None
        };

        let mut end = data.len();
        let padding = if has_padding {
            // RFC 3550 §5.1: the last octet counts the padding, itself included.
            let count = *data.last().ok_or(RtpError::Truncated)?;
            if count == 0 || usize::from(count) > end - offset {
                return Err(RtpError::BadPadding);
            }
            end -= usize::from(count);
            count
        } else {
            0
        };
        Ok(RtpPacket {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs,
            extension,
            padding,
            payload: data.slice(offset..end),
        })
    }

    /// The fixed 12-byte header (RFC 3550 §5.1) of a packet with no CSRC, extension or
    /// padding: what a sender writes before each frame without building a packet.
    pub fn header(payload_type: u8, marker: bool, sequence: u16, timestamp: u32, ssrc: u32) -> [u8; 12] {
        let mut h = [0u8; 12];
        h[0] = 2 << 6;
        h[1] = (u8::from(marker) << 7) | (payload_type & 0x7f);
        h[2..4].copy_from_slice(&sequence.to_be_bytes());
        h[4..8].copy_from_slice(&timestamp.to_be_bytes());
        h[8..12].copy_from_slice(&ssrc.to_be_bytes());
        h
    }

    /// The number of bytes [`RtpPacket::write`] produces.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len().min(15)
            + self.extension.as_ref().map_or(0, |e| 4 + padded4(e.data.len()))
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Appends the packet to `out`. At most 15 CSRCs are written; extension data is padded
    /// with zeros to a multiple of four bytes (and cut at 65535 words); padding bytes are
    /// zeros with the count in the last one.
    pub fn write(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        let csrcs = &self.csrcs[..self.csrcs.len().min(15)];
        let mut first = 0x80 | csrcs.len() as u8;
        if self.padding > 0 {
            first |= 0x20;
        }
        if self.extension.is_some() {
            first |= 0x10;
        }
        out.put_u8(first);
        out.put_u8(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.put_u16(self.sequence);
        out.put_u32(self.timestamp);
        out.put_u32(self.ssrc);
        for csrc in csrcs {
            out.put_u32(*csrc);
        }
        if let Some(ext) = &self.extension {
            let data = &ext.data[..ext.data.len().min(4 * usize::from(u16::MAX))];
            let len = padded4(data.len());
            out.put_u16(ext.profile);
            out.put_u16((len / 4) as u16);
            out.put_slice(data);
            out.put_bytes(0, len - data.len());
        }
        out.put_slice(&self.payload);
        if self.padding > 0 {
            out.put_bytes(0, usize::from(self.padding) - 1);
            out.put_u8(self.padding);
        }
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.write(&mut out);
        out.freeze()
    }
}

fn padded4(len: usize) -> usize {
    len.div_ceil(4) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_header_is_what_write_puts_before_the_payload() {
        let mut p = RtpPacket::new(8, 65535, 0xdead_beef, 0x0102_0304, Bytes::from_static(b"abc"));
        p.marker = true;
        let mut out = BytesMut::new();
        p.write(&mut out);
        assert_eq!(&out[..12], &RtpPacket::header(8, true, 65535, 0xdead_beef, 0x0102_0304)[..]);
        assert_eq!(&out[12..], b"abc");
    }

    #[test]
    fn round_trip_plain() {
        let mut p = RtpPacket::new(0, 65535, 0xDEADBEEF, 0x12345678, Bytes::from_static(&[0xFF; 160]));
        p.marker = true;
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), 172);
        assert_eq!(&bytes[..12], &[0x80, 0x80, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn round_trip_csrc_extension_padding() {
        let p = RtpPacket {
            marker: false,
            payload_type: 101,
            sequence: 7,
            timestamp: 160,
            ssrc: 1,
            csrcs: vec![10, 20, 30],
            extension: Some(RtpExtension { profile: 0xBEDE, data: Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8]) }),
            padding: 3,
            payload: Bytes::from_static(b"abcd"),
        };
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), p.encoded_len());
        assert_eq!(bytes[0], 0x80 | 0x20 | 0x10 | 3);
        assert_eq!(*bytes.last().unwrap(), 3);
        assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn extension_data_is_padded_to_words() {
        let mut p = RtpPacket::new(0, 1, 2, 3, Bytes::from_static(b"x"));
        p.extension = Some(RtpExtension { profile: 1, data: Bytes::from_static(&[9, 9, 9]) });
        let parsed = RtpPacket::parse(&p.to_bytes()).unwrap();
        assert_eq!(parsed.extension.unwrap().data.as_ref(), &[9, 9, 9, 0]);
        assert_eq!(parsed.payload.as_ref(), b"x");
    }

    #[test]
    fn handmade_packet_with_everything() {
        // V=2 P=1 X=1 CC=1, M=1 PT=8, seq 0x0102, ts 0x03040506, ssrc 0x0708090a, csrc 0x0b0c0d0e,
        // extension profile 0x1000 with one word, payload "hi", 2 bytes of padding.
        let bytes = [
            0xB1, 0x88, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x10, 0x00,
            0x00, 0x01, 0xAA, 0xBB, 0xCC, 0xDD, b'h', b'i', 0x00, 0x02,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.marker);
        assert_eq!((p.payload_type, p.sequence, p.timestamp, p.ssrc), (8, 0x0102, 0x03040506, 0x0708090A));
        assert_eq!(p.csrcs, [0x0B0C0D0E]);
        assert_eq!(
            p.extension.as_ref().map(|e| (e.profile, e.data.as_ref())),
            Some((0x1000, &[0xAA, 0xBB, 0xCC, 0xDD][..]))
        );
        assert_eq!(p.payload.as_ref(), b"hi");
        assert_eq!(p.padding, 2);
        assert_eq!(p.to_bytes().as_ref(), &bytes);
    }

    #[test]
    fn bad_input_is_an_error() {
        let good = RtpPacket::new(0, 1, 2, 3, Bytes::from_static(b"payload")).to_bytes();
        for len in 0..FIXED_HEADER_LEN {
            assert_eq!(RtpPacket::parse(&good[..len]), Err(RtpError::Truncated), "{len}");
        }
        let mut v1 = good.to_vec();
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        // CSRC count 15 with no CSRCs.
        let mut cc = good[..12].to_vec();
        cc[0] |= 0x0F;
        assert_eq!(RtpPacket::parse(&cc), Err(RtpError::Truncated));
        // Extension announced, absent, or longer than the packet.
        let mut x = good[..12].to_vec();
        x[0] |= 0x10;
        assert_eq!(RtpPacket::parse(&x), Err(RtpError::Truncated));
        x.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        assert_eq!(RtpPacket::parse(&x), Err(RtpError::Truncated));
        // Padding of 0, or longer than what follows the header.
        let mut pad = good.to_vec();
        pad[0] |= 0x20;
        *pad.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
        *pad.last_mut().unwrap() = 200;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
        // Header only: an empty payload is fine.
        assert_eq!(RtpPacket::parse(&good[..12]).unwrap().payload.len(), 0);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8).collect();
            let mut with_v2 = bytes.clone();
            if let Some(b) = with_v2.first_mut() {
                *b = (*b & 0x3F) | 0x80;
            }
            for input in [bytes, with_v2] {
                if let Ok(p) = RtpPacket::parse(&input) {
                    assert!(p.payload.len() <= input.len());
                    assert_eq!(RtpPacket::parse(&p.to_bytes()).unwrap(), p);
                }
            }
        }
    }
}
