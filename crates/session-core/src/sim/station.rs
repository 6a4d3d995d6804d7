//! What the simulation's servers (the registrar, the forking proxy) share: a transaction
//! layer, the datagrams it wants sent, and the events it has for its server.

use bytes::Bytes;
use sip_message::{Message, Peer};
use sip_transaction::{Config, Event, Output, TransactionLayer};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// A transaction layer at an address, on the simulated network.
pub(crate) struct Station {
    pub(crate) addr: SocketAddr,
    pub(crate) txs: TransactionLayer,
    transmits: VecDeque<(SocketAddr, Bytes)>,
}

/// A server built on a [`Station`]: the world hands it datagrams and time, it reacts to its
/// transaction layer's events.
pub(crate) trait Server {
    fn station(&mut self) -> &mut Station;
    fn on_event(&mut self, now: Instant, event: Event);

    fn handle_message(&mut self, now: Instant, message: Message, source: Peer) {
        self.station().txs.handle_message(now, message, source);
        self.react(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.station().txs.handle_timeout(now);
        self.react(now);
    }

    /// Hands every event to the server until its answers cause no more.
    fn react(&mut self, now: Instant) {
        loop {
            let events = self.station().drain();
            if events.is_empty() {
                return;
            }
            for e in events {
                self.on_event(now, e);
            }
        }
    }
}

impl Station {
    pub(crate) fn new(addr: SocketAddr) -> Station {
        Station { addr, txs: TransactionLayer::new(Config::default()), transmits: VecDeque::new() }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.txs.poll_timeout()
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        self.transmits.pop_front()
    }

    /// Queues what is to be sent; returns the events.
    fn drain(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(out) = self.txs.poll_output() {
            match out {
                Output::Transmit { to, bytes, .. } => self.transmits.push_back((to.addr, bytes)),
                Output::Event(e) => events.push(e),
            }
        }
        events
    }
}
