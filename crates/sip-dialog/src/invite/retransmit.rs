//! Repeating a 2xx to an INVITE until its ACK (RFC 3261 §13.3.1.4): first after T1, the
//! interval doubling up to T2; 64·T1 after the first send the wait is over and the session
//! is ended with a BYE.

use sip_message::Response;
use sip_transaction::TxId;
use std::time::{Duration, Instant};

/// Our 2xx awaiting its ACK.
#[derive(Debug, Clone)]
pub(crate) struct AwaitAck {
    /// The INVITE's server transaction; in the Accepted state (RFC 6026 §7.1) it passes our
    /// retransmissions through for 64·T1.
    pub(crate) tx: TxId,
    pub(crate) response: Response,
    /// The CSeq number of the INVITE; the ACK carries the same.
    pub(crate) seq: u32,
    /// Was it the call's initial INVITE (or a re-INVITE)?
    pub(crate) initial: bool,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// What a timer of [`AwaitAck`] asks for.
#[derive(Debug)]
pub(crate) enum AckTimer {
    /// Send the 2xx again.
    Retransmit(TxId, Response),
    /// No ACK within 64·T1.
    GiveUp,
}

impl AwaitAck {
    pub(crate) fn new(now: Instant, tx: TxId, response: Response, seq: u32, initial: bool, t1: Duration) -> AwaitAck {
        AwaitAck { tx, response, seq, initial, next: now + t1, interval: t1, give_up: now + t1 * 64 }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.next.min(self.give_up)
    }

    /// What is due at `now`. Retransmission times follow the schedule, not the moment the
    /// driver woke, so a late wake-up does not shift them.
    pub(crate) fn on_timeout(&mut self, now: Instant, t2: Duration) -> Option<AckTimer> {
        if self.give_up <= now {
            return Some(AckTimer::GiveUp);
        }
        if self.next <= now {
            self.interval = (self.interval * 2).min(t2);
            self.next += self.interval;
            return Some(AckTimer::Retransmit(self.tx, self.response.clone()));
        }
        None
    }
}
