//! The INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of RFC 6026 §7.2).
//!
//! ```text
//!  Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
//!     |  \--2xx--> Accepted        \--300-699 (send ACK)--> Completed --Timer D--> Terminated
//!     |--300-699 (send ACK)--> Completed
//!     \--Timer B / transport error--> Terminated
//! ```

use crate::config::Config;
use crate::event::{Event, TxId};
use crate::outbox::{due, earliest, Outbox};
use bytes::Bytes;
use sip_message::Peer;
use sip_message::{Request, Response};
use std::time::{Duration, Instant};

/// The states of Figure 5 (RFC 3261) as amended by RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, nothing heard.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A non-2xx final response arrived and was ACKed.
    Completed,
    /// A 2xx arrived; further 2xx go to the TU (RFC 6026).
    Accepted,
    /// Over.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientInvite {
    pub(crate) id: TxId,
    pub(crate) state: ClientInviteState,
    request: Request,
    wire: Bytes,
    to: Peer,
    /// Timer A: next retransmission and the interval that led to it.
    timer_a: Option<(Instant, Duration)>,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    /// 64·T1 after a CANCEL of this INVITE: without a final response by then, the
    /// transaction is destroyed (RFC 3261 §9.1).
    cancel_deadline: Option<Instant>,
    ack: Option<Bytes>,
}

impl ClientInvite {
    pub(crate) fn start(id: TxId, request: Request, to: Peer, now: Instant, cfg: &Config, out: &mut Outbox) -> Self {
        let wire = request.to_bytes();
        out.transmit(to, wire.clone(), Some(id));
        ClientInvite {
            id,
            state: ClientInviteState::Calling,
            request,
            wire,
            to,
            timer_a: (!to.is_reliable()).then(|| (now + cfg.t1, cfg.t1)),
            timer_b: Some(now + cfg.timeout()),
            timer_d: None,
            timer_m: None,
            cancel_deadline: None,
            ack: None,
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.timer_a.map(|a| a.0), self.timer_b, self.timer_d, self.timer_m, self.cancel_deadline])
    }

    /// A CANCEL for this INVITE was sent: give the final response 64·T1 to arrive.
    pub(crate) fn on_cancel_sent(&mut self, now: Instant, cfg: &Config) {
        if matches!(self.state, ClientInviteState::Calling | ClientInviteState::Proceeding) {
            self.cancel_deadline = Some(now + cfg.timeout());
        }
    }

    pub(crate) fn on_response(&mut self, resp: Response, now: Instant, cfg: &Config, out: &mut Outbox) {
        use ClientInviteState::*;
        let status = resp.status();
        match self.state {
            Calling | Proceeding => {
                self.timer_a = None;
                if status.is_final() {
                    self.cancel_deadline = None;
                }
                if status.is_provisional() {
                    // Timer B guards only the Calling state (Figure 5).
                    self.timer_b = None;
                    self.state = Proceeding;
                    out.event(Event::Response { tx: self.id, response: resp });
                } else if status.is_success() {
                    self.timer_b = None;
                    self.state = Accepted;
                    self.timer_m = Some(now + cfg.timeout());
                    out.event(Event::Response { tx: self.id, response: resp });
                } else {
                    self.timer_b = None;
                    match self.request.ack_for(&resp) {
                        Ok(ack) => {
                            let bytes = ack.to_bytes();
                            out.transmit(self.to, bytes.clone(), Some(self.id));
                            self.ack = Some(bytes);
                        }
                        Err(e) => tracing::warn!(tx = %self.id, error = %e, "cannot build the ACK"),
                    }
                    self.state = Completed;
                    self.timer_d = Some(now + cfg.timer_d(self.to.is_reliable()));
                    out.event(Event::Response { tx: self.id, response: resp });
                }
            }
            Completed => {
                // A retransmitted final response: ACK again, tell nobody (§17.1.1.2).
                if status.is_final() && !status.is_success() {
                    if let Some(ack) = &self.ack {
                        out.transmit(self.to, ack.clone(), Some(self.id));
                    }
                }
            }
            Accepted => {
                if status.is_success() {
                    out.event(Event::Response { tx: self.id, response: resp });
                }
            }
            Terminated => {}
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        if let Some((at, interval)) = self.timer_a {
            if at <= now {
                // INVITE retransmissions double without the T2 cap (§17.1.1.2).
                out.transmit(self.to, self.wire.clone(), Some(self.id));
                self.timer_a = Some((now + interval * 2, interval * 2));
            }
        }
        if due(self.timer_b, now) || due(self.cancel_deadline, now) {
            out.event(Event::Timeout { tx: self.id });
            self.terminate();
        }
        if due(self.timer_d, now) || due(self.timer_m, now) {
            self.terminate();
        }
    }

    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if self.state != ClientInviteState::Terminated {
            out.event(Event::TransportError { tx: self.id });
            self.terminate();
        }
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.cancel_deadline = None;
    }
}
