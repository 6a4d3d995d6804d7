//! The seam between calls and media: one [`CallMedia`] per call that carries our audio.
//!
//! It owns the call's RTP port (a `media_core::MediaSession`) and its offer/answer state
//! (RFC 3264), and turns the SDP bodies that the dialog layer carries into media actions:
//! an offer is answered and the stream started, an answer is applied to our offer, and
//! hold or resume become new offers. Nothing else in session-core reads or writes SDP, so a
//! richer media layer (more codecs, SRTP, audio devices) replaces this file, not the public
//! API. It must not touch SIP: bodies in, bodies out.

use crate::api::MediaInfo;
use crate::error::SessionError;
use media_core::{Direction, MediaConfig, MediaSession, Negotiated, SdpSession, SessionDescription};

/// A call's media: its RTP stream and its offer/answer state.
pub(crate) struct CallMedia {
    rtp: MediaSession,
    sdp: SdpSession,
    /// Our offer waiting for its answer.
    pending_offer: Option<SessionDescription>,
    negotiated: Option<Negotiated>,
    local_sdp: Option<String>,
    remote_sdp: Option<String>,
    /// Do we want the call held (RFC 3264 §8.4)? Set with the offer that asks for it.
    local_hold: bool,
    /// The hold state the last completed offer/answer agreed on.
    agreed_hold: bool,
}

/// What an SDP from the peer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Does the peer hold us (it no longer receives our media, and not because we asked:
    /// an inactive answer to our own hold offer is no hold by the peer)? `None`: unchanged.
    pub remote_hold: Option<bool>,
}

impl CallMedia {
    /// Binds a port pair for a new call.
    pub(crate) async fn bind(config: &MediaConfig) -> Result<CallMedia, SessionError> {
        let rtp = MediaSession::bind(config).await.map_err(|e| SessionError::Media(e.to_string()))?;
        let sdp = SdpSession::new(config.ip);
        Ok(CallMedia {
            rtp,
            sdp,
            pending_offer: None,
            negotiated: None,
            local_sdp: None,
            remote_sdp: None,
            local_hold: false,
            agreed_hold: false,
        })
    }

    /// Our direction given our hold and the peer's: holding offers sendonly, or inactive
    /// when the peer does not send to us either (RFC 3264 §8.4).
    fn our_direction(&self) -> Direction {
        let peer_holds = self.negotiated.as_ref().is_some_and(|n| !n.remote_direction.sends());
        match (self.local_hold, peer_holds) {
            (false, _) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (true, true) => Direction::Inactive,
        }
    }

    /// A new offer (initial, hold, resume, or for a re-INVITE without one).
    pub(crate) fn offer(&mut self) -> String {
        let local = self.rtp.local_media(self.our_direction());
        let offer = self.sdp.offer(&local);
        let text = offer.to_string();
        self.pending_offer = Some(offer);
        self.local_sdp = Some(text.clone());
        text
    }

    /// Sets our hold wish and makes the offer that carries it.
    pub(crate) fn offer_hold(&mut self, hold: bool) -> String {
        self.local_hold = hold;
        self.offer()
    }

    /// Answers the peer's offer and starts (or updates) the stream. The error is for a 488.
    pub(crate) fn answer(&mut self, offer: &str) -> Result<(String, Applied), SessionError> {
        let parsed = SessionDescription::parse(offer).map_err(|e| SessionError::Media(e.to_string()))?;
        let local = self.rtp.local_media(if self.local_hold { Direction::SendOnly } else { Direction::SendRecv });
        let (answer, negotiated) = self.sdp.answer(&parsed, &local).map_err(|e| SessionError::Media(e.to_string()))?;
        let text = answer.to_string();
        self.remote_sdp = Some(offer.to_owned());
        self.local_sdp = Some(text.clone());
        self.pending_offer = None;
        let applied = self.apply(negotiated, true);
        Ok((text, applied))
    }

    /// Applies the peer's answer to our pending offer. An answer with no offer pending (a
    /// retransmitted 2xx) changes nothing.
    pub(crate) fn accept_answer(&mut self, answer: &str) -> Result<Option<Applied>, SessionError> {
        let Some(offer) = self.pending_offer.take() else { return Ok(None) };
        let parsed = SessionDescription::parse(answer).map_err(|e| SessionError::Media(e.to_string()))?;
        let negotiated = self.sdp.accept_answer(&offer, &parsed).map_err(|e| SessionError::Media(e.to_string()))?;
        self.remote_sdp = Some(answer.to_owned());
        Ok(Some(self.apply(negotiated, false)))
    }

    /// Forgets an offer the peer declined (a failed re-INVITE leaves the session as it
    /// was, RFC 3261 §14.1), and our hold wish with it.
    pub(crate) fn offer_rejected(&mut self) {
        if self.pending_offer.take().is_some() {
            self.local_hold = self.agreed_hold;
        }
    }

    fn apply(&mut self, negotiated: Negotiated, answering: bool) -> Applied {
        self.rtp.start(&negotiated);
        self.agreed_hold = self.local_hold;
        // An offer says what the peer wants; an answer to our hold only echoes our wish.
        // The peer holds us when it stops receiving (RFC 3264 §8.4: sendonly or inactive).
        let remote_hold = (answering || !self.local_hold).then_some(!negotiated.remote_direction.receives());
        self.negotiated = Some(negotiated);
        Applied { remote_hold }
    }

    pub(crate) fn set_muted(&self, muted: bool) {
        self.rtp.set_muted(muted);
    }

    pub(crate) fn info(&self) -> MediaInfo {
        let n = self.negotiated.as_ref();
        MediaInfo {
            local_sdp: self.local_sdp.clone(),
            remote_sdp: self.remote_sdp.clone(),
            local_rtp: Some(self.rtp.local_addr()),
            remote_rtp: n.and_then(|n| n.remote_rtp),
            codec: n.map(|n| format!("{}/{}", n.codec.name, n.codec.clock_rate)),
            direction: n.map(|n| n.direction.as_str().to_owned()),
        }
    }

    pub(crate) fn stats(&self) -> media_core::RtpStats {
        self.rtp.stats()
    }

    pub(crate) fn recent_audio(&self) -> Vec<i16> {
        self.rtp.recent_audio()
    }

    /// Stops the stream and frees the ports.
    pub(crate) fn close(&self) {
        self.rtp.close();
    }
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        self.rtp.close();
    }
}
