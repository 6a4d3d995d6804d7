//! [`Calls`]: every INVITE usage of one user agent, the routing of messages to them, and
//! one timer set — the counterpart of `sip-transaction`'s `TransactionLayer` one layer up.

use super::call::{Call, Ctx, Phase};
use super::config::CallConfig;
use super::event::{CallEvent, CallKey, CallState};
use crate::body::Body;
use crate::dialog::{Dialog, DialogId, DialogTable, RequestRoute, Role};
use crate::error::DialogError;
use crate::output::{Outbox, Output};
use crate::random::RandomSource;
use crate::via::ViaTemplate;
use sip_message::auth::Credentials;
use sip_message::{Header, Method, Request, Response, StandardHeader as H, StatusCode, Text};
use sip_transaction::TxId;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// The INVITE usages of one user agent, sans-IO.
///
/// Feed it what the transaction layer reports to its user, and the application's commands;
/// drain [`poll_output`](Self::poll_output) and wake it at
/// [`poll_timeout`](Self::poll_timeout):
///
/// | transaction layer event | call |
/// | --- | --- |
/// | `Event::Request { tx, request, cancels, .. }` | [`handle_request`](Self::handle_request) |
/// | `Event::Ack { request, .. }` | [`handle_ack`](Self::handle_ack) |
/// | `Event::Response { response, .. }`, `Event::StrayResponse { response, .. }` | [`handle_response`](Self::handle_response) |
/// | `Event::Timeout` / `Event::TransportError` of a request from [`Output::Request`] | [`handle_response`](Self::handle_response) with [`failure_response`](crate::failure_response) |
///
/// Each call ends with exactly one [`CallEventKind::Terminated`](super::CallEventKind::Terminated)
/// event, after which it holds no timer and is forgotten.
pub struct Calls {
    cfg: CallConfig,
    rng: Box<dyn RandomSource + Send>,
    /// Boxed: a call is a few kilobytes, and a table of them inline doubles (and copies) it all.
    calls: HashMap<CallKey, Box<Call>>,
    table: DialogTable<CallKey>,
    /// The dialog ids each call has in the table.
    registered: HashMap<CallKey, Vec<DialogId>>,
    /// The calls we answer, by Call-ID: where a merged request (§8.2.2.2) can only be, so
    /// that checking a new INVITE costs one lookup, not a walk over every call.
    answering: HashMap<String, Vec<CallKey>>,
    timers: BTreeSet<(Instant, CallKey)>,
    out: Outbox<CallEvent>,
    next_key: u64,
    /// 2xx responses that reached us after their call was gone, and the ACK each got: a
    /// retransmission is ACKed again without a second BYE. The last few suffice (a 2xx is
    /// retransmitted for 64·T1 at most).
    orphans: std::collections::VecDeque<(DialogId, Request)>,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").field("calls", &self.calls.len()).field("timers", &self.timers.len()).finish()
    }
}

impl Calls {
    /// No calls yet. `rng` draws the glare intervals (RFC 3261 §14.1) and Retry-After values
    /// (§14.2); a seeded one makes runs reproducible.
    pub fn new(config: CallConfig, rng: Box<dyn RandomSource + Send>) -> Calls {
        Calls {
            cfg: config,
            rng,
            calls: HashMap::new(),
            table: DialogTable::new(),
            registered: HashMap::new(),
            answering: HashMap::new(),
            timers: BTreeSet::new(),
            out: Outbox::default(),
            next_key: 1,
            orphans: std::collections::VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CallConfig {
        &self.cfg
    }

    /// How many calls are alive.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// No call alive?
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls alive.
    pub fn keys(&self) -> impl Iterator<Item = CallKey> + '_ {
        self.calls.keys().copied()
    }

    /// Where `call` is; `None` once it is over.
    pub fn state(&self, call: CallKey) -> Option<CallState> {
        self.calls.get(&call).map(|c| c.state())
    }

    /// The dialog of `call`: ours once answered (UAC), or the one our answer makes (UAS).
    pub fn dialog(&self, call: CallKey) -> Option<&Dialog> {
        self.calls.get(&call).and_then(|c| c.dialog.as_ref())
    }

    /// The early dialogs of a call we make, one per fork that sent a tagged provisional
    /// response.
    pub fn early_dialogs(&self, call: CallKey) -> &[Dialog] {
        self.calls.get(&call).map_or(&[], |c| &c.forks)
    }

    /// Our address changed (the host moved to another network): every dialog's Contact has
    /// `old` (our host and port as it appears there) replaced by `new`, its Via sent-by
    /// becomes `via`'s, and new calls use `via` and the configured Contact rewritten the
    /// same way. Returns the calls with a confirmed dialog: each needs a target refresh (a
    /// re-INVITE, RFC 3261 §12.2.1.1) to tell the peer where we are now. Early dialogs are
    /// rewritten too, but a call not yet answered keeps the Contact its INVITE carried.
    pub fn change_local_address(&mut self, old: &str, new: &str, via: &ViaTemplate) -> Vec<CallKey> {
        self.cfg.contact = self.cfg.contact.replace(old, new);
        self.cfg.via = via.clone();
        let mut confirmed = Vec::new();
        for (key, call) in &mut self.calls {
            for d in call.dialog.iter_mut().chain(call.forks.iter_mut()) {
                d.readdress(old, new, via);
            }
            if call.dialog.as_ref().is_some_and(|d| d.state() == crate::DialogState::Confirmed) {
                confirmed.push(*key);
            }
        }
        confirmed.sort();
        confirmed
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output<CallEvent>> {
        self.out.pop()
    }

    /// The next instant [`Self::handle_timeout`] has work to do; `None` when no call has a
    /// timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Fires every timer due at `now` (each call's once; one still due afterwards shows in
    /// [`Self::poll_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<CallKey> = self.timers.iter().take_while(|(at, _)| *at <= now).map(|(_, k)| *k).collect();
        for key in due {
            self.with_call(now, key, |c, ctx| {
                c.handle_timeout(ctx);
                Ok(())
            })
            .ok();
        }
    }

    fn new_key(&mut self) -> CallKey {
        let key = CallKey(self.next_key);
        self.next_key += 1;
        key
    }

    /// Starts a call with `invite` (built by the caller, e.g. with `RequestBuilder`: it must
    /// carry a From tag, a Contact and a `z9hG4bK` branch); the INVITE is the first output.
    /// `credentials` answer a 401/407 to it (RFC 3261 §22.2).
    pub fn invite(
        &mut self,
        now: Instant,
        invite: Request,
        credentials: Option<Credentials>,
    ) -> Result<CallKey, DialogError> {
        let key = self.reserve_key();
        self.invite_as(now, key, invite, credentials)?;
        Ok(key)
    }

    /// A key no call has, for a call about to be made: the caller can name the call (bind
    /// its media, answer its application) before the INVITE exists, and then start it with
    /// [`Self::invite_as`]. Keys of incoming calls come from the same sequence, so the two
    /// never meet.
    pub fn reserve_key(&mut self) -> CallKey {
        self.new_key()
    }

    /// Like [`Self::invite`], for a key from [`Self::reserve_key`]; refused for a key a call
    /// already has.
    pub fn invite_as(
        &mut self,
        now: Instant,
        key: CallKey,
        invite: Request,
        credentials: Option<Credentials>,
    ) -> Result<(), DialogError> {
        if self.calls.contains_key(&key) || key.0 >= self.next_key {
            return Err(DialogError::InvalidState("that call key is in use or was never reserved"));
        }
        let call = Call::outgoing(key, invite, credentials)?;
        self.table.insert_owner(call.call_id.clone(), call.local_tag.clone(), key);
        self.calls.insert(key, Box::new(call));
        self.with_call(now, key, |c, ctx| {
            c.send_initial(ctx);
            Ok(())
        })
    }

    /// A request from the transaction layer (`Event::Request`). Returns it back when it is
    /// no business of the INVITE usage: a request outside any dialog other than INVITE and
    /// CANCEL. Everything else is handled here: a new INVITE makes a call
    /// ([`CallEventKind::Incoming`](super::CallEventKind::Incoming)), a request in a dialog
    /// goes to its call, a CANCEL to the INVITE it cancels (§9.2), and a request naming a
    /// dialog that does not exist is answered 481 (§12.2.2).
    pub fn handle_request(
        &mut self,
        now: Instant,
        tx: TxId,
        request: Request,
        cancels: Option<TxId>,
    ) -> Option<Request> {
        match request.method() {
            Method::Ack => {
                self.handle_ack(now, request);
                return None;
            }
            Method::Cancel => {
                self.handle_cancel(now, tx, &request, cancels);
                return None;
            }
            _ => {}
        }
        let routed = match self.table.route_request(&request) {
            RequestRoute::Dialog { id, owner } => Ok((id, *owner)),
            RequestRoute::OutOfDialog => Err(None),
            RequestRoute::NoDialog(resp) => Err(Some(resp)),
        };
        match routed {
            Ok((id, key)) => {
                self.with_call(now, key, |c, ctx| {
                    c.on_request(ctx, tx, request, &id);
                    Ok(())
                })
                .ok();
                None
            }
            Err(Some(resp)) => {
                tracing::debug!(%tx, "request for no dialog: 481");
                if let Some(resp) = resp {
                    self.out.push(Output::Response { tx, response: resp });
                }
                None
            }
            Err(None) if *request.method() == Method::Invite => {
                self.incoming(now, tx, request);
                None
            }
            Err(None) => Some(request),
        }
    }

    fn incoming(&mut self, now: Instant, tx: TxId, invite: Request) {
        if self.is_merged(&invite) {
            // §8.2.2.2: the same request reached us twice by different paths.
            tracing::debug!(%tx, "merged INVITE: 482");
            if let Ok(resp) = invite.make_response(StatusCode::LOOP_DETECTED, None) {
                self.out.push(Output::Response { tx, response: resp });
            }
            return;
        }
        if let Some(resp) = Call::too_brief(&self.cfg, &invite) {
            // RFC 4028 §8.1: a session interval below our Min-SE.
            tracing::debug!(%tx, "session interval too small: 422");
            self.out.push(Output::Response { tx, response: resp });
            return;
        }
        let key = self.new_key();
        match Call::incoming(key, tx, invite.clone(), &self.cfg) {
            Ok(call) => {
                self.table.insert_owner(call.call_id.clone(), call.local_tag.clone(), key);
                self.answering.entry(call.call_id.clone()).or_default().push(key);
                self.calls.insert(key, Box::new(call));
                self.out.push(Output::Event(CallEvent {
                    call: key,
                    kind: super::event::CallEventKind::Incoming { invite },
                }));
                self.after(now, key);
            }
            Err(e) => {
                tracing::debug!(%tx, error = %e, "refusing an INVITE no dialog can be made from");
                if let Ok(mut resp) = invite.make_response(StatusCode::BAD_REQUEST, None) {
                    resp.set_reason(format!("Bad Request ({e})"));
                    self.out.push(Output::Response { tx, response: resp });
                }
            }
        }
    }

    /// Does a call we answer have an INVITE with this one's Call-ID, From tag and CSeq
    /// (§8.2.2.2)? Another branch of the same fork, then.
    fn is_merged(&self, invite: &Request) -> bool {
        let h = invite.headers();
        let (Ok(call_id), Ok(from), Ok(cseq)) = (h.call_id(), h.from(), h.cseq()) else { return false };
        let Some(keys) = self.answering.get(call_id) else { return false };
        keys.iter().filter_map(|k| self.calls.get(k)).any(|c| {
            let ih = c.invite.headers();
            c.invite_tx.is_some()
                && c.call_id == call_id
                && ih.from().ok().and_then(|f| f.tag().map(str::to_owned)).as_deref() == from.tag()
                && ih.cseq().ok() == Some(cseq.clone())
        })
    }

    fn handle_cancel(&mut self, now: Instant, tx: TxId, cancel: &Request, cancels: Option<TxId>) {
        let Some(target) = cancels else {
            // §9.2: a CANCEL matching no transaction gets 481.
            if let Ok(r) = cancel.make_response(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST, None) {
                self.out.push(Output::Response { tx, response: r });
            }
            return;
        };
        let owner = self.calls.iter().find(|(_, c)| c.owns_invite_tx(target)).map(|(k, _)| *k);
        match owner {
            Some(key) => {
                self.with_call(now, key, |c, ctx| {
                    c.on_cancel(ctx, tx, cancel, target);
                    Ok(())
                })
                .ok();
            }
            None => {
                // The transaction exists but was answered already: the CANCEL has no effect
                // beyond its own 200 (§9.2).
                if let Ok(r) = cancel.make_response(StatusCode::OK, None) {
                    self.out.push(Output::Response { tx, response: r });
                }
            }
        }
    }

    /// An ACK the transaction layer passed up (`Event::Ack`): the ACK for a 2xx, which
    /// belongs to the dialog (RFC 3261 §13.3.1.4). An ACK for no dialog is dropped.
    pub fn handle_ack(&mut self, now: Instant, ack: Request) {
        let key = match self.table.route_request(&ack) {
            RequestRoute::Dialog { owner, .. } => *owner,
            _ => {
                tracing::debug!("ACK for no dialog");
                return;
            }
        };
        self.with_call(now, key, |c, ctx| {
            c.on_ack(ctx, ack);
            Ok(())
        })
        .ok();
    }

    /// A response to a request of a call: from `Event::Response` or `Event::StrayResponse`
    /// (a 2xx after its transaction ended — a retransmission to ACK again, or another fork),
    /// or the 408/503 standing for a transaction failure. Returns false if no call sent the
    /// request.
    pub fn handle_response(&mut self, now: Instant, response: Response) -> bool {
        let Some(&key) = self.table.route_response(&response) else {
            let invite_2xx =
                response.status().is_success() && response.headers().cseq().is_ok_and(|c| c.method == Method::Invite);
            if invite_2xx {
                return self.orphan_2xx(&response);
            }
            tracing::debug!(status = response.status().as_u16(), "response for no call");
            return false;
        };
        self.with_call(now, key, |c, ctx| {
            c.on_response(ctx, response);
            Ok(())
        })
        .is_ok()
    }

    /// A 2xx to an INVITE of a call we no longer track (it ended before this fork answered,
    /// RFC 3261 §13.2.2.4): the peer believes a call is up and repeats the 2xx until it is
    /// acknowledged, so it gets its ACK and then a BYE. The dialog is rebuilt from the 2xx
    /// (ours are its From and top Via); a retransmission is only ACKed again.
    fn orphan_2xx(&mut self, response: &Response) -> bool {
        let Ok(id) = DialogId::of_response(response) else { return false };
        if let Some((_, ack)) = self.orphans.iter().find(|(d, _)| *d == id) {
            self.out.push(Output::Ack(ack.clone()));
            return true;
        }
        let rebuilt = (|| -> Result<(Request, Request), DialogError> {
            let h = response.headers();
            let to = h.to()?;
            let mut invite = Request::new(Method::Invite, Text::from(to.0.uri().as_str()))?;
            let ih = invite.headers_mut();
            for name in [H::Via, H::From, H::To, H::CallId, H::CSeq] {
                let value = h.get(name).cloned().ok_or(DialogError::Missing("a header of the 2xx"))?;
                ih.push(name, value);
            }
            ih.push(H::Contact, Text::from(self.cfg.contact.as_str()));
            let mut dialog = Dialog::uac(&invite, response)?;
            let ack = dialog.ack(&invite)?;
            let bye = dialog.new_request(Method::Bye)?;
            Ok((ack, bye))
        })();
        match rebuilt {
            Ok((ack, bye)) => {
                tracing::debug!(dialog = %id, "a 2xx for a call that is gone: ACK and BYE");
                self.out.push(Output::Ack(ack.clone()));
                self.out.push(Output::Request(bye));
                if self.orphans.len() == 8 {
                    self.orphans.pop_front();
                }
                self.orphans.push_back((id, ack));
                true
            }
            Err(e) => {
                tracing::debug!(dialog = %id, error = %e, "cannot answer a stray 2xx");
                false
            }
        }
    }

    /// Sends a provisional response (101–199) to the INVITE of `call`; one with a To tag makes
    /// an early dialog. 100 goes without a tag. It goes reliably (RFC 3262) when the caller
    /// requires 100rel, or supports it and `body` is some; while a reliable one awaits its
    /// PRACK, the next waits, and so does a 2xx when the waiting one carried a body.
    pub fn progress(
        &mut self,
        now: Instant,
        call: CallKey,
        status: StatusCode,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        if !status.is_provisional() {
            return Err(DialogError::Unsupported("progress takes a 1xx status"));
        }
        self.with_call(now, call, |c, ctx| c.answer_invite(ctx, status, body))
    }

    /// Our Contact in `call`, an INVITE we received and have not answered yet, is `contact`
    /// instead of the configured one: the GRUU of the account the call came for (RFC 5627
    /// §4.2), so that the peer's requests in the dialog reach us through the registrar
    /// whichever connection we are on then.
    pub fn set_local_contact(&mut self, call: CallKey, contact: &str) -> Result<(), DialogError> {
        let c = self.calls.get_mut(&call).ok_or(DialogError::NotFound)?;
        if c.role != Role::Uas || c.phase != Phase::Incoming {
            return Err(DialogError::InvalidState("the Contact of a call is ours to choose before we answer it"));
        }
        match c.dialog.as_mut() {
            Some(d) => d.set_local_contact(contact),
            None => Err(DialogError::InvalidState("no dialog")),
        }
    }

    /// Answers the INVITE of `call` with 200 and `body` (the SDP answer or offer). The 2xx is
    /// repeated until the ACK; without one in 64·T1 the call ends with a BYE (§13.3.1.4).
    pub fn accept(&mut self, now: Instant, call: CallKey, body: Option<Body>) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.answer_invite(ctx, StatusCode::OK, body))
    }

    /// Declines the INVITE of `call` with a 300–699 `status`.
    pub fn reject(&mut self, now: Instant, call: CallKey, status: StatusCode) -> Result<(), DialogError> {
        if !status.is_final() || status.is_success() {
            return Err(DialogError::Unsupported("reject takes a 300-699 status"));
        }
        self.with_call(now, call, |c, ctx| c.answer_invite(ctx, status, None))
    }

    /// Declines the INVITE of `call` with a 300–699 `status`, our own `reason` phrase and
    /// extra `headers` (e.g. the Contact of a 302, a Retry-After, a Warning).
    pub fn reject_with(
        &mut self,
        now: Instant,
        call: CallKey,
        status: StatusCode,
        reason: Option<String>,
        headers: Vec<Header>,
    ) -> Result<(), DialogError> {
        if !status.is_final() || status.is_success() {
            return Err(DialogError::Unsupported("reject takes a 300-699 status"));
        }
        if reason.as_deref().is_some_and(|r| r.contains(['\r', '\n']))
            || headers.iter().any(|h| h.value().contains(['\r', '\n']))
        {
            return Err(DialogError::Unsupported("a reason or header value with a line break"));
        }
        let extra = headers.into_iter().map(|h| (h.name().clone(), h.value().clone())).collect();
        self.with_call(now, call, |c, ctx| c.answer_invite_with(ctx, status, None, reason, extra))
    }

    /// Answers request `tx` of `call`: its INVITE, a re-INVITE (a 2xx is repeated until the
    /// ACK), or a request announced by a `Request` event.
    pub fn respond(
        &mut self,
        now: Instant,
        call: CallKey,
        tx: TxId,
        status: StatusCode,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.respond(ctx, tx, status, Vec::new(), body))
    }

    /// [`Calls::respond`] with extra `headers` on the response, for the peer's requests
    /// other than INVITE (a 202 to a REFER saying `Refer-Sub: false`, RFC 4488).
    pub fn respond_with(
        &mut self,
        now: Instant,
        call: CallKey,
        tx: TxId,
        status: StatusCode,
        headers: Vec<Header>,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.respond(ctx, tx, status, headers, body))
    }

    /// Cancels a call we make that is not answered yet (RFC 3261 §9.1). The CANCEL waits
    /// for the first provisional response if none came yet; the call ends with the 487 (or
    /// 64·T1 later without one).
    pub fn cancel(&mut self, now: Instant, call: CallKey) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.cancel(ctx, false))
    }

    /// Ends `call` whatever its phase: CANCEL while calling, 603 to an INVITE not answered,
    /// BYE once established.
    pub fn hangup(&mut self, now: Instant, call: CallKey) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.hangup(ctx))
    }

    /// Sends a re-INVITE in `call` with `body` (e.g. SDP putting the call on hold or resuming
    /// it, RFC 3264 §8.4). Refused with [`DialogError::InviteInProgress`] while another INVITE
    /// is in progress either way (§14.1).
    pub fn reinvite(&mut self, now: Instant, call: CallKey, body: Option<Body>) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.reinvite(ctx, body))
    }

    /// Sends a request of `method` (INFO, REFER, NOTIFY, UPDATE, MESSAGE, OPTIONS, ...) in
    /// the established `call`, with `headers` (e.g. Refer-To, Event) and `body`. Its final
    /// response comes as a `Response` event.
    pub fn request(
        &mut self,
        now: Instant,
        call: CallKey,
        method: Method,
        headers: Vec<Header>,
        body: Option<Body>,
    ) -> Result<(), DialogError> {
        self.with_call(now, call, |c, ctx| c.request(ctx, method, body, headers))
    }

    /// Runs `f` on call `key`, then reschedules it, updates the dialog table, and forgets the
    /// call if it ended.
    fn with_call<T>(
        &mut self,
        now: Instant,
        key: CallKey,
        f: impl FnOnce(&mut Call, &mut Ctx<'_>) -> Result<T, DialogError>,
    ) -> Result<T, DialogError> {
        let call = self.calls.get_mut(&key).ok_or(DialogError::NotFound)?;
        let mut ctx = Ctx { now, cfg: &self.cfg, rng: &mut *self.rng, out: &mut self.out };
        let result = f(call, &mut ctx);
        self.after(now, key);
        result
    }

    fn after(&mut self, _now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else { return };
        if let Some(at) = call.scheduled.take() {
            self.timers.remove(&(at, key));
        }
        if call.phase == Phase::Terminated {
            let (call_id, tag) = (call.call_id.clone(), call.local_tag.clone());
            self.calls.remove(&key);
            self.table.remove_owner(&call_id, &tag);
            if let Some(keys) = self.answering.get_mut(&call_id) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.answering.remove(&call_id);
                }
            }
            for id in self.registered.remove(&key).unwrap_or_default() {
                self.table.remove(&id);
            }
            return;
        }
        if let Some(at) = call.poll_timeout() {
            call.scheduled = Some(at);
            self.timers.insert((at, key));
        }
        let now_ids = call.dialog_ids();
        let old = self.registered.entry(key).or_default();
        for id in old.iter().filter(|id| !now_ids.contains(id)) {
            self.table.remove(id);
        }
        for id in now_ids.iter().filter(|id| !old.contains(id)) {
            self.table.insert(id.clone(), key);
        }
        *old = now_ids;
    }
}
