//! What the softphones ([`Baresip`](crate::Baresip), [`Pjsua`](crate::Pjsua)) have in common:
//! the events they report, RTP packet counts, and the bounded wait for an event.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::PeerError;

/// The media state of a call, as pjsua reports it (`onCallMediaState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaState {
    /// Audio flows (or may flow) both ways.
    Active,
    /// This side put the call on hold (it sent `sendonly` or `inactive`).
    LocalHold,
    /// The other side put the call on hold (its offer was `sendonly` or `inactive`).
    RemoteHold,
    /// No media (the call ended, or was never answered).
    None,
    /// The media negotiation failed.
    Error,
}

impl MediaState {
    fn parse(s: &str) -> Option<MediaState> {
        Some(match s {
            "active" => MediaState::Active,
            "local_hold" => MediaState::LocalHold,
            "remote_hold" => MediaState::RemoteHold,
            "none" => MediaState::None,
            "error" => MediaState::Error,
            _ => return None,
        })
    }
}

/// Whether a softphone uses SRTP with SDES keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerSrtp {
    /// Plain RTP (the default).
    #[default]
    Off,
    /// Offers keys in RTP/AVP and uses SRTP when the other side does (baresip
    /// `mediaenc=srtp`, PJSIP `PJMEDIA_SRTP_OPTIONAL`).
    Optional,
    /// RTP/SAVP only (baresip `mediaenc=srtp-mand`, PJSIP `PJMEDIA_SRTP_MANDATORY`).
    Mandatory,
}

/// Something a softphone reported. Both phones map their own reports onto these; what only
/// one of them reports says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneEvent {
    /// The REGISTER was accepted (baresip `REGISTER_OK`; pjsua `onRegState` with a 2xx and
    /// a positive expiry).
    Registered,
    /// The REGISTER failed (baresip `REGISTER_FAIL`; pjsua a non-2xx `onRegState`).
    RegisterFailed {
        /// The final status code (pjsua only; `None` from baresip).
        code: Option<u16>,
        /// The reason phrase or error text.
        reason: String,
    },
    /// An INVITE arrived and is ringing here (baresip `CALL_INCOMING`; pjsua
    /// `onIncomingCall`, which answers 180 at once). In manual answer mode, call `accept`
    /// or `answer` next.
    Incoming {
        /// The caller's URI (the From URI).
        from: String,
    },
    /// This side's INVITE was sent (pjsua `CALLING`; baresip reports nothing like it).
    Calling,
    /// The callee is ringing: a provisional response with a To tag came (baresip
    /// `CALL_RINGING` / `CALL_PROGRESS`; pjsua `EARLY`).
    Ringing {
        /// The status code (pjsua only).
        code: Option<u16>,
    },
    /// The call is up: 2xx sent or received and ACKed (baresip `CALL_ESTABLISHED`; pjsua
    /// `CONFIRMED`).
    Established,
    /// The call ended, either side having hung up or the INVITE failed (baresip
    /// `CALL_CLOSED`; pjsua `DISCONNECTED`).
    Closed {
        /// The last status code of the call (pjsua only: 200 after a BYE, 486, 487, 408...).
        code: Option<u16>,
        /// baresip: its reason text ("Connection reset by user" when this side hung up,
        /// "Connection reset by peer" after a BYE came, "486 Busy Here" ...); pjsua: the
        /// last reason phrase.
        reason: String,
    },
    /// The call's media state changed (pjsua only; every SDP negotiation reports one, so
    /// the same state may come twice in a row).
    Media(MediaState),
    /// The first RTP packet of the call's audio stream arrived (baresip `CALL_RTPESTAB`
    /// only).
    RtpStarted,
    /// A DTMF digit arrived from the other side (baresip `CALL_DTMF_START`; pjsua
    /// `onDtmfDigit`).
    Dtmf {
        /// The digit.
        digit: char,
    },
    /// Any other report, kept for diagnostics: baresip's event type and its `param`,
    /// pjsua's event name and its JSON.
    Other {
        /// baresip's `type` (`CALL_RTCP`, `CALL_LOCAL_SDP` ...) or pjsua's `event`.
        kind: String,
        /// The rest.
        detail: String,
    },
}

/// The kinds of [`PhoneEvent`], for [`wait_for`](crate::Baresip::wait_for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // One per variant of PhoneEvent, documented there.
pub enum EventKind {
    Registered,
    RegisterFailed,
    Incoming,
    Calling,
    Ringing,
    Established,
    Closed,
    Media,
    RtpStarted,
    Dtmf,
    Other,
}

impl PhoneEvent {
    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            PhoneEvent::Registered => EventKind::Registered,
            PhoneEvent::RegisterFailed { .. } => EventKind::RegisterFailed,
            PhoneEvent::Incoming { .. } => EventKind::Incoming,
            PhoneEvent::Calling => EventKind::Calling,
            PhoneEvent::Ringing { .. } => EventKind::Ringing,
            PhoneEvent::Established => EventKind::Established,
            PhoneEvent::Closed { .. } => EventKind::Closed,
            PhoneEvent::Media(_) => EventKind::Media,
            PhoneEvent::RtpStarted => EventKind::RtpStarted,
            PhoneEvent::Dtmf { .. } => EventKind::Dtmf,
            PhoneEvent::Other { .. } => EventKind::Other,
        }
    }
}

impl fmt::Display for PhoneEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneEvent::Other { kind, detail } => write!(f, "{kind} {detail}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// RTP packets of a call's audio stream, counted by the phone itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtpStats {
    /// RTP packets received.
    pub rx_packets: u64,
    /// RTP packets sent.
    pub tx_packets: u64,
}

impl RtpStats {
    /// Whether at least `min` packets went each way.
    pub fn both_ways(&self, min: u64) -> bool {
        self.rx_packets >= min && self.tx_packets >= min
    }
}

#[derive(Default)]
struct Log {
    events: Vec<PhoneEvent>,
    /// Events before this index were consumed by a wait.
    cursor: usize,
    /// Why no more events will come (the connection or the process ended).
    ended: Option<String>,
}

/// The events a phone reported, in order, with a cursor: each wait consumes the events up to
/// and including the one it returns, so consecutive waits see consecutive events.
#[derive(Clone, Default)]
pub(crate) struct EventLog {
    inner: Arc<(Mutex<Log>, Condvar)>,
}

impl EventLog {
    pub(crate) fn push(&self, event: PhoneEvent) {
        let (lock, cond) = &*self.inner;
        lock.lock().unwrap_or_else(|e| e.into_inner()).events.push(event);
        cond.notify_all();
    }

    pub(crate) fn end(&self, why: String) {
        let (lock, cond) = &*self.inner;
        let mut log = lock.lock().unwrap_or_else(|e| e.into_inner());
        if log.ended.is_none() {
            log.ended = Some(why);
        }
        cond.notify_all();
    }

    pub(crate) fn all(&self) -> Vec<PhoneEvent> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner()).events.clone()
    }

    /// Waits for the first event after the cursor that `pred` accepts, and moves the cursor
    /// past it. `peer` and `what` name the wait in the timeout error.
    pub(crate) fn wait(
        &self,
        peer: &str,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&PhoneEvent) -> bool,
    ) -> Result<PhoneEvent, PeerError> {
        let deadline = Instant::now() + timeout;
        let (lock, cond) = &*self.inner;
        let mut log = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let start = log.cursor;
            if let Some(offset) = log.events[start..].iter().position(&mut pred) {
                log.cursor = start + offset + 1;
                return Ok(log.events[start + offset].clone());
            }
            let now = Instant::now();
            if log.ended.is_some() || now >= deadline {
                let recent: Vec<String> = log.events.iter().rev().take(15).rev().map(|e| e.to_string()).collect();
                let why = match &log.ended {
                    Some(ended) => format!("{peer} stopped reporting ({ended})"),
                    None => format!("{peer}: no {what} within {timeout:?}"),
                };
                return Err(PeerError::Timeout(format!(
                    "{why}; events since the last wait: {}; last events: [{}]",
                    log.events.len() - start,
                    recent.join("; ")
                )));
            }
            log = cond.wait_timeout(log, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

/// Parses pjsua's media state name (the agent's `media` event).
pub(crate) fn media_state(s: &str) -> Option<MediaState> {
    MediaState::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_consume_in_order() {
        let log = EventLog::default();
        log.push(PhoneEvent::Calling);
        log.push(PhoneEvent::Established);
        log.push(PhoneEvent::Closed { code: Some(200), reason: "OK".into() });
        let t = Duration::from_millis(50);
        assert_eq!(log.wait("p", "x", t, |e| e.kind() == EventKind::Established).unwrap(), PhoneEvent::Established);
        // Calling was before the cursor: not seen again.
        assert!(log.wait("p", "x", t, |e| e.kind() == EventKind::Calling).is_err());
        let closed = log.wait("p", "x", t, |e| e.kind() == EventKind::Closed).unwrap();
        assert_eq!(closed.kind(), EventKind::Closed);
    }

    #[test]
    fn a_later_event_wakes_the_wait() {
        let log = EventLog::default();
        let pusher = log.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            pusher.push(PhoneEvent::Registered);
        });
        log.wait("p", "x", Duration::from_secs(5), |e| *e == PhoneEvent::Registered).unwrap();
        t.join().unwrap();
        log.end("gone".into());
        let err = log.wait("p", "x", Duration::from_secs(5), |_| true).unwrap_err().to_string();
        assert!(err.contains("stopped reporting (gone)"), "{err}");
    }
}
