//! # media-core
//!
//! The media layer of sipline: what a call needs to carry real audio.
//!
//! - [`sdp`]: the SDP model (RFC 4566/8866), parsed and serialized.
//! - [`negotiate`]: RFC 3264 offer/answer for one audio stream; [`SdpSession`] makes offers
//!   and answers and yields [`Negotiated`].
//! - [`codec`], [`coder`], [`g711`]: payload formats, and the encoder/decoder of each codec
//!   compiled in (G.711 µ-law and A-law).
//! - [`rtp`], [`rtcp`]: the RTP header (RFC 3550 §5.1) and RTCP SR, RR, SDES, BYE compounds
//!   with the §6.3 transmission interval.
//! - [`stats`]: receiver statistics (RFC 3550 Appendix A.1, A.3, A.8); [`quality`]: the
//!   E-model MOS estimate (ITU-T G.107).
//! - [`jitter`]: the adaptive jitter buffer; loss concealment for G.711 (private).
//! - [`dtmf`]: RFC 4733 telephone-events, sent and received.
//! - [`srtp`]: SRTP keyed by SDES (`a=crypto`), through the sans-IO `rtc-srtp` crate.
//! - [`audio`]: what a call sends (silence, tone, WAV file, pushed frames) and where what it
//!   hears goes (WAV recorder, frame streams).
//! - [`tone`]: a sine generator and the Goertzel algorithm, to send and recognise tones.
//! - [`stream`]: [`Stream`], one call's audio stream as a sans-IO state machine that makes
//!   every decision about its packets.
//! - [`session`]: [`MediaSession`], the thin tokio driver of a [`Stream`]: two sockets, a
//!   receive task, and a shared [`Pacer`] that ticks every stream's frames.
//!
//! Everything but `session` (and the pacer) is sans-IO: plain code, no tokio, no sockets, no
//! clock. The session layer above (session-core) puts SDP into SIP bodies and calls
//! [`MediaSession`] when a dialog's offer/answer completes; this crate knows nothing of SIP.
//!
//! ```
//! use media_core::{Direction, LocalMedia, Codec, SdpSession};
//!
//! let alice_ip = "192.0.2.1".parse()?;
//! let bob_ip = "192.0.2.2".parse()?;
//! let mut alice = SdpSession::new(alice_ip);
//! let mut bob = SdpSession::new(bob_ip);
//! let alice_media = LocalMedia::new("192.0.2.1:40000".parse()?, Codec::defaults(), Direction::SendRecv);
//! let bob_media = LocalMedia::new("192.0.2.2:50000".parse()?, vec![Codec::PCMA], Direction::SendRecv);
//!
//! let offer = alice.offer(&alice_media);
//! let (answer, at_bob) = bob.answer(&offer, &bob_media)?;
//! let at_alice = alice.accept_answer(&offer, &answer)?;
//! assert_eq!(at_bob.codec, Codec::PCMA);
//! assert_eq!(at_alice.codec, Codec::PCMA);
//! assert_eq!(at_alice.remote_rtp, Some("192.0.2.2:50000".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audio;
pub mod codec;
pub mod coder;
mod conceal;
pub mod direction;
pub mod dtmf;
pub mod g711;
pub mod g722;
pub mod jitter;
pub mod negotiate;
mod pacer;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod srtp;
pub mod stats;
pub mod stream;
mod tap;
pub mod tone;

pub use audio::{AudioError, AudioSink, AudioSource, Pcm, WavRecorder};
pub use codec::Codec;
pub use direction::Direction;
pub use dtmf::DtmfError;
pub use jitter::{JitterConfig, JitterStats};
pub use negotiate::{LocalMedia, Negotiated, NegotiationError, SdpSession};
pub use pacer::{Pacer, SLOTS as PACER_SLOTS};
pub use rtp::{RtpError, RtpPacket};
pub use sdp::{Attribute, Connection, Line, MediaDescription, Origin, RtpMap, SdpError, SessionDescription};
pub use session::{AudioFrame, AudioFrames, MediaConfig, MediaError, MediaEventSink, MediaSession};
pub use srtp::{SrtpError, SrtpPolicy};
pub use stats::ReceiverStats;
pub use stream::{MediaEvent, RtpStats, Stream, StreamConfig};
pub use tap::{MediaTap, TapDirection};
