//! [`Stream`]: one call's audio stream as a sans-IO state machine.
//!
//! Owns every decision about a stream's packets: what each 20 ms frame sends (audio from the
//! source, silence while muted, or a DTMF event), which received datagrams belong to the call
//! (the negotiated payload types, the signalled address or one latched after several
//! consistent packets, never a stranger's), how received audio is ordered, timed and played
//! (jitter buffer, decoder, loss concealment, sinks), RTCP reports sent at the RFC 3550
//! interval and read for round-trip time, the statistics and the MOS estimate, and the
//! events the application sees (digits received, RTP silence).
//!
//! It follows the run-loop contract of ARCHITECTURE.md in the shape a paced stream needs:
//! inputs go in with `now` ([`Stream::handle_rtp`], [`Stream::handle_rtcp`], commands), the
//! driver calls [`Stream::poll_frame`] once per frame period and [`Stream::poll_rtcp`] until
//! it yields nothing, sends what they wrote, and drains [`Stream::poll_event`]. No socket,
//! no tokio, no clock: the driver (`session.rs`) owns those.

use crate::audio::{AudioError, AudioSink, AudioSource, Player};
use crate::codec::Codec;
use crate::coder::Coder;
use crate::conceal::Concealer;
use crate::dtmf::{DtmfError, DtmfReceiver, DtmfSender};
use crate::jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, Pushed};
use crate::negotiate::Negotiated;
use crate::rtcp::{self, ReportBlock, RtcpPacket, SenderInfo};
use crate::rtp::RtpPacket;
use crate::srtp::{SrtpKeys, SrtpSession};
use crate::stats::ReceiverStats;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The frame period: one packet every 20 ms (RFC 3551 §4.5: the default for G.711).
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// How much played audio [`Stream::recent_audio`] keeps at 8 kHz: one second (at other
/// rates, one second of samples too).
pub const RECENT_AUDIO_SAMPLES: usize = 8000;
/// Consecutive packets from a new address, with one SSRC and a negotiated payload type,
/// before the stream sends there instead (symmetric RTP behind a NAT); fewer are dropped.
pub const LATCH_AFTER: u32 = 5;
/// The most events waiting for the driver; older ones are dropped beyond it.
const MAX_EVENTS: usize = 64;

/// What a [`Stream`] tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A DTMF digit arrived (RFC 4733), once per key press.
    Dtmf {
        /// The digit: 0-9, *, #, A-D.
        digit: char,
        /// How long it was pressed.
        duration_ms: u32,
    },
    /// No RTP arrived for the configured time while the peer should be sending.
    RtpTimeout {
        /// How long it has been silent.
        silent_for: Duration,
    },
    /// RTP arrives again after a timeout.
    RtpResumed,
    /// The peer sends from an address other than the one it signalled, and the stream
    /// now sends there too.
    Latched {
        /// The new address.
        remote: SocketAddr,
    },
}

/// Counters of one stream, as [`Stream::stats`] reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtpStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// Payload octets sent (RFC 3550 §6.4.1: headers and padding not counted).
    pub octets_sent: u64,
    /// RTP packets accepted: the negotiated codec or telephone-event.
    pub packets_received: u64,
    /// Payload octets of the accepted packets.
    pub octets_received: u64,
    /// Packets lost, cumulative over the remote sources (RFC 3550 A.3; duplicates can make
    /// it negative).
    pub packets_lost: i64,
    /// Packets expected from the remote sources (A.3), to put the loss in proportion.
    pub packets_expected: u64,
    /// Interarrival jitter of the current remote source (RFC 3550 A.8), in milliseconds.
    pub jitter_ms: f64,
    /// The round-trip time from the last RTCP report of the peer about us (§6.4.1).
    pub rtt_ms: Option<f64>,
    /// The MOS estimate (ITU-T G.107 E-model) from loss, delay and the codec; `None` until
    /// audio has arrived.
    pub mos: Option<f64>,
    /// The loss the peer reports about what we send, cumulative (from its RTCP).
    pub remote_packets_lost: Option<i64>,
    /// The SSRC of the current remote source.
    pub remote_ssrc: Option<u32>,
    /// Our SSRC.
    pub local_ssrc: u32,
    /// When the last packet was accepted.
    pub last_received: Option<Instant>,
    /// The codec negotiated for the stream.
    pub codec: Option<Codec>,
    /// Well-formed RTP packets dropped because their payload type was not negotiated (or
    /// nothing was negotiated yet).
    pub packets_ignored: u64,
    /// Packets dropped because they came from an address that is neither the signalled one
    /// nor latched (yet), or from a foreign SSRC there.
    pub packets_foreign: u64,
    /// Datagrams on the RTP port that were not RTP.
    pub packets_invalid: u64,
    /// What the jitter buffer did.
    pub jitter_buffer: JitterStats,
    /// RTCP compounds received and understood.
    pub rtcp_received: u64,
    /// RTCP datagrams that were not valid compounds.
    pub rtcp_invalid: u64,
    /// RTCP compounds sent.
    pub rtcp_sent: u64,
    /// DTMF digits sent.
    pub dtmf_sent: u64,
    /// DTMF digits received.
    pub dtmf_received: u64,
    /// Is the stream protected by SRTP?
    pub srtp: bool,
    /// RTP packets dropped because SRTP unprotection failed: a bad authentication tag, a
    /// replay, or plain RTP where SRTP was agreed.
    pub srtp_failed: u64,
    /// RTCP datagrams dropped because SRTCP unprotection failed (some peers send plain RTCP
    /// keep-alives even on SRTP calls).
    pub srtcp_failed: u64,
}

impl RtpStats {
    /// The loss as a percentage of the packets expected (0 when nothing was expected).
    pub fn loss_percent(&self) -> f64 {
        if self.packets_expected == 0 {
            0.0
        } else {
            (self.packets_lost.max(0) as f64 * 100.0 / self.packets_expected as f64).min(100.0)
        }
    }
}

/// How a [`Stream`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// What it sends.
    pub source: AudioSource,
    /// The jitter buffer's bounds.
    pub jitter: JitterConfig,
    /// How long the peer may send nothing (while it should) before [`MediaEvent::RtpTimeout`];
    /// `None` never.
    pub rtp_timeout: Option<Duration>,
    /// The RTCP canonical name (§6.5.1), e.g. `user@host`.
    pub cname: String,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            source: AudioSource::Silence,
            jitter: JitterConfig::default(),
            rtp_timeout: Some(Duration::from_secs(30)),
            cname: "sipline".to_owned(),
        }
    }
}

/// The current remote source and what is known of it.
struct Source {
    ssrc: u32,
    stats: ReceiverStats,
    /// The middle of the NTP time of its last SR, and when that SR arrived.
    last_sr: Option<(u32, Instant)>,
}

/// What the receive side plays: created when a codec it can decode is negotiated.
struct Receiver {
    coder: Coder,
    jitter: JitterBuffer,
    /// The RTP clock rate (G.722's is half its sample rate).
    clock: u32,
    conceal: Concealer,
    /// Decoded audio not yet played (a packet longer than a frame leaves some over).
    pending: VecDeque<i16>,
}

/// What the send side sends: created when a codec it can encode is negotiated.
struct Sender {
    coder: Coder,
    player: Player,
}

/// One call's audio stream, sans-IO. See the module docs.
pub struct Stream {
    config: StreamConfig,
    negotiated: Option<Negotiated>,
    sender: Option<Sender>,
    receiver: Option<Receiver>,
    /// Where we send: the signalled address, or one latched.
    remote: Option<SocketAddr>,
    /// A new address being watched: its packets in a row and their SSRC.
    candidate: Option<(SocketAddr, u32, u32)>,
    muted_send: bool,
    muted_receive: bool,
    dtmf: DtmfSender,
    dtmf_in: DtmfReceiver,
    ssrc: u32,
    sequence: u16,
    timestamp_base: u32,
    /// Frames since the epoch that the last timestamp was derived from.
    frames: u32,
    marker_pending: bool,
    epoch: Instant,
    /// The NTP time of `epoch` (32.32 fixed point).
    ntp_epoch: u64,
    source: Option<Source>,
    lost_before: i64,
    expected_before: u64,
    /// When sending RTCP is next due, once started.
    next_rtcp: Option<Instant>,
    sent_since_report: bool,
    rtcp_random: u32,
    /// Since when nothing arrived, and whether a timeout was reported for it.
    silent_since: Option<Instant>,
    timed_out: bool,
    /// SRTP, when the exchange agreed on it: the keys (to notice a change) and the contexts.
    srtp: Option<(SrtpKeys, SrtpSession)>,
    /// An unprotected packet (reused).
    plain: Vec<u8>,
    sinks: Vec<Box<dyn AudioSink>>,
    recent: VecDeque<i16>,
    events: VecDeque<MediaEvent>,
    stats: RtpStats,
    frame: Vec<i16>,
    decoded: Vec<i16>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("ssrc", &self.ssrc).field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl Stream {
    /// A stream that sends nothing until [`Stream::start`]. `random` gives the SSRC, the
    /// first sequence number and timestamp (RFC 3550 §5.1: random, so that known-plaintext
    /// attacks on encryption are harder and collisions rare) and the RTCP timer's jitter;
    /// `ntp_now` is the wallclock at `now` in NTP format.
    pub fn new(config: StreamConfig, now: Instant, ntp_now: u64, random: [u32; 4]) -> Stream {
        Stream {
            config,
            negotiated: None,
            sender: None,
            receiver: None,
            remote: None,
            candidate: None,
            muted_send: false,
            muted_receive: false,
            dtmf: DtmfSender::default(),
            dtmf_in: DtmfReceiver::new(),
            ssrc: random[0],
            sequence: random[1] as u16,
            timestamp_base: random[2],
            frames: 0,
            marker_pending: true,
            epoch: now,
            ntp_epoch: ntp_now,
            source: None,
            lost_before: 0,
            expected_before: 0,
            next_rtcp: None,
            sent_since_report: false,
            rtcp_random: random[3],
            silent_since: None,
            timed_out: false,
            srtp: None,
            plain: Vec::new(),
            sinks: Vec::new(),
            // Grown when audio is first played: a call that hears nothing costs nothing here.
            recent: VecDeque::new(),
            events: VecDeque::new(),
            stats: RtpStats::default(),
            frame: Vec::new(),
            decoded: Vec::new(),
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Where RTP goes now, if anywhere.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// Applies the outcome of an offer/answer exchange (again after a re-INVITE: same SSRC,
    /// sequence and timestamp line; the marker bit on the first packet after sending starts
    /// or moves, RFC 3551 §4.1).
    pub fn start(&mut self, negotiated: &Negotiated, now: Instant) {
        let was = self.negotiated.as_ref().filter(|n| n.should_send()).and_then(|n| n.remote_rtp);
        if negotiated.should_send() && was != negotiated.remote_rtp {
            self.marker_pending = true;
        }
        let codec_changed = self.negotiated.as_ref().map(|n| n.codec) != Some(negotiated.codec);
        if codec_changed || self.sender.is_none() {
            self.sender = Coder::for_codec(&negotiated.codec)
                .map(|coder| Sender { player: Player::new(&self.config.source, coder.rate()), coder });
            self.receiver = Coder::for_codec(&negotiated.codec).map(|coder| {
                let rate = coder.rate();
                // The jitter buffer counts in RTP timestamp units, the rest in samples.
                let clock = negotiated.codec.clock_rate;
                Receiver {
                    coder,
                    jitter: JitterBuffer::new(self.config.jitter, clock, clock / 50),
                    clock,
                    conceal: Concealer::new(rate),
                    pending: VecDeque::new(),
                }
            });
            if self.sender.is_none() {
                tracing::warn!(codec = %negotiated.codec, "negotiated codec is not compiled in; sending nothing");
            }
        }
        // A new signalled address replaces one latched for the old.
        if was != negotiated.remote_rtp || self.remote.is_none() {
            self.remote = negotiated.remote_rtp;
            self.candidate = None;
        }
        self.stats.codec = Some(negotiated.codec);
        // New keys (a re-INVITE may rekey) get new contexts; the same keys keep theirs, so
        // the roll-over counters and replay windows carry on.
        if self.srtp.as_ref().map(|(k, _)| k) != negotiated.srtp.as_ref() {
            self.srtp = negotiated.srtp.as_ref().and_then(|keys| match SrtpSession::new(keys) {
                Ok(session) => Some((keys.clone(), session)),
                Err(e) => {
                    tracing::warn!(error = %e, "SRTP keys unusable; the stream will drop everything");
                    None
                }
            });
        }
        self.stats.srtp = negotiated.srtp.is_some();
        if negotiated.remote_direction.sends() && negotiated.direction.receives() {
            self.silent_since.get_or_insert(now);
        } else {
            self.silent_since = None;
            self.timed_out = false;
        }
        if self.next_rtcp.is_none() {
            let initial = rtcp::deterministic_interval(2, 2, 128_000.0, 100.0, true, true);
            self.next_rtcp = Some(now + rtcp::randomized_interval(initial, self.next_random()));
        }
        self.negotiated = Some(negotiated.clone());
    }

    fn next_random(&mut self) -> u32 {
        // xorshift32 seeded from the OS: enough to spread RTCP timers apart.
        let mut x = self.rtcp_random.max(1);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rtcp_random = x;
        x
    }

    /// Mutes or unmutes what we send. Muted, frames keep going out carrying silence rather
    /// than stopping: NAT bindings stay open and the peer's statistics see no gap.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted_send = muted;
    }

    /// Is what we send muted?
    pub fn is_muted(&self) -> bool {
        self.muted_send
    }

    /// Mutes or unmutes what we hear: muted, the sinks get silence (RTP still counts).
    pub fn set_receive_muted(&mut self, muted: bool) {
        self.muted_receive = muted;
    }

    /// Replaces what the stream sends from now on.
    pub fn set_source(&mut self, source: AudioSource) {
        if let Some(s) = self.sender.as_mut() {
            s.player.set(&source);
        }
        self.config.source = source;
    }

    /// Queues PCM at the codec's rate to send (see [`AudioSource::Pushed`]); the rate to
    /// use is [`Stream::send_rate`].
    pub fn push_audio(&mut self, samples: &[i16]) -> Result<(), AudioError> {
        match self.sender.as_mut() {
            Some(s) => s.player.push(samples),
            None => Err(AudioError::Full),
        }
    }

    /// The rate of the audio the stream sends and plays, once a codec is negotiated.
    pub fn send_rate(&self) -> Option<u32> {
        self.sender.as_ref().map(|s| s.coder.rate())
    }

    /// Adds a sink for what the stream plays out.
    pub fn add_sink(&mut self, sink: Box<dyn AudioSink>) {
        self.sinks.push(sink);
    }

    /// Removes every sink (finishing recordings).
    pub fn clear_sinks(&mut self) {
        self.sinks.clear();
    }

    /// Queues DTMF digits to send as RFC 4733 events. Refused when the peer did not
    /// negotiate telephone-event (the caller may fall back to SIP INFO).
    pub fn send_dtmf(&mut self, digits: &str) -> Result<(), DtmfError> {
        self.dtmf.queue(digits)
    }

    /// Did the peer negotiate telephone-event?
    pub fn can_send_dtmf(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| n.telephone_event.is_some())
    }

    /// Are digits still waiting or sounding?
    pub fn dtmf_pending(&self) -> bool {
        self.dtmf.is_busy()
    }

    /// Are events waiting? (A cheap check before taking them.)
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    fn event(&mut self, e: MediaEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The NTP time at `now`.
    fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.epoch);
        let frac = ((u128::from(d.subsec_nanos()) << 32) / 1_000_000_000) as u64;
        self.ntp_epoch.wrapping_add((d.as_secs() << 32) | frac)
    }

    /// The frame of this period: writes the RTP datagram to send into `out` and returns
    /// where it goes (`None`: nothing to send), and plays one frame of received audio out to
    /// the sinks. Call once per [`FRAME_DURATION`].
    pub fn poll_frame(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<SocketAddr> {
        out.clear();
        self.play_out();
        self.check_silence(now);
        // The timestamp follows the wall clock in frames (RFC 3550 §5.1: it advances with
        // sampling time also while nothing is sent), never repeating.
        let elapsed = (now.saturating_duration_since(self.epoch).as_millis() / FRAME_DURATION.as_millis()) as u32;
        self.frames = elapsed.max(self.frames.wrapping_add(1));
        let negotiated = self.negotiated.as_ref().filter(|n| n.should_send())?;
        let remote = self.remote?;
        let payload_type = negotiated.codec.payload_type;
        let telephone_event = negotiated.telephone_event;
        let clock = negotiated.codec.clock_rate;
        let sender = self.sender.as_mut()?;
        let frame_samples = (sender.coder.rate() / 50) as usize;
        let timestamp_step = clock / 50;
        let timestamp = self.timestamp_base.wrapping_add(self.frames.wrapping_mul(timestamp_step));
        let event = match telephone_event {
            Some(pt) => self.dtmf.on_frame(timestamp, timestamp_step, clock).map(|p| (pt, p)),
            None => None,
        };
        if let Some((pt, packet)) = event {
            out.extend_from_slice(&RtpPacket::header(pt, packet.marker, self.sequence, packet.timestamp, self.ssrc));
            out.extend_from_slice(&packet.payload.to_bytes());
            if packet.marker {
                self.stats.dtmf_sent += 1;
            }
            // The audio source keeps its place while the digit sounds.
            self.frame.resize(frame_samples, 0);
            sender.player.fill(&mut self.frame);
        } else {
            out.extend_from_slice(&RtpPacket::header(
                payload_type,
                self.marker_pending,
                self.sequence,
                timestamp,
                self.ssrc,
            ));
            self.frame.resize(frame_samples, 0);
            let sound = sender.player.fill(&mut self.frame);
            if self.muted_send || !sound {
                sender.coder.encode_silence(frame_samples, out);
            } else {
                sender.coder.encode(&self.frame, out);
            }
            self.marker_pending = false;
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.stats.packets_sent += 1;
        self.stats.octets_sent += (out.len() - crate::rtp::FIXED_HEADER_LEN) as u64;
        self.sent_since_report = true;
        if let Some((_, srtp)) = self.srtp.as_mut() {
            if let Err(e) = srtp.protect_rtp(out) {
                tracing::debug!(error = %e, "RTP not protected; not sent");
                return None;
            }
        } else if negotiated_srtp(&self.negotiated) {
            // SRTP was agreed but its keys are unusable: never send in the clear.
            return None;
        }
        Some(remote)
    }

    /// Plays one frame of received audio to the sinks and the recent-audio ring.
    fn play_out(&mut self) {
        let Some(rx) = self.receiver.as_mut() else { return };
        let frame = (rx.coder.rate() / 50) as usize;
        while rx.pending.len() < frame {
            match rx.jitter.pop() {
                Playout::Buffering => break,
                Playout::Packet { payload, .. } => {
                    self.decoded.clear();
                    rx.coder.decode(payload, &mut self.decoded);
                    rx.conceal.good(&mut self.decoded);
                    rx.pending.extend(&self.decoded);
                }
                Playout::Missing { samples } => {
                    let samples = u64::from(samples) * u64::from(rx.coder.rate()) / u64::from(rx.clock.max(1));
                    self.decoded.clear();
                    // The codec's own concealment (Opus: PLC, or FEC from the next packet)
                    // when it has one, else pitch repetition.
                    let next = rx.jitter.peek_next();
                    if !rx.coder.conceal(samples as usize, next, &mut self.decoded) {
                        self.decoded.resize(samples as usize, 0);
                        rx.conceal.conceal(&mut self.decoded);
                    }
                    rx.pending.extend(&self.decoded);
                }
            }
        }
        if rx.pending.is_empty() && self.source.is_none() {
            // Nothing ever heard: no frames to play yet.
            return;
        }
        self.frame.clear();
        let take = rx.pending.len().min(frame);
        self.frame.extend(rx.pending.drain(..take));
        self.frame.resize(frame, 0);
        if self.muted_receive {
            self.frame.fill(0);
        }
        let rate = rx.coder.rate();
        self.sinks.retain_mut(|sink| sink.write(&self.frame, rate));
        self.recent.extend(&self.frame);
        let excess = self.recent.len().saturating_sub(rate as usize);
        self.recent.drain(..excess);
    }

    fn check_silence(&mut self, now: Instant) {
        let (Some(since), Some(limit)) = (self.silent_since, self.config.rtp_timeout) else { return };
        let silent_for = now.saturating_duration_since(since);
        if !self.timed_out && silent_for >= limit {
            self.timed_out = true;
            self.event(MediaEvent::RtpTimeout { silent_for });
        }
    }

    /// Judges a datagram that arrived on the RTP port from `from`. With SRTP agreed, only
    /// packets that authenticate with the peer's key get further.
    pub fn handle_rtp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if let Some((_, srtp)) = self.srtp.as_mut() {
            let mut plain = std::mem::take(&mut self.plain);
            match srtp.unprotect_rtp(datagram, &mut plain) {
                Ok(()) => self.handle_plain_rtp(now, from, &plain),
                Err(_) => self.stats.srtp_failed += 1,
            }
            self.plain = plain;
        } else if negotiated_srtp(&self.negotiated) {
            self.stats.srtp_failed += 1;
        } else {
            self.handle_plain_rtp(now, from, datagram);
        }
    }

    fn handle_plain_rtp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let Ok(packet) = RtpPacket::parse(datagram) else {
            self.stats.packets_invalid += 1;
            return;
        };
        let Some(negotiated) = &self.negotiated else {
            self.stats.packets_ignored += 1;
            return;
        };
        let audio = packet.payload_type == negotiated.codec.payload_type;
        let event = Some(packet.payload_type) == negotiated.telephone_event;
        if !audio && !event {
            self.stats.packets_ignored += 1;
            return;
        }
        let clock = negotiated.codec.clock_rate;
        if !self.accept_from(from, packet.ssrc, negotiated.remote_rtp) {
            self.stats.packets_foreign += 1;
            return;
        }
        // A new SSRC is a new source (RFC 3550 A.1): fresh statistics and jitter buffer,
        // keeping the losses counted so far.
        if self.source.as_ref().map(|s| s.ssrc) != Some(packet.ssrc) {
            if let Some(old) = &self.source {
                self.lost_before += old.stats.lost();
                self.expected_before += u64::from(old.stats.expected());
            }
            self.source = Some(Source { ssrc: packet.ssrc, stats: ReceiverStats::new(packet.sequence), last_sr: None });
            if let Some(rx) = self.receiver.as_mut() {
                rx.jitter.reset();
            }
        }
        let arrival = now.saturating_duration_since(self.epoch).as_micros() * u128::from(clock) / 1_000_000;
        let mut jitter = 0.0;
        if let Some(source) = self.source.as_mut() {
            source.stats.on_packet(packet.sequence, packet.timestamp, arrival as u32);
            jitter = source.stats.jitter();
        }
        self.stats.packets_received += 1;
        self.stats.octets_received += packet.payload.len() as u64;
        self.stats.last_received = Some(now);
        if self.silent_since.is_some() {
            self.silent_since = Some(now);
            if std::mem::take(&mut self.timed_out) {
                self.event(MediaEvent::RtpResumed);
            }
        }
        if event {
            if let Some(d) = self.dtmf_in.on_packet(packet.timestamp, &packet.payload, clock) {
                self.stats.dtmf_received += 1;
                self.event(MediaEvent::Dtmf { digit: d.digit, duration_ms: d.duration_ms });
            }
            return;
        }
        if let Some(rx) = self.receiver.as_mut() {
            rx.jitter.set_jitter(jitter);
            let samples = rx.coder.samples_in(&packet.payload);
            if rx.jitter.push(packet.timestamp, samples, &packet.payload) == Pushed::Reset {
                rx.pending.clear();
            }
        }
    }

    /// Symmetric RTP that cannot be hijacked: packets from the signalled address, or from
    /// the latched one, are the call's; a new address becomes the call's only after
    /// [`LATCH_AFTER`] consecutive packets with one SSRC (the payload type was checked).
    fn accept_from(&mut self, from: SocketAddr, ssrc: u32, signalled: Option<SocketAddr>) -> bool {
        if Some(from) == signalled || Some(from) == self.remote {
            self.candidate = None;
            return true;
        }
        let count = match self.candidate {
            Some((addr, s, n)) if addr == from && s == ssrc => n + 1,
            _ => 1,
        };
        if count >= LATCH_AFTER {
            self.candidate = None;
            self.remote = Some(from);
            tracing::debug!(%from, "RTP latched to a new source address");
            self.event(MediaEvent::Latched { remote: from });
            return true;
        }
        self.candidate = Some((from, ssrc, count));
        false
    }

    /// Reads an RTCP datagram (on the RTCP port, or the RTP port when multiplexed); with
    /// SRTP agreed, only SRTCP that authenticates.
    pub fn handle_rtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if let Some((_, srtp)) = self.srtp.as_mut() {
            let mut plain = std::mem::take(&mut self.plain);
            match srtp.unprotect_rtcp(datagram, &mut plain) {
                Ok(()) => self.handle_plain_rtcp(now, from, &plain),
                Err(_) => self.stats.srtcp_failed += 1,
            }
            self.plain = plain;
        } else if negotiated_srtp(&self.negotiated) {
            self.stats.srtcp_failed += 1;
        } else {
            self.handle_plain_rtcp(now, from, datagram);
        }
    }

    fn handle_plain_rtcp(&mut self, now: Instant, _from: SocketAddr, datagram: &[u8]) {
        let Ok(packets) = rtcp::parse_compound(datagram) else {
            self.stats.rtcp_invalid += 1;
            return;
        };
        self.stats.rtcp_received += 1;
        let arrival = self.ntp(now);
        for packet in packets {
            let (sender, info, reports) = match packet {
                RtcpPacket::SenderReport { ssrc, info, reports } => (ssrc, Some(info), reports),
                RtcpPacket::ReceiverReport { ssrc, reports } => (ssrc, None, reports),
                _ => continue,
            };
            if let (Some(info), Some(source)) = (info, self.source.as_mut()) {
                if source.ssrc == sender {
                    source.last_sr = Some((rtcp::ntp_middle(info.ntp), now));
                }
            }
            for block in reports.iter().filter(|b| b.ssrc == self.ssrc) {
                if let Some(rtt) = rtcp::round_trip(block, arrival) {
                    self.stats.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
                }
                self.stats.remote_packets_lost = Some(i64::from(block.cumulative_lost));
            }
        }
    }

    /// Does RTCP share the RTP port (RFC 5761, both sides said `a=rtcp-mux`)? The driver
    /// then sends what [`Self::poll_rtcp`] writes from the RTP socket.
    pub fn rtcp_muxed(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| n.rtcp_mux)
    }

    /// Where RTCP goes for a peer whose RTP goes to `remote`: the same address when
    /// multiplexed, else the next port.
    fn rtcp_destination(&self, remote: SocketAddr) -> SocketAddr {
        if self.rtcp_muxed() {
            remote
        } else {
            rtcp_address(remote)
        }
    }

    /// When the next RTCP report is due, once the stream has started.
    pub fn rtcp_deadline(&self) -> Option<Instant> {
        self.next_rtcp
    }

    /// Writes the RTCP compound due at `now` into `out` and returns where it goes; `None`
    /// when none is due (or there is nowhere to send it).
    pub fn poll_rtcp(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<SocketAddr> {
        out.clear();
        if self.next_rtcp.is_none_or(|at| now < at) {
            return None;
        }
        let interval = rtcp::deterministic_interval(2, 2, 128_000.0, 100.0, self.sent_since_report, false);
        self.next_rtcp = Some(now + rtcp::randomized_interval(interval, self.next_random()));
        let remote = self.remote?;
        let ntp = self.ntp(now);
        self.write_report(now, ntp, false, out);
        self.protect_rtcp(out)?;
        self.stats.rtcp_sent += 1;
        Some(self.rtcp_destination(remote))
    }

    /// Protects a compound when SRTP is on; `None` when it must not be sent.
    fn protect_rtcp(&mut self, out: &mut Vec<u8>) -> Option<()> {
        match self.srtp.as_mut() {
            Some((_, srtp)) => srtp.protect_rtcp(out).ok(),
            None if negotiated_srtp(&self.negotiated) => None,
            None => Some(()),
        }
    }

    /// The final report with a BYE (§6.6), written into `out`, and where it goes.
    pub fn goodbye(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<SocketAddr> {
        out.clear();
        let remote = self.remote?;
        self.negotiated.as_ref()?;
        let ntp = self.ntp(now);
        self.write_report(now, ntp, true, out);
        self.protect_rtcp(out)?;
        self.stats.rtcp_sent += 1;
        Some(self.rtcp_destination(remote))
    }

    fn write_report(&mut self, now: Instant, ntp: u64, bye: bool, out: &mut Vec<u8>) {
        let clock = self.negotiated.as_ref().map_or(8000, |n| n.codec.clock_rate);
        let sender = self.sent_since_report.then(|| {
            let d = now.saturating_duration_since(self.epoch);
            let rtp = self.timestamp_base.wrapping_add((d.as_micros() * u128::from(clock) / 1_000_000) as u32);
            SenderInfo {
                ntp,
                rtp_timestamp: rtp,
                packets: self.stats.packets_sent as u32,
                octets: self.stats.octets_sent as u32,
            }
        });
        self.sent_since_report = false;
        let mut blocks = [ReportBlock::default(); 1];
        let count = match self.source.as_mut() {
            Some(source) if !source.stats.on_probation() => {
                let (lsr, dlsr) = match source.last_sr {
                    Some((lsr, at)) => {
                        let held = now.saturating_duration_since(at);
                        (lsr, (held.as_micros() * 65_536 / 1_000_000) as u32)
                    }
                    None => (0, 0),
                };
                blocks[0] = ReportBlock {
                    ssrc: source.ssrc,
                    fraction_lost: source.stats.fraction_lost(),
                    cumulative_lost: source.stats.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
                    highest_seq: source.stats.extended_max(),
                    jitter: source.stats.jitter() as u32,
                    lsr,
                    dlsr,
                };
                1
            }
            _ => 0,
        };
        rtcp::write_report(out, self.ssrc, sender.as_ref(), &blocks[..count], &self.config.cname, bye);
    }

    /// The stream's counters now.
    pub fn stats(&self) -> RtpStats {
        let mut stats = self.stats.clone();
        stats.local_ssrc = self.ssrc;
        stats.packets_lost = self.lost_before;
        stats.packets_expected = self.expected_before;
        if let Some(source) = &self.source {
            stats.remote_ssrc = Some(source.ssrc);
            stats.packets_lost += source.stats.lost();
            stats.packets_expected += u64::from(source.stats.expected());
            let clock = self.negotiated.as_ref().map_or(8000, |n| n.codec.clock_rate.max(1));
            stats.jitter_ms = source.stats.jitter() * 1000.0 / f64::from(clock);
        }
        if let Some(rx) = &self.receiver {
            stats.jitter_buffer = rx.jitter.stats();
        }
        if let (Some(codec), true) = (stats.codec, stats.packets_received > 0) {
            // Mouth to ear: half the round trip (or a LAN's few ms when unknown), the jitter
            // buffer, and one frame of packetization.
            let network = stats.rtt_ms.map_or(5.0, |rtt| rtt / 2.0);
            let delay =
                network + f64::from(stats.jitter_buffer.delay_ms.max(stats.jitter_buffer.target_delay_ms)) + 20.0;
            stats.mos = Some(crate::quality::estimate_mos(codec.name, stats.loss_percent(), delay));
        }
        stats
    }

    /// The last second of played-out audio at the codec's rate, oldest first.
    pub fn recent_audio(&self) -> Vec<i16> {
        self.recent.iter().copied().collect()
    }
}

/// Did the last exchange agree on SRTP?
fn negotiated_srtp(negotiated: &Option<Negotiated>) -> bool {
    negotiated.as_ref().is_some_and(|n| n.srtp.is_some())
}

/// The RTCP address that goes with an RTP address: the next port (RFC 3550 §11).
fn rtcp_address(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direction::Direction;
    use crate::tone::dominant_tone;

    fn negotiated(remote: &str) -> Negotiated {
        Negotiated {
            remote_rtp: Some(remote.parse().unwrap()),
            codec: Codec::PCMU,
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            remote_direction: Direction::SendRecv,
            remote_ptime_ms: None,
            rtcp_mux: false,
            srtp: None,
        }
    }

    fn pair(a_tone: f32, b_tone: f32) -> (Stream, Stream, Instant) {
        let now = Instant::now();
        let cfg = |hz| StreamConfig { source: AudioSource::Tone(hz), ..StreamConfig::default() };
        let mut a = Stream::new(cfg(a_tone), now, 1 << 40, [1, 2, 3, 4]);
        let mut b = Stream::new(cfg(b_tone), now, 1 << 40, [5, 6, 7, 8]);
        a.start(&negotiated("127.0.0.1:20000"), now);
        b.start(&negotiated("127.0.0.1:10000"), now);
        (a, b, now)
    }

    const A: &str = "127.0.0.1:10000";
    const B: &str = "127.0.0.1:20000";

    /// Runs `frames` periods, delivering what each sends to the other unless `drop` says.
    fn run(a: &mut Stream, b: &mut Stream, start: Instant, frames: u32, drop: impl Fn(u32) -> bool) -> Instant {
        let mut out = Vec::new();
        let mut now = start;
        for i in 0..frames {
            now = start + FRAME_DURATION * i;
            if let Some(to) = a.poll_frame(now, &mut out) {
                assert_eq!(to, B.parse().unwrap());
                if !drop(i) {
                    b.handle_rtp(now, A.parse().unwrap(), &out);
                }
            }
            if let Some(to) = b.poll_frame(now, &mut out) {
                assert_eq!(to, A.parse().unwrap());
                a.handle_rtp(now, B.parse().unwrap(), &out);
            }
            while let Some(_to) = a.poll_rtcp(now, &mut out) {
                b.handle_rtcp(now + Duration::from_millis(10), A.parse().unwrap(), &out);
            }
            while let Some(_to) = b.poll_rtcp(now, &mut out) {
                a.handle_rtcp(now + Duration::from_millis(10), B.parse().unwrap(), &out);
            }
        }
        now
    }

    #[test]
    fn each_side_hears_the_others_tone() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        run(&mut a, &mut b, now, 100, |_| false);
        let tones = [440.0, 1000.0];
        assert_eq!(dominant_tone(&a.recent_audio()[4000..], &tones, 8000, 0.6), Some(1000.0));
        assert_eq!(dominant_tone(&b.recent_audio()[4000..], &tones, 8000, 0.6), Some(440.0));
        let s = b.stats();
        assert_eq!((s.packets_sent, s.packets_received, s.packets_lost), (100, 100, 0));
        assert!(s.mos.unwrap() > 4.2, "{s:?}");
        assert_eq!(s.jitter_buffer.concealed, 0);
    }

    #[test]
    fn rtcp_reports_give_both_sides_a_round_trip_time() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        // 20 s: several report intervals.
        run(&mut a, &mut b, now, 1000, |_| false);
        let (sa, sb) = (a.stats(), b.stats());
        assert!(sa.rtcp_sent >= 2 && sb.rtcp_received >= 2, "{sa:?}");
        // Each report takes 10 ms to arrive in the simulation: RTT 20 ms.
        let rtt = sa.rtt_ms.expect("rtt measured");
        assert!((rtt - 20.0).abs() < 1.0, "{rtt}");
        assert_eq!(sa.remote_packets_lost, Some(0));
    }

    #[test]
    fn loss_is_counted_concealed_and_lowers_the_mos() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        run(&mut a, &mut b, now, 500, |i| i % 10 == 3);
        let s = b.stats();
        assert_eq!(s.packets_lost, 50);
        assert!((s.loss_percent() - 10.0).abs() < 0.5);
        assert!(s.jitter_buffer.concealed >= 45, "{:?}", s.jitter_buffer);
        assert!(s.mos.unwrap() < a.stats().mos.unwrap());
        // Concealment keeps the tone audible.
        assert_eq!(dominant_tone(&b.recent_audio(), &[440.0, 1000.0], 8000, 0.6), Some(440.0));
    }

    #[test]
    fn dtmf_digits_cross_as_events_once_each() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        a.send_dtmf("1*9").unwrap();
        run(&mut a, &mut b, now, 100, |_| false);
        let mut digits = Vec::new();
        while let Some(e) = b.poll_event() {
            if let MediaEvent::Dtmf { digit, duration_ms } = e {
                assert_eq!(duration_ms, 100);
                digits.push(digit);
            }
        }
        assert_eq!(digits, ['1', '*', '9']);
        assert_eq!((a.stats().dtmf_sent, b.stats().dtmf_received), (3, 3));
    }

    #[test]
    fn a_stranger_cannot_take_the_stream_but_a_nat_rebinding_can() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        let mut out = Vec::new();
        a.poll_frame(now, &mut out);
        let stranger: SocketAddr = "127.0.0.9:4000".parse().unwrap();
        // A few packets from another address, even with the right SSRC, are dropped.
        for _ in 0..LATCH_AFTER - 1 {
            b.handle_rtp(now, stranger, &out);
        }
        assert_eq!(b.stats().packets_foreign, u64::from(LATCH_AFTER - 1));
        assert_eq!(b.remote(), Some(A.parse().unwrap()));
        // One from the signalled address resets the count; then a steady flow latches.
        b.handle_rtp(now, A.parse().unwrap(), &out);
        for _ in 0..LATCH_AFTER {
            b.handle_rtp(now, stranger, &out);
        }
        assert_eq!(b.remote(), Some(stranger));
        assert!(std::iter::from_fn(|| b.poll_event()).any(|e| e == MediaEvent::Latched { remote: stranger }));
        // Garbage and unknown payload types are counted, never played.
        b.handle_rtp(now, A.parse().unwrap(), b"\x80");
        let mut foreign_pt = out.clone();
        foreign_pt[1] = 96;
        b.handle_rtp(now, A.parse().unwrap(), &foreign_pt);
        let s = b.stats();
        assert_eq!((s.packets_invalid, s.packets_ignored), (1, 1));
    }

    #[test]
    fn silence_from_the_peer_times_out_once_and_resumes() {
        let now = Instant::now();
        let cfg = StreamConfig { rtp_timeout: Some(Duration::from_secs(2)), ..StreamConfig::default() };
        let mut s = Stream::new(cfg, now, 0, [1, 2, 3, 4]);
        s.start(&negotiated(B), now);
        let mut out = Vec::new();
        for i in 0..150 {
            s.poll_frame(now + FRAME_DURATION * i, &mut out);
        }
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], MediaEvent::RtpTimeout { silent_for } if silent_for >= Duration::from_secs(2)));
        let mut peer = Stream::new(StreamConfig::default(), now, 0, [9, 9, 9, 9]);
        peer.start(&negotiated(A), now);
        peer.poll_frame(now, &mut out);
        s.handle_rtp(now + Duration::from_secs(3), B.parse().unwrap(), &out);
        assert_eq!(s.poll_event(), Some(MediaEvent::RtpResumed));
    }

    #[test]
    fn srtp_carries_the_tones_and_drops_plain_or_forged_packets() {
        use crate::srtp::{CryptoSuite, SdesCrypto};
        let now = Instant::now();
        let ka = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80).unwrap();
        let kb = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80).unwrap();
        let secure = |remote: &str, ours: &SdesCrypto, theirs: &SdesCrypto| Negotiated {
            srtp: Some(SrtpKeys { ours: ours.clone(), theirs: theirs.clone() }),
            ..negotiated(remote)
        };
        let cfg = |hz| StreamConfig { source: AudioSource::Tone(hz), ..StreamConfig::default() };
        let mut a = Stream::new(cfg(440.0), now, 1 << 40, [1, 2, 3, 4]);
        let mut b = Stream::new(cfg(1000.0), now, 1 << 40, [5, 6, 7, 8]);
        a.start(&secure(B, &ka, &kb), now);
        b.start(&secure(A, &kb, &ka), now);
        let mut out = Vec::new();
        a.poll_frame(now, &mut out);
        assert!(RtpPacket::parse(&out).is_ok_and(|p| p.payload.len() == 170), "160 bytes of audio and a 10-byte tag");
        run(&mut a, &mut b, now, 300, |_| false);
        assert_eq!(dominant_tone(&b.recent_audio(), &[440.0, 1000.0], 8000, 0.6), Some(440.0));
        assert_eq!(dominant_tone(&a.recent_audio(), &[440.0, 1000.0], 8000, 0.6), Some(1000.0));
        let s = b.stats();
        assert!(s.srtp && s.rtcp_received >= 1 && s.rtt_ms.is_some(), "SRTCP reports went both ways: {s:?}");
        assert_eq!(s.srtp_failed, 0);
        // A plain sender (or one with the wrong key) gets nothing in.
        let mut plain = Stream::new(cfg(697.0), now, 1 << 40, [9, 9, 9, 9]);
        plain.start(&negotiated(B), now);
        let received = b.stats().packets_received;
        for i in 0..10 {
            plain.poll_frame(now + FRAME_DURATION * (300 + i), &mut out);
            b.handle_rtp(now, A.parse().unwrap(), &out);
        }
        let s = b.stats();
        assert_eq!((s.packets_received, s.srtp_failed), (received, 10));
    }

    #[test]
    fn g722_carries_wideband_tones_at_16_khz() {
        let now = Instant::now();
        let cfg = |hz| StreamConfig { source: AudioSource::Tone(hz), ..StreamConfig::default() };
        let g722 = |remote: &str| Negotiated { codec: Codec::G722, ..negotiated(remote) };
        let mut a = Stream::new(cfg(5000.0), now, 1 << 40, [1, 2, 3, 4]);
        let mut b = Stream::new(cfg(1000.0), now, 1 << 40, [5, 6, 7, 8]);
        a.start(&g722(B), now);
        b.start(&g722(A), now);
        let mut out = Vec::new();
        a.poll_frame(now, &mut out);
        let first = RtpPacket::parse(&out).unwrap();
        assert_eq!((first.payload_type, first.payload.len()), (9, 160), "20 ms of G.722 is 160 bytes");
        a.poll_frame(now + FRAME_DURATION, &mut out);
        assert_eq!(RtpPacket::parse(&out).unwrap().timestamp.wrapping_sub(first.timestamp), 160, "an 8 kHz clock");
        run(&mut a, &mut b, now, 100, |_| false);
        // 5 kHz cannot cross a narrowband call: it does here, at 16 kHz.
        let heard = b.recent_audio();
        assert_eq!(heard.len(), 16_000);
        assert_eq!(dominant_tone(&heard, &[1000.0, 5000.0], 16_000, 0.8), Some(5000.0));
        assert_eq!(dominant_tone(&a.recent_audio(), &[1000.0, 5000.0], 16_000, 0.8), Some(1000.0));
        // Loss is concealed at 16 kHz too, and DTMF keeps its 8 kHz clock.
        a.send_dtmf("3").unwrap();
        run(&mut a, &mut b, now + FRAME_DURATION * 100, 50, |i| i % 7 == 0);
        assert!(b.stats().jitter_buffer.concealed > 0);
        let digits: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(digits.contains(&MediaEvent::Dtmf { digit: '3', duration_ms: 100 }), "{digits:?}");
    }

    #[cfg(feature = "opus")]
    #[test]
    fn opus_carries_tones_at_48_khz_conceals_loss_and_keeps_dtmf_on_its_clock() {
        let now = Instant::now();
        let cfg = |hz| StreamConfig { source: AudioSource::Tone(hz), ..StreamConfig::default() };
        let opus = |remote: &str| Negotiated { codec: Codec::OPUS, telephone_event: Some(102), ..negotiated(remote) };
        let mut a = Stream::new(cfg(1000.0), now, 1 << 40, [1, 2, 3, 4]);
        let mut b = Stream::new(cfg(440.0), now, 1 << 40, [5, 6, 7, 8]);
        a.start(&opus(B), now);
        b.start(&opus(A), now);
        let mut out = Vec::new();
        a.poll_frame(now, &mut out);
        let first = RtpPacket::parse(&out).unwrap();
        a.poll_frame(now + FRAME_DURATION, &mut out);
        assert_eq!(RtpPacket::parse(&out).unwrap().timestamp.wrapping_sub(first.timestamp), 960, "48 kHz clock");
        a.send_dtmf("8").unwrap();
        run(&mut a, &mut b, now, 150, |i| i % 9 == 4);
        let heard = b.recent_audio();
        assert_eq!(heard.len(), 48_000);
        assert_eq!(dominant_tone(&heard, &[440.0, 1000.0], 48_000, 0.8), Some(1000.0));
        assert!(b.stats().jitter_buffer.concealed > 0, "loss was concealed by Opus");
        let events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(events.contains(&MediaEvent::Dtmf { digit: '8', duration_ms: 100 }), "{events:?}");
    }

    #[test]
    fn muted_sends_silence_and_receive_mute_plays_silence() {
        let (mut a, mut b, now) = pair(440.0, 1000.0);
        a.set_muted(true);
        a.set_receive_muted(true);
        run(&mut a, &mut b, now, 50, |_| false);
        assert!(b.recent_audio().iter().all(|s| *s == 0), "a sends silence");
        assert!(a.recent_audio().iter().all(|s| *s == 0), "a hears nothing though b sends its tone");
        assert_eq!((a.stats().packets_sent, b.stats().packets_received), (50, 50), "muted still sends");
    }
}
