//! Requests outside dialogs that the application makes (OPTIONS, MESSAGE, INFO, ...): built,
//! routed like any request, digest challenges answered by sip-dialog's `Authenticator` (RFC
//! 3261 §22.2, stale nonces of RFC 7616, as calls and registrations answer them), the final
//! response handed back with the target that gave it, the time it took and the targets
//! left behind on the way (RFC 3263 §4.3). An optional per-target deadline, shorter than
//! timer F, abandons a silent target for the next.

use super::{Answer, Owner, SessionCore};
use crate::api::{FailedTarget, SipResponse};
use crate::error::{SessionError, Unreachable, UnreachableCause};
use sip_dialog::{set_credentials, AuthFailure, Authenticator, TxFailure};
use sip_message::{Method, Peer, Request, RequestBuilder, Response, StatusCode};
use std::time::{Duration, Instant};

/// A request outside dialogs in flight.
pub(crate) struct Outside<W> {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
    from: Option<String>,
    /// The outbound proxy of the account it goes from.
    route: Option<String>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The digest answers: a wrong password or endless challenges end it.
    auth: Authenticator,
    /// Why the request got no response at all.
    pub(crate) local_failure: Option<Unreachable>,
    /// When it went to its current target.
    sent_at: Instant,
    /// The target it is with now.
    pub(crate) current: Option<Peer>,
    /// How long one target may stay silent before the next is tried.
    target_timeout: Option<Duration>,
    /// When the current target's time is up.
    pub(crate) deadline: Option<Instant>,
    /// The targets left behind, in order.
    pub(crate) failed_over: Vec<FailedTarget>,
    reply: W,
}

/// What an outside request is: its method, target, extra headers and body.
#[derive(Debug, Clone)]
pub(crate) struct OutsideRequest {
    pub(crate) method: Method,
    pub(crate) uri: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<(String, Vec<u8>)>,
    /// Give up on a target after this long.
    pub(crate) target_timeout: Option<Duration>,
    /// The From URI (an account's address of record, whose credentials then answer
    /// challenges); ours when `None`.
    pub(crate) from: Option<String>,
}

/// A response as [`SipResponse`], with no route known.
pub(crate) fn to_sip_response(r: &Response) -> SipResponse {
    SipResponse {
        status: r.status().as_u16(),
        reason: r.reason().to_string(),
        headers: r.headers().iter().map(|h| (h.name().as_str().to_owned(), h.value().to_string())).collect(),
        body: r.body().to_vec(),
        raw: String::from_utf8_lossy(&r.to_bytes()).into_owned(),
        answered_by: None,
        elapsed: Duration::ZERO,
        failed_over: Vec::new(),
    }
}

impl<W> SessionCore<W> {
    /// Starts an outside request; `reply` hears its final response.
    pub(crate) fn request_outside(&mut self, req: OutsideRequest, reply: W) {
        if !self.cfg.sip_client {
            return self.reply(reply, Err(SessionError::SipClientDisabled));
        }
        let ids = sip_message::build::new_call_id(None).and_then(|c| Ok((c, sip_message::build::new_tag()?)));
        let (call_id, from_tag) = match ids {
            Ok(ids) => ids,
            Err(e) => return self.reply(reply, Err(sip_dialog::DialogError::Build(e).into())),
        };
        let account = req.from.as_deref().and_then(|f| self.account_for(f));
        let credentials = match &account {
            Some(a) => a.credentials.clone(),
            None => self.default_credentials(),
        };
        let o = Outside {
            method: req.method,
            uri: req.uri,
            headers: req.headers,
            body: req.body,
            from: req.from,
            route: account.and_then(|a| a.outbound_proxy),
            call_id,
            from_tag,
            cseq: 1,
            auth: Authenticator::new(credentials),
            local_failure: None,
            sent_at: self.now,
            current: None,
            target_timeout: req.target_timeout,
            deadline: None,
            failed_over: Vec::new(),
            reply,
        };
        match self.build_outside(&o) {
            Ok(request) => {
                self.next_id += 1;
                let id = self.next_id;
                self.outside.insert(id, o);
                self.send_request(request, Owner::Outside(id));
            }
            Err(e) => self.reply(o.reply, Err(e)),
        }
    }

    fn build_outside(&self, o: &Outside<W>) -> Result<Request, SessionError> {
        let local = format!("sip:sipline@{}", self.advertised);
        let from = o.from.clone().or_else(|| self.cfg.from_uri.clone()).unwrap_or_else(|| local.clone());
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let mut b = RequestBuilder::new(o.method.clone(), o.uri.as_str())
            .from(None, from)
            .from_tag(o.from_tag.clone())
            .to(None, o.uri.as_str())
            .call_id(o.call_id.clone())
            .cseq(o.cseq)
            .via(transport.as_str(), self.advertised.to_string())
            .rport()
            .contact(local)
            .header("User-Agent", self.cfg.user_agent.clone());
        if let Some(proxy) = &o.route {
            b = b.header("Route", format!("<{proxy}>"));
        }
        for (n, v) in &o.headers {
            b = b.header(n.as_str(), v.clone());
        }
        if let Some((ct, bytes)) = &o.body {
            b = b.body(ct.clone(), bytes.clone());
        }
        b.build().map_err(|e| SessionError::InvalidInput(e.to_string()))
    }

    /// A final response (or the 408/503 standing for none) to outside request `id`: a
    /// challenge is answered and the request sent again; anything else goes to the caller.
    pub(crate) fn outside_response(&mut self, id: u64, response: Response) {
        if !response.status().is_final() {
            return;
        }
        let Some(mut o) = self.outside.remove(&id) else { return };
        if let Some(cause) = o.local_failure.take() {
            return self.reply(o.reply, Err(SessionError::Unreachable(cause)));
        }
        let challenged =
            matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        if !challenged {
            o.auth.succeeded();
            let answer = o.answer(&response, self.now);
            return self.reply(o.reply, Ok(Answer::Response(answer)));
        }
        let body = o.body.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
        match o.auth.answer(&response, o.method.as_str(), &o.uri, &body) {
            Ok(headers) => {
                o.cseq += 1;
                match self.build_outside(&o) {
                    Ok(mut request) => {
                        set_credentials(&mut request, headers);
                        self.outside.insert(id, o);
                        self.send_request(request, Owner::Outside(id));
                    }
                    Err(e) => self.reply(o.reply, Err(e)),
                }
            }
            // Nothing in the challenge this stack can answer.
            Err(AuthFailure::Unsupported(e)) => self.reply(o.reply, Err(SessionError::AuthFailed(e.to_string()))),
            // No credentials, wrong ones, or a server that never accepts: the caller sees
            // the server's last answer.
            Err(_) => {
                let answer = o.answer(&response, self.now);
                self.reply(o.reply, Ok(Answer::Response(answer)))
            }
        }
    }

    /// Outside request `id` went to `target`: its clock for that target starts.
    pub(crate) fn outside_sent(&mut self, id: u64, target: Peer) {
        let now = self.now;
        if let Some(o) = self.outside.get_mut(&id) {
            o.current = Some(target);
            o.sent_at = now;
            o.deadline = o.target_timeout.map(|t| now + t);
        }
    }

    /// Outside request `id` moves on from `target`, which answered `status` or, when
    /// `None`, did not answer, for `reason`.
    pub(crate) fn outside_failed_over(&mut self, id: u64, target: Peer, status: Option<u16>, reason: String) {
        if let Some(o) = self.outside.get_mut(&id) {
            o.failed_over.push(FailedTarget { transport: target.transport, addr: target.addr, status, reason });
        }
    }

    /// The earliest per-target deadline of the outside requests.
    pub(crate) fn outside_deadline(&self) -> Option<Instant> {
        self.outside.values().filter_map(|o| o.deadline).min()
    }

    /// Targets whose time is up are abandoned (their transaction stops at once) and the
    /// request goes to the next target, or fails as timed out when none is left.
    pub(crate) fn outside_timeouts(&mut self, now: Instant) {
        let due: Vec<u64> =
            self.outside.iter().filter(|(_, o)| o.deadline.is_some_and(|d| d <= now)).map(|(id, _)| *id).collect();
        for id in due {
            if let Some(o) = self.outside.get_mut(&id) {
                o.deadline = None;
            }
            let tx = self.sent.iter().find(|(_, s)| s.owner == Owner::Outside(id)).map(|(tx, _)| *tx);
            let Some(tx) = tx else { continue };
            if !self.txs.abandon(tx) {
                continue;
            }
            let Some(s) = self.sent.remove(&tx) else { continue };
            self.send_errors.remove(&tx);
            let cause = Unreachable { destination: s.target.to_string(), cause: UnreachableCause::Timeout };
            self.failed(s, TxFailure::Timeout, cause);
        }
    }
}

impl<W> Outside<W> {
    /// The final response as the application sees it: with its target, the time taken and
    /// the targets left behind.
    fn answer(&mut self, response: &Response, now: Instant) -> SipResponse {
        SipResponse {
            answered_by: self.current.map(|p| (p.transport, p.addr)),
            elapsed: now.saturating_duration_since(self.sent_at),
            failed_over: std::mem::take(&mut self.failed_over),
            ..to_sip_response(response)
        }
    }

    /// The waiter, for a request abandoned (at shutdown).
    pub(crate) fn into_reply(self) -> W {
        self.reply
    }
}
