//! [`CallHandler`]: the application's say in incoming calls, and its view of how calls go.
//!
//! The coordinator calls the handler from a task of its own, one event at a time in the
//! order they happened, so a slow handler delays other handler calls but never the SIP
//! stack: retransmissions, timers and other calls go on meanwhile.

use super::types::{CallDecision, CallSession, EndInfo, IncomingCall, SessionId, SessionState, TransferRequest};
use std::future::Future;

/// Decides about incoming calls and hears about every call's life. Every method but
/// `on_incoming_call` has an empty default.
pub trait CallHandler: Send + Sync + 'static {
    /// An INVITE arrived (we already answered 180 Ringing). The decision is carried out at
    /// once; `Defer` leaves the call ringing until
    /// [`SessionControl::accept_incoming_call`](crate::SessionControl::accept_incoming_call)
    /// or `reject_incoming_call`.
    fn on_incoming_call(&self, call: IncomingCall) -> impl Future<Output = CallDecision> + Send;

    /// A call is up: our INVITE was answered, or our answer acknowledged-to-be (we sent 200).
    fn on_call_established(&self, _call: CallSession) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A call that never got established ended: rejected, cancelled, unanswered, failed.
    fn on_call_failed(&self, _id: SessionId, _info: EndInfo) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// An established call ended (a BYE either way, or the dialog failed).
    fn on_call_ended(&self, _call: CallSession, _info: EndInfo) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The peer of a call asks us to call someone else (a REFER, RFC 3515). `true` (the
    /// default) answers 202 and places the call, reporting its progress to the peer;
    /// `false` answers 603 Decline.
    fn on_transfer_request(&self, _request: TransferRequest) -> impl Future<Output = bool> + Send {
        async { true }
    }

    /// A session moved from `old` to `new`.
    fn on_state_changed(
        &self,
        _id: SessionId,
        _old: SessionState,
        _new: SessionState,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A handler that leaves every incoming call to the application: it defers them all, and
/// the application answers through [`SessionControl`](crate::SessionControl) after seeing
/// [`SessionEvent::IncomingCall`](crate::SessionEvent::IncomingCall).
#[derive(Debug, Clone, Copy, Default)]
pub struct DeferAll;

impl CallHandler for DeferAll {
    async fn on_incoming_call(&self, _call: IncomingCall) -> CallDecision {
        CallDecision::Defer
    }
}

/// A handler that answers every call at once (an auto-answering agent, a test peer).
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl CallHandler for AcceptAll {
    async fn on_incoming_call(&self, _call: IncomingCall) -> CallDecision {
        CallDecision::Accept(None)
    }
}
