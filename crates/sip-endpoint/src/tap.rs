//! [`WireTap`]: a view of every SIP message the endpoint sends and receives, for tools that
//! show the traffic (`sipline --trace`, capture files). It sees the bytes as they cross the
//! transport except the digest responses of Authorization and Proxy-Authorization headers,
//! which are replaced before the tap is called
//! ([`redact_credentials`](sip_message::auth::redact_credentials)): a trace or a capture may
//! be shared, and a digest response lets anyone test password guesses offline. Nothing here
//! logs.

use sip_message::Peer;
use std::fmt;
use std::sync::Arc;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireDirection {
    /// We sent it to the peer.
    Sent,
    /// We received it from the peer.
    Received,
}

/// A callback the endpoint's task calls for every message sent and received, with the peer
/// and the bytes. It runs on that task: keep it quick (print, or push to a channel).
#[derive(Clone)]
pub struct WireTap(Arc<TapFn>);

type TapFn = dyn Fn(WireDirection, Peer, &[u8]) + Send + Sync;

impl WireTap {
    /// A tap calling `f`.
    pub fn new(f: impl Fn(WireDirection, Peer, &[u8]) + Send + Sync + 'static) -> WireTap {
        WireTap(Arc::new(f))
    }

    /// Shows `bytes` sent to or received from `peer` to the tap, digest responses
    /// replaced.
    pub fn see(&self, direction: WireDirection, peer: Peer, bytes: &[u8]) {
        (self.0)(direction, peer, &sip_message::auth::redact_credentials(bytes))
    }
}

impl fmt::Debug for WireTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WireTap")
    }
}
