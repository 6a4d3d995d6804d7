//! Tones: a sine generator for test and placeholder audio, and the Goertzel algorithm to
//! measure how much of a signal is at a given frequency.
//!
//! Owns sample arithmetic only: no RTP, no codec, no clock. Used by the media driver to send
//! a tone, and by tests to prove that what arrived is that tone.

use std::f32::consts::TAU;

/// A sine wave generator producing 16-bit samples, keeping its phase between frames so
/// consecutive frames join without a click.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneGenerator {
    step: f32,
    phase: f32,
    amplitude: f32,
}

impl ToneGenerator {
    /// A tone of `freq_hz` at `sample_rate`, with peak `amplitude` (clamped to the i16 range).
    pub fn new(freq_hz: f32, amplitude: i16, sample_rate: u32) -> ToneGenerator {
        let rate = sample_rate.max(1) as f32;
        ToneGenerator {
            step: TAU * freq_hz / rate,
            phase: 0.0,
            amplitude: f32::from(amplitude.unsigned_abs().min(32767)),
        }
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            *sample = (self.phase.sin() * self.amplitude) as i16;
            self.phase += self.step;
            if self.phase >= TAU {
                self.phase -= TAU;
            }
        }
    }

    /// The next `len` samples.
    pub fn samples(&mut self, len: usize) -> Vec<i16> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }
}

/// The Goertzel algorithm: the squared magnitude of the signal's DFT at `freq_hz` (any
/// frequency, not only a bin centre). For a sine of amplitude A over N samples at that
/// frequency it is about (A·N/2)².
pub fn goertzel_power(samples: &[i16], freq_hz: f32, sample_rate: u32) -> f32 {
    let w = TAU * freq_hz / sample_rate.max(1) as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + f64::from(coeff) * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - f64::from(coeff) * s1 * s2) as f32
}

/// The signal's energy: the sum of squared samples.
pub fn energy(samples: &[i16]) -> f64 {
    samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// The fraction of the signal's energy that is at `freq_hz`: about 1 for a pure tone at that
/// frequency, about 0 for a tone elsewhere or for silence (which gives exactly 0).
///
/// By Parseval, a sine at the frequency puts (A·N/2)² into the Goertzel power and A²·N/2
/// into the energy, so `2·power / (N·energy)` is 1 for it.
pub fn tone_fraction(samples: &[i16], freq_hz: f32, sample_rate: u32) -> f64 {
    let total = energy(samples);
    if samples.is_empty() || total == 0.0 {
        return 0.0;
    }
    2.0 * f64::from(goertzel_power(samples, freq_hz, sample_rate)) / (samples.len() as f64 * total)
}

/// Which of `candidates` holds the most energy, if any holds at least `min_fraction` of it.
pub fn dominant_tone(samples: &[i16], candidates: &[f32], sample_rate: u32, min_fraction: f64) -> Option<f32> {
    candidates
        .iter()
        .map(|&f| (f, tone_fraction(samples, f, sample_rate)))
        .filter(|&(_, fraction)| fraction >= min_fraction)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_tone_is_recognised() {
        let samples = ToneGenerator::new(440.0, 8000, 8000).samples(4000);
        assert!(tone_fraction(&samples, 440.0, 8000) > 0.95);
        assert!(tone_fraction(&samples, 1000.0, 8000) < 0.01);
        assert!(tone_fraction(&samples, 480.0, 8000) < 0.05);
        assert_eq!(dominant_tone(&samples, &[350.0, 440.0, 1000.0], 8000, 0.5), Some(440.0));
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7990..=8000).contains(&peak), "{peak}");
    }

    #[test]
    fn frames_join_without_a_click() {
        let mut g = ToneGenerator::new(1000.0, 10000, 8000);
        let mut joined = Vec::new();
        for _ in 0..25 {
            let mut frame = [0i16; 160];
            g.fill(&mut frame);
            joined.extend_from_slice(&frame);
        }
        assert!(tone_fraction(&joined, 1000.0, 8000) > 0.95);
    }

    #[test]
    fn silence_and_mixtures() {
        assert_eq!(tone_fraction(&[0; 800], 440.0, 8000), 0.0);
        assert_eq!(tone_fraction(&[], 440.0, 8000), 0.0);
        assert_eq!(dominant_tone(&[0; 800], &[440.0], 8000, 0.1), None);
        let a = ToneGenerator::new(440.0, 6000, 8000).samples(8000);
        let b = ToneGenerator::new(1000.0, 3000, 8000).samples(8000);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        // 440 Hz holds 4/5 of the energy, 1000 Hz 1/5.
        assert!((tone_fraction(&mix, 440.0, 8000) - 0.8).abs() < 0.02);
        assert!((tone_fraction(&mix, 1000.0, 8000) - 0.2).abs() < 0.02);
    }
}
