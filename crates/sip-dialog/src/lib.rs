//! # sip-dialog
//!
//! The dialog layer of sipline, sans-IO: dialog state (RFC 3261 §12), the INVITE usage on
//! top of it (§13–15: answers, forking, CANCEL, redirects, re-INVITE and glare, BYE), and
//! registration (§10, with digest authentication per §22).
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

pub use auth::AuthFailure;
pub use body::Body;
pub use dialog::{Dialog, DialogId, DialogState, DialogTable, RequestRoute, Role};
pub use error::{DialogError, ErrorCategory};
pub use failure::{failure_response, TxFailure};
pub use invite::{CallConfig, CallEvent, CallEventKind, CallKey, CallState, Calls, EndReason, RedirectTarget};
pub use output::Output;
pub use random::RandomSource;
pub use register::{AccountConfig, Backoff, Registration, RegistrationEvent, RegistrationState, Registrations};
pub use via::{top_branch, ViaTemplate};
