//! The non-INVITE client transaction (RFC 3261 §17.1.2).
//!
//! ```text
//!  Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
//!     \--200-699--> Completed
//!  Trying / Proceeding --Timer F / transport error--> Terminated
//! ```

use crate::config::Config;
use crate::event::{Event, TxId};
use crate::outbox::{due, earliest, Outbox};
use bytes::Bytes;
use sip_message::Peer;
use sip_message::{Request, Response};
use std::time::{Duration, Instant};

/// The states of Figure 6 (RFC 3261).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived; absorbing retransmissions.
    Completed,
    /// Over.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    pub(crate) id: TxId,
    pub(crate) state: ClientNonInviteState,
    wire: Bytes,
    to: Peer,
    timer_e: Option<(Instant, Duration)>,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
}

impl ClientNonInvite {
    pub(crate) fn start(id: TxId, request: &Request, to: Peer, now: Instant, cfg: &Config, out: &mut Outbox) -> Self {
        let wire = request.to_bytes();
        out.transmit(to, wire.clone(), Some(id));
        ClientNonInvite {
            id,
            state: ClientNonInviteState::Trying,
            wire,
            to,
            timer_e: (!to.is_reliable()).then(|| (now + cfg.t1, cfg.t1)),
            timer_f: Some(now + cfg.timeout()),
            timer_k: None,
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.timer_e.map(|e| e.0), self.timer_f, self.timer_k])
    }

    pub(crate) fn on_response(&mut self, resp: Response, now: Instant, cfg: &Config, out: &mut Outbox) {
        use ClientNonInviteState::*;
        match self.state {
            Trying | Proceeding => {
                if resp.status().is_provisional() {
                    self.state = Proceeding;
                } else {
                    self.state = Completed;
                    self.timer_e = None;
                    self.timer_f = None;
                    // Timer K: T4 over unreliable transports, 0 over reliable ones.
                    let k = if self.to.is_reliable() { Duration::ZERO } else { cfg.t4 };
                    self.timer_k = Some(now + k);
                }
                out.event(Event::Response { tx: self.id, response: resp });
            }
            Completed | Terminated => {}
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, cfg: &Config, out: &mut Outbox) {
        if let Some((at, interval)) = self.timer_e {
            if at <= now {
                out.transmit(self.to, self.wire.clone(), Some(self.id));
                // In Proceeding the interval is T2; in Trying it doubles up to T2 (§17.1.2.2).
                let next =
                    if self.state == ClientNonInviteState::Proceeding { cfg.t2 } else { (interval * 2).min(cfg.t2) };
                self.timer_e = Some((now + next, next));
            }
        }
        if due(self.timer_f, now) {
            out.event(Event::Timeout { tx: self.id });
            self.terminate();
        }
        if due(self.timer_k, now) {
            self.terminate();
        }
    }

    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if matches!(self.state, ClientNonInviteState::Trying | ClientNonInviteState::Proceeding) {
            out.event(Event::TransportError { tx: self.id });
        }
        self.terminate();
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
    }
}
