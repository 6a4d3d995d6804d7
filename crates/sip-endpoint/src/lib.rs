//! # sip-endpoint
//!
//! Runs the sans-IO transaction layer (`sip-transaction`) over the tokio transports
//! (`sip-transport`). One task owns the [`TransactionLayer`](sip_transaction::TransactionLayer):
//! it receives messages and transport failures, commands from the handles, and wakes at the
//! layer's single next deadline — so many thousands of transactions cost one timer, and no
//! protocol decision is made here, only carried out.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sip_endpoint::{Endpoint, EndpointConfig};
//! use sip_message::{Method, Peer, RequestBuilder, Transport};
//!
//! let (endpoint, _incoming) = Endpoint::start(EndpointConfig::udp("127.0.0.1:0".parse()?)).await?;
//! let local = endpoint.local_addr(Transport::Udp).expect("bound");
//! let options = RequestBuilder::new(Method::Options, "sip:127.0.0.1:5060")
//!     .from(None, format!("sip:probe@{local}"))
//!     .to(None, "sip:127.0.0.1:5060")
//!     .via("UDP", local.to_string())
//!     .build()?;
//! let mut tx = endpoint.send_request(options, Peer::new(Transport::Udp, "127.0.0.1:5060".parse()?)).await?;
//! let response = tx.final_response().await?;
//! println!("{} {}", response.status().as_u16(), response.reason());
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod driver;
mod error;
mod handles;
mod impair;
mod tap;

pub use error::EndpointError;
pub use handles::{ClientEvent, ClientTransaction, Incoming, IncomingEvent, ServerTransaction};
pub use impair::{Dropper, Impairment};
pub use tap::{WireDirection, WireTap};

use driver::{Command, Driver};
use sip_message::{Message, Peer, Request, Response, Transport};
use sip_transaction::TxId;
use sip_transport::{TransportConfig, TransportLayer};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};

/// What an endpoint needs to start.
#[derive(Debug, Clone, Default)]
pub struct EndpointConfig {
    /// Listeners, TLS and bounds of the transports.
    pub transport: TransportConfig,
    /// Timer values and policies of the transaction layer.
    pub transaction: sip_transaction::Config,
    /// How many received requests may wait for the application before new ones are answered
    /// 503 (0 means 1024).
    pub incoming_queue: usize,
    /// Sees every message sent and received (for `--trace`-style tools); `None` by default.
    pub wire_tap: Option<WireTap>,
    /// Loses outgoing UDP datagrams on purpose (tests over a lossy network); `None` by
    /// default.
    pub impairment: Option<Impairment>,
}

impl EndpointConfig {
    /// A configuration with one UDP listener.
    pub fn udp(addr: SocketAddr) -> EndpointConfig {
        let mut c = EndpointConfig::default();
        c.transport.listen.push((Transport::Udp, addr));
        c
    }
}

/// A running SIP endpoint: transports plus transactions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Endpoint {
    cmd: mpsc::UnboundedSender<Command>,
    transport: TransportLayer,
}

impl Endpoint {
    /// Binds the transports and starts the driver task. Must run inside a tokio runtime.
    pub async fn start(config: EndpointConfig) -> Result<(Endpoint, Incoming), EndpointError> {
        let (transport, transport_rx) =
            TransportLayer::bind(config.transport).await.map_err(EndpointError::Transport)?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let queue = if config.incoming_queue == 0 { 1024 } else { config.incoming_queue };
        let (in_tx, in_rx) = mpsc::channel(queue);
        let driver = Driver {
            layer: sip_transaction::TransactionLayer::new(config.transaction),
            transport: transport.clone(),
            transport_rx,
            cmd_rx,
            cmd_tx: cmd_tx.downgrade(),
            incoming: in_tx,
            clients: HashMap::new(),
            names: HashMap::new(),
            last_error: HashMap::new(),
            tap: config.wire_tap,
            dropper: config.impairment.map(impair::Dropper::new),
        };
        tokio::spawn(driver.run());
        Ok((Endpoint { cmd: cmd_tx, transport }, Incoming { rx: in_rx }))
    }

    /// Starts a client transaction for `request` to `to`.
    pub async fn send_request(&self, request: Request, to: Peer) -> Result<ClientTransaction, EndpointError> {
        self.send_request_named(request, to, None).await
    }

    /// Like [`Self::send_request`], verifying a TLS server's certificate against `server_name`
    /// (the host of the URI) instead of its address.
    pub async fn send_request_named(
        &self,
        request: Request,
        to: Peer,
        server_name: Option<String>,
    ) -> Result<ClientTransaction, EndpointError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Command::SendRequest { request, to, server_name, reply }).map_err(|_| EndpointError::Closed)?;
        let (id, events) = rx.await.map_err(|_| EndpointError::Closed)?.map_err(EndpointError::Transaction)?;
        Ok(ClientTransaction { id, peer: to, rx: events })
    }

    /// Sends a response in server transaction `tx` after its handle is gone: the 2xx to an
    /// INVITE repeated until its ACK (RFC 3261 §13.3.1.4, RFC 6026 keeps the transaction in
    /// the Accepted state for it). An error means the transaction has ended.
    pub async fn respond(&self, tx: TxId, response: Response) -> Result<(), EndpointError> {
        let (reply, done) = oneshot::channel();
        self.cmd.send(Command::Respond { tx, response, reply }).map_err(|_| EndpointError::Closed)?;
        done.await.map_err(|_| EndpointError::Closed)?.map_err(EndpointError::Transaction)
    }

    /// Sends a message outside any transaction (an ACK for a 2xx, a retransmitted 2xx).
    pub fn send_stateless(&self, message: Message, to: Peer) -> Result<(), EndpointError> {
        self.cmd.send(Command::Stateless { message, to }).map_err(|_| EndpointError::Closed)
    }

    /// The first bound address of `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.transport.local_addr(transport)
    }

    /// The bound address of `transport` in the family of `remote` (for Via and Contact).
    pub fn local_addr_for(&self, transport: Transport, remote: SocketAddr) -> Option<SocketAddr> {
        self.transport.local_addr_for(transport, remote)
    }

    /// Stops the driver and closes every socket and connection. Dropping every handle of the
    /// endpoint (its clones and unanswered server transactions) does the same.
    pub fn shutdown(&self) {
        let _ = self.cmd.send(Command::Shutdown);
    }

    /// The transport layer underneath.
    pub fn transport(&self) -> &TransportLayer {
        &self.transport
    }
}
