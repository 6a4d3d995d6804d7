//! DTMF by SIP INFO, and what a call's stream reports: the sans-IO half of a call's keys.
//!
//! Owns the choice of how digits go — RFC 4733 events through the stream when the exchange
//! agreed on telephone-event, else the INFO fallback (one `application/dtmf-relay` INFO per digit, the next sent when the last
//! is answered, so they arrive in order), the reading of digits from an incoming INFO
//! (`application/dtmf-relay`, or `application/dtmf` with the bare digit), and the events a
//! stream reports (digits, RTP silence), turned into [`SessionEvent`]s. RFC 4733 digits are
//! the stream's own business (media-core); this must not touch RTP.

use super::{Answer, MediaAction, SessionCore};
use crate::api::{SessionEvent, SessionId, SessionState};
use crate::error::{MediaFailure, SessionError};
use media_core::{dtmf, DtmfError, MediaEvent};
use sip_dialog::{invite::CallKey, Body};
use sip_message::{Method, Request, Response, StatusCode};

/// How long each INFO digit is said to last (the customary 160 ms of the relay format).
const INFO_DURATION_MS: u32 = 160;

/// The `application/dtmf-relay` body of one digit.
fn relay_body(digit: char) -> String {
    format!("Signal={digit}\r\nDuration={INFO_DURATION_MS}\r\n")
}

/// The digit and duration an INFO body carries, by its content type: `application/dtmf-relay`
/// (`Signal=` and `Duration=` lines) or `application/dtmf` (the digit alone).
pub(crate) fn parse_info(subtype: &str, body: &[u8]) -> Option<(char, u32)> {
    let text = std::str::from_utf8(body).ok()?;
    let digit_of = |s: &str| {
        let mut chars = s.trim().chars();
        let c = chars.next()?;
        (chars.next().is_none() && dtmf::event_of(c).is_some()).then(|| c.to_ascii_uppercase())
    };
    if subtype.eq_ignore_ascii_case("dtmf-relay") {
        let mut digit = None;
        let mut duration = 0;
        for line in text.lines() {
            let Some((name, value)) = line.split_once('=') else { continue };
            match name.trim().to_ascii_lowercase().as_str() {
                "signal" => digit = digit_of(value),
                "duration" => duration = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        digit.map(|d| (d, duration))
    } else if subtype.eq_ignore_ascii_case("dtmf") {
        digit_of(text).map(|d| (d, 0))
    } else {
        None
    }
}

impl<W> SessionCore<W> {
    /// Sends `digits` in call `id`: RFC 4733 events by its stream when telephone-event was
    /// agreed, else SIP INFO.
    pub(crate) fn send_dtmf(&mut self, id: SessionId, digits: &str) -> Result<Answer, SessionError> {
        let digits: Vec<char> = digits
            .chars()
            .map(|c| dtmf::event_of(c).map(|_| c.to_ascii_uppercase()).ok_or(DtmfError::NotADigit(c)))
            .collect::<Result<_, _>>()
            .map_err(|e| SessionError::Media(MediaFailure::Dtmf(e)))?;
        let s = self.session_mut(id)?;
        if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
            return Err(SessionError::InvalidState { operation: "send DTMF", state: s.state.to_string() });
        }
        if s.media.sdp().is_some_and(|m| m.has_telephone_event()) {
            self.media(id, MediaAction::Dtmf(digits.into_iter().collect()));
            return Ok(Answer::Unit);
        }
        if s.info_digits.len() + digits.len() > dtmf::MAX_QUEUED {
            return Err(SessionError::Media(MediaFailure::Dtmf(DtmfError::QueueFull)));
        }
        s.info_digits.extend(digits);
        self.send_next_info(id);
        Ok(Answer::Unit)
    }

    /// Sends the next waiting digit, unless one is in flight.
    fn send_next_info(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if s.info_in_flight {
            return;
        }
        let Some(digit) = s.info_digits.pop_front() else { return };
        let body = Body::new("application/dtmf-relay", relay_body(digit));
        match self.calls.request(self.now, CallKey(id.0), Method::Info, Vec::new(), Some(body)) {
            Ok(()) => s.info_in_flight = true,
            Err(e) => {
                tracing::debug!(session = %id, error = %e, "DTMF INFO not sent; dropping the digits left");
                s.info_digits.clear();
            }
        }
    }

    /// Our INFO was answered: the next digit goes.
    pub(crate) fn info_answered(&mut self, id: SessionId, response: &Response) {
        if !response.status().is_success() {
            tracing::debug!(session = %id, status = response.status().as_u16(), "the peer refused a DTMF INFO");
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.info_in_flight = false;
        }
        self.send_next_info(id);
    }

    /// The status for an INFO the peer sent in call `id`, reporting any digit it carries.
    /// An INFO with another body is accepted and ignored (RFC 6086 would have us check the
    /// Info-Package; legacy DTMF INFO has none).
    pub(crate) fn incoming_info(&mut self, id: SessionId, request: &Request) -> StatusCode {
        let digit = match request.headers().content_type() {
            Ok(Some(t)) if t.kind.eq_ignore_ascii_case("application") => parse_info(t.subtype, request.body()),
            _ => None,
        };
        match digit {
            Some((digit, duration_ms)) => self.emit(SessionEvent::Dtmf { id, digit, duration_ms }),
            None => self.incoming_info_body(id, request),
        }
        StatusCode::OK
    }

    /// Hangs up an established call whose peer's RTP stopped: the far end most likely
    /// vanished (a crash, a network gone), and nothing else would end the call before the
    /// session timer.
    fn end_silent_call(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get_mut(&id) else { return };
        if !s.state.is_established() {
            return;
        }
        s.rtp_timed_out = true;
        if let Err(e) = self.terminate(id) {
            tracing::debug!(session = %id, error = %e, "could not hang up the silent call");
        }
    }

    /// What a call's stream reported.
    pub(crate) fn media_event(&mut self, id: SessionId, event: MediaEvent) {
        if !self.sessions.contains_key(&id) {
            return;
        }
        match event {
            MediaEvent::Dtmf { digit, duration_ms } => self.emit(SessionEvent::Dtmf { id, digit, duration_ms }),
            MediaEvent::RtpTimeout { silent_for } => {
                tracing::info!(session = %id, silent_ms = silent_for.as_millis() as u64, "no RTP from the peer");
                self.emit(SessionEvent::RtpTimeout { id, silent_for });
                if self.cfg.end_on_rtp_timeout {
                    self.end_silent_call(id);
                }
            }
            MediaEvent::RtpResumed => self.emit(SessionEvent::RtpResumed { id }),
            MediaEvent::Latched { remote } => {
                tracing::debug!(session = %id, %remote, "RTP latched to the address the peer sends from")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_bodies_of_both_kinds_are_read() {
        assert_eq!(parse_info("dtmf-relay", b"Signal=5\r\nDuration=160\r\n"), Some(('5', 160)));
        assert_eq!(parse_info("DTMF-Relay", b"signal = #\nduration=250"), Some(('#', 250)));
        assert_eq!(parse_info("dtmf-relay", b"Signal=a\r\n"), Some(('A', 0)));
        assert_eq!(parse_info("dtmf", b"7\r\n"), Some(('7', 0)));
        assert_eq!(parse_info("dtmf-relay", b"Signal=55\r\n"), None);
        assert_eq!(parse_info("dtmf-relay", b"Duration=100"), None);
        assert_eq!(parse_info("dtmf-relay", &[0xFF, 0xFE]), None);
        assert_eq!(parse_info("sdp", b"Signal=1"), None);
        assert_eq!(relay_body('9'), "Signal=9\r\nDuration=160\r\n");
    }
}
