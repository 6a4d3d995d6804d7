//! The states of a registration and the event that reports each change.

use crate::auth::AuthFailure;
use sip_message::StatusCode;
use std::time::Instant;

/// Where a registration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// No binding and nothing in flight: before [`register`](super::Registration::register),
    /// and after an unregistration.
    Unregistered,
    /// A REGISTER is in flight and no binding is known to be held.
    Registering,
    /// The registrar holds our binding until `expires_at`; it is refreshed at `refresh_at`.
    Registered {
        /// When the binding ends unless refreshed.
        expires_at: Instant,
        /// When the refresh goes.
        refresh_at: Instant,
    },
    /// A refresh is in flight; the binding holds until `expires_at`.
    Refreshing {
        /// When the binding ends.
        expires_at: Instant,
    },
    /// The last attempt failed; the next goes at `retry_at`.
    RetryWait {
        /// When the next REGISTER goes.
        retry_at: Instant,
        /// Failures in a row so far.
        failures: u32,
        /// The status of the last failure (408 for a timeout, 503 for a transport error).
        last_status: StatusCode,
    },
    /// A REGISTER with expires=0 is in flight.
    Unregistering,
    /// Terminal: the registrar's challenge could not be answered (wrong password, no
    /// credentials, unsupported algorithm). Nothing more is sent until `register` is called
    /// again.
    AuthFailed {
        /// Why.
        reason: AuthFailure,
    },
    /// Terminal: `max_failures` failures in a row.
    Failed {
        /// The status of the last failure.
        last_status: StatusCode,
    },
}

impl RegistrationState {
    /// Does the registrar hold our binding (as far as we know)?
    pub fn is_registered(&self) -> bool {
        matches!(self, RegistrationState::Registered { .. } | RegistrationState::Refreshing { .. })
    }

    /// Is this a state that sends nothing more on its own (no timer, nothing in flight)?
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RegistrationState::Unregistered | RegistrationState::AuthFailed { .. } | RegistrationState::Failed { .. }
        )
    }
}

/// What a registration tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationEvent {
    /// The state changed (every change is reported, refreshes included).
    StateChanged {
        /// The state before.
        from: RegistrationState,
        /// The state now.
        to: RegistrationState,
    },
}
