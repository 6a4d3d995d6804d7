//! One session's bookkeeping in the core — its state, media and waiters — and the two
//! moves every call makes: changing state and ending.

use super::media::CallSdp;
use super::{Answer, MediaAction, SessionCore, RECENT_ENDS};
use crate::api::{CallDirection, CallSession, EndCause, EndInfo, SessionEvent, SessionId, SessionState};
use crate::driver::handler::HandlerEvent;
use crate::error::SessionError;
use sip_dialog::CallKey;
use std::time::Instant;

/// Where a session's media stands.
pub(crate) enum MediaSlot {
    /// The application supplied its own SDP: it owns the media.
    None,
    /// A port is being bound for it.
    Binding,
    /// Our stream, with its offer/answer state.
    Ours(Box<CallSdp>),
}

/// A call in the core.
pub(crate) struct Session<W> {
    /// The call's one id: the dialog layer knows it as `CallKey(id.0)` ([`Session::key`]).
    pub(crate) id: SessionId,
    /// The Call-ID of its dialog (all its forks and redirected INVITEs share the key, not
    /// always the Call-ID: a redirect keeps it, RFC 3261 §8.1.3.4).
    pub(crate) call_id: String,
    /// The reason phrase of the last final failure to our INVITE.
    pub(crate) final_reason: Option<String>,
    /// Why our INVITE got no response at all (no address, every target down).
    pub(crate) local_failure: Option<crate::error::Unreachable>,
    pub(crate) direction: CallDirection,
    pub(crate) local_uri: String,
    pub(crate) remote_uri: String,
    pub(crate) state: SessionState,
    pub(crate) remote_hold: bool,
    pub(crate) muted: bool,
    pub(crate) created_at: Instant,
    pub(crate) answered_at: Option<Instant>,
    pub(crate) media: MediaSlot,
    /// When an incoming call nobody answers is turned away (`SessionConfig::ring_timeout`,
    /// or the INVITE's Expires, RFC 3261 §13.3.1).
    pub(crate) ring_deadline: Option<Instant>,
    /// The offer of the INVITE we received.
    pub(crate) remote_offer: Option<String>,
    /// The headers of the peer's INVITE, or of the 2xx that answered ours.
    pub(crate) remote_headers: Vec<(String, String)>,
    /// Set when we refuse the call's offer (488), so the end says so.
    pub(crate) media_failed: bool,
    /// Why our offer's answer was refused by the media policy (SRTP required, no key): the
    /// call is ended with this as its reason.
    pub(crate) media_failure: Option<String>,
    /// An accept waiting for the media port (`None` inside: the handler's, nobody waits).
    pub(crate) accepting: Option<Option<W>>,
    pub(crate) answer_waiters: Vec<W>,
    pub(crate) end_waiters: Vec<W>,
    /// Our re-INVITE in progress: hold (true) or resume, and who waits for it (nobody for
    /// a target refresh after our address changed).
    pub(crate) reinvite: Option<(bool, Option<W>)>,
    /// Our address changed while a re-INVITE was in progress: a target refresh goes when
    /// it completes.
    pub(crate) refresh_pending: bool,
    /// A hold or resume asked for while an INVITE transaction of the peer's was still open
    /// (RFC 3261 §14.1 forbids overlapping them): sent when that one completes.
    pub(crate) queued: Option<(bool, W)>,
    /// DTMF digits waiting to go as SIP INFO, and whether one is in flight (they go one at
    /// a time, so they arrive in order).
    pub(crate) info_digits: std::collections::VecDeque<char>,
    pub(crate) info_in_flight: bool,
    /// Our REFER of this call (we transfer the peer), and who waits for its answer.
    pub(crate) transfer: Option<super::transfer::Transfer<W>>,
    /// The peer's REFER waiting for the application's decision.
    pub(crate) refer: Option<super::transfer::Refer>,
    /// The call we placed for the peer's REFER: its progress is NOTIFYed here.
    pub(crate) referred_call: Option<SessionId>,
    /// A NOTIFY of ours for the peer's REFER is waiting for its answer; the newest status
    /// to report after it. One at a time, so a final status cannot overtake a provisional
    /// one and end the call while the older NOTIFY is still being retransmitted.
    pub(crate) notify_in_flight: bool,
    pub(crate) notify_next: Option<(u16, String)>,
    /// The peer's accepted REFER asked for no subscription (RFC 4488): no NOTIFYs go.
    pub(crate) refer_unsubscribed: bool,
    /// The call whose peer's REFER made this one: this call's progress goes there.
    pub(crate) referred_by: Option<SessionId>,
    /// The call was transferred: its end says so.
    pub(crate) transferred: bool,
    /// The call this one replaces (an INVITE with Replaces, RFC 3891).
    pub(crate) replaces: Option<SessionId>,
    /// Another call replaced this one: its end says so.
    pub(crate) replaced: bool,
    /// We hung up because the peer's RTP stopped
    /// ([`SessionConfig::end_on_rtp_timeout`](crate::SessionConfig::end_on_rtp_timeout)).
    pub(crate) rtp_timed_out: bool,
    /// Early media of ours (a 183 with our answer) for this incoming call.
    pub(crate) early: Option<super::early::Early<W>>,
}

/// A call made with `prepare_outgoing_call` and not sent yet.
pub(crate) struct Prepared<W> {
    pub(crate) from: String,
    pub(crate) to: String,
    /// The offer: the application's, or ours once the port is bound.
    pub(crate) offer: Option<String>,
    /// The application's extra INVITE headers.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) media: MediaSlot,
    /// Who waits for the offer while the port is being bound.
    pub(crate) waiting: Option<W>,
    /// Placed for the peer's REFER in this call: sent as soon as its port is bound.
    pub(crate) referred_by: Option<SessionId>,
}

impl MediaSlot {
    pub(crate) fn is_ours(&self) -> bool {
        !matches!(self, MediaSlot::None)
    }

    pub(crate) fn sdp(&mut self) -> Option<&mut CallSdp> {
        match self {
            MediaSlot::Ours(m) => Some(m),
            _ => None,
        }
    }
}

impl<W> Prepared<W> {
    pub(crate) fn has_media(&self) -> bool {
        self.media.is_ours()
    }
}

impl<W> Session<W> {
    /// A new session in `state`, with nothing pending.
    pub(crate) fn new(
        id: SessionId,
        call_id: String,
        direction: CallDirection,
        (local_uri, remote_uri): (String, String),
        state: SessionState,
        now: Instant,
    ) -> Session<W> {
        Session {
            id,
            call_id,
            final_reason: None,
            local_failure: None,
            direction,
            local_uri,
            remote_uri,
            state,
            remote_hold: false,
            muted: false,
            created_at: now,
            answered_at: None,
            media: MediaSlot::None,
            ring_deadline: None,
            remote_offer: None,
            remote_headers: Vec::new(),
            media_failed: false,
            media_failure: None,
            accepting: None,
            answer_waiters: Vec::new(),
            end_waiters: Vec::new(),
            reinvite: None,
            queued: None,
            refresh_pending: false,
            info_digits: std::collections::VecDeque::new(),
            info_in_flight: false,
            transfer: None,
            refer: None,
            referred_call: None,
            notify_in_flight: false,
            notify_next: None,
            refer_unsubscribed: false,
            referred_by: None,
            transferred: false,
            rtp_timed_out: false,
            early: None,
            replaces: None,
            replaced: false,
        }
    }

    pub(crate) fn has_media(&self) -> bool {
        self.media.is_ours()
    }

    /// The call's key in the dialog layer: the same number as its id.
    pub(crate) fn key(&self) -> CallKey {
        key_of(self.id)
    }

    pub(crate) fn snapshot(&self) -> CallSession {
        CallSession {
            id: self.id,
            direction: self.direction,
            local_uri: self.local_uri.clone(),
            remote_uri: self.remote_uri.clone(),
            state: self.state,
            remote_hold: self.remote_hold,
            muted: self.muted,
            created_at: self.created_at,
            answered_at: self.answered_at,
            end: None,
            call_id: self.call_id.clone(),
            remote_headers: self.remote_headers.clone(),
        }
    }
}

/// The dialog layer's key of call `id` (one number names a call from the API down).
pub(crate) fn key_of(id: SessionId) -> CallKey {
    CallKey(id.0)
}

/// The session of the dialog layer's call `key`.
pub(crate) fn id_of(key: CallKey) -> SessionId {
    SessionId(key.0)
}

/// The error a waiter gets when the call ended before what it waited for.
pub(crate) fn ended_error(info: &EndInfo) -> SessionError {
    if let (EndCause::Unreachable, Some(u)) = (info.cause, &info.unreachable) {
        return SessionError::Unreachable(u.clone());
    }
    match (info.cause, info.status) {
        (EndCause::AuthFailed, _) => SessionError::AuthFailed(info.reason.clone()),
        (_, Some(status)) if status >= 300 => SessionError::Rejected { status, reason: info.reason.clone() },
        (EndCause::Shutdown, _) => SessionError::Closed,
        _ => SessionError::InvalidState { operation: "wait for", state: format!("ended ({info})") },
    }
}

impl<W> SessionCore<W> {
    /// Moves session `id` to `new`, telling events and the handler.
    pub(crate) fn set_state(&mut self, id: SessionId, new: SessionState) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let old = s.state;
        if old == new {
            return;
        }
        s.state = new;
        if old == SessionState::Incoming {
            if let Some(at) = s.ring_deadline.take() {
                self.ring_deadlines.remove(&(at, id));
            }
        }
        if new == SessionState::Active && s.answered_at.is_none() {
            s.answered_at = Some(now);
        }
        tracing::debug!(session = %id, %old, %new, "state");
        self.emit(SessionEvent::StateChanged { id, old, new });
        self.tell_handler(HandlerEvent::State(id, old, new));
    }

    /// The call is up: waiters hear it, and the handler.
    pub(crate) fn established(&mut self, id: SessionId) {
        self.set_state(id, SessionState::Active);
        self.referred_progress(id, 200, "OK");
        self.replacement_established(id);
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let snapshot = s.snapshot();
        let waiters: Vec<W> = s.answer_waiters.drain(..).collect();
        for w in waiters {
            self.reply(w, Ok(Answer::Session(snapshot.clone())));
        }
        self.tell_handler(HandlerEvent::Established(snapshot));
    }

    /// Session `id` is over: its media stops, everyone waiting hears why, and it is
    /// forgotten.
    pub(crate) fn end_session(&mut self, id: SessionId, mut info: EndInfo) {
        self.referred_ended(id, &info);
        self.set_state(id, SessionState::Terminated);
        let Some(mut s) = self.sessions.remove(&id) else { return };
        info.talk_time = s.answered_at.map(|at| self.now.saturating_duration_since(at));
        if let Some(at) = s.ring_deadline.take() {
            self.ring_deadlines.remove(&(at, id));
        }
        if s.has_media() {
            // A port still being bound is closed when the bind reports back (no session).
            if matches!(s.media, MediaSlot::Ours(_)) {
                self.media(id, MediaAction::Close);
            }
        }
        let was_up = s.answered_at.is_some();
        let mut snapshot = s.snapshot();
        snapshot.end = Some(info.clone());
        for w in s.answer_waiters.drain(..) {
            self.reply(w, Err(ended_error(&info)));
        }
        for w in s.end_waiters.drain(..) {
            self.reply(w, Ok(Answer::End(id, info.clone())));
        }
        let pending = s
            .reinvite
            .take()
            .and_then(|(_, w)| w)
            .into_iter()
            .chain(s.queued.take().map(|(_, w)| w))
            .chain(s.transfer.take().and_then(|t| t.waiting))
            .chain(s.early.take().and_then(super::early::Early::into_waiter));
        for w in pending.chain(s.accepting.take().flatten()) {
            self.reply(w, Err(ended_error(&info)));
        }
        tracing::debug!(session = %id, end = %info, "ended");
        if self.recent_ends.len() == RECENT_ENDS {
            self.recent_ends.pop_front();
        }
        self.recent_ends.push_back((id, info.clone()));
        self.emit(SessionEvent::Ended { id, info: info.clone() });
        let event = if was_up { HandlerEvent::Ended(snapshot, info) } else { HandlerEvent::Failed(id, info) };
        self.tell_handler(event);
    }

    /// A prepared call dropped: its port is freed.
    pub(crate) fn drop_prepared(&mut self, id: SessionId) {
        let Some(p) = self.prepared.remove(&id) else { return };
        if matches!(p.media, MediaSlot::Ours(_)) {
            self.media(id, MediaAction::Close);
        }
        if let Some(w) = p.waiting {
            self.reply(w, Err(SessionError::NotFound(id.to_string())));
        }
    }

    /// How session `id` ended, if it did lately.
    pub(crate) fn recent_end(&self, id: SessionId) -> Option<&EndInfo> {
        self.recent_ends.iter().rev().find(|(i, _)| *i == id).map(|(_, info)| info)
    }

    pub(crate) fn session_mut(&mut self, id: SessionId) -> Result<&mut Session<W>, SessionError> {
        match self.sessions.get_mut(&id) {
            Some(s) => Ok(s),
            None => Err(SessionError::NotFound(id.to_string())),
        }
    }
}
