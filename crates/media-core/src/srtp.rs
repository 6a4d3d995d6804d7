//! SRTP (RFC 3711) keyed by SDES (RFC 4568), sans-IO: the policy a user picks, the
//! `a=crypto` attribute read and written, and [`SrtpSession`], which protects what a stream
//! sends and unprotects what it receives.
//!
//! Owns the SDES side: crypto suites AES_CM_128_HMAC_SHA1_80 and _32, the inline master key
//! and salt (30 bytes, base64), and the choice of keys for each direction. The cipher, the
//! authentication, the roll-over counter and the replay window are `rtc-srtp`'s, a sans-IO
//! SRTP crate: this module only hands it keys and packets. It must not touch sockets or
//! SDP lines other than `a=crypto`; the keys never appear in `Debug` output or logs.

use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;
use std::fmt;

/// The master key and salt of the AES-128 suites: 16 bytes of key, 14 of salt.
pub const KEY_SALT_LEN: usize = 30;
/// Packets of the replay window (RFC 3711 §3.3.2 asks for at least 64).
const REPLAY_WINDOW: usize = 128;

/// Whether calls use SRTP: the `--srtp off|optional|required` of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SrtpPolicy {
    /// Plain RTP only; offers carry no keys, and an offer that requires SRTP is refused.
    #[default]
    Off,
    /// Offer RTP/AVP with keys (best-effort SRTP): SRTP when the peer answers with a key,
    /// plain RTP when it does not; an offer with keys is answered with SRTP.
    Optional,
    /// Offer RTP/SAVP with keys and refuse anything without them: no plain RTP is sent or
    /// accepted.
    Required,
}

impl std::str::FromStr for SrtpPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<SrtpPolicy, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(SrtpPolicy::Off),
            "optional" => Ok(SrtpPolicy::Optional),
            "required" => Ok(SrtpPolicy::Required),
            other => Err(format!("'{other}' is not an SRTP mode (off, optional, required)")),
        }
    }
}

impl fmt::Display for SrtpPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SrtpPolicy::Off => "off",
            SrtpPolicy::Optional => "optional",
            SrtpPolicy::Required => "required",
        })
    }
}

/// An SRTP crypto suite of RFC 4568 §6.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// AES in counter mode, 128-bit key, HMAC-SHA1 with an 80-bit tag.
    AesCm128HmacSha1_80,
    /// The same with a 32-bit tag (smaller packets, weaker authentication).
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// Both suites, the stronger first (what an offer lists).
    pub const ALL: [CryptoSuite; 2] = [CryptoSuite::AesCm128HmacSha1_80, CryptoSuite::AesCm128HmacSha1_32];

    /// The name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite of a name (case-sensitive, as RFC 4568 §9.2 writes them).
    pub fn from_name(name: &str) -> Option<CryptoSuite> {
        CryptoSuite::ALL.into_iter().find(|s| s.name() == name)
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            CryptoSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

/// Why SRTP could not be set up or a packet not be protected or unprotected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// An `a=crypto` value that does not parse; the text says why.
    BadCrypto(String),
    /// The keys could not be used (the SRTP library refused them).
    Keys(String),
    /// A packet failed authentication, was replayed, or could not be protected.
    Packet(String),
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::BadCrypto(why) => write!(f, "bad a=crypto attribute: {why}"),
            SrtpError::Keys(why) => write!(f, "SRTP keys refused: {why}"),
            SrtpError::Packet(why) => write!(f, "SRTP: {why}"),
        }
    }
}

impl std::error::Error for SrtpError {}

/// One `a=crypto` line (RFC 4568 §9.1): a tag, a suite and an inline master key and salt.
/// Session parameters and lifetimes are not written; an MKI is refused (nobody uses one
/// with SDES for a single stream).
#[derive(Clone, PartialEq, Eq)]
pub struct SdesCrypto {
    /// The tag that pairs an answer's line with the offer's (1 to 999999999).
    pub tag: u32,
    /// The suite.
    pub suite: CryptoSuite,
    key_salt: [u8; KEY_SALT_LEN],
}

impl fmt::Debug for SdesCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: never in logs.
        f.debug_struct("SdesCrypto").field("tag", &self.tag).field("suite", &self.suite).finish_non_exhaustive()
    }
}

impl SdesCrypto {
    /// A fresh random master key and salt for `suite`, with `tag`.
    pub fn generate(tag: u32, suite: CryptoSuite) -> Result<SdesCrypto, SrtpError> {
        let mut key_salt = [0u8; KEY_SALT_LEN];
        getrandom::getrandom(&mut key_salt).map_err(|e| SrtpError::Keys(format!("no randomness for a key: {e}")))?;
        Ok(SdesCrypto { tag, suite, key_salt })
    }

    /// A line with a given key and salt (tests, and keys from elsewhere).
    pub fn with_key(tag: u32, suite: CryptoSuite, key_salt: [u8; KEY_SALT_LEN]) -> SdesCrypto {
        SdesCrypto { tag, suite, key_salt }
    }

    /// The same key under another tag (an answer echoes the offer's tag).
    pub fn retagged(&self, tag: u32) -> SdesCrypto {
        SdesCrypto { tag, ..self.clone() }
    }

    /// The attribute value: `1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key and salt>`.
    pub fn to_attribute_value(&self) -> String {
        format!("{} {} inline:{}", self.tag, self.suite.name(), base64_encode(&self.key_salt))
    }

    /// Reads an attribute value. `Ok(None)` for a suite this crate does not implement (the
    /// offer may list others we can use); an error for a line that is malformed.
    pub fn parse(value: &str) -> Result<Option<SdesCrypto>, SrtpError> {
        let bad = |why: &str| SrtpError::BadCrypto(why.to_owned());
        let mut parts = value.split_whitespace();
        let tag: u32 = parts.next().and_then(|t| t.parse().ok()).ok_or_else(|| bad("no tag"))?;
        let suite = parts.next().ok_or_else(|| bad("no crypto suite"))?;
        let Some(suite) = CryptoSuite::from_name(suite) else { return Ok(None) };
        let params = parts.next().ok_or_else(|| bad("no key parameters"))?;
        // Several keys may be given, separated by ';': the first is used.
        let first = params.split(';').next().unwrap_or_default();
        let inline = first.strip_prefix("inline:").ok_or_else(|| bad("the key is not inline:"))?;
        let mut fields = inline.split('|');
        let key = fields.next().unwrap_or_default();
        // Lifetime and MKI: an MKI (a field with ':') changes the packet format; refuse it.
        if fields.any(|f| f.contains(':')) {
            return Err(bad("an MKI is not supported"));
        }
        let bytes = base64_decode(key).ok_or_else(|| bad("the key is not base64"))?;
        let key_salt: [u8; KEY_SALT_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SrtpError::BadCrypto(format!("a {}-byte key and salt, not 30", b.len())))?;
        Ok(Some(SdesCrypto { tag, suite, key_salt }))
    }
}

/// The keys of one SRTP stream: ours protects what we send, theirs unprotects what we get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The key and suite we send with (what our SDP gave).
    pub ours: SdesCrypto,
    /// The key and suite the peer sends with (what its SDP gave).
    pub theirs: SdesCrypto,
}

/// The SRTP and SRTCP contexts of one stream, both ways.
pub struct SrtpSession {
    tx: Context,
    rx: Context,
    suite: CryptoSuite,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSession").field("suite", &self.suite).finish_non_exhaustive()
    }
}

fn context(key: &SdesCrypto, crypto: &dyn rtc_srtp::crypto::RTCCrypto) -> Result<Context, SrtpError> {
    Context::new(
        &key.key_salt[..16],
        &key.key_salt[16..],
        key.suite.profile(),
        Some(srtp_replay_protection(REPLAY_WINDOW)),
        Some(srtcp_replay_protection(REPLAY_WINDOW)),
        crypto,
    )
    .map_err(|e| SrtpError::Keys(e.to_string()))
}

impl SrtpSession {
    /// Contexts for `keys`.
    pub fn new(keys: &SrtpKeys) -> Result<SrtpSession, SrtpError> {
        let provider = rtc_crypto::default_provider().map_err(|e| SrtpError::Keys(e.to_string()))?;
        Ok(SrtpSession {
            tx: context(&keys.ours, provider.crypto())?,
            rx: context(&keys.theirs, provider.crypto())?,
            suite: keys.ours.suite,
        })
    }

    /// Protects an RTP packet, replacing `packet` with the SRTP packet.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let out = self.tx.encrypt_rtp(packet).map_err(|e| SrtpError::Packet(e.to_string()))?;
        packet.clear();
        packet.extend_from_slice(&out);
        Ok(())
    }

    /// Unprotects an SRTP packet into `out`: an error for one that fails authentication or
    /// replays an index already seen (RFC 3711 §3.3).
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let plain = self.rx.decrypt_rtp(packet).map_err(|e| SrtpError::Packet(e.to_string()))?;
        out.clear();
        out.extend_from_slice(&plain);
        Ok(())
    }

    /// Protects an RTCP compound, replacing `packet` with the SRTCP packet.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let out = self.tx.encrypt_rtcp(packet).map_err(|e| SrtpError::Packet(e.to_string()))?;
        packet.clear();
        packet.extend_from_slice(&out);
        Ok(())
    }

    /// Unprotects an SRTCP packet into `out`.
    pub fn unprotect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let plain = self.rx.decrypt_rtcp(packet).map_err(|e| SrtpError::Packet(e.to_string()))?;
        out.clear();
        out.extend_from_slice(&plain);
        Ok(())
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The master key and salt of RFC 3711 Appendix B.3.
    fn rfc_3711_key() -> [u8; KEY_SALT_LEN] {
        let mut k = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        k.extend(hex("0EC675AD498AFEEBB6960B3AABE6"));
        k.try_into().unwrap()
    }

    #[test]
    fn crypto_lines_round_trip_and_hide_their_keys() {
        let c = SdesCrypto::with_key(1, CryptoSuite::AesCm128HmacSha1_80, rfc_3711_key());
        let value = c.to_attribute_value();
        assert_eq!(value, "1 AES_CM_128_HMAC_SHA1_80 inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm");
        assert_eq!(SdesCrypto::parse(&value).unwrap(), Some(c.clone()));
        assert!(!format!("{c:?}").contains("4fl6"), "no key in Debug");
        // Lifetimes are ignored; other suites are skipped, not errors.
        let with_lifetime = format!("{value}|2^31");
        assert_eq!(SdesCrypto::parse(&with_lifetime).unwrap(), Some(c));
        assert_eq!(SdesCrypto::parse("2 F8_128_HMAC_SHA1_80 inline:abcd").unwrap(), None);
        for bad in
            ["", "x AES_CM_128_HMAC_SHA1_80 inline:a", "1 AES_CM_128_HMAC_SHA1_32", "1 AES_CM_128_HMAC_SHA1_32 key:abc"]
        {
            assert!(SdesCrypto::parse(bad).is_err(), "{bad}");
        }
        let short = "1 AES_CM_128_HMAC_SHA1_32 inline:YWJj";
        assert!(SdesCrypto::parse(short).unwrap_err().to_string().contains("3-byte"));
        let mki = format!("{value}|2^20|1:4");
        assert!(SdesCrypto::parse(&mki).is_err());
        assert_eq!("Required".parse::<SrtpPolicy>(), Ok(SrtpPolicy::Required));
        assert!("maybe".parse::<SrtpPolicy>().is_err());
    }

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)), Some(data));
        }
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_decode("YW*j"), None);
    }

    /// A known-answer test: the AES_CM_128_HMAC_SHA1_80 packet that libsrtp's test driver
    /// checks, keyed with the master key and salt of RFC 3711 Appendix B.3.
    #[test]
    fn the_known_answer_packet_is_protected_to_the_byte() {
        let key = SdesCrypto::with_key(1, CryptoSuite::AesCm128HmacSha1_80, rfc_3711_key());
        let keys = SrtpKeys { ours: key.clone(), theirs: key };
        let mut tx = SrtpSession::new(&keys).unwrap();
        let mut rx = SrtpSession::new(&keys).unwrap();
        let plain = hex("800f1234 decafbad cafebabe abababab abababab abababab abababab");
        let mut packet = plain.clone();
        tx.protect_rtp(&mut packet).unwrap();
        let expected = hex("800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb");
        assert_eq!(packet, expected);
        let mut out = Vec::new();
        rx.unprotect_rtp(&packet, &mut out).unwrap();
        assert_eq!(out, plain);
        // The same packet again is a replay; a flipped bit fails authentication.
        assert!(rx.unprotect_rtp(&packet, &mut out).is_err());
        let mut forged = expected.clone();
        forged[20] ^= 1;
        forged[2..4].copy_from_slice(&[0x12, 0x35]);
        assert!(rx.unprotect_rtp(&forged, &mut out).is_err());
    }

    #[test]
    fn both_directions_and_rtcp_round_trip_and_plain_packets_are_refused() {
        let a = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_32).unwrap();
        let b = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_32).unwrap();
        let mut alice = SrtpSession::new(&SrtpKeys { ours: a.clone(), theirs: b.clone() }).unwrap();
        let mut bob = SrtpSession::new(&SrtpKeys { ours: b, theirs: a }).unwrap();
        let mut out = Vec::new();
        for seq in [65534u16, 65535, 0, 1] {
            let mut rtp = crate::rtp::RtpPacket::header(0, false, seq, 160 * u32::from(seq), 7).to_vec();
            rtp.extend_from_slice(&[0x55; 160]);
            let plain = rtp.clone();
            alice.protect_rtp(&mut rtp).unwrap();
            assert_eq!(rtp.len(), plain.len() + 4, "a 32-bit tag");
            bob.unprotect_rtp(&rtp, &mut out).unwrap();
            assert_eq!(out, plain, "across the roll-over at {seq}");
            assert!(bob.unprotect_rtp(&plain, &mut out).is_err(), "plain RTP is not accepted");
        }
        let mut rtcp = Vec::new();
        crate::rtcp::write_report(&mut rtcp, 7, None, &[], "c", false);
        let plain = rtcp.clone();
        bob.protect_rtcp(&mut rtcp).unwrap();
        alice.unprotect_rtcp(&rtcp, &mut out).unwrap();
        assert_eq!(out, plain);
    }
}
