//! Following the host's address. A softphone on a laptop or a phone changes networks; its
//! registrar must learn the new Contact (or it forks calls into the void) and each call's
//! peer the new media address (or the audio goes one way). The session layer decides what
//! to send; this module notices the change, or hears of it from the application (which may
//! have the operating system's own notification), and reports it as
//! [`ClientEvent::AddressChanged`](crate::ClientEvent::AddressChanged).

use crate::{ClientError, ClientManager};
use session_core::{routed_ip, SessionCoordinator};
use std::net::IpAddr;
use std::sync::Weak;
use std::time::Duration;

impl ClientManager {
    /// The host's address changed: from now on this client is reached at `ip` (same
    /// ports). Every registered account sends a REGISTER that binds the new Contact and
    /// removes the old one; every call that is up gets a re-INVITE whose Contact and SDP
    /// name `ip`; [`ClientEvent::AddressChanged`](crate::ClientEvent::AddressChanged)
    /// follows. For applications that learn of network changes from the system; with
    /// `network.follow_address_changes` the client checks by itself.
    ///
    /// The client must listen on a wildcard address (`network.local_address` =
    /// `0.0.0.0:PORT`, no `listen_towards`): a socket bound to one address cannot receive
    /// at another, and is refused with an error saying so.
    #[tracing::instrument(skip(self))]
    pub async fn change_local_address(&self, ip: IpAddr) -> Result<(), ClientError> {
        Ok(self.session()?.change_local_address(ip).await?)
    }
}

/// Checks the routed address every `every` and tells the session layer when it moved.
pub(crate) async fn follow_address(every: Duration, session: Weak<SessionCoordinator>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(session) = session.upgrade() else { return };
        let current = session.local_sip_addr().ip();
        let Some(now) = tokio::task::spawn_blocking(move || routed_ip(current)).await.ok().flatten() else {
            tracing::debug!("no route to the network: keeping our address");
            continue;
        };
        if now != current {
            if let Err(e) = session.change_local_address(now).await {
                tracing::warn!(from = %current, to = %now, error = %e, "cannot follow the address change");
            }
        }
    }
}
