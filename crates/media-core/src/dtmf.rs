//! DTMF as RFC 4733 telephone-events, sans-IO: the payload format, a sender that turns
//! queued digits into packets frame by frame, and a receiver that turns packets into one
//! event per digit.
//!
//! Owns the event codes (§3.2: 0–9, `*`, `#`, A–D), the 4-byte payload (§2.3), the sender's
//! schedule (a start packet with the marker bit, continuations that grow the duration, three
//! end packets, a pause before the next digit) and the receiver's de-duplication (every
//! packet of one event shares its RTP timestamp, §2.5.1.1). It must not touch sockets, the
//! clock or SIP: the stream calls it once per frame and puts what it returns into RTP.

use std::collections::VecDeque;

/// The digits RFC 4733 §3.2 numbers 0 to 15, in that order.
pub const DIGITS: &str = "0123456789*#ABCD";
/// How long each digit sounds unless configured otherwise.
pub const DEFAULT_DIGIT_MS: u32 = 100;
/// The pause between two digits (tones closer than this may be heard as one key press).
pub const DEFAULT_GAP_MS: u32 = 60;
/// How many times the end packet goes out (RFC 4733 §2.5.1.4: a total of three times).
pub const END_PACKETS: u8 = 3;
/// The volume field sent: -10 dBm0, the customary level (§2.3.4 range 0 to -63).
pub const VOLUME: u8 = 10;
/// The most digits that may wait to be sent; more are refused rather than queued forever.
pub const MAX_QUEUED: usize = 256;

/// The event code of a digit (`a`–`d` as `A`–`D`), or `None` for anything else.
pub fn event_of(digit: char) -> Option<u8> {
    DIGITS.find(digit.to_ascii_uppercase()).map(|i| i as u8)
}

/// The digit of an event code, or `None` for codes that are not DTMF (flash and the rest).
pub fn digit_of(event: u8) -> Option<char> {
    DIGITS.chars().nth(usize::from(event))
}

/// The telephone-event payload (RFC 4733 §2.3): event, end bit, volume, duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// The event code.
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// The power level in -dBm0 (0 to 63).
    pub volume: u8,
    /// The duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Reads the first four bytes of a payload; `None` when there are fewer (§2.3: a
    /// payload may carry more events, which this reads no further).
    pub fn parse(payload: &[u8]) -> Option<EventPayload> {
        let b = payload.get(..4)?;
        Some(EventPayload {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The four payload bytes (the R bit is zero).
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | (self.volume & 0x3F), d[0], d[1]]
    }
}

/// Why digits could not be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtmfError {
    /// A character that is not a DTMF digit.
    NotADigit(char),
    /// More than [`MAX_QUEUED`] digits would wait.
    QueueFull,
    /// The peer did not negotiate telephone-event, so RFC 4733 digits cannot be sent
    /// (SIP INFO is the fallback).
    NotNegotiated,
}

impl std::fmt::Display for DtmfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DtmfError::NotADigit(c) => write!(f, "{c:?} is not a DTMF digit (0-9, *, #, A-D)"),
            DtmfError::QueueFull => write!(f, "more than {MAX_QUEUED} DTMF digits waiting"),
            DtmfError::NotNegotiated => f.write_str("the peer did not negotiate telephone-event (RFC 4733)"),
        }
    }
}

impl std::error::Error for DtmfError {}

/// A telephone-event packet to send in place of this frame's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Set on the first packet of an event (§2.5.1.1).
    pub marker: bool,
    /// The RTP timestamp: the event's start, the same in all its packets.
    pub timestamp: u32,
    /// The payload.
    pub payload: EventPayload,
}

#[derive(Debug)]
struct Sending {
    event: u8,
    timestamp: u32,
    /// Samples sounded so far.
    duration: u32,
    ends_sent: u8,
}

/// Turns queued digits into telephone-event packets, one call per frame.
#[derive(Debug)]
pub struct DtmfSender {
    queue: VecDeque<u8>,
    current: Option<Sending>,
    /// Frames of silence still owed before the next digit.
    gap_frames: u32,
    digit_ms: u32,
    gap_ms: u32,
}

impl Default for DtmfSender {
    fn default() -> Self {
        DtmfSender::new(DEFAULT_DIGIT_MS, DEFAULT_GAP_MS)
    }
}

impl DtmfSender {
    /// A sender that sounds each digit for `digit_ms` (at least 40) and pauses `gap_ms`
    /// between digits.
    pub fn new(digit_ms: u32, gap_ms: u32) -> DtmfSender {
        DtmfSender { queue: VecDeque::new(), current: None, gap_frames: 0, digit_ms: digit_ms.max(40), gap_ms }
    }

    /// Queues digits to send after those already waiting; nothing is queued if any
    /// character is not a digit.
    pub fn queue(&mut self, digits: &str) -> Result<(), DtmfError> {
        let codes =
            digits.chars().map(|c| event_of(c).ok_or(DtmfError::NotADigit(c))).collect::<Result<Vec<_>, _>>()?;
        if self.queue.len() + codes.len() > MAX_QUEUED {
            return Err(DtmfError::QueueFull);
        }
        self.queue.extend(codes);
        Ok(())
    }

    /// Is a digit sounding or waiting?
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// The packet for the frame that starts at RTP timestamp `timestamp` and lasts
    /// `frame_samples` at `clock_rate`, or `None` when the frame carries audio.
    pub fn on_frame(&mut self, timestamp: u32, frame_samples: u32, clock_rate: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.gap_frames > 0 {
                self.gap_frames -= 1;
                return None;
            }
            let event = self.queue.pop_front()?;
            self.current = Some(Sending { event, timestamp, duration: 0, ends_sent: 0 });
        }
        let digit_samples = self.digit_ms * clock_rate / 1000;
        let current = self.current.as_mut()?;
        let marker = current.duration == 0 && current.ends_sent == 0;
        if current.duration < digit_samples {
            current.duration = (current.duration + frame_samples).min(digit_samples);
        }
        let end = current.duration >= digit_samples;
        let packet = EventPacket {
            marker,
            timestamp: current.timestamp,
            payload: EventPayload {
                event: current.event,
                end,
                volume: VOLUME,
                // A longer event would need segments (§2.5.1.3); digits are far shorter.
                duration: current.duration.min(u32::from(u16::MAX)) as u16,
            },
        };
        if end {
            current.ends_sent += 1;
            if current.ends_sent >= END_PACKETS {
                self.current = None;
                self.gap_frames = (self.gap_ms * clock_rate / 1000).div_ceil(frame_samples.max(1));
            }
        }
        Some(packet)
    }
}

/// A digit received, reported once when its end is seen (or when the next event starts and
/// its end packets were all lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The digit.
    pub digit: char,
    /// How long it sounded, in milliseconds.
    pub duration_ms: u32,
}

/// Turns telephone-event packets into one [`ReceivedDigit`] per key press.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// The event in progress: its timestamp, code and the longest duration seen.
    current: Option<(u32, u8, u16)>,
    /// The timestamp of the last event reported, so its retransmitted end packets are not.
    reported: Option<u32>,
}

impl DtmfReceiver {
    /// A receiver with no event in progress.
    pub fn new() -> DtmfReceiver {
        DtmfReceiver::default()
    }

    /// Takes one telephone-event packet (its RTP timestamp and payload); returns the digit
    /// it completes, if any. Malformed payloads and non-DTMF events return nothing.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8], clock_rate: u32) -> Option<ReceivedDigit> {
        let p = EventPayload::parse(payload)?;
        if self.reported == Some(timestamp) {
            return None;
        }
        let mut finished = None;
        match self.current {
            Some((ts, event, duration)) if ts != timestamp => {
                // A new event began: the previous one ended unseen (all its end packets lost).
                finished = Self::digit(event, duration, clock_rate);
                self.reported = Some(ts);
                self.current = Some((timestamp, p.event, p.duration));
            }
            Some((_, _, ref mut duration)) => *duration = (*duration).max(p.duration),
            None => self.current = Some((timestamp, p.event, p.duration)),
        }
        // An end packet completes the current event, unless it also finished an older one
        // just now: then the older is reported and the newer stays current, to be reported
        // by its next end packet (each end goes out three times, RFC 4733 §2.5.1.4).
        if p.end && finished.is_none() {
            if let Some((ts, event, duration)) = self.current.take() {
                self.reported = Some(ts);
                return Self::digit(event, duration, clock_rate);
            }
        }
        finished
    }

    fn digit(event: u8, duration: u16, clock_rate: u32) -> Option<ReceivedDigit> {
        let digit = digit_of(event)?;
        Some(ReceivedDigit { digit, duration_ms: u32::from(duration) * 1000 / clock_rate.max(1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_codes() {
        assert_eq!(event_of('5'), Some(5));
        assert_eq!(event_of('*'), Some(10));
        assert_eq!(event_of('#'), Some(11));
        assert_eq!(event_of('d'), Some(15));
        assert_eq!(event_of('x'), None);
        assert_eq!(digit_of(11), Some('#'));
        assert_eq!(digit_of(16), None);
        let p = EventPayload { event: 9, end: true, volume: 10, duration: 800 };
        assert_eq!(p.to_bytes(), [9, 0x8A, 0x03, 0x20]);
        assert_eq!(EventPayload::parse(&p.to_bytes()), Some(p));
        assert_eq!(EventPayload::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn a_digit_is_a_start_continuations_and_three_ends_on_one_timestamp() {
        let mut s = DtmfSender::new(100, 60);
        s.queue("1#").unwrap();
        let mut packets = Vec::new();
        let mut ts = 1000u32;
        for _ in 0..30 {
            packets.push(s.on_frame(ts, 160, 8000));
            ts = ts.wrapping_add(160);
        }
        let first: Vec<_> = packets.iter().take_while(|p| p.is_some()).flatten().collect();
        // 100 ms = 5 frames: 4 growing, then the end three times.
        assert_eq!(first.len(), 7, "{first:?}");
        assert!(first[0].marker && first[1..].iter().all(|p| !p.marker));
        assert!(first.iter().all(|p| p.timestamp == 1000 && p.payload.event == 1));
        let durations: Vec<u16> = first.iter().map(|p| p.payload.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert_eq!(first.iter().filter(|p| p.payload.end).count(), 3);
        // 60 ms of audio between digits, then '#' on the timestamp of its first frame.
        assert_eq!(packets[7..10], [None, None, None]);
        let second = packets[10].unwrap();
        assert_eq!((second.marker, second.payload.event, second.timestamp), (true, 11, 1000 + 10 * 160));
        assert_eq!(packets[10..].iter().flatten().count(), 7);
        assert!(!s.is_busy());
    }

    #[test]
    fn bad_digits_queue_nothing() {
        let mut s = DtmfSender::default();
        assert_eq!(s.queue("12x"), Err(DtmfError::NotADigit('x')));
        assert!(!s.is_busy());
        assert_eq!(s.queue(&"1".repeat(MAX_QUEUED + 1)), Err(DtmfError::QueueFull));
    }

    #[test]
    fn the_receiver_reports_each_digit_once_with_its_duration() {
        let mut s = DtmfSender::new(120, 40);
        s.queue("42").unwrap();
        let mut r = DtmfReceiver::new();
        let mut got = Vec::new();
        let mut ts = 7u32;
        for _ in 0..40 {
            if let Some(p) = s.on_frame(ts, 160, 8000) {
                // Every packet arrives twice: duplicates must not double the digits.
                for _ in 0..2 {
                    got.extend(r.on_packet(p.timestamp, &p.payload.to_bytes(), 8000));
                }
            }
            ts = ts.wrapping_add(160);
        }
        assert_eq!(
            got,
            [ReceivedDigit { digit: '4', duration_ms: 120 }, ReceivedDigit { digit: '2', duration_ms: 120 }]
        );
    }

    #[test]
    fn an_event_whose_ends_were_lost_is_reported_when_the_next_starts() {
        let mut r = DtmfReceiver::new();
        let cont = |e, d| EventPayload { event: e, end: false, volume: 10, duration: d }.to_bytes();
        assert_eq!(r.on_packet(100, &cont(7, 160), 8000), None);
        assert_eq!(r.on_packet(100, &cont(7, 480), 8000), None);
        assert_eq!(r.on_packet(900, &cont(3, 160), 8000), Some(ReceivedDigit { digit: '7', duration_ms: 60 }));
        let end = EventPayload { event: 3, end: true, volume: 10, duration: 640 }.to_bytes();
        assert_eq!(r.on_packet(900, &end, 8000), Some(ReceivedDigit { digit: '3', duration_ms: 80 }));
        assert_eq!(r.on_packet(900, &end, 8000), None);
        assert_eq!(r.on_packet(901, &[1, 2], 8000), None);
        // A digit whose only surviving packets are its ends, right after another's unseen
        // end: both are reported, in order.
        let mut r = DtmfReceiver::new();
        assert_eq!(r.on_packet(100, &cont(1, 320), 8000), None);
        let end5 = EventPayload { event: 5, end: true, volume: 10, duration: 800 }.to_bytes();
        assert_eq!(r.on_packet(900, &end5, 8000), Some(ReceivedDigit { digit: '1', duration_ms: 40 }));
        assert_eq!(r.on_packet(900, &end5, 8000), Some(ReceivedDigit { digit: '5', duration_ms: 100 }));
        assert_eq!(r.on_packet(900, &end5, 8000), None);
    }
}
