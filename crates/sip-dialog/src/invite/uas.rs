//! The UAS of the initial INVITE (RFC 3261 §13.3): provisional, 2xx and failure answers, the
//! 2xx repeated until its ACK (§13.3.1.4), and CANCEL (§9.2).

use super::call::{Call, Ctx, Phase};
use super::config::CallConfig;
use super::event::{CallEventKind, CallKey, EndReason};
use super::retransmit::{AckTimer, AwaitAck};
use crate::body::{apply_to_response, Body};
use crate::dialog::{Dialog, Role};
use crate::error::DialogError;
use crate::headers::insert_before_length;
use sip_message::build::new_tag;
use sip_message::{HeaderName, Request, Response, StandardHeader as H, StatusCode, Text};
use sip_transaction::TxId;

impl Call {
    /// A call for an INVITE received outside any dialog in server transaction `tx`. The
    /// dialog is made now (and the INVITE refused if it cannot be, e.g. without Contact),
    /// but becomes known to the peer only with a tagged response.
    pub(crate) fn incoming(key: CallKey, tx: TxId, invite: Request, cfg: &CallConfig) -> Result<Call, DialogError> {
        let tag = new_tag()?;
        let dialog = Dialog::uas(&invite, &tag, &cfg.contact, cfg.via.clone())?;
        let mut call = Call::new(key, Role::Uas, invite, tag, cfg.via.clone());
        call.invite_tx = Some(tx);
        call.dialog = Some(dialog);
        Ok(call)
    }

    /// A response of ours that creates or confirms the dialog: copies the Record-Route and
    /// carries our Contact (§12.1.1).
    fn dialog_response(&self, status: StatusCode, body: Option<&Body>) -> Result<Response, DialogError> {
        let mut resp = self.invite.make_response(status, Some(&self.local_tag))?;
        let mut lines: Vec<(H, Text)> =
            self.invite.headers().get_all(H::RecordRoute).map(|rr| (H::RecordRoute, rr.clone())).collect();
        if let Some(d) = &self.dialog {
            lines.push((H::Contact, Text::from(d.local_contact())));
        }
        insert_before_length(resp.headers_mut(), lines);
        apply_to_response(&mut resp, body);
        Ok(resp)
    }

    /// The application answers the INVITE with `status`.
    pub(crate) fn answer_invite(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: StatusCode,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        self.answer_invite_with(ctx, status, body, None, Vec::new())
    }

    /// [`Self::answer_invite`] with a reason phrase of our own and extra header lines (a
    /// 3xx's Contact, a Retry-After, a Warning); they apply to failure responses only.
    pub(crate) fn answer_invite_with(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: StatusCode,
        body: Option<Body>,
        reason: Option<String>,
        extra: Vec<(HeaderName, Text)>,
    ) -> Result<(), DialogError> {
        let tx = match (self.phase, self.invite_tx) {
            (Phase::Incoming, Some(tx)) => tx,
            _ => return Err(DialogError::InvalidState("the INVITE has been answered already")),
        };
        if status == StatusCode::TRYING {
            ctx.respond(tx, self.invite.make_response(status, None)?);
            return Ok(());
        }
        if self.hold_for_prack(status, &body) {
            return Ok(());
        }
        if status.is_provisional() {
            let resp = self.dialog_response(status, body.as_ref())?;
            self.send_provisional(ctx, tx, resp, body.is_some());
            self.early_sent = true;
            return Ok(());
        }
        self.final_sent();
        if status.is_success() {
            let mut resp = self.dialog_response(status, body.as_ref())?;
            let invite = self.invite.clone();
            self.timer_for_2xx(ctx, &invite, &mut resp);
            self.note_local_body(body.as_ref());
            ctx.respond(tx, resp.clone());
            if let Some(d) = self.dialog.as_mut() {
                d.confirm();
            }
            let seq = self.invite.headers().cseq()?.seq;
            self.awaiting_acks.push(AwaitAck::new(ctx.now, tx, resp, seq, true, ctx.cfg.t1));
            self.phase = Phase::Established;
            return Ok(());
        }
        let mut resp = self.invite.make_response(status, Some(&self.local_tag))?;
        if let Some(reason) = reason {
            resp.set_reason(reason);
        }
        insert_before_length(resp.headers_mut(), extra);
        apply_to_response(&mut resp, body.as_ref());
        ctx.respond(tx, resp);
        self.invite_tx = None;
        self.finish(ctx, EndReason::Rejected { status });
        Ok(())
    }

    /// Does server transaction `tx` belong to this call (its INVITE or a re-INVITE)?
    pub(crate) fn owns_invite_tx(&self, tx: TxId) -> bool {
        self.invite_tx == Some(tx) || self.their_reinvite.as_ref().is_some_and(|(t, _)| *t == tx)
    }

    /// A CANCEL (in `cancel_tx`) of our INVITE server transaction `target` (§9.2): 200 to
    /// the CANCEL; if the INVITE is still unanswered, 487 to it and the call ends.
    pub(crate) fn on_cancel(&mut self, ctx: &mut Ctx<'_>, cancel_tx: TxId, cancel: &Request, target: TxId) {
        if let Ok(ok) = cancel.make_response(StatusCode::OK, Some(&self.local_tag)) {
            ctx.respond(cancel_tx, ok);
        }
        if self.phase == Phase::Incoming && self.invite_tx == Some(target) {
            if let Ok(r) = self.invite.make_response(StatusCode::REQUEST_TERMINATED, Some(&self.local_tag)) {
                ctx.respond(target, r);
            }
            self.invite_tx = None;
            self.finish(ctx, EndReason::CancelledByPeer);
        } else if self.their_reinvite.as_ref().is_some_and(|(t, _)| *t == target) {
            if let Some((tx, req)) = self.their_reinvite.take() {
                if let Ok(r) = req.make_response(StatusCode::REQUEST_TERMINATED, None) {
                    ctx.respond(tx, r);
                }
                ctx.event(self.key, CallEventKind::RequestCancelled { tx });
            }
        }
    }

    /// An ACK in the call's dialog: the one our 2xx waits for ends the retransmissions.
    pub(crate) fn on_ack(&mut self, ctx: &mut Ctx<'_>, ack: Request) {
        let Ok(seq) = ack.headers().cseq().map(|c| c.seq) else { return };
        let Some(i) = self.awaiting_acks.iter().position(|a| a.seq == seq) else {
            tracing::debug!(call = %self.key, seq, "ACK for nothing awaited (a retransmission)");
            return;
        };
        let waiting = self.awaiting_acks.remove(i);
        let kind =
            if waiting.initial { CallEventKind::Confirmed { ack } } else { CallEventKind::ReinviteAcked { ack } };
        ctx.event(self.key, kind);
        if std::mem::take(&mut self.bye_after_ack) {
            self.send_bye(ctx, EndReason::LocalBye);
        }
    }

    /// The 2xx retransmission timers (§13.3.1.4).
    pub(crate) fn on_ack_timer(&mut self, ctx: &mut Ctx<'_>) {
        let mut gave_up = false;
        for waiting in &mut self.awaiting_acks {
            match waiting.on_timeout(ctx.now, ctx.cfg.t2) {
                Some(AckTimer::Retransmit(tx, resp)) => ctx.respond(tx, resp),
                Some(AckTimer::GiveUp) => gave_up = true,
                None => {}
            }
        }
        if gave_up {
            tracing::debug!(call = %self.key, "no ACK for our 2xx within 64*T1: BYE");
            let reason = if self.bye_after_ack { EndReason::LocalBye } else { EndReason::NoAck };
            self.awaiting_acks.clear();
            self.send_bye(ctx, reason);
        }
    }
}
