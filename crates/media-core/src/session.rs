//! [`MediaSession`]: the thin tokio driver of one call's RTP stream.
//!
//! Owns the two UDP sockets of the stream (RTP on an even port, RTCP on the next one,
//! RFC 3550 §11) and the task that receives on them, and feeds the sans-IO [`Stream`]
//! (`stream.rs`) that makes every decision: received datagrams go in with the time they
//! arrived, each tick of the [`Pacer`] asks it for the frame and any RTCP report to send,
//! and the events it yields go to the sink the owner set. It must not parse SDP, know about
//! SIP, or judge a packet itself.
//!
//! Locks are `std::sync::Mutex`es held for a few microseconds and never across an
//! `.await`. The sockets live in the shared state and the task polls them through it,
//! never holding them between polls, so [`MediaSession::close`] releases both ports at once,
//! synchronously: the same ports can be bound again as soon as it returns.

use crate::audio::{AudioError, AudioSink, AudioSource, WavRecorder};
use crate::codec::Codec;
use crate::direction::Direction;
use crate::dtmf::DtmfError;
use crate::jitter::JitterConfig;
use crate::negotiate::{LocalMedia, Negotiated};
use crate::pacer::Pacer;
use crate::stream::{MediaEvent, Stream, StreamConfig};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

pub use crate::stream::{RtpStats, FRAME_DURATION, RECENT_AUDIO_SAMPLES};

/// Samples per frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
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
    /// What a new stream sends until told otherwise.
    pub source: AudioSource,
    /// The jitter buffer's bounds.
    pub jitter: JitterConfig,
    /// How long the peer may send no RTP, while it should, before
    /// [`MediaEvent::RtpTimeout`]; `None`: never.
    pub rtp_timeout: Option<Duration>,
    /// Whether calls use SRTP (SDES keys in the SDP); off by default.
    pub srtp: crate::srtp::SrtpPolicy,
    /// Sees every RTP datagram sent and received (a capture file); none by default.
    pub tap: Option<crate::MediaTap>,
    /// Offer and accept RTCP on the RTP port (`a=rtcp-mux`, RFC 5761); on by default.
    pub rtcp_mux: bool,
}

impl MediaConfig {
    /// PCMU, PCMA and telephone-event on ports 16384–32767 of `ip`, sending silence, with
    /// the default jitter buffer and a 30 s RTP timeout.
    pub fn new(ip: IpAddr) -> MediaConfig {
        let stream = StreamConfig::default();
        MediaConfig {
            ip,
            port_min: 16384,
            port_max: 32767,
            codecs: Codec::defaults(),
            source: AudioSource::Silence,
            jitter: stream.jitter,
            rtp_timeout: stream.rtp_timeout,
            srtp: crate::srtp::SrtpPolicy::Off,
            tap: None,
            rtcp_mux: true,
        }
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

/// Receives a stream's events (DTMF received, RTP timeout); called on the stream's tasks,
/// so it must not block.
pub type MediaEventSink = Arc<dyn Fn(MediaEvent) + Send + Sync>;

struct Sockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

/// The stream and the buffers its datagrams are written into (reused: no allocation per
/// frame).
struct State {
    stream: Stream,
    datagram: Vec<u8>,
}

pub(crate) struct Shared {
    /// Our RTP address, for the tap.
    local: SocketAddr,
    tap: Option<crate::MediaTap>,
    sockets: Mutex<Option<Sockets>>,
    state: Mutex<State>,
    events: Mutex<Option<MediaEventSink>>,
    closed: AtomicBool,
    wake: Notify,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these counters inconsistent in a way that
    // matters more than stopping the call, so a poisoned lock is used as it is.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A frame of decoded received audio, as [`AudioFrames`] yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// The sample rate in Hz.
    pub rate: u32,
    /// 20 ms of mono 16-bit PCM.
    pub samples: Vec<i16>,
}

/// The decoded audio a stream plays out, frame by frame, for the application (a voice bot
/// feeds it to speech recognition). It holds a bounded backlog: frames the application does
/// not take in time are dropped and counted, never queued without bound. It ends when the
/// stream closes. Also a [`futures_core::Stream`].
#[derive(Debug)]
pub struct AudioFrames {
    rx: mpsc::Receiver<AudioFrame>,
    dropped: Arc<AtomicU64>,
}

impl AudioFrames {
    /// The next frame; `None` once the stream has closed.
    pub async fn recv(&mut self) -> Option<AudioFrame> {
        self.rx.recv().await
    }

    /// Frames dropped because the backlog was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl futures_core::Stream for AudioFrames {
    type Item = AudioFrame;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AudioFrame>> {
        self.rx.poll_recv(cx)
    }
}

struct FrameSink {
    tx: mpsc::Sender<AudioFrame>,
    dropped: Arc<AtomicU64>,
}

impl AudioSink for FrameSink {
    fn write(&mut self, frame: &[i16], rate: u32) -> bool {
        match self.tx.try_send(AudioFrame { rate, samples: frame.to_vec() }) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// One call's RTP stream: sockets bound, a task receiving, a pacer sending. Share it behind
/// an `Arc`; every method takes `&self`. Dropping it closes it.
pub struct MediaSession {
    shared: Arc<Shared>,
    /// The clock that sends our frames (kept alive by every stream it paces).
    _pacer: Pacer,
    task: Mutex<Option<JoinHandle<()>>>,
    local_addr: SocketAddr,
    rtcp_addr: SocketAddr,
    codecs: Vec<Codec>,
    rtcp_mux: bool,
}

impl fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaSession")
            .field("local_addr", &self.local_addr)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The wallclock now in NTP format (seconds since 1900, 32.32 fixed point).
fn ntp_now() -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let frac = ((u128::from(d.subsec_nanos()) << 32) / 1_000_000_000) as u64;
    ((d.as_secs() + NTP_UNIX_OFFSET) << 32) | frac
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
        if !config.codecs.iter().any(|c| crate::coder::Coder::for_codec(c).is_some()) {
            return Err(MediaError::InvalidConfig("no codec this build can send (PCMU, PCMA or G722)".into()));
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
        let stream_config = StreamConfig {
            source: config.source.clone(),
            jitter: config.jitter,
            rtp_timeout: config.rtp_timeout,
            cname: format!("sipline@{}", config.ip),
        };
        let random = [random_u32(), random_u32(), random_u32(), random_u32()];
        let stream = Stream::new(stream_config, Instant::now(), ntp_now(), random);
        let shared = Arc::new(Shared {
            local: local_addr,
            tap: config.tap.clone(),
            sockets: Mutex::new(Some(sockets)),
            state: Mutex::new(State { stream, datagram: Vec::with_capacity(256) }),
            events: Mutex::new(None),
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
            rtcp_mux: config.rtcp_mux,
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
        LocalMedia { rtcp_mux: self.rtcp_mux, ..LocalMedia::new(self.local_addr, self.codecs.clone(), direction) }
    }

    /// Sends the stream's events (DTMF received, RTP timeout) to `sink` from now on; events
    /// that came before are delivered at once.
    pub fn set_event_sink(&self, sink: MediaEventSink) {
        *lock(&self.shared.events) = Some(sink);
        self.shared.deliver_events(&mut lock(&self.shared.state).stream);
    }

    /// Applies the outcome of an offer/answer exchange: from now on, send a frame every
    /// 20 ms to the negotiated address with the negotiated codec when our direction sends
    /// (and stop when it does not), and accept only the negotiated payload types. Called
    /// again after a re-INVITE, it updates the stream in place (see [`Stream::start`]).
    pub fn start(&self, negotiated: &Negotiated) {
        lock(&self.shared.state).stream.start(negotiated, Instant::now());
        tracing::debug!(local = %self.local_addr, remote = ?negotiated.remote_rtp, direction = %negotiated.direction,
            codec = %negotiated.codec, "media started");
        self.shared.wake.notify_one();
    }

    /// Mutes or unmutes what we send. Muted, packets keep going out every 20 ms carrying
    /// digital silence rather than stopping: NAT bindings stay open, the peer's jitter
    /// buffer and statistics see no gap, and nothing needs renegotiating.
    pub fn set_muted(&self, muted: bool) {
        lock(&self.shared.state).stream.set_muted(muted);
    }

    /// Is the stream muted?
    pub fn is_muted(&self) -> bool {
        lock(&self.shared.state).stream.is_muted()
    }

    /// Mutes or unmutes what we hear: the recorder and the application get silence.
    pub fn set_receive_muted(&self, muted: bool) {
        lock(&self.shared.state).stream.set_receive_muted(muted);
    }

    /// Sends `source` from now on (a tone, a looped file, pushed frames, silence).
    pub fn set_source(&self, source: AudioSource) {
        lock(&self.shared.state).stream.set_source(source);
    }

    /// Plays a WAV file, looped, in place of what the stream sent.
    pub fn play_file(&self, path: impl AsRef<std::path::Path>) -> Result<(), AudioError> {
        let pcm = crate::audio::load_wav(path)?;
        self.set_source(AudioSource::File(pcm));
        Ok(())
    }

    /// Queues PCM at the stream's rate ([`MediaSession::audio_rate`]) to send; the source
    /// must be [`AudioSource::Pushed`] for it to be heard.
    pub fn push_audio(&self, samples: &[i16]) -> Result<(), AudioError> {
        lock(&self.shared.state).stream.push_audio(samples)
    }

    /// The rate of the audio sent and played, once a codec is negotiated.
    pub fn audio_rate(&self) -> Option<u32> {
        lock(&self.shared.state).stream.send_rate()
    }

    /// Records what the stream plays out (what was heard) to a 16-bit PCM WAV file; the
    /// file is completed when the stream closes or [`MediaSession::stop_recording`].
    pub fn record_to(&self, path: impl AsRef<std::path::Path>) -> Result<(), AudioError> {
        let recorder = WavRecorder::create(path)?;
        lock(&self.shared.state).stream.add_sink(Box::new(recorder));
        Ok(())
    }

    /// Adds a sink for what the stream plays out (see [`AudioSink`]).
    pub fn add_sink(&self, sink: Box<dyn AudioSink>) {
        lock(&self.shared.state).stream.add_sink(sink);
    }

    /// Ends every recording and frame stream of this session.
    pub fn stop_recording(&self) {
        lock(&self.shared.state).stream.clear_sinks();
    }

    /// The decoded audio this stream plays out, frame by frame, with a backlog of
    /// `backlog` frames (20 ms each).
    pub fn audio_frames(&self, backlog: usize) -> AudioFrames {
        let (tx, rx) = mpsc::channel(backlog.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        lock(&self.shared.state).stream.add_sink(Box::new(FrameSink { tx, dropped: dropped.clone() }));
        AudioFrames { rx, dropped }
    }

    /// Sends DTMF digits as RFC 4733 telephone-events, one after the other. Refused when
    /// the peer did not negotiate telephone-event.
    pub fn send_dtmf(&self, digits: &str) -> Result<(), DtmfError> {
        let mut state = lock(&self.shared.state);
        if !state.stream.can_send_dtmf() {
            return Err(DtmfError::NotNegotiated);
        }
        state.stream.send_dtmf(digits)
    }

    /// Are DTMF digits still waiting or sounding?
    pub fn dtmf_pending(&self) -> bool {
        lock(&self.shared.state).stream.dtmf_pending()
    }

    /// The stream's counters now.
    pub fn stats(&self) -> RtpStats {
        lock(&self.shared.state).stream.stats()
    }

    /// The last second of played-out received audio at the codec's rate (8000 samples for
    /// G.711, 16000 for G.722), oldest first.
    pub fn recent_audio(&self) -> Vec<i16> {
        lock(&self.shared.state).stream.recent_audio()
    }

    /// Sends an RTCP BYE, completes recordings, stops the task and releases both ports
    /// before returning. Idempotent; [`Drop`] calls it too. Statistics stay readable.
    pub fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut guard = lock(&self.shared.state);
            let state = &mut *guard;
            if let Some(to) = state.stream.goodbye(Instant::now(), &mut state.datagram) {
                if let Some(s) = lock(&self.shared.sockets).as_ref() {
                    let socket = if state.stream.rtcp_muxed() { &s.rtp } else { &s.rtcp };
                    let _ = socket.try_send_to(&state.datagram, to);
                }
            }
            state.stream.clear_sinks();
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

    /// Hands the stream's pending events to the sink, if one is set.
    fn deliver_events(&self, stream: &mut Stream) {
        // Most ticks have none: no lock, no reference count touched.
        if !stream.has_events() {
            return;
        }
        let sink = lock(&self.events).clone();
        if let Some(sink) = sink {
            while let Some(e) = stream.poll_event() {
                sink(e);
            }
        }
    }

    fn send(&self, port: Port, datagram: &[u8], to: SocketAddr) {
        let sockets = lock(&self.sockets);
        let Some(sockets) = sockets.as_ref() else { return };
        let socket = match port {
            Port::Rtp => &sockets.rtp,
            Port::Rtcp => &sockets.rtcp,
        };
        match socket.try_send_to(datagram, to) {
            Ok(_) => {
                if let (Some(tap), Port::Rtp) = (&self.tap, port) {
                    tap.see(crate::TapDirection::Sent, self.local, to, datagram);
                }
            }
            // A full send buffer drops this datagram; the next one goes 20 ms later.
            Err(e) => tracing::trace!(%to, error = %e, "media send failed"),
        }
    }

    /// One frame period: the stream's frame and any RTCP report due go out.
    pub(crate) fn on_tick(&self, now: Instant) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if let Some(to) = state.stream.poll_frame(now, &mut state.datagram) {
            self.send(Port::Rtp, &state.datagram, to);
        }
        // RFC 5761: multiplexed RTCP leaves from the RTP port, where the peer expects it.
        let rtcp_port = if state.stream.rtcp_muxed() { Port::Rtp } else { Port::Rtcp };
        while let Some(to) = state.stream.poll_rtcp(now, &mut state.datagram) {
            self.send(rtcp_port, &state.datagram, to);
        }
        self.deliver_events(&mut state.stream);
    }

    /// A datagram arrived on `port` from `from`.
    fn on_datagram(&self, port: Port, datagram: &[u8], from: SocketAddr, now: Instant) {
        let mut state = lock(&self.state);
        // RFC 5761: RTCP may share the RTP port; its packet types tell it apart.
        match port {
            Port::Rtp if !crate::rtcp::looks_like_rtcp(datagram) => {
                if let Some(tap) = &self.tap {
                    tap.see(crate::TapDirection::Received, self.local, from, datagram);
                }
                state.stream.handle_rtp(now, from, datagram)
            }
            _ => state.stream.handle_rtcp(now, from, datagram),
        }
        self.deliver_events(&mut state.stream);
    }
}

/// The stream's task: both sockets to receive, until closed (the pacer sends).
async fn run(shared: Arc<Shared>) {
    let mut rtp_buf = vec![0u8; RECEIVE_BUFFER];
    let mut rtcp_buf = vec![0u8; RECEIVE_BUFFER];
    while !shared.closed.load(Ordering::Acquire) {
        tokio::select! {
            received = poll_fn(|cx| shared.poll_recv(cx, Port::Rtp, &mut rtp_buf)) => match received {
                Some(Ok((len, from))) => shared.on_datagram(Port::Rtp, &rtp_buf[..len], from, Instant::now()),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "RTP receive error");
                    tokio::task::yield_now().await;
                }
                None => break,
            },
            received = poll_fn(|cx| shared.poll_recv(cx, Port::Rtcp, &mut rtcp_buf)) => match received {
                Some(Ok((len, from))) => shared.on_datagram(Port::Rtcp, &rtcp_buf[..len], from, Instant::now()),
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
