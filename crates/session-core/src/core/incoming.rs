//! New requests from the transaction layer: what our UAS core answers before a request
//! reaches a call — the §8.2 screen (`screen.rs`), load shedding, OPTIONS outside dialogs.

use super::admission::Verdict;
use super::{screen, SessionCore};
use sip_message::{Method, Peer, Request, Response, StatusCode};
use sip_transaction::TxId;

/// Retry-After (seconds) of the 503 for a call refused because the agent is full.
const FULL_RETRY_AFTER: &str = "30";
/// Retry-After (seconds) of the 503 for a call refused while the agent is falling behind:
/// short, since the backlog is gone within moments.
const BEHIND_RETRY_AFTER: &str = "5";
/// Retry-After (seconds) of the 503 for a call from a source over its rate: the next
/// window is a second away.
const SOURCE_RETRY_AFTER: &str = "1";

impl<W> SessionCore<W> {
    /// A new server transaction for `request` from `source` (`cancels`: the INVITE a
    /// CANCEL matched).
    pub(crate) fn incoming_request(&mut self, tx: TxId, request: Request, source: Peer, cancels: Option<TxId>) {
        if *request.method() != Method::Ack {
            self.server_txs.insert(tx);
        }
        let in_dialog = request.headers().to().ok().is_some_and(|t| t.tag().is_some());
        let refusal = if in_dialog {
            screen::screen_require(&request)
        } else if *request.method() == Method::Invite {
            self.admit(tx, &request, source).or_else(|| screen::screen_new(&request))
        } else {
            // Not a call, but load all the same: a scanner's OPTIONS weigh in its share.
            self.admission.noise(self.now, Some(source.addr.ip()), 1);
            screen::screen_new(&request)
        };
        if let Some(response) = refusal {
            tracing::debug!(%tx, status = response.status().as_u16(), "request refused by the UAS core");
            return self.send_response(tx, response);
        }
        if *request.method() == Method::Notify && self.subscription_notify(tx, &request) {
            return;
        }
        if let Some(other) = self.calls.handle_request(self.now, tx, request, cancels) {
            self.outside_dialog(tx, other);
        }
    }

    /// The 503 for a new INVITE the agent will not take (RFC 3261 §21.5.4), or `None` to go
    /// on with it: refused early, before any state is made for it, when the agent is full,
    /// when its source is over its limit, or when the agent is falling behind and this
    /// source sends more than its share (`admission.rs`).
    fn admit(&mut self, tx: TxId, request: &Request, source: Peer) -> Option<Response> {
        if self.shutdown.is_some() {
            return request.make_response(StatusCode::SERVICE_UNAVAILABLE, None).ok();
        }
        let verdict = self.admission.offer(self.now, source.addr.ip(), self.overloaded);
        let retry_after = if self.is_full() {
            self.counters.refused_full += 1;
            FULL_RETRY_AFTER
        } else {
            match verdict {
                Verdict::Admit => return None,
                Verdict::Shed => {
                    self.counters.refused_overloaded += 1;
                    BEHIND_RETRY_AFTER
                }
                Verdict::OverLimit => {
                    self.counters.refused_source_limit += 1;
                    SOURCE_RETRY_AFTER
                }
            }
        };
        tracing::debug!(%tx, source = %source.addr, ?verdict, "new call refused: 503");
        request.make_response(StatusCode::SERVICE_UNAVAILABLE, None).ok().map(|mut r| {
            r.push_header("Retry-After", retry_after);
            r
        })
    }

    /// Is `message` a new request from outside dialogs that must be dropped unanswered: from
    /// none of the servers our accounts register with, while
    /// [`only_from_registrar`](crate::SessionConfig::only_from_registrar) holds? Dropped
    /// before the transaction layer sees it, so it leaves no state behind. ACK and CANCEL
    /// pass: they belong to transactions that passed this check.
    pub(crate) fn is_from_stranger(&self, message: &sip_message::Message, source: &Peer) -> bool {
        let sip_message::Message::Request(request) = message else { return false };
        if !self.cfg.only_from_registrar || matches!(request.method(), Method::Ack | Method::Cancel) {
            return false;
        }
        if request.headers().to().ok().is_some_and(|t| t.tag().is_some()) {
            return false;
        }
        // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
        let ip = source.addr.ip().to_canonical();
        let mut servers = self.accounts.values().flat_map(|a| a.servers.iter()).peekable();
        servers.peek().is_some() && !servers.any(|s| *s == ip)
    }

    /// Has the agent as many sessions as it may hold?
    fn is_full(&self) -> bool {
        self.sessions.len() + self.prepared.len() >= self.cfg.max_sessions
    }

    /// A request outside any dialog that is not an INVITE: only OPTIONS passes the screen.
    fn outside_dialog(&mut self, tx: TxId, request: Request) {
        let response = match request.method() {
            Method::Options => request.make_response(StatusCode::OK, None).map(|mut r| {
                r.push_header("Allow", screen::ALLOW);
                r.push_header("Accept", "application/sdp");
                r.push_header("Supported", screen::SUPPORTED_HEADER);
                r.push_header("Server", self.cfg.user_agent.as_str());
                r
            }),
            Method::Message => {
                let status = self.incoming_message(None, &request);
                request.make_response(status, None).map(|mut r| {
                    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                        r.push_header("Accept", "text/plain, */*");
                    }
                    r
                })
            }
            _ => request.make_response(StatusCode::METHOD_NOT_ALLOWED, None).map(|mut r| {
                r.push_header("Allow", screen::ALLOW);
                r
            }),
        };
        match response {
            Ok(r) => self.send_response(tx, r),
            Err(e) => {
                // A request too broken to answer: the transaction layer lets it time out.
                tracing::debug!(error = %e, "cannot answer a request");
                self.counters.dropped += 1;
                self.server_txs.remove(&tx);
            }
        }
    }
}
