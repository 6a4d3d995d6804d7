//! # media-core
//!
//! The minimal media layer of sipline: what a call needs to carry real RTP audio.
//!
//! - [`sdp`]: the SDP model (RFC 4566/8866), parsed and serialized.
//! - [`negotiate`]: RFC 3264 offer/answer for one audio stream; [`SdpSession`] makes offers
//!   and answers and yields [`Negotiated`].
//! - [`codec`], [`g711`]: payload formats and G.711 µ-law/A-law.
//! - [`rtp`]: the RTP fixed header (RFC 3550 §5.1).
//! - [`stats`]: receiver statistics (RFC 3550 Appendix A.1, A.3, A.8).
//! - [`tone`]: a sine generator and the Goertzel algorithm, to send and recognise tones.
//! - [`session`]: [`MediaSession`], the tokio driver of one call's RTP stream.
//!
//! Everything but `session` is sans-IO: plain code, no tokio, no sockets, no clock. The
//! session layer above (session-core) puts SDP into SIP bodies and calls [`MediaSession`]
//! when a dialog's offer/answer completes; this crate knows nothing of SIP.
//!
//! ```
//! use media_core::{Direction, LocalMedia, Codec, SdpSession};
//!
//! let alice_ip = "192.0.2.1".parse()?;
//! let bob_ip = "192.0.2.2".parse()?;
//! let mut alice = SdpSession::new(alice_ip);
//! let mut bob = SdpSession::new(bob_ip);
//! let alice_media = LocalMedia { rtp_addr: "192.0.2.1:40000".parse()?, codecs: Codec::defaults(), direction: Direction::SendRecv };
//! let bob_media = LocalMedia { rtp_addr: "192.0.2.2:50000".parse()?, codecs: vec![Codec::PCMA], direction: Direction::SendRecv };
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

pub mod codec;
pub mod direction;
pub mod g711;
pub mod negotiate;
mod pacer;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod stats;
mod tap;
pub mod tone;

pub use codec::Codec;
pub use direction::Direction;
pub use negotiate::{LocalMedia, Negotiated, NegotiationError, SdpSession};
pub use pacer::{Pacer, SLOTS as PACER_SLOTS};
pub use rtp::{RtpError, RtpPacket};
pub use sdp::{Attribute, Connection, Line, MediaDescription, Origin, RtpMap, SdpError, SessionDescription};
pub use session::{MediaConfig, MediaError, MediaSession, RtpStats};
pub use stats::ReceiverStats;
pub use tap::{MediaTap, TapDirection};
