//! Runs the application's [`CallHandler`] on a task of its own, so that no handler call can
//! hold up the SIP stack. Events come in order through a channel; each incoming call's
//! decision runs on its own task (a handler may take its time to decide) and comes back to
//! the driver as a command.

use super::Request;
use crate::api::{
    CallDecision, CallHandler, CallSession, EndInfo, IncomingCall, SessionId, SessionState, TransferRequest,
};
use crate::core::Command;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the driver tells the handler task.
#[derive(Debug)]
pub(crate) enum HandlerEvent {
    Incoming(IncomingCall),
    Established(CallSession),
    Failed(SessionId, EndInfo),
    Ended(CallSession, EndInfo),
    State(SessionId, SessionState, SessionState),
    Refer(TransferRequest),
}

type Start = Box<dyn FnOnce(mpsc::UnboundedReceiver<HandlerEvent>, mpsc::WeakUnboundedSender<Request>) + Send>;

/// A handler of any type, boxed as the function that starts its task.
pub(crate) struct HandlerRunner(Start);

impl HandlerRunner {
    pub(crate) fn new<H: CallHandler>(handler: H) -> HandlerRunner {
        HandlerRunner(Box::new(move |rx, cmd| {
            tokio::spawn(run(Arc::new(handler), rx, cmd));
        }))
    }

    pub(crate) fn start(self, rx: mpsc::UnboundedReceiver<HandlerEvent>, cmd: mpsc::WeakUnboundedSender<Request>) {
        (self.0)(rx, cmd)
    }
}

/// Ends when the driver drops its sender.
async fn run<H: CallHandler>(
    handler: Arc<H>,
    mut rx: mpsc::UnboundedReceiver<HandlerEvent>,
    cmd: mpsc::WeakUnboundedSender<Request>,
) {
    while let Some(event) = rx.recv().await {
        match event {
            HandlerEvent::Incoming(call) => {
                let (handler, cmd) = (handler.clone(), cmd.clone());
                tokio::spawn(async move {
                    let id = call.id;
                    let decision: CallDecision = handler.on_incoming_call(call).await;
                    if let Some(cmd) = cmd.upgrade() {
                        // Nobody waits for the outcome of the handler's decision.
                        let (reply, _) = tokio::sync::oneshot::channel();
                        let _ = cmd.send(Request::Core(Command::Decide { id, decision }, reply));
                    }
                });
            }
            HandlerEvent::Refer(request) => {
                let (handler, cmd) = (handler.clone(), cmd.clone());
                tokio::spawn(async move {
                    let id = request.id;
                    let accept = handler.on_transfer_request(request).await;
                    if let Some(cmd) = cmd.upgrade() {
                        let (reply, _) = tokio::sync::oneshot::channel();
                        let _ = cmd.send(Request::Core(Command::DecideTransfer { id, accept }, reply));
                    }
                });
            }
            HandlerEvent::Established(call) => handler.on_call_established(call).await,
            HandlerEvent::Failed(id, info) => handler.on_call_failed(id, info).await,
            HandlerEvent::Ended(call, info) => handler.on_call_ended(call, info).await,
            HandlerEvent::State(id, old, new) => handler.on_state_changed(id, old, new).await,
        }
    }
}
