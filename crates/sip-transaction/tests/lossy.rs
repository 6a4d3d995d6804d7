//! Whole transactions between two transaction layers over a simulated network that loses 30 %
//! of packets each way, duplicates some and reorders them, on a simulated clock. Every seed is
//! reproducible. Invariants checked on every seed: both layers end empty and every transaction
//! reports Terminated; a transaction fails to complete only if the network really dropped every
//! copy it could have completed with.

mod common;

use bytes::Bytes;
use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sip_message::{parse_message, Message, Method, Request, Response, StatusCode, Transport};
use sip_transaction::{Config, Event, Output, Peer, TransactionLayer};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};

const SEEDS: u64 = 300;
const LOSS: f64 = 0.3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    /// OPTIONS answered 200.
    NonInvite,
    /// INVITE answered 180 then 486, ACKed by the client transaction.
    InviteRejected,
    /// INVITE answered 200; the server TU retransmits the 2xx until the client TU's ACK.
    InviteAccepted,
}

struct Net {
    rng: SmallRng,
    seq: u64,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    packets: HashMap<u64, (usize, Peer, Bytes)>,
}

impl Net {
    fn send(&mut self, now: Instant, to_node: usize, from: Peer, bytes: Bytes) {
        let copies = if self.rng.gen_bool(0.1) { 2 } else { 1 };
        for _ in 0..copies {
            if self.rng.gen_bool(LOSS) {
                continue;
            }
            let delay = Duration::from_millis(self.rng.gen_range(5..250));
            self.seq += 1;
            self.queue.push(Reverse((now + delay, self.seq)));
            self.packets.insert(self.seq, (to_node, from, bytes.clone()));
        }
    }
}

#[derive(Default, Debug)]
struct Outcome {
    uac_final: Option<StatusCode>,
    /// Did the final response come through the client transaction (not as a stray)?
    uac_final_in_tx: bool,
    uac_timeout: bool,
    uas_timeout: bool,
    uas_got_ack: bool,
    /// Final responses that reached the client while its transaction was alive.
    finals_delivered_live: u32,
    /// ACKs that reached the server while it waited for one.
    acks_delivered: u32,
    terminated: HashSet<(usize, u64)>,
    created: HashSet<(usize, u64)>,
}

fn run(seed: u64, scenario: Scenario) -> Outcome {
    let cfg = Config::default();
    let start = Instant::now();
    let mut now = start;
    let mut net = Net { rng: SmallRng::seed_from_u64(seed), seq: 0, queue: BinaryHeap::new(), packets: HashMap::new() };
    let uac_addr = peer(Transport::Udp, 5070);
    let uas_addr = peer(Transport::Udp, 5060);
    let mut nodes = [TransactionLayer::new(cfg), TransactionLayer::new(cfg)];
    let mut out = Outcome::default();
    let method = if scenario == Scenario::NonInvite { Method::Options } else { Method::Invite };
    let req = request(method.clone(), "UDP");
    let uac_tx = nodes[0].send_request(now, req.clone(), uas_addr).expect("send");
    out.created.insert((0, uac_tx.0));
    // The server TU's 2xx retransmission (RFC 3261 §13.3.1.4), modelled here because the
    // dialog layer owns it.
    let mut ok_retx: Option<(Instant, Duration, Response)> = None;
    let ok_deadline = start + cfg.timeout() * 2;

    loop {
        // Drain outputs of both nodes.
        for n in 0..2 {
            while let Some(o) = nodes[n].poll_output() {
                match o {
                    Output::Transmit { bytes, .. } => {
                        let (to, from) = if n == 0 { (1, uac_addr) } else { (0, uas_addr) };
                        net.send(now, to, from, bytes);
                    }
                    Output::Event(e) => match e {
                        Event::Request { tx, request, .. } => {
                            out.created.insert((1, tx.0));
                            let status = match scenario {
                                Scenario::NonInvite => StatusCode::OK,
                                Scenario::InviteRejected => StatusCode::BUSY_HERE,
                                Scenario::InviteAccepted => StatusCode::OK,
                            };
                            if scenario == Scenario::InviteRejected {
                                let ringing = request.make_response(StatusCode::RINGING, Some("uas")).expect("180");
                                nodes[1].respond(now, tx, ringing).expect("respond 180");
                            }
                            let fin = request.make_response(status, Some("uas")).expect("final");
                            if scenario == Scenario::InviteAccepted {
                                ok_retx = Some((now + cfg.t1, cfg.t1, fin.clone()));
                            }
                            nodes[1].respond(now, tx, fin).expect("respond final");
                        }
                        Event::Response { response, .. } | Event::StrayResponse { response, .. } if n == 0 => {
                            let st = response.status();
                            if st.is_final() && out.uac_final.is_none() {
                                out.uac_final = Some(st);
                                out.uac_final_in_tx = nodes[0].contains(uac_tx);
                            }
                            if st.is_success() && method == Method::Invite {
                                // The client TU ACKs every 2xx it sees (RFC 3261 §13.2.2.4).
                                let ack = ack_for_2xx(&req, &response);
                                nodes[0].send_stateless(uas_addr, &Message::Request(ack));
                            }
                        }
                        Event::Ack { .. } if n == 1 => {
                            out.uas_got_ack = true;
                            ok_retx = None;
                        }
                        Event::Timeout { .. } => {
                            if n == 0 {
                                out.uac_timeout = true;
                            } else {
                                out.uas_timeout = true;
                            }
                        }
                        Event::Terminated { tx } => {
                            out.terminated.insert((n, tx.0));
                        }
                        _ => {}
                    },
                }
            }
        }
        let next = [
            net.queue.peek().map(|Reverse((t, ..))| *t),
            nodes[0].poll_timeout(),
            nodes[1].poll_timeout(),
            ok_retx.as_ref().map(|(t, ..)| *t),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { break };
        now = now.max(next);
        assert!(now - start < Duration::from_secs(300), "seed {seed}: the simulation must settle");
        if let Some((at, interval, resp)) = ok_retx.clone() {
            if at <= now {
                if now >= ok_deadline {
                    ok_retx = None;
                } else {
                    nodes[1].send_stateless(uac_addr, &Message::Response(resp.clone()));
                    let next = (interval * 2).min(cfg.t2);
                    ok_retx = Some((now + next, next, resp));
                }
            }
        }
        while let Some(Reverse((at, ..))) = net.queue.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, seq))) = net.queue.pop() else { break };
            let Some((to, from, bytes)) = net.packets.remove(&seq) else { continue };
            let msg = parse_message(bytes).expect("what the layer sends parses");
            if to == 0 {
                if let Message::Response(r) = &msg {
                    if r.status().is_final() && nodes[0].contains(uac_tx) {
                        out.finals_delivered_live += 1;
                    }
                }
            } else if let Message::Request(r) = &msg {
                if *r.method() == Method::Ack && !out.uas_got_ack {
                    out.acks_delivered += 1;
                }
            }
            nodes[to].handle_message(now, msg, from);
        }
        for n in nodes.iter_mut() {
            n.handle_timeout(now);
        }
    }
    assert!(nodes[0].is_empty() && nodes[1].is_empty(), "seed {seed}: every transaction ended");
    out
}

fn ack_for_2xx(invite: &Request, ok: &Response) -> Request {
    let cseq = invite.headers().cseq().expect("cseq").seq;
    sip_message::RequestBuilder::new(Method::Ack, invite.uri_str().to_string())
        .from(None, invite.headers().from().expect("from").uri().as_str())
        .from_tag(invite.headers().from().expect("from").tag().expect("tag"))
        .to(None, ok.headers().to().expect("to").uri().as_str())
        .to_tag(ok.headers().to().expect("to").tag().expect("to tag"))
        .call_id(invite.headers().call_id().expect("call-id"))
        .cseq(cseq)
        .via("UDP", "127.0.0.1:5070")
        .build()
        .expect("ack")
}

fn check(scenario: Scenario) {
    let mut completed = 0;
    for seed in 0..SEEDS {
        let o = run(seed, scenario);
        assert_eq!(o.terminated, o.created, "seed {seed}: every transaction reported Terminated");
        let done = match scenario {
            Scenario::NonInvite => o.uac_final == Some(StatusCode::OK),
            Scenario::InviteRejected => o.uac_final == Some(StatusCode::BUSY_HERE) && !o.uas_timeout,
            Scenario::InviteAccepted => o.uac_final == Some(StatusCode::OK) && o.uas_got_ack,
        };
        if done {
            completed += 1;
            if o.uac_final_in_tx {
                assert!(!o.uac_timeout, "seed {seed}: a completed client transaction does not time out");
            }
            continue;
        }
        // Not completed: only acceptable when the network withheld every copy that could
        // have completed it.
        if o.uac_final.is_none() {
            assert_eq!(o.finals_delivered_live, 0, "seed {seed}: a delivered final response was lost by the layer");
            assert!(o.uac_timeout, "seed {seed}: without a final response the client times out");
        } else {
            assert_eq!(o.acks_delivered, 0, "seed {seed}: a delivered ACK was not taken: {o:?}");
        }
    }
    let rate = f64::from(completed) / SEEDS as f64;
    eprintln!("{scenario:?}: {completed}/{SEEDS} completed");
    assert!(rate >= 0.98, "{scenario:?}: {completed}/{SEEDS} completed under {LOSS} loss each way");
}

#[test]
fn non_invite_completes_under_30_percent_loss() {
    check(Scenario::NonInvite);
}

#[test]
fn rejected_invite_completes_under_30_percent_loss() {
    check(Scenario::InviteRejected);
}

#[test]
fn accepted_invite_completes_under_30_percent_loss() {
    check(Scenario::InviteAccepted);
}
