//! [`Concealer`]: packet-loss concealment for codecs without their own (G.711), sans-IO.
//!
//! Owns the recent history of decoded audio and what replaces a lost stretch: the last pitch
//! period, found by autocorrelation, repeated with a short cross-fade at each seam so no
//! click is heard; after the first 10 ms of a loss the repetition fades by a fifth every
//! 10 ms, reaching silence after 60 ms (a longer gap is silence, not a buzz). The first good
//! audio after a loss is blended in over a few milliseconds. This is the scheme of ITU-T
//! G.711 Appendix I in outline, simplified (one pitch estimate per loss, linear fades). It
//! must not decode or know about packets; the stream calls it per frame.

/// The longest pitch period searched, in ms (about 66 Hz).
const MAX_PITCH_MS: u32 = 15;
/// The shortest pitch period searched, in ms (about 400 Hz).
const MIN_PITCH_MS: f64 = 2.5;
/// The history kept, in ms: enough to compare a period with the one before it.
const HISTORY_MS: u32 = 40;
/// How long a loss plays at full level before fading.
const FULL_LEVEL_MS: u32 = 10;
/// How long the fade to silence takes after that.
const FADE_MS: u32 = 50;
/// How long the first good audio after a loss is blended with the repetition.
const BLEND_MS: f64 = 4.0;

/// The concealment state of one received stream.
#[derive(Debug)]
pub struct Concealer {
    rate: u32,
    history: Vec<i16>,
    /// The period being repeated, while concealing.
    period: Vec<i16>,
    /// Where in `period` the next sample comes from.
    phase: usize,
    /// Samples concealed in this loss so far.
    lost: u32,
}

impl Concealer {
    /// A concealer for audio at `rate` Hz.
    pub fn new(rate: u32) -> Concealer {
        let rate = rate.max(8000);
        Concealer { rate, history: Vec::new(), period: Vec::new(), phase: 0, lost: 0 }
    }

    /// Passes real decoded audio through: remembers it and, right after a loss, blends its
    /// start with the continuing repetition.
    pub fn good(&mut self, frame: &mut [i16]) {
        if self.lost > 0 && !self.period.is_empty() {
            let blend = ((BLEND_MS * f64::from(self.rate) / 1000.0) as usize).min(frame.len());
            let gain = self.gain();
            for (i, s) in frame.iter_mut().take(blend).enumerate() {
                let w = (i + 1) as f64 / (blend + 1) as f64;
                let fake = f64::from(self.period[(self.phase + i) % self.period.len()]) * gain;
                *s = (f64::from(*s) * w + fake * (1.0 - w)) as i16;
            }
        }
        self.lost = 0;
        self.period.clear();
        self.remember(frame);
    }

    fn remember(&mut self, frame: &[i16]) {
        let cap = ms(self.rate, HISTORY_MS);
        self.history.extend_from_slice(frame);
        let excess = self.history.len().saturating_sub(cap);
        self.history.drain(..excess);
    }

    fn gain(&self) -> f64 {
        let full = ms(self.rate, FULL_LEVEL_MS) as f64;
        let fade = ms(self.rate, FADE_MS) as f64;
        (1.0 - (f64::from(self.lost) - full).max(0.0) / fade).clamp(0.0, 1.0)
    }

    /// Fills `out` with a stand-in for lost audio.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.lost == 0 {
            self.period = self.pitch_period();
            self.phase = 0;
        }
        if self.period.is_empty() {
            out.fill(0);
            self.lost += out.len() as u32;
            return;
        }
        let len = self.period.len();
        for s in out.iter_mut() {
            *s = (f64::from(self.period[self.phase]) * self.gain()) as i16;
            self.phase = (self.phase + 1) % len;
            self.lost += 1;
        }
        // What was played stands in the history, so a long loss continues smoothly.
        self.remember(out);
    }

    /// The last pitch period of the history: the lag of highest normalized autocorrelation
    /// in the speech pitch range; empty when the history is too short or silent.
    fn pitch_period(&self) -> Vec<i16> {
        let min = (MIN_PITCH_MS * f64::from(self.rate) / 1000.0) as usize;
        let max = ms(self.rate, MAX_PITCH_MS);
        let h = &self.history;
        if h.len() < 2 * max || h.iter().all(|s| s.unsigned_abs() < 64) {
            return Vec::new();
        }
        let window = &h[h.len() - max..];
        let mut best = (min, f64::MIN);
        for lag in min..=max {
            let past = &h[h.len() - max - lag..h.len() - lag];
            let (mut dot, mut e_now, mut e_past) = (0.0f64, 0.0f64, 0.0f64);
            for (a, b) in window.iter().zip(past) {
                dot += f64::from(*a) * f64::from(*b);
                e_now += f64::from(*a) * f64::from(*a);
                e_past += f64::from(*b) * f64::from(*b);
            }
            let score = if e_now > 0.0 && e_past > 0.0 { dot / (e_now * e_past).sqrt() } else { 0.0 };
            if score > best.1 {
                best = (lag, score);
            }
        }
        h[h.len() - best.0..].to_vec()
    }
}

fn ms(rate: u32, ms: u32) -> usize {
    (rate * ms / 1000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{tone_fraction, ToneGenerator};

    #[test]
    fn a_lost_frame_of_a_tone_is_replaced_by_the_tone() {
        let mut gen = ToneGenerator::new(400.0, 8000, 8000);
        let mut c = Concealer::new(8000);
        for _ in 0..5 {
            let mut f = gen.samples(160);
            c.good(&mut f);
        }
        let mut lost = vec![0i16; 160];
        c.conceal(&mut lost);
        assert!(tone_fraction(&lost, 400.0, 8000) > 0.8, "{}", tone_fraction(&lost, 400.0, 8000));
        assert!(lost.iter().map(|s| s.unsigned_abs()).max().unwrap() > 6000);
    }

    #[test]
    fn a_long_loss_fades_to_silence_and_silence_stays_silent() {
        let mut gen = ToneGenerator::new(250.0, 8000, 8000);
        let mut c = Concealer::new(8000);
        for _ in 0..5 {
            c.good(&mut gen.samples(160));
        }
        let mut out = vec![0i16; 160];
        for _ in 0..4 {
            c.conceal(&mut out);
        }
        assert!(out.iter().all(|s| *s == 0), "80 ms into a loss is silence");
        let mut quiet = Concealer::new(8000);
        quiet.good(&mut vec![0; 320]);
        let mut out = vec![1i16; 160];
        quiet.conceal(&mut out);
        assert!(out.iter().all(|s| *s == 0));
    }
}
