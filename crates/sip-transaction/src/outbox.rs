//! The queue a transaction writes its outputs into.

use crate::event::{Event, Output, TxId};
use bytes::Bytes;
use sip_message::Peer;
use std::collections::VecDeque;

/// Outputs waiting for [`crate::TransactionLayer::poll_output`].
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) items: VecDeque<Output>,
}

impl Outbox {
    pub(crate) fn transmit(&mut self, to: Peer, bytes: Bytes, tx: Option<TxId>) {
        self.items.push_back(Output::Transmit { to, bytes, tx });
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.items.push_back(Output::Event(e));
    }
}

/// The earliest of several optional deadlines.
pub(crate) fn earliest<const N: usize>(deadlines: [Option<std::time::Instant>; N]) -> Option<std::time::Instant> {
    deadlines.into_iter().flatten().min()
}

/// Is `deadline` set and reached?
pub(crate) fn due(deadline: Option<std::time::Instant>, now: std::time::Instant) -> bool {
    deadline.is_some_and(|d| d <= now)
}
