//! # client-core
//!
//! sipline's client API, for softphones, call-center agents, voice bots and test tools:
//! accounts and registration, calls (make, answer, reject, hang up, hold, resume, mute),
//! media (codecs, media info, RTP statistics, received audio), one event stream, retry with
//! back-off, and metrics. It stands on `session-core` and nothing below it.
//!
//! ```no_run
//! use client_core::{AccountConfig, ClientBuilder, ClientEvent};
//! use std::time::Duration;
//! # async fn demo() -> Result<(), client_core::ClientError> {
//! let client = ClientBuilder::new()
//!     .account(AccountConfig::new("alice", Some("secret".into()), "sip:pbx.example.com"))
//!     .build()
//!     .await?;
//! let mut events = client.subscribe_events();
//! client.start().await?; // binds a free port, registers alice
//!
//! let call = client.make_call("sip:alice@pbx.example.com", "sip:bob@pbx.example.com").await?;
//! client.wait_for_answer(call, Duration::from_secs(30)).await?;
//! tokio::time::sleep(Duration::from_secs(10)).await;
//! client.hangup_call(call).await?;
//! let ended = client.wait_for_end(call).await?;
//! println!("talked {:?}, received {:?} RTP packets", ended.talk_time, ended.final_rtp().map(|r| r.packets_received));
//!
//! while let Ok(event) = events.try_recv() {
//!     println!("{event}"); // every event has a readable Display
//! }
//! client.stop().await; // unregisters, hangs up, frees every port
//! # Ok(()) }
//! ```
//!
//! ## Events
//!
//! [`ClientManager::subscribe_events`] returns a tokio broadcast receiver (tokio is
//! re-exported as [`broadcast`]) of [`ClientEvent`]s: incoming calls, call states, progress,
//! holds, ends (with the history entry), registration states, media quality samples and
//! background errors. Each has an [`EventPriority`]; [`ClientManager::subscribe_filtered`]
//! takes an [`EventFilter`]. A subscriber that falls behind is told how many events it
//! missed. Incoming calls are decided by an [`IncomingCallHandler`] (which gets a
//! [`CallHandle`] to act on the call), by `calls.auto_answer`, or by the application after
//! the [`ClientEvent::IncomingCall`] event.
//!
//! ## Registration
//!
//! Accounts in the configuration are registered by [`ClientManager::start`]; more with
//! [`ClientManager::register`]. The session layer refreshes each binding before the
//! server-granted expiry, answers digest challenges and 423, and retries after a loss; a
//! first attempt that fails for a reason that can pass is retried per
//! [`RegistrationConfig::retry`].
//!
//! ## How a call flows through the layers
//!
//! ```text
//!  application ── make_call ──> ClientManager ── prepare + initiate ──> SessionCoordinator
//!                                  │  (call table,                          │ command channel
//!                                  │   history,                             v
//!                                  │   metrics)                        driver task ── sockets, RTP,
//!                                  │                                        │        DNS, timers
//!                                  │                                        v
//!                                  │                                   SessionCore (sans-IO):
//!                                  │                                   dialogs, transactions,
//!                                  │                                   offer/answer, decisions
//!                                  │                                        │
//!  ClientEvent <── event task <── SessionEvent (broadcast) <─────────────────┘
//!  (subscribers)     updates the call table; on the end, moves the call with its
//!                    reason, talk time and final RTP statistics into the history
//! ```
//!
//! An incoming call goes the other way: the session layer answers 180 and asks its handler,
//! which is the client's bridge to the [`IncomingCallHandler`] (or auto-answer, or the
//! application through [`ClientManager::answer_call`]).
//!
//! ## Errors
//!
//! Every error is a [`ClientError`] with the [`ErrorCategory`] of the layer that failed and
//! [`ClientError::is_recoverable`]; [`retry_with_backoff`] retries only what is.
//!
//! ## Configuration
//!
//! [`ClientConfig`] groups network, media, accounts, registration, calls, security and
//! telemetry; it loads from TOML ([`ClientConfig::from_file`]) and is checked up front,
//! each error naming the field and the fix. `examples/client.toml` is a complete file.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod builder;
mod calls;
mod config;
mod error;
mod events;
mod handler;
mod manager;
mod media;
mod network;
mod recovery;
mod registrations;
mod requests;
mod telemetry;

pub use builder::ClientBuilder;
pub use calls::{CallInfo, MakeCallOptions};
pub use config::{
    AccountConfig, CallConfig, ClientConfig, Credentials, MediaConfig, NetworkConfig, RegistrationConfig,
    SecurityConfig, TelemetryConfig,
};
pub use error::{ClientError, ConfigError, Result};
pub use events::{
    broadcast, ClientEvent, EventFilter, EventKind, EventPriority, EventSubscription, SubscriptionError, EVENT_CAPACITY,
};
pub use handler::{CallDecision, CallHandle, IncomingCallHandler};
pub use manager::ClientManager;
pub use media::CodecInfo;
pub use recovery::{retry_with_backoff, Recoverable, RetryConfig};
pub use registrations::{describe as describe_registration, RegistrationInfo};

/// Which of some frequencies dominates a block of received audio (a Goertzel filter): how a
/// test or a bot checks that the far end's tone arrived.
pub use session_core::dominant_tone;
/// Reads a WAV file as mono PCM (what `media.play_file` and
/// [`ClientManager::play_audio_file`] play); an unplayable format is an error naming it.
pub use session_core::load_wav;
/// A registration's id.
pub use session_core::AccountId as RegistrationId;
/// A call's id: the same number from the client down to the dialog layer.
pub use session_core::SessionId as CallId;
/// Where a call stands (one enum for both directions; see its transitions).
pub use session_core::SessionState as CallState;
pub use session_core::{
    AudioFrame, AudioFrames, AudioSource, CallDirection, Codec, DialogStatus, EndCause, EndInfo, ErrorCategory,
    FailedTarget, InstantMessage, MediaInfo, MediaTap, MessageCounts, MessageSummary, Notification, RegistrationState,
    RequestOptions, ResourceCounts, RtpStats, SessionError, SipResponse, SrtpPolicy, SubscriptionId, TapDirection,
    TransferOptions, TransferRequest, Transport, Unreachable, UnreachableCause, WireDirection, WireTap,
};
/// The SIP message layer (parse, build, URIs, typed headers), for tools that read SIP
/// messages themselves, such as `sipline parse`; a client needs none of it.
pub use sip_message as message;
