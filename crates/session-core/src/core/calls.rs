//! What the INVITE usage reports, turned into session states, media actions and events;
//! and the call commands (make, answer, reject, forward, hang up, hold) turned into
//! `Calls` calls. The decisions that RFC 3261 leaves to the user agent core are here: the
//! 480 for a call nobody answers, the 488 for an offer we cannot answer, the answers to
//! requests inside a dialog, and the §14.1 queue of our re-INVITE behind the peer's.

use super::session::{id_of, key_of, MediaSlot, Prepared, Session};
use super::{screen, Answer, MediaAction, Output, SessionCore};
use crate::api::{
    CallDecision, CallDirection, EndCause, EndInfo, IncomingCall, PreparedCall, SessionEvent, SessionId, SessionState,
};
use crate::core::media::{Applied, CallSdp};
use crate::core::Owner;
use crate::driver::handler::HandlerEvent;
use crate::error::MediaFailure;
use crate::error::SessionError;
use sip_dialog::{Body, CallEvent, CallEventKind, EndReason, Output as DialogOutput};
use sip_message::{Header, Method, Request, RequestBuilder, StatusCode, Uri};
use std::net::SocketAddr;

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
        EndReason::SessionExpired => {
            (EndCause::SessionExpired, None, "the session timer ran out without a refresh".to_owned())
        }
        EndReason::NoPrack => (EndCause::NoAck, Some(500), "no PRACK for our reliable 1xx".to_owned()),
        EndReason::DialogFailed { status } => (EndCause::DialogFailed, Some(status.as_u16()), phrase(*status)),
        EndReason::AuthFailed { reason } => (EndCause::AuthFailed, None, reason.to_string()),
    };
    EndInfo::new(cause, status, reason)
}

/// The headers of an INVITE that the stack writes itself: an application's value for one of
/// them would contradict the dialog or the framing.
const OWNED_HEADERS: [&str; 15] = [
    "via",
    "v",
    "from",
    "f",
    "to",
    "t",
    "call-id",
    "i",
    "cseq",
    "contact",
    "m",
    "max-forwards",
    "content-type",
    "c",
    "content-length",
];

/// Why an application's extra INVITE header cannot go out, if it cannot.
fn extra_header_problem(name: &str, value: &str) -> Option<String> {
    const SEPARATORS: &str = "()<>@,;:\\\"/[]?={} \t";
    let token = !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && !SEPARATORS.contains(c));
    if !token {
        return Some(format!("'{name}' is not a header name"));
    }
    if OWNED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return Some(format!("{name} is written by the stack and cannot be set"));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Some(format!("the value of {name} contains a line break"));
    }
    None
}

/// Every header of a message, name and value, in order.
fn headers_of(h: &sip_message::Headers) -> Vec<(String, String)> {
    h.iter().map(|x| (x.name().as_str().to_owned(), x.value().to_string())).collect()
}

/// The user part of a URI, for our Contact.
fn user_of(uri: &str) -> Option<String> {
    match Uri::parse(uri) {
        Ok(Uri::Sip(u)) => u.user().map(str::to_owned),
        _ => None,
    }
}

fn final_failure(status: u16) -> Result<StatusCode, SessionError> {
    if !(300..=699).contains(&status) {
        return Err(SessionError::InvalidInput(format!("a rejection takes a 300-699 status, not {status}")));
    }
    StatusCode::new(status).ok_or_else(|| SessionError::InvalidInput(format!("{status} is not a status code")))
}

impl<W> SessionCore<W> {
    pub(crate) fn call_output(&mut self, out: DialogOutput<CallEvent>) {
        match out {
            DialogOutput::Request(r) => self.send_request(r, Owner::Calls),
            DialogOutput::Response { tx, response } => self.send_response(tx, response),
            DialogOutput::Ack(ack) => self.send_ack(ack),
            DialogOutput::Event(e) => self.call_event(e),
        }
    }

    fn call_event(&mut self, event: CallEvent) {
        if let CallEventKind::Incoming { invite } = event.kind {
            return self.incoming_call(event.call, invite);
        }
        let id = id_of(event.call);
        if !self.sessions.contains_key(&id) {
            tracing::debug!(call = %event.call, "event for a call with no session");
            return;
        }
        match event.kind {
            CallEventKind::Progress { response, .. } => {
                let status = response.status().as_u16();
                self.emit(SessionEvent::Progress { id, status, reason: response.reason().to_string() });
                if status > 100 && self.sessions.get(&id).is_some_and(|s| s.state == SessionState::Initiating) {
                    self.set_state(id, SessionState::Ringing);
                }
                if status > 100 {
                    self.referred_progress(id, status, response.reason());
                }
                if let Some(sdp) = sdp_of(response.body()) {
                    // Early media (a 183 with the answer): the stream starts now.
                    self.apply_answer(id, &sdp, true);
                }
            }
            CallEventKind::Redirected { status, following, .. } => {
                tracing::info!(session = %id, status = status.as_u16(), following = ?following, "redirected");
            }
            CallEventKind::Answered { response, .. } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.remote_headers = headers_of(response.headers());
                }
                if let Some(sdp) = sdp_of(response.body()) {
                    self.apply_answer(id, &sdp, false);
                }
                if let Some(media) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) {
                    media.settle();
                }
                self.established(id);
                self.end_if_media_failed(id);
            }
            CallEventKind::Pracked { prack } => {
                if let Some(sdp) = sdp_of(prack.body()) {
                    self.apply_answer(id, &sdp, false);
                }
            }
            CallEventKind::ForkDiscarded { .. } => tracing::debug!(session = %id, "a later fork answered: ACK + BYE"),
            CallEventKind::Confirmed { ack } | CallEventKind::ReinviteAcked { ack } => {
                if let Some(sdp) = sdp_of(ack.body()) {
                    self.apply_answer(id, &sdp, false);
                }
                self.send_queued(id);
            }
            CallEventKind::Reinvite { tx, request } => self.peer_reinvite(id, tx, &request),
            CallEventKind::ReinviteAnswered { response } => self.reinvite_answered(id, &response),
            CallEventKind::ReinviteGlare { retry_at } => {
                let in_ms = retry_at.saturating_duration_since(self.now).as_millis() as u64;
                tracing::debug!(session = %id, in_ms, "re-INVITE glare (491): retrying");
            }
            CallEventKind::Request { tx, request } => {
                // §8.2.1 inside a dialog: OPTIONS and INFO are fine (an INFO may carry a
                // digit); what we do not implement gets 501 rather than a silent 200.
                let status = match request.method() {
                    Method::Info => self.incoming_info(id, &request),
                    Method::Options => StatusCode::OK,
                    Method::Message => self.incoming_message(Some(id), &request),
                    Method::Refer => return self.incoming_refer(id, tx, &request),
                    // A PRACK reaches us only with a new offer (RFC 3262 §5), answered the same way.
                    Method::Update | Method::Prack => return self.peer_update(id, tx, &request),
                    Method::Notify => return self.incoming_notify(id, tx, &request),
                    _ => StatusCode::NOT_IMPLEMENTED,
                };
                if let Some(s) = self.sessions.get(&id) {
                    let _ = self.calls.respond(self.now, s.key(), tx, status, None);
                }
            }
            CallEventKind::Response { response }
                if response.headers().cseq().is_ok_and(|c| c.method == Method::Info) =>
            {
                self.info_answered(id, &response);
            }
            CallEventKind::Response { response }
                if response.headers().cseq().is_ok_and(|c| c.method == Method::Refer) =>
            {
                self.refer_answered(id, &response);
            }
            CallEventKind::Response { response }
                if response.headers().cseq().is_ok_and(|c| c.method == Method::Notify) =>
            {
                self.notify_answered(id);
            }
            CallEventKind::Terminated { reason } => {
                let info = self.final_end(id, &reason);
                self.end_session(id, info);
            }
            _ => {}
        }
    }

    /// How a call ended, with the best reason we have: the peer's own phrase, or why our
    /// INVITE got no response at all.
    fn final_end(&mut self, id: SessionId, reason: &EndReason) -> EndInfo {
        let mut info = end_info(reason);
        let Some(s) = self.sessions.get_mut(&id) else { return info };
        if let EndReason::Failed { .. } = reason {
            if let Some(unreachable) = s.local_failure.take() {
                info.cause = EndCause::Unreachable;
                info.reason = unreachable.to_string();
                info.unreachable = Some(unreachable);
            } else if let Some(phrase) = s.final_reason.take().filter(|p| !p.is_empty()) {
                info.reason = phrase;
            }
        }
        if s.rtp_timed_out && !matches!(reason, EndReason::RemoteBye) {
            info.cause = EndCause::RtpTimeout;
            info.reason = "no RTP from the peer".into();
        }
        if s.transferred {
            info.cause = EndCause::Transferred;
            info.reason = "transferred".into();
        }
        if s.replaced {
            info.cause = EndCause::Replaced;
            info.reason = "replaced by another call".into();
        }
        if s.media_failed {
            info.cause = EndCause::MediaFailed;
            if let Some(why) = s.media_failure.take() {
                info.reason = why;
            }
        }
        info
    }

    fn reinvite_answered(&mut self, id: SessionId, response: &sip_message::Response) {
        let ok = response.status().is_success();
        if ok {
            if let Some(sdp) = sdp_of(response.body()) {
                self.apply_answer(id, &sdp, false);
            }
        } else if let Some(m) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) {
            m.offer_rejected();
        }
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let Some((hold, reply)) = s.reinvite.take() else { return };
        if ok {
            if let Some(reply) = reply {
                self.reply(reply, Ok(Answer::Unit));
            }
            self.set_state(id, if hold { SessionState::OnHold } else { SessionState::Active });
        } else if let Some(reply) = reply {
            let status = response.status().as_u16();
            self.reply(reply, Err(SessionError::Rejected { status, reason: response.reason().to_string() }));
        }
        self.refresh_if_pending(id);
    }

    /// Starts the stream as an exchange agreed, and tells of a change in the peer's hold.
    pub(super) fn applied(&mut self, id: SessionId, applied: Applied) {
        self.media(id, MediaAction::Start(applied.start));
        self.remote_hold(id, applied.remote_hold);
    }

    /// The peer's SDP answer (in a 18x, 2xx or ACK) for our pending offer.
    fn apply_answer(&mut self, id: SessionId, sdp: &str, early: bool) {
        let Some(media) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) else { return };
        match media.accept_answer(sdp, early) {
            Ok(Some(applied)) => self.applied(id, applied),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(session = %id, error = %e, "the peer's SDP answer is unusable");
                // SRTP required and the answer has no key: no plain RTP may flow, so the
                // call must end (a BYE once it is up), saying why.
                let srtp = matches!(
                    &e,
                    SessionError::Media(MediaFailure::Negotiation(media_core::NegotiationError::SrtpMismatch { .. }))
                );
                if let (true, Some(s)) = (srtp, self.sessions.get_mut(&id)) {
                    s.media_failed = true;
                    s.media_failure = Some(e.to_string());
                }
            }
        }
    }

    /// Ends a call whose answer failed the media policy (see [`Self::apply_answer`]).
    fn end_if_media_failed(&mut self, id: SessionId) {
        if self.sessions.get(&id).is_some_and(|s| s.media_failure.is_some()) {
            if let Err(e) = self.terminate(id) {
                tracing::debug!(session = %id, error = %e, "could not end a call without usable media");
            }
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
    fn peer_reinvite(&mut self, id: SessionId, tx: sip_transaction::TxId, request: &Request) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let key = s.key();
        let Some(media) = s.media.sdp() else {
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
                    self.applied(id, applied);
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

    /// The peer's UPDATE (RFC 3311): without a body it only refreshes the session (200);
    /// with an offer it is answered like a re-INVITE's, unless an offer of ours is out
    /// (491, §5.2) or it cannot be answered (488).
    fn peer_update(&mut self, id: SessionId, tx: sip_transaction::TxId, request: &Request) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let key = s.key();
        let Some(offer) = sdp_of(request.body()) else {
            let _ = self.calls.respond(now, key, tx, StatusCode::OK, None);
            return;
        };
        if s.reinvite.is_some() {
            let _ = self.calls.respond(now, key, tx, StatusCode::REQUEST_PENDING, None);
            return;
        }
        let Some(media) = s.media.sdp() else {
            let _ = self.calls.respond(now, key, tx, StatusCode::NOT_ACCEPTABLE_HERE, None);
            return;
        };
        match media.answer(&offer) {
            Ok((answer, applied)) => {
                let _ = self.calls.respond(now, key, tx, StatusCode::OK, Some(Body::sdp(answer)));
                self.applied(id, applied);
            }
            Err(e) => {
                tracing::info!(session = %id, error = %e, "UPDATE offer refused: 488");
                let _ = self.calls.respond(now, key, tx, StatusCode::NOT_ACCEPTABLE_HERE, None);
            }
        }
    }

    /// A new INVITE made call `key`: a session for it, 180 Ringing, and the handler asked.
    fn incoming_call(&mut self, key: sip_dialog::CallKey, invite: Request) {
        let id = id_of(key);
        let now = self.now;
        let replaces = match self.replaces_target(&invite) {
            Some(Err(status)) => {
                tracing::info!(session = %id, status = status.as_u16(), "an INVITE with Replaces refused");
                if let Err(e) = self.calls.reject(now, key, status) {
                    tracing::debug!(session = %id, error = %e, "refusal not sent");
                }
                return;
            }
            Some(Ok(old)) => Some(old),
            None => None,
        };
        // RFC 5627 §4.2: the GRUU of the account the call came for is our Contact in it.
        if let Some(gruu) = self.gruu_for(invite.uri_str()) {
            if let Err(e) = self.calls.set_local_contact(key, &format!("<{gruu}>")) {
                tracing::debug!(session = %id, error = %e, "the GRUU is not our Contact");
            }
        }
        let h = invite.headers();
        // §13.3.1: the caller's Expires bounds how long it waits; ours bounds the rest.
        let expires = h.expires().ok().flatten().map(|s| std::time::Duration::from_secs(u64::from(s)));
        let ring_at = now + expires.map_or(self.cfg.ring_timeout, |e| e.min(self.cfg.ring_timeout));
        self.ring_deadlines.insert((ring_at, id));
        let from = h.get(sip_message::StandardHeader::From).map(|v| v.to_string()).unwrap_or_default();
        let to = h.get(sip_message::StandardHeader::To).map(|v| v.to_string()).unwrap_or_default();
        let call = IncomingCall {
            id,
            from,
            to,
            request_uri: invite.uri_str().to_string(),
            call_id: h.call_id().unwrap_or_default().to_owned(),
            sdp: sdp_of(invite.body()),
            headers: headers_of(h),
        };
        let uris = (call.to_uri().to_owned(), call.from_uri().to_owned());
        let mut session =
            Session::new(id, call.call_id.clone(), CallDirection::Incoming, uris, SessionState::Incoming, now);
        session.remote_offer = call.sdp.clone();
        session.remote_headers = call.headers.clone();
        session.ring_deadline = Some(ring_at);
        self.sessions.insert(id, session);
        if let Some(old) = replaces {
            // RFC 3891 §3: it takes over a call that is up, without ringing anyone.
            self.emit(SessionEvent::IncomingCall { id, from: call.from_uri().to_owned(), call: Box::new(call) });
            return self.take_over(id, old);
        }
        if let Err(e) = self.calls.progress(now, key, StatusCode::RINGING, None) {
            tracing::debug!(session = %id, error = %e, "180 not sent");
        }
        self.emit(SessionEvent::IncomingCall { id, from: call.from_uri().to_owned(), call: Box::new(call.clone()) });
        self.tell_handler(HandlerEvent::Incoming(call));
    }

    /// Turns away the incoming calls nobody answered in time: 480 Temporarily Unavailable
    /// (RFC 3261 §21.4.18: the callee was contacted but is not answering). A call answered
    /// or ended meanwhile has left the set already (`set_state`).
    pub(crate) fn ring_timeouts(&mut self, now: std::time::Instant) {
        while let Some(&(at, id)) = self.ring_deadlines.first() {
            if at > now {
                break;
            }
            self.ring_deadlines.remove(&(at, id));
            let Some(s) = self.sessions.get_mut(&id) else { continue };
            s.ring_deadline = None;
            let key = s.key();
            tracing::debug!(session = %id, "nobody answered: 480");
            let reason = Some("No Answer".to_owned());
            if let Err(e) = self.calls.reject_with(now, key, StatusCode::TEMPORARILY_UNAVAILABLE, reason, Vec::new()) {
                tracing::debug!(session = %id, error = %e, "could not turn the call away");
            }
        }
    }

    /// Carries out a decision about an incoming call; `reply` (the application's, not the
    /// handler's) hears the outcome.
    pub(crate) fn decide(&mut self, id: SessionId, decision: CallDecision, reply: Option<W>) {
        let now = self.now;
        let result = (|| {
            let s = self.session_mut(id)?;
            if s.state != SessionState::Incoming || s.accepting.is_some() {
                let state = if s.accepting.is_some() { "being answered".to_owned() } else { s.state.to_string() };
                return Err(SessionError::InvalidState { operation: "answer", state });
            }
            let key = s.key();
            match decision {
                CallDecision::Defer => Ok(true),
                CallDecision::Accept(Some(sdp)) => {
                    self.calls.accept(now, key, Some(Body::sdp(sdp))).map_err(SessionError::from)?;
                    self.established(id);
                    Ok(true)
                }
                CallDecision::Accept(None) if s.early.is_some() => {
                    // Early media went with a 183: the 200 repeats its answer (RFC 3264
                    // allows no second one) once it is there.
                    let Some(super::early::Early::Sent(answer)) = &s.early else {
                        return Err(SessionError::InvalidState {
                            operation: "answer",
                            state: "starting early media".into(),
                        });
                    };
                    let body = Body::sdp(answer.clone());
                    self.calls.accept(now, key, Some(body)).map_err(SessionError::from)?;
                    self.established(id);
                    Ok(true)
                }
                CallDecision::Accept(None) => {
                    // The answer waits for the port: the driver binds it and tells us.
                    s.media = MediaSlot::Binding;
                    self.out.push_back(Output::BindMedia { id });
                    Ok(false)
                }
                CallDecision::Reject(status, reason) => {
                    let status = final_failure(status)?;
                    let reason = (!reason.is_empty()).then_some(reason);
                    self.calls.reject_with(now, key, status, reason, Vec::new()).map_err(SessionError::from)?;
                    Ok(true)
                }
                CallDecision::Forward(uri) => {
                    Uri::parse(&uri).map_err(|e| SessionError::InvalidInput(format!("'{uri}': {e}")))?;
                    let contact = Header::new("Contact", format!("<{uri}>"));
                    self.calls
                        .reject_with(now, key, StatusCode::MOVED_TEMPORARILY, None, vec![contact])
                        .map_err(SessionError::from)?;
                    Ok(true)
                }
            }
        })();
        match (result, reply) {
            (Ok(true), Some(w)) => self.reply(w, Ok(Answer::Unit)),
            (Ok(false), reply) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.accepting = Some(reply);
                }
            }
            (Err(e), Some(w)) => self.reply(w, Err(e)),
            (Err(e), None) => {
                tracing::debug!(session = %id, error = %e, "the handler's decision could not be carried out")
            }
            (Ok(true), None) => {}
        }
    }

    /// A port was bound (or not) for session `id`: a prepared call gets its offer, an
    /// incoming call its answer; a port nobody needs any more is closed.
    pub(crate) fn media_bound(&mut self, id: SessionId, result: Result<SocketAddr, media_core::MediaError>) {
        if let Some(p) = self.prepared.get_mut(&id) {
            if matches!(p.media, MediaSlot::Binding) {
                match result {
                    Ok(addr) => {
                        let (codecs, srtp) = (self.cfg.media.codecs.clone(), self.cfg.media.srtp);
                        let mut sdp = CallSdp::new(addr, self.advertised.ip(), codecs, srtp, self.cfg.media.rtcp_mux);
                        let offer = sdp.offer();
                        p.media = MediaSlot::Ours(Box::new(sdp));
                        p.offer = Some(offer.clone());
                        let prepared = PreparedCall { id, from: p.from.clone(), to: p.to.clone(), sdp_offer: offer };
                        let referred = p.referred_by.is_some();
                        if let Some(w) = p.waiting.take() {
                            self.reply(w, Ok(Answer::Prepared(prepared)));
                        }
                        if referred {
                            // A call for the peer's REFER goes at once.
                            self.place_referred(id);
                        }
                    }
                    Err(e) => {
                        let p = self.prepared.remove(&id);
                        if let Some(orig) = p.as_ref().and_then(|p| p.referred_by) {
                            self.notify_referrer(orig, 503, "Service Unavailable");
                        }
                        if let Some(w) = p.and_then(|p| p.waiting) {
                            self.reply(w, Err(SessionError::Media(crate::error::MediaFailure::Bind(e))));
                        }
                    }
                }
                return;
            }
        }
        let binding = self.sessions.get(&id).is_some_and(|s| matches!(s.media, MediaSlot::Binding));
        let early = self.sessions.get(&id).is_some_and(|s| matches!(s.early, Some(super::early::Early::Binding(_))));
        match (binding, result) {
            (true, Ok(addr)) if early => self.early_bound(id, addr),
            (true, Ok(addr)) => self.answer_with_media(id, addr),
            (true, Err(e)) => {
                tracing::info!(session = %id, error = %e, "no media port for the call");
                let Some(s) = self.sessions.get_mut(&id) else { return };
                s.media = MediaSlot::None;
                let early = match s.early.take() {
                    Some(super::early::Early::Binding(w)) => Some(w),
                    _ => None,
                };
                for w in early.into_iter().chain(s.accepting.take().flatten()) {
                    self.reply(w, Err(SessionError::Media(crate::error::MediaFailure::Bind(e.clone()))));
                }
            }
            (false, Ok(_)) => self.media(id, MediaAction::Close),
            (false, Err(_)) => {}
        }
    }

    /// Answers an incoming call with our media on `addr`: the answer to its offer (or our
    /// offer when it had none), or 488 when the offer cannot be answered (RFC 3264 §6).
    fn answer_with_media(&mut self, id: SessionId, addr: SocketAddr) {
        let now = self.now;
        let codecs = self.cfg.media.codecs.clone();
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let key = s.key();
        let reply = s.accepting.take().flatten();
        let mut media = CallSdp::new(addr, self.advertised.ip(), codecs, self.cfg.media.srtp, self.cfg.media.rtcp_mux);
        let outcome = match s.remote_offer.clone() {
            None => Ok((media.offer(), None)),
            Some(offer) => media.answer(&offer).map(|(answer, applied)| (answer, Some(applied))),
        };
        s.media = MediaSlot::Ours(Box::new(media));
        let result = match outcome {
            Ok((body, applied)) => match self.calls.accept(now, key, Some(Body::sdp(body))) {
                Ok(()) => {
                    if let Some(applied) = applied {
                        self.applied(id, applied);
                    }
                    self.established(id);
                    Ok(Answer::Unit)
                }
                Err(e) => Err(SessionError::from(e)),
            },
            Err(e) => {
                tracing::info!(session = %id, error = %e, "offer refused: 488");
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.media_failed = true;
                }
                let warning = Header::new("Warning", "304 sipline \"no common media format\"");
                match self.calls.reject_with(now, key, StatusCode::NOT_ACCEPTABLE_HERE, None, vec![warning]) {
                    Ok(()) => Err(e),
                    Err(d) => Err(SessionError::from(d)),
                }
            }
        };
        match (result, reply) {
            (r, Some(w)) => self.reply(w, r),
            (Err(e), None) => {
                tracing::debug!(session = %id, error = %e, "the handler's answer could not be carried out")
            }
            (Ok(_), None) => {}
        }
    }

    /// Checks a call to be made and asks for its port (unless the application brings its
    /// own SDP): the reply comes with the offer.
    pub(crate) fn prepare(
        &mut self,
        from: String,
        to: String,
        sdp: Option<String>,
        headers: Vec<(String, String)>,
        reply: W,
    ) {
        if let Some(problem) = headers.iter().find_map(|(n, v)| extra_header_problem(n, v)) {
            return self.reply(reply, Err(SessionError::InvalidInput(problem)));
        }
        for uri in [&from, &to] {
            let problem = match Uri::parse(uri) {
                Ok(Uri::Sip(_)) | Ok(Uri::Tel(_)) => None,
                Ok(_) => Some(format!("'{uri}' is not a sip:, sips: or tel: URI")),
                Err(e) => Some(format!("'{uri}': {e}")),
            };
            if let Some(p) = problem {
                return self.reply(reply, Err(SessionError::InvalidInput(p)));
            }
        }
        // The dialog layer's key for the call to be, so the call has one id from now on.
        let id = id_of(self.calls.reserve_key());
        match sdp {
            Some(offer) => {
                let prepared = PreparedCall { id, from: from.clone(), to: to.clone(), sdp_offer: offer.clone() };
                let media = MediaSlot::None;
                let p = Prepared { from, to, offer: Some(offer), headers, media, waiting: None, referred_by: None };
                self.prepared.insert(id, p);
                self.reply(reply, Ok(Answer::Prepared(prepared)));
            }
            None => {
                let media = MediaSlot::Binding;
                let p = Prepared { from, to, offer: None, headers, media, waiting: Some(reply), referred_by: None };
                self.prepared.insert(id, p);
                self.out.push_back(Output::BindMedia { id });
            }
        }
    }

    /// Sends the INVITE of a prepared call.
    pub(crate) fn initiate(&mut self, id: SessionId) -> Result<Answer, SessionError> {
        let offer = match self.prepared.get(&id) {
            None => return Err(SessionError::NotFound(id.to_string())),
            Some(p) => match &p.offer {
                Some(o) => o.clone(),
                None => return Err(SessionError::InvalidState { operation: "send", state: "being prepared".into() }),
            },
        };
        let Some(p) = self.prepared.remove(&id) else { return Err(SessionError::NotFound(id.to_string())) };
        let account = self.account_for(&p.from);
        let user = user_of(&p.from).unwrap_or_else(|| "sipline".to_owned());
        // RFC 5627 §4.2: the account's GRUU, when its registrar granted one.
        let contact = match account.as_ref().and_then(|a| a.gruu.clone()) {
            Some(gruu) => format!("<{gruu}>"),
            None => format!("sip:{user}@{}", self.advertised),
        };
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let mut builder = RequestBuilder::new(Method::Invite, p.to.clone())
            .from(account.as_ref().and_then(|a| a.display_name.as_deref()), p.from.clone())
            .to(None, p.to.clone())
            .via(transport.as_str(), self.advertised.to_string())
            .rport()
            .contact(contact)
            .header("Allow", screen::ALLOW)
            .header("Supported", screen::SUPPORTED_HEADER)
            .header("User-Agent", self.cfg.user_agent.clone())
            .body("application/sdp", offer.into_bytes());
        if let Some(proxy) = account.as_ref().and_then(|a| a.outbound_proxy.clone()) {
            builder = builder.header("Route", format!("<{proxy}>"));
        }
        for (name, value) in &p.headers {
            builder = builder.header(name.as_str(), value.clone());
        }
        let built = builder.build().map_err(|e| SessionError::InvalidInput(e.to_string()));
        let invite = match built {
            Ok(i) => i,
            Err(e) => {
                self.prepared.insert(id, p);
                self.drop_prepared(id);
                return Err(e);
            }
        };
        let call_id = invite.headers().call_id().unwrap_or_default().to_owned();
        let credentials = match &account {
            Some(a) => a.credentials.clone(),
            None => self.default_credentials(),
        };
        match self.calls.invite_as(self.now, key_of(id), invite, credentials) {
            Ok(()) => {}
            Err(e) => {
                self.prepared.insert(id, p);
                self.drop_prepared(id);
                return Err(e.into());
            }
        };
        let mut session =
            Session::new(id, call_id, CallDirection::Outgoing, (p.from, p.to), SessionState::Initiating, self.now);
        session.media = p.media;
        session.referred_by = p.referred_by;
        let snapshot = session.snapshot();
        self.sessions.insert(id, session);
        Ok(Answer::Session(snapshot))
    }

    pub(crate) fn terminate(&mut self, id: SessionId) -> Result<Answer, SessionError> {
        if self.prepared.contains_key(&id) {
            self.drop_prepared(id);
            return Ok(Answer::Unit);
        }
        let s = self.session_mut(id)?;
        let (key, state) = (s.key(), s.state);
        if state == SessionState::Terminating {
            return Ok(Answer::Unit);
        }
        self.calls.hangup(self.now, key)?;
        if self.sessions.contains_key(&id) && state != SessionState::Incoming {
            self.set_state(id, SessionState::Terminating);
        }
        Ok(Answer::Unit)
    }

    pub(crate) fn mute(&mut self, id: SessionId, muted: bool) -> Result<Answer, SessionError> {
        let s = self.session_mut(id)?;
        s.muted = muted;
        if s.has_media() {
            self.media(id, MediaAction::Mute(muted));
        }
        Ok(Answer::Unit)
    }

    /// Sends a hold or resume that had to wait for the peer's INVITE transaction.
    fn send_queued(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if s.reinvite.is_some() {
            return;
        }
        if let Some((hold, reply)) = s.queued.take() {
            self.hold(id, hold, reply);
        } else {
            self.refresh_if_pending(id);
        }
    }

    /// Puts the call on hold or takes it off with a re-INVITE; while the peer's own INVITE
    /// transaction is open, ours waits for it (RFC 3261 §14.1).
    pub(crate) fn hold(&mut self, id: SessionId, hold: bool, reply: W) {
        let now = self.now;
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
            let key = s.key();
            let media = s.media.sdp().ok_or(SessionError::Media(crate::error::MediaFailure::NotOurs))?;
            let offer = media.offer_hold(hold);
            if let Err(e) = self.calls.reinvite(now, key, Some(Body::sdp(offer))) {
                if let Some(m) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) {
                    m.offer_rejected();
                }
                in_progress = matches!(e, sip_dialog::DialogError::InviteInProgress);
                return Err(SessionError::from(e));
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.reinvite = Some((hold, Some(reply)));
                    // This offer carries our current address: no refresh is owed.
                    s.refresh_pending = false;
                }
            }
            Err(_) if in_progress && self.sessions.get(&id).is_some_and(|s| s.queued.is_none()) => {
                tracing::debug!(session = %id, "the peer's INVITE is still open: the re-INVITE waits for it");
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.queued = Some((hold, reply));
                }
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }
}
