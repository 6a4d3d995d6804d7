//! The table of live connections: by flow id, and by remote address for reuse (RFC 3261
//! §18.1.1: a request reuses an open connection to the same destination).

use bytes::Bytes;
use sip_message::{FlowId, Peer, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// One queued outgoing message and the token to report its failure with.
pub(crate) type Outgoing = (Bytes, u64);

#[derive(Debug)]
pub(crate) struct FlowEntry {
    pub(crate) peer: Peer,
    pub(crate) tx: mpsc::Sender<Outgoing>,
    /// The CRLF keep-alive interval of a connection we opened, which its task follows
    /// (`None` for connections the peer opened: they are the peer's to keep alive).
    pub(crate) keepalive: Option<watch::Sender<Option<Duration>>>,
}

#[derive(Debug, Default)]
pub(crate) struct FlowTable {
    flows: HashMap<FlowId, FlowEntry>,
    by_remote: HashMap<(Transport, SocketAddr), FlowId>,
}

impl FlowTable {
    pub(crate) fn len(&self) -> usize {
        self.flows.len()
    }

    pub(crate) fn insert(
        &mut self,
        flow: FlowId,
        peer: Peer,
        tx: mpsc::Sender<Outgoing>,
        keepalive: Option<watch::Sender<Option<Duration>>>,
    ) {
        self.by_remote.insert((peer.transport, peer.addr), flow);
        self.flows.insert(flow, FlowEntry { peer: Peer { flow: Some(flow), ..peer }, tx, keepalive });
    }

    pub(crate) fn remove(&mut self, flow: FlowId) -> Option<FlowEntry> {
        let entry = self.flows.remove(&flow)?;
        let key = (entry.peer.transport, entry.peer.addr);
        if self.by_remote.get(&key) == Some(&flow) {
            self.by_remote.remove(&key);
        }
        Some(entry)
    }

    pub(crate) fn get(&self, flow: FlowId) -> Option<&FlowEntry> {
        self.flows.get(&flow)
    }

    pub(crate) fn find(&self, transport: Transport, addr: SocketAddr) -> Option<&FlowEntry> {
        self.by_remote.get(&(transport, addr)).and_then(|f| self.flows.get(f))
    }
}
