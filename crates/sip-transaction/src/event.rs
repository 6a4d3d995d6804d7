//! What the transaction layer hands out: [`Output`]s for the transport and [`Event`]s for the
//! transaction user.

use bytes::Bytes;
use sip_message::Peer;
use sip_message::{Request, Response};
use std::fmt;

/// Identifies one transaction for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes to `to`.
    Transmit {
        /// The destination.
        to: Peer,
        /// The serialised message.
        bytes: Bytes,
        /// The transaction that sent it, if any (for transport errors to be reported back).
        tx: Option<TxId>,
    },
    /// Tell the transaction user.
    Event(Event),
}

/// What the transaction user (a dialog layer, a registrar client, an application) learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request created a server transaction; answer it with
    /// [`crate::TransactionLayer::respond`].
    Request {
        /// The new server transaction.
        tx: TxId,
        /// The request (its top Via stamped with `received`/`rport`, RFC 3261 §18.2.1).
        request: Request,
        /// Where it came from.
        source: Peer,
        /// For a CANCEL: the INVITE server transaction it cancels, if one matches (§9.2).
        /// `None` for a CANCEL means the UAS answers it with 481.
        cancels: Option<TxId>,
    },
    /// An ACK that is not absorbed by a server transaction: the ACK for a 2xx, which belongs
    /// to the dialog (RFC 3261 §13.3.1.4, RFC 6026 §7.1).
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
        /// The INVITE server transaction in the Accepted state it matched, if any.
        tx: Option<TxId>,
    },
    /// A response for a client transaction.
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// A 2xx to an INVITE that matches no client transaction: a retransmission after the
    /// transaction ended, or another fork's answer. The dialog layer ACKs it (RFC 6026 §8.4).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
    /// A timer fired before the transaction could complete: Timer B or F (no final response),
    /// or H (no ACK for a final response). A client transaction's TU treats this as a 408.
    Timeout {
        /// The transaction.
        tx: TxId,
    },
    /// The transport failed to deliver for this transaction (RFC 3261 §17.1.4, §17.2.4).
    TransportError {
        /// The transaction.
        tx: TxId,
    },
    /// The transaction has ended and released everything it held.
    Terminated {
        /// The transaction.
        tx: TxId,
    },
}
