//! The INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of RFC 6026 §7.1).
//!
//! ```text
//!  Proceeding --2xx from TU--> Accepted --Timer L--> Terminated
//!      \--300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
//!                               \--Timer H / transport error--> Terminated
//! ```

use crate::config::Config;
use crate::event::{Event, TxId};
use crate::outbox::{due, earliest, Outbox};
use crate::TxError;
use bytes::Bytes;
use sip_message::Peer;
use sip_message::{Request, Response, StatusCode};
use std::time::{Duration, Instant};

/// The states of Figure 7 (RFC 3261) as amended by RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// INVITE received; provisional responses may be sent.
    Proceeding,
    /// A non-2xx final response was sent; waiting for the ACK.
    Completed,
    /// The ACK arrived; absorbing retransmitted ACKs.
    Confirmed,
    /// A 2xx was sent; the TU retransmits it and receives the ACK (RFC 6026).
    Accepted,
    /// Over.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ServerInvite {
    pub(crate) id: TxId,
    pub(crate) state: ServerInviteState,
    request: Request,
    to: Peer,
    last_response: Option<Bytes>,
    /// The To tag of the final response, for matching an RFC 2543 ACK (§17.2.3).
    pub(crate) final_to_tag: Option<String>,
    trying: Option<Instant>,
    timer_g: Option<(Instant, Duration)>,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
}

impl ServerInvite {
    pub(crate) fn new(id: TxId, request: Request, to: Peer, now: Instant, cfg: &Config) -> Self {
        ServerInvite {
            id,
            state: ServerInviteState::Proceeding,
            request,
            to,
            last_response: None,
            final_to_tag: None,
            trying: Some(now + cfg.trying_delay),
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.trying, self.timer_g.map(|g| g.0), self.timer_h, self.timer_i, self.timer_l])
    }

    /// The INVITE arrived again.
    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        match self.state {
            ServerInviteState::Proceeding | ServerInviteState::Completed => {
                if let Some(r) = &self.last_response {
                    out.transmit(self.to, r.clone(), Some(self.id));
                }
            }
            // Accepted: the TU retransmits its 2xx itself; Confirmed: nothing to do.
            _ => {}
        }
    }

    /// An ACK matched this transaction. Returns true if it must go to the TU.
    pub(crate) fn on_ack(&mut self, now: Instant, cfg: &Config) -> bool {
        match self.state {
            ServerInviteState::Completed => {
                self.state = ServerInviteState::Confirmed;
                self.timer_g = None;
                self.timer_h = None;
                let i = if self.to.is_reliable() { Duration::ZERO } else { cfg.t4 };
                self.timer_i = Some(now + i);
                false
            }
            ServerInviteState::Accepted => true,
            _ => false,
        }
    }

    pub(crate) fn respond(
        &mut self,
        resp: Response,
        now: Instant,
        cfg: &Config,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        let status = resp.status();
        match self.state {
            ServerInviteState::Proceeding => {}
            // 2xx retransmissions from the TU pass through (RFC 6026 §7.1).
            ServerInviteState::Accepted if status.is_success() => {}
            _ => return Err(TxError::InvalidState),
        }
        self.trying = None;
        let bytes = resp.to_bytes();
        out.transmit(self.to, bytes.clone(), Some(self.id));
        if status.is_final() {
            self.final_to_tag = resp.headers().to().ok().and_then(|t| t.tag().map(str::to_owned));
        }
        if status.is_provisional() {
            self.last_response = Some(bytes);
        } else if status.is_success() {
            if self.state == ServerInviteState::Proceeding {
                self.state = ServerInviteState::Accepted;
                self.timer_l = Some(now + cfg.timeout());
            }
            self.last_response = None;
        } else {
            self.state = ServerInviteState::Completed;
            self.last_response = Some(bytes);
            if !self.to.is_reliable() {
                self.timer_g = Some((now + cfg.t1, cfg.t1));
            }
            self.timer_h = Some(now + cfg.timeout());
        }
        Ok(())
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, cfg: &Config, out: &mut Outbox) {
        if due(self.trying, now) {
            self.trying = None;
            match self.request.make_response(StatusCode::TRYING, None) {
                Ok(trying) => {
                    let bytes = trying.to_bytes();
                    out.transmit(self.to, bytes.clone(), Some(self.id));
                    self.last_response = Some(bytes);
                }
                Err(e) => tracing::warn!(tx = %self.id, error = %e, "cannot build 100 Trying"),
            }
        }
        if let Some((at, interval)) = self.timer_g {
            if at <= now {
                if let Some(r) = &self.last_response {
                    out.transmit(self.to, r.clone(), Some(self.id));
                }
                let next = (interval * 2).min(cfg.t2);
                self.timer_g = Some((now + next, next));
            }
        }
        if due(self.timer_h, now) {
            // No ACK ever came (§17.2.1): the TU learns, the transaction ends.
            out.event(Event::Timeout { tx: self.id });
            self.terminate();
        }
        if due(self.timer_i, now) || due(self.timer_l, now) {
            self.terminate();
        }
    }

    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if self.state != ServerInviteState::Terminated {
            out.event(Event::TransportError { tx: self.id });
            self.terminate();
        }
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
        self.last_response = None;
    }
}
