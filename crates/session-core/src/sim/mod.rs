//! Whole-call simulation: several complete user agents — the real [`SessionCore`], with its
//! transaction layer and dialogs — and a registrar, over an in-memory network that loses,
//! delays, reorders and duplicates datagrams, on a simulated clock. Nothing here opens a
//! socket or reads the clock: a run is a function of its seed, takes milliseconds, and
//! replays exactly.
//!
//! The harness plays the driver's part for each agent (carrying out its outputs) and the
//! application's (its call handler answers, rejects or ignores calls; scripted actions make
//! calls, hang up, hold and resume). `scenarios.rs` holds the flows and the property run.

mod proxy;
mod registrar;
mod scenarios;
mod station;

use crate::api::{CallDecision, EndInfo, SessionEvent, SessionId, SessionState};
use crate::builder::SessionConfig;
use crate::core::{Answer, Command, Input, MediaAction, Output, SessionCore};
use crate::driver::handler::HandlerEvent;
use crate::error::{SessionError, UnreachableCause};
use bytes::Bytes;
use proxy::Proxy;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use registrar::Registrar;
use sip_message::{Peer, Transport};
use sip_resolve::Target;
use station::Server;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What the network does to each datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conditions {
    /// The probability a datagram is lost.
    pub(crate) loss: f64,
    /// The probability a datagram arrives twice.
    pub(crate) duplicate: f64,
    /// Each copy takes between these two delays (so datagrams overtake each other).
    pub(crate) delay: (Duration, Duration),
}

impl Conditions {
    pub(crate) fn perfect() -> Conditions {
        Conditions { loss: 0.0, duplicate: 0.0, delay: (ms(1), ms(1)) }
    }

    pub(crate) fn rough() -> Conditions {
        Conditions { loss: 0.2, duplicate: 0.1, delay: (ms(1), ms(80)) }
    }
}

/// How an agent's call handler decides about incoming calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Policy {
    /// Accept (binding media) after this long.
    AnswerAfter(Duration),
    /// Reject at once with this status.
    Reject(u16),
    /// Never decide (the ring timeout turns the call away).
    Ignore,
}

/// What a script makes an agent do; actions on "the call" act on the agent's one live
/// session.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Call {
        to: String,
    },
    Hangup,
    Hold,
    Resume,
    Register {
        registrar: String,
        user: String,
        password: String,
        expires: u32,
    },
    Unregister,
    Decide {
        id: SessionId,
        decision: CallDecision,
    },
    /// Transfers the peer of the agent's first live call to `to`.
    Transfer {
        to: String,
    },
}

/// One user agent: the real core, and what the harness saw of it.
pub(crate) struct Agent {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    pub(crate) core: SessionCore<u64>,
    pub(crate) policy: Policy,
    next_reply: u64,
    /// Replies to Prepare commands: the call is sent when its offer is ready.
    preparing: HashSet<u64>,
    pub(crate) replies: BTreeMap<u64, Result<Answer, SessionError>>,
    /// Streams bound and not closed.
    pub(crate) media_open: HashSet<SessionId>,
    pub(crate) media_started: HashSet<SessionId>,
    pub(crate) events: Vec<(Duration, SessionEvent)>,
    /// Sessions the agent heard of (made or received), and how each ended.
    pub(crate) sessions: BTreeMap<SessionId, Option<EndInfo>>,
    pub(crate) established: HashSet<SessionId>,
    next_port: u16,
}

enum Node {
    Agent(Box<Agent>),
    Registrar(Box<Registrar>),
    Proxy(Box<Proxy>),
}

struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Bytes,
}

/// Agents, a registrar and the network between them, on one simulated clock.
pub(crate) struct World {
    pub(crate) start: Instant,
    pub(crate) now: Instant,
    rng: SmallRng,
    conditions: Conditions,
    nodes: Vec<Node>,
    by_addr: HashMap<SocketAddr, usize>,
    /// Datagrams in flight, by arrival time (then order sent).
    wire: BinaryHeap<Reverse<(Instant, u64)>>,
    in_flight: HashMap<u64, Datagram>,
    /// Scripted actions by time (then order scheduled).
    script: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, (usize, Action)>,
    seq: u64,
    /// The simulated DNS: a host name and its targets in RFC 3263 order.
    pub(crate) dns: HashMap<String, Vec<Target>>,
    /// Every datagram delivered or lost: (sent, delivered) counts.
    pub(crate) sent: u64,
    pub(crate) delivered: u64,
    /// When a datagram last went to each address (since the start).
    pub(crate) last_sent_to: HashMap<SocketAddr, Duration>,
}

impl World {
    pub(crate) fn new(seed: u64, conditions: Conditions) -> World {
        let start = Instant::now();
        World {
            start,
            now: start,
            rng: SmallRng::seed_from_u64(seed),
            conditions,
            nodes: Vec::new(),
            by_addr: HashMap::new(),
            wire: BinaryHeap::new(),
            in_flight: HashMap::new(),
            script: BinaryHeap::new(),
            actions: HashMap::new(),
            seq: 0,
            dns: HashMap::new(),
            sent: 0,
            last_sent_to: HashMap::new(),
            delivered: 0,
        }
    }

    /// The configuration of a simulated agent at `addr` (tweak it before `agent_with`).
    pub(crate) fn config(addr: SocketAddr) -> SessionConfig {
        let mut cfg = SessionConfig {
            local_address: addr,
            transports: vec![Transport::Udp],
            sip_client: true,
            ..Default::default()
        };
        cfg.media.ip = addr.ip();
        cfg
    }

    /// A new agent at 127.0.0.N:5060, N counting from 1.
    pub(crate) fn agent(&mut self, name: &'static str, policy: Policy) -> usize {
        let addr = self.next_addr();
        self.agent_with(name, policy, World::config(addr))
    }

    fn next_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, self.nodes.len() as u8 + 1], 5060))
    }

    pub(crate) fn agent_with(&mut self, name: &'static str, policy: Policy, cfg: SessionConfig) -> usize {
        let addr = cfg.local_address;
        let rng = Box::new(SmallRng::seed_from_u64(self.rng.gen()));
        let core = SessionCore::new(cfg, addr, format!("urn:uuid:sim-{name}"), rng, self.now);
        let agent = Agent {
            name,
            addr,
            core,
            policy,
            next_reply: 0,
            preparing: HashSet::new(),
            replies: BTreeMap::new(),
            media_open: HashSet::new(),
            media_started: HashSet::new(),
            events: Vec::new(),
            sessions: BTreeMap::new(),
            established: HashSet::new(),
            next_port: 20000,
        };
        self.nodes.push(Node::Agent(Box::new(agent)));
        self.by_addr.insert(addr, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// A registrar for `realm` with one user, asking at least `min_expires` seconds.
    pub(crate) fn registrar(&mut self, realm: &str, user: &str, password: &str, min_expires: u32) -> usize {
        let addr = self.next_addr();
        let r = Registrar::new(addr, realm, user, password, min_expires);
        self.nodes.push(Node::Registrar(Box::new(r)));
        self.by_addr.insert(addr, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// A forking proxy that sends each INVITE to all of `targets` at once.
    pub(crate) fn proxy(&mut self, targets: &[usize]) -> usize {
        let addr = self.next_addr();
        let targets = targets.iter().map(|t| self.addr(*t)).collect();
        self.nodes.push(Node::Proxy(Box::new(Proxy::new(addr, targets))));
        self.by_addr.insert(addr, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    pub(crate) fn proxy_of(&self, node: usize) -> &Proxy {
        match &self.nodes[node] {
            Node::Proxy(p) => p,
            _ => panic!("node {node} is not the proxy"),
        }
    }

    pub(crate) fn addr(&self, node: usize) -> SocketAddr {
        match &self.nodes[node] {
            Node::Agent(a) => a.addr,
            Node::Registrar(r) => r.station.addr,
            Node::Proxy(p) => p.station.addr,
        }
    }

    pub(crate) fn uri(&self, node: usize, user: &str) -> String {
        format!("sip:{user}@{}", self.addr(node))
    }

    pub(crate) fn a(&self, node: usize) -> &Agent {
        match &self.nodes[node] {
            Node::Agent(a) => a,
            _ => panic!("node {node} is not an agent"),
        }
    }

    pub(crate) fn registrar_of(&self, node: usize) -> &Registrar {
        match &self.nodes[node] {
            Node::Registrar(r) => r,
            _ => panic!("node {node} is not the registrar"),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Makes `node` do `action` at `at` after the start.
    pub(crate) fn at(&mut self, at: Duration, node: usize, action: Action) {
        self.schedule(self.start + at, node, action);
    }

    fn schedule(&mut self, at: Instant, node: usize, action: Action) {
        self.seq += 1;
        self.script.push(Reverse((at, self.seq)));
        self.actions.insert(self.seq, (node, action));
    }

    /// The earliest thing due: a datagram, a scripted action, or a node's timer.
    fn next_due(&self) -> Option<Instant> {
        let wire = self.wire.peek().map(|Reverse((at, _))| *at);
        let script = self.script.peek().map(|Reverse((at, _))| *at);
        let timers = self.nodes.iter().filter_map(|n| match n {
            Node::Agent(a) => a.core.poll_timeout(),
            Node::Registrar(r) => r.station.poll_timeout(),
            Node::Proxy(p) => p.station.poll_timeout(),
        });
        [wire, script].into_iter().flatten().chain(timers).min()
    }

    /// Runs until nothing is due before `end` after the start; returns how many steps it took.
    pub(crate) fn run_for(&mut self, end: Duration) -> usize {
        let end = self.start + end;
        let mut steps = 0;
        while let Some(at) = self.next_due() {
            if at > end {
                break;
            }
            steps += 1;
            assert!(steps < 1_000_000, "the simulation does not settle");
            self.now = self.now.max(at);
            self.step();
        }
        self.now = self.now.max(end);
        steps
    }

    /// Everything due at `now`.
    fn step(&mut self) {
        let now = self.now;
        while let Some(Reverse((at, seq))) = self.wire.peek().copied() {
            if at > now {
                break;
            }
            self.wire.pop();
            if let Some(d) = self.in_flight.remove(&seq) {
                self.deliver(d);
            }
        }
        while let Some(Reverse((at, seq))) = self.script.peek().copied() {
            if at > now {
                break;
            }
            self.script.pop();
            if let Some((node, action)) = self.actions.remove(&seq) {
                self.act(node, action);
            }
        }
        for i in 0..self.nodes.len() {
            let due = match &self.nodes[i] {
                Node::Agent(a) => a.core.poll_timeout(),
                Node::Registrar(r) => r.station.poll_timeout(),
                Node::Proxy(p) => p.station.poll_timeout(),
            };
            if due.is_some_and(|d| d <= now) {
                match &mut self.nodes[i] {
                    Node::Agent(a) => a.core.handle_timeout(now),
                    Node::Registrar(r) => r.handle_timeout(now),
                    Node::Proxy(p) => p.handle_timeout(now),
                }
                self.pump(i);
            }
        }
    }

    fn deliver(&mut self, d: Datagram) {
        let Some(&i) = self.by_addr.get(&d.to) else { return };
        self.delivered += 1;
        let message = match sip_message::parse_message(d.bytes) {
            Ok(m) => m,
            Err(_) => return,
        };
        let source = Peer::new(Transport::Udp, d.from);
        match &mut self.nodes[i] {
            Node::Agent(a) => a.core.handle_input(self.now, Input::Message { message, source }),
            Node::Registrar(r) => r.handle_message(self.now, message, source),
            Node::Proxy(p) => p.handle_message(self.now, message, source),
        }
        self.pump(i);
    }

    /// Sends a datagram through the network's losses, copies and delays.
    fn transmit(&mut self, from: SocketAddr, to: SocketAddr, bytes: Bytes) {
        self.sent += 1;
        self.last_sent_to.insert(to, self.now - self.start);
        if self.rng.gen_bool(self.conditions.loss) {
            return;
        }
        let copies = if self.rng.gen_bool(self.conditions.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let (lo, hi) = self.conditions.delay;
            let delay = if hi > lo { self.rng.gen_range(lo..=hi) } else { lo };
            self.seq += 1;
            self.wire.push(Reverse((self.now + delay, self.seq)));
            self.in_flight.insert(self.seq, Datagram { from, to, bytes: bytes.clone() });
        }
    }

    /// Moves agent `node` to another network: it is reached at `ip` (same port) from now
    /// on, and no longer at its old address; its core is told. Returns the reply's number.
    pub(crate) fn move_agent(&mut self, node: usize, ip: std::net::IpAddr) -> u64 {
        let Node::Agent(a) = &mut self.nodes[node] else { return 0 };
        let old = a.addr;
        a.addr = SocketAddr::new(ip, old.port());
        let new = a.addr;
        self.by_addr.remove(&old);
        self.by_addr.insert(new, node);
        self.command(node, Command::ChangeAddress { ip })
    }

    /// Hands a command to an agent's core; returns the reply's number.
    pub(crate) fn command(&mut self, node: usize, command: Command) -> u64 {
        let now = self.now;
        let Node::Agent(a) = &mut self.nodes[node] else { return 0 };
        a.next_reply += 1;
        let reply = a.next_reply;
        if matches!(command, Command::Prepare { .. }) {
            a.preparing.insert(reply);
        }
        a.core.handle_input(now, Input::Command { command, reply });
        self.pump(node);
        reply
    }

    fn act(&mut self, node: usize, action: Action) {
        let live = match &self.nodes[node] {
            Node::Agent(a) => a.core.sessions.keys().copied().min(),
            _ => None,
        };
        let command = match action {
            Action::Call { to } => {
                let from = self.uri(node, self.a(node).name);
                Command::Prepare { from, to, sdp: None, headers: Vec::new() }
            }
            Action::Hangup => match live {
                Some(id) => Command::Terminate { id },
                None => return,
            },
            Action::Hold | Action::Resume => match live {
                Some(id) => Command::Hold { id, hold: matches!(action, Action::Hold) },
                None => return,
            },
            Action::Register { registrar, user, password, expires } => {
                let mut account = crate::api::Account::new(user, Some(password), registrar);
                account.expires = expires;
                Command::Register { account }
            }
            Action::Unregister => {
                let id = match &self.nodes[node] {
                    Node::Agent(a) => a.core.accounts.keys().copied().next(),
                    _ => None,
                };
                match id {
                    Some(id) => Command::Unregister { id },
                    None => return,
                }
            }
            Action::Decide { id, decision } => Command::Decide { id, decision },
            Action::Transfer { to } => match live {
                Some(id) => Command::Transfer { id, target: to, progress: true },
                None => return,
            },
        };
        self.command(node, command);
    }

    /// Carries out everything node `i` has to say, as a driver and an application would.
    fn pump(&mut self, i: usize) {
        loop {
            let mut transmits = Vec::new();
            let mut follow = Vec::new();
            let mut later = Vec::new();
            let now = self.now;
            let elapsed = self.elapsed();
            match &mut self.nodes[i] {
                Node::Registrar(r) => {
                    while let Some((to, bytes)) = r.station.poll_transmit() {
                        transmits.push((r.station.addr, to, bytes));
                    }
                }
                Node::Proxy(p) => {
                    while let Some((to, bytes)) = p.station.poll_transmit() {
                        transmits.push((p.station.addr, to, bytes));
                    }
                }
                Node::Agent(a) => {
                    while let Some(out) = a.core.poll_output() {
                        match out {
                            Output::Transmit { to, bytes, .. } => transmits.push((a.addr, to.addr, bytes)),
                            Output::Resolve { query, uri } => {
                                follow.push(Input::Resolved { query, result: resolve_sim(&self.dns, &uri) })
                            }
                            Output::BindMedia { id } => {
                                a.next_port += 2;
                                a.media_open.insert(id);
                                // Bound where the configuration says: its address, or a wildcard.
                                let ip = a.core.cfg.media.ip;
                                let result = Ok(SocketAddr::new(ip, a.next_port));
                                follow.push(Input::MediaBound { id, result });
                            }
                            Output::Media { id, action } => match action {
                                MediaAction::Start(_) => {
                                    assert!(a.media_open.contains(&id), "{}: started a stream never bound", a.name);
                                    a.media_started.insert(id);
                                }
                                MediaAction::Mute(_) => {}
                                MediaAction::Dtmf(_) => {
                                    assert!(a.media_started.contains(&id), "{}: DTMF on a stream not started", a.name);
                                }
                                MediaAction::Close => {
                                    assert!(a.media_open.remove(&id), "{}: closed a stream twice", a.name);
                                }
                            },
                            Output::Reply { to, result } => {
                                if a.preparing.remove(&to) {
                                    if let Ok(Answer::Prepared(p)) = &result {
                                        a.next_reply += 1;
                                        let reply = a.next_reply;
                                        follow.push(Input::Command { command: Command::Initiate { id: p.id }, reply });
                                    }
                                }
                                if let Ok(Answer::Session(s)) = &result {
                                    a.sessions.entry(s.id).or_insert(None);
                                }
                                a.replies.insert(to, result);
                            }
                            Output::Event(e) => {
                                if let SessionEvent::IncomingCall { id, .. }
                                | SessionEvent::Transferring { new_call: id, .. } = &e
                                {
                                    a.sessions.entry(*id).or_insert(None);
                                }
                                if let SessionEvent::StateChanged { id, new: SessionState::Active, .. } = &e {
                                    a.established.insert(*id);
                                }
                                if let SessionEvent::Ended { id, info } = &e {
                                    let slot = a.sessions.entry(*id).or_insert(None);
                                    assert!(slot.is_none(), "{}: session {id} ended twice", a.name);
                                    *slot = Some(info.clone());
                                }
                                a.events.push((elapsed, e));
                            }
                            Output::Handler(HandlerEvent::Incoming(call)) => match a.policy {
                                Policy::AnswerAfter(d) => later.push((
                                    now + d,
                                    Action::Decide { id: call.id, decision: CallDecision::Accept(None) },
                                )),
                                Policy::Reject(status) => follow.push(Input::Command {
                                    command: Command::Decide {
                                        id: call.id,
                                        decision: CallDecision::Reject(status, String::new()),
                                    },
                                    reply: 0,
                                }),
                                Policy::Ignore => {}
                            },
                            Output::Handler(HandlerEvent::Refer(request)) => follow.push(Input::Command {
                                command: Command::DecideTransfer { id: request.id, accept: true },
                                reply: 0,
                            }),
                            Output::Handler(_) | Output::KeepAlive { .. } | Output::Stopped => {}
                        }
                    }
                }
            }
            for (at, action) in later {
                self.schedule(at, i, action);
            }
            for (from, to, bytes) in transmits {
                self.transmit(from, to, bytes);
            }
            if follow.is_empty() {
                break;
            }
            if let Node::Agent(a) = &mut self.nodes[i] {
                for input in follow {
                    a.core.handle_input(now, input);
                }
            }
        }
    }

    /// Every agent: each session it heard of has ended, nothing is left in its core, and
    /// every stream bound was closed.
    pub(crate) fn assert_settled(&self) {
        for n in &self.nodes {
            let Node::Agent(a) = n else { continue };
            for (id, end) in &a.sessions {
                assert!(end.is_some(), "{}: session {id} never ended", a.name);
            }
            let counts = a.core.counts();
            assert_eq!(counts, Default::default(), "{}: resources left", a.name);
            assert!(a.media_open.is_empty(), "{}: streams left open: {:?}", a.name, a.media_open);
            assert!(a.core.sent.is_empty() && a.core.resolving.is_empty(), "{}: requests left", a.name);
        }
    }

    /// How agent `node`'s sessions ended, in the order they were made.
    pub(crate) fn ends(&self, node: usize) -> Vec<EndInfo> {
        self.a(node).sessions.values().flatten().cloned().collect()
    }
}

/// The simulated DNS: the targets of the URI's host, if the world knows it.
fn resolve_sim(dns: &HashMap<String, Vec<Target>>, uri: &str) -> Result<Vec<Target>, UnreachableCause> {
    let host = match sip_message::Uri::parse(uri) {
        Ok(sip_message::Uri::Sip(s)) => s.host_str().to_owned(),
        _ => return Err(UnreachableCause::Unroutable("not a SIP URI".into())),
    };
    let not_found = || UnreachableCause::Resolve(sip_resolve::ResolveError::NotFound { name: host.clone() });
    dns.get(&host).cloned().ok_or_else(not_found)
}
