//! Reliable provisional responses (RFC 3262), both roles.
//!
//! As the called side, a 1xx goes reliably when the caller requires `100rel`, or supports it
//! and the 1xx carries a body (a 183 with the SDP answer must not be lost; a bare 180 gains
//! nothing from a round trip). Such a 1xx carries `Require: 100rel` and an RSeq, is repeated
//! from T1 with the interval doubling until its PRACK, and holds back the next 1xx — and a
//! 2xx when it carried a body — until then (§3). With no PRACK in 64·T1 the INVITE is refused
//! with 500 and the call ends ([`EndReason::NoPrack`]). A PRACK whose RAck matches no
//! unacknowledged 1xx gets 481.
//!
//! As the caller, each new reliable 1xx of an early dialog is PRACKed once, in RSeq order;
//! a repeat or one out of order is dropped without an event (§4). Our INVITE always carries
//! the offer (session-core never sends one without), so a PRACK never needs an answer body.
//!
//! Offer and answer in a PRACK (§5, RFC 6337 §2): when the INVITE carried an offer and our
//! reliable 1xx its answer, a body in the PRACK is a new offer; it goes to the application
//! as a request, whose 200 carries the answer. When our 1xx carried the offer (an INVITE
//! without one), the PRACK's body is its answer: the PRACK gets 200 at once and the body
//! reaches the application as [`CallEventKind::Pracked`].

use super::call::{Call, Ctx, Pending, Phase};
use super::event::{CallEventKind, EndReason};
use crate::body::Body;
use crate::dialog::DialogId;
use crate::headers::insert_before_length;
use sip_message::header::typed::{RAck, RSeq, Require, Supported};
use sip_message::{Headers, Method, Request, Response, StandardHeader as H, StatusCode};
use sip_transaction::TxId;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The option tag (RFC 3262 §8).
pub(crate) const TAG: &str = "100rel";

/// Does a list header of `headers` name the `100rel` tag?
fn names_100rel<'a, T>(headers: &'a Headers, tag: impl Fn(&T) -> &'a str) -> bool
where
    T: sip_message::header::ListHeader<'a>,
{
    headers.typed_all::<T>().filter_map(Result::ok).any(|t| tag(&t).eq_ignore_ascii_case(TAG))
}

/// Is `response` a reliable provisional response (RFC 3262 §4: `Require: 100rel`)?
fn is_reliable(response: &Response) -> bool {
    names_100rel::<Require>(response.headers(), |r| r.0)
}

/// The RFC 3262 state of one call.
#[derive(Debug, Default)]
pub(crate) struct Reliability {
    /// UAS: the RSeq of the next reliable 1xx; 0 until the first draws it (§3: uniformly
    /// from 1 to 2^31 - 1; not a secret, so the layer's random source draws it).
    next_rseq: u32,
    /// UAS: the reliable 1xx awaiting its PRACK.
    unacked: Option<Unacked>,
    /// UAS: answers of the application held back while a 1xx awaits its PRACK, in order.
    held: VecDeque<(StatusCode, Option<Body>)>,
    /// UAC: the RSeq last PRACKed in each early dialog.
    pracked: Vec<(DialogId, u32)>,
}

/// A reliable 1xx of ours awaiting its PRACK.
#[derive(Debug)]
struct Unacked {
    tx: TxId,
    response: Response,
    rseq: u32,
    has_body: bool,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

impl Reliability {
    /// When the unacknowledged 1xx is due again, or given up.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.unacked.as_ref().map(|u| u.next.min(u.give_up))
    }

    /// Forgets everything pending (the call ended or answered finally).
    pub(crate) fn clear(&mut self) {
        self.unacked = None;
        self.held.clear();
    }

    /// Must this answer of the application wait for the PRACK of the 1xx in flight? Another
    /// 1xx must (§3: one unacknowledged at a time); a 2xx must when that 1xx or one held
    /// behind it carries a body, whose PRACK has to come first; a failure never waits.
    fn must_wait(&self, status: StatusCode) -> bool {
        match &self.unacked {
            None => false,
            Some(u) => {
                let early_body = u.has_body || self.held.iter().any(|(_, body)| body.is_some());
                status.is_provisional() || (status.is_success() && early_body)
            }
        }
    }
}

impl Call {
    /// UAS: should a 1xx of `status` (with a body or not) go reliably?
    fn sends_reliably(&self, status: StatusCode, has_body: bool) -> bool {
        if status == StatusCode::TRYING {
            return false;
        }
        let h = self.invite.headers();
        names_100rel::<Require>(h, |r| r.0) || (has_body && names_100rel::<Supported>(h, |s| s.0))
    }

    /// UAS: holds back an answer of the application while a reliable 1xx awaits its PRACK.
    /// True when it was held.
    pub(crate) fn hold_for_prack(&mut self, status: StatusCode, body: &Option<Body>) -> bool {
        if !self.rel.must_wait(status) {
            return false;
        }
        tracing::debug!(call = %self.key, status = status.as_u16(), "held until the PRACK");
        self.rel.held.push_back((status, body.clone()));
        true
    }

    /// UAS: sends the tagged 1xx `response`, reliably if RFC 3262 asks for it.
    pub(crate) fn send_provisional(&mut self, ctx: &mut Ctx<'_>, tx: TxId, mut response: Response, has_body: bool) {
        if self.sends_reliably(response.status(), has_body) {
            if self.rel.next_rseq == 0 {
                self.rel.next_rseq = 1 + ctx.rng.up_to(u64::from(i32::MAX as u32 / 2)) as u32;
            }
            let rseq = self.rel.next_rseq;
            self.rel.next_rseq = rseq.wrapping_add(1).max(1);
            insert_before_length(response.headers_mut(), [(H::Require, TAG.to_owned()), (H::RSeq, rseq.to_string())]);
            let t1 = ctx.cfg.t1;
            self.rel.unacked = Some(Unacked {
                tx,
                response: response.clone(),
                rseq,
                has_body,
                next: ctx.now + t1,
                interval: t1,
                give_up: ctx.now + t1 * 64,
            });
        }
        ctx.respond(tx, response);
    }

    /// UAS: the final response went out; nothing waits for a PRACK any more.
    pub(crate) fn final_sent(&mut self) {
        self.rel.clear();
    }

    /// UAS: repeats the unacknowledged 1xx (§3: from T1, doubling), or refuses the INVITE
    /// when no PRACK came within 64·T1.
    pub(crate) fn on_reliable_timer(&mut self, ctx: &mut Ctx<'_>) {
        let Some(u) = self.rel.unacked.as_mut() else { return };
        if u.give_up <= ctx.now {
            tracing::debug!(call = %self.key, "no PRACK within 64*T1: 500");
            self.rel.clear();
            if let (Phase::Incoming, Some(tx)) = (self.phase, self.invite_tx) {
                if let Ok(mut r) = self.invite.make_response(StatusCode::SERVER_INTERNAL_ERROR, Some(&self.local_tag)) {
                    r.set_reason("No PRACK");
                    ctx.respond(tx, r);
                }
                self.invite_tx = None;
            }
            self.finish(ctx, EndReason::NoPrack);
            return;
        }
        if u.next <= ctx.now {
            u.interval *= 2;
            u.next += u.interval;
            let (tx, response) = (u.tx, u.response.clone());
            ctx.respond(tx, response);
        }
    }

    /// UAS: a PRACK in the early dialog (§3). One matching the unacknowledged 1xx gets 200 and
    /// releases what was held back; any other gets 481. A body in it (the answer to an offer
    /// in our 1xx) goes to the application.
    pub(crate) fn on_prack(&mut self, ctx: &mut Ctx<'_>, tx: TxId, prack: Request) {
        let invite_seq = self.invite.headers().cseq().ok().map(|c| c.seq);
        let rack = prack.headers().typed::<RAck>().ok();
        let matches = match (&self.rel.unacked, &rack) {
            (Some(u), Some(r)) => {
                self.phase == Phase::Incoming
                    && r.rseq == u.rseq
                    && r.method == Method::Invite
                    && Some(r.cseq) == invite_seq
            }
            _ => false,
        };
        // The INVITE's offer was answered in our 1xx: a body in the PRACK offers anew.
        let offer = matches
            && !prack.body().is_empty()
            && !self.invite.body().is_empty()
            && self.rel.unacked.as_ref().is_some_and(|u| u.has_body);
        if !offer {
            let status = if matches { StatusCode::OK } else { StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST };
            if let Ok(r) = prack.make_response(status, None) {
                ctx.respond(tx, r);
            }
        }
        if !matches {
            tracing::debug!(call = %self.key, rack = ?rack, "PRACK for no reliable 1xx: 481");
            return;
        }
        self.rel.unacked = None;
        if offer {
            // The application answers it (its 200 carries the answer), as it does an UPDATE.
            self.server_pending.insert(tx, prack.clone());
            ctx.event(self.key, CallEventKind::Request { tx, request: prack });
        } else if !prack.body().is_empty() {
            ctx.event(self.key, CallEventKind::Pracked { prack });
        }
        while self.rel.unacked.is_none() && self.phase == Phase::Incoming {
            let Some((status, body)) = self.rel.held.pop_front() else { break };
            if let Err(e) = self.answer_invite(ctx, status, body) {
                tracing::debug!(call = %self.key, error = %e, "a held answer could not go");
            }
        }
    }

    /// UAC: PRACKs `response` in early dialog `id` when it is a reliable 1xx (§4). Call
    /// [`Reliability::is_repeat`] first.
    pub(crate) fn prack_if_reliable(&mut self, ctx: &mut Ctx<'_>, response: &Response, id: &DialogId) {
        let Some(rseq) = reliable_rseq(response) else { return };
        let Ok(cseq) = self.invite.headers().cseq() else { return };
        let rack = format!("{rseq} {} INVITE", cseq.seq);
        let Some(fork) = self.forks.iter_mut().find(|d| d.id() == id) else { return };
        match fork.new_request(Method::Prack) {
            Ok(mut prack) => {
                insert_before_length(prack.headers_mut(), [(H::RAck, rack)]);
                self.send_tracked(ctx, prack, Pending::Prack);
                match self.rel.pracked.iter_mut().find(|(d, _)| d == id) {
                    Some(entry) => entry.1 = rseq,
                    None => self.rel.pracked.push((id.clone(), rseq)),
                }
            }
            Err(e) => tracing::warn!(call = %self.key, error = %e, "cannot build the PRACK"),
        }
    }
}

/// The RSeq of a reliable 1xx; `None` for an ordinary one (§4 needs both `Require: 100rel`
/// and an RSeq to acknowledge a response; without them it is treated as unreliable).
fn reliable_rseq(response: &Response) -> Option<u32> {
    if !is_reliable(response) {
        return None;
    }
    match response.headers().typed_opt::<RSeq>() {
        Ok(Some(RSeq(n))) => Some(n),
        _ => None,
    }
}

impl Reliability {
    /// UAC: is `response`, in early dialog `id`, a reliable 1xx seen already or out of order
    /// (§4: only RSeq one above the last PRACKed is new)? It is dropped then.
    pub(crate) fn is_repeat(&self, id: &DialogId, response: &Response) -> bool {
        let Some(rseq) = reliable_rseq(response) else { return false };
        match self.pracked.iter().find(|(d, _)| d == id) {
            Some((_, last)) if rseq != last.wrapping_add(1) => {
                tracing::debug!(rseq, last, "reliable 1xx repeated or out of order: dropped");
                true
            }
            _ => false,
        }
    }
}
