//! RFC 3264 offer/answer for one audio stream, sans-IO: [`SdpSession`] makes offers and
//! answers and turns an exchange into [`Negotiated`], what the media driver needs to know.
//!
//! Owns the decisions of offer/answer: which `m=` line carries the call's audio, which codec
//! we send, whether telephone-event is on, the direction of the stream, where the peer wants
//! RTP, and the `o=` line's session id and version across re-offers. It must not touch
//! sockets, the clock or the SIP dialog; it reads and writes [`SessionDescription`]s only.
//!
//! The model is the one a SIP user agent needs: one audio stream (the first acceptable
//! `m=audio` of the offer), the codecs compiled in and RFC 4733 telephone-event, RTP/AVP —
//! or RTP/SAVP with SDES keys (RFC 4568) when SRTP is on. Other streams are answered with
//! port 0, which rejects them (RFC 3264 §6).

use crate::codec::Codec;
use crate::direction::Direction;
use crate::sdp::{Attribute, Connection, MediaDescription, Origin, SessionDescription};
use crate::srtp::{SdesCrypto, SrtpKeys, SrtpPolicy};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The transport profile of plain RTP (RFC 3551), and of SRTP (RFC 3711 §12).
const PROTO: &str = "RTP/AVP";
const PROTO_SECURE: &str = "RTP/SAVP";
/// The packetization time we send, and ask for, in milliseconds (RFC 4566 §6 `a=ptime`).
pub const PTIME_MS: u32 = 20;

/// What we put into an offer or answer for our stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our RTP address (IP and port); RTCP is on the next port (RFC 3550 §11).
    pub rtp_addr: SocketAddr,
    /// The codecs we accept, in order of preference; [`Codec::TELEPHONE_EVENT`] in the list
    /// turns RFC 4733 events on.
    pub codecs: Vec<Codec>,
    /// The direction we want (what we would write in an offer).
    pub direction: Direction,
    /// Whether to use SRTP.
    pub srtp: SrtpPolicy,
    /// Our SRTP keys, one per suite we accept, best first (unused when `srtp` is off).
    pub keys: Vec<SdesCrypto>,
    /// Offer RTCP on the RTP port (`a=rtcp-mux`, RFC 5761), and accept it when offered. The
    /// RTCP port stays bound all the same, for a peer that does not multiplex.
    pub rtcp_mux: bool,
}

impl LocalMedia {
    /// Plain RTP media at `rtp_addr` with `codecs`, wanting `direction`.
    pub fn new(rtp_addr: SocketAddr, codecs: Vec<Codec>, direction: Direction) -> LocalMedia {
        LocalMedia { rtp_addr, codecs, direction, srtp: SrtpPolicy::Off, keys: Vec::new(), rtcp_mux: true }
    }

    /// The same with SRTP per `policy`, with a fresh key for each suite (none when off).
    pub fn with_srtp(mut self, policy: SrtpPolicy) -> Result<LocalMedia, crate::srtp::SrtpError> {
        self.srtp = policy;
        self.keys = match policy {
            SrtpPolicy::Off => Vec::new(),
            _ => crate::srtp::CryptoSuite::ALL
                .iter()
                .enumerate()
                .map(|(i, suite)| SdesCrypto::generate(i as u32 + 1, *suite))
                .collect::<Result<_, _>>()?,
        };
        Ok(self)
    }

    fn crypto_on(&self) -> bool {
        self.srtp != SrtpPolicy::Off && !self.keys.is_empty()
    }
}

/// The outcome of an offer/answer exchange for our audio stream: what the driver does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP; `None` when the peer gave port 0 or the unspecified address
    /// `c=0.0.0.0` (the old style of hold, RFC 3264 §8.4), so nothing must be sent.
    pub remote_rtp: Option<SocketAddr>,
    /// The codec we send with its negotiated payload type; the peer sends it too.
    pub codec: Codec,
    /// The payload type of RFC 4733 telephone-event, when both sides support it.
    pub telephone_event: Option<u8>,
    /// Our direction for the stream: send when `direction.sends()`, expect media when
    /// `direction.receives()`.
    pub direction: Direction,
    /// The direction the peer stated, from its side.
    pub remote_direction: Direction,
    /// The packetization time the peer asked for with `a=ptime`, if any.
    pub remote_ptime_ms: Option<u32>,
    /// The SRTP keys both ways, when the exchange agreed on SRTP; `None`: plain RTP.
    pub srtp: Option<SrtpKeys>,
    /// RTCP goes to and from the RTP ports (RFC 5761): both sides said `a=rtcp-mux`.
    pub rtcp_mux: bool,
}

impl Negotiated {
    /// Should media be sent at all: our direction sends and there is an address.
    pub fn should_send(&self) -> bool {
        self.direction.sends() && self.remote_rtp.is_some()
    }
}

/// Why an offer or answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// An audio stream was offered (or answered) but with no codec in common; a UAS answers
    /// 488 Not Acceptable Here (RFC 3261 §13.3.1.3).
    NoCommonCodec,
    /// There is no usable audio stream: no `m=audio` with a port and the RTP/AVP profile.
    NoAudio,
    /// The description breaks an offer/answer rule; the text says which.
    Malformed(String),
    /// SRTP is required here and the peer offered or answered no key we can use (or SRTP is
    /// off here and the peer requires it).
    SrtpMismatch {
        /// Do we require SRTP (true), or refuse it (false)?
        we_require: bool,
    },
}

impl NegotiationError {
    /// The SIP status code a UAS answers an unusable offer with: 488 for all three
    /// (RFC 3261 §21.4.26: the body is not acceptable here).
    pub fn status_code(&self) -> u16 {
        488
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::NoCommonCodec => f.write_str("no codec in common for the audio stream"),
            NegotiationError::NoAudio => f.write_str("no usable audio stream (m=audio with RTP/AVP and a port)"),
            NegotiationError::Malformed(why) => write!(f, "unusable SDP: {why}"),
            NegotiationError::SrtpMismatch { we_require: true } => {
                f.write_str("SRTP is required and the peer gave no usable SDES key (a=crypto)")
            }
            NegotiationError::SrtpMismatch { we_require: false } => {
                f.write_str("the peer requires SRTP (RTP/SAVP) and SRTP is off here")
            }
        }
    }
}

impl std::error::Error for NegotiationError {}

/// Our side of the offer/answer exchanges of one SIP session: the `o=` line's session id and
/// version, and the last description we sent.
///
/// RFC 3264 §8: every description we send in the session keeps the same `o=` username,
/// session id and address; the version goes up by exactly one each time the description
/// changes, and stays when we repeat an unchanged one (a session refresh).
#[derive(Debug, Clone)]
pub struct SdpSession {
    ip: IpAddr,
    session_id: u64,
    version: u64,
    last_sent: Option<SessionDescription>,
}

impl SdpSession {
    /// A session whose `o=` line carries `local_ip`, with a random session id (and starting
    /// version) as RFC 4566 §5.2 suggests, so ids are unique across sessions.
    pub fn new(local_ip: IpAddr) -> SdpSession {
        let mut bytes = [0u8; 4];
        let id = match getrandom::getrandom(&mut bytes) {
            Ok(()) => u64::from(u32::from_be_bytes(bytes)),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() & 0xFFFF_FFFF)
                .unwrap_or(1),
        };
        SdpSession::with_id(local_ip, id.max(1))
    }

    /// Our address moved: the `o=` line of the next description carries `ip` (its version
    /// goes up as with any change, RFC 4566 §5.2).
    pub fn set_local_ip(&mut self, ip: IpAddr) {
        self.ip = ip;
    }

    /// A session with a chosen id (tests, or restoring state). The first version is the id,
    /// a common convention.
    pub fn with_id(local_ip: IpAddr, session_id: u64) -> SdpSession {
        SdpSession { ip: local_ip, session_id, version: session_id, last_sent: None }
    }

    /// The session id of our `o=` line.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The last description we made (offer or answer), if any.
    pub fn last_sent(&self) -> Option<&SessionDescription> {
        self.last_sent.as_ref()
    }

    /// An offer for one audio stream (RFC 3264 §5): our codecs in preference order with
    /// rtpmaps, `a=fmtp:<te> 0-16` when telephone-event is on, `a=ptime:20`, the direction.
    pub fn offer(&mut self, local: &LocalMedia) -> SessionDescription {
        let proto = if local.srtp == SrtpPolicy::Required { PROTO_SECURE } else { PROTO };
        let keys = if local.crypto_on() { local.keys.clone() } else { Vec::new() };
        let codecs = with_event_clocks(&local.codecs);
        let media = local_audio(local, &codecs, local.direction, proto, &keys, local.rtcp_mux);
        self.finish(local, vec![media])
    }

    /// Answers an offer (RFC 3264 §6): the first `m=audio` with RTP/AVP, a port and a codec
    /// we support is accepted, with the first of the offer's formats we support (§6.1: the
    /// offerer's order wins) on the offer's payload type, and telephone-event echoed on the
    /// offer's payload type when both sides have it; every other `m=` line is rejected with
    /// port 0 and its format list unchanged. The answer's direction follows §6.1's table.
    pub fn answer(
        &mut self,
        offer: &SessionDescription,
        local: &LocalMedia,
    ) -> Result<(SessionDescription, Negotiated), NegotiationError> {
        let mut saw_audio = false;
        let mut srtp_refused = false;
        let mut chosen: Option<(usize, Codec, Option<u8>, Option<SrtpKeys>)> = None;
        for (index, m) in offer.media.iter().enumerate() {
            if !is_usable_audio(m) {
                continue;
            }
            saw_audio = true;
            let secure = is_secure(m);
            // SRTP: a key of theirs in a suite we have, answered with ours of that suite.
            let keys = if local.crypto_on() {
                offered_keys(m).into_iter().find_map(|theirs| {
                    let ours = local.keys.iter().find(|k| k.suite == theirs.suite)?.retagged(theirs.tag);
                    Some(SrtpKeys { ours, theirs })
                })
            } else {
                None
            };
            let srtp_ok = match (&keys, secure, local.srtp) {
                (Some(_), _, _) => true,
                (None, true, _) => false,
                (None, false, SrtpPolicy::Required) => false,
                (None, false, _) => true,
            };
            if !srtp_ok {
                srtp_refused = true;
                continue;
            }
            let offered = offered_codecs(m);
            let Some(codec) = offered.iter().find_map(|o| local_match(o, &local.codecs)) else { continue };
            // RFC 4733 §2.1: events run on the audio's clock; one at another rate is not used.
            let te = local
                .codecs
                .iter()
                .any(Codec::is_telephone_event)
                .then(|| {
                    offered
                        .iter()
                        .find(|c| c.is_telephone_event() && c.clock_rate == codec.clock_rate)
                        .map(|c| c.payload_type)
                })
                .flatten();
            chosen = Some((index, codec, te, keys));
            break;
        }
        let Some((index, codec, telephone_event, srtp)) = chosen else {
            return Err(match (saw_audio, srtp_refused) {
                (_, true) => NegotiationError::SrtpMismatch { we_require: local.srtp == SrtpPolicy::Required },
                (true, false) => NegotiationError::NoCommonCodec,
                (false, false) => NegotiationError::NoAudio,
            });
        };
        let offered_media = &offer.media[index];
        let remote_direction = offer.media_direction(offered_media);
        let direction = local.direction.answer_to(remote_direction);
        let remote_rtp = remote_address(offer, offered_media)?;
        // RFC 5761 §5.1.1: the answer multiplexes only when the offer asked to.
        let rtcp_mux = local.rtcp_mux && asks_rtcp_mux(offered_media);

        let mut answer_codecs = vec![codec];
        if let Some(pt) = telephone_event {
            let event = Codec { clock_rate: codec.clock_rate, ..Codec::TELEPHONE_EVENT };
            answer_codecs.push(event.with_payload_type(pt));
        }
        let our_key: Vec<SdesCrypto> = srtp.iter().map(|k| k.ours.clone()).collect();
        let media = offer
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if i == index {
                    local_audio(local, &answer_codecs, direction, &offered_media.proto, &our_key, rtcp_mux)
                } else {
                    // RFC 3264 §6: a rejected stream keeps its media type, proto and formats.
                    MediaDescription::new(m.media.clone(), 0, m.proto.clone(), m.formats.clone())
                }
            })
            .collect();
        let answer = self.finish(local, media);
        let negotiated = Negotiated {
            remote_rtp,
            codec,
            telephone_event,
            direction,
            remote_direction,
            remote_ptime_ms: ptime(offered_media),
            srtp,
            rtcp_mux,
        };
        Ok((answer, negotiated))
    }

    /// Reads the answer to an offer we sent (RFC 3264 §7): the answer must have as many `m=`
    /// lines as the offer; our audio stream is the first usable one of the offer; we send the
    /// first of the answer's formats that we offered, and our direction is what we offered
    /// narrowed by what the answerer accepted.
    pub fn accept_answer(
        &self,
        offer: &SessionDescription,
        answer: &SessionDescription,
    ) -> Result<Negotiated, NegotiationError> {
        self.accept_answer_with(offer, answer, &[], SrtpPolicy::Off)
    }

    /// [`SdpSession::accept_answer`] for an offer made with SRTP `policy` and our `keys`:
    /// the answer's key for one of our tags turns SRTP on; none is an error when SRTP is
    /// required, plain RTP otherwise.
    pub fn accept_answer_with(
        &self,
        offer: &SessionDescription,
        answer: &SessionDescription,
        keys: &[SdesCrypto],
        policy: SrtpPolicy,
    ) -> Result<Negotiated, NegotiationError> {
        if offer.media.len() != answer.media.len() {
            return Err(NegotiationError::Malformed(format!(
                "the answer has {} m= lines for the offer's {} (RFC 3264 §6)",
                answer.media.len(),
                offer.media.len()
            )));
        }
        let index = offer.media.iter().position(is_usable_audio).ok_or(NegotiationError::NoAudio)?;
        let (ours, theirs) = (&offer.media[index], &answer.media[index]);
        if theirs.media != ours.media {
            return Err(NegotiationError::Malformed(format!("m= line {} changed media type", index + 1)));
        }
        if theirs.is_rejected() {
            return Err(NegotiationError::NoCommonCodec);
        }
        let our_codecs = offered_codecs(ours);
        let answered = offered_codecs(theirs);
        let codec = answered
            .iter()
            .filter(|c| !c.is_telephone_event())
            .find_map(|a| our_codecs.iter().find(|o| o.payload_type == a.payload_type && o.name == a.name))
            .copied()
            .ok_or(NegotiationError::NoCommonCodec)?;
        let telephone_event = answered
            .iter()
            .find(|a| a.is_telephone_event() && a.clock_rate == codec.clock_rate && our_codecs.iter().any(|o| o == *a))
            .map(|c| c.payload_type);
        let srtp = if policy == SrtpPolicy::Off {
            None
        } else {
            offered_keys(theirs).into_iter().find_map(|their_key| {
                let ours = keys.iter().find(|k| k.tag == their_key.tag && k.suite == their_key.suite)?;
                Some(SrtpKeys { ours: ours.clone(), theirs: their_key })
            })
        };
        if srtp.is_none() && (policy == SrtpPolicy::Required || is_secure(theirs)) {
            return Err(NegotiationError::SrtpMismatch { we_require: policy != SrtpPolicy::Off });
        }
        let offered_direction = offer.media_direction(ours);
        let remote_direction = answer.media_direction(theirs);
        let direction = Direction::from_flags(
            offered_direction.sends() && remote_direction.receives(),
            offered_direction.receives() && remote_direction.sends(),
        );
        Ok(Negotiated {
            remote_rtp: remote_address(answer, theirs)?,
            codec,
            telephone_event,
            direction,
            remote_direction,
            remote_ptime_ms: ptime(theirs),
            srtp,
            rtcp_mux: asks_rtcp_mux(ours) && asks_rtcp_mux(theirs),
        })
    }

    /// Wraps media sections into a description with our `o=` line, bumping the version when
    /// the content differs from the last one we sent (RFC 3264 §8).
    fn finish(&mut self, local: &LocalMedia, media: Vec<MediaDescription>) -> SessionDescription {
        let mut sdp = SessionDescription {
            origin: Origin {
                username: "-".into(),
                session_id: self.session_id.to_string(),
                session_version: self.version,
                net_type: "IN".into(),
                addr_type: if self.ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
                address: self.ip.to_string(),
            },
            session_name: "sipline".into(),
            connection: Some(Connection::new(local.rtp_addr.ip())),
            attributes: Vec::new(),
            media,
            other: vec![crate::sdp::Line { kind: 't', value: "0 0".into() }],
        };
        if let Some(last) = &self.last_sent {
            let mut same = last.clone();
            same.origin.session_version = self.version;
            if same != sdp {
                self.version = self.version.wrapping_add(1);
                sdp.origin.session_version = self.version;
            }
        }
        self.last_sent = Some(sdp.clone());
        sdp
    }
}

/// Our audio section: the codecs with rtpmaps, fmtp for telephone-event, ptime, direction,
/// our SRTP keys, and `a=rtcp-mux` when we multiplex.
fn local_audio(
    local: &LocalMedia,
    codecs: &[Codec],
    direction: Direction,
    proto: &str,
    keys: &[SdesCrypto],
    rtcp_mux: bool,
) -> MediaDescription {
    let formats = codecs.iter().map(|c| c.payload_type.to_string()).collect();
    let mut m = MediaDescription::new("audio", local.rtp_addr.port(), proto, formats);
    for codec in codecs {
        m.attributes.push(Attribute::new("rtpmap", codec.rtpmap_value()));
        if codec.is_telephone_event() {
            // RFC 4733 §2.4.1: events 0-15 are the DTMF digits, 16 is flash.
            m.attributes.push(Attribute::new("fmtp", format!("{} 0-16", codec.payload_type)));
        } else if codec.name.eq_ignore_ascii_case("opus") {
            // RFC 7587 §7: we decode in-band FEC, and send mono.
            m.attributes.push(Attribute::new("fmtp", format!("{} useinbandfec=1;stereo=0", codec.payload_type)));
        }
    }
    for key in keys {
        m.attributes.push(Attribute::new("crypto", key.to_attribute_value()));
    }
    m.attributes.push(Attribute::new("ptime", PTIME_MS.to_string()));
    m.attributes.push(direction.to_attribute());
    if rtcp_mux {
        m.attributes.push(Attribute::flag("rtcp-mux"));
    }
    m
}

/// Does the section say `a=rtcp-mux` (RFC 5761 §5.1.1)?
fn asks_rtcp_mux(m: &MediaDescription) -> bool {
    m.attribute("rtcp-mux").is_some()
}

/// The codecs to offer: with telephone-event on, one telephone-event for each clock rate
/// of the audio codecs (RFC 4733 §2.1: events use the audio's clock), so Opus at 48 kHz
/// gets `telephone-event/48000` beside the 8 kHz one.
fn with_event_clocks(codecs: &[Codec]) -> Vec<Codec> {
    let Some(event) = codecs.iter().find(|c| c.is_telephone_event()).copied() else { return codecs.to_vec() };
    let mut out = codecs.to_vec();
    for audio in codecs.iter().filter(|c| !c.is_telephone_event()) {
        if out.iter().any(|c| c.is_telephone_event() && c.clock_rate == audio.clock_rate) {
            continue;
        }
        let taken = |pt: u8| out.iter().any(|c| c.payload_type == pt);
        let Some(pt) = (96..=127u8).rev().find(|pt| !taken(*pt)) else { break };
        let pt = if audio.clock_rate == 48_000 && !taken(102) { 102 } else { pt };
        out.push(Codec { clock_rate: audio.clock_rate, ..event }.with_payload_type(pt));
    }
    out
}

/// An `m=audio` we could accept: RTP/AVP or RTP/SAVP (RTP/AVPF and RTP/SAVPF are supersets
/// we can speak without feedback), and not disabled with port 0. Whether SRTP suits us is
/// decided with the keys.
fn is_usable_audio(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio")
        && !m.is_rejected()
        && ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF"].iter().any(|p| m.proto.eq_ignore_ascii_case(p))
}

/// Does the section's profile require SRTP?
fn is_secure(m: &MediaDescription) -> bool {
    m.proto.to_ascii_uppercase().starts_with("RTP/SAVP")
}

/// The SDES keys of a section we can use, in its order (lines in other suites, or
/// malformed, are skipped).
fn offered_keys(m: &MediaDescription) -> Vec<SdesCrypto> {
    m.attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("crypto"))
        .filter_map(|a| a.value.as_deref())
        .filter_map(|v| SdesCrypto::parse(v).ok().flatten())
        .collect()
}

/// The formats of a section that name a codec this crate knows, in the section's order: by
/// rtpmap, or by static payload type when there is none (RFC 3551 Table 4).
fn offered_codecs(m: &MediaDescription) -> Vec<Codec> {
    let known = Codec::known();
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| match m.rtpmap(pt) {
            Some(map) => known
                .iter()
                .find(|k| k.matches(map.encoding, map.clock_rate, map.channels))
                .map(|k| k.with_payload_type(pt)),
            None => Codec::from_static_payload_type(pt),
        })
        .collect()
}

/// The local audio codec (not telephone-event) matching an offered one, on the offer's
/// payload type.
fn local_match(offered: &Codec, local: &[Codec]) -> Option<Codec> {
    if offered.is_telephone_event() {
        return None;
    }
    local
        .iter()
        .find(|l| l.matches(offered.name, offered.clock_rate, offered.channels))
        .map(|l| l.with_payload_type(offered.payload_type))
}

/// Where the peer wants RTP for a section: `None` for the unspecified address (RFC 3264
/// §8.4 hold), an error when there is no `c=` at all or it names a host.
fn remote_address(sdp: &SessionDescription, m: &MediaDescription) -> Result<Option<SocketAddr>, NegotiationError> {
    let connection = sdp
        .media_connection(m)
        .ok_or_else(|| NegotiationError::Malformed("no c= line for the audio stream (RFC 4566 §5.7)".into()))?;
    let ip = connection.ip().ok_or_else(|| {
        NegotiationError::Malformed(format!("c= address {:?} is not an IP address", connection.address))
    })?;
    if ip.is_unspecified() || m.port == 0 {
        return Ok(None);
    }
    Ok(Some(SocketAddr::new(ip, m.port)))
}

fn ptime(m: &MediaDescription) -> Option<u32> {
    m.attribute("ptime")?.trim().parse().ok()
}
