//! Receiver statistics for one RTP source, sans-IO: RFC 3550 Appendix A.1 (sequence number
//! validation with probation), A.3 (expected and lost packets, the extended highest sequence
//! number across wrap-arounds) and A.8 (interarrival jitter).
//!
//! Owns the arithmetic of those appendices and nothing else: the caller gives each packet's
//! sequence number, RTP timestamp and arrival time in the same clock units; no clock, no
//! sockets. Memory is fixed: a handful of counters per source.

/// A.1: a jump of this many sequence numbers or more restarts the source.
const MAX_DROPOUT: u16 = 3000;
/// A.1: packets this far behind the highest are late or duplicates, not a restart.
const MAX_MISORDER: u16 = 100;
/// A.1: in-order packets needed before a new source is believed.
const MIN_SEQUENTIAL: u32 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// The receiver state of RFC 3550 Appendix A.1 for one SSRC, with A.8's jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverStats {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    transit: Option<i32>,
    jitter: f64,
}

impl ReceiverStats {
    /// The state after the first packet of a new source, with sequence number `seq`
    /// (A.1: the source is on probation until `MIN_SEQUENTIAL` packets arrive in order).
    pub fn new(seq: u16) -> ReceiverStats {
        let mut s = ReceiverStats {
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1; // so seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`: is this sequence number valid for the source? Counts it if so.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            // Only in-order packets take a source out of probation.
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD); // wrapped around
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump: believe it only if the next packet follows it (the sender
            // restarted without changing SSRC).
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // else: a duplicate or a reordered packet, counted but not moving max_seq.
        self.received = self.received.wrapping_add(1);
        true
    }

    /// Records a packet: its sequence number, its RTP timestamp and its arrival time in the
    /// same clock units as the timestamp (A.8). Returns whether the packet was valid for the
    /// source (A.1); jitter and counts move only for valid packets.
    pub fn on_packet(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> bool {
        if !self.update_seq(seq) {
            return false;
        }
        // A.8: D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}) = transit_i - transit_{i-1};
        // J += (|D| - J) / 16. Wrapping arithmetic keeps it right across timestamp wrap.
        let transit = arrival.wrapping_sub(rtp_timestamp) as i32;
        if let Some(previous) = self.transit {
            let d = f64::from(transit.wrapping_sub(previous).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
        true
    }

    /// The extended highest sequence number received: cycles of 65536 plus the highest
    /// sequence number (A.3).
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected since the source was validated (A.3).
    pub fn expected(&self) -> u32 {
        if self.probation > 0 {
            return 0;
        }
        self.extended_max().wrapping_sub(self.base_seq).wrapping_add(1)
    }

    /// Valid packets received, duplicates included (A.3).
    pub fn received(&self) -> u32 {
        self.received
    }

    /// The cumulative number of packets lost: expected minus received, which duplicates can
    /// make negative (A.3).
    pub fn lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// The fraction lost since the previous call, in 1/256 units as an RTCP report block
    /// carries it (A.3); 0 when nothing was lost or more arrived than expected.
    pub fn fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        }
    }

    /// The interarrival jitter estimate, in timestamp units (A.8).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Is the source still on probation (A.1)?
    pub fn on_probation(&self) -> bool {
        self.probation > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds packets sent every 160 timestamp units and arriving exactly on time.
    fn feed(stats: &mut ReceiverStats, seqs: impl IntoIterator<Item = u16>, first: u16) {
        for seq in seqs {
            let n = u32::from(seq.wrapping_sub(first));
            stats.on_packet(seq, n * 160, n * 160 + 1000);
        }
    }

    #[test]
    fn probation_then_counting() {
        let mut s = ReceiverStats::new(100);
        assert!(s.on_probation());
        assert!(!s.on_packet(100, 0, 0));
        assert!(s.on_packet(101, 160, 160));
        assert!(!s.on_probation());
        assert_eq!((s.expected(), s.received(), s.lost()), (1, 1, 0));
    }

    #[test]
    fn loss_with_gaps_reordering_and_wrap() {
        let first = 65530u16;
        let mut s = ReceiverStats::new(first);
        // 65530..=65535, 0..=20 minus 3 lost (65534, 2, 10), with 5 and 6 swapped and 12 twice.
        let mut seqs: Vec<u16> = (65530..=65535).chain(0..=20).filter(|s| ![65534, 2, 10].contains(s)).collect();
        let five = seqs.iter().position(|&x| x == 5).unwrap();
        seqs.swap(five, five + 1);
        let twelve = seqs.iter().position(|&x| x == 12).unwrap();
        seqs.insert(twelve + 1, 12);
        feed(&mut s, seqs, first);
        // Validated at 65531: expected 65531..=65535 and 0..=20 = 5 + 21 = 26.
        assert_eq!(s.extended_max(), 65536 + 20);
        assert_eq!(s.expected(), 26);
        // Received: 26 - 3 lost + 1 duplicate.
        assert_eq!(s.received(), 24);
        assert_eq!(s.lost(), 2);
        // Arrival was exactly on time for every packet: no jitter.
        assert_eq!(s.jitter(), 0.0);
    }

    #[test]
    fn fraction_lost_per_interval() {
        let mut s = ReceiverStats::new(0);
        feed(&mut s, (0..=100).filter(|s| s % 4 != 3), 0);
        // Expected 100 (1..=100), received 75: 25 % lost = 64/256.
        assert_eq!(s.fraction_lost(), 64);
        feed(&mut s, 101..=200, 0);
        assert_eq!(s.fraction_lost(), 0);
    }

    #[test]
    fn jitter_converges_to_the_delay_variation() {
        let mut s = ReceiverStats::new(0);
        // Odd packets arrive 80 units late: every |D| is 80, so J -> 80 (A.8).
        for i in 0..400u32 {
            let late = if i % 2 == 1 { 80 } else { 0 };
            s.on_packet(i as u16, i * 160, 5000 + i * 160 + late);
        }
        assert!((s.jitter() - 80.0).abs() < 0.01, "{}", s.jitter());
        // Timestamps and arrival times wrapping around u32 do not disturb it.
        let mut w = ReceiverStats::new(0);
        for i in 0..400u32 {
            w.on_packet(i as u16, (u32::MAX - 1000).wrapping_add(i * 160), (u32::MAX - 10).wrapping_add(i * 160));
        }
        assert_eq!(w.jitter(), 0.0);
    }

    #[test]
    fn large_jump_needs_confirmation() {
        let mut s = ReceiverStats::new(10);
        feed(&mut s, 10..=20, 10);
        assert_eq!(s.received(), 10);
        // A single wild packet is not believed...
        assert!(!s.on_packet(40000, 0, 0));
        assert_eq!(s.extended_max(), 20);
        // ...but two in a row restart the counts there (the sender restarted).
        assert!(!s.on_packet(50000, 0, 0));
        assert!(s.on_packet(50001, 160, 160));
        assert_eq!((s.expected(), s.received()), (1, 1));
        // Late packets within MAX_MISORDER are counted without moving the maximum.
        assert!(s.on_packet(49990, 0, 0));
        assert_eq!(s.extended_max(), 50001);
    }
}
