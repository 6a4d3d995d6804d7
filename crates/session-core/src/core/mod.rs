//! The session core: every protocol decision of a user agent, sans-IO.
//!
//! [`SessionCore`] owns the transaction layer (`sip-transaction`), the INVITE usage and the
//! registrations (`sip-dialog`), the sessions and accounts, and each call's offer/answer
//! state. It decides everything the layers below leave to their user: the UAS screen of
//! RFC 3261 §8.2, load shedding (503 with Retry-After), the 480 ring timeout, the answers
//! to requests inside and outside dialogs, the §14.1 queue of a re-INVITE behind the
//! peer's, digest answers to requests outside dialogs, and where each request goes next
//! (RFC 3263 fail-over along the resolved targets).
//!
//! It follows the run-loop contract of ARCHITECTURE.md, like the transaction and dialog
//! cores under it:
//!
//! - inputs go in with `now`: [`SessionCore::handle_input`] (a message from the network, a
//!   failed send, an application command, a resolved target list, a bound media port) and
//!   [`SessionCore::handle_timeout`];
//! - outputs come out of [`SessionCore::poll_output`] until it returns `None`: bytes to
//!   transmit, a URI to resolve, a media port to bind, a media action, a reply to a
//!   command, an event for the application;
//! - [`SessionCore::poll_timeout`] says when to call `handle_timeout` next.
//!
//! No tokio, no clock, no socket here: the driver (`driver/`) feeds the inputs and carries
//! out the outputs, and the simulation tests run several cores over a simulated network on
//! a simulated clock. `W` is whatever the driver uses to hand a reply back to the caller of
//! a command (a oneshot sender in the driver, a number in the simulation); the core only
//! stores it and gives it back in [`Output::Reply`].

mod accounts;
mod address;
mod admission;
mod calls;
mod commands;
mod dtmf;
mod early;
mod incoming;
pub(crate) mod media;
mod message;
mod outbound;
mod outside;
mod replaces;
mod route;
mod screen;
mod session;
mod subscribe;
mod transfer;

pub(crate) use commands::{Answer, Command};
pub(crate) use outside::OutsideRequest;
pub(crate) use route::transports_for;
pub(crate) use session::Session;
pub(crate) use subscribe::SubscribeRequest;

use crate::api::{AccountId, EndInfo, SessionEvent, SessionId};
use crate::builder::SessionConfig;
use crate::driver::handler::HandlerEvent;
use crate::error::{SessionError, UnreachableCause};
use accounts::AccountEntry;
use bytes::Bytes;
use media_core::Negotiated;
use outside::Outside;
use route::{Pending, Sent};
use session::Prepared;
use sip_dialog::{CallConfig, Calls, Registrations, ViaTemplate};
use sip_message::{Message, Peer};
use sip_resolve::Target;
use sip_transaction::{TransactionLayer, TxId};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How many ended sessions' outcomes are remembered.
pub(crate) const RECENT_ENDS: usize = 256;

/// Something the core is told, with the time it happened.
#[derive(Debug)]
pub(crate) enum Input<W> {
    /// A message arrived from `source`.
    Message { message: Message, source: Peer },
    /// A send with this token (a transaction's) failed in the transport.
    SendFailed { token: u64, error: sip_transport::TransportError },
    /// The application asks for something; the answer goes back to `reply`.
    Command { command: Command, reply: W },
    /// The answer to [`Output::Resolve`]: targets in the order RFC 3263 tries them.
    Resolved { query: u64, result: Result<Vec<Target>, UnreachableCause> },
    /// The answer to [`Output::BindMedia`]: the stream's RTP address.
    MediaBound { id: SessionId, result: Result<SocketAddr, media_core::MediaError> },
    /// Session `id`'s stream reports something (a digit received, RTP silence).
    Media { id: SessionId, event: media_core::MediaEvent },
    /// A connection to `peer` closed (by the peer, an error, or a keep-alive without pong).
    FlowClosed { peer: Peer, reason: String },
    /// A STUN response came from `source` (the answer to a UDP keep-alive).
    Stun { bytes: Bytes, source: Peer },
    /// What the transport dropped as not SIP since the last time, by source: the load a
    /// garbage flood puts on the agent, weighed when calls are shed (`admission.rs`).
    Noise(sip_transport::Noise),
}

/// What the driver must do to a call's RTP stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MediaAction {
    /// Send and receive as negotiated (again after each completed offer/answer).
    Start(Negotiated),
    /// Send silence (true) or audio.
    Mute(bool),
    /// Send these DTMF digits as RFC 4733 telephone-events.
    Dtmf(String),
    /// Stop the stream and free its ports.
    Close,
}

/// Something the driver must do.
#[derive(Debug)]
pub(crate) enum Output<W> {
    /// Send `bytes` to `to`; a failure comes back as [`Input::SendFailed`] with `token`
    /// (0: nobody needs to hear of it). `server_name` is the TLS name to verify.
    Transmit { to: Peer, bytes: Bytes, token: u64, server_name: Option<String> },
    /// Keep the connection we opened to `to` alive with CRLF pings every `interval` (a
    /// registrar's Flow-Timer, RFC 5626 §4.4.1).
    KeepAlive { to: Peer, interval: std::time::Duration },
    /// Find where `uri` is (RFC 3263); answer with [`Input::Resolved`].
    Resolve { query: u64, uri: String },
    /// Bind an RTP port pair for session `id`; answer with [`Input::MediaBound`].
    BindMedia { id: SessionId },
    /// Act on session `id`'s stream.
    Media { id: SessionId, action: MediaAction },
    /// The answer to a command.
    Reply { to: W, result: Result<Answer, SessionError> },
    /// For the application's event subscribers.
    Event(SessionEvent),
    /// For the application's call handler.
    Handler(HandlerEvent),
    /// The core has finished shutting down: the driver may stop.
    Stopped,
}

/// What a coordinator holds right now: every count is 0 when no call or registration is
/// alive, which tests use to prove that a finished session leaked nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceCounts {
    /// Sessions not yet terminated (prepared calls included).
    pub sessions: usize,
    /// Calls (INVITE usages, with their dialogs) the dialog layer still tracks.
    pub calls: usize,
    /// Dialogs of those calls (confirmed and early).
    pub dialogs: usize,
    /// RTP streams bound (each holds an RTP and an RTCP port and a task).
    pub media_streams: usize,
    /// Server transactions waiting for our final response.
    pub server_transactions: usize,
    /// Accounts with a registration state machine.
    pub registrations: usize,
    /// Subscriptions (RFC 6665) alive.
    pub subscriptions: usize,
}

/// What a coordinator has turned away or dropped since it started, for metrics and for
/// tests that prove bad input was seen and not silently lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Datagrams and WebSocket messages that were not SIP (dropped by the transport).
    pub unparsable: u64,
    /// SIP messages the user agent could not use and dropped: a response to no request of
    /// ours, a request too broken to answer.
    pub dropped: u64,
    /// New calls refused with 503 because the agent was falling behind.
    pub refused_overloaded: u64,
    /// New calls refused with 503 because the agent held `max_sessions` sessions.
    pub refused_full: u64,
    /// New calls refused with 503 because their source was over
    /// [`SessionConfig::max_calls_per_source`](crate::SessionConfig::max_calls_per_source).
    pub refused_source_limit: u64,
    /// New requests outside dialogs dropped unanswered because they came from none of the
    /// servers our accounts register with
    /// ([`SessionConfig::only_from_registrar`](crate::SessionConfig::only_from_registrar)).
    pub from_strangers: u64,
}

/// Who sent a request, so its responses find their way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Calls,
    Registrations(AccountId),
    /// A request outside dialogs made by [`Command::Request`].
    Outside(u64),
    /// A SUBSCRIBE of subscription `n`.
    Subscription(u64),
}

/// Every protocol decision of one user agent. See the module docs.
pub(crate) struct SessionCore<W> {
    pub(crate) cfg: SessionConfig,
    /// Our address as others reach it (Via, Contact).
    pub(crate) advertised: SocketAddr,
    /// Our +sip.instance (RFC 5626 §4.1).
    pub(crate) instance: String,
    /// The last `now` given: what the outputs of one turn are stamped with.
    pub(crate) now: Instant,
    pub(crate) txs: TransactionLayer,
    pub(crate) calls: Calls,
    pub(crate) regs: Registrations<AccountId>,
    pub(crate) accounts: HashMap<AccountId, AccountEntry<W>>,
    pub(crate) sessions: HashMap<SessionId, Session<W>>,
    pub(crate) prepared: HashMap<SessionId, Prepared<W>>,
    /// Our client transactions: who sent each, and the targets left to try.
    pub(crate) sent: HashMap<TxId, Sent>,
    /// Requests waiting for their destination to be resolved.
    pub(crate) resolving: HashMap<u64, Pending>,
    /// Requests outside dialogs made by the application, waiting for their final response.
    pub(crate) outside: HashMap<u64, Outside<W>>,
    /// Our subscriptions (RFC 6665), by number.
    pub(crate) subscriptions: HashMap<u64, subscribe::Subscription<W>>,
    /// Server transactions we have not sent a final response in yet.
    pub(crate) server_txs: HashSet<TxId>,
    /// The last transport failure of each client transaction, to name the cause.
    pub(crate) send_errors: HashMap<TxId, sip_transport::TransportError>,
    /// How the last sessions ended (at most [`RECENT_ENDS`]), so that waiting on a call that
    /// has just ended still says why.
    pub(crate) recent_ends: VecDeque<(SessionId, EndInfo)>,
    /// When each unanswered incoming call is turned away, earliest first.
    pub(crate) ring_deadlines: BTreeSet<(Instant, SessionId)>,
    /// Is the driver falling behind (its receive queue deep)? New calls get 503 then.
    pub(crate) overloaded: bool,
    /// Per-source counts of new INVITEs: who is shed first, and the per-source limit.
    pub(crate) admission: admission::Admission,
    pub(crate) counters: Counters,
    pub(crate) next_id: u64,
    pub(crate) shutdown: Option<(Instant, Vec<W>)>,
    pub(crate) stopped: bool,
    pub(crate) out: VecDeque<Output<W>>,
}

impl<W> SessionCore<W> {
    /// A core for a user agent reachable at `advertised`, with randomness for timing draws
    /// (glare intervals, back-off jitter) from `rng`.
    pub(crate) fn new(
        cfg: SessionConfig,
        advertised: SocketAddr,
        instance: String,
        rng: Box<dyn sip_dialog::RandomSource + Send>,
        now: Instant,
    ) -> SessionCore<W> {
        let transport = cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let admission = admission::Admission::new(cfg.max_calls_per_source);
        let mut call_config = CallConfig::new(
            format!("sip:sipline@{advertised}"),
            ViaTemplate::new(transport.as_str(), advertised.to_string()),
        );
        call_config.t1 = cfg.timers.0;
        call_config.t2 = cfg.timers.1;
        call_config.no_answer_timeout = cfg.no_answer_timeout;
        call_config.session_expires = cfg.session_expires;
        call_config.min_se = u32::try_from(cfg.min_session_expires.as_secs()).unwrap_or(u32::MAX);
        call_config.offer_by_update = cfg.offer_by_update;
        let tx_config =
            sip_transaction::Config { t1: cfg.timers.0, t2: cfg.timers.1, ..sip_transaction::Config::default() };
        SessionCore {
            advertised,
            instance,
            now,
            txs: TransactionLayer::new(tx_config),
            calls: Calls::new(call_config, rng),
            regs: Registrations::new(),
            accounts: HashMap::new(),
            sessions: HashMap::new(),
            prepared: HashMap::new(),
            sent: HashMap::new(),
            resolving: HashMap::new(),
            outside: HashMap::new(),
            subscriptions: HashMap::new(),
            server_txs: HashSet::new(),
            send_errors: HashMap::new(),
            recent_ends: VecDeque::new(),
            ring_deadlines: BTreeSet::new(),
            overloaded: false,
            admission,
            counters: Counters::default(),
            next_id: 0,
            shutdown: None,
            stopped: false,
            out: VecDeque::new(),
            cfg,
        }
    }

    /// Takes one input at `now`; its consequences are then in [`Self::poll_output`].
    pub(crate) fn handle_input(&mut self, now: Instant, input: Input<W>) {
        self.now = now;
        match input {
            Input::Message { message, source } => {
                if self.is_from_stranger(&message, &source) {
                    tracing::debug!(%source.addr, "a new request from none of our registrars: dropped");
                    self.counters.from_strangers += 1;
                    self.admission.noise(now, Some(source.addr.ip()), 1);
                } else {
                    self.txs.handle_message(now, message, source)
                }
            }
            Input::SendFailed { token, error } => {
                if token != 0 {
                    let tx = TxId(token);
                    self.send_errors.insert(tx, error);
                    self.txs.handle_transport_error(now, tx);
                }
            }
            Input::Command { command, reply } => self.command(command, reply),
            Input::Resolved { query, result } => self.resolved(query, result),
            Input::MediaBound { id, result } => self.media_bound(id, result),
            Input::Media { id, event } => self.media_event(id, event),
            Input::FlowClosed { peer, reason } => self.flow_closed(peer, &reason),
            Input::Stun { bytes, source } => self.stun_received(source, &bytes),
            Input::Noise(noise) => {
                for (source, count) in noise.by_source {
                    self.admission.noise(now, Some(source), count);
                }
                if noise.unattributed > 0 {
                    self.admission.noise(now, None, noise.unattributed);
                }
            }
        }
        self.pump();
    }

    /// Fires every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.txs.handle_timeout(now);
        self.calls.handle_timeout(now);
        self.regs.handle_timeout(now);
        self.ring_timeouts(now);
        self.outside_timeouts(now);
        self.subscription_timeouts(now);
        self.keepalive_timeouts(now);
        self.pump();
    }

    /// The next thing to do, or `None` when there is nothing until the next input or
    /// [`Self::poll_timeout`].
    pub(crate) fn poll_output(&mut self) -> Option<Output<W>> {
        self.out.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.txs.poll_timeout(),
            self.calls.poll_timeout(),
            self.regs.poll_timeout(),
            self.shutdown.as_ref().map(|s| s.0),
            self.ring_deadlines.first().map(|(at, _)| *at),
            self.outside_deadline(),
            self.subscription_deadline(),
            self.keepalive_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Tells the core whether the driver is falling behind: while it is, new INVITEs are
    /// refused at once with 503 and Retry-After (RFC 3261 §21.5.4) so that the calls
    /// already taken can complete.
    pub(crate) fn set_overloaded(&mut self, overloaded: bool) {
        if overloaded != self.overloaded {
            tracing::debug!(overloaded, "load state changed");
        }
        self.overloaded = overloaded;
    }

    /// Its counters, with the responses the transaction layer dropped.
    pub(crate) fn counters(&self) -> Counters {
        Counters { dropped: self.counters.dropped + self.txs.dropped(), ..self.counters }
    }

    /// No call alive or being prepared (the driver stops measuring its load then).
    pub(crate) fn is_idle(&self) -> bool {
        self.sessions.is_empty() && self.prepared.is_empty()
    }

    pub(crate) fn emit(&mut self, event: SessionEvent) {
        self.out.push_back(Output::Event(event));
    }

    pub(crate) fn tell_handler(&mut self, event: HandlerEvent) {
        self.out.push_back(Output::Handler(event));
    }

    pub(crate) fn reply(&mut self, to: W, result: Result<Answer, SessionError>) {
        self.out.push_back(Output::Reply { to, result });
    }

    pub(crate) fn media(&mut self, id: SessionId, action: MediaAction) {
        self.out.push_back(Output::Media { id, action });
    }

    /// Carries the layers' outputs through until all are quiet: transmissions go out,
    /// events and requests of one layer become inputs of another.
    ///
    /// One output of the dialog layer at a time, with what it made the transaction layer
    /// send moved out right after it: outputs leave in the order they were caused (the ACK
    /// of a 2xx before the reply that tells the application the call is answered).
    fn pump(&mut self) {
        loop {
            while let Some(out) = self.txs.poll_output() {
                match out {
                    sip_transaction::Output::Transmit { to, bytes, tx } => {
                        let server_name = tx.and_then(|t| self.sent.get(&t)).and_then(|s| s.server_name.clone());
                        self.out.push_back(Output::Transmit { to, bytes, token: tx.map_or(0, |t| t.0), server_name });
                    }
                    sip_transaction::Output::Event(e) => self.transaction_event(e),
                }
            }
            if let Some(out) = self.calls.poll_output() {
                self.call_output(out);
            } else if let Some((id, out)) = self.regs.poll_output() {
                self.registration_output(id, out);
            } else {
                break;
            }
        }
        self.check_shutdown();
    }

    /// What it holds right now; `media_streams` counts the streams it asked to be bound
    /// and has not closed.
    pub(crate) fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            sessions: self.sessions.len() + self.prepared.len(),
            calls: self.calls.len(),
            dialogs: self
                .calls
                .keys()
                .map(|k| usize::from(self.calls.dialog(k).is_some()) + self.calls.early_dialogs(k).len())
                .sum(),
            media_streams: self.sessions.values().filter(|s| s.has_media()).count()
                + self.prepared.values().filter(|p| p.has_media()).count(),
            server_transactions: self.server_txs.len(),
            registrations: self.regs.len(),
            subscriptions: self.subscriptions.len(),
        }
    }

    /// A shutdown ends when every call and registration is gone, or at its deadline; then
    /// the sessions still alive end as shut down.
    fn check_shutdown(&mut self) {
        let Some((deadline, _)) = &self.shutdown else { return };
        let idle = self.sessions.is_empty() && self.regs.is_empty();
        if !idle && self.now < *deadline {
            return;
        }
        let Some((_, waiters)) = self.shutdown.take() else { return };
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in ids {
            let reason = "shut down".to_owned();
            let info = EndInfo::new(crate::api::EndCause::Shutdown, None, reason);
            self.end_session(id, info);
        }
        let prepared: Vec<SessionId> = self.prepared.keys().copied().collect();
        for id in prepared {
            self.drop_prepared(id);
        }
        for w in waiters {
            self.reply(w, Ok(Answer::Unit));
        }
        self.stopped = true;
        self.out.push_back(Output::Stopped);
    }

    /// The grace a shutdown gives calls and registrations to end: 64·T1, at most 10 s.
    pub(crate) fn shutdown_grace(&self) -> Duration {
        (self.cfg.timers.0 * 64).min(Duration::from_secs(10))
    }
}
