//! The one task that owns the transaction layer: it feeds it transport events, commands and
//! the clock, and carries out what it outputs. Every transaction shares its single timer.

use crate::handles::{ClientEvent, IncomingEvent, ServerTransaction};
use crate::tap::{WireDirection, WireTap};
use bytes::Bytes;
use sip_message::{Message, Peer, Request, Response, StatusCode};
use sip_transaction::{Event, Output, TransactionLayer, TxError, TxId};
use sip_transport::{TransportError, TransportEvent, TransportLayer};
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// A request from a handle to the driver.
#[derive(Debug)]
pub(crate) enum Command {
    SendRequest {
        request: Request,
        to: Peer,
        server_name: Option<String>,
        reply: oneshot::Sender<Result<(TxId, mpsc::UnboundedReceiver<ClientEvent>), TxError>>,
    },
    Respond {
        tx: TxId,
        response: Response,
        reply: oneshot::Sender<Result<(), TxError>>,
    },
    Stateless {
        message: Message,
        to: Peer,
    },
    Shutdown,
}

pub(crate) struct Driver {
    pub(crate) layer: TransactionLayer,
    pub(crate) transport: TransportLayer,
    pub(crate) transport_rx: mpsc::Receiver<TransportEvent>,
    pub(crate) cmd_rx: mpsc::UnboundedReceiver<Command>,
    /// Weak, so the driver stops once every handle (endpoint clones, server transactions) is
    /// gone.
    pub(crate) cmd_tx: mpsc::WeakUnboundedSender<Command>,
    pub(crate) incoming: mpsc::Sender<IncomingEvent>,
    pub(crate) clients: HashMap<TxId, mpsc::UnboundedSender<ClientEvent>>,
    /// The TLS server name of each client transaction, for its retransmissions.
    pub(crate) names: HashMap<TxId, String>,
    /// The last transport error of each transaction, to explain a TransportError event.
    pub(crate) last_error: HashMap<TxId, TransportError>,
    /// The application's view of the traffic, if it asked for one.
    pub(crate) tap: Option<WireTap>,
    pub(crate) dropper: Option<crate::impair::Dropper>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.layer.poll_timeout().map(tokio::time::Instant::from_std);
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = self.cmd_rx.recv() => match cmd {
                    Some(Command::Shutdown) | None => break,
                    Some(cmd) => self.command(cmd),
                },
                ev = self.transport_rx.recv() => match ev {
                    Some(ev) => self.transport_event(ev),
                    None => break,
                },
                _ = sleep => self.layer.handle_timeout(Instant::now()),
            }
            self.drain();
        }
        self.transport.shutdown();
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::SendRequest { request, to, server_name, reply } => {
                let result = self.layer.send_request(now, request, to).map(|id| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.clients.insert(id, tx);
                    if let Some(name) = server_name {
                        self.names.insert(id, name);
                    }
                    (id, rx)
                });
                // Outputs are drained before the caller can await anything else, so the first
                // transmission is already under way when it gets the handle.
                let _ = reply.send(result);
            }
            Command::Respond { tx, response, reply } => {
                let _ = reply.send(self.layer.respond(now, tx, response));
            }
            Command::Stateless { message, to } => self.layer.send_stateless(to, &message),
            Command::Shutdown => {}
        }
    }

    fn transport_event(&mut self, ev: TransportEvent) {
        let now = Instant::now();
        match ev {
            TransportEvent::Message { message, source } => {
                if let Some(tap) = &self.tap {
                    tap.see(WireDirection::Received, source, &message.to_bytes());
                }
                self.layer.handle_message(now, message, source)
            }
            TransportEvent::SendFailed { token, error, to } => {
                if token != 0 {
                    let tx = TxId(token);
                    self.last_error.insert(tx, error);
                    self.layer.handle_transport_error(now, tx);
                } else {
                    tracing::debug!(%to, %error, "a stateless send failed");
                }
            }
            TransportEvent::FlowClosed { .. } | TransportEvent::Stun { .. } => {}
        }
    }

    fn drain(&mut self) {
        while let Some(out) = self.layer.poll_output() {
            match out {
                Output::Transmit { to, bytes, tx } => self.transmit(to, bytes, tx),
                Output::Event(e) => self.event(e),
            }
        }
    }

    fn transmit(&mut self, to: Peer, bytes: Bytes, tx: Option<TxId>) {
        if let Some(tap) = &self.tap {
            tap.see(WireDirection::Sent, to, &bytes);
        }
        if to.transport == sip_message::Transport::Udp && self.dropper.as_mut().is_some_and(|d| d.drop_next()) {
            tracing::trace!(%to, "datagram dropped by the configured impairment");
            return;
        }
        let name = tx.and_then(|t| self.names.get(&t)).map(String::as_str);
        self.transport.send_named(to, name, bytes, tx.map_or(0, |t| t.0));
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Request { tx, request, source, cancels } => {
                // No handle left means the endpoint is going away: nobody can answer.
                let Some(cmd) = self.cmd_tx.upgrade() else { return };
                let st = ServerTransaction { id: tx, request, source, cancels, cmd, finished: false };
                if let Err(mpsc::error::TrySendError::Full(IncomingEvent::Request(mut st))) =
                    self.incoming.try_send(IncomingEvent::Request(st))
                {
                    // The application is not keeping up: shed load with 503 (RFC 3261 §21.5.4)
                    // rather than let transactions pile up unanswered.
                    st.finished = true;
                    if let Ok(mut busy) = st.request.make_response(StatusCode::SERVICE_UNAVAILABLE, None) {
                        busy.push_header("Retry-After", "5");
                        let _ = self.layer.respond(Instant::now(), tx, busy);
                    }
                }
            }
            Event::Ack { request, source, .. } => {
                let _ = self.incoming.try_send(IncomingEvent::Ack { request, source });
            }
            Event::StrayResponse { response, source } => {
                let _ = self.incoming.try_send(IncomingEvent::StrayResponse { response, source });
            }
            Event::Response { tx, response } => self.notify_client(tx, ClientEvent::Response(response)),
            Event::Timeout { tx } => self.notify_client(tx, ClientEvent::Timeout),
            Event::TransportError { tx } => {
                let detail = self.last_error.remove(&tx);
                self.notify_client(tx, ClientEvent::TransportError(detail));
            }
            Event::Terminated { tx } => {
                self.clients.remove(&tx);
                self.names.remove(&tx);
                self.last_error.remove(&tx);
            }
        }
    }

    fn notify_client(&mut self, tx: TxId, ev: ClientEvent) {
        if let Some(ch) = self.clients.get(&tx) {
            let _ = ch.send(ev);
        }
    }
}
