//! [`Output`]: what the dialog layer hands its driver, in the style of `sip-transaction`.

use sip_message::{Request, Response};
use sip_transaction::TxId;
use std::collections::VecDeque;

/// Something the driver must do, or an event `E` for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<E> {
    /// Start a client transaction for this request (`TransactionLayer::send_request`) after
    /// choosing its destination from its first Route or its Request-URI (RFC 3263). Its
    /// responses, and a timeout or transport error as the 408 or 503 of
    /// [`failure_response`](crate::failure_response), come back through `handle_response`.
    Request(Request),
    /// Send this response in server transaction `tx` (`TransactionLayer::respond`). This
    /// includes the 2xx to an INVITE repeated per RFC 3261 §13.3.1.4 while the transaction is
    /// in its Accepted state (RFC 6026 §7.1).
    Response {
        /// The server transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// Send this ACK for a 2xx outside any transaction (RFC 3261 §13.2.2.4):
    /// destination chosen like a request's, then `TransactionLayer::send_stateless`.
    Ack(Request),
    /// Tell the application.
    Event(E),
}

/// Outputs waiting to be polled.
#[derive(Debug)]
pub(crate) struct Outbox<E> {
    items: VecDeque<Output<E>>,
}

impl<E> Default for Outbox<E> {
    fn default() -> Self {
        Outbox { items: VecDeque::new() }
    }
}

impl<E> Outbox<E> {
    pub(crate) fn push(&mut self, output: Output<E>) {
        self.items.push_back(output);
    }

    pub(crate) fn pop(&mut self) -> Option<Output<E>> {
        self.items.pop_front()
    }
}
