//! [`CallConfig`]: timers and policies of the INVITE usage.

use crate::via::ViaTemplate;
use std::time::Duration;

/// Timers and policies of [`Calls`](super::Calls).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallConfig {
    /// T1, as the transaction layer uses it (RFC 3261 §17.1.1.1: 500 ms). The 2xx
    /// retransmissions start at T1 (§13.3.1.4) and 64·T1 bounds waiting for an ACK, for the
    /// answer to a CANCEL (§9.1) and for the answer to a BYE.
    pub t1: Duration,
    /// T2, the cap of the 2xx retransmission interval (4 s).
    pub t2: Duration,
    /// The Contact of calls we answer (a URI or a `name-addr`). Calls we make use the
    /// Contact of their INVITE.
    pub contact: String,
    /// The Via of requests sent in calls we answer. Calls we make use their INVITE's.
    pub via: ViaTemplate,
    /// How many redirected INVITEs one call sends at most, following 3xx targets in order
    /// of `q` (RFC 3261 §8.1.3.4). 0 never follows: the targets are only reported.
    pub max_redirects: u8,
    /// How long a call we make may ring before it is cancelled (the UAC's use of an INVITE's
    /// expiry, §13.2.1); `None` rings until the peer gives up.
    pub no_answer_timeout: Option<Duration>,
    /// The session interval our INVITEs ask for (RFC 4028), and the one we run ourselves
    /// for a caller that asks for none; `None` asks for none (a caller's request is still
    /// honoured). 30 minutes by default.
    pub session_expires: Option<Duration>,
    /// The shortest session interval we accept (Min-SE); never below 90 s (RFC 4028 §4).
    pub min_se: u32,
    /// Offers of ours in a confirmed call (hold, resume, a new address) go in an UPDATE
    /// (RFC 3311) rather than a re-INVITE when the peer allows UPDATE: one round trip, no
    /// ACK, and no INVITE transaction to collide with. Off by default (re-INVITE is what
    /// every peer takes).
    pub offer_by_update: bool,
}

impl CallConfig {
    /// The defaults (T1 500 ms, T2 4 s, 3 redirects, 3 minutes of ringing, sessions timed
    /// at 30 minutes with a Min-SE of 90 s) with our Contact
    /// and Via for calls we answer.
    pub fn new(contact: impl Into<String>, via: ViaTemplate) -> CallConfig {
        CallConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            contact: contact.into(),
            via,
            max_redirects: 3,
            no_answer_timeout: Some(Duration::from_secs(180)),
            session_expires: Some(Duration::from_secs(1800)),
            min_se: 90,
            offer_by_update: false,
        }
    }

    /// 64·T1.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}
