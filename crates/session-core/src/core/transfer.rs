//! Call transfer (RFC 3515 REFER, RFC 3891 Replaces carried in a Refer-To), both sides.
//!
//! As the transferor we send REFER in the call's dialog with Refer-To and Referred-By
//! (RFC 3892); its 202 answers the application, and each NOTIFY of the implicit `refer`
//! subscription (a `message/sipfrag` status line) becomes a
//! [`SessionEvent::TransferProgress`]. When the new call is answered (a 2xx in the sipfrag)
//! we hang up with [`EndCause::Transferred`]; a failure leaves the call as it was.
//!
//! As the transferee we screen the peer's REFER (exactly one Refer-To naming a sip:, sips:
//! or tel: URI, else 400; one at a time, else 491), ask the application's handler, and then
//! answer 603 or 202. On 202 we NOTIFY `100 Trying` at once (§2.4.5), place the call to the
//! target with Referred-By and any Replaces header the Refer-To carried, and NOTIFY its
//! progress: each provisional status, then its final status with the subscription
//! terminated.
//!
//! A NOTIFY for no transfer of ours gets 481, one for an event package other than `refer`
//! 489 (RFC 6665 §8.3.3 and §4.1.3); a sipfrag we cannot read 400.
//!
//! RFC 4488 (`norefersub`) both ways: a REFER of ours may say `Refer-Sub: false`, and when
//! the 202 agrees the transfer is over at once (no NOTIFY will come). A peer's REFER that
//! says `Refer-Sub: false` gets a 202 that agrees, and no NOTIFY: the call is placed
//! without reporting back. A Refer-Sub that is neither `true` nor `false` gets 400.

use super::session::MediaSlot;
use super::{Answer, Output, SessionCore};
use crate::api::{EndCause, EndInfo, SessionEvent, SessionId, SessionState, TransferRequest};
use crate::driver::handler::HandlerEvent;
use crate::error::SessionError;
use sip_dialog::{Body, CallKey};
use sip_message::header::typed::{Event, ReferTo, ReferredBy, SubscriptionState};
use sip_message::{Header, Method, NameAddr, Request, Response, StatusCode, Uri};
use sip_transaction::TxId;

/// Our REFER in a call, while it lasts.
pub(crate) struct Transfer<W> {
    /// Who waits for the REFER's answer (gone once it came).
    pub(crate) waiting: Option<W>,
    /// We follow the progress by the REFER's subscription (else we asked for none).
    progress: bool,
}

/// The peer's REFER waiting for the application's decision.
pub(crate) struct Refer {
    tx: TxId,
    /// Where to call: the Refer-To URI without its header part.
    target: String,
    /// Headers for the new INVITE: Referred-By, and a Replaces carried in the Refer-To.
    headers: Vec<(String, String)>,
    /// The referrer wants the implicit subscription (no `Refer-Sub: false`, RFC 4488).
    subscribe: bool,
}

/// Headers a Refer-To URI may ask us to put in the new INVITE (RFC 3261 §19.1.5 lets a
/// UA ignore the rest, and carrying arbitrary ones would let a peer forge them).
const CARRIED_HEADERS: [&str; 1] = ["Replaces"];

/// What a REFER's Refer-Sub header asks (RFC 4488 §3): `Some(false)` for no implicit
/// subscription, `Some(true)` when absent or `true`, `None` when it is neither.
fn refer_sub(request: &Request) -> Option<bool> {
    let Some(value) = request.headers().get("Refer-Sub") else { return Some(true) };
    let value = value.split(';').next().unwrap_or("").trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Reads a `message/sipfrag` status line: `SIP/2.0 180 Ringing`.
fn sipfrag_status(body: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code: u16 = code.parse().ok()?;
    (100..700).contains(&code).then(|| (code, reason.trim().to_owned()))
}

/// The target and the carried headers of a Refer-To value, or why it cannot be used.
fn refer_target(value: &str) -> Result<(String, Vec<(String, String)>), String> {
    let address = NameAddr::parse(value).map_err(|e| format!("Refer-To: {e}"))?;
    let uri = address.uri();
    let text = uri.as_str();
    let (target, _) = text.split_once('?').unwrap_or((text, ""));
    let mut carried = Vec::new();
    match uri {
        Uri::Sip(sip) => {
            for (name, value) in sip.headers() {
                if let Some(known) = CARRIED_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name)) {
                    let value = sip_message::uri::unescape(value).into_owned();
                    if value.contains(['\r', '\n']) {
                        return Err(format!("Refer-To: a {known} header with a line break"));
                    }
                    carried.push(((*known).to_owned(), value));
                }
            }
        }
        Uri::Tel(_) => {}
        _ => return Err("Refer-To: not a sip:, sips: or tel: URI".into()),
    }
    Ok((target.to_owned(), carried))
}

impl<W> SessionCore<W> {
    /// Transfers call `id`'s peer to `target` (a blind transfer; a `target` whose header
    /// part carries `Replaces=` makes it attended). `reply` hears the REFER's answer.
    /// Without `progress` the REFER asks for no subscription (RFC 4488).
    pub(crate) fn transfer(&mut self, id: SessionId, target: String, progress: bool, reply: W) {
        let now = self.now;
        let result = (|| {
            match Uri::parse(&target) {
                Ok(Uri::Sip(_)) | Ok(Uri::Tel(_)) => {}
                Ok(_) => {
                    return Err(SessionError::InvalidInput(format!("'{target}' is not a sip:, sips: or tel: URI")))
                }
                Err(e) => return Err(SessionError::InvalidInput(format!("'{target}': {e}"))),
            }
            if target.contains(['\r', '\n', '<', '>']) {
                return Err(SessionError::InvalidInput(format!("'{target}' cannot go in a Refer-To")));
            }
            let s = self.session_mut(id)?;
            if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
                return Err(SessionError::InvalidState { operation: "transfer", state: s.state.to_string() });
            }
            if s.transfer.is_some() {
                return Err(SessionError::InvalidState { operation: "transfer", state: "transferring".into() });
            }
            let mut headers = vec![
                Header::new("Refer-To", format!("<{target}>")),
                Header::new("Referred-By", format!("<{}>", s.local_uri)),
            ];
            if !progress {
                headers.push(Header::new("Refer-Sub", "false"));
                headers.push(Header::new("Supported", "norefersub"));
            }
            let key = s.key();
            self.calls.request(now, key, Method::Refer, headers, None)?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.transfer = Some(Transfer { waiting: Some(reply), progress });
                }
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    /// The peer answered our REFER: 2xx means it will try (the NOTIFYs tell how it goes,
    /// unless it agreed to send none); anything else ends the transfer with the call as it
    /// was.
    pub(crate) fn refer_answered(&mut self, id: SessionId, response: &Response) {
        let (status, reason) = (response.status(), response.reason().to_string());
        let Some(s) = self.sessions.get_mut(&id) else { return };
        let Some(transfer) = s.transfer.as_mut() else { return };
        let waiting = transfer.waiting.take();
        let accepted = status.is_success();
        // RFC 4488 §4: only a 2xx saying `Refer-Sub: false` means no subscription; a peer
        // that ignored our ask subscribes us as usual.
        let unsubscribed = accepted
            && !transfer.progress
            && response
                .headers()
                .get("Refer-Sub")
                .is_some_and(|v| v.split(';').next().is_some_and(|v| v.trim().eq_ignore_ascii_case("false")));
        if !accepted || unsubscribed {
            s.transfer = None;
        }
        if unsubscribed {
            // The peer took the transfer over; nothing more will tell us how it goes.
            s.transferred = true;
        }
        if let Some(w) = waiting {
            let result = if accepted {
                Ok(Answer::Unit)
            } else {
                Err(SessionError::Rejected { status: status.as_u16(), reason: reason.clone() })
            };
            self.reply(w, result);
        }
        self.emit(SessionEvent::TransferProgress {
            id,
            status: status.as_u16(),
            reason,
            done: !accepted || unsubscribed,
        });
        if unsubscribed {
            if let Err(e) = self.terminate(id) {
                tracing::debug!(session = %id, error = %e, "could not hang up a transferred call");
            }
        }
    }

    /// A NOTIFY in call `id`: the progress of our transfer.
    pub(crate) fn incoming_notify(&mut self, id: SessionId, tx: TxId, request: &Request) {
        let h = request.headers();
        let refer_event = matches!(h.typed_opt::<Event>(), Ok(Some(e)) if e.package.eq_ignore_ascii_case("refer"));
        let transferring = self.sessions.get(&id).is_some_and(|s| s.transfer.is_some());
        let terminated = matches!(h.typed_opt::<SubscriptionState>(), Ok(Some(s)) if s.is_terminated());
        let outcome = if !refer_event {
            Err(StatusCode::BAD_EVENT)
        } else if !transferring {
            Err(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST)
        } else {
            sipfrag_status(request.body()).ok_or(StatusCode::BAD_REQUEST)
        };
        let status = match &outcome {
            Ok(_) => StatusCode::OK,
            Err(s) => *s,
        };
        if let Some(s) = self.sessions.get(&id) {
            let _ = self.calls.respond(self.now, s.key(), tx, status, None);
        }
        let Ok((code, reason)) = outcome else {
            tracing::debug!(session = %id, status = status.as_u16(), "NOTIFY refused");
            return;
        };
        let done = terminated || code >= 200;
        // A NOTIFY means the REFER was accepted, even if its 202 is still on the way (RFC
        // 3515 §2.4.4 lets the NOTIFY overtake it).
        let waiting = self.sessions.get_mut(&id).and_then(|s| s.transfer.as_mut()).and_then(|t| t.waiting.take());
        if let Some(w) = waiting {
            self.reply(w, Ok(Answer::Unit));
        }
        self.emit(SessionEvent::TransferProgress { id, status: code, reason, done });
        if !done {
            return;
        }
        let Some(s) = self.sessions.get_mut(&id) else { return };
        s.transfer = None;
        if (200..300).contains(&code) {
            // The peer is talking to the target now: our part is over.
            s.transferred = true;
            if let Err(e) = self.terminate(id) {
                tracing::debug!(session = %id, error = %e, "could not hang up a transferred call");
            }
        }
    }

    /// The peer's REFER in call `id`: screened, then put to the application's handler.
    pub(crate) fn incoming_refer(&mut self, id: SessionId, tx: TxId, request: &Request) {
        let h = request.headers();
        let refer_tos: Vec<String> = h.get_all(sip_message::StandardHeader::ReferTo).map(|v| v.to_string()).collect();
        let screened = (|| {
            let s = self.sessions.get(&id).ok_or(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST)?;
            if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
                return Err(StatusCode::FORBIDDEN);
            }
            if s.refer.is_some() || s.referred_call.is_some() {
                return Err(StatusCode::REQUEST_PENDING);
            }
            let [value] = refer_tos.as_slice() else { return Err(StatusCode::BAD_REQUEST) };
            // The typed parse checks it is one address, as RFC 3515 §2.1 requires.
            if h.typed_opt::<ReferTo>().is_err() {
                return Err(StatusCode::BAD_REQUEST);
            }
            let (target, mut headers) = refer_target(value).map_err(|why| {
                tracing::debug!(session = %id, %why, "REFER refused");
                StatusCode::BAD_REQUEST
            })?;
            let referred_by = match h.typed_opt::<ReferredBy>() {
                Ok(Some(r)) => Some(r.0.to_string()),
                _ => None,
            };
            if let Some(by) = &referred_by {
                headers.push(("Referred-By".into(), by.clone()));
            }
            let subscribe = refer_sub(request).ok_or(StatusCode::BAD_REQUEST)?;
            Ok((target, headers, referred_by, subscribe))
        })();
        let key = CallKey(id.0);
        match screened {
            Err(status) => {
                let _ = self.calls.respond(self.now, key, tx, status, None);
            }
            Ok((target, headers, referred_by, subscribe)) => {
                let Some(s) = self.sessions.get_mut(&id) else { return };
                s.refer = Some(Refer { tx, target: target.clone(), headers, subscribe });
                let request = TransferRequest { id, target, referred_by };
                self.emit(SessionEvent::TransferRequested { request: request.clone() });
                self.tell_handler(HandlerEvent::Refer(request));
            }
        }
    }

    /// The application's decision on the peer's REFER in call `id`: 603, or 202 and the
    /// new call.
    pub(crate) fn decide_transfer(&mut self, id: SessionId, accept: bool) -> Result<Answer, SessionError> {
        let now = self.now;
        let s = self.session_mut(id)?;
        let refer = s
            .refer
            .take()
            .ok_or(SessionError::InvalidState { operation: "decide a transfer", state: "no REFER waiting".into() })?;
        let (key, from) = (s.key(), s.local_uri.clone());
        if !accept {
            self.calls.respond(now, key, refer.tx, StatusCode::DECLINE, None)?;
            return Ok(Answer::Unit);
        }
        if refer.subscribe {
            self.calls.respond(now, key, refer.tx, StatusCode::ACCEPTED, None)?;
        } else {
            // RFC 4488 §4: we agree to create no subscription, and say so.
            let agree = vec![Header::new("Refer-Sub", "false")];
            self.calls.respond_with(now, key, refer.tx, StatusCode::ACCEPTED, agree, None)?;
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.refer_unsubscribed = !refer.subscribe;
        }
        self.notify_referrer(id, 100, "Trying");
        let new_call = SessionId(self.calls.reserve_key().0);
        let p = super::session::Prepared {
            from,
            to: refer.target.clone(),
            offer: None,
            headers: refer.headers,
            media: MediaSlot::Binding,
            waiting: None,
            referred_by: Some(id),
        };
        self.prepared.insert(new_call, p);
        self.out.push_back(Output::BindMedia { id: new_call });
        if let Some(s) = self.sessions.get_mut(&id) {
            s.referred_call = Some(new_call);
        }
        self.emit(SessionEvent::Transferring { id, new_call, target: refer.target });
        Ok(Answer::Unit)
    }

    /// Sends the INVITE of a call placed for a REFER, its port now bound.
    pub(crate) fn place_referred(&mut self, id: SessionId) {
        let referrer = self.prepared.get(&id).and_then(|p| p.referred_by);
        if let Err(e) = self.initiate(id) {
            tracing::info!(session = %id, error = %e, "the call for a REFER could not be placed");
            if let Some(orig) = referrer {
                self.notify_referrer(orig, 500, "Server Internal Error");
            }
        }
    }

    /// Call `id`, placed for a REFER, got a provisional or final `status`: the referrer
    /// hears of it.
    pub(crate) fn referred_progress(&mut self, id: SessionId, status: u16, reason: &str) {
        let Some(orig) = self.sessions.get(&id).and_then(|s| s.referred_by) else { return };
        self.notify_referrer(orig, status, reason);
    }

    /// Call `id` ends: if it was placed for a REFER and never answered, the referrer hears
    /// its final status.
    pub(crate) fn referred_ended(&mut self, id: SessionId, info: &EndInfo) {
        let Some(s) = self.sessions.get(&id) else { return };
        let (Some(orig), None) = (s.referred_by, s.answered_at) else { return };
        let status = info.status.filter(|s| *s >= 300).unwrap_or(match info.cause {
            EndCause::Cancelled | EndCause::CancelledByPeer => 487,
            EndCause::NoAnswer => 408,
            _ => 500,
        });
        let reason = StatusCode::new(status)
            .map_or("Failed".to_owned(), |s| s.canonical_reason().unwrap_or("Failed").to_owned());
        self.notify_referrer(orig, status, &reason);
    }

    /// NOTIFYs the peer that REFERred call `orig` of the new call's `status` (RFC 3515
    /// §2.4.4: a sipfrag status line; the subscription ends with a final status).
    pub(crate) fn notify_referrer(&mut self, orig: SessionId, status: u16, reason: &str) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&orig) else { return };
        if s.notify_in_flight {
            s.notify_next = Some((status, reason.to_owned()));
            return;
        }
        let done = status >= 200;
        if done {
            s.referred_call = None;
        }
        if s.refer_unsubscribed {
            // The referrer asked for no NOTIFYs (RFC 4488).
            return;
        }
        let state = if done { "terminated;reason=noresource" } else { "active;expires=60" };
        let headers = vec![Header::new("Event", "refer"), Header::new("Subscription-State", state)];
        let reason = reason.replace(['\r', '\n'], " ");
        let body = Body::new("message/sipfrag;version=2.0", format!("SIP/2.0 {status} {reason}\r\n"));
        match self.calls.request(now, s.key(), Method::Notify, headers, Some(body)) {
            Ok(()) => s.notify_in_flight = true,
            Err(e) => tracing::debug!(session = %orig, error = %e, "transfer NOTIFY not sent"),
        }
    }

    /// The peer answered a NOTIFY of ours: the next status, if one is waiting, goes.
    pub(crate) fn notify_answered(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        s.notify_in_flight = false;
        if let Some((status, reason)) = s.notify_next.take() {
            self.notify_referrer(id, status, &reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_lines_and_refer_to_values_are_read() {
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying\r\n"), Some((100, "Trying".into())));
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\nContact: <sip:x>\r\n"), Some((200, "OK".into())));
        assert_eq!(sipfrag_status(b"SIP/2.0 486"), Some((486, String::new())));
        assert_eq!(sipfrag_status(b"SIP/2.0 99 Nope"), None);
        assert_eq!(sipfrag_status(b"INVITE sip:x SIP/2.0"), None);
        assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);

        assert_eq!(refer_target("<sip:carol@example.com>"), Ok(("sip:carol@example.com".into(), vec![])));
        assert_eq!(refer_target("sip:carol@example.com"), Ok(("sip:carol@example.com".into(), vec![])));
        let (target, carried) =
            refer_target("<sip:carol@example.com?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2&Subject=hi>")
                .expect("attended");
        assert_eq!(target, "sip:carol@example.com");
        assert_eq!(carried, vec![("Replaces".to_owned(), "abc@h;to-tag=1;from-tag=2".to_owned())]);
        assert!(refer_target("<mailto:carol@example.com>").is_err());
        assert!(refer_target("not a uri").is_err());
    }
}
