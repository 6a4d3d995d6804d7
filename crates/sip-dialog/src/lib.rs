//! # sip-dialog
//!
//! The dialog layer of sipline, sans-IO: dialog state (RFC 3261 §12), the INVITE usage on
//! top of it (§13–15: answers, forking, CANCEL, redirects, re-INVITE and glare, BYE), and
//! registration (§10, with digest authentication per §22).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod dialog;
mod error;
mod failure;
mod via;

pub use dialog::{Dialog, DialogId, DialogState, DialogTable, RequestRoute, Role};
pub use error::{DialogError, ErrorCategory};
pub use failure::{failure_response, TxFailure};
pub use via::{top_branch, ViaTemplate};
