//! ITU-T G.711 µ-law and A-law companding between 16-bit linear PCM and 8-bit codes.
//!
//! Owns the sample conversions and nothing else: it knows no RTP, no SDP, no clock. The
//! algorithms follow G.711 (1988) §2 and §3: a sign bit, a 3-bit segment (exponent) and a
//! 4-bit step (mantissa), with the µ-law code inverted and the A-law code's even bits
//! toggled (XOR 0x55) for line transmission.

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (North America, Japan): RTP payload `PCMU`.
    MuLaw,
    /// A-law (Europe, most of the world): RTP payload `PCMA`.
    ALaw,
}

impl Law {
    /// The code of digital silence (linear 0) in this law: 0xFF for µ-law, 0xD5 for A-law.
    pub fn silence(self) -> u8 {
        match self {
            Law::MuLaw => 0xFF,
            Law::ALaw => 0xD5,
        }
    }

    /// Encodes one linear sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::MuLaw => ulaw_encode(sample),
            Law::ALaw => alaw_encode(sample),
        }
    }

    /// Decodes one code to a linear sample.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Law::MuLaw => ulaw_decode(code),
            Law::ALaw => alaw_decode(code),
        }
    }
}

/// µ-law bias added before finding the segment (G.711 Table 2a: 33 in 14-bit units, 132 in
/// 16-bit units), so every segment's end points are powers of two.
const ULAW_BIAS: i32 = 0x84;
/// The largest magnitude µ-law represents once biased (8159 in 14-bit units).
const ULAW_CLIP: i32 = 32635;

/// Encodes a 16-bit linear sample to µ-law (G.711 §3, Table 2a).
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS; // 132..=32767: bits 7..=14 hold the segment
    let highest_bit = 31 - (biased as u32).leading_zeros();
    let segment = highest_bit - 7;
    let step = ((biased >> (segment + 3)) & 0x0F) as u32;
    !((sign | (segment << 4) | step) as u8)
}

/// Decodes a µ-law code to a 16-bit linear sample: the middle of the code's interval.
pub fn ulaw_decode(code: u8) -> i16 {
    let code = !code;
    let segment = u32::from((code >> 4) & 0x07);
    let step = i32::from(code & 0x0F);
    let magnitude = (((step << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes a 16-bit linear sample to A-law (G.711 §2, Table 1a), working on the 13-bit
/// magnitude the standard defines.
pub fn alaw_encode(sample: i16) -> u8 {
    let value = i32::from(sample) >> 3; // 13-bit signed
                                        // Negative values use the ones' complement magnitude, so -1 and 0 share segment 0.
    let (toggle, magnitude) = if value >= 0 { (0xD5u8, value) } else { (0x55u8, -value - 1) };
    let magnitude = magnitude.min(0x0FFF);
    let (segment, step) = if magnitude < 32 {
        (0u32, (magnitude >> 1) as u32)
    } else {
        let highest_bit = 31 - (magnitude as u32).leading_zeros(); // 5..=11
        let segment = highest_bit - 4;
        (segment, ((magnitude >> segment) & 0x0F) as u32)
    };
    (((segment << 4) | step) as u8) ^ toggle
}

/// Decodes an A-law code to a 16-bit linear sample: the middle of the code's interval.
pub fn alaw_decode(code: u8) -> i16 {
    let code = code ^ 0x55;
    let segment = u32::from((code >> 4) & 0x07);
    let step = i32::from(code & 0x0F) << 4;
    let magnitude = match segment {
        0 => step + 8,
        _ => (step + 0x108) << (segment - 1),
    };
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Encodes a frame of samples, appending one code per sample to `out`.
pub fn encode_into(law: Law, samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| law.encode(s)));
}

/// Decodes a payload, appending one sample per code to `out`.
pub fn decode_into(law: Law, codes: &[u8], out: &mut impl Extend<i16>) {
    out.extend(codes.iter().map(|&c| law.decode(c)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        // Silence and the extremes of G.711 Table 2a (in 16-bit units).
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0); // negative zero
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(-1), 0x7F);
        // Segment boundaries: 0xEF is step 0 of segment 1: ((0<<3)+132)<<1 - 132 = 132.
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_encode(132), 0xEF);
        assert_eq!(ulaw_decode(0xF0), 120);
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(ulaw_decode(0xCE), 988);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(alaw_decode(0xFA), 1008);
    }

    #[test]
    fn every_code_decodes_to_itself() {
        for code in 0..=255u8 {
            let u = ulaw_decode(code);
            // µ-law has two zeros (0x7F and 0xFF); every other code is a fixed point.
            if code != 0x7F {
                assert_eq!(ulaw_encode(u), code, "µ-law {code:#04x} -> {u}");
            }
            let a = alaw_decode(code);
            assert_eq!(alaw_encode(a), code, "A-law {code:#04x} -> {a}");
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        for sample in i16::MIN..=i16::MAX {
            let x = i32::from(sample);
            let mu = i32::from(ulaw_decode(ulaw_encode(sample)));
            if x.abs() <= ULAW_CLIP {
                assert!((mu - x).abs() <= (x.abs() / 16).max(8), "µ-law {x} -> {mu}");
            }
            let a = i32::from(alaw_decode(alaw_encode(sample)));
            assert!((a - x).abs() <= (x.abs() / 16).max(16), "A-law {x} -> {a}");
        }
    }
}
