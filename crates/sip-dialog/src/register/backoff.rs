//! [`Backoff`]: how long a registration waits after failures — RFC 5626 §4.5's exponential
//! back-off with jitter, so that many clients cut off together do not return together.

use crate::random::{duration_between, RandomSource};
use std::time::Duration;

/// The wait after `n` failures in a row is drawn uniformly between 50 % and 100 % of
/// `W = min(max, base · 2^n)` (RFC 5626 §4.5): 30–60 s after the first with the defaults,
/// never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// base-time: 30 s by default (RFC 5626 uses 90 s when other flows still work).
    pub base: Duration,
    /// max-time: 1800 s by default.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { base: Duration::from_secs(30), max: Duration::from_secs(1800) }
    }
}

impl Backoff {
    /// W for `failures` failures in a row.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }

    /// The wait after `failures` failures in a row.
    pub(crate) fn delay(&self, failures: u32, rng: &mut dyn RandomSource) -> Duration {
        let w = self.ceiling(failures);
        duration_between(rng, w / 2, w, Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceiling_doubles_up_to_max() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(b.ceiling(1000), b.max, "no overflow");
    }

    #[test]
    fn delay_is_half_to_all_of_the_ceiling() {
        let b = Backoff::default();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        for n in 1..20 {
            let w = b.ceiling(n);
            for _ in 0..50 {
                let d = b.delay(n, &mut rng);
                assert!(d >= w / 2 && d <= w && d <= b.max);
            }
        }
    }
}
