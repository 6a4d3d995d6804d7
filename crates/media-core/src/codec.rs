//! [`Codec`]: an RTP payload format as SDP names it (RFC 3551 §6, RFC 4566 `a=rtpmap`).
//!
//! Owns the identity of a payload format (payload type, encoding name, clock rate, channels)
//! and how an `a=rtpmap` line or a static payload type (RFC 3551 Table 4) maps to one. It
//! must not encode audio (that is [`crate::g711`]) nor decide which codec a call uses (that
//! is [`crate::negotiate`]).

use crate::g711::Law;
use std::fmt;

/// An RTP payload format: what `a=rtpmap:<pt> <name>/<rate>[/<channels>]` says.
///
/// `name` is `&'static str` because the codecs a session offers are the ones compiled in;
/// a remote peer's names are compared case-insensitively against them (RFC 4566 §6: encoding
/// names are case-insensitive) and never stored here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Codec {
    /// The RTP payload type (0–127). Static types are fixed by RFC 3551; dynamic ones
    /// (96–127) are whatever the offer chose.
    pub payload_type: u8,
    /// The encoding name as written in `a=rtpmap` (e.g. `PCMU`, `telephone-event`).
    pub name: &'static str,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The number of audio channels.
    pub channels: u8,
}

impl Codec {
    /// G.711 µ-law, static payload type 0 (RFC 3551 §4.5.14, Table 4).
    pub const PCMU: Codec = Codec { payload_type: 0, name: "PCMU", clock_rate: 8000, channels: 1 };
    /// G.711 A-law, static payload type 8 (RFC 3551 §4.5.14, Table 4).
    pub const PCMA: Codec = Codec { payload_type: 8, name: "PCMA", clock_rate: 8000, channels: 1 };
    /// G.722, static payload type 9: 16 kHz audio on an 8000 Hz RTP clock (RFC 3551
    /// §4.5.2 keeps the clock rate of the original mistake).
    pub const G722: Codec = Codec { payload_type: 9, name: "G722", clock_rate: 8000, channels: 1 };
    /// Opus (RFC 7587): always `opus/48000/2` in SDP whatever is sent, on the customary
    /// dynamic payload type 111. Compiled in with the `opus` feature.
    pub const OPUS: Codec = Codec { payload_type: 111, name: "opus", clock_rate: 48_000, channels: 2 };
    /// RFC 4733 telephone events at Opus's 48 kHz clock (RFC 4733 §2.1: the events use the
    /// audio's clock), on payload type 102.
    pub const TELEPHONE_EVENT_48K: Codec =
        Codec { payload_type: 102, name: "telephone-event", clock_rate: 48_000, channels: 1 };
    /// RFC 4733 telephone events (DTMF), on the customary dynamic payload type 101.
    pub const TELEPHONE_EVENT: Codec =
        Codec { payload_type: 101, name: "telephone-event", clock_rate: 8000, channels: 1 };

    /// The default offer: G.711 (what every peer has) in the order of preference, followed
    /// by telephone-event. Wideband codecs are enabled by configuration.
    pub fn defaults() -> Vec<Codec> {
        vec![Codec::PCMU, Codec::PCMA, Codec::TELEPHONE_EVENT]
    }

    /// Every payload format this build can encode and decode, and telephone-event (at
    /// 8 kHz, and at 48 kHz when Opus is compiled in).
    pub fn known() -> Vec<Codec> {
        let mut known = vec![Codec::PCMU, Codec::PCMA, Codec::G722];
        if cfg!(feature = "opus") {
            known.push(Codec::OPUS);
        }
        known.push(Codec::TELEPHONE_EVENT);
        if cfg!(feature = "opus") {
            known.push(Codec::TELEPHONE_EVENT_48K);
        }
        known
    }

    /// The known codec of a name, compared case-insensitively (`pcmu`, `G722`,
    /// `telephone-event`).
    pub fn by_name(name: &str) -> Option<Codec> {
        Codec::known().into_iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The codec a static payload type stands for when an SDP has no `a=rtpmap` for it
    /// (RFC 3551 Table 4; RFC 4566 §6 makes the rtpmap optional for static types). Only the
    /// static types this crate knows are returned.
    pub fn from_static_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::PCMU),
            8 => Some(Codec::PCMA),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// The same codec on another payload type (the one the offer chose for it).
    pub fn with_payload_type(self, payload_type: u8) -> Codec {
        Codec { payload_type, ..self }
    }

    /// Is this the same payload format as `encoding/clock_rate/channels` from an rtpmap?
    /// The encoding name compares case-insensitively (RFC 4566 §6).
    pub fn matches(&self, encoding: &str, clock_rate: u32, channels: u8) -> bool {
        self.name.eq_ignore_ascii_case(encoding) && self.clock_rate == clock_rate && self.channels == channels
    }

    /// The audio sample rate the codec carries, which is not always its RTP clock rate
    /// (G.722 samples at 16 kHz on an 8 kHz clock).
    pub fn sample_rate(&self) -> u32 {
        if self.name.eq_ignore_ascii_case("G722") {
            16_000
        } else {
            self.clock_rate
        }
    }

    /// Is this RFC 4733 telephone-event rather than audio?
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// The G.711 law this codec uses, or `None` when it is not G.711 (so this crate cannot
    /// encode or decode it).
    pub fn g711_law(&self) -> Option<Law> {
        if self.clock_rate != 8000 || self.channels != 1 {
            None
        } else if self.name.eq_ignore_ascii_case("PCMU") {
            Some(Law::MuLaw)
        } else if self.name.eq_ignore_ascii_case("PCMA") {
            Some(Law::ALaw)
        } else {
            None
        }
    }

    /// The value of this codec's `a=rtpmap` attribute, e.g. `0 PCMU/8000`. The channel count
    /// is written only when it is not 1 (RFC 4566 §6: it defaults to one).
    pub fn rtpmap_value(&self) -> String {
        if self.channels == 1 {
            format!("{} {}/{}", self.payload_type, self.name, self.clock_rate)
        } else {
            format!("{} {}/{}/{}", self.payload_type, self.name, self.clock_rate, self.channels)
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} (pt {})", self.name, self.clock_rate, self.payload_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_and_rtpmap() {
        assert_eq!(Codec::PCMU.rtpmap_value(), "0 PCMU/8000");
        assert_eq!(Codec::TELEPHONE_EVENT.rtpmap_value(), "101 telephone-event/8000");
        assert!(Codec::PCMA.matches("pcma", 8000, 1));
        assert!(!Codec::PCMA.matches("PCMA", 16000, 1));
        assert_eq!(Codec::PCMU.g711_law(), Some(Law::MuLaw));
        assert_eq!(Codec::TELEPHONE_EVENT.g711_law(), None);
        assert_eq!(Codec::from_static_payload_type(8), Some(Codec::PCMA));
        assert_eq!(Codec::from_static_payload_type(18), None);
        assert_eq!(Codec::from_static_payload_type(9), Some(Codec::G722));
        assert_eq!(Codec::by_name("g722"), Some(Codec::G722));
        assert_eq!(Codec::by_name("opus-not-here"), None);
        assert_eq!(Codec::TELEPHONE_EVENT.with_payload_type(96).payload_type, 96);
    }
}
