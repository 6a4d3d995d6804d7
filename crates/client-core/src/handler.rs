//! Deciding incoming calls in code: an [`IncomingCallHandler`] gets each call with a
//! [`CallHandle`] to act on it, and answers with a [`CallDecision`].
//!
//! Without a handler, incoming calls are answered at once when `calls.auto_answer` is set,
//! and otherwise wait (ringing) for [`ClientManager::answer_call`] or
//! [`ClientManager::reject_call`] after the [`ClientEvent::IncomingCall`] event.
//!
//! [`ClientEvent::IncomingCall`]: crate::ClientEvent::IncomingCall

use crate::{CallId, CallInfo, ClientError, ClientManager, TransferRequest};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What to do with an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallDecision {
    /// Answer it now; the media is set up and runs by itself.
    Accept,
    /// Decline it with this status (300-699): 486 Busy Here, 603 Decline, ...
    Reject(u16),
    /// Let it ring; answer or reject it later through the [`CallHandle`] or the client.
    Defer,
    /// Redirect it: 302 Moved Temporarily with this URI as the new target.
    Forward(String),
}

/// Decides about incoming calls. It runs on a task of its own, one call at a time; a slow
/// handler delays the next decision, never the SIP stack.
///
/// ```no_run
/// use client_core::{CallDecision, CallHandle, CallInfo, IncomingCallHandler};
///
/// /// Answers callers with a campaign header, turns away the rest.
/// struct Campaigns;
///
/// impl IncomingCallHandler for Campaigns {
///     async fn on_incoming_call(&self, call: CallInfo, _handle: CallHandle) -> CallDecision {
///         match call.remote_header("X-Campaign") {
///             Some(_) => CallDecision::Accept,
///             None => CallDecision::Reject(603),
///         }
///     }
/// }
/// ```
pub trait IncomingCallHandler: Send + Sync + 'static {
    /// A call arrived (the caller hears ringing). `handle` acts on this call and reaches the
    /// whole client, also after the decision (a deferred call is answered through it).
    fn on_incoming_call(&self, call: CallInfo, handle: CallHandle) -> impl Future<Output = CallDecision> + Send;

    /// The far end of a call asks us to call `request.target` instead (a REFER: it
    /// transfers us). `true` (the default) accepts: the client calls the target and tells
    /// the far end how that goes; `false` declines with 603.
    fn on_transfer_request(&self, _request: TransferRequest, _handle: CallHandle) -> impl Future<Output = bool> + Send {
        async { true }
    }
}

/// The object-safe form the client stores.
pub(crate) trait DynHandler: Send + Sync {
    fn decide(&self, call: CallInfo, handle: CallHandle) -> Pin<Box<dyn Future<Output = CallDecision> + Send + '_>>;
    fn transfer(&self, request: TransferRequest, handle: CallHandle)
        -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

impl<H: IncomingCallHandler> DynHandler for H {
    fn decide(&self, call: CallInfo, handle: CallHandle) -> Pin<Box<dyn Future<Output = CallDecision> + Send + '_>> {
        Box::pin(self.on_incoming_call(call, handle))
    }

    fn transfer(
        &self,
        request: TransferRequest,
        handle: CallHandle,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(self.on_transfer_request(request, handle))
    }
}

/// One call and the client it belongs to, for a handler to act on.
#[derive(Clone)]
pub struct CallHandle {
    id: CallId,
    client: Arc<ClientManager>,
}

impl std::fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHandle").field("id", &self.id).finish()
    }
}

impl CallHandle {
    pub(crate) fn new(id: CallId, client: Arc<ClientManager>) -> CallHandle {
        CallHandle { id, client }
    }

    /// The call's id.
    pub fn id(&self) -> CallId {
        self.id
    }

    /// The whole client.
    pub fn client(&self) -> &Arc<ClientManager> {
        &self.client
    }

    /// The call as it is now.
    pub fn info(&self) -> Option<CallInfo> {
        self.client.get_call(self.id)
    }

    /// Answers the call (after a [`CallDecision::Defer`]).
    pub async fn answer(&self) -> Result<CallInfo, ClientError> {
        self.client.answer_call(self.id).await
    }

    /// Declines the call with `status`.
    pub async fn reject(&self, status: u16) -> Result<(), ClientError> {
        self.client.reject_call(self.id, status).await
    }

    /// Hangs up.
    pub async fn hangup(&self) -> Result<(), ClientError> {
        self.client.hangup_call(self.id).await
    }

    /// Transfers the far end to `target` (see [`ClientManager::transfer_call`]).
    pub async fn transfer(&self, target: &str) -> Result<(), ClientError> {
        self.client.transfer_call(self.id, target).await
    }
}
