//! Seeded simulations: two user agents, each wiring a real `sip_transaction::TransactionLayer`
//! to `Calls` (Alice also to a `Registration`, Bob also acting as her registrar) over an
//! in-memory network with loss and delay. Each run one peer may vanish at a random moment.
//! Whatever happens, every call of a surviving agent ends with exactly one `Terminated`
//! event and holds no timer, and the registration reaches a terminal state with no timer.

mod common;

use rand::{Rng, SeedableRng};
use sip_dialog::{
    failure_response, AccountConfig, Backoff, Body, CallConfig, CallEventKind, CallKey, Calls, Output, Registration,
    RegistrationEvent, TxFailure, ViaTemplate,
};
use sip_message::auth::{Authorization, Credentials, DigestServer, Secret, Verdict, VerifyRequest};
use sip_message::{
    parse_message, Message, Method, Request, RequestBuilder, StandardHeader as H, StatusCode, Transport,
};
use sip_transaction::{Config, Event, Output as TxOutput, Peer, TransactionLayer, TxId};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ALICE: usize = 0;
const BOB: usize = 1;

#[derive(Debug, Clone, Copy)]
enum Owner {
    Calls,
    Registration,
}

#[derive(Debug, Clone)]
enum Action {
    Accept(CallKey),
    Hangup(CallKey),
    Reinvite(CallKey),
    Unregister,
}

/// One user agent and its wiring.
struct Node {
    addr: SocketAddr,
    txl: TransactionLayer,
    calls: Calls,
    reg: Option<Registration>,
    client_txs: HashMap<TxId, (Owner, Request)>,
    /// Every call seen, and how many Terminated events it got.
    terminated: BTreeMap<CallKey, u32>,
    /// Why calls ended.
    reasons: Vec<String>,
    alive: bool,
}

struct World {
    now: Instant,
    start: Instant,
    rng: rand::rngs::SmallRng,
    loss: f64,
    nodes: Vec<Node>,
    /// (deliver at, sequence, to, from, bytes)
    wire: Vec<(Instant, u64, usize, SocketAddr, bytes::Bytes)>,
    seq: u64,
    actions: Vec<(Instant, usize, Action)>,
    registrar: DigestServer,
    log: Vec<String>,
}

fn addr(i: usize) -> SocketAddr {
    format!("10.0.0.{}:5060", i + 1).parse().unwrap()
}

fn node(i: usize, seed: u64) -> Node {
    let name = if i == ALICE { "alice" } else { "bob" };
    let a = addr(i);
    let cfg = CallConfig::new(format!("sip:{name}@{a}"), ViaTemplate::new("UDP", a.to_string()));
    Node {
        addr: a,
        txl: TransactionLayer::new(Config::default()),
        calls: Calls::new(cfg, common::seeded(seed ^ i as u64)),
        reg: None,
        client_txs: HashMap::new(),
        terminated: BTreeMap::new(),
        reasons: Vec::new(),
        alive: true,
    }
}

impl World {
    fn other(i: usize) -> usize {
        1 - i
    }

    fn transmit(&mut self, from: usize, to: SocketAddr, bytes: bytes::Bytes) {
        let Some(dest) = self.nodes.iter().position(|n| n.addr == to) else { return };
        if !self.nodes[from].alive || !self.nodes[dest].alive || self.rng.gen_bool(self.loss) {
            return;
        }
        let delay = Duration::from_millis(self.rng.gen_range(5..150));
        self.seq += 1;
        let from_addr = self.nodes[from].addr;
        self.wire.push((self.now + delay, self.seq, dest, from_addr, bytes));
    }

    /// Carries every output of node `i` until nothing moves.
    fn pump(&mut self, i: usize) {
        let now = self.now;
        let peer = Peer::new(Transport::Udp, addr(Self::other(i)));
        loop {
            let mut moved = false;
            while let Some(o) = self.nodes[i].calls.poll_output() {
                moved = true;
                match o {
                    Output::Request(r) => self.start_tx(i, Owner::Calls, r, peer),
                    Output::Response { tx, response } => {
                        let _ = self.nodes[i].txl.respond(now, tx, response);
                    }
                    Output::Ack(r) => self.nodes[i].txl.send_stateless(peer, &Message::Request(r)),
                    Output::Event(e) => self.on_call_event(i, e.call, e.kind),
                }
            }
            while let Some(o) = self.nodes[i].reg.as_mut().and_then(Registration::poll_output) {
                moved = true;
                match o {
                    Output::Request(r) => self.start_tx(i, Owner::Registration, r, peer),
                    Output::Event(RegistrationEvent::StateChanged { to, .. }) => {
                        self.log.push(format!("{:?} reg {to:?}", self.now - self.start));
                    }
                    other => panic!("{other:?}"),
                }
            }
            while let Some(o) = self.nodes[i].txl.poll_output() {
                moved = true;
                match o {
                    TxOutput::Transmit { to, bytes, .. } => self.transmit(i, to.addr, bytes),
                    TxOutput::Event(e) => self.on_tx_event(i, e),
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn start_tx(&mut self, i: usize, owner: Owner, r: Request, peer: Peer) {
        let now = self.now;
        match self.nodes[i].txl.send_request(now, r.clone(), peer) {
            Ok(tx) => {
                self.nodes[i].client_txs.insert(tx, (owner, r));
            }
            Err(e) => panic!("send_request: {e}"),
        }
    }

    fn on_tx_event(&mut self, i: usize, e: Event) {
        let now = self.now;
        let n = &mut self.nodes[i];
        match e {
            Event::Request { tx, request, cancels, .. } => {
                if let Some(other) = n.calls.handle_request(now, tx, request, cancels) {
                    self.serve(i, tx, other);
                }
            }
            Event::Ack { request, .. } => n.calls.handle_ack(now, request),
            Event::Response { tx, response } => match n.client_txs.get(&tx).map(|(o, _)| *o) {
                Some(Owner::Calls) => {
                    n.calls.handle_response(now, response);
                }
                Some(Owner::Registration) => {
                    if let Some(reg) = n.reg.as_mut() {
                        reg.handle_response(now, response.clone());
                    }
                }
                None => {}
            },
            Event::StrayResponse { response, .. } => {
                n.calls.handle_response(now, response);
            }
            Event::Timeout { tx } | Event::TransportError { tx } => {
                let failure =
                    if matches!(e, Event::Timeout { .. }) { TxFailure::Timeout } else { TxFailure::Transport };
                if let Some((owner, req)) = n.client_txs.get(&tx).cloned() {
                    let Some(resp) = failure_response(&req, failure) else { return };
                    match owner {
                        Owner::Calls => {
                            n.calls.handle_response(now, resp);
                        }
                        Owner::Registration => {
                            if let Some(reg) = n.reg.as_mut() {
                                reg.handle_response(now, resp.clone());
                            }
                        }
                    }
                }
            }
            Event::Terminated { tx } => {
                n.client_txs.remove(&tx);
            }
        }
    }

    /// Bob's registrar: challenges, then accepts the right password for 20 s.
    fn serve(&mut self, i: usize, tx: TxId, request: Request) {
        let now = self.now;
        let resp = if *request.method() != Method::Register {
            request.make_response(StatusCode::NOT_IMPLEMENTED, None).unwrap()
        } else {
            let verdict = request.headers().get(H::Authorization).and_then(|v| Authorization::parse(v).ok()).map(|a| {
                self.registrar.verify(
                    &a,
                    &VerifyRequest {
                        method: "REGISTER",
                        request_uri: Some(request.uri_str()),
                        body: b"",
                        username: "alice",
                        secret: Secret::Password("secret"),
                        nonce_stale: false,
                        last_nc: None,
                    },
                )
            });
            match verdict {
                Some(Ok(Verdict::Authorized)) => {
                    let mut ok = request.make_response(StatusCode::OK, Some("reg")).unwrap();
                    let expires = request.headers().expires().ok().flatten().unwrap_or(20).min(20);
                    if expires > 0 {
                        ok.push_header(H::Contact, format!("<sip:alice@{}>;expires={expires}", addr(ALICE)));
                    }
                    ok
                }
                _ => {
                    let mut r = request.make_response(StatusCode::UNAUTHORIZED, Some("reg")).unwrap();
                    for c in self.registrar.challenges_with_nonce("n", false) {
                        r.push_header(H::WwwAuthenticate, c.to_string());
                    }
                    r
                }
            }
        };
        let _ = self.nodes[i].txl.respond(now, tx, resp);
    }

    fn later(&mut self, i: usize, lo_ms: u64, hi_ms: u64, a: Action) {
        let at = self.now + Duration::from_millis(self.rng.gen_range(lo_ms..hi_ms));
        self.actions.push((at, i, a));
    }

    fn on_call_event(&mut self, i: usize, call: CallKey, kind: CallEventKind) {
        let now = self.now;
        self.log.push(
            format!("{:?} {} {call} {kind:?}", now - self.start, ["alice", "bob"][i]).chars().take(160).collect(),
        );
        self.nodes[i].terminated.entry(call).or_insert(0);
        match kind {
            CallEventKind::Incoming { .. } => {
                let _ = self.nodes[i].calls.progress(now, call, StatusCode::RINGING, None);
                self.later(i, 100, 3000, Action::Accept(call));
            }
            CallEventKind::Answered { .. } => {
                if self.rng.gen_bool(0.5) {
                    self.later(i, 0, 5000, Action::Reinvite(call));
                }
                self.later(i, 1000, 20_000, Action::Hangup(call));
            }
            CallEventKind::Confirmed { .. } => self.later(i, 1000, 30_000, Action::Hangup(call)),
            CallEventKind::Reinvite { tx, .. } | CallEventKind::Request { tx, .. } => {
                let _ = self.nodes[i].calls.respond(now, call, tx, StatusCode::OK, Some(Body::sdp(&b"v=0\r\n"[..])));
            }
            CallEventKind::Terminated { reason } => {
                *self.nodes[i].terminated.entry(call).or_insert(0) += 1;
                let name = format!("{reason:?}");
                self.nodes[i].reasons.push(name.split([' ', '{']).next().unwrap_or("").to_owned());
            }
            _ => {}
        }
    }

    fn act(&mut self, i: usize, a: Action) {
        let now = self.now;
        let n = &mut self.nodes[i];
        let _ = match a {
            Action::Accept(c) => n.calls.accept(now, c, Some(Body::sdp(&b"v=0\r\n"[..]))),
            Action::Hangup(c) => n.calls.hangup(now, c),
            Action::Reinvite(c) => n.calls.reinvite(now, c, Some(Body::sdp(&b"v=0\r\na=sendonly\r\n"[..]))),
            Action::Unregister => n.reg.as_mut().map_or(Ok(()), |r| r.unregister(now)),
        };
    }

    /// The next instant anything happens for a live node.
    fn next_time(&self) -> Option<Instant> {
        let mut t: Vec<Instant> = self.wire.iter().map(|w| w.0).collect();
        t.extend(self.actions.iter().filter(|a| self.nodes[a.1].alive).map(|a| a.0));
        for n in self.nodes.iter().filter(|n| n.alive) {
            t.extend(n.txl.poll_timeout());
            t.extend(n.calls.poll_timeout());
            t.extend(n.reg.as_ref().and_then(Registration::poll_timeout));
        }
        t.into_iter().min()
    }

    fn step(&mut self, at: Instant) {
        self.now = self.now.max(at);
        let now = self.now;
        let mut due: Vec<_> = Vec::new();
        self.wire.retain(|w| {
            if w.0 <= now {
                due.push(w.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|w| (w.0, w.1));
        for (_, _, to, from, bytes) in due {
            if !self.nodes[to].alive {
                continue;
            }
            let msg = parse_message(bytes).expect("what we send parses");
            self.nodes[to].txl.handle_message(now, msg, Peer::new(Transport::Udp, from));
            self.pump(to);
        }
        let mut acts = Vec::new();
        self.actions.retain(|a| {
            if a.0 <= now {
                acts.push(a.clone());
                false
            } else {
                true
            }
        });
        for (_, i, a) in acts {
            if self.nodes[i].alive {
                self.act(i, a);
                self.pump(i);
            }
        }
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            let n = &mut self.nodes[i];
            n.txl.handle_timeout(now);
            n.calls.handle_timeout(now);
            if let Some(r) = n.reg.as_mut() {
                r.handle_timeout(now);
            }
            self.pump(i);
        }
    }
}

/// Runs one seed; returns why the surviving agents' calls ended and their registration's
/// last state, for the coverage check.
fn run(seed: u64) -> Vec<String> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let start = Instant::now();
    let loss = [0.0, 0.1, 0.25][(seed % 3) as usize];
    // Early vanishing (before Bob answers) for some runs, any time in the first 40 s for others.
    let window = if seed % 7 < 2 { 300 } else { 40_000 };
    let vanish: Option<(usize, Duration)> = match seed % 4 {
        0 => None,
        1 => Some((ALICE, Duration::from_millis(rng.gen_range(0..window)))),
        _ => Some((BOB, Duration::from_millis(rng.gen_range(0..window)))),
    };
    // Alice's application unregisters after a minute in most runs; in the others the
    // registration must give up on its own (max_failures) first.
    let unregister_at = Duration::from_secs(if seed.is_multiple_of(5) { 600 } else { 60 });
    let mut w = World {
        now: start,
        start,
        rng,
        loss,
        nodes: vec![node(ALICE, seed), node(BOB, seed)],
        wire: Vec::new(),
        seq: 0,
        actions: Vec::new(),
        registrar: DigestServer::new("sim"),
        log: Vec::new(),
    };
    let mut account = AccountConfig::new(
        format!("sip:{}", addr(BOB)),
        "sip:alice@sim",
        format!("sip:alice@{}", addr(ALICE)),
        ViaTemplate::new("UDP", addr(ALICE).to_string()),
    );
    account.credentials = Some(Credentials::new("alice", "secret"));
    account.expires = 20;
    account.backoff = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(8) };
    account.max_failures = Some(3);
    let mut reg = Registration::new(account, common::seeded(seed)).unwrap();
    reg.register(start).unwrap();
    w.nodes[ALICE].reg = Some(reg);
    let invite = RequestBuilder::new(Method::Invite, format!("sip:bob@{}", addr(BOB)))
        .from(Some("Alice"), "sip:alice@sim")
        .to(None, format!("sip:bob@{}", addr(BOB)))
        .via("UDP", addr(ALICE).to_string())
        .contact(format!("sip:alice@{}", addr(ALICE)))
        .body("application/sdp", &b"v=0\r\n"[..])
        .build()
        .unwrap();
    let call = w.nodes[ALICE].calls.invite(start, invite, None).unwrap();
    w.nodes[ALICE].terminated.insert(call, 0);
    w.actions.push((start + unregister_at, ALICE, Action::Unregister));
    w.pump(ALICE);

    let limit = start + Duration::from_secs(15 * 60);
    while let Some(at) = w.next_time() {
        if let Some((who, when)) = vanish {
            if w.nodes[who].alive && at >= start + when {
                w.now = w.now.max(start + when);
                w.nodes[who].alive = false;
                w.log.push(format!("{when:?} node {who} vanishes"));
                continue;
            }
        }
        assert!(at <= limit, "seed {seed}: still busy after 15 minutes\n{}", w.log.join("\n"));
        w.step(at);
    }

    for (i, n) in w.nodes.iter().enumerate().filter(|(_, n)| n.alive) {
        let ctx = || format!("seed {seed}, node {i}, loss {loss}, vanish {vanish:?}\n{}", w.log.join("\n"));
        assert!(n.calls.is_empty(), "calls left: {}", ctx());
        assert_eq!(n.calls.poll_timeout(), None, "{}", ctx());
        for (call, count) in &n.terminated {
            assert_eq!(*count, 1, "{call} ended {count} times: {}", ctx());
        }
        if let Some(reg) = &n.reg {
            assert!(reg.state().is_terminal(), "registration {:?}: {}", reg.state(), ctx());
            assert_eq!(reg.poll_timeout(), None, "{}", ctx());
        }
    }
    let mut seen: Vec<String> = w.nodes.iter().filter(|n| n.alive).flat_map(|n| n.reasons.clone()).collect();
    if let Some(reg) = w.nodes[ALICE].reg.as_ref().filter(|_| w.nodes[ALICE].alive) {
        seen.push(format!("registration {:?}", reg.state()).split([' ', '{']).take(2).collect::<Vec<_>>().join(" "));
    }
    seen
}

#[test]
fn every_call_and_registration_ends_when_a_peer_disappears() {
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    for seed in 0..300 {
        for o in run(seed) {
            *outcomes.entry(o).or_default() += 1;
        }
    }
    // The runs must cover the ways a call and a registration end, not only the easy one.
    for expected in [
        "LocalBye",
        "RemoteBye",
        "NoAck",
        "NoAnswer",
        "Failed",
        "DialogFailed",
        "registration Unregistered",
        "registration Failed",
    ] {
        assert!(outcomes.contains_key(expected), "no run ended with {expected}: {outcomes:?}");
    }
}
