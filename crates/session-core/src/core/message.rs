//! MESSAGE (RFC 3428) in, outside calls or in one, and INFO (RFC 6086) bodies both ways in
//! a call: what reaches us is answered 200 and handed to the application as an event; an
//! INFO of ours waits its turn behind the DTMF digits sent as INFO (one INFO at a time, so
//! the peer sees them in order). MESSAGE out is a request outside dialogs (`outside.rs`).

use super::{Answer, SessionCore};
use crate::api::{InstantMessage, SessionEvent, SessionId, SessionState};
use crate::error::SessionError;
use sip_dialog::{Body, CallKey};
use sip_message::{Method, Request, StatusCode};

/// The URI of a From or To header of `request`.
fn party(request: &Request, name: sip_message::StandardHeader) -> String {
    let value = request.headers().get(name).map(|v| v.to_string()).unwrap_or_default();
    crate::api::uri_of_party(&value).to_owned()
}

/// The Content-Type of `request`, if it has a body.
fn content_type(request: &Request) -> Option<String> {
    if request.body().is_empty() {
        return None;
    }
    request.headers().get(sip_message::StandardHeader::ContentType).map(|v| v.to_string())
}

impl<W> SessionCore<W> {
    /// A MESSAGE, outside a call (`call` is `None`) or in call `call`: the event for the
    /// application, and the status to answer (415 for one without a body, RFC 3428 §7:
    /// nothing to deliver).
    pub(crate) fn incoming_message(&mut self, call: Option<SessionId>, request: &Request) -> StatusCode {
        let Some(content_type) = content_type(request) else {
            return StatusCode::UNSUPPORTED_MEDIA_TYPE;
        };
        let message = InstantMessage {
            call,
            from: party(request, sip_message::StandardHeader::From),
            to: party(request, sip_message::StandardHeader::To),
            content_type,
            body: request.body().to_vec(),
        };
        self.emit(SessionEvent::Message(Box::new(message)));
        StatusCode::OK
    }

    /// An INFO in call `id` that carries no digit: the body goes to the application.
    pub(crate) fn incoming_info_body(&mut self, id: SessionId, request: &Request) {
        let body = request.body().to_vec();
        self.emit(SessionEvent::Info { id, content_type: content_type(request), body });
    }

    /// Sends an INFO with `content_type` and `body` in call `id` (refused while digits are
    /// going as INFO: ours would overtake them).
    pub(crate) fn send_info(
        &mut self,
        id: SessionId,
        content_type: String,
        body: Vec<u8>,
    ) -> Result<Answer, SessionError> {
        if content_type.contains(['\r', '\n']) {
            return Err(SessionError::InvalidInput("a Content-Type with a line break".into()));
        }
        let s = self.session_mut(id)?;
        if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
            return Err(SessionError::InvalidState { operation: "send INFO", state: s.state.to_string() });
        }
        if s.info_in_flight || !s.info_digits.is_empty() {
            return Err(SessionError::InvalidState { operation: "send INFO", state: "sending DTMF as INFO".into() });
        }
        self.calls.request(self.now, CallKey(id.0), Method::Info, Vec::new(), Some(Body::new(content_type, body)))?;
        if let Some(s) = self.sessions.get_mut(&id) {
            s.info_in_flight = true;
        }
        Ok(Answer::Unit)
    }
}
