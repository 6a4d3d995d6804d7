//! The handles an application holds: [`ClientTransaction`], [`ServerTransaction`] and the
//! [`Incoming`] stream.

use crate::driver::Command;
use crate::error::EndpointError;
use sip_message::{Peer, Request, Response, StatusCode};
use sip_transaction::TxId;
use sip_transport::TransportError;
use tokio::sync::{mpsc, oneshot};

/// What a client transaction reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A response (provisional or final; several 2xx for a forked INVITE).
    Response(Response),
    /// No final response in time (Timer B or F).
    Timeout,
    /// The transport failed; the reason if known.
    TransportError(Option<TransportError>),
}

/// A request in flight. Responses arrive through [`ClientTransaction::next`] until the
/// transaction ends.
#[derive(Debug)]
pub struct ClientTransaction {
    pub(crate) id: TxId,
    pub(crate) peer: Peer,
    pub(crate) rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl ClientTransaction {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Where the request went (with the transport actually used: a large request moves from
    /// UDP to TCP).
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The next event; `None` once the transaction has ended.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }

    /// Waits for the final response, skipping provisional ones.
    pub async fn final_response(&mut self) -> Result<Response, EndpointError> {
        loop {
            match self.next().await {
                Some(ClientEvent::Response(r)) if r.status().is_final() => return Ok(r),
                Some(ClientEvent::Response(_)) => {}
                Some(ClientEvent::Timeout) => return Err(EndpointError::Timeout),
                Some(ClientEvent::TransportError(e)) => return Err(EndpointError::Unreachable(e)),
                None => return Err(EndpointError::Closed),
            }
        }
    }
}

/// A received request waiting for its answer. Dropping it without a final response answers
/// 500, so no transaction is left waiting forever.
#[derive(Debug)]
pub struct ServerTransaction {
    pub(crate) id: TxId,
    pub(crate) request: Request,
    pub(crate) source: Peer,
    pub(crate) cancels: Option<TxId>,
    pub(crate) cmd: mpsc::UnboundedSender<Command>,
    pub(crate) finished: bool,
}

impl ServerTransaction {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The request (its top Via stamped with `received`/`rport`).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Where it came from.
    pub fn source(&self) -> Peer {
        self.source
    }

    /// For a CANCEL: the INVITE transaction it cancels, if one matched.
    pub fn cancels(&self) -> Option<TxId> {
        self.cancels
    }

    /// Sends a response in this transaction.
    pub async fn respond(&mut self, response: Response) -> Result<(), EndpointError> {
        let is_final = response.status().is_final();
        let (reply, done) = oneshot::channel();
        self.cmd.send(Command::Respond { tx: self.id, response, reply }).map_err(|_| EndpointError::Closed)?;
        done.await.map_err(|_| EndpointError::Closed)?.map_err(EndpointError::Transaction)?;
        if is_final {
            self.finished = true;
        }
        Ok(())
    }

    /// Builds the response to this request (RFC 3261 §8.2.6) with `to_tag` and sends it.
    pub async fn reply(&mut self, status: StatusCode, to_tag: Option<&str>) -> Result<(), EndpointError> {
        let response = self.request.make_response(status, to_tag).map_err(EndpointError::Build)?;
        self.respond(response).await
    }
}

impl Drop for ServerTransaction {
    fn drop(&mut self) {
        if !self.finished {
            if let Ok(response) = self.request.make_response(StatusCode::SERVER_INTERNAL_ERROR, None) {
                let (reply, _) = oneshot::channel();
                let _ = self.cmd.send(Command::Respond { tx: self.id, response, reply });
            }
        }
    }
}

/// Something that arrived outside any client transaction.
#[derive(Debug)]
pub enum IncomingEvent {
    /// A new request; answer it through the handle.
    Request(ServerTransaction),
    /// An ACK that belongs to a dialog (the ACK for a 2xx).
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A 2xx to an INVITE that matches no client transaction (retransmission or fork).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
}

/// The stream of [`IncomingEvent`]s of an endpoint.
#[derive(Debug)]
pub struct Incoming {
    pub(crate) rx: mpsc::Receiver<IncomingEvent>,
}

impl Incoming {
    /// The next event; `None` once the endpoint has shut down.
    pub async fn next(&mut self) -> Option<IncomingEvent> {
        self.rx.recv().await
    }
}
