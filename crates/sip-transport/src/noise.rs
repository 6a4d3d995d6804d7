//! Who sends what the transport throws away. It owns, per source address, the count of
//! datagrams and WebSocket messages dropped as not SIP (and STUN requests, which we never
//! answer) since a driver last took them. A driver hands the counts to its admission control,
//! so that a source flooding garbage is seen as the load it is: the transport drops garbage
//! before any layer above sees its source, and without these counts an agent that falls
//! behind reading garbage could only shed everyone's calls alike.
//!
//! It must not decide anything: it counts, and the counts are taken and forgotten.

use std::collections::HashMap;
use std::net::IpAddr;

/// At most this many sources are counted one by one between two takes; beyond them (garbage
/// from forged addresses) the rest are counted together, so memory stays bounded.
const MAX_SOURCES: usize = 1024;

/// Input the transport dropped as not SIP since the last
/// [`TransportLayer::take_noise`](crate::TransportLayer::take_noise), by source address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noise {
    /// Datagrams or messages dropped from each source, in no particular order.
    pub by_source: Vec<(IpAddr, u32)>,
    /// Dropped from sources past the first 1,024 of the interval, counted together.
    pub unattributed: u32,
}

impl Noise {
    /// Nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.by_source.is_empty() && self.unattributed == 0
    }
}

/// The running counts (held under the transport's lock).
#[derive(Debug, Default)]
pub(crate) struct NoiseTally {
    by_source: HashMap<IpAddr, u32>,
    unattributed: u32,
}

impl NoiseTally {
    /// One datagram or message from `source` was dropped.
    pub(crate) fn add(&mut self, source: IpAddr) {
        let source = source.to_canonical();
        if let Some(n) = self.by_source.get_mut(&source) {
            *n = n.saturating_add(1);
        } else if self.by_source.len() < MAX_SOURCES {
            self.by_source.insert(source, 1);
        } else {
            self.unattributed = self.unattributed.saturating_add(1);
        }
    }

    /// The counts so far; the tally starts again from nothing.
    pub(crate) fn take(&mut self) -> Noise {
        if self.by_source.is_empty() && self.unattributed == 0 {
            return Noise::default();
        }
        let noise = Noise { by_source: self.by_source.drain().collect(), unattributed: self.unattributed };
        self.unattributed = 0;
        // A flood from forged addresses must not leave its largest table behind.
        self.by_source.shrink_to(64);
        noise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_source_and_starts_again_when_taken() {
        let mut t = NoiseTally::default();
        let (a, b) = (IpAddr::from([127, 0, 0, 4]), IpAddr::from([127, 0, 0, 5]));
        for _ in 0..3 {
            t.add(a);
        }
        t.add(b);
        let mut noise = t.take();
        noise.by_source.sort();
        assert_eq!(noise, Noise { by_source: vec![(a, 3), (b, 1)], unattributed: 0 });
        assert!(t.take().is_empty());
    }

    #[test]
    fn a_mapped_address_counts_as_its_ipv4_source() {
        let mut t = NoiseTally::default();
        t.add(IpAddr::from([127, 0, 0, 4]));
        t.add("::ffff:127.0.0.4".parse().expect("an address"));
        assert_eq!(t.take().by_source, vec![(IpAddr::from([127, 0, 0, 4]), 2)]);
    }

    #[test]
    fn forged_sources_beyond_the_bound_count_together() {
        let mut t = NoiseTally::default();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            t.add(IpAddr::from((0x0a00_0000 + i).to_be_bytes()));
        }
        let noise = t.take();
        assert_eq!(noise.by_source.len(), MAX_SOURCES);
        assert_eq!(noise.unattributed, 10);
    }
}
