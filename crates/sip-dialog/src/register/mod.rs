//! Registration (RFC 3261 §10): one [`Registration`] per account keeps its binding at the
//! registrar — digest authentication (§22), 423 Min-Expires, refresh before expiry with the
//! same Call-ID and increasing CSeq, back-off after failures (RFC 5626 §4.5), removal with
//! expires=0 — and [`Registrations`] holds several.

mod backoff;
mod config;
mod machine;
mod refresh;
mod state;
mod table;

pub use backoff::Backoff;
pub use config::AccountConfig;
pub use machine::Registration;
pub use refresh::refresh_after;
pub use state::{RegistrationEvent, RegistrationState};
pub use table::Registrations;
