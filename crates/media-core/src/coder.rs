//! [`Coder`]: the encoder and decoder of one stream's negotiated codec.
//!
//! Owns the step between PCM frames and RTP payloads for each codec compiled in, with the
//! state a codec keeps between frames. It must not packetize, time or conceal: the stream
//! gives it a frame at the codec's rate and gets a payload back, or the reverse.

use crate::codec::Codec;
use crate::g711::{self, Law};
use crate::g722;

/// A codec ready to encode and decode.
#[derive(Debug)]
pub enum Coder {
    /// G.711 µ-law or A-law: one byte per sample, no state.
    G711(Law),
    /// G.722: two 16 kHz samples per byte, an encoder and a decoder that keep state.
    G722(Box<(g722::Encoder, g722::Decoder)>),
}

impl Coder {
    /// The coder for a negotiated codec, or `None` when it is not compiled in (or is not
    /// audio, like telephone-event).
    pub fn for_codec(codec: &Codec) -> Option<Coder> {
        if let Some(law) = codec.g711_law() {
            return Some(Coder::G711(law));
        }
        if codec.matches("G722", 8000, 1) {
            return Some(Coder::G722(Box::default()));
        }
        None
    }

    /// The rate of the PCM it takes and gives, in Hz.
    pub fn rate(&self) -> u32 {
        match self {
            Coder::G711(_) => 8000,
            Coder::G722(_) => 16_000,
        }
    }

    /// Appends the payload of one frame to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => g711::encode_into(*law, pcm, out),
            Coder::G722(state) => state.0.encode(pcm, out),
        }
    }

    /// The payload of one frame of silence, appended to `out` (what is sent while muted).
    pub fn encode_silence(&mut self, samples: usize, out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => out.resize(out.len() + samples, law.silence()),
            Coder::G722(state) => state.0.encode(&vec![0; samples], out),
        }
    }

    /// Appends the PCM of a payload to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match self {
            Coder::G711(law) => g711::decode_into(*law, payload, out),
            Coder::G722(state) => state.1.decode(payload, out),
        }
    }

    /// How many RTP timestamp units a payload covers.
    pub fn samples_in(&self, payload: &[u8]) -> u32 {
        match self {
            // One byte per 8 kHz tick for both: G.711's sample, G.722's two 16 kHz samples.
            Coder::G711(_) | Coder::G722(_) => payload.len() as u32,
        }
    }
}
