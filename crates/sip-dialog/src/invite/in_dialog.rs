//! Requests inside a call's dialog other than INVITE and ACK, both ways — BYE ends the call
//! (§15), a 481 or 408 to ours ends the dialog (§12.2.1.2) — and the application's answers.

use super::call::{Call, Ctx, Pending, Phase};
use super::event::{CallEventKind, EndReason};
use crate::auth::set_credentials;
use crate::body::{apply, apply_to_response, Body};
use crate::dialog::DialogId;
use crate::error::DialogError;
use crate::headers::insert_before_length;
use sip_message::{Header, Method, Request, Response, StandardHeader as H, StatusCode};
use sip_transaction::TxId;

impl Call {
    /// A request of the peer in dialog `id` of this call.
    pub(crate) fn on_request(&mut self, ctx: &mut Ctx<'_>, tx: TxId, request: Request, id: &DialogId) {
        let method = request.method().clone();
        let answer = |ctx: &mut Ctx<'_>, status: StatusCode| {
            if let Ok(r) = request.make_response(status, None) {
                ctx.respond(tx, r);
            }
        };
        if self.phase == Phase::Terminating && method != Method::Bye {
            answer(ctx, StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST);
            return;
        }
        let Some(dialog) = self.dialog_mut(id) else {
            answer(ctx, StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST);
            return;
        };
        if let Err(status) = dialog.receive_request(&request) {
            answer(ctx, status);
            return;
        }
        let main = self.dialog.as_ref().is_some_and(|d| d.id() == id);
        if matches!(method, Method::Invite | Method::Update) {
            if let Some(r) = Call::too_brief(ctx.cfg, &request) {
                ctx.respond(tx, r);
                return;
            }
        }
        match method {
            Method::Bye => {
                answer(ctx, StatusCode::OK);
                if !main {
                    // An early fork's BYE ends that early dialog only.
                    self.forks.retain(|d| d.id() != id);
                    return;
                }
                let reason = match self.phase {
                    Phase::Terminating => self.end_reason.clone().unwrap_or(EndReason::LocalBye),
                    _ => EndReason::RemoteBye,
                };
                self.finish(ctx, reason);
            }
            Method::Invite if main && self.phase == Phase::Established => {
                self.on_incoming_reinvite(ctx, tx, request);
            }
            // An INVITE in an early dialog, before our final answer to the first one.
            Method::Invite if self.phase == Phase::Incoming => self.retry_later(ctx, tx, &request),
            Method::Invite => answer(ctx, StatusCode::REQUEST_PENDING),
            Method::Prack => self.on_prack(ctx, tx, request),
            _ => {
                self.server_pending.insert(tx, request.clone());
                ctx.event(self.key, CallEventKind::Request { tx, request });
            }
        }
    }

    /// The application answers request `tx` of the peer: the INVITE, a re-INVITE, or another
    /// request. A 2xx to an UPDATE carries our Contact (it is a target refresh, RFC 3311).
    /// `headers` go on answers to requests other than INVITE.
    pub(crate) fn respond(
        &mut self,
        ctx: &mut Ctx<'_>,
        tx: TxId,
        status: StatusCode,
        headers: Vec<Header>,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        if self.invite_tx == Some(tx) && self.phase == Phase::Incoming {
            return self.answer_invite(ctx, status, body);
        }
        if self.their_reinvite.as_ref().is_some_and(|(t, _)| *t == tx) {
            return self.answer_reinvite(ctx, status, body);
        }
        let request = self.server_pending.get(&tx).ok_or(DialogError::NotFound)?.clone();
        if headers.iter().any(|h| h.value().contains(['\r', '\n'])) {
            return Err(DialogError::Unsupported("a header value may not contain CR or LF"));
        }
        let mut resp = request.make_response(status, None)?;
        insert_before_length(resp.headers_mut(), headers.into_iter().map(|h| (h.name().clone(), h.value().clone())));
        if status.is_success() && *request.method() == Method::Update {
            if let Some(d) = &self.dialog {
                insert_before_length(resp.headers_mut(), [(H::Contact, d.local_contact())]);
            }
            // An UPDATE refreshes the session (RFC 4028 §9).
            self.timer_for_2xx(ctx, &request, &mut resp);
            self.note_local_body(body.as_ref());
        }
        apply_to_response(&mut resp, body.as_ref());
        if status.is_final() {
            self.server_pending.remove(&tx);
        }
        ctx.respond(tx, resp);
        Ok(())
    }

    /// The application sends a request in the established dialog.
    pub(crate) fn request(
        &mut self,
        ctx: &mut Ctx<'_>,
        method: Method,
        body: Option<Body>,
        headers: Vec<Header>,
    ) -> Result<(), DialogError> {
        if matches!(method, Method::Invite | Method::Ack | Method::Cancel | Method::Bye | Method::Register) {
            return Err(DialogError::Unsupported("INVITE, ACK, CANCEL and BYE have their own operations"));
        }
        if self.phase != Phase::Established {
            return Err(DialogError::InvalidState("requests go in an established call"));
        }
        let dialog = self.dialog.as_mut().ok_or(DialogError::InvalidState("no dialog"))?;
        let mut request = dialog.new_request(method)?;
        if headers.iter().any(|h| h.value().contains(['\r', '\n'])) {
            return Err(DialogError::Unsupported("a header value may not contain CR or LF"));
        }
        let lines = headers.into_iter().map(|h| (h.name().clone(), h.value().clone()));
        insert_before_length(request.headers_mut(), lines);
        apply(&mut request, body.as_ref());
        self.send_tracked(ctx, request, Pending::Other);
        Ok(())
    }

    /// The final response to a request sent with [`Call::request`].
    pub(crate) fn on_other_response(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let status = response.status();
        if !status.is_final() {
            return;
        }
        if let (Some(d), Ok(c)) = (self.dialog.as_mut(), response.headers().cseq()) {
            d.receive_response(&c.method, &response);
        }
        ctx.event(self.key, CallEventKind::Response { response });
        if status == StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST {
            // The peer does not know the dialog: nothing to send a BYE in.
            self.finish(ctx, EndReason::DialogFailed { status });
        } else if status == StatusCode::REQUEST_TIMEOUT {
            self.send_bye(ctx, EndReason::DialogFailed { status });
        }
    }

    /// The application ends the call, whatever its phase: CANCEL while calling, 603 Decline
    /// to an INVITE not answered yet, BYE once established (after the ACK of our 2xx, §15).
    pub(crate) fn hangup(&mut self, ctx: &mut Ctx<'_>) -> Result<(), DialogError> {
        match self.phase {
            Phase::Calling => self.cancel(ctx, false),
            Phase::Incoming => self.answer_invite(ctx, StatusCode::DECLINE, None),
            Phase::Established => {
                if self.awaiting_acks.iter().any(|a| a.initial) {
                    // §15: the callee must not send BYE before the ACK (or the timeout).
                    self.bye_after_ack = true;
                } else {
                    self.send_bye(ctx, EndReason::LocalBye);
                }
                Ok(())
            }
            Phase::Terminating | Phase::Terminated => Ok(()),
        }
    }

    /// Adds credentials for the realms that challenged this call before (§22.3).
    pub(crate) fn authorize(&mut self, request: &mut Request) {
        let creds = self.auth.preauthorize(request.method().as_str(), request.uri_str(), request.body());
        if !creds.is_empty() {
            set_credentials(request, creds);
        }
    }
}
