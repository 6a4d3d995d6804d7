//! G.722 (ITU-T G.722, 64 kbit/s mode): wideband audio, 16 kHz, by sub-band ADPCM.
//!
//! Owns the codec's arithmetic as the Recommendation specifies it: the 24-tap quadrature
//! mirror filters that split 16 kHz audio into a lower and a higher 8 kHz band and join
//! them again, the 6-bit adaptive quantizer of the lower band and the 2-bit one of the
//! higher band, their scale-factor adaptation, and the pole/zero predictor of each band
//! (blocks 1 to 6 of the Recommendation). The tables are the Recommendation's. It must
//! not packetize: one byte of payload carries two 16 kHz samples, so a 20 ms frame of 320
//! samples is 160 bytes (and, by RFC 3551's quirk, 160 RTP timestamp units at 8000 Hz).

/// The QMF coefficients (G.722 Table 11), one half of the symmetric filter.
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/// Lower-band quantizer decision levels (Table 7), scaled.
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
    1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// Lower-band codes for negative and positive differences, by quantizer interval.
const ILN: [i32; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
    4, 0,
];
const ILP: [i32; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34,
    33, 32, 0,
];
/// Lower-band log scale-factor multipliers (Table 14) and the 4-bit code map.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [i32; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// The inverse log base-2 table for scale factors (Table 15).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
    3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Lower-band inverse quantizers: 4-bit (for adaptation) and 6-bit (for output).
const QM4: [i32; 16] =
    [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576,
    -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040,
    -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
    4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// Higher band: inverse quantizer, codes, log scale-factor multipliers and code map.
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];
const WH: [i32; 3] = [0, -214, 798];
const RH2: [i32; 4] = [2, 1, 2, 1];

fn sat(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// The adaptive predictor and scale factor of one sub-band.
#[derive(Debug, Clone)]
struct Band {
    s: i32,
    sp: i32,
    sz: i32,
    r: [i32; 3],
    a: [i32; 3],
    ap: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    b: [i32; 7],
    bp: [i32; 7],
    nb: i32,
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            ap: [0; 3],
            p: [0; 3],
            d: [0; 7],
            b: [0; 7],
            bp: [0; 7],
            nb: 0,
            det,
        }
    }

    /// Scale factor adaptation (blocks 3L/3H): the log scale factor `nb` leaks towards zero
    /// and moves by `w`; `det` follows from it.
    fn adapt_scale(&mut self, w: i32, max_nb: i32, shift: i32) {
        self.nb = ((self.nb * 127) >> 7) + w;
        self.nb = self.nb.clamp(0, max_nb);
        let wd1 = ((self.nb >> 6) & 31) as usize;
        let wd2 = shift - (self.nb >> 11);
        let wd3 = if wd2 < 0 { ILB[wd1] << -wd2 } else { ILB[wd1] >> wd2 };
        self.det = wd3 << 2;
    }

    /// Block 4: reconstruct, adapt the pole and zero predictor coefficients, predict.
    fn update(&mut self, dx: i32) {
        self.d[0] = dx;
        self.r[0] = sat(self.s + dx);
        self.p[0] = sat(self.sz + dx);
        let mut sg = [0i32; 7];
        for (sg, p) in sg.iter_mut().zip(&self.p) {
            *sg = p >> 15;
        }
        // Second pole coefficient (UPPOL2).
        let wd1 = sat(self.a[1] << 2);
        let wd2 = if sg[0] == sg[1] { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = if sg[0] == sg[2] { 128 } else { -128 };
        wd3 += wd2 >> 7;
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);
        // First pole coefficient (UPPOL1).
        let wd1 = if sg[0] == sg[1] { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        self.ap[1] = sat(wd1 + wd2);
        let limit = sat(15360 - self.ap[2]);
        self.ap[1] = self.ap[1].clamp(-limit, limit);
        // Zero coefficients (UPZERO).
        let step = if dx == 0 { 0 } else { 128 };
        sg[0] = dx >> 15;
        for i in 1..7 {
            sg[i] = self.d[i] >> 15;
            let wd2 = if sg[i] == sg[0] { step } else { -step };
            let wd3 = (self.b[i] * 32640) >> 15;
            self.bp[i] = sat(wd2 + wd3);
        }
        // Delays (DELAYA).
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }
        // Pole and zero predictor outputs (FILTEP, FILTEZ), and the signal estimate.
        let wd1 = (self.a[1] * sat(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat(self.r[2] + self.r[2])) >> 15;
        self.sp = sat(wd1 + wd2);
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat(sz);
        self.s = sat(self.sp + self.sz);
    }
}

/// The lower band's reconstruction difference and scale update for a 6-bit code, shared
/// by the encoder and the decoder so both stay in step.
fn low_band_step(band: &mut Band, ilow: i32) {
    let ril = (ilow >> 2) as usize;
    let dlow = (band.det * QM4[ril]) >> 15;
    band.adapt_scale(WL[RL42[ril] as usize], 18432, 8);
    band.update(dlow);
}

fn high_band_step(band: &mut Band, ihigh: i32) -> i32 {
    let dhigh = (band.det * QM2[ihigh as usize]) >> 15;
    band.adapt_scale(WH[RH2[ihigh as usize] as usize], 22528, 10);
    band.update(dhigh);
    dhigh
}

/// The G.722 encoder state.
#[derive(Debug, Clone)]
pub struct Encoder {
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Encoder {
        Encoder { x: [0; 24], low: Band::new(32), high: Band::new(8) }
    }

    /// Encodes 16 kHz samples (an even number; a trailing odd one is dropped), appending
    /// one byte per two samples to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        for pair in pcm.chunks_exact(2) {
            // Transmit QMF: split into the two bands.
            self.x.copy_within(2.., 0);
            self.x[22] = i32::from(pair[0]);
            self.x[23] = i32::from(pair[1]);
            let (mut sum_odd, mut sum_even) = (0i32, 0i32);
            for i in 0..12 {
                sum_odd += self.x[2 * i] * QMF[i];
                sum_even += self.x[2 * i + 1] * QMF[11 - i];
            }
            let xlow = (sum_even + sum_odd) >> 14;
            let xhigh = (sum_even - sum_odd) >> 14;

            // Lower band: 6-bit quantization of the prediction error.
            let el = sat(xlow - self.low.s);
            let wd = if el >= 0 { el } else { -(el + 1) };
            let mut i = 1;
            while i < 30 && wd >= (Q6[i] * self.low.det) >> 12 {
                i += 1;
            }
            let ilow = if el < 0 { ILN[i] } else { ILP[i] };
            low_band_step(&mut self.low, ilow);

            // Higher band: 2-bit quantization.
            let eh = sat(xhigh - self.high.s);
            let wd = if eh >= 0 { eh } else { -(eh + 1) };
            let mih = if wd >= (564 * self.high.det) >> 12 { 2 } else { 1 };
            let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
            high_band_step(&mut self.high, ihigh);

            out.push(((ihigh << 6) | ilow) as u8);
        }
    }
}

/// The G.722 decoder state.
#[derive(Debug, Clone)]
pub struct Decoder {
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Decoder {
        Decoder { x: [0; 24], low: Band::new(32), high: Band::new(8) }
    }

    /// Decodes `codes`, appending two 16 kHz samples per byte to `out`.
    pub fn decode(&mut self, codes: &[u8], out: &mut Vec<i16>) {
        for &code in codes {
            let ilow = i32::from(code & 0x3F);
            let ihigh = i32::from(code >> 6);
            // Lower band: the 6-bit inverse quantizer gives the output, the 4-bit one the
            // adaptation (as the encoder computed it).
            let rlow = (self.low.s + ((self.low.det * QM6[ilow as usize]) >> 15)).clamp(-16384, 16383);
            low_band_step(&mut self.low, ilow);
            let s_high = self.high.s;
            let dhigh = high_band_step(&mut self.high, ihigh);
            let rhigh = (dhigh + s_high).clamp(-16384, 16383);

            // Receive QMF: join the bands.
            self.x.copy_within(2.., 0);
            self.x[22] = rlow + rhigh;
            self.x[23] = rlow - rhigh;
            let (mut out1, mut out2) = (0i32, 0i32);
            for i in 0..12 {
                out2 += self.x[2 * i] * QMF[i];
                out1 += self.x[2 * i + 1] * QMF[11 - i];
            }
            out.push(sat(out1 >> 11) as i16);
            out.push(sat(out2 >> 11) as i16);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{tone_fraction, ToneGenerator};

    fn round_trip(pcm: &[i16]) -> Vec<i16> {
        let mut codes = Vec::new();
        Encoder::new().encode(pcm, &mut codes);
        assert_eq!(codes.len(), pcm.len() / 2);
        let mut out = Vec::new();
        Decoder::new().decode(&codes, &mut out);
        out
    }

    /// Signal-to-noise ratio in dB of `decoded` against `original` delayed by the two QMFs.
    fn snr(original: &[i16], decoded: &[i16]) -> f64 {
        // The transmit and receive QMFs together delay the signal by 22 samples.
        let delay = 22;
        let (mut signal, mut noise) = (0f64, 0f64);
        for (o, d) in original[..original.len() - delay].iter().zip(&decoded[delay..]).skip(800) {
            signal += f64::from(*o).powi(2);
            noise += (f64::from(*o) - f64::from(*d)).powi(2);
        }
        10.0 * (signal / noise.max(1.0)).log10()
    }

    #[test]
    fn tones_across_the_wideband_survive_the_round_trip() {
        for hz in [300.0, 1000.0, 3400.0, 5000.0, 7000.0] {
            let pcm = ToneGenerator::new(hz, 10_000, 16_000).samples(16_000);
            let out = round_trip(&pcm);
            assert!(tone_fraction(&out[1600..], hz, 16_000) > 0.95, "{hz} Hz");
            let snr = snr(&pcm, &out);
            assert!(snr > 20.0, "{hz} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn silence_stays_quiet_and_loud_input_does_not_overflow() {
        let out = round_trip(&[0; 3200]);
        assert!(out.iter().all(|s| s.unsigned_abs() < 64), "{:?}", &out[..16]);
        let square: Vec<i16> = (0..3200).map(|i| if (i / 8) % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
        let out = round_trip(&square);
        assert_eq!(out.len(), 3200);
    }

    #[test]
    fn any_bytes_decode_without_panic() {
        let codes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let mut out = Vec::new();
        Decoder::new().decode(&codes, &mut out);
        assert_eq!(out.len(), 8192);
    }
}
