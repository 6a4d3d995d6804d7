//! Where requests go, and what comes back from the transaction layer.
//!
//! A request the dialog layer (or an outside request) wants sent goes to the URI of its
//! first Route, else its Request-URI (RFC 3263, by sip-resolve's sans-IO `Plan`). An
//! IP-literal URI needs no lookup; any other becomes an [`Output::Resolve`] and waits for
//! [`Input::Resolved`](super::Input). The
//! targets come back in the order RFC 3263 tries them (SRV priority and weight), and the
//! request goes to the first; when its transaction times out, fails in the transport, or
//! is answered 503, the same request goes to the next target in a new transaction (RFC
//! 3263 §4.3, with a new Via branch), and only when none is left does its owner hear of
//! the failure. A CANCEL goes where its INVITE went, in the INVITE's branch (§9.1).

use super::{Output, Owner, SessionCore};
use crate::error::{Unreachable, UnreachableCause};
use sip_dialog::{failure_response, TxFailure, ViaTemplate};
use sip_message::header::typed::Route;
use sip_message::{Message, Method, Peer, Request, Response, StandardHeader, StatusCode, Transport, Uri};
use sip_resolve::{IpFamilies, Plan, Target, Transports};
use sip_transaction::{Event, TxId};
use std::net::IpAddr;

/// A request in a client transaction of ours.
pub(crate) struct Sent {
    pub(crate) owner: Owner,
    pub(crate) request: Request,
    /// Where it went.
    pub(crate) target: Peer,
    /// The targets not tried yet, in order.
    pub(crate) rest: Vec<Target>,
    /// The TLS name to verify on this transaction's connection.
    pub(crate) server_name: Option<String>,
    /// The branch the owner knows the request by, when the request on the wire has
    /// another (after a fail-over, or a CANCEL put in its INVITE's branch): responses get
    /// it back before the owner sees them, since the dialog layer matches by branch.
    pub(crate) owner_branch: Option<String>,
}

/// A request waiting for its destination; `owner` is `None` for an ACK (no transaction).
pub(crate) struct Pending {
    pub(crate) owner: Option<Owner>,
    pub(crate) request: Request,
}

/// Where a request must go: the URI of its first Route (a loose router; `sip-dialog` has
/// already rewritten a strict route set), else its Request-URI.
fn destination_uri(request: &Request) -> String {
    match request.headers().typed_all::<Route>().next().and_then(Result::ok) {
        Some(r) => r.0.uri().as_str().to_owned(),
        None => request.uri_str().to_string(),
    }
}

/// The transports a request to `uri` may go over: the ones we use, plus the one the URI
/// names and TLS for a `sips:` URI, since the transport layer opens connections out on
/// demand whatever it listens on.
pub(crate) fn transports_for(uri: &Uri<'_>, ours: &[Transport]) -> Transports {
    let (forced, secure) = match uri {
        Uri::Sip(sip) => {
            (sip.transport().and_then(|t| Transport::from_token(&t.to_ascii_uppercase())), sip.is_secure())
        }
        _ => (None, false),
    };
    let secure = secure.then_some(Transport::Tls);
    let mut transports = Transports::new(ours.iter().copied().chain(forced).chain(secure));
    if let Some(t) = forced {
        transports = transports.force(t);
    }
    transports
}

/// The TLS name of a target: its host unless that is an address.
fn server_name(target: &Target) -> Option<String> {
    (target.host.parse::<IpAddr>().is_err()).then(|| target.host.clone())
}

/// Puts `branch` into the top Via of `headers` in place of `wire`.
fn restore_branch(headers: &mut sip_message::Headers, wire: &str, branch: &str) {
    let Some(i) = headers.position(StandardHeader::Via) else { return };
    let Some(value) = headers.get(StandardHeader::Via).map(|v| v.to_string()) else { return };
    headers.replace_value(i, value.replacen(&format!("branch={wire}"), &format!("branch={branch}"), 1));
}

/// Makes the top Via of `request` name `transport`, the one it goes out on (RFC 3261
/// §18.1.1), keeping its branch and sent-by.
fn set_via_transport(request: &mut Request, transport: Transport) {
    let h = request.headers_mut();
    let (Some(i), Some(value)) = (h.position(StandardHeader::Via), h.get(StandardHeader::Via).map(|v| v.to_string()))
    else {
        return;
    };
    let Some(rest) = value.strip_prefix("SIP/2.0/") else { return };
    let Some(space) = rest.find(|c: char| c.is_ascii_whitespace()) else { return };
    if rest[..space].eq_ignore_ascii_case(transport.as_str()) {
        return;
    }
    h.replace_value(i, format!("SIP/2.0/{}{}", transport.as_str(), &rest[space..]));
}

/// The top Via branch of a request.
fn branch_of(request: &Request) -> Option<String> {
    sip_dialog::top_branch(request.headers())
}

/// Gives `request` a fresh top Via branch (a new transaction, RFC 3263 §4.3).
fn renew_branch(request: &mut Request) -> bool {
    let template = match request.headers().top_via() {
        Ok(v) => ViaTemplate::from_via(&v),
        Err(_) => return false,
    };
    let Ok((value, _)) = template.render() else { return false };
    let h = request.headers_mut();
    match h.position(StandardHeader::Via) {
        Some(i) => h.replace_value(i, value),
        None => false,
    }
}

impl<W> SessionCore<W> {
    /// Sends `request` for `owner` (resolving its destination first when needed).
    pub(crate) fn send_request(&mut self, request: Request, owner: Owner) {
        if *request.method() == Method::Cancel && self.cancel_in_place(&request, owner) {
            return;
        }
        self.route(request, Some(owner));
    }

    /// Sends a 2xx's ACK (outside any transaction) to where it must go.
    pub(crate) fn send_ack(&mut self, ack: Request) {
        self.route(ack, None);
    }

    /// RFC 3263 by sip-resolve's sans-IO `Plan`: an IP-literal URI is a target at once; a
    /// name becomes an [`Output::Resolve`] for the driver to look up.
    fn route(&mut self, request: Request, owner: Option<Owner>) {
        let text = destination_uri(&request);
        let planned = match Uri::parse(&text) {
            Err(e) => Err(UnreachableCause::Unroutable(format!("not a URI: {e}"))),
            Ok(uri) => Plan::from_uri(&uri, &transports_for(&uri, &self.cfg.transports), IpFamilies::default())
                .map_err(UnreachableCause::Resolve)
                .map(|plan| plan.is_finished().then(|| plan.finish())),
        };
        match planned {
            Ok(Some(Ok(targets))) => self.send_to(request, owner, targets),
            Ok(Some(Err(e))) | Err(UnreachableCause::Resolve(e)) => {
                let cause = Unreachable { destination: text, cause: UnreachableCause::Resolve(e) };
                self.unroutable(owner, &request, cause)
            }
            Err(cause) => self.unroutable(owner, &request, Unreachable { destination: text, cause }),
            Ok(None) => {
                self.next_id += 1;
                let query = self.next_id;
                self.resolving.insert(query, Pending { owner, request });
                self.out.push_back(Output::Resolve { query, uri: text });
            }
        }
    }

    /// The targets of a request waiting for them, or why there are none.
    pub(crate) fn resolved(&mut self, query: u64, result: Result<Vec<Target>, UnreachableCause>) {
        let Some(p) = self.resolving.remove(&query) else { return };
        let destination = destination_uri(&p.request);
        match result {
            Ok(targets) if !targets.is_empty() => self.send_to(p.request, p.owner, targets),
            Ok(_) => {
                let cause = UnreachableCause::Unroutable("the name has no address".into());
                self.unroutable(p.owner, &p.request, Unreachable { destination, cause })
            }
            Err(cause) => self.unroutable(p.owner, &p.request, Unreachable { destination, cause }),
        }
    }

    /// Sends to the first of `targets`, keeping the rest for fail-over.
    fn send_to(&mut self, request: Request, owner: Option<Owner>, targets: Vec<Target>) {
        self.send_as(request, owner, targets, None);
    }

    /// Like `send_to`, for a request its owner knows by `owner_branch`.
    fn send_as(
        &mut self,
        request: Request,
        owner: Option<Owner>,
        mut targets: Vec<Target>,
        owner_branch: Option<String>,
    ) {
        if targets.is_empty() {
            return;
        }
        let first = targets.remove(0);
        let peer = Peer::new(first.transport, first.addr);
        let mut request = request;
        set_via_transport(&mut request, first.transport);
        let Some(owner) = owner else {
            self.txs.send_stateless(peer, &Message::Request(request));
            return;
        };
        match self.txs.send_request(self.now, request.clone(), peer) {
            Ok(tx) => {
                tracing::trace!(%tx, to = %first, "request sent");
                match owner {
                    Owner::Outside(id) => self.outside_sent(id, peer),
                    Owner::Registrations(id) => self.registration_sent(id, peer, &targets),
                    _ => {}
                }
                let server_name = server_name(&first);
                let sent = Sent { owner, request, target: peer, rest: targets, server_name, owner_branch };
                self.sent.insert(tx, sent);
            }
            Err(e) => {
                tracing::debug!(to = %first, error = %e, "the transaction layer refused a request");
                let cause = Unreachable {
                    destination: first.to_string(),
                    cause: UnreachableCause::Unroutable(format!("the transaction layer refused it: {e}")),
                };
                let sent = Sent { owner, request, target: peer, rest: targets, server_name: None, owner_branch };
                self.failed(sent, TxFailure::Transport, cause);
            }
        }
    }

    /// A request that cannot be sent anywhere: its owner hears a 503 standing for it, with
    /// the cause kept for the application.
    fn unroutable(&mut self, owner: Option<Owner>, request: &Request, cause: Unreachable) {
        tracing::info!(%cause, method = %request.method(), "no destination for a request");
        let Some(owner) = owner else { return };
        self.note_cause(owner, request, cause);
        if let Some(r) = failure_response(request, TxFailure::Transport) {
            self.deliver(owner, r);
        }
    }

    /// A request got no answer from where it went (`sent.target`): the next target, or the
    /// owner hears of it.
    pub(super) fn failed(&mut self, sent: Sent, failure: TxFailure, cause: Unreachable) {
        let Sent { owner, mut request, target, rest, owner_branch, .. } = sent;
        if self.fail_over(owner, &request, rest, owner_branch.clone()) {
            if let Owner::Outside(id) = owner {
                self.outside_failed_over(id, target, None, cause.cause.to_string());
            }
            return;
        }
        self.note_cause(owner, &request, cause);
        if let (Some(branch), Some(wire)) = (owner_branch, branch_of(&request)) {
            restore_branch(request.headers_mut(), &wire, &branch);
        }
        if let Some(r) = failure_response(&request, failure) {
            self.deliver(owner, r);
        }
    }

    /// Sends `request` again, in a new transaction, to the next of `rest`; false if none
    /// is left (or the request cannot take a new branch).
    fn fail_over(&mut self, owner: Owner, request: &Request, rest: Vec<Target>, owner_branch: Option<String>) -> bool {
        if rest.is_empty() || *request.method() == Method::Cancel {
            return false;
        }
        let owner_branch = owner_branch.or_else(|| branch_of(request));
        let mut again = request.clone();
        if !renew_branch(&mut again) {
            return false;
        }
        tracing::info!(method = %request.method(), next = %rest[0], "failing over to the next target (RFC 3263 §4.3)");
        self.send_as(again, Some(owner), rest, owner_branch);
        true
    }

    /// A CANCEL goes to where its INVITE went, with the INVITE's current branch (which a
    /// fail-over may have changed). False if that INVITE is not in a transaction of ours.
    fn cancel_in_place(&mut self, cancel: &Request, owner: Owner) -> bool {
        let h = cancel.headers();
        let (Ok(call_id), Ok(cseq)) = (h.call_id(), h.cseq()) else { return false };
        let invite = self.sent.iter().find(|(_, s)| {
            let sh = s.request.headers();
            *s.request.method() == Method::Invite
                && sh.call_id().ok() == Some(call_id)
                && sh.cseq().ok().map(|c| c.seq) == Some(cseq.seq)
        });
        let Some((_, s)) = invite else { return false };
        let (peer, name) = (s.target, s.server_name.clone());
        let via = s.request.headers().get(StandardHeader::Via).map(|v| v.to_string());
        let owner_branch = branch_of(cancel);
        let mut cancel = cancel.clone();
        if let (Some(via), Some(i)) = (via, cancel.headers().position(StandardHeader::Via)) {
            cancel.headers_mut().replace_value(i, via);
        }
        match self.txs.send_request(self.now, cancel.clone(), peer) {
            Ok(tx) => {
                let sent =
                    Sent { owner, request: cancel, target: peer, rest: Vec::new(), server_name: name, owner_branch };
                self.sent.insert(tx, sent);
            }
            Err(e) => tracing::debug!(error = %e, "CANCEL not sent"),
        }
        true
    }

    /// Keeps why a request failed before any response, so the end of its call or the
    /// error of its registration names it.
    fn note_cause(&mut self, owner: Owner, request: &Request, cause: Unreachable) {
        match owner {
            Owner::Calls => {
                if *request.method() != Method::Invite {
                    return;
                }
                let Ok(call_id) = request.headers().call_id() else { return };
                if let Some(s) = self.sessions.values_mut().find(|s| s.call_id == call_id) {
                    s.local_failure = Some(cause);
                }
            }
            Owner::Registrations(id) => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.local_failure = Some(cause);
                }
            }
            Owner::Outside(id) => {
                if let Some(o) = self.outside.get_mut(&id) {
                    o.local_failure = Some(cause);
                }
            }
            Owner::Subscription(id) => {
                tracing::debug!(subscription = id, %cause, "SUBSCRIBE not delivered");
            }
        }
    }

    /// A response (real, or a 408/503 standing for a failed transaction) for `owner`.
    pub(crate) fn deliver(&mut self, owner: Owner, response: Response) {
        match owner {
            Owner::Calls => {
                self.note_failure_reason(&response);
                self.calls.handle_response(self.now, response);
            }
            Owner::Registrations(id) => {
                self.registration_response(id, &response);
                self.regs.handle_response(self.now, response);
            }
            Owner::Outside(id) => self.outside_response(id, response),
            Owner::Subscription(id) => self.subscription_response(id, response),
        }
    }

    /// What the transaction layer reports.
    pub(crate) fn transaction_event(&mut self, event: Event) {
        let now = self.now;
        match event {
            Event::Request { tx, request, source, cancels } => self.incoming_request(tx, request, source, cancels),
            Event::Ack { request, .. } => self.calls.handle_ack(now, request),
            Event::StrayResponse { response, .. } => {
                if !self.calls.handle_response(now, response) {
                    self.counters.dropped += 1;
                }
            }
            Event::Response { tx, mut response } => {
                let Some(s) = self.sent.get_mut(&tx) else { return };
                let (owner, owner_branch) = (s.owner, s.owner_branch.clone());
                if response.status() == StatusCode::SERVICE_UNAVAILABLE && !s.rest.is_empty() {
                    // §4.3: a 503 sends the request to the next target, in a new
                    // transaction; this one has nothing more to say to the owner.
                    let (request, rest, target) = (s.request.clone(), std::mem::take(&mut s.rest), s.target);
                    if self.fail_over(owner, &request, rest, owner_branch.clone()) {
                        if let Owner::Outside(id) = owner {
                            self.outside_failed_over(id, target, Some(503), response.reason().to_string());
                        }
                        return;
                    }
                }
                if let (Some(branch), Some(wire)) = (owner_branch, sip_dialog::top_branch(response.headers())) {
                    restore_branch(response.headers_mut(), &wire, &branch);
                }
                self.deliver(owner, response);
            }
            Event::Timeout { tx } => self.transaction_failed(tx, TxFailure::Timeout),
            Event::TransportError { tx } => self.transaction_failed(tx, TxFailure::Transport),
            Event::Terminated { tx } => {
                self.sent.remove(&tx);
                self.send_errors.remove(&tx);
                if self.server_txs.remove(&tx) {
                    tracing::debug!(%tx, "a request ended unanswered");
                }
            }
        }
    }

    fn transaction_failed(&mut self, tx: TxId, failure: TxFailure) {
        let Some(s) = self.sent.remove(&tx) else { return };
        let cause = match (failure, self.send_errors.remove(&tx)) {
            (_, Some(error)) => UnreachableCause::Transport(error),
            (TxFailure::Timeout, None) => UnreachableCause::Timeout,
            (TxFailure::Transport, None) => UnreachableCause::Unroutable("the transport could not send it".into()),
        };
        let cause = Unreachable { destination: s.target.to_string(), cause };
        self.failed(s, failure, cause);
    }

    /// A response in server transaction `tx`. A final one ends our part of it.
    pub(crate) fn send_response(&mut self, tx: TxId, response: Response) {
        let is_final = response.status().is_final();
        if let Err(e) = self.txs.respond(self.now, tx, response) {
            tracing::debug!(%tx, error = %e, "response not sent: the transaction has ended");
        }
        if is_final {
            self.server_txs.remove(&tx);
        }
    }

    /// Keeps the reason phrase of a final failure to one of our INVITEs, so the call's end
    /// reports what the peer said ("Busy Right Now"), not only the status's usual phrase.
    fn note_failure_reason(&mut self, response: &Response) {
        if response.status().as_u16() < 300 {
            return;
        }
        let h = response.headers();
        let (Ok(call_id), Ok(cseq)) = (h.call_id(), h.cseq()) else { return };
        if cseq.method != Method::Invite {
            return;
        }
        if let Some(s) = self.sessions.values_mut().find(|s| s.call_id == call_id) {
            s.final_reason = Some(response.reason().to_string());
        }
    }
}
