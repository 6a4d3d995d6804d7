//! [`Coder`]: the encoder and decoder of one stream's negotiated codec.
//!
//! Owns the step between PCM frames and RTP payloads for each codec compiled in, with the
//! state a codec keeps between frames. It must not packetize, time or conceal: the stream
//! gives it a frame at the codec's rate and gets a payload back, or the reverse.

use crate::codec::Codec;
use crate::g711::{self, Law};

/// A codec ready to encode and decode.
#[derive(Debug)]
pub enum Coder {
    /// G.711 µ-law or A-law: one byte per sample, no state.
    G711(Law),
}

impl Coder {
    /// The coder for a negotiated codec, or `None` when it is not compiled in (or is not
    /// audio, like telephone-event).
    pub fn for_codec(codec: &Codec) -> Option<Coder> {
        codec.g711_law().map(Coder::G711)
    }

    /// The rate of the PCM it takes and gives, in Hz.
    pub fn rate(&self) -> u32 {
        match self {
            Coder::G711(_) => 8000,
        }
    }

    /// Appends the payload of one frame to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => g711::encode_into(*law, pcm, out),
        }
    }

    /// The payload of one frame of silence, appended to `out` (what is sent while muted).
    pub fn encode_silence(&mut self, samples: usize, out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => out.resize(out.len() + samples, law.silence()),
        }
    }

    /// Appends the PCM of a payload to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match self {
            Coder::G711(law) => g711::decode_into(*law, payload, out),
        }
    }

    /// How many RTP timestamp units a payload covers.
    pub fn samples_in(&self, payload: &[u8]) -> u32 {
        match self {
            Coder::G711(_) => payload.len() as u32,
        }
    }
}
