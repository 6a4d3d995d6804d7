//! What the INVITE usage reports, turned into session states, media actions and events;
//! and the call commands (make, answer, reject, hang up, hold) turned into `Calls` calls.

use super::handler::HandlerEvent;
use super::session::{Prepared, Session};
use super::{Driver, Reply};
use crate::api::{
    CallDecision, CallDirection, CallSession, EndCause, EndInfo, IncomingCall, PreparedCall, SessionEvent, SessionId,
    SessionState,
};
use crate::error::SessionError;
use crate::media::CallMedia;
use crate::screen;
use sip_dialog::{Body, CallEvent, CallEventKind, EndReason};
use sip_message::{Header, Method, Request, RequestBuilder, StatusCode, Uri};
use std::time::Instant;

/// The body of a message as SDP text, if it has one.
fn sdp_of(body: &bytes::Bytes) -> Option<String> {
    if body.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(body).into_owned())
    }
}

fn end_info(reason: &EndReason) -> EndInfo {
    let phrase = |s: StatusCode| s.reason_or_generic().to_owned();
    let (cause, status, reason) = match reason {
        EndReason::Failed { status } => (EndCause::Failed, Some(status.as_u16()), phrase(*status)),
        EndReason::Rejected { status } => (EndCause::Rejected, Some(status.as_u16()), phrase(*status)),
        EndReason::Cancelled => (EndCause::Cancelled, Some(487), "Request Terminated".to_owned()),
        EndReason::NoAnswer => (EndCause::NoAnswer, Some(487), "no answer".to_owned()),
        EndReason::CancelledByPeer => (EndCause::CancelledByPeer, Some(487), "caller cancelled".to_owned()),
        EndReason::LocalBye => (EndCause::LocalHangup, None, "we hung up".to_owned()),
        EndReason::RemoteBye => (EndCause::RemoteHangup, None, "remote hung up".to_owned()),
        EndReason::NoAck => (EndCause::NoAck, None, "no ACK for our 200".to_owned()),
        EndReason::DialogFailed { status } => (EndCause::DialogFailed, Some(status.as_u16()), phrase(*status)),
        EndReason::AuthFailed { reason } => (EndCause::AuthFailed, None, reason.to_string()),
    };
    EndInfo { cause, status, reason }
}

/// The user part of a URI, for our Contact.
fn user_of(uri: &str) -> Option<String> {
    match Uri::parse(uri) {
        Ok(Uri::Sip(u)) => u.user().map(str::to_owned),
        _ => None,
    }
}

/// The URI inside a From/To value (`"Bob" <sip:bob@x>;tag=1` -> `sip:bob@x`).
fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_owned(),
        _ => value.split(';').next().unwrap_or(value).trim().to_owned(),
    }
}

impl Driver {
    pub(crate) async fn call_event(&mut self, event: CallEvent) {
        let now = Instant::now();
        if let CallEventKind::Incoming { invite } = event.kind {
            return self.incoming_call(event.call, invite);
        }
        let Some(&id) = self.by_key.get(&event.call) else {
            tracing::debug!(call = %event.call, "event for a call with no session");
            return;
        };
        match event.kind {
            CallEventKind::Incoming { .. } => {}
            CallEventKind::Progress { response, .. } => {
                let status = response.status().as_u16();
                self.emit(SessionEvent::Progress { id, status, reason: response.reason().to_string() });
                if status > 100 && self.sessions.get(&id).is_some_and(|s| s.state == SessionState::Initiating) {
                    self.set_state(id, SessionState::Ringing);
                }
                if let Some(sdp) = sdp_of(response.body()) {
                    // Early media (a 183 with the answer): the stream starts now.
                    self.apply_answer(id, &sdp);
                }
            }
            CallEventKind::Redirected { status, following, .. } => {
                tracing::info!(session = %id, status = status.as_u16(), following = ?following, "redirected");
            }
            CallEventKind::Answered { response, .. } => {
                if let Some(sdp) = sdp_of(response.body()) {
                    self.apply_answer(id, &sdp);
                }
                self.established(id);
            }
            CallEventKind::ForkDiscarded { .. } => tracing::debug!(session = %id, "a later fork answered: ACK + BYE"),
            CallEventKind::Confirmed { ack } | CallEventKind::ReinviteAcked { ack } => {
                if let Some(sdp) = sdp_of(ack.body()) {
                    self.apply_answer(id, &sdp);
                }
                self.send_queued(id);
            }
            CallEventKind::Reinvite { tx, request } => self.peer_reinvite(now, id, tx, &request),
            CallEventKind::ReinviteAnswered { response } => {
                let ok = response.status().is_success();
                if ok {
                    if let Some(sdp) = sdp_of(response.body()) {
                        self.apply_answer(id, &sdp);
                    }
                } else if let Some(m) = self.sessions.get_mut(&id).and_then(|s| s.media.as_mut()) {
                    m.offer_rejected();
                }
                let Some(s) = self.sessions.get_mut(&id) else { return };
                if let Some((hold, reply)) = s.reinvite.take() {
                    if ok {
                        let _ = reply.send(Ok(()));
                        self.set_state(id, if hold { SessionState::OnHold } else { SessionState::Active });
                    } else {
                        let status = response.status().as_u16();
                        let _ =
                            reply.send(Err(SessionError::Rejected { status, reason: response.reason().to_string() }));
                    }
                }
            }
            CallEventKind::ReinviteGlare { retry_at } => {
                tracing::debug!(session = %id, in_ms = retry_at.saturating_duration_since(now).as_millis() as u64, "re-INVITE glare (491): retrying");
            }
            CallEventKind::Request { tx, request } => {
                // §8.2.1 inside a dialog: OPTIONS and INFO are fine; what we do not implement
                // gets 501 rather than a silent 200.
                let status = match request.method() {
                    Method::Options | Method::Info => StatusCode::OK,
                    _ => StatusCode::NOT_IMPLEMENTED,
                };
                if let Some(s) = self.sessions.get(&id) {
                    let _ = self.calls.respond(now, s.key, tx, status, None);
                }
            }
            CallEventKind::RequestCancelled { .. } | CallEventKind::Response { .. } => {}
            CallEventKind::Terminated { reason } => {
                let mut info = end_info(&reason);
                if let (EndReason::Failed { .. }, Some(phrase)) =
                    (&reason, self.sessions.get_mut(&id).and_then(|s| s.final_reason.take()))
                {
                    if !phrase.is_empty() {
                        info.reason = phrase;
                    }
                }
                if self.sessions.get(&id).is_some_and(|s| s.media_failed) {
                    info.cause = EndCause::MediaFailed;
                }
                self.end_session(id, info);
            }
            _ => {}
        }
    }

    /// The peer's SDP answer (in a 18x, 2xx or ACK) for our pending offer.
    fn apply_answer(&mut self, id: SessionId, sdp: &str) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let Some(media) = s.media.as_mut() else { return };
        match media.accept_answer(sdp) {
            Ok(Some(applied)) => self.remote_hold(id, applied.remote_hold),
            Ok(None) => {}
            Err(e) => tracing::warn!(session = %id, error = %e, "the peer's SDP answer is unusable"),
        }
    }

    fn remote_hold(&mut self, id: SessionId, held: Option<bool>) {
        let Some(held) = held else { return };
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if s.remote_hold != held {
            s.remote_hold = held;
            self.emit(SessionEvent::RemoteHold { id, held });
        }
    }

    /// The peer's re-INVITE: answer its offer (hold, resume, a new address) or, without
    /// one, make ours; refuse what cannot be answered with 488 (RFC 3264 §6).
    fn peer_reinvite(&mut self, now: Instant, id: SessionId, tx: sip_transaction::TxId, request: &Request) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let key = s.key;
        let Some(media) = s.media.as_mut() else {
            let _ = self.calls.respond(now, key, tx, StatusCode::NOT_ACCEPTABLE_HERE, None);
            return;
        };
        match sdp_of(request.body()) {
            None => {
                let offer = media.offer();
                let _ = self.calls.respond(now, key, tx, StatusCode::OK, Some(Body::sdp(offer)));
            }
            Some(offer) => match media.answer(&offer) {
                Ok((answer, applied)) => {
                    let _ = self.calls.respond(now, key, tx, StatusCode::OK, Some(Body::sdp(answer)));
                    self.remote_hold(id, applied.remote_hold);
                }
                Err(e) => {
                    tracing::info!(session = %id, error = %e, "re-INVITE offer refused: 488");
                    let _ = self.calls.respond(now, key, tx, StatusCode::NOT_ACCEPTABLE_HERE, None);
                    // No ACK of ours to wait for after a failure: a queued hold can go.
                    self.send_queued(id);
                }
            },
        }
    }

    /// A new INVITE made call `key`: a session for it, 180 Ringing, and the handler asked.
    fn incoming_call(&mut self, key: sip_dialog::CallKey, invite: Request) {
        let id = self.new_id();
        let h = invite.headers();
        // §13.3.1: the caller's Expires bounds how long it waits; ours bounds the rest.
        let expires = h.expires().ok().flatten().map(|s| std::time::Duration::from_secs(u64::from(s)));
        let ring_at = Instant::now() + expires.map_or(self.cfg.ring_timeout, |e| e.min(self.cfg.ring_timeout));
        self.ring_deadlines.insert((ring_at, id));
        let from = h.get(sip_message::StandardHeader::From).map(|v| v.to_string()).unwrap_or_default();
        let to = h.get(sip_message::StandardHeader::To).map(|v| v.to_string()).unwrap_or_default();
        let call = IncomingCall {
            id,
            from: from.clone(),
            to: to.clone(),
            request_uri: invite.uri_str().to_string(),
            call_id: h.call_id().unwrap_or_default().to_owned(),
            sdp: sdp_of(invite.body()),
            headers: h.iter().map(|x| (x.name().as_str().to_owned(), x.value().to_string())).collect(),
        };
        let session = Session {
            id,
            key,
            call_id: call.call_id.clone(),
            final_reason: None,
            direction: CallDirection::Incoming,
            local_uri: uri_of(&to),
            remote_uri: uri_of(&from),
            state: SessionState::Incoming,
            remote_hold: false,
            muted: false,
            created_at: Instant::now(),
            answered_at: None,
            media: None,
            remote_offer: call.sdp.clone(),
            ring_deadline: Some(ring_at),
            media_failed: false,
            answer_waiters: Vec::new(),
            end_waiters: Vec::new(),
            reinvite: None,
            queued: None,
        };
        self.sessions.insert(id, session);
        self.by_key.insert(key, id);
        if let Err(e) = self.calls.progress(Instant::now(), key, StatusCode::RINGING, None) {
            tracing::debug!(session = %id, error = %e, "180 not sent");
        }
        self.emit(SessionEvent::IncomingCall { id, from: uri_of(&from) });
        let _ = self.handler.send(HandlerEvent::Incoming(call));
    }

    /// The earliest instant an unanswered incoming call must be turned away.
    pub(crate) fn next_ring_deadline(&self) -> Option<Instant> {
        self.ring_deadlines.first().map(|(at, _)| *at)
    }

    /// Turns away the incoming calls nobody answered in time: 480 Temporarily Unavailable
    /// (RFC 3261 §21.4.18: the callee was contacted but is not answering). A call answered
    /// or ended meanwhile has left the set already (`set_state`).
    pub(crate) fn ring_timeouts(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.ring_deadlines.first() {
            if at > now {
                break;
            }
            self.ring_deadlines.remove(&(at, id));
            let Some(s) = self.sessions.get_mut(&id) else { continue };
            s.ring_deadline = None;
            let key = s.key;
            tracing::debug!(session = %id, "nobody answered: 480");
            let reason = Some("No Answer".to_owned());
            if let Err(e) = self.calls.reject_with(now, key, StatusCode::TEMPORARILY_UNAVAILABLE, reason, Vec::new()) {
                tracing::debug!(session = %id, error = %e, "could not turn the call away");
            }
        }
    }

    /// Carries out a decision about an incoming call.
    pub(crate) async fn decide(&mut self, id: SessionId, decision: CallDecision) -> Result<(), SessionError> {
        let now = Instant::now();
        let s = self.session_mut(id)?;
        if s.state != SessionState::Incoming {
            return Err(SessionError::InvalidState { operation: "answer", state: s.state.to_string() });
        }
        let key = s.key;
        match decision {
            CallDecision::Defer => Ok(()),
            CallDecision::Accept(Some(sdp)) => {
                self.calls.accept(now, key, Some(Body::sdp(sdp))).map_err(dialog_error)?;
                self.established(id);
                Ok(())
            }
            CallDecision::Accept(None) => {
                let mut media = CallMedia::bind(&self.cfg.media).await?;
                let offer = self.sessions.get(&id).and_then(|s| s.remote_offer.clone());
                let (body, remote_hold) = match offer {
                    None => (media.offer(), None),
                    Some(offer) => match media.answer(&offer) {
                        Ok((answer, applied)) => (answer, applied.remote_hold),
                        Err(e) => {
                            // RFC 3264 §6: an offer we cannot answer is refused with 488.
                            tracing::info!(session = %id, error = %e, "offer refused: 488");
                            if let Some(s) = self.sessions.get_mut(&id) {
                                s.media_failed = true;
                            }
                            let warning = Header::new("Warning", "304 sipline \"no common media format\"");
                            self.calls
                                .reject_with(now, key, StatusCode::NOT_ACCEPTABLE_HERE, None, vec![warning])
                                .map_err(dialog_error)?;
                            return Err(e);
                        }
                    },
                };
                self.calls.accept(now, key, Some(Body::sdp(body))).map_err(dialog_error)?;
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.media = Some(media);
                }
                self.remote_hold(id, remote_hold);
                self.established(id);
                Ok(())
            }
            CallDecision::Reject(status, reason) => {
                let status = final_failure(status)?;
                let reason = (!reason.is_empty()).then_some(reason);
                self.calls.reject_with(now, key, status, reason, Vec::new()).map_err(dialog_error)
            }
            CallDecision::Forward(uri) => {
                Uri::parse(&uri).map_err(|e| SessionError::InvalidInput(format!("'{uri}': {e}")))?;
                let contact = Header::new("Contact", format!("<{uri}>"));
                self.calls
                    .reject_with(now, key, StatusCode::MOVED_TEMPORARILY, None, vec![contact])
                    .map_err(dialog_error)
            }
        }
    }

    /// Binds media and makes the offer of a call to be sent.
    pub(crate) async fn prepare(
        &mut self,
        from: String,
        to: String,
        sdp: Option<String>,
    ) -> Result<PreparedCall, SessionError> {
        for uri in [&from, &to] {
            match Uri::parse(uri) {
                Ok(Uri::Sip(_)) | Ok(Uri::Tel(_)) => {}
                Ok(_) => return Err(SessionError::InvalidInput(format!("'{uri}' is not a sip:, sips: or tel: URI"))),
                Err(e) => return Err(SessionError::InvalidInput(format!("'{uri}': {e}"))),
            }
        }
        let (offer, media) = match sdp {
            Some(sdp) => (sdp, None),
            None => {
                let mut media = CallMedia::bind(&self.cfg.media).await?;
                (media.offer(), Some(media))
            }
        };
        let id = self.new_id();
        let prepared = PreparedCall { id, from: from.clone(), to: to.clone(), sdp_offer: offer.clone() };
        self.prepared.insert(id, Prepared { from, to, offer, media });
        Ok(prepared)
    }

    /// Sends the INVITE of a prepared call.
    pub(crate) fn initiate(&mut self, id: SessionId) -> Result<CallSession, SessionError> {
        let p = self.prepared.remove(&id).ok_or_else(|| SessionError::NotFound(id.to_string()))?;
        let account = self.account_for(&p.from);
        let user = user_of(&p.from).unwrap_or_else(|| "sipline".to_owned());
        let contact = format!("sip:{user}@{}", self.advertised);
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let mut builder = RequestBuilder::new(Method::Invite, p.to.clone())
            .from(account.as_ref().and_then(|a| a.account.display_name.as_deref()), p.from.clone())
            .to(None, p.to.clone())
            .via(transport.as_str(), self.advertised.to_string())
            .rport()
            .contact(contact)
            .header("Allow", screen::ALLOW)
            .header("User-Agent", self.cfg.user_agent.clone())
            .body("application/sdp", p.offer.clone().into_bytes());
        if let Some(proxy) = account.as_ref().and_then(|a| a.account.outbound_proxy.clone()) {
            builder = builder.header("Route", format!("<{proxy}>"));
        }
        let invite = builder.build().map_err(|e| SessionError::InvalidInput(e.to_string()))?;
        let call_id = invite.headers().call_id().unwrap_or_default().to_owned();
        let credentials = match account {
            Some(a) => a.credentials,
            None => self.default_credentials(),
        };
        let key = self.calls.invite(Instant::now(), invite, credentials).map_err(dialog_error)?;
        let session = Session {
            id,
            key,
            call_id: call_id.clone(),
            final_reason: None,
            direction: CallDirection::Outgoing,
            local_uri: p.from,
            remote_uri: p.to,
            state: SessionState::Initiating,
            remote_hold: false,
            muted: false,
            created_at: Instant::now(),
            answered_at: None,
            media: p.media,
            remote_offer: None,
            ring_deadline: None,
            media_failed: false,
            answer_waiters: Vec::new(),
            end_waiters: Vec::new(),
            reinvite: None,
            queued: None,
        };
        let snapshot = session.snapshot();
        self.sessions.insert(id, session);
        self.by_key.insert(key, id);
        Ok(snapshot)
    }

    pub(crate) fn terminate(&mut self, id: SessionId) -> Result<(), SessionError> {
        if let Some(p) = self.prepared.remove(&id) {
            if let Some(m) = p.media {
                m.close();
            }
            return Ok(());
        }
        let s = self.session_mut(id)?;
        let (key, state) = (s.key, s.state);
        if state == SessionState::Terminating {
            return Ok(());
        }
        self.calls.hangup(Instant::now(), key).map_err(dialog_error)?;
        if self.sessions.contains_key(&id) && state != SessionState::Incoming {
            self.set_state(id, SessionState::Terminating);
        }
        Ok(())
    }

    /// Sends a hold or resume that had to wait for the peer's INVITE transaction.
    fn send_queued(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if s.reinvite.is_some() {
            return;
        }
        if let Some((hold, reply)) = s.queued.take() {
            self.hold(id, hold, reply);
        }
    }

    pub(crate) fn hold(&mut self, id: SessionId, hold: bool, reply: Reply<()>) {
        let mut in_progress = false;
        let result = (|| {
            let s = self.session_mut(id)?;
            let wanted_from = if hold { SessionState::Active } else { SessionState::OnHold };
            if s.state != wanted_from {
                let operation = if hold { "hold" } else { "resume" };
                return Err(SessionError::InvalidState { operation, state: s.state.to_string() });
            }
            if s.reinvite.is_some() {
                return Err(SessionError::InvalidState { operation: "re-INVITE", state: "re-negotiating".into() });
            }
            let key = s.key;
            let media =
                s.media.as_mut().ok_or_else(|| SessionError::Media("the application owns this call's media".into()))?;
            let offer = media.offer_hold(hold);
            if let Err(e) = self.calls.reinvite(Instant::now(), key, Some(Body::sdp(offer))) {
                if let Some(m) = self.sessions.get_mut(&id).and_then(|s| s.media.as_mut()) {
                    m.offer_rejected();
                }
                in_progress = matches!(e, sip_dialog::DialogError::InviteInProgress);
                return Err(dialog_error(e));
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.reinvite = Some((hold, reply));
                }
            }
            Err(_) if in_progress && self.sessions.get(&id).is_some_and(|s| s.queued.is_none()) => {
                tracing::debug!(session = %id, "the peer's INVITE is still open: the re-INVITE waits for it");
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.queued = Some((hold, reply));
                }
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

fn final_failure(status: u16) -> Result<StatusCode, SessionError> {
    if !(300..=699).contains(&status) {
        return Err(SessionError::InvalidInput(format!("a rejection takes a 300-699 status, not {status}")));
    }
    StatusCode::new(status).ok_or_else(|| SessionError::InvalidInput(format!("{status} is not a status code")))
}

pub(crate) fn dialog_error(e: sip_dialog::DialogError) -> SessionError {
    use sip_dialog::DialogError as D;
    match e {
        D::NotFound => SessionError::NotFound("call".into()),
        D::InvalidState(what) => SessionError::InvalidState { operation: "do that to", state: what.into() },
        D::InviteInProgress => SessionError::InvalidState { operation: "re-INVITE", state: "re-negotiating".into() },
        other => SessionError::Internal(other.to_string()),
    }
}
