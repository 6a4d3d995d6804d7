//! Subscriptions as a subscriber (RFC 6665): SUBSCRIBE, its refresh before the granted
//! expiry, the NOTIFYs, termination and resubscription.
//!
//! A subscription is its own dialog (sip-dialog's [`Dialog`], made from the SUBSCRIBE and
//! its 2xx). Each NOTIFY is checked against it (CSeq order, 481 for none), answered 200 and
//! handed to the application as [`SessionEvent::Notify`]. A refresh goes at nine tenths of
//! the granted time (or of a shorter `expires` a NOTIFY announces). A NOTIFY that
//! terminates with `deactivated` or `timeout`, or a refresh answered 481 or not at all,
//! starts a fresh subscription (§4.1.3, §4.2.2: the notifier lost it); `probation` and
//! `giveup` wait for `retry-after` first; `rejected`, `noresource` and `invariant` end it.
//! Challenges are answered with the account's (or the default) credentials.

use super::{Answer, Owner, SessionCore};
use crate::api::{Notification, SessionEvent, SubscriptionId};
use crate::error::SessionError;
use sip_dialog::{set_credentials, AuthFailure, Authenticator, Dialog};
use sip_message::header::typed::SubscriptionState;
use sip_message::{Method, Request, RequestBuilder, Response, StandardHeader, StatusCode};
use sip_transaction::TxId;
use std::time::{Duration, Instant};

/// The longest wait before resubscribing after failures.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// What a subscription asks for.
#[derive(Debug, Clone)]
pub(crate) struct SubscribeRequest {
    pub(crate) uri: String,
    pub(crate) event: String,
    pub(crate) expires: u32,
    pub(crate) accept: Option<String>,
    pub(crate) from: Option<String>,
}

/// One subscription of ours.
pub(crate) struct Subscription<W> {
    req: SubscribeRequest,
    from: String,
    call_id: String,
    from_tag: String,
    /// The CSeq of requests before the dialog exists.
    cseq: u32,
    auth: Authenticator,
    route: Option<String>,
    dialog: Option<Dialog>,
    /// The SUBSCRIBE waiting for its final response (its 2xx makes the dialog).
    in_flight: Option<Request>,
    /// A 2xx or a NOTIFY came: the notifier has it.
    active: bool,
    /// An unsubscription (Expires: 0) is going or gone.
    ending: bool,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    /// Who waits for the first outcome.
    waiting: Option<W>,
    /// Who waits for the unsubscription.
    end_waiting: Option<W>,
    /// Our address moved (old, new, the new Via): the dialog takes it and a refresh tells
    /// the notifier, as soon as no SUBSCRIBE is in flight.
    moved: Option<(String, String, sip_dialog::ViaTemplate)>,
}

fn new_ids() -> Result<(String, String), SessionError> {
    let call_id = sip_message::build::new_call_id(None).map_err(sip_dialog::DialogError::Build)?;
    let tag = sip_message::build::new_tag().map_err(sip_dialog::DialogError::Build)?;
    Ok((call_id, tag))
}

/// Nine tenths of a granted time: when to refresh it.
fn refresh_in(granted: u32) -> Duration {
    Duration::from_secs(u64::from(granted)) * 9 / 10
}

impl<W> SessionCore<W> {
    /// Starts a subscription; `reply` hears its id once the notifier accepted it, or why not.
    pub(crate) fn subscribe(&mut self, req: SubscribeRequest, reply: W) {
        if !self.cfg.sip_client {
            return self.reply(reply, Err(SessionError::SipClientDisabled));
        }
        let valid_event = !req.event.is_empty()
            && req.event.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~;=".contains(&b));
        if !valid_event {
            return self
                .reply(reply, Err(SessionError::InvalidInput(format!("'{}' is not an event package", req.event))));
        }
        if req.accept.as_deref().is_some_and(|a| a.contains(['\r', '\n'])) {
            return self.reply(reply, Err(SessionError::InvalidInput("an Accept with a line break".into())));
        }
        match sip_message::Uri::parse(&req.uri) {
            Ok(sip_message::Uri::Sip(_)) => {}
            _ => return self.reply(reply, Err(SessionError::InvalidInput(format!("'{}' is not a sip: URI", req.uri)))),
        }
        let (call_id, from_tag) = match new_ids() {
            Ok(ids) => ids,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let account = req.from.as_deref().and_then(|f| self.account_for(f));
        let credentials = match &account {
            Some(a) => a.credentials.clone(),
            None => self.default_credentials(),
        };
        let ours = format!("sip:sipline@{}", self.advertised);
        let from = req.from.clone().or_else(|| self.cfg.from_uri.clone()).unwrap_or(ours);
        let sub = Subscription {
            from,
            call_id,
            from_tag,
            cseq: 0,
            auth: Authenticator::new(credentials),
            route: account.and_then(|a| a.outbound_proxy),
            dialog: None,
            in_flight: None,
            active: false,
            ending: false,
            refresh_at: None,
            retry_at: None,
            failures: 0,
            waiting: Some(reply),
            end_waiting: None,
            moved: None,
            req,
        };
        self.next_id += 1;
        let id = self.next_id;
        self.subscriptions.insert(id, sub);
        self.send_subscribe(id, Vec::new());
    }

    /// Ends subscription `id` (SUBSCRIBE with Expires: 0); `reply` hears when it is over.
    pub(crate) fn unsubscribe(&mut self, id: SubscriptionId, reply: W) {
        let Some(sub) = self.subscriptions.get_mut(&id.0) else {
            return self.reply(reply, Err(SessionError::NotFound(id.to_string())));
        };
        sub.ending = true;
        sub.refresh_at = None;
        sub.retry_at = None;
        sub.end_waiting = Some(reply);
        if sub.dialog.is_none() && sub.in_flight.is_none() {
            // Nothing at the notifier to remove.
            return self.end_subscription(id.0, "unsubscribed");
        }
        if sub.in_flight.is_none() {
            self.send_subscribe(id.0, Vec::new());
        }
    }

    /// Builds and sends the subscription's next SUBSCRIBE (Expires 0 when ending).
    fn send_subscribe(&mut self, id: u64, creds: Vec<sip_dialog::AuthHeader>) {
        let advertised = self.advertised;
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let user_agent = self.cfg.user_agent.clone();
        let Some(sub) = self.subscriptions.get_mut(&id) else { return };
        if let (Some((old, new, via)), Some(dialog)) = (sub.moved.as_ref(), sub.dialog.as_mut()) {
            // This SUBSCRIBE is a target refresh (RFC 6665 §4.1.2.1) naming where we are now.
            dialog.readdress(old, new, via);
            sub.moved = None;
        }
        let expires = if sub.ending { 0 } else { sub.req.expires };
        let built = match sub.dialog.as_mut() {
            Some(dialog) => dialog.new_request(Method::Subscribe).map_err(SessionError::from),
            None => {
                sub.cseq += 1;
                let mut b = RequestBuilder::new(Method::Subscribe, sub.req.uri.as_str())
                    .from(None, sub.from.clone())
                    .from_tag(sub.from_tag.clone())
                    .to(None, sub.req.uri.as_str())
                    .call_id(sub.call_id.clone())
                    .cseq(sub.cseq)
                    .via(transport.as_str(), advertised.to_string())
                    .rport()
                    .contact(format!("sip:sipline@{advertised}"));
                if let Some(proxy) = &sub.route {
                    b = b.header("Route", format!("<{proxy}>"));
                }
                b.build().map_err(|e| SessionError::InvalidInput(e.to_string()))
            }
        };
        let mut request = match built {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(subscription = id, error = %e, "cannot build the SUBSCRIBE");
                return self.fail_subscription(id, e);
            }
        };
        let h = request.headers_mut();
        for (name, value) in [
            ("Event", Some(sub.req.event.clone())),
            ("Expires", Some(expires.to_string())),
            ("Accept", sub.req.accept.clone()),
            ("User-Agent", Some(user_agent)),
        ] {
            if let Some(v) = value {
                let at = h.position(StandardHeader::ContentLength).unwrap_or(h.len());
                h.insert(at, name, v);
            }
        }
        let creds = if creds.is_empty() { sub.auth.preauthorize("SUBSCRIBE", &sub.req.uri, b"") } else { creds };
        set_credentials(&mut request, creds);
        sub.in_flight = Some(request.clone());
        sub.refresh_at = None;
        self.send_request(request, Owner::Subscription(id));
    }

    /// The final response (or the 408/503 standing for none) to subscription `id`'s
    /// SUBSCRIBE.
    pub(crate) fn subscription_response(&mut self, id: u64, response: Response) {
        if !response.status().is_final() {
            return;
        }
        let now = self.now;
        let Some(sub) = self.subscriptions.get_mut(&id) else { return };
        let Some(sent) = sub.in_flight.take() else { return };
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED) {
            match sub.auth.answer(&response, "SUBSCRIBE", &sub.req.uri, b"") {
                Ok(creds) => return self.send_subscribe(id, creds),
                Err(AuthFailure::Unsupported(e)) => {
                    return self.fail_subscription(id, SessionError::AuthFailed(e.to_string()))
                }
                Err(_) => {
                    let e = SessionError::AuthFailed(format!("{} {}", status.as_u16(), response.reason()));
                    return self.fail_subscription(id, e);
                }
            }
        }
        if status == StatusCode::INTERVAL_TOO_BRIEF {
            let min = response.headers().get("Min-Expires").and_then(|v| v.trim().parse::<u32>().ok());
            if let Some(min) = min.filter(|m| *m > sub.req.expires) {
                sub.req.expires = min;
                return self.send_subscribe(id, Vec::new());
            }
        }
        if status.is_success() {
            sub.auth.succeeded();
            sub.failures = 0;
            match sub.dialog.as_mut() {
                Some(d) => d.receive_response(&Method::Subscribe, &response),
                None => match Dialog::uac(&sent, &response) {
                    Ok(d) => sub.dialog = Some(d),
                    Err(e) => tracing::debug!(subscription = id, error = %e, "no dialog from the SUBSCRIBE's 2xx"),
                },
            }
            if sub.ending {
                // The notifier's last NOTIFY (terminated) ends it; 64·T1 at most.
                if let Some(w) = sub.end_waiting.take() {
                    self.reply(w, Ok(Answer::Unit));
                }
                let Some(sub) = self.subscriptions.get_mut(&id) else { return };
                sub.refresh_at = Some(now + self.cfg.timers.0 * 64);
                return;
            }
            sub.active = true;
            let granted = response
                .headers()
                .get(StandardHeader::Expires)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(sub.req.expires)
                .min(sub.req.expires.max(1));
            sub.refresh_at = Some(now + refresh_in(granted.max(1)));
            if sub.moved.is_some() {
                // We moved while this SUBSCRIBE was out: the notifier hears of it now.
                sub.refresh_at = Some(now);
            }
            if let Some(w) = sub.waiting.take() {
                self.reply(w, Ok(Answer::Subscription(SubscriptionId(id))));
            }
            return;
        }
        // A failure. Before the notifier ever had it, or when ending: the subscription is
        // over. A refresh the notifier no longer knows (481), or one that got no answer:
        // a fresh subscription, after a back-off.
        let lost = matches!(status, StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST | StatusCode::REQUEST_TIMEOUT);
        if sub.active && !sub.ending && lost {
            return self.resubscribe_later(id, None);
        }
        if sub.ending {
            return self.end_subscription(id, "unsubscribed");
        }
        let e = SessionError::Rejected { status: status.as_u16(), reason: response.reason().to_string() };
        self.fail_subscription(id, e);
    }

    /// Is `request` a NOTIFY for one of our subscriptions? If so it is handled here.
    pub(crate) fn subscription_notify(&mut self, tx: TxId, request: &Request) -> bool {
        let h = request.headers();
        let (Ok(call_id), Ok(to)) = (h.call_id(), h.to()) else { return false };
        let Some(tag) = to.tag() else { return false };
        let found =
            self.subscriptions.iter().find(|(_, s)| s.call_id == call_id && s.from_tag == tag).map(|(id, _)| *id);
        let Some(id) = found else { return false };
        let now = self.now;
        let Some(sub) = self.subscriptions.get_mut(&id) else { return false };
        if let Some(d) = sub.dialog.as_mut() {
            if let Err(status) = d.receive_request(request) {
                if let Ok(r) = request.make_response(status, None) {
                    self.send_response(tx, r);
                }
                return true;
            }
        }
        let state = h.typed_opt::<SubscriptionState>().ok().flatten();
        let Some(state) = state else {
            // §8.2.3: a NOTIFY must say the subscription's state.
            if let Ok(r) = request.make_response(StatusCode::BAD_REQUEST, Some("Missing Subscription-State")) {
                self.send_response(tx, r);
            }
            return true;
        };
        let (state_name, reason) = (state.state.to_ascii_lowercase(), state.reason().map(str::to_ascii_lowercase));
        let (expires, retry_after) = (state.expires(), state.retry_after());
        let terminated = state.is_terminated();
        if let Ok(r) = request.make_response(StatusCode::OK, None) {
            self.send_response(tx, r);
        }
        let Some(sub) = self.subscriptions.get_mut(&id) else { return true };
        sub.active = true;
        if let (Some(e), false) = (expires, terminated) {
            let at = now + refresh_in(e.max(1));
            sub.refresh_at = Some(sub.refresh_at.map_or(at, |r| r.min(at)));
        }
        let content_type =
            (!request.body().is_empty()).then(|| h.get(StandardHeader::ContentType).map(|v| v.to_string())).flatten();
        let notification = Notification {
            subscription: SubscriptionId(id),
            event: sub.req.event.clone(),
            state: state_name,
            reason: reason.clone(),
            content_type,
            body: request.body().to_vec(),
        };
        let waiting = sub.waiting.take();
        let ending = sub.ending;
        if let Some(w) = waiting {
            // A NOTIFY may overtake the 2xx (§4.1.2.4): the notifier has the subscription.
            self.reply(w, Ok(Answer::Subscription(SubscriptionId(id))));
        }
        self.emit(SessionEvent::Notify(Box::new(notification)));
        if terminated {
            match reason.as_deref() {
                _ if ending => self.end_subscription(id, "unsubscribed"),
                None | Some("deactivated") | Some("timeout") => self.resubscribe_later(id, Some(Duration::ZERO)),
                Some("probation") | Some("giveup") => {
                    let wait = Duration::from_secs(retry_after.map_or(60, u64::from));
                    self.resubscribe_later(id, Some(wait.min(MAX_RETRY)));
                }
                Some(other) => {
                    let why = format!("the notifier ended it ({other})");
                    self.end_subscription(id, &why);
                }
            }
        }
        true
    }

    /// Starts subscription `id` afresh (a new dialog) after `wait`, or after a back-off
    /// that doubles with each failure when `None`.
    fn resubscribe_later(&mut self, id: u64, wait: Option<Duration>) {
        let now = self.now;
        let Some(sub) = self.subscriptions.get_mut(&id) else { return };
        sub.failures = sub.failures.saturating_add(1);
        let wait =
            wait.unwrap_or_else(|| (Duration::from_secs(5) * 2u32.saturating_pow(sub.failures.min(8))).min(MAX_RETRY));
        tracing::info!(subscription = id, wait_ms = wait.as_millis() as u64, "resubscribing");
        sub.dialog = None;
        sub.in_flight = None;
        sub.refresh_at = None;
        sub.retry_at = Some(now + wait);
        match new_ids() {
            Ok((call_id, tag)) => {
                sub.call_id = call_id;
                sub.from_tag = tag;
                sub.cseq = 0;
            }
            Err(e) => self.fail_subscription(id, e),
        }
    }

    /// Subscription `id` could not be made or kept: its waiter hears why, the application
    /// hears it ended.
    fn fail_subscription(&mut self, id: u64, error: SessionError) {
        let why = error.to_string();
        if let Some(w) = self.subscriptions.get_mut(&id).and_then(|s| s.waiting.take()) {
            self.reply(w, Err(error));
        }
        self.end_subscription(id, &why);
    }

    /// Subscription `id` is over.
    fn end_subscription(&mut self, id: u64, reason: &str) {
        let Some(sub) = self.subscriptions.remove(&id) else { return };
        for w in sub.waiting.into_iter().chain(sub.end_waiting) {
            self.reply(w, Ok(Answer::Unit));
        }
        self.emit(SessionEvent::SubscriptionEnded { subscription: SubscriptionId(id), reason: reason.to_owned() });
    }

    /// Refreshes and resubscriptions due at `now`.
    pub(crate) fn subscription_timeouts(&mut self, now: Instant) {
        let due: Vec<(u64, bool)> = self
            .subscriptions
            .iter()
            .filter_map(|(id, s)| {
                if s.in_flight.is_some() {
                    return None;
                }
                let refresh = s.refresh_at.is_some_and(|t| t <= now);
                let retry = s.retry_at.is_some_and(|t| t <= now);
                (refresh || retry).then_some((*id, retry))
            })
            .collect();
        for (id, retry) in due {
            let Some(sub) = self.subscriptions.get_mut(&id) else { continue };
            if sub.ending {
                // Unsubscribed, and no final NOTIFY came.
                self.end_subscription(id, "unsubscribed");
                continue;
            }
            if retry {
                sub.retry_at = None;
            }
            self.send_subscribe(id, Vec::new());
        }
    }

    /// Our address moved from `old` to `new`: every subscription refreshes at once (after
    /// the SUBSCRIBE in flight, if any), its dialog's Contact and Via naming the new one, so
    /// that the NOTIFYs follow us (RFC 6665 §4.1.2.1: a SUBSCRIBE is a target refresh).
    pub(crate) fn subscriptions_moved(&mut self, old: &str, new: &str, via: &sip_dialog::ViaTemplate) {
        let now = self.now;
        let mut ids: Vec<u64> = self.subscriptions.keys().copied().collect();
        ids.sort();
        for id in ids {
            let Some(sub) = self.subscriptions.get_mut(&id) else { continue };
            if sub.ending {
                continue;
            }
            sub.moved = Some((old.to_owned(), new.to_owned(), via.clone()));
            if sub.in_flight.is_none() && sub.dialog.is_some() {
                sub.retry_at = None;
                sub.refresh_at = Some(now);
            }
        }
        self.subscription_timeouts(now);
    }

    /// The earliest refresh or resubscription.
    pub(crate) fn subscription_deadline(&self) -> Option<Instant> {
        self.subscriptions
            .values()
            .filter(|s| s.in_flight.is_none())
            .flat_map(|s| [s.refresh_at, s.retry_at])
            .flatten()
            .min()
    }

    /// At shutdown: every subscription the notifier holds is removed (Expires: 0, not
    /// waited for), and all are forgotten.
    pub(crate) fn drop_subscriptions(&mut self) {
        let ids: Vec<u64> = self.subscriptions.keys().copied().collect();
        for id in ids {
            let Some(sub) = self.subscriptions.get_mut(&id) else { continue };
            if let Some(w) = sub.waiting.take() {
                self.reply(w, Err(SessionError::Closed));
            }
            let Some(sub) = self.subscriptions.get_mut(&id) else { continue };
            if sub.dialog.is_some() && sub.in_flight.is_none() {
                sub.ending = true;
                self.send_subscribe(id, Vec::new());
            }
            if let Some(sub) = self.subscriptions.remove(&id) {
                if let Some(w) = sub.end_waiting {
                    self.reply(w, Err(SessionError::Closed));
                }
            }
        }
    }
}
