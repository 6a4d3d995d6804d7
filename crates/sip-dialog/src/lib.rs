//! # sip-dialog
//!
//! The dialog layer of sipline, sans-IO. It owns three things:
//!
//! - **Dialog state** (RFC 3261 §12): a [`Dialog`] is its id (Call-ID and tags), its state
//!   (early, confirmed, terminated), the local and remote CSeq numbers, the local and remote
//!   URIs, the remote target, the route set and the secure flag; it builds the requests sent
//!   inside it (route set, strict routing, the 2xx ACK) and judges the ones received (500 out
//!   of order, target refresh). A [`DialogTable`] finds the dialog a message belongs to and
//!   answers 481 for one that does not exist.
//! - **The INVITE usage** (§13–15): [`Calls`] makes and answers calls — provisional
//!   responses (reliable ones too, RFC 3262: PRACK both ways), forking, CANCEL, redirects,
//!   digest challenges to the INVITE, the 2xx repeated until its ACK, re-INVITE (hold and
//!   resume) and glare, session timers (RFC 4028: negotiation, 422, refreshes, the BYE when
//!   they stop), BYE both ways — and reports each step as a [`CallEvent`].
//! - **Registration** (§10): a [`Registration`] per account keeps its binding alive —
//!   digest authentication, 423 Min-Expires, refresh before expiry, back-off after
//!   failures, removal — and [`Registrations`] holds several.
//!
//! It must not touch sockets, tasks, timers or the clock: `now: Instant` is an input and the
//! next deadline an output (`poll_timeout`). It must not touch media or the contents of
//! bodies: SDP comes from the application as an opaque [`Body`] and goes back to it in
//! events. Nor does it do the transaction layer's work (retransmitting requests, matching a
//! response to its transaction: `sip-transaction`) or choose destinations (RFC 3263: the
//! driver, with `sip-resolve`). Identifiers that must be unguessable (tags, branches,
//! Call-IDs, cnonces) come from the operating system through `sip-message`; draws that only
//! shape timing (the glare interval, back-off jitter, Retry-After) come from an injected
//! [`RandomSource`], so tests are reproducible. Nothing here logs a password or a digest
//! response.
//!
//! ```
//! use rand::SeedableRng;
//! use sip_dialog::{CallConfig, CallEventKind, Calls, Output, ViaTemplate};
//! use sip_message::{Method, RequestBuilder, StandardHeader, StatusCode};
//!
//! let config = CallConfig::new("sip:alice@192.0.2.1", ViaTemplate::new("UDP", "192.0.2.1"));
//! let mut calls = Calls::new(config, Box::new(rand::rngs::SmallRng::seed_from_u64(1)));
//! let now = std::time::Instant::now();
//! let invite = RequestBuilder::new(Method::Invite, "sip:bob@192.0.2.2")
//!     .from(Some("Alice"), "sip:alice@example.com")
//!     .to(None, "sip:bob@example.com")
//!     .via("UDP", "192.0.2.1")
//!     .contact("sip:alice@192.0.2.1")
//!     .build()?;
//! let call = calls.invite(now, invite, None)?;
//! let Some(Output::Request(sent)) = calls.poll_output() else { unreachable!() };
//!
//! // The driver runs the INVITE's client transaction; Bob answers.
//! let mut ok = sent.make_response(StatusCode::OK, Some("bob-tag"))?;
//! ok.push_header(StandardHeader::Contact, "<sip:bob@192.0.2.2>");
//! calls.handle_response(now, ok);
//! let Some(Output::Ack(ack)) = calls.poll_output() else { unreachable!() };
//! assert_eq!(ack.uri_str(), "sip:bob@192.0.2.2");
//! let Some(Output::Event(e)) = calls.poll_output() else { unreachable!() };
//! assert!(e.call == call && matches!(e.kind, CallEventKind::Answered { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Wiring
//!
//! A driver joins this layer to a `sip_transaction::TransactionLayer`:
//!
//! - [`Output::Request`]: choose the destination from the first Route or the Request-URI,
//!   `send_request`, and remember which owner (the [`Calls`], or which [`Registration`])
//!   sent the request of that transaction, with the request.
//! - [`Output::Response`]: `respond(now, tx, response)`; an error means the transaction is
//!   gone, which needs no action.
//! - [`Output::Ack`]: choose the destination as for a request, then `send_stateless`.
//! - `Event::Request`: [`Calls::handle_request`]; what it returns is for other handlers
//!   (OPTIONS, MESSAGE, ...). Requests inside dialogs of other usages (subscriptions) must be
//!   routed before, or they get 481. `Event::Ack`: [`Calls::handle_ack`].
//!   `Event::StrayResponse`: [`Calls::handle_response`].
//! - `Event::Response`: the owner's `handle_response`. `Event::Timeout` and
//!   `Event::TransportError` of a client transaction: the owner's `handle_response` with
//!   [`failure_response`] of the remembered request. `Event::Terminated`: forget it.
//! - Sleep until the earliest `poll_timeout` of all parts; call each `handle_timeout`.
//! - The driver may rewrite the top Via's transport and sent-by; it must keep the branch.
//!   A driver that sends a request again in a new transaction (RFC 3263 fail-over to the
//!   next target, with a new branch) gives its responses back with the branch this layer
//!   made, since calls and registrations match responses by it (session-core's route.rs).
//! - session-core names calls before their INVITE exists with [`Calls::reserve_key`] and
//!   [`Calls::invite_as`], so one number is the call's id in both layers.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod auth;
mod body;
pub mod dialog;
mod error;
mod failure;
mod headers;
pub mod invite;
mod output;
mod random;
pub mod register;
mod via;

pub use auth::{set_credentials, AuthFailure, AuthHeader, Authenticator};
pub use body::Body;
pub use dialog::{Dialog, DialogId, DialogState, DialogTable, RequestRoute, Role};
pub use error::{DialogError, ErrorCategory};
pub use failure::{failure_response, TxFailure};
pub use invite::{CallConfig, CallEvent, CallEventKind, CallKey, CallState, Calls, EndReason, RedirectTarget};
pub use output::Output;
pub use random::RandomSource;
pub use register::{AccountConfig, Backoff, Registration, RegistrationEvent, RegistrationState, Registrations};
pub use via::{top_branch, ViaTemplate};
