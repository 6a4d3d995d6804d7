//! [`JitterBuffer`]: received packets held until their playout time, sans-IO.
//!
//! Owns the order and timing of received audio: packets are kept sorted by RTP timestamp
//! (unwrapped across wrap-around), duplicates and packets that come after their playout
//! time are dropped and counted, and each 20 ms tick the stream takes out what is due — a
//! packet, a gap to conceal, or nothing while the buffer fills. The delay it holds follows
//! the measured interarrival jitter (three times it, plus one frame) within configured
//! bounds; when the buffer holds more than that (the target shrank, or a burst arrived) the
//! oldest packet is dropped to catch up. A long silence (discontinuous transmission, hold)
//! makes it fill again before playing, and a timestamp jump or new source starts it afresh.
//!
//! It must not decode, conceal or touch the clock: the caller gives timestamps in RTP units
//! and takes payload bytes out. Memory is fixed after warm-up: payload buffers are reused.

use std::time::Duration;

/// How a [`JitterBuffer`] sizes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// The least delay held (at least one frame).
    pub min_delay: Duration,
    /// The most delay held, however large the jitter.
    pub max_delay: Duration,
    /// The most packets held; more push out the oldest.
    pub capacity: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig { min_delay: Duration::from_millis(40), max_delay: Duration::from_millis(300), capacity: 64 }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Kept for playout.
    Stored,
    /// Already held or already played.
    Duplicate,
    /// Its playout time has passed.
    Late,
    /// Kept, and the oldest packet was dropped to make room.
    Overflow,
    /// A timestamp jump: the buffer was emptied and starts again from this packet.
    Reset,
}

/// What one tick takes out.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Still filling: play silence, conceal nothing.
    Buffering,
    /// A packet due now: decode it.
    Packet {
        /// Its RTP timestamp.
        timestamp: u32,
        /// Its payload.
        payload: &'a [u8],
    },
    /// Nothing arrived for this stretch (lost or late): conceal `samples` samples.
    Missing {
        /// How many samples to conceal.
        samples: u32,
    },
}

/// Counters of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full or held more delay than its target.
    pub overflow: u64,
    /// Stretches concealed because nothing was there to play.
    pub concealed: u64,
    /// Restarts after a timestamp jump or new source.
    pub resets: u64,
    /// The delay the buffer aims for now, in milliseconds.
    pub target_delay_ms: u32,
    /// The delay it holds now, in milliseconds.
    pub delay_ms: u32,
}

struct Entry {
    /// The unwrapped timestamp.
    ext: i64,
    samples: u32,
    payload: Vec<u8>,
}

/// A timestamp jump larger than this many seconds restarts the buffer.
const JUMP_SECONDS: i64 = 4;
/// After this many empty ticks in a row, the buffer fills again before playing (the
/// sender paused: DTX, hold, or a long outage).
const REFILL_AFTER_EMPTY_TICKS: u32 = 10;

/// The jitter buffer of one received stream.
pub struct JitterBuffer {
    config: JitterConfig,
    clock_rate: u32,
    /// The samples a tick plays.
    frame_samples: u32,
    entries: std::collections::VecDeque<Entry>,
    /// Payload buffers to reuse.
    free: Vec<Vec<u8>>,
    /// The last timestamp pushed, raw and unwrapped, to unwrap the next one.
    last: Option<(u32, i64)>,
    /// The next timestamp to play, once playing.
    next: Option<i64>,
    /// Where playing stopped for a refill: older packets are late.
    played: Option<i64>,
    empty_ticks: u32,
    target_samples: u32,
    stats: JitterStats,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer").field("held", &self.entries.len()).field("stats", &self.stats).finish()
    }
}

impl JitterBuffer {
    /// A buffer for a stream at `clock_rate` Hz played `frame_samples` per tick.
    pub fn new(config: JitterConfig, clock_rate: u32, frame_samples: u32) -> JitterBuffer {
        let mut b = JitterBuffer {
            config,
            clock_rate: clock_rate.max(1),
            frame_samples: frame_samples.max(1),
            // Grown as packets arrive (at most `capacity`), not reserved up front per call.
            entries: std::collections::VecDeque::new(),
            free: Vec::new(),
            last: None,
            next: None,
            played: None,
            empty_ticks: 0,
            target_samples: 0,
            stats: JitterStats::default(),
        };
        b.set_jitter(0.0);
        b
    }

    fn samples_of(&self, d: Duration) -> u32 {
        (d.as_micros() * u128::from(self.clock_rate) / 1_000_000) as u32
    }

    fn ms_of(&self, samples: i64) -> u32 {
        (samples.max(0) * 1000 / i64::from(self.clock_rate)) as u32
    }

    /// Follows the measured interarrival jitter (in timestamp units): the target delay
    /// becomes three times it plus a frame, within the configured bounds, in whole frames.
    pub fn set_jitter(&mut self, jitter: f64) {
        let min = self.samples_of(self.config.min_delay).max(self.frame_samples);
        let max = self.samples_of(self.config.max_delay).max(min);
        let wanted = (3.0 * jitter.max(0.0)) as u32 + self.frame_samples;
        let frames = wanted.clamp(min, max).div_ceil(self.frame_samples);
        self.target_samples = frames * self.frame_samples;
        self.stats.target_delay_ms = self.ms_of(i64::from(self.target_samples));
    }

    /// Empties the buffer (a new source): the next packet starts a fresh timeline.
    pub fn reset(&mut self) {
        while let Some(e) = self.entries.pop_front() {
            self.free.push(e.payload);
        }
        self.last = None;
        self.next = None;
        self.played = None;
        self.empty_ticks = 0;
    }

    fn unwrap(&mut self, timestamp: u32) -> i64 {
        let ext = match self.last {
            None => i64::from(timestamp),
            Some((raw, ext)) => ext + i64::from(timestamp.wrapping_sub(raw) as i32),
        };
        self.last = Some((timestamp, ext));
        ext
    }

    /// Holds a packet of `samples` samples at RTP timestamp `timestamp`.
    pub fn push(&mut self, timestamp: u32, samples: u32, payload: &[u8]) -> Pushed {
        let ext = self.unwrap(timestamp);
        let mut outcome = Pushed::Stored;
        let reference = self.next.or(self.played).or_else(|| self.entries.front().map(|e| e.ext));
        if let Some(reference) = reference {
            if (ext - reference).abs() > JUMP_SECONDS * i64::from(self.clock_rate) {
                self.stats.resets += 1;
                self.reset();
                self.last = Some((timestamp, ext));
                outcome = Pushed::Reset;
            }
        }
        if let Some(next) = self.next.or(self.played) {
            if ext < next {
                self.stats.late += 1;
                return Pushed::Late;
            }
        }
        let at = self.entries.partition_point(|e| e.ext < ext);
        if self.entries.get(at).is_some_and(|e| e.ext == ext) {
            self.stats.duplicates += 1;
            return Pushed::Duplicate;
        }
        if self.entries.len() >= self.config.capacity.max(1) {
            if at == 0 {
                // Older than everything held in a full buffer: it would be dropped first.
                self.stats.overflow += 1;
                return Pushed::Overflow;
            }
            self.drop_oldest();
            outcome = Pushed::Overflow;
        }
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(payload);
        let at = self.entries.partition_point(|e| e.ext < ext);
        self.entries.insert(at, Entry { ext, samples: samples.max(1), payload: buf });
        outcome
    }

    fn drop_oldest(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.stats.overflow += 1;
            if let Some(next) = self.next.as_mut() {
                *next = (*next).max(e.ext + i64::from(e.samples));
            }
            self.free.push(e.payload);
        }
    }

    /// The span of audio held, in samples, from the next timestamp to play (or the oldest
    /// held) to the end of the newest.
    fn held(&self) -> i64 {
        match (self.entries.front(), self.entries.back()) {
            (Some(first), Some(last)) => {
                last.ext + i64::from(last.samples) - self.next.unwrap_or(first.ext).min(first.ext)
            }
            _ => 0,
        }
    }

    /// What the tick plays now. A returned packet's payload stays valid until the next call.
    pub fn pop(&mut self) -> Playout<'_> {
        let Some(first) = self.entries.front() else {
            if let Some(next) = self.next.as_mut() {
                self.empty_ticks += 1;
                if self.empty_ticks >= REFILL_AFTER_EMPTY_TICKS {
                    // The sender paused: fill up again when it comes back (anything older
                    // than what was played is still late).
                    self.played = self.next.take();
                    self.empty_ticks = 0;
                    return Playout::Buffering;
                }
                *next += i64::from(self.frame_samples);
                self.stats.concealed += 1;
                self.stats.delay_ms = 0;
                return Playout::Missing { samples: self.frame_samples };
            }
            return Playout::Buffering;
        };
        let first_ext = first.ext;
        let next = match self.next {
            Some(next) => next,
            None if self.held() < i64::from(self.target_samples) => return Playout::Buffering,
            None => first_ext,
        };
        // Too much held: drop the oldest to bring the delay back to the target.
        let mut next = next;
        while self.entries.len() > 1 && self.held() > i64::from(self.target_samples + 2 * self.frame_samples) {
            self.drop_oldest();
            next = next.max(self.entries.front().map_or(next, |e| e.ext));
        }
        self.empty_ticks = 0;
        self.stats.delay_ms = self.ms_of(self.held());
        let Some(first) = self.entries.front() else { return Playout::Buffering };
        if first.ext <= next {
            let Some(entry) = self.entries.pop_front() else { return Playout::Buffering };
            self.next = Some(entry.ext + i64::from(entry.samples));
            let timestamp = self.last_raw(entry.ext);
            // The buffer goes back to the free list and is lent out until the next call.
            self.free.push(entry.payload);
            let payload = self.free.last().map(Vec::as_slice).unwrap_or(&[]);
            return Playout::Packet { timestamp, payload };
        }
        let gap = ((first.ext - next) as u64).min(u64::from(self.frame_samples)) as u32;
        self.next = Some(next + i64::from(gap));
        self.stats.concealed += 1;
        Playout::Missing { samples: gap }
    }

    /// The raw RTP timestamp of an unwrapped one.
    fn last_raw(&self, ext: i64) -> u32 {
        match self.last {
            Some((raw, last_ext)) => raw.wrapping_sub((last_ext - ext) as u32),
            None => ext as u32,
        }
    }

    /// The payload of the packet due right after what was last played, if it is here:
    /// after a gap, a codec with forward error correction rebuilds the lost frame from it.
    pub fn peek_next(&self) -> Option<&[u8]> {
        let front = self.entries.front()?;
        (Some(front.ext) == self.next).then_some(front.payload.as_slice())
    }

    /// The counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// How many packets it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Does it hold nothing?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> JitterBuffer {
        JitterBuffer::new(JitterConfig::default(), 8000, 160)
    }

    /// Plays ticks until one yields a packet or gap, returning (timestamp or None, samples).
    fn play(b: &mut JitterBuffer) -> Option<(Option<u32>, u32)> {
        match b.pop() {
            Playout::Buffering => None,
            Playout::Packet { timestamp, payload } => Some((Some(timestamp), payload.len() as u32)),
            Playout::Missing { samples } => Some((None, samples)),
        }
    }

    #[test]
    fn fills_to_the_target_then_plays_in_timestamp_order() {
        let mut b = buffer();
        assert_eq!(b.stats().target_delay_ms, 40);
        // Arrive out of order: 2, 0, 1, 3.
        for i in [2u32, 0, 1, 3] {
            assert_eq!(b.push((u32::MAX - 319).wrapping_add(i * 160), 160, &[i as u8; 160]), Pushed::Stored);
        }
        let played: Vec<_> = (0..4).filter_map(|_| play(&mut b)).collect();
        let expected: Vec<_> = (0..4u32).map(|i| (Some((u32::MAX - 319).wrapping_add(i * 160)), 160)).collect();
        assert_eq!(played, expected, "wraps around zero in order");
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped_and_counted() {
        let mut b = buffer();
        for i in 0..3u32 {
            b.push(i * 160, 160, &[0; 160]);
        }
        assert_eq!(b.push(160, 160, &[0; 160]), Pushed::Duplicate);
        assert!(play(&mut b).is_some());
        assert!(play(&mut b).is_some());
        assert_eq!(b.push(0, 160, &[0; 160]), Pushed::Late);
        let s = b.stats();
        assert_eq!((s.duplicates, s.late), (1, 1));
    }

    #[test]
    fn a_lost_packet_is_a_gap_to_conceal() {
        let mut b = buffer();
        // One packet per tick, as they arrive; packet 2 never comes.
        b.push(0, 160, &[0; 160]);
        assert_eq!(play(&mut b), None, "filling to 40 ms");
        b.push(160, 160, &[0; 160]);
        let mut out = vec![play(&mut b)];
        for i in [3u32, 4, 5, 6] {
            b.push(i * 160, 160, &[0; 160]);
            out.push(play(&mut b));
        }
        let out: Vec<_> = out.into_iter().flatten().collect();
        assert_eq!(out, [(Some(0), 160), (Some(160), 160), (None, 160), (Some(480), 160), (Some(640), 160)]);
        assert_eq!(b.stats().concealed, 1);
    }

    #[test]
    fn the_target_follows_jitter_within_bounds_and_excess_is_dropped() {
        let mut b = buffer();
        b.set_jitter(400.0); // 50 ms of jitter: 3 x 50 + 20 = 170 -> 180 ms in frames
        assert_eq!(b.stats().target_delay_ms, 180);
        b.set_jitter(1e9);
        assert_eq!(b.stats().target_delay_ms, 300);
        b.set_jitter(0.0);
        // A burst of a second of audio is cut back to the target plus two frames.
        for i in 0..50u32 {
            b.push(i * 160, 160, &[0; 160]);
        }
        assert!(play(&mut b).is_some());
        assert!(b.stats().delay_ms <= 80, "{:?}", b.stats());
        assert!(b.stats().overflow > 40);
    }

    #[test]
    fn a_timestamp_jump_restarts_and_a_pause_refills() {
        let mut b = buffer();
        for i in 0..3u32 {
            b.push(i * 160, 160, &[0; 160]);
        }
        assert!(play(&mut b).is_some());
        assert_eq!(b.push(8000 * 60, 160, &[0; 160]), Pushed::Reset);
        assert_eq!(b.stats().resets, 1);
        assert_eq!(b.len(), 1);
        // Talk, then 12 empty ticks: conceal a little, then wait for the buffer to refill.
        let mut b = buffer();
        for i in 0..3u32 {
            b.push(i * 160, 160, &[0; 160]);
        }
        let outs: Vec<_> = (0..16).map(|_| play(&mut b)).collect();
        assert_eq!(outs.iter().filter(|o| matches!(o, Some((Some(_), _)))).count(), 3);
        assert!(outs.last().unwrap().is_none(), "refilling after a pause: {outs:?}");
    }

    #[test]
    fn capacity_bounds_memory() {
        let mut b = JitterBuffer::new(JitterConfig { capacity: 8, ..JitterConfig::default() }, 8000, 160);
        for i in 0..100u32 {
            b.push(i * 160, 160, &[0; 160]);
        }
        assert_eq!(b.len(), 8);
    }
}
