//! A call-quality estimate from the E-model (ITU-T G.107), sans-IO: the transmission rating
//! R from codec impairment, packet loss and delay, and the MOS it maps to.
//!
//! Owns the arithmetic only. It uses G.107's default values for everything a VoIP endpoint
//! cannot measure (R0 − Is = 93.2 with the default loudness, noise and echo parameters, and
//! A = 0), the equipment impairment Ie and robustness Bpl of ITU-T G.113 Appendix I for the
//! codec, the random-loss form of Ie,eff (BurstR = 1), and the widely used simplification of
//! the delay impairment Id for one-way delay without echo. The inputs come from RTP/RTCP
//! statistics; this module must not read packets or the clock.

/// G.107's R for default parameters and no impairment (R0 − Is).
const R_DEFAULT: f64 = 93.2;

/// What the codec contributes: G.113 Appendix I's equipment impairment and packet-loss
/// robustness (with concealment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Ie: the impairment without loss.
    pub ie: f64,
    /// Bpl: how well it bears random loss (larger is better).
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 with packet-loss concealment (G.113 Appendix I: Ie 0, Bpl 25.1).
    pub const G711: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };

    /// The impairment of a codec by encoding name; unknown codecs are treated as G.711.
    pub fn of(name: &str) -> CodecImpairment {
        if name.eq_ignore_ascii_case("G722") {
            // Wideband in a narrowband model: rated as G.711 (it is at least as good).
            CodecImpairment::G711
        } else if name.eq_ignore_ascii_case("opus") {
            // Opus at narrowband voice rates with its own PLC: no better than G.711 here.
            CodecImpairment { ie: 0.0, bpl: 20.0 }
        } else {
            CodecImpairment::G711
        }
    }
}

/// The transmission rating R for `loss_percent` random packet loss and `one_way_delay_ms`
/// of mouth-to-ear delay, with `codec`'s impairment.
pub fn r_factor(codec: CodecImpairment, loss_percent: f64, one_way_delay_ms: f64) -> f64 {
    let ppl = loss_percent.clamp(0.0, 100.0);
    // G.107 §3.5 with BurstR = 1.
    let ie_eff = codec.ie + (95.0 - codec.ie) * ppl / (ppl + codec.bpl);
    let d = one_way_delay_ms.max(0.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    R_DEFAULT - id - ie_eff
}

/// The MOS (conversational quality, 1 to 4.5) that G.107 Annex B maps R to.
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

/// The MOS estimate for a call: `codec_name`, the loss seen, and the one-way delay.
pub fn estimate_mos(codec_name: &str, loss_percent: f64, one_way_delay_ms: f64) -> f64 {
    mos_from_r(r_factor(CodecImpairment::of(codec_name), loss_percent, one_way_delay_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_g711_call_rates_about_4_4() {
        let mos = estimate_mos("PCMU", 0.0, 40.0);
        assert!((4.3..=4.45).contains(&mos), "{mos}");
        assert!((mos_from_r(R_DEFAULT) - 4.41).abs() < 0.01);
    }

    #[test]
    fn loss_and_delay_lower_the_score_monotonically() {
        let mut last = 5.0;
        for loss in [0.0, 1.0, 3.0, 5.0, 10.0, 20.0] {
            let mos = estimate_mos("PCMA", loss, 60.0);
            assert!(mos < last, "{loss}: {mos}");
            last = mos;
        }
        // 5 % loss is a noticeably worse call (R drops by about 15).
        assert!((3.5..4.0).contains(&estimate_mos("PCMA", 5.0, 60.0)));
        assert!(estimate_mos("PCMU", 0.0, 400.0) < estimate_mos("PCMU", 0.0, 150.0));
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }
}
