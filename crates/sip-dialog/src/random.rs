//! [`RandomSource`]: the draws this layer needs (the glare interval of RFC 3261 §14.1, the
//! Retry-After of §14.2, registration back-off jitter), injectable so tests pin every draw.
//!
//! Identifiers that must be unguessable (tags, branches, Call-IDs, cnonces) do not come from
//! here but from the operating system, through `sip-message`.

use std::time::Duration;

/// A source of uniformly distributed numbers.
///
/// Every [`rand::RngCore`] is one, so a seeded `rand::rngs::SmallRng` gives reproducible
/// runs and `rand::rngs::OsRng` unpredictable ones; a test can also script the draws.
pub trait RandomSource {
    /// A number drawn uniformly from `0..=max`.
    fn up_to(&mut self, max: u64) -> u64;
}

impl<R: rand::RngCore + ?Sized> RandomSource for R {
    fn up_to(&mut self, max: u64) -> u64 {
        rand::Rng::gen_range(self, 0..=max)
    }
}

/// A duration drawn uniformly from `low..=high` in steps of `step` (both ends reachable when
/// `high - low` is a multiple of `step`). Returns `low` when the range is empty.
pub(crate) fn duration_between(rng: &mut dyn RandomSource, low: Duration, high: Duration, step: Duration) -> Duration {
    let step_ns = step.as_nanos().max(1);
    let span = high.saturating_sub(low).as_nanos() / step_ns;
    let steps = u64::try_from(span).unwrap_or(u64::MAX);
    let k = rng.up_to(steps);
    low + step.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Always the largest value.
    struct Max;
    impl RandomSource for Max {
        fn up_to(&mut self, max: u64) -> u64 {
            max
        }
    }

    #[test]
    fn bounds_are_reachable_and_respected() {
        let ms = Duration::from_millis;
        assert_eq!(duration_between(&mut Max, ms(2100), ms(4000), ms(10)), ms(4000));
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..1000 {
            let d = duration_between(&mut rng, ms(2100), ms(4000), ms(10));
            assert!(d >= ms(2100) && d <= ms(4000));
            assert_eq!(d.as_millis() % 10, 0);
        }
        assert_eq!(duration_between(&mut rng, ms(5), ms(1), ms(10)), ms(5));
    }
}
