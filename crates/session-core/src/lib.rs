//! # session-core
//!
//! The session layer of sipline: a [`SessionCoordinator`] places and answers calls,
//! registers accounts and runs each call's media, over sipline's own SIP stack
//! (`sip-endpoint` for transactions and transports, `sip-dialog` for dialogs, calls and
//! registration) and media layer (`media-core`).
//!
//! Applications use it through four traits, all implemented by [`SessionCoordinator`]:
//! [`SessionControl`] (calls), [`MediaControl`] (a call's media), [`SipClient`]
//! (registration and requests outside calls) and [`CallHandler`] (the application's
//! decisions about incoming calls, and callbacks). Every session goes through the one
//! [`SessionState`] enum; a terminated session holds nothing
//! ([`SessionCoordinator::resource_counts`]).
//!
//! ```no_run
//! use session_core::{AcceptAll, SessionControl, SessionManagerBuilder};
//! use std::time::Duration;
//! # async fn demo() -> Result<(), session_core::SessionError> {
//! let alice = SessionManagerBuilder::new().local_address("127.0.0.1:0".parse().expect("addr")).build().await?;
//! let bob = SessionManagerBuilder::new()
//!     .local_address("127.0.0.1:0".parse().expect("addr"))
//!     .with_handler(AcceptAll)
//!     .build()
//!     .await?;
//! let call = alice.create_outgoing_call(&alice.local_uri("alice"), &bob.local_uri("bob"), None).await?;
//! alice.wait_for_answer(call.id, Duration::from_secs(10)).await?;
//! alice.terminate_session(call.id).await?;
//! let why = alice.wait_for_end(call.id).await?;
//! # let _ = why; Ok(()) }
//! ```
//!
//! ## What lives where
//!
//! - `api/`: the public traits and values.
//! - `builder.rs`, `coordinator.rs`: configuration and the handle; every call of the handle
//!   is a command to the driver and its answer.
//! - `core/`: the sans-IO `SessionCore`, which owns the transaction layer, the dialogs, the
//!   calls, the registrations and each call's offer/answer, and makes every protocol
//!   decision (the §8.2 screen, load shedding, ring timeouts, RFC 3263 fail-over, ...):
//!   inputs with `now` in, outputs out, no tokio, clock or socket.
//! - `driver/`: the one task that does the IO: sockets, RTP streams, DNS lookups and media
//!   binds (spawned, their results fed back as inputs), the clock. It decides nothing.
//!
//! Errors are [`SessionError`]s with a shared [`ErrorCategory`]; what was turned away or
//! dropped is in [`SessionCoordinator::counters`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod api;
mod builder;
mod coordinator;
mod core;
mod driver;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod sim;

pub use crate::core::{Counters, ResourceCounts};
pub use api::*;
pub use builder::{SessionConfig, SessionManagerBuilder};
pub use coordinator::{routed_ip, SessionCoordinator};
pub use error::{ErrorCategory, MediaFailure, SessionError, Unreachable, UnreachableCause};
pub use media_core::audio::load_wav;
pub use media_core::tone::dominant_tone;
pub use media_core::{
    AudioError, AudioFrame, AudioFrames, AudioSink, AudioSource, Codec, DtmfError, JitterConfig, MediaConfig, MediaTap,
    Pcm, SrtpPolicy, TapDirection,
};
pub use sip_endpoint::{WireDirection, WireTap};
pub use sip_message::Transport;
