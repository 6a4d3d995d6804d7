//! A change of our own address (the host moved to another network: Wi-Fi to LTE, a new
//! DHCP lease, a VPN up or down). What a softphone must do then, decided here:
//!
//! - Via and Contact of everything new name the new address;
//! - every account registers its new Contact and, in the same REGISTER, removes the binding
//!   of the old one (RFC 3261 §10.2.2), so the registrar stops forking calls to an address
//!   that no longer reaches us;
//! - every call that is up is refreshed with a re-INVITE (a target refresh, §12.2.1.1,
//!   whose SDP names the new media address, RFC 3264 §8), after any re-INVITE already in
//!   progress. A call still ringing keeps the Contact its INVITE carried;
//! - every subscription is refreshed with a SUBSCRIBE naming the new Contact (RFC 6665
//!   §4.1.2.1), so its NOTIFYs follow.
//!
//! It only works for sockets bound on a wildcard address, which the driver checks: a
//! socket bound to the old address cannot receive at the new one.

use super::{Answer, SessionCore};
use crate::api::{SessionEvent, SessionId, SessionState};
use crate::error::SessionError;
use sip_dialog::{Body, ViaTemplate};
use std::net::{IpAddr, SocketAddr};

impl<W> SessionCore<W> {
    /// We are reached at `ip` from now on (the port stays).
    pub(crate) fn change_address(&mut self, ip: IpAddr) -> Result<Answer, SessionError> {
        let old = self.advertised;
        let new = SocketAddr::new(ip, old.port());
        if old == new {
            return Ok(Answer::Unit);
        }
        tracing::info!(%old, %new, "our address changed");
        self.advertised = new;
        let (old_text, new_text) = (old.to_string(), new.to_string());
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let via = ViaTemplate::new(transport.as_str(), new_text.clone());
        let up = self.calls.change_local_address(&old_text, &new_text, &via);
        let ids: Vec<_> = self.regs.iter().map(|(id, _)| *id).collect();
        for id in ids {
            let Some(reg) = self.regs.get_mut(&id) else { continue };
            let contact = reg.config().contact.replace(&old_text, &new_text);
            if let Err(e) = reg.change_contact(self.now, contact, via.clone()) {
                tracing::warn!(account = %id, error = %e, "cannot register the new address");
            }
        }
        self.subscriptions_moved(&old_text, &new_text, &via);
        for key in up {
            let id = SessionId(key.0);
            if let Some(media) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) {
                media.readdress(ip);
            }
            if let Some(s) = self.sessions.get_mut(&id) {
                s.refresh_pending = true;
            }
            self.refresh_if_pending(id);
        }
        self.emit(SessionEvent::AddressChanged { from: old, to: new });
        Ok(Answer::Unit)
    }

    /// Sends the target refresh call `id` owes, unless a re-INVITE of ours or the peer's
    /// is in progress (it goes when that one completes: RFC 3261 §14.1).
    pub(crate) fn refresh_if_pending(&mut self, id: SessionId) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if !s.refresh_pending || s.reinvite.is_some() || s.queued.is_some() {
            return;
        }
        if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
            return;
        }
        let hold = s.state == SessionState::OnHold;
        let key = s.key();
        let offer = s.media.sdp().map(|m| m.offer());
        match self.calls.reinvite(now, key, offer.map(Body::sdp)) {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.refresh_pending = false;
                    s.reinvite = Some((hold, None));
                }
            }
            Err(e) => {
                // The peer's INVITE transaction is open: the refresh waits for its end.
                if let Some(m) = self.sessions.get_mut(&id).and_then(|s| s.media.sdp()) {
                    m.offer_rejected();
                }
                tracing::debug!(session = %id, error = %e, "target refresh deferred");
            }
        }
    }
}
