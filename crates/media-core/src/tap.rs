//! [`MediaTap`]: sees every RTP datagram a stream sends and receives, with both addresses,
//! for an application that records a capture file. Only an application can install one.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Which way a datagram went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapDirection {
    /// We sent it.
    Sent,
    /// We received it.
    Received,
}

type TapFn = dyn Fn(TapDirection, SocketAddr, SocketAddr, &[u8]) + Send + Sync;

/// A callback shown each RTP datagram: its direction, our address, the peer's address and
/// the bytes. It runs on the media path: it must be quick and must not block.
#[derive(Clone)]
pub struct MediaTap(Arc<TapFn>);

impl MediaTap {
    /// A tap calling `f(direction, local, remote, datagram)`.
    pub fn new(f: impl Fn(TapDirection, SocketAddr, SocketAddr, &[u8]) + Send + Sync + 'static) -> MediaTap {
        MediaTap(Arc::new(f))
    }

    /// Shows a datagram to the tap.
    pub fn see(&self, direction: TapDirection, local: SocketAddr, remote: SocketAddr, datagram: &[u8]) {
        (self.0)(direction, local, remote, datagram)
    }
}

impl fmt::Debug for MediaTap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MediaTap")
    }
}

impl PartialEq for MediaTap {
    /// The same tap (the same callback), not an equal one.
    fn eq(&self, other: &MediaTap) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
