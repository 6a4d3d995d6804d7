//! [`Call`]: one INVITE usage (RFC 3261 §13–15) — the dialogs an INVITE made, its timers and
//! the transactions in flight — and the plumbing every phase shares. The phases live in
//! `uac.rs`, `uas.rs`, `reinvite.rs` and `in_dialog.rs`.

use super::config::CallConfig;
use super::event::{CallEvent, CallEventKind, CallKey, CallState, EndReason};
use super::redirect::Redirects;
use super::reliable::Reliability;
use super::retransmit::AwaitAck;
use super::session_timer::SessionTimer;
use crate::auth::Authenticator;
use crate::body::Body;
use crate::dialog::{Dialog, DialogId, DialogState, Role};
use crate::output::{Outbox, Output};
use crate::random::RandomSource;
use crate::via::{top_branch, ViaTemplate};
use sip_message::{Method, Request, Response, StatusCode};
use sip_transaction::TxId;
use std::collections::HashMap;
use std::time::Instant;

/// What one operation on a call needs from its surroundings.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) cfg: &'a CallConfig,
    pub(crate) rng: &'a mut dyn RandomSource,
    pub(crate) out: &'a mut Outbox<CallEvent>,
}

impl Ctx<'_> {
    pub(crate) fn event(&mut self, call: CallKey, kind: CallEventKind) {
        self.out.push(Output::Event(CallEvent { call, kind }));
    }

    pub(crate) fn send(&mut self, request: Request) {
        self.out.push(Output::Request(request));
    }

    pub(crate) fn respond(&mut self, tx: TxId, response: Response) {
        self.out.push(Output::Response { tx, response });
    }

    pub(crate) fn ack(&mut self, ack: Request) {
        self.out.push(Output::Ack(ack));
    }
}

/// Where a call is, internally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// UAC: the INVITE has no final response yet.
    Calling,
    /// UAS: we have not sent a final response to the INVITE yet.
    Incoming,
    /// A confirmed dialog.
    Established,
    /// Our BYE is in flight.
    Terminating,
    /// Over.
    Terminated,
}

/// What one of our client transactions is for.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// The call's INVITE (kept after a 2xx, so later forks' 2xx find it).
    Invite,
    /// The CANCEL of it.
    Cancel,
    /// Our re-INVITE, kept to build its ACK, with its body for a retry after glare.
    Reinvite { request: Box<Request>, body: Option<Body>, update: bool },
    /// Our BYE.
    Bye,
    /// The BYE to a fork discarded after the call was answered.
    ForkBye,
    /// A PRACK for a reliable provisional response (RFC 3262).
    Prack,
    /// A session refresh of ours (RFC 4028): an UPDATE, or a re-INVITE kept to build its ACK.
    Refresh { invite: Option<Box<Request>> },
    /// A request sent for the application.
    Other,
}

/// The UAC's CANCEL of its INVITE (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// Not asked for.
    No,
    /// Asked for before any provisional response: a CANCEL may not go yet (§9.1).
    Wanted { no_answer: bool },
    /// Sent; if no final response comes by `give_up`, the INVITE is considered cancelled.
    Sent { give_up: Instant, no_answer: bool },
}

impl Cancel {
    pub(crate) fn reason(self) -> Option<EndReason> {
        match self {
            Cancel::No => None,
            Cancel::Wanted { no_answer } | Cancel::Sent { no_answer, .. } => {
                Some(if no_answer { EndReason::NoAnswer } else { EndReason::Cancelled })
            }
        }
    }
}

/// One INVITE usage.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) key: CallKey,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
    /// UAC: the INVITE of the current attempt. UAS: the INVITE received.
    pub(crate) invite: Request,
    /// UAS: the INVITE's server transaction.
    pub(crate) invite_tx: Option<TxId>,
    /// UAS: a tagged provisional response went out, so an early dialog exists.
    pub(crate) early_sent: bool,
    /// The Via of requests we send.
    pub(crate) via: ViaTemplate,
    /// The call's dialog: the UAC's once answered, the UAS's from the INVITE on.
    pub(crate) dialog: Option<Dialog>,
    /// UAC: early dialogs, one per fork that sent a tagged provisional response.
    pub(crate) forks: Vec<Dialog>,
    /// UAC: forks answered after the call was established, with the ACK they were sent.
    pub(crate) closed_forks: Vec<(DialogId, Request)>,
    /// UAC: the ACKs sent for 2xx responses in the dialog, by INVITE CSeq, to repeat for each
    /// retransmission of that 2xx (§13.2.2.4).
    pub(crate) acks: Vec<(u32, Request)>,
    /// Our client transactions in flight, by top Via branch and CSeq method.
    pub(crate) pending: HashMap<(String, Method), Pending>,
    /// Requests of the peer the application has not answered yet.
    pub(crate) server_pending: HashMap<TxId, Request>,
    /// The peer's re-INVITE the application has not answered yet.
    pub(crate) their_reinvite: Option<(TxId, Request)>,
    pub(crate) provisional_seen: bool,
    pub(crate) cancel: Cancel,
    pub(crate) redirects: Redirects,
    pub(crate) auth: Authenticator,
    pub(crate) no_answer_at: Option<Instant>,
    /// Our 2xx responses to INVITEs, each repeated until its ACK (§13.3.1.4). Usually one;
    /// two when the peer's re-INVITE arrives before the ACK of our previous 2xx (the ACK was
    /// lost, and only our retransmissions will bring it again).
    pub(crate) awaiting_acks: Vec<AwaitAck>,
    /// The application hung up while our 2xx awaited its ACK: BYE once it comes (§15).
    pub(crate) bye_after_ack: bool,
    /// Our re-INVITE waiting out a glare interval, with its body.
    pub(crate) glare: Option<(Instant, Option<Body>, bool)>,
    /// Why the call ends, once a BYE is in flight.
    pub(crate) end_reason: Option<EndReason>,
    /// Ends the call if our BYE gets no answer at all.
    pub(crate) bye_guard: Option<Instant>,
    /// Reliable provisional responses (RFC 3262) both ways.
    pub(crate) rel: Reliability,
    /// The session timer (RFC 4028).
    pub(crate) timer: SessionTimer,
    /// The deadline registered with the owner's timer set.
    pub(crate) scheduled: Option<Instant>,
}

impl Call {
    pub(crate) fn new(key: CallKey, role: Role, invite: Request, local_tag: String, via: ViaTemplate) -> Call {
        let call_id = invite.headers().call_id().unwrap_or_default().to_owned();
        Call {
            key,
            role,
            phase: if role == Role::Uac { Phase::Calling } else { Phase::Incoming },
            call_id,
            local_tag,
            invite,
            invite_tx: None,
            early_sent: false,
            via,
            dialog: None,
            forks: Vec::new(),
            closed_forks: Vec::new(),
            acks: Vec::new(),
            pending: HashMap::new(),
            server_pending: HashMap::new(),
            their_reinvite: None,
            provisional_seen: false,
            cancel: Cancel::No,
            redirects: Redirects::default(),
            auth: Authenticator::new(None),
            no_answer_at: None,
            awaiting_acks: Vec::new(),
            bye_after_ack: false,
            glare: None,
            end_reason: None,
            bye_guard: None,
            rel: Reliability::default(),
            timer: SessionTimer::default(),
            scheduled: None,
        }
    }

    /// The public view of the phase.
    pub(crate) fn state(&self) -> CallState {
        match self.phase {
            Phase::Calling if !self.forks.is_empty() => CallState::Early,
            Phase::Calling => CallState::Calling,
            Phase::Incoming if self.early_sent => CallState::Early,
            Phase::Incoming => CallState::Incoming,
            Phase::Established => CallState::Established,
            Phase::Terminating => CallState::Terminating,
            Phase::Terminated => CallState::Terminated,
        }
    }

    /// The dialogs requests may name: the call's (once the peer can know it) and the early
    /// forks.
    pub(crate) fn dialog_ids(&self) -> Vec<DialogId> {
        let mut ids: Vec<DialogId> = self.forks.iter().map(|d| d.id().clone()).collect();
        if let Some(d) = &self.dialog {
            let visible = self.role == Role::Uac || self.phase != Phase::Incoming || self.early_sent;
            if visible && d.state() != DialogState::Terminated {
                ids.push(d.id().clone());
            }
        }
        ids
    }

    /// The next instant a timer of this call fires.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let cancel = match self.cancel {
            Cancel::Sent { give_up, .. } => Some(give_up),
            _ => None,
        };
        [
            self.no_answer_at,
            cancel,
            self.awaiting_acks.iter().map(AwaitAck::deadline).min(),
            self.glare.as_ref().map(|g| g.0),
            self.bye_guard,
            self.rel.deadline(),
            self.timer.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires every timer due at `ctx.now`.
    pub(crate) fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if self.no_answer_at.is_some_and(|t| t <= now) {
            self.no_answer_at = None;
            self.on_no_answer(ctx);
        }
        if let Cancel::Sent { give_up, no_answer } = self.cancel {
            if give_up <= now {
                // §9.1: no final response 64·T1 after the CANCEL: the INVITE counts as
                // cancelled.
                self.cancel = Cancel::Wanted { no_answer };
                if self.phase == Phase::Calling {
                    let reason = self.cancel.reason().unwrap_or(EndReason::Cancelled);
                    self.finish(ctx, reason);
                    return;
                }
            }
        }
        self.on_ack_timer(ctx);
        if self.rel.deadline().is_some_and(|t| t <= now) {
            self.on_reliable_timer(ctx);
        }
        if self.glare.as_ref().is_some_and(|g| g.0 <= now) {
            self.on_glare_timer(ctx);
        }
        if self.timer.deadline().is_some_and(|t| t <= now) {
            self.on_session_timer(ctx);
        }
        if self.bye_guard.is_some_and(|t| t <= now) {
            let reason = self.end_reason.clone().unwrap_or(EndReason::LocalBye);
            self.finish(ctx, reason);
        }
    }

    /// A response to one of our requests.
    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let Ok(cseq) = response.headers().cseq() else { return };
        if response.status().is_success() && cseq.method == Method::Invite {
            if let Some(ack) = self.ack_for_retransmission(&response, cseq.seq) {
                tracing::debug!(call = %self.key, cseq = cseq.seq, "2xx retransmitted: ACK again");
                ctx.ack(ack);
                return;
            }
        }
        let Some(branch) = top_branch(response.headers()) else { return };
        let key = (branch, cseq.method.clone());
        let Some(what) = self.pending.get(&key).cloned() else {
            tracing::debug!(call = %self.key, status = response.status().as_u16(), "response to no request of this call");
            return;
        };
        let status = response.status();
        if status.is_final() && !matches!(what, Pending::Invite) {
            self.pending.remove(&key);
        }
        match what {
            Pending::Invite => self.on_invite_response(ctx, response),
            Pending::Cancel => {}
            Pending::Reinvite { request, body, update } => {
                self.on_reinvite_response(ctx, &request, body, update, response)
            }
            Pending::Bye => {
                if status.is_final() {
                    let reason = self.end_reason.clone().unwrap_or(EndReason::LocalBye);
                    self.finish(ctx, reason);
                }
            }
            Pending::ForkBye => {}
            Pending::Refresh { invite } => self.on_refresh_response(ctx, invite.as_deref(), response),
            Pending::Prack => {
                if status.is_final() && !status.is_success() {
                    tracing::debug!(call = %self.key, status = status.as_u16(), "PRACK refused");
                }
            }
            Pending::Other => self.on_other_response(ctx, response),
        }
    }

    /// The ACK already sent for this 2xx, if it is a retransmission.
    fn ack_for_retransmission(&self, response: &Response, seq: u32) -> Option<Request> {
        let id = DialogId::of_response(response).ok()?;
        if self.dialog.as_ref().is_some_and(|d| *d.id() == id) {
            return self.acks.iter().find(|(s, _)| *s == seq).map(|(_, a)| a.clone());
        }
        self.closed_forks.iter().find(|(d, _)| *d == id).map(|(_, a)| a.clone())
    }

    /// Remembers the ACK of the 2xx to the INVITE with CSeq `seq` (the last few suffice: a
    /// 2xx is retransmitted for at most 64·T1).
    pub(crate) fn keep_ack(&mut self, seq: u32, ack: Request) {
        self.acks.retain(|(s, _)| *s != seq);
        self.acks.push((seq, ack));
        if self.acks.len() > 4 {
            self.acks.remove(0);
        }
    }

    /// Sends a request of ours in the dialog, tracked as `what`. Credentials of realms that
    /// challenged this call before go with it (§22.3).
    pub(crate) fn send_tracked(&mut self, ctx: &mut Ctx<'_>, mut request: Request, what: Pending) {
        self.authorize(&mut request);
        self.track_and_send(ctx, request, what);
    }

    /// Sends `request` as it is, tracked as `what` by its branch and method.
    pub(crate) fn track_and_send(&mut self, ctx: &mut Ctx<'_>, request: Request, what: Pending) {
        if let Some(branch) = top_branch(request.headers()) {
            self.pending.insert((branch, request.method().clone()), what);
        }
        ctx.send(request);
    }

    /// Is an INVITE transaction in progress in either direction (§14.1)? Our 2xx awaiting
    /// its ACK counts: the peer has not finished that INVITE.
    pub(crate) fn invite_in_progress(&self) -> bool {
        self.phase == Phase::Calling
            || self.phase == Phase::Incoming
            || self.their_reinvite.is_some()
            || !self.awaiting_acks.is_empty()
            || self.our_reinvite_pending()
    }

    /// Is a re-INVITE of ours (the application's, or a session refresh) in flight?
    pub(crate) fn our_reinvite_pending(&self) -> bool {
        self.pending.values().any(|p| matches!(p, Pending::Reinvite { .. } | Pending::Refresh { invite: Some(_) }))
    }

    /// Remembers `body` as our latest SDP in the dialog, for a session refresh by re-INVITE.
    pub(crate) fn note_local_body(&mut self, body: Option<&crate::body::Body>) {
        if let Some(b) = body.filter(|b| b.content_type.eq_ignore_ascii_case("application/sdp")) {
            self.timer.last_sdp = Some(b.clone());
        }
    }

    /// Answers every request of the peer still open with 487 (§15.1.2: a BYE does not
    /// leave them unanswered).
    pub(crate) fn abort_server_requests(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Incoming {
            if let Some(tx) = self.invite_tx {
                if let Ok(r) = self.invite.make_response(StatusCode::REQUEST_TERMINATED, Some(&self.local_tag)) {
                    ctx.respond(tx, r);
                }
            }
        }
        let mut open: Vec<(TxId, Request)> = self.server_pending.drain().collect();
        open.extend(self.their_reinvite.take());
        open.sort_by_key(|(tx, _)| *tx);
        for (tx, req) in open {
            if let Ok(r) = req.make_response(StatusCode::REQUEST_TERMINATED, None) {
                ctx.respond(tx, r);
            }
        }
    }

    /// Sends a BYE and waits for its answer; the call ends with `reason` then. Without a
    /// confirmed dialog to send it in, the call ends now.
    pub(crate) fn send_bye(&mut self, ctx: &mut Ctx<'_>, reason: EndReason) {
        self.abort_server_requests(ctx);
        self.clear_timers();
        let bye = match self.dialog.as_mut() {
            Some(d) if d.state() == DialogState::Confirmed => d.new_request(Method::Bye),
            _ => {
                self.finish(ctx, reason);
                return;
            }
        };
        match bye {
            Ok(bye) => {
                tracing::debug!(call = %self.key, ?reason, "sending BYE");
                self.send_tracked(ctx, bye, Pending::Bye);
                self.phase = Phase::Terminating;
                self.end_reason = Some(reason);
                self.bye_guard = Some(ctx.now + ctx.cfg.timeout());
            }
            Err(e) => {
                tracing::warn!(call = %self.key, error = %e, "cannot build the BYE");
                self.finish(ctx, reason);
            }
        }
    }

    fn clear_timers(&mut self) {
        self.no_answer_at = None;
        self.awaiting_acks.clear();
        self.bye_after_ack = false;
        self.glare = None;
        self.bye_guard = None;
        self.rel.clear();
        self.timer.stop();
        if let Cancel::Sent { no_answer, .. } = self.cancel {
            self.cancel = Cancel::Wanted { no_answer };
        }
    }

    /// Ends the call: open requests answered 487, dialogs terminated, every timer and
    /// transaction forgotten, one `Terminated` event.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>, reason: EndReason) {
        if self.phase == Phase::Terminated {
            return;
        }
        self.abort_server_requests(ctx);
        self.clear_timers();
        self.cancel = Cancel::No;
        self.pending.clear();
        self.forks.clear();
        if let Some(d) = self.dialog.as_mut() {
            d.terminate();
        }
        self.phase = Phase::Terminated;
        tracing::debug!(call = %self.key, ?reason, "call over");
        ctx.event(self.key, CallEventKind::Terminated { reason });
    }

    /// The dialog (call's or early fork's) with this id.
    pub(crate) fn dialog_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        if self.dialog.as_ref().is_some_and(|d| d.id() == id) {
            return self.dialog.as_mut();
        }
        self.forks.iter_mut().find(|d| d.id() == id)
    }
}
