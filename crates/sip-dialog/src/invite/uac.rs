//! The UAC of the initial INVITE (RFC 3261 §13.2): provisional responses and early dialogs,
//! forking (the first 2xx wins; a later fork's 2xx is acknowledged and sent a BYE,
//! §13.2.2.4), failures, CANCEL (§9.1), redirects (§8.1.3.4) and digest challenges (§22.2).

use super::call::{Call, Cancel, Ctx, Pending, Phase};
use super::event::{CallEventKind, EndReason};
use super::redirect;
use crate::auth::{set_credentials, AuthFailure};
use crate::dialog::{Dialog, DialogId, Role};
use crate::error::DialogError;
use crate::via::{top_branch, ViaTemplate};
use sip_message::auth::Credentials;
use sip_message::{Method, Request, Response, StandardHeader as H, StatusCode};

impl Call {
    /// A call for the INVITE `invite` we are about to send; `send_initial` sends it.
    pub(crate) fn outgoing(
        key: super::event::CallKey,
        invite: Request,
        credentials: Option<Credentials>,
    ) -> Result<Call, DialogError> {
        if *invite.method() != Method::Invite {
            return Err(DialogError::Unsupported("a call starts with an INVITE"));
        }
        let h = invite.headers();
        let from_tag = h.from()?.tag().ok_or(DialogError::Missing("a From tag"))?.to_owned();
        if h.to()?.tag().is_some() {
            return Err(DialogError::Unsupported("a re-INVITE is sent with Calls::reinvite"));
        }
        if !h.contains(H::Contact) {
            return Err(DialogError::Missing("a Contact (RFC 3261 §8.1.1.8)"));
        }
        h.call_id()?;
        h.cseq()?;
        let via = h.top_via()?;
        if !via.has_rfc3261_branch() {
            return Err(DialogError::Missing("a Via branch starting with z9hG4bK"));
        }
        let template = ViaTemplate::from_via(&via);
        let mut call = Call::new(key, Role::Uac, invite, from_tag, template);
        call.auth = crate::auth::Authenticator::new(credentials);
        call.redirects.tried.push(call.invite.uri_str().to_string());
        Ok(call)
    }

    /// Sends the current INVITE.
    pub(crate) fn send_initial(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(branch) = top_branch(self.invite.headers()) {
            self.pending.retain(|_, p| !matches!(p, Pending::Invite | Pending::Cancel));
            self.pending.insert((branch, Method::Invite), Pending::Invite);
        }
        self.no_answer_at = ctx.cfg.no_answer_timeout.map(|d| ctx.now + d);
        self.ask_for_session_timer(ctx);
        let kind = self.invite.headers().get(H::ContentType).map(|t| t.to_string()).unwrap_or_default();
        let body = (!self.invite.body().is_empty()).then(|| crate::body::Body::new(kind, self.invite.body().clone()));
        self.note_local_body(body.as_ref());
        ctx.send(self.invite.clone());
    }

    /// A response to the call's INVITE.
    pub(crate) fn on_invite_response(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let status = response.status();
        if status.is_provisional() {
            self.on_provisional(ctx, response);
        } else if status.is_success() {
            self.on_invite_2xx(ctx, response);
        } else if self.phase == Phase::Calling {
            self.on_invite_failure(ctx, response);
        }
    }

    fn on_provisional(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        if self.phase != Phase::Calling {
            return;
        }
        self.provisional_seen = true;
        let mut early = None;
        if response.status() != StatusCode::TRYING {
            if let Ok(id) = DialogId::of_response(&response) {
                if self.rel.is_repeat(&id, &response) {
                    return;
                }
                match self.forks.iter_mut().find(|d| *d.id() == id) {
                    Some(fork) => fork.refresh_early(&response),
                    None => match Dialog::uac(&self.invite, &response) {
                        Ok(d) => {
                            tracing::debug!(call = %self.key, dialog = %id, "early dialog");
                            self.forks.push(d);
                        }
                        Err(e) => tracing::debug!(call = %self.key, error = %e, "no early dialog from this response"),
                    },
                }
                self.prack_if_reliable(ctx, &response, &id);
                early = Some(id);
            }
        }
        ctx.event(self.key, CallEventKind::Progress { response, early });
        if let Cancel::Wanted { no_answer } = self.cancel {
            self.send_cancel(ctx, no_answer);
        }
    }

    fn on_invite_2xx(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let id = match DialogId::of_response(&response) {
            Ok(id) => id,
            Err(e) => {
                tracing::debug!(call = %self.key, error = %e, "ignoring a 2xx without tags");
                return;
            }
        };
        if self.phase != Phase::Calling {
            // Another fork answered too: acknowledge it, then end it (§13.2.2.4).
            self.discard_fork(ctx, &id, &response);
            return;
        }
        let dialog = match self.forks.iter().position(|d| *d.id() == id) {
            Some(i) => {
                let mut d = self.forks.remove(i);
                d.confirm_with(&response).map(|_| d)
            }
            None => Dialog::uac(&self.invite, &response),
        };
        let dialog = match dialog {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(call = %self.key, error = %e, "cannot make a dialog from the 2xx");
                return;
            }
        };
        // The other early dialogs end: a later 2xx from one of them is discarded.
        self.forks.clear();
        match dialog.ack(&self.invite) {
            Ok(ack) => {
                ctx.ack(ack.clone());
                if let Ok(c) = self.invite.headers().cseq() {
                    self.keep_ack(c.seq, ack);
                }
            }
            Err(e) => tracing::warn!(call = %self.key, error = %e, "cannot build the ACK"),
        }
        self.dialog = Some(dialog);
        self.phase = Phase::Established;
        self.no_answer_at = None;
        self.timer_from_2xx(ctx.now, &response, true);
        self.auth.succeeded();
        match self.cancel.reason() {
            // Answered while we were cancelling: the call ends with a BYE.
            Some(reason) => self.send_bye(ctx, reason),
            None => ctx.event(self.key, CallEventKind::Answered { response, dialog: id }),
        }
    }

    fn discard_fork(&mut self, ctx: &mut Ctx<'_>, id: &DialogId, response: &Response) {
        let mut fork = match Dialog::uac(&self.invite, response) {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(call = %self.key, error = %e, "cannot acknowledge this fork");
                return;
            }
        };
        let Ok(ack) = fork.ack(&self.invite) else { return };
        ctx.ack(ack.clone());
        self.closed_forks.push((id.clone(), ack));
        match fork.new_request(Method::Bye) {
            Ok(bye) => self.send_tracked(ctx, bye, Pending::ForkBye),
            Err(e) => tracing::warn!(call = %self.key, error = %e, "cannot build the fork's BYE"),
        }
        tracing::debug!(call = %self.key, dialog = %id, "discarding a later fork");
        ctx.event(self.key, CallEventKind::ForkDiscarded { dialog: id.clone() });
    }

    fn on_invite_failure(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let status = response.status();
        self.forks.clear();
        self.provisional_seen = false;
        if let Some(reason) = self.cancel.reason() {
            self.finish(ctx, reason);
            return;
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            let uri = self.invite.uri_str().to_string();
            match self.auth.answer(&response, "INVITE", &uri, self.invite.body()) {
                Ok(creds) => {
                    let mut retry = self.invite.clone();
                    set_credentials(&mut retry, creds);
                    self.resend(ctx, retry);
                }
                Err(AuthFailure::NoCredentials) => self.finish(ctx, EndReason::Failed { status }),
                Err(reason) => self.finish(ctx, EndReason::AuthFailed { reason }),
            }
            return;
        }
        if status == StatusCode::SESSION_INTERVAL_TOO_SMALL && self.retry_after_422(&response) {
            let retry = self.invite.clone();
            self.resend(ctx, retry);
            return;
        }
        if status.class() == 3 {
            let targets = redirect::targets(&response);
            self.redirects.learn(targets.clone());
            self.follow(ctx, status, targets);
            return;
        }
        if self.redirects.followed > 0 && !self.redirects.remaining.is_empty() {
            // A redirected attempt failed: the next target, within the bound.
            let targets = self.redirects.remaining.clone();
            self.follow(ctx, status, targets);
            return;
        }
        self.finish(ctx, EndReason::Failed { status });
    }

    /// Sends the INVITE to the next redirect target, or ends the call.
    fn follow(&mut self, ctx: &mut Ctx<'_>, status: StatusCode, targets: Vec<super::event::RedirectTarget>) {
        let next = self.redirects.next(ctx.cfg.max_redirects);
        ctx.event(self.key, CallEventKind::Redirected { status, targets, following: next.clone() });
        let Some(target) = next else {
            self.finish(ctx, EndReason::Failed { status });
            return;
        };
        let mut retry = self.invite.clone();
        if let Err(e) = retry.set_uri(target.as_str()) {
            tracing::debug!(call = %self.key, error = %e, "unusable redirect target");
            self.finish(ctx, EndReason::Failed { status });
            return;
        }
        // Credentials computed for the old Request-URI do not fit the new one.
        let creds = self.auth.preauthorize("INVITE", &target, retry.body());
        set_credentials(&mut retry, creds);
        self.resend(ctx, retry);
    }

    /// Sends `retry` as the call's new INVITE: same Call-ID, From and To, the next CSeq and
    /// a new branch (§8.1.3.4, §22.2).
    fn resend(&mut self, ctx: &mut Ctx<'_>, mut retry: Request) {
        let seq = retry.headers().cseq().map(|c| c.seq + 1).unwrap_or(1);
        retry.headers_mut().set(H::CSeq, format!("{seq} INVITE"));
        match crate::via::renew_via(&mut retry, &self.via) {
            Ok(_) => {
                self.invite = retry;
                self.send_initial(ctx);
            }
            Err(e) => {
                tracing::warn!(call = %self.key, error = %e, "cannot build the new INVITE");
                self.finish(ctx, EndReason::Failed { status: StatusCode::SERVER_INTERNAL_ERROR });
            }
        }
    }

    /// The application cancels the call (§9.1); `no_answer` when the no-answer timer did.
    pub(crate) fn cancel(&mut self, ctx: &mut Ctx<'_>, no_answer: bool) -> Result<(), DialogError> {
        if self.phase != Phase::Calling {
            return Err(DialogError::InvalidState("only a call not answered yet can be cancelled"));
        }
        if self.cancel != Cancel::No {
            return Ok(());
        }
        if self.provisional_seen {
            self.send_cancel(ctx, no_answer);
        } else {
            // §9.1: no CANCEL before a provisional response; it goes with the first one.
            self.cancel = Cancel::Wanted { no_answer };
        }
        Ok(())
    }

    fn send_cancel(&mut self, ctx: &mut Ctx<'_>, no_answer: bool) {
        match self.invite.cancel() {
            Ok(cancel) => {
                if let Some(branch) = top_branch(cancel.headers()) {
                    self.pending.insert((branch, Method::Cancel), Pending::Cancel);
                }
                ctx.send(cancel);
                self.cancel = Cancel::Sent { give_up: ctx.now + ctx.cfg.timeout(), no_answer };
            }
            Err(e) => {
                tracing::warn!(call = %self.key, error = %e, "cannot build the CANCEL");
                self.finish(ctx, if no_answer { EndReason::NoAnswer } else { EndReason::Cancelled });
            }
        }
    }

    pub(crate) fn on_no_answer(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Calling {
            tracing::debug!(call = %self.key, "no answer: cancelling");
            let _ = self.cancel(ctx, true);
        }
    }
}
