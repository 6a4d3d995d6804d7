//! The non-INVITE server transaction (RFC 3261 §17.2.2).
//!
//! ```text
//!  Trying --1xx from TU--> Proceeding --200-699 from TU--> Completed --Timer J--> Terminated
//!     \--200-699 from TU--> Completed
//! ```

use crate::config::Config;
use crate::event::{Event, TxId};
use crate::outbox::{due, Outbox};
use crate::TxError;
use bytes::Bytes;
use sip_message::Peer;
use sip_message::Response;
use std::time::{Duration, Instant};

/// The states of Figure 8 (RFC 3261).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request received, nothing sent.
    Trying,
    /// A provisional response was sent.
    Proceeding,
    /// A final response was sent; answering retransmissions with it.
    Completed,
    /// Over.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    pub(crate) id: TxId,
    pub(crate) state: ServerNonInviteState,
    to: Peer,
    last_response: Option<Bytes>,
    timer_j: Option<Instant>,
}

impl ServerNonInvite {
    pub(crate) fn new(id: TxId, to: Peer) -> Self {
        ServerNonInvite { id, state: ServerNonInviteState::Trying, to, last_response: None, timer_j: None }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j
    }

    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        // In Trying the retransmission is absorbed; afterwards the last response is re-sent.
        if let Some(r) = &self.last_response {
            out.transmit(self.to, r.clone(), Some(self.id));
        }
    }

    pub(crate) fn respond(
        &mut self,
        resp: Response,
        now: Instant,
        cfg: &Config,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        if !matches!(self.state, ServerNonInviteState::Trying | ServerNonInviteState::Proceeding) {
            return Err(TxError::InvalidState);
        }
        let bytes = resp.to_bytes();
        out.transmit(self.to, bytes.clone(), Some(self.id));
        self.last_response = Some(bytes);
        if resp.status().is_provisional() {
            self.state = ServerNonInviteState::Proceeding;
        } else {
            self.state = ServerNonInviteState::Completed;
            let j = if self.to.is_reliable() { Duration::ZERO } else { cfg.timeout() };
            self.timer_j = Some(now + j);
        }
        Ok(())
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if due(self.timer_j, now) {
            self.terminate();
        }
    }

    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if self.state != ServerNonInviteState::Terminated {
            out.event(Event::TransportError { tx: self.id });
            self.terminate();
        }
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.timer_j = None;
        self.last_response = None;
    }
}
