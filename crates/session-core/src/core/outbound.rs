//! SIP outbound (RFC 5626) as a user agent: each account's REGISTER names our instance
//! (`+sip.instance`, §4.1) and flow (`reg-id`, §4.2), the flow every REGISTER went over is
//! remembered, and when the transport reports that connection closed — the registrar went
//! away, or the CRLF keep-alive the transport sends on it (§4.4.1) got no pong — the account
//! registers again at once, which opens a new flow (§4.5). A REGISTER that fails then (the
//! registrar still down) backs off as any failed registration does, until it is back.
//!
//! Sans-IO: the driver turns the transport's `FlowClosed` into
//! [`Input::FlowClosed`](super::Input::FlowClosed); this module must not touch sockets.

use super::SessionCore;
use crate::api::AccountId;
use sip_message::Peer;
use sip_transaction::TxId;
use sip_transport::{TransportError, TransportErrorKind};

impl<W> SessionCore<W> {
    /// A REGISTER of account `id` went to `peer`.
    pub(crate) fn registration_sent(&mut self, id: AccountId, peer: Peer) {
        if let Some(a) = self.accounts.get_mut(&id) {
            a.flow = Some(peer);
        }
    }

    /// A connection closed. Requests of ours still waiting for an answer from that peer over
    /// a connection fail now (RFC 3261 §18.4: a transport error), rather than at timer B or
    /// F, 32 s later — a REGISTER among them retries with back-off; then the accounts whose
    /// registration used the connection and have no REGISTER in flight register again.
    pub(crate) fn flow_closed(&mut self, peer: Peer, reason: &str) {
        if !peer.transport.is_reliable() || self.shutdown.is_some() {
            return;
        }
        let same = |p: &Peer| p.transport == peer.transport && p.addr == peer.addr;
        let mut waiting: Vec<TxId> = self.sent.iter().filter(|(_, s)| same(&s.target)).map(|(tx, _)| *tx).collect();
        waiting.sort();
        for tx in waiting {
            let error = TransportError::new(TransportErrorKind::Network, format!("connection closed: {reason}"));
            self.send_errors.insert(tx, error);
            self.txs.handle_transport_error(self.now, tx);
        }
        let mut ids: Vec<AccountId> =
            self.accounts.iter().filter(|(_, a)| a.flow.as_ref().is_some_and(same)).map(|(id, _)| *id).collect();
        ids.sort();
        for id in ids {
            tracing::info!(account = %id, to = %peer.addr, reason, "the registration's flow failed: registering again");
            if let Some(a) = self.accounts.get_mut(&id) {
                a.flow = None;
            }
            let now = self.now;
            if let Some(reg) = self.regs.get_mut(&id) {
                // With a REGISTER in flight this does nothing: its failure retries.
                if let Err(e) = reg.register(now) {
                    tracing::debug!(account = %id, error = %e, "no new registration");
                }
            }
        }
    }
}
