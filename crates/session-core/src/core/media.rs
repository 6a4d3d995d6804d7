//! The sans-IO half of a call's media: its offer/answer state (RFC 3264) and what the
//! stream must do. One [`CallSdp`] per call that carries our audio.
//!
//! It turns the SDP bodies that the dialog layer carries into media decisions: an offer is
//! answered, an answer is applied to our offer, hold and resume become new offers, and
//! each completed exchange yields the [`Negotiated`] outcome that the driver hands to the
//! call's RTP stream. Nothing else in session-core reads or writes SDP. It must not touch
//! SIP (bodies in, bodies out) nor sockets: the port it describes was bound by the driver.

use crate::api::MediaInfo;
use crate::error::{MediaFailure, SessionError};
use media_core::{Codec, Direction, LocalMedia, Negotiated, SdpSession, SessionDescription, SrtpPolicy};
use std::net::{IpAddr, SocketAddr};

/// A call's offer/answer state.
pub(crate) struct CallSdp {
    /// What we offer and accept: our RTP address (bound by the driver), codecs, SRTP policy
    /// and keys (made once per call, so re-offers keep them).
    local: LocalMedia,
    sdp: SdpSession,
    /// Our offer waiting for its answer.
    pending_offer: Option<SessionDescription>,
    /// Our INVITE's offer, answered in a provisional response: that early answer is a
    /// preview (RFC 3261 §13.2.1), and the 200's — or another early dialog's — may differ
    /// and then takes its place. Dropped by the final answer and by any later exchange.
    early_offer: Option<SessionDescription>,
    negotiated: Option<Negotiated>,
    local_sdp: Option<String>,
    remote_sdp: Option<String>,
    /// Do we want the call held (RFC 3264 §8.4)? Set with the offer that asks for it.
    local_hold: bool,
    /// The hold state the last completed offer/answer agreed on.
    agreed_hold: bool,
    /// The stream is bound on a wildcard address and our SDP names the address we are
    /// reached at: it moves when that address changes.
    follows_address: bool,
}

/// What an SDP from the peer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Does the peer hold us (it no longer receives our media, and not because we asked:
    /// an inactive answer to our own hold offer is no hold by the peer)? `None`: unchanged.
    pub(crate) remote_hold: Option<bool>,
    /// What the stream does from now on.
    pub(crate) start: Negotiated,
}

fn sdp_error(e: media_core::SdpError) -> SessionError {
    SessionError::Media(MediaFailure::Sdp(e))
}

fn negotiation_error(e: media_core::NegotiationError) -> SessionError {
    SessionError::Media(MediaFailure::Negotiation(e))
}

impl CallSdp {
    /// The offer/answer state of a stream bound at `bound`; when that is a wildcard
    /// address, our SDP names `reached_at` (the address we are reached at) instead. With
    /// SRTP on, the call's keys are made here; should the system have no randomness for
    /// them, the call goes without SRTP only if SRTP is optional.
    pub(crate) fn new(
        bound: SocketAddr,
        reached_at: IpAddr,
        codecs: Vec<Codec>,
        srtp: SrtpPolicy,
        rtcp_mux: bool,
    ) -> CallSdp {
        let follows_address = bound.ip().is_unspecified();
        let rtp_addr = if follows_address { SocketAddr::new(reached_at, bound.port()) } else { bound };
        let plain = LocalMedia { rtcp_mux, ..LocalMedia::new(rtp_addr, codecs, Direction::SendRecv) };
        let local = match plain.clone().with_srtp(srtp) {
            Ok(local) => local,
            Err(e) => {
                tracing::warn!(error = %e, "no SRTP keys for the call");
                LocalMedia { srtp, ..plain }
            }
        };
        CallSdp {
            local,
            sdp: SdpSession::new(rtp_addr.ip()),
            pending_offer: None,
            early_offer: None,
            negotiated: None,
            local_sdp: None,
            remote_sdp: None,
            local_hold: false,
            agreed_hold: false,
            follows_address,
        }
    }

    /// Our address changed to `ip`: the next offer names it, if this stream follows our
    /// address (see [`CallSdp::new`]). True if it does.
    pub(crate) fn readdress(&mut self, ip: IpAddr) -> bool {
        if self.follows_address {
            self.local.rtp_addr.set_ip(ip);
            self.sdp.set_local_ip(ip);
        }
        self.follows_address
    }

    fn local_media(&self, direction: Direction) -> LocalMedia {
        LocalMedia { direction, ..self.local.clone() }
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
        let local = self.local_media(self.our_direction());
        let offer = self.sdp.offer(&local);
        let text = offer.to_string();
        self.pending_offer = Some(offer);
        self.early_offer = None;
        self.local_sdp = Some(text.clone());
        text
    }

    /// Sets our hold wish and makes the offer that carries it.
    pub(crate) fn offer_hold(&mut self, hold: bool) -> String {
        self.local_hold = hold;
        self.offer()
    }

    /// Answers the peer's offer. The error is for a 488.
    pub(crate) fn answer(&mut self, offer: &str) -> Result<(String, Applied), SessionError> {
        let parsed = SessionDescription::parse(offer).map_err(sdp_error)?;
        let local = self.local_media(if self.local_hold { Direction::SendOnly } else { Direction::SendRecv });
        let (answer, negotiated) = self.sdp.answer(&parsed, &local).map_err(negotiation_error)?;
        let text = answer.to_string();
        self.remote_sdp = Some(offer.to_owned());
        self.local_sdp = Some(text.clone());
        self.pending_offer = None;
        self.early_offer = None;
        Ok((text, self.apply(negotiated, true)))
    }

    /// Applies the peer's answer to our pending offer; `early` when it came in a
    /// provisional response. An answer with no offer pending (a retransmitted 2xx) changes
    /// nothing — unless it answers an offer answered only early so far and says something
    /// else than that early answer, which it then replaces.
    pub(crate) fn accept_answer(&mut self, answer: &str, early: bool) -> Result<Option<Applied>, SessionError> {
        let offer = match self.pending_offer.take() {
            Some(offer) => offer,
            None => {
                let Some(offer) = self.early_offer.take() else { return Ok(None) };
                let same = self.remote_sdp.as_deref().is_some_and(|seen| seen.trim() == answer.trim());
                if same {
                    // The answer repeated (the 200 after a 183): nothing new to apply.
                    if early {
                        self.early_offer = Some(offer);
                    }
                    return Ok(None);
                }
                offer
            }
        };
        let parsed = SessionDescription::parse(answer).map_err(sdp_error)?;
        let negotiated = self
            .sdp
            .accept_answer_with(&offer, &parsed, &self.local.keys, self.local.srtp)
            .map_err(negotiation_error)?;
        self.remote_sdp = Some(answer.to_owned());
        self.early_offer = early.then_some(offer);
        Ok(Some(self.apply(negotiated, false)))
    }

    /// The call is answered: an early answer stands as the answer from now on.
    pub(crate) fn settle(&mut self) {
        self.early_offer = None;
    }

    /// Forgets an offer the peer declined (a failed re-INVITE leaves the session as it
    /// was, RFC 3261 §14.1), and our hold wish with it.
    pub(crate) fn offer_rejected(&mut self) {
        if self.pending_offer.take().is_some() {
            self.local_hold = self.agreed_hold;
        }
    }

    fn apply(&mut self, negotiated: Negotiated, answering: bool) -> Applied {
        self.agreed_hold = self.local_hold;
        // An offer says what the peer wants; an answer to our hold only echoes our wish.
        // The peer holds us when it stops receiving (RFC 3264 §8.4: sendonly or inactive).
        let remote_hold = (answering || !self.local_hold).then_some(!negotiated.remote_direction.receives());
        self.negotiated = Some(negotiated.clone());
        Applied { remote_hold, start: negotiated }
    }

    /// Did the last exchange agree on RFC 4733 telephone-event?
    pub(crate) fn has_telephone_event(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| n.telephone_event.is_some())
    }

    pub(crate) fn info(&self) -> MediaInfo {
        let n = self.negotiated.as_ref();
        MediaInfo {
            local_sdp: self.local_sdp.clone(),
            remote_sdp: self.remote_sdp.clone(),
            local_rtp: Some(self.local.rtp_addr),
            remote_rtp: n.and_then(|n| n.remote_rtp),
            codec: n.map(|n| format!("{}/{}", n.codec.name, n.codec.clock_rate)),
            direction: n.map(|n| n.direction.as_str().to_owned()),
            srtp: n.and_then(|n| n.srtp.as_ref()).map(|k| k.ours.suite.name().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> CallSdp {
        let ip = IpAddr::from([127, 0, 0, 1]);
        CallSdp::new(SocketAddr::new(ip, port), ip, vec![Codec::PCMU, Codec::PCMA], SrtpPolicy::Off, true)
    }

    fn remote_port(applied: Option<Applied>) -> Option<u16> {
        applied.and_then(|a| a.start.remote_rtp).map(|a| a.port())
    }

    /// RFC 3261 §13.2.1: an answer in a provisional response is a preview. The 200 that
    /// repeats it changes nothing; one that says something else replaces it; after the
    /// final answer, nothing more is taken.
    #[test]
    fn a_final_answer_replaces_a_different_early_one() {
        let mut caller = at(10_000);
        let offer = caller.offer();
        let (early, _) = at(20_000).answer(&offer).expect("an answer");
        let (other, _) = at(30_000).answer(&offer).expect("another answer");

        assert_eq!(remote_port(caller.accept_answer(&early, true).expect("early")), Some(20_000));
        assert_eq!(remote_port(caller.accept_answer(&early, false).expect("the 200 repeats it")), None);
        assert_eq!(remote_port(caller.accept_answer(&other, false).expect("settled")), None);

        let mut caller = at(10_002);
        let offer = caller.offer();
        let (early, _) = at(20_000).answer(&offer).expect("an answer");
        let (other, _) = at(30_000).answer(&offer).expect("another answer");
        assert_eq!(remote_port(caller.accept_answer(&early, true).expect("early")), Some(20_000));
        assert_eq!(remote_port(caller.accept_answer(&other, false).expect("the 200 differs")), Some(30_000));
        assert_eq!(remote_port(caller.accept_answer(&early, false).expect("settled")), None);

        // A peer's offer in between (an early UPDATE) settles the early answer too.
        let mut caller = at(10_004);
        let offer = caller.offer();
        let (early, _) = at(20_000).answer(&offer).expect("an answer");
        caller.accept_answer(&early, true).expect("early");
        let mut peer = at(20_000);
        let update = peer.offer();
        caller.answer(&update).expect("answered");
        assert_eq!(remote_port(caller.accept_answer(&other, false).expect("settled")), None);
    }
}
