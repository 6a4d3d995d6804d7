//! The INVITE usage (RFC 3261 §13–15) on top of [`crate::dialog`]: making and answering
//! calls, reliable provisional responses (RFC 3262), session timers (RFC 4028), forking, CANCEL, redirects, re-INVITE
//! and glare, BYE — state machines driven by the
//! events `sip-transaction` reports to its user, with `now` as an input.
//!
//! [`Calls`] is the entry point: it owns every call of a user agent, routes what arrives to
//! the right one (answering 481 for dialogs that do not exist), and merges their outputs and
//! timers. The application learns everything through [`CallEvent`]s and acts through the
//! methods of [`Calls`].

mod call;
mod calls;
mod config;
mod event;
mod in_dialog;
mod redirect;
mod reinvite;
mod reliable;
mod retransmit;
mod session_timer;
mod uac;
mod uas;

pub use calls::Calls;
pub use config::CallConfig;
pub use event::{CallEvent, CallEventKind, CallKey, CallState, EndReason, RedirectTarget};
