//! The driver: the one task that does a coordinator's IO, and decides nothing.
//!
//! It owns the transports' sockets, the RTP streams of the calls, the DNS resolver and the
//! clock, and feeds the sans-IO [`SessionCore`] (`core/`) by the run-loop contract of
//! ARCHITECTURE.md: each input goes in with `now`, then every output is carried out until
//! `poll_output` is empty, then the task sleeps until an input arrives or the core's
//! `poll_timeout`. Its loop awaits only its channels (commands, transport events, finished
//! work) and one timer. Work that takes time — a DNS lookup, binding a media port — runs
//! as a spawned task whose result comes back on the work channel as an input, so one slow
//! lookup holds up nothing else.

pub(crate) mod handler;

use crate::api::{RtpStats, SessionEvent, SessionId};
use crate::core::{Answer, Command, Input, MediaAction, Output, SessionCore};
use crate::error::{SessionError, UnreachableCause};
use handler::HandlerEvent;
use media_core::{AudioFrames, AudioSink, AudioSource, MediaConfig, MediaEvent, MediaSession, Pacer};
use sip_endpoint::{Dropper, WireDirection, WireTap};
use sip_message::{Transport, Uri};
use sip_resolve::Resolver;
use sip_transport::{TransportEvent, TransportLayer};
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Where the answer to a command goes.
pub(crate) type Waiter = oneshot::Sender<Result<Answer, SessionError>>;
type Reply<T> = oneshot::Sender<Result<T, SessionError>>;

/// How many received messages may wait in the transport's queue before the driver counts
/// as falling behind (the queue holds 4096): new calls are then refused with 503.
const BEHIND_AT: usize = 512;
/// How many datagrams may wait in the kernel's queue of the SIP socket (as the transport's
/// receive loop finds them) before the driver counts as falling behind.
const KERNEL_BEHIND_AT: usize = 512;
/// How often the driver checks how late the runtime runs its tasks.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(10);
/// A heartbeat this late means the machine has more work than it can do: the driver counts
/// as behind until a heartbeat is on time again (under [`ON_TIME`]).
const LATE: std::time::Duration = std::time::Duration::from_millis(100);
const ON_TIME: std::time::Duration = std::time::Duration::from_millis(10);

/// How many ended calls' final RTP statistics are kept for the end reports that follow
/// (the core remembers as many outcomes).
const FINAL_STATS: usize = 256;

/// The final RTP statistics of the calls that ended lately: taken as each stream closes,
/// put into the end reports (event, handler, `wait_for_end`) as they pass through the
/// driver, since the streams are the driver's and the core never sees their counters.
#[derive(Default)]
struct FinalStats(std::collections::VecDeque<(SessionId, RtpStats)>);

impl FinalStats {
    fn keep(&mut self, id: SessionId, stats: RtpStats) {
        if self.0.len() == FINAL_STATS {
            self.0.pop_front();
        }
        self.0.push_back((id, stats));
    }

    fn fill(&self, id: SessionId, info: &mut crate::api::EndInfo) {
        if info.rtp.is_none() {
            info.rtp = self.0.iter().rev().find(|(i, _)| *i == id).map(|(_, s)| Box::new(s.clone()));
        }
    }
}

/// What the coordinator's handles send to the driver.
#[derive(Debug)]
pub(crate) enum Request {
    /// A command for the core.
    Core(Command, Waiter),
    /// A call's RTP statistics: the stream's, which the driver holds.
    Stats { id: SessionId, reply: Reply<RtpStats> },
    /// The last second of a call's received audio.
    Audio { id: SessionId, reply: Reply<Vec<i16>> },
    /// Every stream's statistics at once (one message however many calls are up).
    AllStats { reply: oneshot::Sender<Vec<(SessionId, RtpStats)>> },
    /// Something done to a call's audio.
    Media { id: SessionId, op: MediaOp, reply: Reply<()> },
    /// The rate of a call's audio (`None` before a codec is negotiated).
    Rate { id: SessionId, reply: Reply<Option<u32>> },
    /// A stream of a call's received audio.
    Frames { id: SessionId, backlog: usize, reply: Reply<AudioFrames> },
}

/// What [`Request::Media`] does to a stream. The slow parts (reading a file, creating
/// one) were done by the caller: the driver only hands the result over.
pub(crate) enum MediaOp {
    Source(AudioSource),
    Push(Vec<i16>),
    Sink(Box<dyn AudioSink>),
    StopSinks,
    ReceiveMute(bool),
}

impl std::fmt::Debug for MediaOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaOp::Source(s) => f.debug_tuple("Source").field(s).finish(),
            MediaOp::Push(p) => f.debug_tuple("Push").field(&p.len()).finish(),
            MediaOp::Sink(_) => f.write_str("Sink"),
            MediaOp::StopSinks => f.write_str("StopSinks"),
            MediaOp::ReceiveMute(m) => f.debug_tuple("ReceiveMute").field(m).finish(),
        }
    }
}

/// Work that finished on another task.
enum Done {
    Resolved {
        query: u64,
        result: Result<Vec<sip_resolve::Target>, UnreachableCause>,
    },
    Bound {
        id: SessionId,
        result: Result<MediaSession, media_core::MediaError>,
    },
    /// A stream's event (a digit received, RTP silence).
    Media {
        id: SessionId,
        event: MediaEvent,
    },
}

/// Everything the driver task owns.
pub(crate) struct Driver {
    pub(crate) core: SessionCore<Waiter>,
    pub(crate) transport: TransportLayer,
    pub(crate) transport_rx: mpsc::Receiver<TransportEvent>,
    pub(crate) requests: mpsc::UnboundedReceiver<Request>,
    pub(crate) handler: mpsc::UnboundedSender<HandlerEvent>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
    pub(crate) resolver: Resolver,
    pub(crate) media_config: MediaConfig,
    /// Sends every call's frames from one 20 ms clock.
    pub(crate) pacer: Pacer,
    pub(crate) tap: Option<WireTap>,
    pub(crate) dropper: Option<Dropper>,
    final_stats: FinalStats,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: SessionCore<Waiter>,
        (transport, transport_rx): (TransportLayer, mpsc::Receiver<TransportEvent>),
        requests: mpsc::UnboundedReceiver<Request>,
        handler: mpsc::UnboundedSender<HandlerEvent>,
        events: broadcast::Sender<SessionEvent>,
        resolver: Resolver,
        media_config: MediaConfig,
        tap: Option<WireTap>,
        dropper: Option<Dropper>,
    ) -> Driver {
        Driver {
            core,
            transport,
            transport_rx,
            requests,
            handler,
            events,
            resolver,
            media_config,
            pacer: Pacer::start(),
            tap,
            dropper,
            final_stats: FinalStats::default(),
        }
    }

    pub(crate) async fn run(mut self) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let mut media: HashMap<SessionId, MediaSession> = HashMap::new();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut late = false;
        // No heartbeat while no call is alive: an idle agent does not wake 100 times a second.
        let mut was_idle = true;
        loop {
            let idle = self.core.is_idle();
            if idle != was_idle {
                if !idle {
                    // A fresh start, or the first tick would report the whole idle time as lag.
                    heartbeat.reset();
                }
                late = false;
                was_idle = idle;
            }
            let wake = self.core.poll_timeout();
            let sleep = async {
                match wake {
                    // A deadline in the past fires at once.
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                request = self.requests.recv() => match request {
                    Some(Request::Core(command, reply)) => {
                        self.core.handle_input(Instant::now(), Input::Command { command, reply });
                    }
                    Some(Request::Stats { id, reply }) => {
                        let r = media.get(&id).map(|m| m.stats()).ok_or_else(|| self.core.no_media_error(id));
                        let _ = reply.send(r);
                    }
                    Some(Request::AllStats { reply }) => {
                        let _ = reply.send(media.iter().map(|(id, m)| (*id, m.stats())).collect());
                    }
                    Some(Request::Audio { id, reply }) => {
                        let r = media.get(&id).map(|m| m.recent_audio()).ok_or_else(|| self.core.no_media_error(id));
                        let _ = reply.send(r);
                    }
                    Some(Request::Media { id, op, reply }) => {
                        let r = match media.get(&id) {
                            Some(m) => media_op(m, op),
                            None => Err(self.core.no_media_error(id)),
                        };
                        let _ = reply.send(r);
                    }
                    Some(Request::Rate { id, reply }) => {
                        let r = media.get(&id).map(|m| m.audio_rate()).ok_or_else(|| self.core.no_media_error(id));
                        let _ = reply.send(r);
                    }
                    Some(Request::Frames { id, backlog, reply }) => {
                        let r = media.get(&id).map(|m| m.audio_frames(backlog)).ok_or_else(|| self.core.no_media_error(id));
                        let _ = reply.send(r);
                    }
                    None => break,
                },
                event = self.transport_rx.recv() => match event {
                    Some(event) => self.transport_event(event),
                    None => break,
                },
                Some(done) = done_rx.recv() => {
                    let now = Instant::now();
                    match done {
                        Done::Resolved { query, result } => self.core.handle_input(now, Input::Resolved { query, result }),
                        Done::Bound { id, result } => {
                            let result = result.map(|m| {
                                let addr = m.local_addr();
                                let events = done_tx.clone();
                                m.set_event_sink(std::sync::Arc::new(move |event| {
                                    let _ = events.send(Done::Media { id, event });
                                }));
                                media.insert(id, m);
                                addr
                            });
                            self.core.handle_input(now, Input::MediaBound { id, result });
                        }
                        Done::Media { id, event } => self.core.handle_input(now, Input::Media { id, event }),
                    }
                }
                _ = sleep => self.core.handle_timeout(Instant::now()),
                at = heartbeat.tick(), if !idle => {
                    // How late the runtime ran this task: the one measure of overload that
                    // counts the media streams and everything else sharing the cores.
                    let lag = Instant::now().saturating_duration_since(at.into_std());
                    late = if late { lag > ON_TIME } else { lag > LATE };
                }
            }
            self.take_noise();
            let queued = self.transport_rx.len() > BEHIND_AT || self.transport.udp_backlog() > KERNEL_BEHIND_AT;
            self.core.set_overloaded(late || queued);
            if self.carry_out(&mut media, &done_tx) {
                break;
            }
        }
        for (_, m) in media.drain() {
            m.close();
        }
        self.transport.shutdown();
    }

    /// Hands the core what the transport dropped since the last time, by source, so that
    /// the sources of garbage weigh in when calls are shed.
    fn take_noise(&mut self) {
        let noise = self.transport.take_noise();
        if !noise.is_empty() {
            self.core.handle_input(Instant::now(), Input::Noise(noise));
        }
    }

    fn transport_event(&mut self, event: TransportEvent) {
        let now = Instant::now();
        match event {
            TransportEvent::Message { message, source } => {
                // The garbage read before this message is counted before it is judged: after
                // a stall, a new call must not look like the only load there is.
                self.take_noise();
                if let Some(tap) = &self.tap {
                    tap.see(WireDirection::Received, source, &message.to_bytes());
                }
                self.core.handle_input(now, Input::Message { message, source });
            }
            TransportEvent::SendFailed { token, error, to } => {
                tracing::debug!(%to, %error, token, "a send failed");
                self.core.handle_input(now, Input::SendFailed { token, error });
            }
            TransportEvent::FlowClosed { peer, reason, .. } => {
                tracing::debug!(%peer, reason, "a connection closed");
                self.core.handle_input(now, Input::FlowClosed { peer, reason });
            }
            TransportEvent::Stun { bytes, source } => self.core.handle_input(now, Input::Stun { bytes, source }),
        }
    }

    /// Carries out every output of the core; true once it has stopped.
    fn carry_out(&mut self, media: &mut HashMap<SessionId, MediaSession>, done: &mpsc::UnboundedSender<Done>) -> bool {
        let mut stopped = false;
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Transmit { to, bytes, token, server_name } => {
                    if let Some(tap) = &self.tap {
                        tap.see(WireDirection::Sent, to, &bytes);
                    }
                    if to.transport == Transport::Udp && self.dropper.as_mut().is_some_and(|d| d.drop_next()) {
                        tracing::trace!(%to, "datagram dropped by the configured impairment");
                        continue;
                    }
                    self.transport.send_named(to, server_name.as_deref(), bytes, token);
                }
                Output::Resolve { query, uri } => self.spawn_resolve(query, uri, done.clone()),
                Output::BindMedia { id } => {
                    let (config, pacer, done) = (self.media_config.clone(), self.pacer.clone(), done.clone());
                    tokio::spawn(async move {
                        let result = MediaSession::bind_paced(&config, &pacer).await;
                        let _ = done.send(Done::Bound { id, result });
                    });
                }
                Output::Media { id, action } => match action {
                    MediaAction::Start(negotiated) => {
                        if let Some(m) = media.get(&id) {
                            m.start(&negotiated);
                        }
                    }
                    MediaAction::Mute(muted) => {
                        if let Some(m) = media.get(&id) {
                            m.set_muted(muted);
                        }
                    }
                    MediaAction::Dtmf(digits) => {
                        if let Some(Err(e)) = media.get(&id).map(|m| m.send_dtmf(&digits)) {
                            tracing::info!(session = %id, error = %e, "DTMF not sent");
                        }
                    }
                    MediaAction::Close => {
                        if let Some(m) = media.remove(&id) {
                            self.final_stats.keep(id, m.stats());
                            m.close();
                        }
                    }
                },
                Output::Reply { to, result } => {
                    let result = match result {
                        // The streams bound are the driver's to count.
                        Ok(Answer::Counts(mut c)) => {
                            c.media_streams = media.len();
                            Ok(Answer::Counts(c))
                        }
                        // What the transport dropped is the transport's to count.
                        Ok(Answer::Counters(mut c)) => {
                            c.unparsable = self.transport.unparsable();
                            Ok(Answer::Counters(c))
                        }
                        Ok(Answer::End(id, mut info)) => {
                            self.final_stats.fill(id, &mut info);
                            Ok(Answer::End(id, info))
                        }
                        other => other,
                    };
                    let _ = to.send(result);
                }
                Output::Event(mut e) => {
                    if let SessionEvent::Ended { id, info } = &mut e {
                        self.final_stats.fill(*id, info);
                    }
                    // Nobody listening is fine.
                    let _ = self.events.send(e);
                }
                Output::Handler(mut e) => {
                    match &mut e {
                        HandlerEvent::Ended(call, info) => {
                            self.final_stats.fill(call.id, info);
                            call.end = Some(info.clone());
                        }
                        HandlerEvent::Failed(id, info) => self.final_stats.fill(*id, info),
                        _ => {}
                    }
                    let _ = self.handler.send(e);
                }
                Output::KeepAlive { to, interval } => {
                    if !self.transport.set_keepalive(to.transport, to.addr, Some(interval)) {
                        tracing::debug!(%to, "no connection to keep alive");
                    }
                }
                Output::Stopped => stopped = true,
            }
        }
        stopped
    }

    /// Looks `uri` up (RFC 3263) on another task; the targets come back as an input.
    fn spawn_resolve(&self, query: u64, uri: String, done: mpsc::UnboundedSender<Done>) {
        let resolver = self.resolver.clone();
        let transports = self.core.cfg.transports.clone();
        tokio::spawn(async move {
            let result = resolve(&resolver, &uri, &transports).await;
            let _ = done.send(Done::Resolved { query, result });
        });
    }
}

/// Does `op` to a stream.
fn media_op(m: &MediaSession, op: MediaOp) -> Result<(), SessionError> {
    let audio = |e| SessionError::Media(crate::error::MediaFailure::Audio(e));
    match op {
        MediaOp::Source(source) => m.set_source(source),
        MediaOp::Push(samples) => m.push_audio(&samples).map_err(audio)?,
        MediaOp::Sink(sink) => m.add_sink(sink),
        MediaOp::StopSinks => m.stop_recording(),
        MediaOp::ReceiveMute(muted) => m.set_receive_muted(muted),
    }
    Ok(())
}

/// The targets of `text` in the order RFC 3263 tries them, over the transports we use (or
/// the one the URI names).
pub(crate) async fn resolve(
    resolver: &Resolver,
    text: &str,
    transports: &[Transport],
) -> Result<Vec<sip_resolve::Target>, UnreachableCause> {
    let uri = Uri::parse(text).map_err(|e| UnreachableCause::Unroutable(format!("not a URI: {e}")))?;
    let allowed = crate::core::transports_for(&uri, transports);
    resolver.resolve(&uri, &allowed).await.map_err(UnreachableCause::Resolve)
}
