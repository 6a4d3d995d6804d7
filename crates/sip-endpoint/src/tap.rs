//! [`WireTap`]: a view of every SIP message the endpoint sends and receives, for tools that
//! show the traffic (`sipline --trace`). It sees the bytes exactly as they cross the
//! transport, including credentials in Authorization headers, so it exists only when the
//! application installs one; nothing here logs.

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

    /// Shows `bytes` sent to or received from `peer` to the tap.
    pub fn see(&self, direction: WireDirection, peer: Peer, bytes: &[u8]) {
        (self.0)(direction, peer, bytes)
    }
}

impl fmt::Debug for WireTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WireTap")
    }
}
