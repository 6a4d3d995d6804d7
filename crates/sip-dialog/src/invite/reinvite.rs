//! re-INVITE (RFC 3261 §14) in both directions — hold and resume are re-INVITEs whose SDP
//! the application supplies — and glare: a re-INVITE crossing ours is answered 491 (§14.2),
//! and ours is sent again after the random interval of §14.1. With
//! [`CallConfig::offer_by_update`](super::CallConfig::offer_by_update) and a peer that allows
//! it, our offer goes in an UPDATE instead (RFC 3311 §5.1): answered in its 2xx, no ACK,
//! the same glare handling (§5.2 has 491 for crossing offers too).

use super::call::{Call, Ctx, Pending, Phase};
use super::event::{CallEventKind, EndReason};
use super::retransmit::AwaitAck;
use crate::body::{apply, apply_to_response, Body};
use crate::error::DialogError;
use crate::headers::insert_before_length;
use crate::random::duration_between;
use sip_message::{Method, Request, Response, StandardHeader as H, StatusCode};
use sip_transaction::TxId;
use std::time::Duration;

/// The glare interval of §14.1, in units of 10 ms: 2.1–4 s for the owner of the Call-ID (the
/// dialog's UAC), 0–2 s for the other side, so the two retries do not cross again.
pub(crate) fn glare_delay(ctx: &mut Ctx<'_>, owns_call_id: bool) -> Duration {
    let ms = Duration::from_millis;
    if owns_call_id {
        duration_between(ctx.rng, ms(2100), ms(4000), ms(10))
    } else {
        duration_between(ctx.rng, ms(0), ms(2000), ms(10))
    }
}

impl Call {
    /// The application sends a re-INVITE with `body` (an SDP offer, or none for an offer in
    /// the 2xx).
    pub(crate) fn reinvite(&mut self, ctx: &mut Ctx<'_>, body: Option<Body>) -> Result<(), DialogError> {
        if self.phase != Phase::Established {
            return Err(DialogError::InvalidState("a re-INVITE needs an established call"));
        }
        if self.invite_in_progress() {
            return Err(DialogError::InviteInProgress);
        }
        self.glare = None;
        let update = ctx.cfg.offer_by_update && self.timer.peer_update;
        self.send_reinvite(ctx, body, update)
    }

    /// Sends our offer `body` in a re-INVITE, or in an UPDATE when `update`.
    fn send_reinvite(&mut self, ctx: &mut Ctx<'_>, body: Option<Body>, update: bool) -> Result<(), DialogError> {
        let dialog = self.dialog.as_mut().ok_or(DialogError::InvalidState("no dialog"))?;
        let method = if update { Method::Update } else { Method::Invite };
        let mut request = dialog.new_request(method)?;
        insert_before_length(request.headers_mut(), self.timer_request_lines());
        apply(&mut request, body.as_ref());
        self.note_local_body(body.as_ref());
        // The ACK repeats the re-INVITE's credentials, so they go in before it is kept.
        self.authorize(&mut request);
        let what = Pending::Reinvite { request: Box::new(request.clone()), body, update };
        self.track_and_send(ctx, request, what);
        Ok(())
    }

    /// The answer to our re-INVITE.
    pub(crate) fn on_reinvite_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        request: &Request,
        body: Option<Body>,
        update: bool,
        response: Response,
    ) {
        let status = response.status();
        if status.is_provisional() {
            return;
        }
        if status.is_success() {
            let Some(dialog) = self.dialog.as_mut() else { return };
            if update {
                // A target refresh with no ACK (RFC 3311 §5.1).
                dialog.receive_response(&Method::Update, &response);
            } else {
                self.ack_reinvite_2xx(ctx, request, &response);
            }
            self.timer_from_2xx(ctx.now, &response, false);
            ctx.event(self.key, CallEventKind::ReinviteAnswered { response });
            return;
        }
        match status {
            StatusCode::REQUEST_PENDING => {
                let owns = self.dialog.as_ref().is_some_and(|d| d.owns_call_id());
                let retry_at = ctx.now + glare_delay(ctx, owns);
                tracing::debug!(call = %self.key, ?retry_at, "glare: re-INVITE again later");
                self.glare = Some((retry_at, body, update));
                ctx.event(self.key, CallEventKind::ReinviteGlare { retry_at });
            }
            StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST => {
                ctx.event(self.key, CallEventKind::ReinviteAnswered { response });
                self.finish(ctx, EndReason::DialogFailed { status });
            }
            StatusCode::REQUEST_TIMEOUT => {
                ctx.event(self.key, CallEventKind::ReinviteAnswered { response });
                self.send_bye(ctx, EndReason::DialogFailed { status });
            }
            _ => ctx.event(self.key, CallEventKind::ReinviteAnswered { response }),
        }
    }

    /// The 2xx to a re-INVITE of ours (the application's or a session refresh): the dialog
    /// takes its target, and the ACK goes and is kept for the 2xx's retransmissions.
    pub(crate) fn ack_reinvite_2xx(&mut self, ctx: &mut Ctx<'_>, invite: &Request, response: &Response) {
        let Some(dialog) = self.dialog.as_mut() else { return };
        dialog.receive_response(&Method::Invite, response);
        match dialog.ack(invite) {
            Ok(ack) => {
                ctx.ack(ack.clone());
                if let Ok(c) = invite.headers().cseq() {
                    self.keep_ack(c.seq, ack);
                }
            }
            Err(e) => tracing::warn!(call = %self.key, error = %e, "cannot build the ACK"),
        }
    }

    /// The glare interval is over: our re-INVITE goes again, unless another INVITE is now in
    /// progress, in which case it waits another interval.
    pub(crate) fn on_glare_timer(&mut self, ctx: &mut Ctx<'_>) {
        let Some((_, body, update)) = self.glare.take() else { return };
        if self.phase != Phase::Established {
            return;
        }
        if self.invite_in_progress() {
            let owns = self.dialog.as_ref().is_some_and(|d| d.owns_call_id());
            self.glare = Some((ctx.now + glare_delay(ctx, owns), body, update));
            return;
        }
        if let Err(e) = self.send_reinvite(ctx, body, update) {
            tracing::warn!(call = %self.key, error = %e, "cannot send the re-INVITE again");
        }
    }

    /// A re-INVITE of the peer, in order (§12.2.2 passed).
    pub(crate) fn on_incoming_reinvite(&mut self, ctx: &mut Ctx<'_>, tx: TxId, request: Request) {
        if self.our_reinvite_pending() {
            // §14.2: glare.
            if let Ok(r) = request.make_response(StatusCode::REQUEST_PENDING, None) {
                ctx.respond(tx, r);
            }
            return;
        }
        if self.their_reinvite.is_some() {
            self.retry_later(ctx, tx, &request);
            return;
        }
        self.their_reinvite = Some((tx, request.clone()));
        ctx.event(self.key, CallEventKind::Reinvite { tx, request });
    }

    /// §14.2: an INVITE arriving before we answered the previous one gets a 500 with a
    /// Retry-After of 0–10 s.
    pub(crate) fn retry_later(&mut self, ctx: &mut Ctx<'_>, tx: TxId, request: &Request) {
        if let Ok(mut r) = request.make_response(StatusCode::SERVER_INTERNAL_ERROR, None) {
            let secs = ctx.rng.up_to(10);
            r.headers_mut().insert(0, H::RetryAfter, secs.to_string());
            ctx.respond(tx, r);
        }
    }

    /// The application answers the peer's re-INVITE.
    pub(crate) fn answer_reinvite(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: StatusCode,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        let (tx, request) = self.their_reinvite.clone().ok_or(DialogError::NotFound)?;
        let mut resp = request.make_response(status, None)?;
        if status.is_success() {
            if let Some(d) = &self.dialog {
                insert_before_length(resp.headers_mut(), [(H::Contact, d.local_contact())]);
            }
            self.timer_for_2xx(ctx, &request, &mut resp);
            self.note_local_body(body.as_ref());
        }
        apply_to_response(&mut resp, body.as_ref());
        ctx.respond(tx, resp.clone());
        if status.is_final() {
            self.their_reinvite = None;
        }
        if status.is_success() {
            let seq = request.headers().cseq()?.seq;
            self.awaiting_acks.push(AwaitAck::new(ctx.now, tx, resp, seq, false, ctx.cfg.t1));
        }
        Ok(())
    }
}
