//! The sans-IO transaction layer alone: complete non-INVITE transactions per second on one
//! core, client and server layers talking through bytes (serialize → parse each way).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip_message::{parse_message, Method, Peer, RequestBuilder, StatusCode, Transport};
use sip_transaction::{Config, Event, Output, TransactionLayer};
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Pair {
    client: TransactionLayer,
    server: TransactionLayer,
    now: Instant,
    n: u64,
    transport: Transport,
}

impl Pair {
    fn new(transport: Transport) -> Pair {
        Pair {
            client: TransactionLayer::new(Config::default()),
            server: TransactionLayer::new(Config::default()),
            now: Instant::now(),
            n: 0,
            transport,
        }
    }

    /// One OPTIONS transaction from send to final response, through both layers.
    fn one(&mut self) {
        self.n += 1;
        let c = Peer::new(self.transport, "127.0.0.1:5070".parse().unwrap());
        let s = Peer::new(self.transport, "127.0.0.1:5060".parse().unwrap());
        let req = RequestBuilder::new(Method::Options, "sip:bob@127.0.0.1:5060")
            .from(None, "sip:alice@127.0.0.1")
            .from_tag("a1")
            .to(None, "sip:bob@127.0.0.1")
            .call_id(format!("bench-{}", self.n))
            .branch(format!("z9hG4bKbench{}", self.n))
            .via(self.transport.as_str(), "127.0.0.1:5070")
            .build()
            .unwrap();
        self.client.send_request(self.now, req, s).unwrap();
        let mut got_final = false;
        while !got_final {
            while let Some(o) = self.client.poll_output() {
                if let Output::Transmit { bytes, .. } = o {
                    self.server.handle_message(self.now, parse_message(bytes).unwrap(), c);
                } else if let Output::Event(Event::Response { response, .. }) = o {
                    got_final |= response.status().is_final();
                }
            }
            while let Some(o) = self.server.poll_output() {
                match o {
                    Output::Event(Event::Request { tx, request, .. }) => {
                        let resp = request.make_response(StatusCode::OK, Some("b1")).unwrap();
                        self.server.respond(self.now, tx, resp).unwrap();
                    }
                    Output::Transmit { bytes, .. } => self.client.handle_message(self.now, parse_message(bytes).unwrap(), s),
                    _ => {}
                }
            }
        }
        // Time moves 10 µs per transaction; expired timers (K, J) clean up as they would.
        self.now += Duration::from_micros(10);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        while self.client.poll_output().is_some() {}
        while self.server.poll_output().is_some() {}
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("transaction");
    g.throughput(Throughput::Elements(1));
    for t in [Transport::Tcp, Transport::Udp] {
        let mut pair = Pair::new(t);
        g.bench_function(format!("options_{}", t.as_str().to_ascii_lowercase()), |b| b.iter(|| black_box(&mut pair).one()));
        black_box(pair.client.len() + pair.server.len());
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
