//! [`ClientEvent`]: what the client tells the application, with an [`EventPriority`], a
//! readable `Display`, and an [`EventFilter`] to pick what a subscriber wants.
//!
//! Events travel on a tokio broadcast channel (re-exported as [`broadcast`]): every
//! subscriber gets every event from the moment it subscribed. A subscriber that falls more
//! than [`EVENT_CAPACITY`] events behind loses the oldest and is told how many on its next
//! receive — `Err(RecvError::Lagged(n))` from [`ClientManager::subscribe_events`], or
//! [`SubscriptionError::Lagged`] from an [`EventSubscription`] — and then goes on with
//! the newest. Nothing in the client waits for a slow subscriber.
//!
//! [`ClientManager::subscribe_events`]: crate::ClientManager::subscribe_events

use crate::{
    CallId, CallInfo, CallState, InstantMessage, Notification, RegistrationId, RegistrationState, SubscriptionId,
    TransferRequest,
};
use session_core::ErrorCategory;
use std::fmt;
use std::time::Duration;

pub use tokio::sync::broadcast;

/// How many events a subscriber may fall behind before it loses the oldest.
pub const EVENT_CAPACITY: usize = 1024;

/// How much an event matters, for filtering and for how loudly a UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventPriority {
    /// Progress and periodic samples (a 180, a quality sample).
    Low,
    /// Ordinary changes (a call answered, held, a registration refreshed).
    Normal,
    /// Something needs a person or a program to act (an incoming call, a call ended).
    High,
    /// Something broke (a registration lost for good, an error).
    Critical,
}

/// Something that happened in the client.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A call arrived and waits for a decision ([`crate::ClientManager::answer_call`] or
    /// `reject_call`), unless a handler or auto-answer already took it.
    IncomingCall {
        /// The call as it arrived: caller, headers.
        call: CallInfo,
    },
    /// A call changed state.
    CallStateChanged {
        /// The call.
        id: CallId,
        /// Before.
        old: CallState,
        /// After.
        new: CallState,
    },
    /// A provisional response to a call we made (180 Ringing, 183 Session Progress).
    CallProgress {
        /// The call.
        id: CallId,
        /// The status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// The far end put the call on hold or took it off.
    RemoteHold {
        /// The call.
        id: CallId,
        /// On hold now?
        held: bool,
    },
    /// A call ended; `call` is its history entry: why, how long, its final RTP statistics.
    CallEnded {
        /// The call, as the history keeps it.
        call: CallInfo,
    },
    /// An account's registration changed state.
    RegistrationStateChanged {
        /// The registration.
        id: RegistrationId,
        /// The address of record.
        aor: String,
        /// The new state.
        state: RegistrationState,
    },
    /// A sample of a live call's media quality.
    MediaQuality {
        /// The call.
        id: CallId,
        /// Packets received so far.
        packets_received: u64,
        /// Packets lost so far (RFC 3550 cumulative loss).
        packets_lost: i64,
        /// Lost packets per expected packet since the call began, 0 to 1.
        loss_fraction: f64,
        /// Interarrival jitter, milliseconds.
        jitter_ms: f64,
        /// The round-trip time from RTCP, once the peer has reported.
        rtt_ms: Option<f64>,
        /// The MOS estimate (ITU-T G.107 E-model), once audio has arrived.
        mos: Option<f64>,
    },
    /// The far end pressed a DTMF key (RFC 4733 telephone-event or SIP INFO).
    Dtmf {
        /// The call.
        id: CallId,
        /// The digit: 0-9, *, #, A-D.
        digit: char,
        /// How long it was pressed, in milliseconds (0 when the far end did not say).
        duration_ms: u32,
    },
    /// No RTP has arrived for `media.rtp_timeout_secs` although the far end should be
    /// sending: it may be gone.
    RtpTimeout {
        /// The call.
        id: CallId,
        /// How long it has been silent.
        silent_for: Duration,
    },
    /// RTP arrives again after an [`ClientEvent::RtpTimeout`].
    RtpResumed {
        /// The call.
        id: CallId,
    },
    /// How our transfer of call `id` goes ([`ClientManager::transfer_call`](crate::ClientManager::transfer_call)):
    /// 202 when the far end accepted, then the status of its call to the target (100, 180,
    /// 200, 486, ...). `done` marks the last; a 2xx there means the far end is talking to
    /// the target and the call ends as transferred.
    TransferProgress {
        /// The call being transferred.
        id: CallId,
        /// The status.
        status: u16,
        /// Its reason phrase.
        reason: String,
        /// The last word on this transfer.
        done: bool,
    },
    /// The far end of call `request.id` asks us to call someone else (the handler decides;
    /// without one the client accepts).
    TransferRequested {
        /// What it asks.
        request: TransferRequest,
    },
    /// We accepted the far end's transfer of call `id` and are calling `target` as
    /// `new_call`.
    Transferring {
        /// The call that was transferred.
        id: CallId,
        /// The call to the target.
        new_call: CallId,
        /// The target.
        target: String,
    },
    /// A new incoming call (`new`) takes over call `old` (the far end's attended transfer):
    /// it is answered at once, and `old` ends when it is up.
    CallReplaced {
        /// The call being replaced.
        old: CallId,
        /// The call replacing it.
        new: CallId,
    },
    /// A NOTIFY for one of our subscriptions ([`ClientManager::subscribe`](crate::ClientManager::subscribe)).
    Notify {
        /// The subscription, the state and the body.
        notification: Notification,
    },
    /// A subscription is over and will not be renewed.
    SubscriptionEnded {
        /// The subscription.
        subscription: SubscriptionId,
        /// Why.
        reason: String,
    },
    /// A MESSAGE reached us (answered 200), outside a call or in one.
    MessageReceived {
        /// Who sent it, to whom, and what.
        message: InstantMessage,
    },
    /// An INFO in a call that carried no DTMF digit (answered 200).
    InfoReceived {
        /// The call.
        id: CallId,
        /// Its Content-Type, if it had a body.
        content_type: Option<String>,
        /// Its body.
        body: Vec<u8>,
    },
    /// The host's address changed: every account is registering the new one, every call
    /// that is up is being refreshed with a re-INVITE.
    AddressChanged {
        /// The SIP address we were reached at.
        from: std::net::SocketAddr,
        /// The SIP address we are reached at now.
        to: std::net::SocketAddr,
    },
    /// Something failed in the background (a registration retry given up, a handler's
    /// decision that could not be carried out).
    Error {
        /// The call concerned, if one is.
        call: Option<CallId>,
        /// What failed.
        message: String,
        /// Its category.
        category: ErrorCategory,
    },
}

/// The kinds of [`ClientEvent`], for an [`EventFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// [`ClientEvent::IncomingCall`].
    IncomingCall,
    /// [`ClientEvent::CallStateChanged`].
    CallState,
    /// [`ClientEvent::CallProgress`].
    CallProgress,
    /// [`ClientEvent::RemoteHold`].
    RemoteHold,
    /// [`ClientEvent::CallEnded`].
    CallEnded,
    /// [`ClientEvent::RegistrationStateChanged`].
    Registration,
    /// [`ClientEvent::MediaQuality`].
    MediaQuality,
    /// [`ClientEvent::Dtmf`].
    Dtmf,
    /// [`ClientEvent::RtpTimeout`] and [`ClientEvent::RtpResumed`].
    MediaTimeout,
    /// [`ClientEvent::AddressChanged`].
    Network,
    /// [`ClientEvent::TransferProgress`], [`ClientEvent::TransferRequested`] and
    /// [`ClientEvent::Transferring`].
    Transfer,
    /// [`ClientEvent::MessageReceived`] and [`ClientEvent::InfoReceived`].
    Message,
    /// [`ClientEvent::Notify`] and [`ClientEvent::SubscriptionEnded`].
    Subscription,
    /// [`ClientEvent::Error`].
    Error,
}

impl ClientEvent {
    /// How much it matters.
    pub fn priority(&self) -> EventPriority {
        match self {
            ClientEvent::IncomingCall { .. } | ClientEvent::CallEnded { .. } => EventPriority::High,
            ClientEvent::CallStateChanged { .. }
            | ClientEvent::RemoteHold { .. }
            | ClientEvent::Dtmf { .. }
            | ClientEvent::RtpResumed { .. }
            | ClientEvent::TransferProgress { .. }
            | ClientEvent::Transferring { .. }
            | ClientEvent::CallReplaced { .. } => EventPriority::Normal,
            ClientEvent::TransferRequested { .. } | ClientEvent::MessageReceived { .. } => EventPriority::High,
            ClientEvent::InfoReceived { .. } | ClientEvent::Notify { .. } => EventPriority::Normal,
            ClientEvent::SubscriptionEnded { .. } => EventPriority::High,
            ClientEvent::RtpTimeout { .. } | ClientEvent::AddressChanged { .. } => EventPriority::High,
            ClientEvent::CallProgress { .. } | ClientEvent::MediaQuality { .. } => EventPriority::Low,
            ClientEvent::RegistrationStateChanged { state, .. } => match state {
                RegistrationState::AuthFailed { .. } | RegistrationState::Failed { .. } => EventPriority::Critical,
                RegistrationState::RetryWait { .. } => EventPriority::High,
                _ => EventPriority::Normal,
            },
            ClientEvent::Error { .. } => EventPriority::Critical,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            ClientEvent::IncomingCall { .. } => EventKind::IncomingCall,
            ClientEvent::CallStateChanged { .. } => EventKind::CallState,
            ClientEvent::CallProgress { .. } => EventKind::CallProgress,
            ClientEvent::RemoteHold { .. } => EventKind::RemoteHold,
            ClientEvent::CallEnded { .. } => EventKind::CallEnded,
            ClientEvent::RegistrationStateChanged { .. } => EventKind::Registration,
            ClientEvent::MediaQuality { .. } => EventKind::MediaQuality,
            ClientEvent::Dtmf { .. } => EventKind::Dtmf,
            ClientEvent::RtpTimeout { .. } | ClientEvent::RtpResumed { .. } => EventKind::MediaTimeout,
            ClientEvent::AddressChanged { .. } => EventKind::Network,
            ClientEvent::MessageReceived { .. } | ClientEvent::InfoReceived { .. } => EventKind::Message,
            ClientEvent::Notify { .. } | ClientEvent::SubscriptionEnded { .. } => EventKind::Subscription,
            ClientEvent::TransferProgress { .. }
            | ClientEvent::TransferRequested { .. }
            | ClientEvent::Transferring { .. }
            | ClientEvent::CallReplaced { .. } => EventKind::Transfer,
            ClientEvent::Error { .. } => EventKind::Error,
        }
    }

    /// The call it is about, if any.
    pub fn call_id(&self) -> Option<CallId> {
        match self {
            ClientEvent::IncomingCall { call } | ClientEvent::CallEnded { call } => Some(call.id),
            ClientEvent::CallStateChanged { id, .. }
            | ClientEvent::CallProgress { id, .. }
            | ClientEvent::RemoteHold { id, .. }
            | ClientEvent::MediaQuality { id, .. }
            | ClientEvent::Dtmf { id, .. }
            | ClientEvent::RtpTimeout { id, .. }
            | ClientEvent::RtpResumed { id }
            | ClientEvent::TransferProgress { id, .. }
            | ClientEvent::Transferring { id, .. } => Some(*id),
            ClientEvent::TransferRequested { request } => Some(request.id),
            ClientEvent::CallReplaced { old, .. } => Some(*old),
            ClientEvent::MessageReceived { message } => message.call,
            ClientEvent::InfoReceived { id, .. } => Some(*id),
            ClientEvent::Notify { .. } | ClientEvent::SubscriptionEnded { .. } => None,
            ClientEvent::Error { call, .. } => *call,
            ClientEvent::RegistrationStateChanged { .. } | ClientEvent::AddressChanged { .. } => None,
        }
    }
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::IncomingCall { call } => write!(f, "{} incoming call from {}", call.id, call.remote_uri),
            ClientEvent::CallStateChanged { id, old, new } => match (old, new) {
                (CallState::OnHold, CallState::Active) => write!(f, "{id} resumed"),
                (_, CallState::Active) => write!(f, "{id} answered"),
                (_, CallState::OnHold) => write!(f, "{id} held"),
                (_, CallState::Terminating) => write!(f, "{id} hanging up"),
                _ => write!(f, "{id} {new}"),
            },
            ClientEvent::CallProgress { id, status, reason } => write!(f, "{id} {status} {reason}"),
            ClientEvent::RemoteHold { id, held: true } => write!(f, "{id} held by the remote side"),
            ClientEvent::RemoteHold { id, held: false } => write!(f, "{id} resumed by the remote side"),
            ClientEvent::CallEnded { call } => {
                write!(f, "{} ended", call.id)?;
                if let Some(end) = &call.end {
                    write!(f, ": {end}")?;
                }
                if let Some(t) = call.talk_time {
                    write!(f, " after {:.1} s", t.as_secs_f64())?;
                }
                Ok(())
            }
            ClientEvent::RegistrationStateChanged { id, aor, state } => {
                write!(f, "{id} {aor} {}", crate::registrations::describe(state))
            }
            ClientEvent::MediaQuality { id, packets_received, loss_fraction, jitter_ms, mos, .. } => {
                write!(
                    f,
                    "{id} quality: {packets_received} packets received, {:.1} % lost, jitter {jitter_ms:.1} ms",
                    loss_fraction * 100.0
                )?;
                match mos {
                    Some(mos) => write!(f, ", MOS {mos:.2}"),
                    None => Ok(()),
                }
            }
            ClientEvent::Dtmf { id, digit, duration_ms } => write!(f, "{id} DTMF {digit} ({duration_ms} ms)"),
            ClientEvent::RtpTimeout { id, silent_for } => {
                write!(f, "{id} no RTP from the far end for {:.1} s", silent_for.as_secs_f64())
            }
            ClientEvent::RtpResumed { id } => write!(f, "{id} RTP from the far end again"),
            ClientEvent::TransferProgress { id, status, reason, done } => {
                let outcome = match (*done, *status) {
                    (false, _) => "",
                    (true, 200..=299) => " (transferred)",
                    (true, _) => " (transfer failed)",
                };
                write!(f, "{id} transfer: {status} {reason}{outcome}")
            }
            ClientEvent::TransferRequested { request } => {
                write!(f, "{} asked to call {}", request.id, request.target)?;
                match &request.referred_by {
                    Some(by) => write!(f, " by {by}"),
                    None => Ok(()),
                }
            }
            ClientEvent::CallReplaced { old, new } => write!(f, "{new} replaces {old}"),
            ClientEvent::Transferring { id, new_call, target } => {
                write!(f, "{id} transferred: {new_call} calls {target}")
            }
            ClientEvent::MessageReceived { message } => {
                if let Some(id) = message.call {
                    write!(f, "{id} ")?;
                }
                if message.content_type.starts_with("text/") {
                    write!(f, "message from {}: {}", message.from, message.text().trim_end())
                } else {
                    write!(f, "message from {}: {} bytes of {}", message.from, message.body.len(), message.content_type)
                }
            }
            ClientEvent::Notify { notification: n } => {
                write!(f, "{} {} ({}", n.subscription, n.event, n.state)?;
                if let Some(reason) = &n.reason {
                    write!(f, ", {reason}")?;
                }
                write!(f, ")")?;
                if let Some(s) = n.message_summary() {
                    write!(f, ": messages waiting: {}", if s.waiting { "yes" } else { "no" })?;
                    if let Some(v) = s.voice {
                        write!(f, ", voice {} new / {} old", v.new, v.old)?;
                        if v.urgent_new + v.urgent_old > 0 {
                            write!(f, " ({} / {} urgent)", v.urgent_new, v.urgent_old)?;
                        }
                    }
                    Ok(())
                } else if let Some(open) = n.presence_open() {
                    write!(f, ": {}", if open { "open" } else { "closed" })
                } else if let Some(dialogs) = n.dialog_states() {
                    let states: Vec<&str> = dialogs.iter().map(|d| d.state.as_str()).collect();
                    write!(f, ": {} dialog(s) [{}]", dialogs.len(), states.join(", "))
                } else if !n.body.is_empty() {
                    write!(f, ": {} bytes of {}", n.body.len(), n.content_type.as_deref().unwrap_or("body"))
                } else {
                    Ok(())
                }
            }
            ClientEvent::SubscriptionEnded { subscription, reason } => write!(f, "{subscription} ended: {reason}"),
            ClientEvent::InfoReceived { id, content_type, body } => {
                write!(f, "{id} INFO: {} bytes of {}", body.len(), content_type.as_deref().unwrap_or("nothing"))
            }
            ClientEvent::AddressChanged { from, to } => {
                write!(f, "address changed from {from} to {to}: registering it and refreshing calls")
            }
            ClientEvent::Error { call: Some(id), message, .. } => write!(f, "{id} error: {message}"),
            ClientEvent::Error { call: None, message, .. } => write!(f, "error: {message}"),
        }
    }
}

/// Which events a subscriber wants: at least a priority, only some kinds, only one call.
/// The default lets everything through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// The lowest priority let through.
    pub min_priority: Option<EventPriority>,
    /// The kinds let through (all when empty).
    pub kinds: Vec<EventKind>,
    /// Only events about this call (registration events never match).
    pub call: Option<CallId>,
}

impl EventFilter {
    /// Everything.
    pub fn all() -> EventFilter {
        EventFilter::default()
    }

    /// Only events of at least `priority`.
    pub fn min_priority(mut self, priority: EventPriority) -> EventFilter {
        self.min_priority = Some(priority);
        self
    }

    /// Only these kinds.
    pub fn kinds(mut self, kinds: &[EventKind]) -> EventFilter {
        self.kinds = kinds.to_vec();
        self
    }

    /// Only events about `call`.
    pub fn call(mut self, call: CallId) -> EventFilter {
        self.call = Some(call);
        self
    }

    /// Does `event` pass?
    pub fn matches(&self, event: &ClientEvent) -> bool {
        self.min_priority.is_none_or(|p| event.priority() >= p)
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && self.call.is_none_or(|c| event.call_id() == Some(c))
    }
}

/// Why [`EventSubscription::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionError {
    /// The subscriber fell behind and this many events were lost; the next receive goes on
    /// with the oldest event still kept.
    Lagged(u64),
    /// The client is gone: no event will come.
    Closed,
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionError::Lagged(n) => write!(f, "fell behind: {n} events missed"),
            SubscriptionError::Closed => f.write_str("the client is gone"),
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// The events that pass a filter, from [`crate::ClientManager::subscribe_filtered`].
#[derive(Debug)]
pub struct EventSubscription {
    rx: broadcast::Receiver<ClientEvent>,
    filter: EventFilter,
}

impl EventSubscription {
    pub(crate) fn new(rx: broadcast::Receiver<ClientEvent>, filter: EventFilter) -> EventSubscription {
        EventSubscription { rx, filter }
    }

    /// The next event that passes the filter.
    pub async fn recv(&mut self) -> Result<ClientEvent, SubscriptionError> {
        loop {
            match self.rx.recv().await {
                Ok(e) if self.filter.matches(&e) => return Ok(e),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(SubscriptionError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(SubscriptionError::Closed),
            }
        }
    }
}
