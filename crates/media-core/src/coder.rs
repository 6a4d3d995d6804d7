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
    /// Opus through libopus: mono at 48 kHz, in-band FEC on, its own loss concealment.
    #[cfg(feature = "opus")]
    Opus(Box<OpusCoder>),
}

/// libopus's encoder and decoder for one stream, and a decode buffer.
#[cfg(feature = "opus")]
pub struct OpusCoder {
    enc: opus::Encoder,
    dec: opus::Decoder,
    buf: Vec<i16>,
}

#[cfg(feature = "opus")]
impl std::fmt::Debug for OpusCoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusCoder")
    }
}

#[cfg(feature = "opus")]
impl OpusCoder {
    /// The most samples one Opus packet decodes to: 120 ms at 48 kHz.
    const MAX_SAMPLES: usize = 5760;

    fn new() -> Option<OpusCoder> {
        let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).ok()?;
        // In-band FEC lets the receiver rebuild a lost frame from the next one; it costs a
        // little bitrate and only comes on when the encoder expects loss.
        let _ = enc.set_inband_fec(true);
        let _ = enc.set_packet_loss_perc(5);
        let dec = opus::Decoder::new(48_000, opus::Channels::Mono).ok()?;
        Some(OpusCoder { enc, dec, buf: vec![0; Self::MAX_SAMPLES] })
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + 1500, 0);
        match self.enc.encode(pcm, &mut out[start..]) {
            Ok(n) => out.truncate(start + n),
            Err(e) => {
                tracing::debug!(error = %e, "Opus encode failed; the frame goes empty");
                out.truncate(start);
            }
        }
    }

    /// Decodes a payload (`fec`: the in-band copy of the frame before it); an empty payload
    /// asks for concealment of `samples`.
    fn decode(&mut self, payload: &[u8], samples: usize, fec: bool, out: &mut Vec<i16>) {
        let want = if payload.is_empty() || fec { samples.min(Self::MAX_SAMPLES) } else { Self::MAX_SAMPLES };
        match self.dec.decode(payload, &mut self.buf[..want], fec) {
            Ok(n) => out.extend_from_slice(&self.buf[..n]),
            Err(e) => {
                tracing::debug!(error = %e, "Opus packet not decoded; concealing it");
                if let Ok(n) = self.dec.decode(&[], &mut self.buf[..samples.min(Self::MAX_SAMPLES)], false) {
                    out.extend_from_slice(&self.buf[..n]);
                }
            }
        }
    }
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
        #[cfg(feature = "opus")]
        if codec.matches("opus", 48_000, 2) {
            return OpusCoder::new().map(|c| Coder::Opus(Box::new(c)));
        }
        None
    }

    /// The rate of the PCM it takes and gives, in Hz.
    pub fn rate(&self) -> u32 {
        match self {
            Coder::G711(_) => 8000,
            Coder::G722(_) => 16_000,
            #[cfg(feature = "opus")]
            Coder::Opus(_) => 48_000,
        }
    }

    /// Appends the payload of one frame to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => g711::encode_into(*law, pcm, out),
            Coder::G722(state) => state.0.encode(pcm, out),
            #[cfg(feature = "opus")]
            Coder::Opus(c) => c.encode(pcm, out),
        }
    }

    /// The payload of one frame of silence, appended to `out` (what is sent while muted).
    pub fn encode_silence(&mut self, samples: usize, out: &mut Vec<u8>) {
        match self {
            Coder::G711(law) => out.resize(out.len() + samples, law.silence()),
            Coder::G722(state) => state.0.encode(&vec![0; samples], out),
            #[cfg(feature = "opus")]
            Coder::Opus(c) => c.encode(&vec![0; samples], out),
        }
    }

    /// Appends the PCM of a payload to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match self {
            Coder::G711(law) => g711::decode_into(*law, payload, out),
            Coder::G722(state) => state.1.decode(payload, out),
            #[cfg(feature = "opus")]
            Coder::Opus(c) => c.decode(payload, 0, false, out),
        }
    }

    /// How many RTP timestamp units a payload covers.
    pub fn samples_in(&self, payload: &[u8]) -> u32 {
        match self {
            // One byte per 8 kHz tick for both: G.711's sample, G.722's two 16 kHz samples.
            Coder::G711(_) | Coder::G722(_) => payload.len() as u32,
            #[cfg(feature = "opus")]
            Coder::Opus(_) => opus::packet::get_nb_samples(payload, 48_000).map_or(960, |n| n as u32),
        }
    }

    /// Conceals `samples` lost samples with the codec's own means, appending them to `out`;
    /// false when the codec has none (the stream's concealer does it then). `next` is the
    /// payload that follows the gap, when it has arrived: Opus rebuilds the lost frame from
    /// its in-band FEC copy.
    pub fn conceal(&mut self, samples: usize, next: Option<&[u8]>, out: &mut Vec<i16>) -> bool {
        match self {
            #[cfg(feature = "opus")]
            Coder::Opus(c) => {
                c.decode(next.unwrap_or(&[]), samples, next.is_some(), out);
                true
            }
            _ => {
                let _ = (samples, next, out);
                false
            }
        }
    }
}
