//! [`Impairment`]: deliberate loss of outgoing UDP datagrams, seeded and reproducible, so
//! that tests (and chaos experiments) can run whole call flows over a lossy network with
//! real sockets. The kernel here has no netem; this is the user-space equivalent at our own
//! send path. Off unless configured.

/// Drops each outgoing UDP datagram with probability `loss`, decided by a generator
/// seeded with `seed` (the same seed drops the same sends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// The probability of dropping a datagram, 0.0 to 1.0.
    pub loss: f64,
    /// The seed of the decisions.
    pub seed: u64,
}

/// The decisions of one sender (xorshift64*: quality is plenty for coin flips).
#[derive(Debug)]
pub struct Dropper {
    loss: f64,
    state: u64,
    pub(crate) dropped: u64,
}

impl Dropper {
    /// The decisions `i` asks for.
    pub fn new(i: Impairment) -> Dropper {
        Dropper { loss: i.loss.clamp(0.0, 1.0), state: i.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, dropped: 0 }
    }

    /// Should the next datagram be dropped?
    pub fn drop_next(&mut self) -> bool {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let drop = ((x >> 11) as f64 / (1u64 << 53) as f64) < self.loss;
        self.dropped += u64::from(drop);
        drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_the_asked_share_and_repeats_with_the_seed() {
        let mut a = Dropper::new(Impairment { loss: 0.3, seed: 7 });
        let mut b = Dropper::new(Impairment { loss: 0.3, seed: 7 });
        let da: Vec<bool> = (0..10_000).map(|_| a.drop_next()).collect();
        let db: Vec<bool> = (0..10_000).map(|_| b.drop_next()).collect();
        assert_eq!(da, db);
        let share = a.dropped as f64 / 10_000.0;
        assert!((0.27..0.33).contains(&share), "dropped {share}");
        let mut none = Dropper::new(Impairment { loss: 0.0, seed: 1 });
        assert!(!(0..1000).any(|_| none.drop_next()));
    }
}
