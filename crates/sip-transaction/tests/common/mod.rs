//! Shared helpers: requests, responses and a harness that records outputs on a simulated
//! clock.
#![allow(dead_code, missing_docs)]

use bytes::Bytes;
use sip_message::{parse_message, Message, Method, Request, RequestBuilder, Response, StatusCode, Transport};
use sip_transaction::{Config, Event, Output, Peer, TransactionLayer, TxId};
use std::time::{Duration, Instant};

pub fn peer(t: Transport, port: u16) -> Peer {
    Peer::new(t, format!("127.0.0.1:{port}").parse().expect("addr"))
}

pub fn request(method: Method, transport: &str) -> Request {
    RequestBuilder::new(method, "sip:bob@127.0.0.1:5060")
        .from(Some("Alice"), "sip:alice@127.0.0.1")
        .to(Some("Bob"), "sip:bob@127.0.0.1")
        .via(transport, "127.0.0.1:5070")
        .contact("sip:alice@127.0.0.1:5070")
        .build()
        .expect("request")
}

pub fn response_to(req: &Request, status: StatusCode) -> Response {
    req.make_response(status, Some("uas-tag")).expect("response")
}

/// Re-parses bytes as they would arrive from the network.
pub fn reparse(bytes: &Bytes) -> Message {
    parse_message(bytes.clone()).expect("what the layer sends parses")
}

/// A transaction layer on a simulated clock that keeps everything it output, with the time.
pub struct Harness {
    pub layer: TransactionLayer,
    pub start: Instant,
    pub now: Instant,
    pub sent: Vec<(Duration, Peer, Bytes)>,
    pub events: Vec<(Duration, Event)>,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(Config::default())
    }

    pub fn with(cfg: Config) -> Harness {
        let start = Instant::now();
        Harness { layer: TransactionLayer::new(cfg), start, now: start, sent: Vec::new(), events: Vec::new() }
    }

    pub fn drain(&mut self) {
        let at = self.now - self.start;
        while let Some(o) = self.layer.poll_output() {
            match o {
                Output::Transmit { to, bytes, .. } => self.sent.push((at, to, bytes)),
                Output::Event(e) => self.events.push((at, e)),
            }
        }
    }

    /// Advances the clock to `to` (relative to the start), firing timers on the way.
    pub fn run_until(&mut self, to: Duration) {
        let end = self.start + to;
        while let Some(at) = self.layer.poll_timeout() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.layer.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Runs until no timer is left.
    pub fn run_to_end(&mut self) {
        while let Some(at) = self.layer.poll_timeout() {
            self.now = self.now.max(at);
            self.layer.handle_timeout(self.now);
            self.drain();
        }
    }

    pub fn deliver(&mut self, msg: Message, from: Peer) {
        self.layer.handle_message(self.now, msg, from);
        self.drain();
    }

    pub fn send(&mut self, req: Request, to: Peer) -> TxId {
        let id = self.layer.send_request(self.now, req, to).expect("send_request");
        self.drain();
        id
    }

    pub fn respond(&mut self, tx: TxId, resp: Response) {
        self.layer.respond(self.now, tx, resp).expect("respond");
        self.drain();
    }

    /// The times at which messages were sent, in milliseconds.
    pub fn send_times_ms(&self) -> Vec<u128> {
        self.sent.iter().map(|(t, ..)| t.as_millis()).collect()
    }

    pub fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    pub fn event_time(&self, f: impl Fn(&Event) -> bool) -> Option<Duration> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }

    /// The server transaction of the latest Request event.
    pub fn last_request_tx(&self) -> TxId {
        self.events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Request { tx, .. } => Some(*tx),
                _ => None,
            })
            .expect("a request event")
    }
}
