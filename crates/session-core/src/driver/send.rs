//! Carrying the layers' output to the endpoint, and the endpoint's input to the layers:
//! choosing where a request goes (its first Route, else its Request-URI, through RFC 3263),
//! keeping server-transaction handles until their final response, and screening new
//! requests before they reach a call.

use super::{Driver, Owner, TxNote};
use crate::screen;
use sip_dialog::{failure_response, Output, TxFailure};
use sip_endpoint::IncomingEvent;
use sip_message::header::typed::Route;
use sip_message::{Message, Method, Peer, Request, Response, StatusCode, Transport, Uri};
use sip_resolve::Transports;
use sip_transaction::TxId;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

impl Driver {
    /// Where `request` goes: the URI of its first Route (a loose router; `sip-dialog` has
    /// already rewritten a strict route set), else its Request-URI, resolved per RFC 3263.
    ///
    /// Nothing of `self` is held across the lookup: the driver is not `Sync`.
    pub(crate) fn destination(
        &self,
        request: &Request,
    ) -> impl std::future::Future<Output = Result<(Peer, Option<String>), String>> + Send + 'static {
        let first_route = request.headers().typed_all::<Route>().next().and_then(Result::ok);
        let text = match &first_route {
            Some(r) => r.0.uri().as_str().to_owned(),
            None => request.uri_str().to_string(),
        };
        let (resolver, transports) = (self.resolver.clone(), self.cfg.transports.clone());
        async move { resolve_uri(&resolver, &text, &transports).await }
    }

    pub(crate) async fn send_request(&mut self, request: Request, owner: Owner) {
        let (peer, name) = match self.destination(&request).await {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(error = %e, "no destination for a request");
                return self.fail(owner, &request, TxFailure::Transport);
            }
        };
        match self.endpoint.send_request_named(request.clone(), peer, name).await {
            Ok(mut tx) => {
                let notes = self.notes_tx.clone();
                let request = Arc::new(request);
                tokio::spawn(async move {
                    while let Some(event) = tx.next().await {
                        if notes.send(TxNote { owner, request: request.clone(), event }).is_err() {
                            break;
                        }
                    }
                });
            }
            Err(e) => {
                tracing::info!(error = %e, "could not send a request");
                self.fail(owner, &request, TxFailure::Transport);
            }
        }
    }

    fn fail(&mut self, owner: Owner, request: &Request, failure: TxFailure) {
        if let Some(r) = failure_response(request, failure) {
            self.deliver(owner, r);
        }
    }

    /// A response in server transaction `tx`: through its handle while we hold one, else
    /// (a 2xx repeated until its ACK) through the endpoint.
    pub(crate) async fn send_response(&mut self, tx: TxId, response: Response) {
        let is_final = response.status().is_final();
        let result = match self.server_txs.get_mut(&tx) {
            Some(handle) => handle.respond(response).await,
            None => self.endpoint.respond(tx, response).await,
        };
        if let Err(e) = result {
            tracing::debug!(%tx, error = %e, "response not sent: the transaction has ended");
        }
        if is_final {
            self.server_txs.remove(&tx);
        }
    }

    pub(crate) async fn send_ack(&mut self, ack: Request) {
        match self.destination(&ack).await {
            Ok((peer, _)) => {
                if let Err(e) = self.endpoint.send_stateless(Message::Request(ack), peer) {
                    tracing::debug!(error = %e, "ACK not sent");
                }
            }
            Err(e) => tracing::info!(error = %e, "no destination for an ACK"),
        }
    }

    pub(crate) async fn call_output(&mut self, out: Output<sip_dialog::CallEvent>) {
        match out {
            Output::Request(r) => self.send_request(r, Owner::Calls).await,
            Output::Response { tx, response } => self.send_response(tx, response).await,
            Output::Ack(ack) => self.send_ack(ack).await,
            Output::Event(e) => self.call_event(e).await,
        }
    }

    /// Something from the endpoint outside our client transactions.
    pub(crate) async fn incoming_event(&mut self, event: IncomingEvent) {
        let now = Instant::now();
        match event {
            IncomingEvent::Request(st) => {
                let request = st.request().clone();
                let (tx, cancels) = (st.id(), st.cancels());
                let in_dialog = request.headers().to().ok().is_some_and(|t| t.tag().is_some());
                let refusal = if in_dialog {
                    screen::screen_require(&request)
                } else if *request.method() == Method::Invite
                    && self.sessions.len() + self.prepared.len() >= self.cfg.max_sessions
                {
                    // Full: shed the call rather than grow (RFC 3261 §21.5.4).
                    request.make_response(StatusCode::SERVICE_UNAVAILABLE, None).ok().map(|mut r| {
                        r.push_header("Retry-After", "30");
                        r
                    })
                } else {
                    screen::screen_new(&request)
                };
                self.server_txs.insert(tx, st);
                if let Some(response) = refusal {
                    tracing::debug!(%tx, status = response.status().as_u16(), "request refused by the UAS core");
                    return self.send_response(tx, response).await;
                }
                if let Some(other) = self.calls.handle_request(now, tx, request, cancels) {
                    self.outside_calls(tx, other).await;
                }
            }
            IncomingEvent::Ack { request, .. } => self.calls.handle_ack(now, request),
            IncomingEvent::StrayResponse { response, .. } => {
                self.calls.handle_response(now, response);
            }
        }
    }

    /// A request outside any dialog that is not an INVITE: only OPTIONS passes the screen.
    async fn outside_calls(&mut self, tx: TxId, request: Request) {
        let response = match request.method() {
            Method::Options => request.make_response(StatusCode::OK, None).map(|mut r| {
                r.push_header("Allow", screen::ALLOW);
                r.push_header("Accept", "application/sdp");
                r.push_header("Server", self.cfg.user_agent.as_str());
                r
            }),
            _ => request.make_response(StatusCode::METHOD_NOT_ALLOWED, None).map(|mut r| {
                r.push_header("Allow", screen::ALLOW);
                r
            }),
        };
        match response {
            Ok(r) => self.send_response(tx, r).await,
            Err(e) => {
                tracing::debug!(error = %e, "cannot answer a request");
                self.server_txs.remove(&tx);
            }
        }
    }
}

/// Resolves `uri` (RFC 3263) to the first place to send to: a numeric host needs no DNS.
pub(crate) async fn resolve_uri(
    resolver: &sip_resolve::Resolver,
    text: &str,
    transports: &[Transport],
) -> Result<(Peer, Option<String>), String> {
    let uri = Uri::parse(text).map_err(|e| format!("'{text}' is not a URI: {e}"))?;
    let Uri::Sip(sip) = &uri else { return Err(format!("cannot route to '{text}': not a sip: or sips: URI")) };
    let host = sip.host_str().trim_start_matches('[').trim_end_matches(']');
    let forced = sip.transport().and_then(|t| Transport::from_token(&t.to_ascii_uppercase()));
    if let (Ok(ip), Some(port)) = (host.parse::<IpAddr>(), sip.port()) {
        // No DNS to ask: the URI's transport, else TLS for sips:, else UDP if we use it, else
        // the transport we use (RFC 3263 §4.1 picks among those the client supports).
        let default = match transports.first() {
            _ if sip.is_secure() => Transport::Tls,
            _ if transports.contains(&Transport::Udp) => Transport::Udp,
            Some(t) => *t,
            None => Transport::Udp,
        };
        let transport = forced.unwrap_or(default);
        return Ok((Peer::new(transport, SocketAddr::new(ip, port)), None));
    }
    let mut allowed = Transports::new(transports.iter().copied());
    if let Some(t) = forced {
        allowed = allowed.force(t);
    }
    let targets = resolver.resolve(&uri, &allowed).await.map_err(|e| format!("{text}: {e}"))?;
    let first = targets.into_iter().next().ok_or_else(|| format!("{text}: no address"))?;
    Ok((Peer::new(first.transport, first.addr), Some(first.host)))
}
