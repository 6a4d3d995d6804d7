//! [`ClientManager`]: the client's handle. It owns a session-core coordinator while
//! running, the table of calls and registrations, the history, and two tasks: the event
//! task, which turns the session layer's events into [`ClientEvent`]s and keeps the tables
//! true, and the quality task, which samples live calls' RTP.
//!
//! State is behind one std mutex, never held across an `.await`; the session layer is the
//! one owner of every call's protocol state, the client only mirrors it for queries.

use crate::calls::CallInfo;
use crate::config::ClientConfig;
use crate::events::{broadcast, ClientEvent, EventFilter, EventSubscription, EVENT_CAPACITY};
use crate::handler::{CallDecision, CallHandle, DynHandler};
use crate::registrations::RegistrationInfo;
use crate::telemetry::Telemetry;
use crate::{CallDirection, CallId, CallState, ClientError, EndInfo, RegistrationId};
use session_core::{CallHandler, IncomingCall, SessionControl, SessionCoordinator, SessionEvent};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The wall-clock time of `at` (an `Instant` in the past).
pub(crate) fn wall_clock(at: Instant) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(at)
}

/// The tables the client keeps.
#[derive(Default)]
pub(crate) struct State {
    /// Live calls.
    pub(crate) calls: HashMap<CallId, CallInfo>,
    /// Ended calls, oldest first.
    pub(crate) history: VecDeque<CallInfo>,
    /// Registrations.
    pub(crate) regs: BTreeMap<RegistrationId, RegistrationInfo>,
}

/// What the client's handle and its tasks share.
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) events: broadcast::Sender<ClientEvent>,
    /// Told each time a call moves into the history.
    pub(crate) ended: Notify,
    pub(crate) telemetry: Telemetry,
    max_history: usize,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves tables that are still whole
        // (every update is a single insert or field write): keep using them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, event: ClientEvent) {
        tracing::debug!(%event, "event");
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    /// Marks `info` as ended by `end`.
    pub(crate) fn finish(info: &mut CallInfo, end: EndInfo) {
        info.state = CallState::Terminated;
        info.ended_at = Some(SystemTime::now());
        info.talk_time = end.talk_time;
        info.end = Some(end);
    }
}

/// A running client: the coordinator and the tasks that serve it.
struct Running {
    session: Arc<SessionCoordinator>,
    /// The event task first, then the quality task.
    tasks: Vec<JoinHandle<()>>,
}

/// The client: accounts and registrations, calls, media, events. Built by
/// [`ClientBuilder`](crate::ClientBuilder), shared as an `Arc`; [`Self::start`] binds the
/// sockets and registers the configured accounts, [`Self::stop`] unregisters, hangs up and
/// releases every port.
pub struct ClientManager {
    pub(crate) config: ClientConfig,
    pub(crate) shared: Arc<Shared>,
    handler: Option<Arc<dyn DynHandler>>,
    wire_tap: Option<crate::WireTap>,
    media_tap: Option<crate::MediaTap>,
    running: Mutex<Option<Running>>,
    /// Set once stopped: a client is not started twice (its call ids would repeat).
    stopped: std::sync::atomic::AtomicBool,
    me: Weak<ClientManager>,
}

impl std::fmt::Debug for ClientManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientManager").field("running", &self.is_running()).finish_non_exhaustive()
    }
}

/// The session layer's handler: hands each incoming call to the client, which asks the
/// application's handler or applies auto-answer.
struct Bridge {
    client: Arc<OnceLock<Weak<ClientManager>>>,
}

impl CallHandler for Bridge {
    async fn on_incoming_call(&self, call: IncomingCall) -> session_core::CallDecision {
        match self.client.get().and_then(Weak::upgrade) {
            Some(client) => client.decide(call).await,
            None => session_core::CallDecision::Defer,
        }
    }

    async fn on_transfer_request(&self, request: session_core::TransferRequest) -> bool {
        match self.client.get().and_then(Weak::upgrade) {
            Some(client) => match &client.handler {
                Some(h) => {
                    let handle = CallHandle::new(request.id, client.clone());
                    h.transfer(request, handle).await
                }
                None => true,
            },
            None => false,
        }
    }
}

impl ClientManager {
    pub(crate) fn new(
        config: ClientConfig,
        handler: Option<Arc<dyn DynHandler>>,
        (wire_tap, media_tap): (Option<crate::WireTap>, Option<crate::MediaTap>),
    ) -> Arc<ClientManager> {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            events,
            ended: Notify::new(),
            telemetry: Telemetry::new(config.telemetry.metrics),
            max_history: config.calls.max_history,
        });
        Arc::new_cyclic(|me| ClientManager {
            config,
            shared,
            handler,
            wire_tap,
            media_tap,
            running: Mutex::new(None),
            stopped: std::sync::atomic::AtomicBool::new(false),
            me: me.clone(),
        })
    }

    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The coordinator, or `NotRunning`.
    pub(crate) fn session(&self) -> Result<Arc<SessionCoordinator>, ClientError> {
        self.running().as_ref().map(|r| r.session.clone()).ok_or(ClientError::NotRunning)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Is it started and not stopped?
    pub fn is_running(&self) -> bool {
        self.running().is_some()
    }

    /// Binds the SIP and media sockets, starts the event and quality tasks, and registers
    /// every account of the configuration marked `register` (a first failure that can pass
    /// is retried per `registration.retry`; the outcome of each comes as events, and a
    /// failure does not stop the start). Returns once listening. Starting twice is a no-op;
    /// a stopped client cannot start again (build a new one).
    #[tracing::instrument(skip(self))]
    pub async fn start(&self) -> Result<(), ClientError> {
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ClientError::Stopped);
        }
        if self.is_running() {
            return Ok(());
        }
        let slot = Arc::new(OnceLock::new());
        let _ = slot.set(self.me.clone());
        let mut builder = self.config.session_builder().with_handler(Bridge { client: slot });
        if let Some(path) = self.config.media.play_file.clone() {
            // Read and converted once, off this task, to the rate of the preferred codec:
            // calls that use it share the samples; a call on another codec converts them.
            let rate = self
                .config
                .media
                .codecs
                .iter()
                .filter_map(|n| crate::config::codec_by_name(n))
                .find(|c| !c.is_telephone_event())
                .map_or(8000, |c| c.sample_rate());
            let pcm = tokio::task::spawn_blocking(move || session_core::load_wav(path).map(|p| p.at_rate(rate)))
                .await
                .map_err(|_| {
                    ClientError::Session(session_core::SessionError::Bug("the task loading media.play_file panicked"))
                })?
                .map_err(|e| {
                    ClientError::Config(crate::ConfigError {
                        field: "media.play_file".into(),
                        problem: e.to_string(),
                        fix: "convert it to a PCM WAV file (e.g. sox in.wav -b 16 out.wav)".into(),
                    })
                })?;
            builder = builder.media_source(session_core::AudioSource::File(pcm));
        }
        if let Some(tap) = &self.wire_tap {
            builder = builder.wire_tap(tap.clone());
        }
        if let Some(tap) = &self.media_tap {
            builder = builder.media_tap(tap.clone());
        }
        let session = builder.build().await?;
        let events = session.subscribe_events();
        let mut tasks = vec![tokio::spawn(pump(events, Arc::downgrade(&session), self.shared.clone()))];
        if self.config.network.follow_address_changes {
            let every = Duration::from_secs(self.config.network.address_check_secs.max(1));
            tasks.push(tokio::spawn(crate::network::follow_address(every, Arc::downgrade(&session))));
        }
        let interval = self.config.telemetry.quality_interval_ms;
        if interval > 0 {
            let every = Duration::from_millis(interval);
            tasks.push(tokio::spawn(sample_quality(every, Arc::downgrade(&session), self.shared.clone())));
        }
        tracing::info!(address = %session.local_sip_addr(), "client started");
        let lost_race = {
            let mut running = self.running();
            match running.as_ref() {
                Some(_) => Some((session, tasks)),
                None => {
                    *running = Some(Running { session, tasks });
                    None
                }
            }
        };
        if let Some((session, tasks)) = lost_race {
            // Another start won the race; this one's coordinator goes.
            for t in tasks {
                t.abort();
            }
            session.shutdown().await;
            return Ok(());
        }
        for account in self.config.accounts.iter().filter(|a| a.register) {
            if let Err(e) = self.register(account.clone()).await {
                tracing::warn!(aor = %account.aor(), error = %e, "registration at start failed");
                self.shared.emit(ClientEvent::Error {
                    call: None,
                    message: format!("registering {}: {e}", account.aor()),
                    category: e.category(),
                });
            }
        }
        Ok(())
    }

    /// Unregisters every account, hangs up every call, waits for both (bounded by the
    /// session layer: 64·T1, at most 10 s), releases every socket and port, and ends the
    /// tasks. The history stays readable.
    #[tracing::instrument(skip(self))]
    pub async fn stop(&self) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        let Some(running) = self.running().take() else { return };
        running.session.shutdown().await;
        // The event task ends when the coordinator's event channel closes, after it wrote
        // every end into the history.
        let Running { session, mut tasks } = running;
        drop(session);
        // The quality task has nothing to finish: it goes now rather than at its next tick.
        for t in tasks.drain(1..) {
            t.abort();
        }
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        let mut state = self.shared.lock();
        let left: Vec<_> = state.calls.drain().map(|(_, c)| c).collect();
        for mut c in left {
            Shared::finish(&mut c, EndInfo::new(session_core::EndCause::Shutdown, None, "client stopped"));
            push_history(&mut state.history, c, self.shared.max_history);
        }
        state.regs.clear();
        drop(state);
        self.shared.ended.notify_waiters();
        self.shared.telemetry.reset_gauges();
        tracing::info!("client stopped");
    }

    /// Where the SIP listener is reached (as put in Via and Contact).
    pub fn local_address(&self) -> Result<SocketAddr, ClientError> {
        Ok(self.session()?.local_sip_addr())
    }

    /// A URI that reaches this client directly, without a registrar: `sip:USER@IP:PORT`.
    pub fn local_uri(&self, user: &str) -> Result<String, ClientError> {
        Ok(self.session()?.local_uri(user))
    }

    /// Every [`ClientEvent`] from now on, on a tokio broadcast receiver: `recv().await`
    /// gives the next event, `Err(RecvError::Lagged(n))` when this subscriber fell behind
    /// and lost `n` events, `Err(RecvError::Closed)` once the client is gone.
    pub fn subscribe_events(&self) -> broadcast::Receiver<ClientEvent> {
        self.shared.events.subscribe()
    }

    /// The events that pass `filter`.
    pub fn subscribe_filtered(&self, filter: EventFilter) -> EventSubscription {
        EventSubscription::new(self.shared.events.subscribe(), filter)
    }

    /// What the session layer holds now (sessions, dialogs, media streams, transactions,
    /// registrations): all zero once every call and registration is over.
    pub async fn resource_counts(&self) -> Result<session_core::ResourceCounts, ClientError> {
        Ok(self.session()?.resource_counts().await)
    }

    /// What the session layer has turned away or dropped since it started: calls refused
    /// because full, behind or over a source's rate, requests dropped from strangers
    /// (`security.only_from_registrar`), datagrams that were not SIP.
    pub async fn counters(&self) -> Result<session_core::Counters, ClientError> {
        Ok(self.session()?.counters().await)
    }

    /// Decides an incoming call: the application's handler, else auto-answer, else the
    /// call waits for the application.
    async fn decide(self: Arc<Self>, call: IncomingCall) -> session_core::CallDecision {
        let id = call.id;
        let info = {
            let mut state = self.shared.lock();
            state.calls.entry(id).or_insert_with(|| incoming_info(&call)).clone()
        };
        let decision = match &self.handler {
            Some(h) => h.decide(info, CallHandle::new(id, self.clone())).await,
            None if self.config.calls.auto_answer => CallDecision::Accept,
            None => CallDecision::Defer,
        };
        tracing::debug!(call = %id, ?decision, "incoming call decided");
        match decision {
            CallDecision::Accept => session_core::CallDecision::Accept(None),
            CallDecision::Reject(status) => session_core::CallDecision::Reject(status, String::new()),
            CallDecision::Defer => session_core::CallDecision::Defer,
            CallDecision::Forward(uri) => session_core::CallDecision::Forward(uri),
        }
    }
}

impl Drop for ClientManager {
    fn drop(&mut self) {
        if let Some(r) = self.running.get_mut().ok().and_then(Option::take) {
            // Dropping the coordinator stops its driver and frees its sockets.
            for t in r.tasks {
                t.abort();
            }
        }
    }
}

/// A call as its INVITE describes it.
fn incoming_info(call: &IncomingCall) -> CallInfo {
    let mut info = CallInfo::new(call.id, CallDirection::Incoming, call.to_uri(), call.from_uri());
    info.call_id = call.call_id.clone();
    info.remote_headers = call.headers.clone();
    info
}

pub(crate) fn push_history(history: &mut VecDeque<CallInfo>, call: CallInfo, max: usize) {
    while history.len() >= max.max(1) {
        history.pop_front();
    }
    history.push_back(call);
}

/// The event task: the session layer's events, in order, become client events and table
/// updates. It ends when the coordinator is gone.
async fn pump(mut rx: broadcast::Receiver<SessionEvent>, session: Weak<SessionCoordinator>, shared: Arc<Shared>) {
    loop {
        let event = match rx.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // The session layer outran us (1024 events); the tables are resynchronised
                // from it below, and the application is told.
                tracing::warn!(missed = n, "client event task fell behind");
                shared.emit(ClientEvent::Error {
                    call: None,
                    message: format!("{n} session events were missed; call states resynchronised"),
                    category: session_core::ErrorCategory::Resource,
                });
                if let Some(s) = session.upgrade() {
                    resync(&s, &shared).await;
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => break,
        };
        match event {
            SessionEvent::IncomingCall { id, call, .. } => {
                let info = shared.lock().calls.entry(id).or_insert_with(|| incoming_info(&call)).clone();
                shared.telemetry.call_started(CallDirection::Incoming);
                shared.emit(ClientEvent::IncomingCall { call: info });
            }
            SessionEvent::StateChanged { id, old, new } => {
                if new == CallState::Terminated {
                    // The end comes with its reason as `Ended`.
                    continue;
                }
                let known = {
                    let mut state = shared.lock();
                    match state.calls.get_mut(&id) {
                        Some(c) => {
                            c.state = new;
                            if new == CallState::Active && c.answered_at.is_none() {
                                c.answered_at = Some(SystemTime::now());
                            }
                            true
                        }
                        None => false,
                    }
                };
                if !known {
                    if let Some(snapshot) = session.upgrade() {
                        if let Some(s) = snapshot.get_session(id).await {
                            shared.lock().calls.entry(id).or_insert_with(|| CallInfo::from_session(&s)).state = new;
                        }
                    }
                }
                let outgoing = shared.lock().calls.get(&id).is_some_and(|c| c.direction == CallDirection::Outgoing);
                if new == CallState::Active && old != CallState::OnHold && outgoing {
                    // The 2xx's headers are the session layer's to give (an incoming call
                    // has its INVITE's already).
                    if let Some(s) = session.upgrade() {
                        if let Some(snapshot) = s.get_session(id).await {
                            if let Some(c) = shared.lock().calls.get_mut(&id) {
                                c.remote_headers = snapshot.remote_headers;
                            }
                        }
                    }
                }
                shared.emit(ClientEvent::CallStateChanged { id, old, new });
            }
            SessionEvent::Progress { id, status, reason } => {
                shared.emit(ClientEvent::CallProgress { id, status, reason });
            }
            SessionEvent::RemoteHold { id, held } => {
                if let Some(c) = shared.lock().calls.get_mut(&id) {
                    c.remote_hold = held;
                }
                shared.emit(ClientEvent::RemoteHold { id, held });
            }
            SessionEvent::Ended { id, info } => {
                let call = {
                    let mut state = shared.lock();
                    let Some(mut call) = state.calls.remove(&id) else { continue };
                    Shared::finish(&mut call, info);
                    push_history(&mut state.history, call.clone(), shared.max_history);
                    call
                };
                shared.telemetry.call_ended(&call);
                shared.ended.notify_waiters();
                shared.emit(ClientEvent::CallEnded { call });
            }
            SessionEvent::Dtmf { id, digit, duration_ms } => {
                shared.telemetry.dtmf_received();
                shared.emit(ClientEvent::Dtmf { id, digit, duration_ms });
            }
            SessionEvent::RtpTimeout { id, silent_for } => shared.emit(ClientEvent::RtpTimeout { id, silent_for }),
            SessionEvent::RtpResumed { id } => shared.emit(ClientEvent::RtpResumed { id }),
            SessionEvent::AddressChanged { from, to } => shared.emit(ClientEvent::AddressChanged { from, to }),
            SessionEvent::TransferProgress { id, status, reason, done } => {
                shared.emit(ClientEvent::TransferProgress { id, status, reason, done })
            }
            SessionEvent::TransferRequested { request } => shared.emit(ClientEvent::TransferRequested { request }),
            SessionEvent::Message(message) => shared.emit(ClientEvent::MessageReceived { message: *message }),
            SessionEvent::Replaced { old, new } => shared.emit(ClientEvent::CallReplaced { old, new }),
            SessionEvent::Notify(notification) => shared.emit(ClientEvent::Notify { notification: *notification }),
            SessionEvent::SubscriptionEnded { subscription, reason } => {
                shared.emit(ClientEvent::SubscriptionEnded { subscription, reason })
            }
            SessionEvent::Info { id, content_type, body } => {
                shared.emit(ClientEvent::InfoReceived { id, content_type, body })
            }
            SessionEvent::Transferring { id, new_call, target } => {
                {
                    let mut state = shared.lock();
                    let local = state.calls.get(&id).map(|c| c.local_uri.clone()).unwrap_or_default();
                    state.calls.entry(new_call).or_insert_with(|| {
                        let mut info = CallInfo::new(new_call, CallDirection::Outgoing, &local, &target);
                        info.metadata.insert("transferred_from".into(), id.to_string());
                        info
                    });
                }
                shared.telemetry.call_started(CallDirection::Outgoing);
                shared.emit(ClientEvent::Transferring { id, new_call, target });
            }
            SessionEvent::Registration { account, aor, state } => {
                let registered = {
                    let mut tables = shared.lock();
                    let entry =
                        tables.regs.entry(account).or_insert_with(|| RegistrationInfo::new(account, aor.clone()));
                    entry.update(state.clone());
                    tables.regs.values().filter(|r| r.state.is_registered()).count()
                };
                shared.telemetry.registrations(registered, &state);
                shared.emit(ClientEvent::RegistrationStateChanged { id: account, aor, state });
            }
            _ => {}
        }
    }
    tracing::debug!("client event task done");
}

/// Brings the call table back in line with the session layer after missed events.
async fn resync(session: &SessionCoordinator, shared: &Shared) {
    let live = session.list_active_sessions().await;
    let mut state = shared.lock();
    for s in &live {
        let entry = state.calls.entry(s.id).or_insert_with(|| CallInfo::from_session(s));
        entry.state = s.state;
        entry.remote_hold = s.remote_hold;
    }
    let gone: Vec<CallId> = state.calls.keys().filter(|id| !live.iter().any(|s| s.id == **id)).copied().collect();
    for id in gone {
        if let Some(mut c) = state.calls.remove(&id) {
            let end = EndInfo::new(session_core::EndCause::Failed, None, "ended while events were missed");
            Shared::finish(&mut c, end);
            push_history(&mut state.history, c, shared.max_history);
        }
    }
    drop(state);
    shared.ended.notify_waiters();
}

/// The quality task: every `every`, each live call's RTP statistics become a
/// [`ClientEvent::MediaQuality`] and metrics; the session layer's table sizes become
/// gauges. It ends when the coordinator is gone.
async fn sample_quality(every: Duration, session: Weak<SessionCoordinator>, shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(s) = session.upgrade() else { break };
        let live: std::collections::HashSet<CallId> = {
            let state = shared.lock();
            state
                .calls
                .values()
                .filter(|c| matches!(c.state, CallState::Active | CallState::OnHold))
                .map(|c| c.id)
                .collect()
        };
        // One request for every stream, however many calls are up.
        for (id, stats) in s.all_rtp_statistics().await {
            if !live.contains(&id) {
                continue;
            }
            let expected = stats.packets_received as i64 + stats.packets_lost.max(0);
            let loss_fraction = if expected > 0 { stats.packets_lost.max(0) as f64 / expected as f64 } else { 0.0 };
            shared.telemetry.quality(loss_fraction, stats.jitter_ms, stats.mos);
            shared.emit(ClientEvent::MediaQuality {
                id,
                packets_received: stats.packets_received,
                packets_lost: stats.packets_lost,
                loss_fraction,
                jitter_ms: stats.jitter_ms,
                rtt_ms: stats.rtt_ms,
                mos: stats.mos,
            });
        }
        shared.telemetry.resources(&s.resource_counts().await);
    }
}
