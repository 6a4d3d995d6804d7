//! [`MediaSession`]: the tokio driver of one call's RTP stream.
//!
//! Owns the two UDP sockets of the stream (RTP on an even port, RTCP on the next one,
//! RFC 3550 §11), the task that receives what the peer sends, and the state it shares with
//! the [`Pacer`] that sends a 20 ms G.711 frame every 20 ms: the negotiated parameters, the sender's SSRC,
//! sequence number and timestamp, the receiver statistics, and the last second of decoded
//! audio. It decides nothing about the call: what to send where comes from [`Negotiated`]
//! (offer/answer, [`crate::negotiate`]); the RTP format and the statistics are the sans-IO
//! [`crate::rtp`] and [`crate::stats`]. It must not parse SDP or know about SIP.
//!
//! Locks are `std::sync::Mutex`es held for a few microseconds and never across an
//! `.await`. The sockets live in the shared state and the task polls them through it,
//! never holding them between polls, so [`MediaSession::close`] releases both ports at once,
//! synchronously: the same ports can be bound again as soon as it returns.
//!
//! RTCP is not sent yet; the RTCP port is bound so nobody else takes it, and what arrives on
//! it is read and counted. Packets are accepted from any source address (the peer may be
//! behind a NAT and send from another port than it announced).

use crate::codec::Codec;
use crate::direction::Direction;
use crate::g711;
use crate::negotiate::{LocalMedia, Negotiated};
use crate::pacer::Pacer;
use crate::rtp::RtpPacket;
use crate::stats::ReceiverStats;
use crate::tone::ToneGenerator;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The packetization interval: one frame every 20 ms (RFC 3551 §4.5: the default for G.711).
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Samples per frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// How much decoded received audio [`MediaSession::recent_audio`] keeps: one second at 8 kHz.
pub const RECENT_AUDIO_SAMPLES: usize = 8000;
/// The peak amplitude of the tone sent when [`MediaConfig::tone_hz`] is set (about -12 dBFS).
pub const TONE_AMPLITUDE: i16 = 8000;
/// The largest datagram read; longer ones are cut (no RTP packet of ours is near this).
const RECEIVE_BUFFER: usize = 2048;

/// How a [`MediaSession`] binds and what it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaConfig {
    /// The local IP to bind, and to announce in SDP: it must be an address the peer can
    /// reach, not the unspecified address.
    pub ip: IpAddr,
    /// The lowest port of the range (inclusive). RTP takes even ports, RTCP the odd port
    /// after.
    pub port_min: u16,
    /// The highest port of the range (inclusive).
    pub port_max: u16,
    /// The codecs we accept, in preference order (see [`LocalMedia::codecs`]).
    pub codecs: Vec<Codec>,
    /// What we send: `Some(hz)` a sine tone of that frequency, `None` silence. Packets are
    /// sent either way.
    pub tone_hz: Option<f32>,
    /// Sees every RTP datagram sent and received (a capture file); none by default.
    pub tap: Option<crate::MediaTap>,
}

impl MediaConfig {
    /// PCMU, PCMA and telephone-event on ports 16384–32767 of `ip`, sending silence.
    pub fn new(ip: IpAddr) -> MediaConfig {
        MediaConfig { ip, port_min: 16384, port_max: 32767, codecs: Codec::defaults(), tone_hz: None, tap: None }
    }
}

/// Why a [`MediaSession`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaError {
    /// Every even/odd port pair of the range is taken.
    NoFreePort {
        /// The range's lowest port.
        port_min: u16,
        /// The range's highest port.
        port_max: u16,
    },
    /// The configuration cannot work (empty range, port 0, no codec this crate can send).
    InvalidConfig(String),
    /// The operating system refused something else (a socket error); the text says what.
    Io(String),
}

impl MediaError {
    /// Can trying again later help? True for a full port range (calls end and free ports)
    /// and for socket errors; false for a configuration that cannot work.
    pub fn is_recoverable(&self) -> bool {
        !matches!(self, MediaError::InvalidConfig(_))
    }
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaError::NoFreePort { port_min, port_max } => {
                write!(f, "no free RTP/RTCP port pair in {port_min}-{port_max}")
            }
            MediaError::InvalidConfig(why) => write!(f, "invalid media configuration: {why}"),
            MediaError::Io(why) => write!(f, "media socket error: {why}"),
        }
    }
}

impl std::error::Error for MediaError {}

/// Counters of one stream, as [`MediaSession::stats`] reports them.
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
    /// Interarrival jitter of the current remote source (RFC 3550 A.8), in milliseconds.
    pub jitter_ms: f64,
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
    /// Datagrams on the RTP port that were not RTP.
    pub packets_invalid: u64,
    /// Datagrams received on the RTCP port (read and dropped: RTCP is not processed yet).
    pub rtcp_received: u64,
}

struct Sockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

/// What the sender and receiver share with the handle.
struct State {
    negotiated: Option<Negotiated>,
    muted: bool,
    tone: Option<ToneGenerator>,
    ssrc: u32,
    sequence: u16,
    timestamp_base: u32,
    /// The frame count the last timestamp was derived from.
    frames: u32,
    marker_pending: bool,
    epoch: Instant,
    source: Option<(u32, ReceiverStats)>,
    lost_before: i64,
    recent: VecDeque<i16>,
    stats: RtpStats,
    frame: Vec<i16>,
    payload: Vec<u8>,
    /// The datagram being sent (reused: no allocation per frame).
    datagram: Vec<u8>,
}

pub(crate) struct Shared {
    /// Our RTP address, for the tap.
    local: SocketAddr,
    tap: Option<crate::MediaTap>,
    sockets: Mutex<Option<Sockets>>,
    state: Mutex<State>,
    closed: AtomicBool,
    wake: Notify,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these counters inconsistent in a way that
    // matters more than stopping the call, so a poisoned lock is used as it is.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One call's RTP stream: sockets bound, a task sending and receiving. Share it behind an
/// `Arc`; every method takes `&self`. Dropping it closes it.
pub struct MediaSession {
    shared: Arc<Shared>,
    /// The clock that sends our frames (kept alive by every stream it paces).
    _pacer: Pacer,
    task: Mutex<Option<JoinHandle<()>>>,
    local_addr: SocketAddr,
    rtcp_addr: SocketAddr,
    codecs: Vec<Codec>,
}

impl fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaSession")
            .field("local_addr", &self.local_addr)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl MediaSession {
    /// Binds an even RTP port and the RTCP port after it in the configured range, starting
    /// at a random pair so consecutive calls do not reuse a port at once, and starts the
    /// task that receives; a pacer of its own sends (nothing until [`MediaSession::start`]).
    pub async fn bind(config: &MediaConfig) -> Result<MediaSession, MediaError> {
        MediaSession::bind_paced(config, &Pacer::single()).await
    }

    /// Like [`MediaSession::bind`], with `pacer` sending the frames: one pacer serves any
    /// number of streams with one timer (what an agent with many calls wants).
    pub async fn bind_paced(config: &MediaConfig, pacer: &Pacer) -> Result<MediaSession, MediaError> {
        if !config.codecs.iter().any(|c| c.g711_law().is_some()) {
            return Err(MediaError::InvalidConfig("no codec this crate can send (PCMU or PCMA)".into()));
        }
        if config.port_min == 0 || config.port_min > config.port_max {
            return Err(MediaError::InvalidConfig(format!(
                "port range {}-{} (ports start at 1, min <= max)",
                config.port_min, config.port_max
            )));
        }
        let first = config.port_min + config.port_min % 2;
        let pairs = if first < config.port_max { (config.port_max - first).div_ceil(2) } else { 0 };
        if pairs == 0 {
            return Err(MediaError::InvalidConfig(format!(
                "port range {}-{} holds no even/odd pair",
                config.port_min, config.port_max
            )));
        }
        let start = random_u32() % u32::from(pairs);
        let mut bound = None;
        for i in 0..u32::from(pairs) {
            let port = first + 2 * ((start + i) % u32::from(pairs)) as u16;
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(config.ip, port)).await else { continue };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(config.ip, port + 1)).await else { continue };
            bound = Some(Sockets { rtp, rtcp });
            break;
        }
        let Some(sockets) = bound else {
            return Err(MediaError::NoFreePort { port_min: config.port_min, port_max: config.port_max });
        };
        let local_addr = sockets.rtp.local_addr().map_err(|e| MediaError::Io(e.to_string()))?;
        let rtcp_addr = sockets.rtcp.local_addr().map_err(|e| MediaError::Io(e.to_string()))?;
        let state = State {
            negotiated: None,
            muted: false,
            tone: config.tone_hz.map(|hz| ToneGenerator::new(hz, TONE_AMPLITUDE, 8000)),
            // RFC 3550 §5.1: the SSRC, the first sequence number and the first timestamp are
            // random, to make known-plaintext attacks on encryption harder and collisions rare.
            ssrc: random_u32(),
            sequence: random_u32() as u16,
            timestamp_base: random_u32(),
            frames: 0,
            marker_pending: true,
            epoch: Instant::now(),
            source: None,
            lost_before: 0,
            recent: VecDeque::with_capacity(RECENT_AUDIO_SAMPLES),
            stats: RtpStats::default(),
            frame: vec![0; FRAME_SAMPLES],
            payload: Vec::with_capacity(FRAME_SAMPLES),
            datagram: Vec::with_capacity(12 + FRAME_SAMPLES),
        };
        let shared = Arc::new(Shared {
            local: local_addr,
            tap: config.tap.clone(),
            sockets: Mutex::new(Some(sockets)),
            state: Mutex::new(state),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
        });
        let task = tokio::spawn(run(shared.clone()));
        pacer.add(&shared);
        tracing::debug!(%local_addr, "media session bound");
        Ok(MediaSession {
            shared,
            _pacer: pacer.clone(),
            task: Mutex::new(Some(task)),
            local_addr,
            rtcp_addr,
            codecs: config.codecs.clone(),
        })
    }

    /// Our RTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Our RTCP address (the RTP port + 1).
    pub fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp_addr
    }

    /// What to put into an offer or answer for this stream, with the given direction.
    pub fn local_media(&self, direction: Direction) -> LocalMedia {
        LocalMedia { rtp_addr: self.local_addr, codecs: self.codecs.clone(), direction }
    }

    /// Applies the outcome of an offer/answer exchange: from now on, send a 20 ms frame every
    /// 20 ms to `remote_rtp` with the negotiated codec when our direction sends (and stop
    /// when it does not), and accept only the negotiated payload types. Called again after a
    /// re-INVITE, it updates the stream in place: same SSRC, sequence and timestamp line, and
    /// the marker bit on the first packet after sending (re)starts or moves (RFC 3551 §4.1).
    pub fn start(&self, negotiated: &Negotiated) {
        let mut state = lock(&self.shared.state);
        let was = state.negotiated.as_ref().filter(|n| n.should_send()).and_then(|n| n.remote_rtp);
        if negotiated.should_send() && was != negotiated.remote_rtp {
            state.marker_pending = true;
        }
        if negotiated.codec.g711_law().is_none() {
            tracing::warn!(codec = %negotiated.codec, "negotiated codec cannot be encoded; sending nothing");
        }
        state.stats.codec = Some(negotiated.codec);
        state.negotiated = Some(negotiated.clone());
        drop(state);
        tracing::debug!(local = %self.local_addr, remote = ?negotiated.remote_rtp, direction = %negotiated.direction,
            codec = %negotiated.codec, "media started");
        self.shared.wake.notify_one();
    }

    /// Mutes or unmutes what we send. Muted, packets keep going out every 20 ms carrying
    /// digital silence rather than stopping: NAT bindings stay open, the peer's jitter
    /// buffer and statistics see no gap, and nothing needs renegotiating.
    pub fn set_muted(&self, muted: bool) {
        lock(&self.shared.state).muted = muted;
    }

    /// Is the stream muted?
    pub fn is_muted(&self) -> bool {
        lock(&self.shared.state).muted
    }

    /// The stream's counters now.
    pub fn stats(&self) -> RtpStats {
        let state = lock(&self.shared.state);
        let mut stats = state.stats.clone();
        stats.local_ssrc = state.ssrc;
        if let Some((ssrc, source)) = &state.source {
            stats.remote_ssrc = Some(*ssrc);
            stats.packets_lost = state.lost_before + source.lost();
            let clock = state.negotiated.as_ref().map_or(8000, |n| n.codec.clock_rate.max(1));
            stats.jitter_ms = source.jitter() * 1000.0 / f64::from(clock);
        } else {
            stats.packets_lost = state.lost_before;
        }
        stats
    }

    /// The last second (at most [`RECENT_AUDIO_SAMPLES`]) of decoded received audio, oldest
    /// first. Lost packets leave no gap: samples are appended as packets arrive.
    pub fn recent_audio(&self) -> Vec<i16> {
        lock(&self.shared.state).recent.iter().copied().collect()
    }

    /// Stops the task and releases both ports before returning. Idempotent; [`Drop`] calls
    /// it too. Statistics stay readable.
    pub fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Dropping the sockets here closes them now; the task holds no reference to them.
        drop(lock(&self.shared.sockets).take());
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
        self.shared.wake.notify_one();
        tracing::debug!(local = %self.local_addr, "media session closed");
    }

    /// Has [`MediaSession::close`] been called (or the task ended)?
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.close();
    }
}

/// A random 32-bit value from the operating system; should that fail, one mixed from the
/// clock, which is still unpredictable enough for SSRCs and port choice.
fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u32::from_be_bytes(bytes),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
                .unwrap_or(0x5EED);
            nanos.wrapping_mul(0x9E37_79B9)
        }
    }
}

#[derive(Clone, Copy)]
enum Port {
    Rtp,
    Rtcp,
}

impl Shared {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Polls one socket for a datagram, holding the socket lock only during the poll.
    /// `Ready(None)` once the sockets are closed.
    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        port: Port,
        buf: &mut [u8],
    ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
        let sockets = lock(&self.sockets);
        let Some(sockets) = sockets.as_ref() else { return Poll::Ready(None) };
        let socket = match port {
            Port::Rtp => &sockets.rtp,
            Port::Rtcp => &sockets.rtcp,
        };
        let mut read = ReadBuf::new(buf);
        match socket.poll_recv_from(cx, &mut read) {
            Poll::Ready(Ok(from)) => Poll::Ready(Some(Ok((read.filled().len(), from)))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Sends the next frame if the stream sends; advances the RTP clock either way.
    pub(crate) fn on_tick(&self, now: Instant) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        // The timestamp follows the wall clock in frames (RFC 3550 §5.1: it advances with
        // sampling time also while nothing is sent), never repeating.
        let elapsed = (now.saturating_duration_since(state.epoch).as_millis() / FRAME_DURATION.as_millis()) as u32;
        state.frames = elapsed.max(state.frames.wrapping_add(1));
        let Some(negotiated) = state.negotiated.as_ref().filter(|n| n.should_send()) else { return };
        let (Some(remote), Some(law)) = (negotiated.remote_rtp, negotiated.codec.g711_law()) else { return };
        state.payload.clear();
        match (&mut state.tone, state.muted) {
            (Some(tone), false) => {
                tone.fill(&mut state.frame);
                g711::encode_into(law, &state.frame, &mut state.payload);
            }
            _ => state.payload.resize(FRAME_SAMPLES, law.silence()),
        }
        let timestamp = state.timestamp_base.wrapping_add(state.frames.wrapping_mul(FRAME_SAMPLES as u32));
        let header = RtpPacket::header(
            negotiated.codec.payload_type,
            state.marker_pending,
            state.sequence,
            timestamp,
            state.ssrc,
        );
        state.datagram.clear();
        state.datagram.extend_from_slice(&header);
        state.datagram.extend_from_slice(&state.payload);
        let sent = match lock(&self.sockets).as_ref().map(|s| s.rtp.try_send_to(&state.datagram, remote)) {
            Some(Ok(_)) => {
                if let Some(tap) = &self.tap {
                    tap.see(crate::TapDirection::Sent, self.local, remote, &state.datagram);
                }
                true
            }
            Some(Err(e)) => {
                // A full send buffer drops this frame; the next one goes 20 ms later.
                tracing::trace!(%remote, error = %e, "RTP send failed");
                false
            }
            None => return,
        };
        state.sequence = state.sequence.wrapping_add(1);
        if sent {
            state.marker_pending = false;
            state.stats.packets_sent += 1;
            state.stats.octets_sent += state.payload.len() as u64;
        }
    }

    /// Judges and records a datagram that arrived on the RTP port.
    fn on_rtp(&self, datagram: &[u8], now: Instant) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let Ok(packet) = RtpPacket::parse(datagram) else {
            state.stats.packets_invalid += 1;
            return;
        };
        let Some(negotiated) = &state.negotiated else {
            state.stats.packets_ignored += 1;
            return;
        };
        let audio = packet.payload_type == negotiated.codec.payload_type;
        if !audio && Some(packet.payload_type) != negotiated.telephone_event {
            state.stats.packets_ignored += 1;
            return;
        }
        let clock = negotiated.codec.clock_rate;
        let law = negotiated.codec.g711_law();
        // A new SSRC is a new source (RFC 3550 A.1): start its statistics afresh, keeping
        // the losses counted so far.
        if state.source.as_ref().map(|(ssrc, _)| *ssrc) != Some(packet.ssrc) {
            if let Some((_, old)) = &state.source {
                state.lost_before += old.lost();
            }
            state.source = Some((packet.ssrc, ReceiverStats::new(packet.sequence)));
        }
        let arrival = now.saturating_duration_since(state.epoch).as_micros() * u128::from(clock) / 1_000_000;
        if let Some((_, source)) = &mut state.source {
            source.on_packet(packet.sequence, packet.timestamp, arrival as u32);
        }
        state.stats.packets_received += 1;
        state.stats.octets_received += packet.payload.len() as u64;
        state.stats.last_received = Some(now);
        if let (true, Some(law)) = (audio, law) {
            g711::decode_into(law, &packet.payload, &mut state.recent);
            let excess = state.recent.len().saturating_sub(RECENT_AUDIO_SAMPLES);
            state.recent.drain(..excess);
        }
    }
}

/// The stream's task: both sockets to receive, until closed (the pacer sends).
async fn run(shared: Arc<Shared>) {
    let mut rtp_buf = vec![0u8; RECEIVE_BUFFER];
    let mut rtcp_buf = vec![0u8; RECEIVE_BUFFER];
    while !shared.closed.load(Ordering::Acquire) {
        tokio::select! {
            received = poll_fn(|cx| shared.poll_recv(cx, Port::Rtp, &mut rtp_buf)) => match received {
                Some(Ok((len, from))) => {
                    if let Some(tap) = &shared.tap {
                        tap.see(crate::TapDirection::Received, shared.local, from, &rtp_buf[..len]);
                    }
                    shared.on_rtp(&rtp_buf[..len], Instant::now())
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "RTP receive error");
                    tokio::task::yield_now().await;
                }
                None => break,
            },
            received = poll_fn(|cx| shared.poll_recv(cx, Port::Rtcp, &mut rtcp_buf)) => match received {
                Some(Ok(_)) => lock(&shared.state).stats.rtcp_received += 1,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "RTCP receive error");
                    tokio::task::yield_now().await;
                }
                None => break,
            },
            _ = shared.wake.notified() => {}
        }
    }
    shared.closed.store(true, Ordering::Release);
}
