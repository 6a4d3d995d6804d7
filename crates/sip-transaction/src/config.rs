//! [`Config`]: the RFC 3261 timer base values and the layer's few policies.

use std::time::Duration;

/// Timer values and policies of the transaction layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// T1, the round-trip time estimate (RFC 3261 §17.1.1.1: 500 ms).
    pub t1: Duration,
    /// T2, the longest retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// T4, how long a message may stay in the network (5 s).
    pub t4: Duration,
    /// How long an INVITE server transaction waits for the TU before answering 100 Trying
    /// itself (RFC 3261 §17.2.1: 200 ms).
    pub trying_delay: Duration,
    /// Requests larger than this that would go over UDP go over TCP instead (RFC 3261 §18.1.1:
    /// 200 bytes under a 1500-byte path MTU). `None` keeps UDP whatever the size.
    pub udp_size_threshold: Option<usize>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            trying_delay: Duration::from_millis(200),
            udp_size_threshold: Some(1300),
        }
    }
}

impl Config {
    /// 64·T1: Timers B, F, H, J, L and M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: at least 32 s over an unreliable transport, 0 over a reliable one.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.timeout())
        }
    }
}
