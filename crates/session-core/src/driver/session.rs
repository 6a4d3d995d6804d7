//! One session's bookkeeping in the driver — its state, media and waiters — and the two
//! moves every call makes: changing state and ending.

use super::handler::HandlerEvent;
use super::{Driver, Reply};
use crate::api::{CallDirection, CallSession, EndCause, EndInfo, SessionEvent, SessionId, SessionState};
use crate::error::SessionError;
use crate::media::CallMedia;
use sip_dialog::CallKey;
use std::time::Instant;

/// A call in the driver.
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) key: CallKey,
    /// The Call-ID of its dialog (all its forks and redirected INVITEs share the key, not
    /// always the Call-ID: a redirect keeps it, RFC 3261 §8.1.3.4).
    pub(crate) call_id: String,
    /// The reason phrase of the last final failure to our INVITE.
    pub(crate) final_reason: Option<String>,
    pub(crate) direction: CallDirection,
    pub(crate) local_uri: String,
    pub(crate) remote_uri: String,
    pub(crate) state: SessionState,
    pub(crate) remote_hold: bool,
    pub(crate) muted: bool,
    pub(crate) created_at: Instant,
    pub(crate) answered_at: Option<Instant>,
    /// Our RTP stream; `None` when the application supplied its own SDP (it owns the media).
    pub(crate) media: Option<CallMedia>,
    /// When an incoming call nobody answers is turned away (`SessionConfig::ring_timeout`,
    /// or the INVITE's Expires, RFC 3261 §13.3.1).
    pub(crate) ring_deadline: Option<Instant>,
    /// The offer of the INVITE we received.
    pub(crate) remote_offer: Option<String>,
    /// Set when we refuse the call's offer (488), so the end says so.
    pub(crate) media_failed: bool,
    pub(crate) answer_waiters: Vec<Reply<CallSession>>,
    pub(crate) end_waiters: Vec<Reply<EndInfo>>,
    /// Our re-INVITE in progress: hold (true) or resume, and who waits for it.
    pub(crate) reinvite: Option<(bool, Reply<()>)>,
    /// A hold or resume asked for while an INVITE transaction of the peer's was still open
    /// (RFC 3261 §14.1 forbids overlapping them): sent when that one completes.
    pub(crate) queued: Option<(bool, Reply<()>)>,
}

/// A call made with `prepare_outgoing_call` and not sent yet.
pub(crate) struct Prepared {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) offer: String,
    pub(crate) media: Option<CallMedia>,
}

impl Session {
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
        }
    }
}

/// The error a waiter gets when the call ended before what it waited for.
pub(crate) fn ended_error(info: &EndInfo) -> SessionError {
    match (info.cause, info.status) {
        (EndCause::AuthFailed, _) => SessionError::AuthFailed(info.reason.clone()),
        (_, Some(status)) if status >= 300 => SessionError::Rejected { status, reason: info.reason.clone() },
        (EndCause::Shutdown, _) => SessionError::Closed,
        _ => SessionError::InvalidState { operation: "wait for", state: format!("ended ({info})") },
    }
}

impl Driver {
    /// Moves session `id` to `new`, telling events and the handler.
    pub(crate) fn set_state(&mut self, id: SessionId, new: SessionState) {
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
            s.answered_at = Some(Instant::now());
        }
        tracing::debug!(session = %id, %old, %new, "state");
        self.emit(SessionEvent::StateChanged { id, old, new });
        let _ = self.handler.send(HandlerEvent::State(id, old, new));
    }

    /// The call is up: waiters hear it, and the handler.
    pub(crate) fn established(&mut self, id: SessionId) {
        self.set_state(id, SessionState::Active);
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let snapshot = s.snapshot();
        for w in s.answer_waiters.drain(..) {
            let _ = w.send(Ok(snapshot.clone()));
        }
        let _ = self.handler.send(HandlerEvent::Established(snapshot));
    }

    /// Session `id` is over: its media stops, its ports are freed, everyone waiting hears
    /// why, and it is forgotten.
    pub(crate) fn end_session(&mut self, id: SessionId, info: EndInfo) {
        self.set_state(id, SessionState::Terminated);
        let Some(mut s) = self.sessions.remove(&id) else { return };
        self.by_key.remove(&s.key);
        if let Some(media) = s.media.take() {
            media.close();
        }
        let was_up = s.answered_at.is_some();
        let mut snapshot = s.snapshot();
        snapshot.end = Some(info.clone());
        for w in s.answer_waiters.drain(..) {
            let _ = w.send(Err(ended_error(&info)));
        }
        for w in s.end_waiters.drain(..) {
            let _ = w.send(Ok(info.clone()));
        }
        for (_, w) in s.reinvite.take().into_iter().chain(s.queued.take()) {
            let _ = w.send(Err(ended_error(&info)));
        }
        tracing::debug!(session = %id, end = %info, "ended");
        if self.recent_ends.len() == super::RECENT_ENDS {
            self.recent_ends.pop_front();
        }
        self.recent_ends.push_back((id, info.clone()));
        self.emit(SessionEvent::Ended { id, info: info.clone() });
        let event = if was_up { HandlerEvent::Ended(snapshot, info) } else { HandlerEvent::Failed(id, info) };
        let _ = self.handler.send(event);
    }

    /// How session `id` ended, if it did lately.
    pub(crate) fn recent_end(&self, id: SessionId) -> Option<&EndInfo> {
        self.recent_ends.iter().rev().find(|(i, _)| *i == id).map(|(_, info)| info)
    }

    pub(crate) fn session_mut(&mut self, id: SessionId) -> Result<&mut Session, SessionError> {
        self.sessions.get_mut(&id).ok_or_else(|| SessionError::NotFound(id.to_string()))
    }
}
