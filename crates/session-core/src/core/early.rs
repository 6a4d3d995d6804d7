//! Early media as the called side (RFC 3261 §13.3.1.1, RFC 3960's gateway model): before
//! answering, we send 183 Session Progress with our SDP answer and start our stream, so the
//! caller hears what we play (an announcement, ringback, a queue message). The 200 that
//! answers later repeats the same SDP (one offer, one answer: RFC 3264).
//!
//! Without reliable provisional responses (RFC 3262, not offered yet) the 183 may be lost;
//! the 200's SDP is the same answer, so the caller's media ends up right either way. An
//! INVITE without an offer cannot take early media this way (our offer would need a PRACK
//! to carry the answer) and is refused with an error.

use super::media::CallSdp;
use super::session::MediaSlot;
use super::{Answer, Output, SessionCore};
use crate::api::{SessionId, SessionState};
use crate::error::SessionError;
use sip_dialog::Body;
use sip_message::StatusCode;
use std::net::SocketAddr;

/// A call's early media.
pub(crate) enum Early<W> {
    /// Its port is being bound; the waiter hears when the 183 went.
    Binding(W),
    /// The 183 went with this SDP answer; the 200 repeats it.
    Sent(String),
}

impl<W> Early<W> {
    pub(crate) fn into_waiter(self) -> Option<W> {
        match self {
            Early::Binding(w) => Some(w),
            Early::Sent(_) => None,
        }
    }
}

impl<W> SessionCore<W> {
    /// Starts early media on incoming call `id`: a port, then the 183 with our answer.
    pub(crate) fn early_media(&mut self, id: SessionId, reply: W) {
        let result = (|| {
            let s = self.session_mut(id)?;
            if s.state != SessionState::Incoming || s.accepting.is_some() || s.early.is_some() {
                let state = if s.early.is_some() { "in early media".to_owned() } else { s.state.to_string() };
                return Err(SessionError::InvalidState { operation: "start early media", state });
            }
            if s.remote_offer.is_none() {
                return Err(SessionError::InvalidState {
                    operation: "start early media",
                    state: "an INVITE without an offer".into(),
                });
            }
            s.media = MediaSlot::Binding;
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.early = Some(Early::Binding(reply));
                }
                self.out.push_back(Output::BindMedia { id });
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    /// The port of call `id`'s early media is bound: the answer goes in a 183 and the
    /// stream starts.
    pub(crate) fn early_bound(&mut self, id: SessionId, addr: SocketAddr) {
        let now = self.now;
        let codecs = self.cfg.media.codecs.clone();
        let advertised = self.advertised.ip();
        let srtp = self.cfg.media.srtp;
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let waiter = s.early.take().and_then(Early::into_waiter);
        let key = s.key();
        let mut media = CallSdp::new(addr, advertised, codecs, srtp, self.cfg.media.rtcp_mux);
        let outcome = match s.remote_offer.clone() {
            Some(offer) => media.answer(&offer),
            None => Err(SessionError::InvalidState { operation: "start early media", state: "no offer".into() }),
        };
        s.media = MediaSlot::Ours(Box::new(media));
        let result = match outcome {
            Ok((answer, applied)) => {
                match self.calls.progress(now, key, StatusCode::SESSION_PROGRESS, Some(Body::sdp(answer.clone()))) {
                    Ok(()) => {
                        if let Some(s) = self.sessions.get_mut(&id) {
                            s.early = Some(Early::Sent(answer));
                        }
                        self.applied(id, applied);
                        Ok(Answer::Unit)
                    }
                    Err(e) => Err(SessionError::from(e)),
                }
            }
            // The offer cannot be answered: the call is left ringing; answering it now
            // would get the 488 it deserves.
            Err(e) => Err(e),
        };
        if let Some(w) = waiter {
            self.reply(w, result);
        }
    }
}
