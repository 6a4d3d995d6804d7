//! Shared helpers: a simulated clock around `Calls`, messages from the peer, and scripted
//! randomness.
#![allow(dead_code, missing_docs)]

use rand::SeedableRng;
use sip_dialog::{CallConfig, CallEvent, CallEventKind, CallKey, Calls, Output, RandomSource, ViaTemplate};
use sip_message::{Method, Request, RequestBuilder, Response, StandardHeader as H, StatusCode};
use sip_transaction::TxId;
use std::time::{Duration, Instant};

pub const MS: fn(u64) -> Duration = Duration::from_millis;

/// Always the same draw, as a fraction of the range: 0.0 the low end, 1.0 the high end.
pub struct Fixed(pub f64);

impl RandomSource for Fixed {
    fn up_to(&mut self, max: u64) -> u64 {
        (max as f64 * self.0).round() as u64
    }
}

pub fn seeded(seed: u64) -> Box<dyn RandomSource + Send> {
    Box::new(rand::rngs::SmallRng::seed_from_u64(seed))
}

pub fn alice_config() -> CallConfig {
    CallConfig::new("sip:alice@pc33.atlanta.com", ViaTemplate::new("UDP", "pc33.atlanta.com"))
}

pub fn bob_config() -> CallConfig {
    CallConfig::new("sip:bob@client.biloxi.com", ViaTemplate::new("UDP", "client.biloxi.com"))
}

/// `Calls` on a simulated clock, keeping every output with the time it came out.
pub struct Sim {
    pub calls: Calls,
    pub start: Instant,
    pub now: Instant,
    pub log: Vec<(Duration, Output<CallEvent>)>,
    seen: usize,
}

impl Sim {
    pub fn new(cfg: CallConfig) -> Sim {
        Sim::with_rng(cfg, seeded(1))
    }

    pub fn with_rng(cfg: CallConfig, rng: Box<dyn RandomSource + Send>) -> Sim {
        let start = Instant::now();
        Sim { calls: Calls::new(cfg, rng), start, now: start, log: Vec::new(), seen: 0 }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn drain(&mut self) {
        let at = self.elapsed();
        while let Some(o) = self.calls.poll_output() {
            self.log.push((at, o));
        }
    }

    /// Advances the clock to `t` after the start, firing timers on the way.
    pub fn run_until(&mut self, t: Duration) {
        let end = self.start + t;
        while let Some(at) = self.calls.poll_timeout() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.calls.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    pub fn run_to_end(&mut self) {
        let mut guard = 0;
        while let Some(at) = self.calls.poll_timeout() {
            self.now = self.now.max(at);
            self.calls.handle_timeout(self.now);
            self.drain();
            guard += 1;
            assert!(guard < 10_000, "timers never stop");
        }
    }

    /// The outputs since the previous call.
    pub fn take(&mut self) -> Vec<Output<CallEvent>> {
        self.drain();
        let new = self.log[self.seen..].iter().map(|(_, o)| o.clone()).collect();
        self.seen = self.log.len();
        new
    }

    pub fn invite(&mut self, invite: Request) -> CallKey {
        let k = self.calls.invite(self.now, invite, None).expect("invite");
        self.drain();
        k
    }

    pub fn response(&mut self, r: Response) {
        self.calls.handle_response(self.now, r);
        self.drain();
    }

    pub fn request(&mut self, tx: u64, r: Request) -> Option<Request> {
        let back = self.calls.handle_request(self.now, TxId(tx), r, None);
        self.drain();
        back
    }

    pub fn ack(&mut self, r: Request) {
        self.calls.handle_ack(self.now, r);
        self.drain();
    }
}

pub fn requests(out: &[Output<CallEvent>]) -> Vec<Request> {
    out.iter().filter_map(|o| if let Output::Request(r) = o { Some(r.clone()) } else { None }).collect()
}

pub fn acks(out: &[Output<CallEvent>]) -> Vec<Request> {
    out.iter().filter_map(|o| if let Output::Ack(r) = o { Some(r.clone()) } else { None }).collect()
}

pub fn responses(out: &[Output<CallEvent>]) -> Vec<(TxId, Response)> {
    out.iter()
        .filter_map(|o| if let Output::Response { tx, response } = o { Some((*tx, response.clone())) } else { None })
        .collect()
}

pub fn events(out: &[Output<CallEvent>]) -> Vec<CallEventKind> {
    out.iter().filter_map(|o| if let Output::Event(e) = o { Some(e.kind.clone()) } else { None }).collect()
}

pub fn statuses(out: &[Output<CallEvent>]) -> Vec<u16> {
    responses(out).iter().map(|(_, r)| r.status().as_u16()).collect()
}

pub fn terminated(out: &[Output<CallEvent>]) -> Option<sip_dialog::EndReason> {
    events(out).into_iter().find_map(|e| if let CallEventKind::Terminated { reason } = e { Some(reason) } else { None })
}

/// Alice's INVITE, as her application builds it.
pub fn alice_invite() -> Request {
    RequestBuilder::new(Method::Invite, "sip:bob@biloxi.com")
        .from(Some("Alice"), "sip:alice@atlanta.com")
        .from_tag("a1")
        .to(Some("Bob"), "sip:bob@biloxi.com")
        .via("UDP", "pc33.atlanta.com")
        .call_id("call-1@atlanta.com")
        .cseq(1)
        .contact("sip:alice@pc33.atlanta.com")
        .body("application/sdp", &b"v=0\r\n"[..])
        .build()
        .expect("invite")
}

/// A response of a UAS with To tag `tag` and Contact `contact` to `request`.
pub fn answer(request: &Request, status: StatusCode, tag: &str, contact: &str) -> Response {
    let mut r = request.make_response(status, Some(tag)).expect("response");
    if status != StatusCode::TRYING {
        r.push_header(H::Contact, format!("<{contact}>"));
    }
    r
}

/// A request Alice sends inside the dialog Bob's UAS made with tag `bob_tag`.
pub fn from_alice(method: Method, seq: u32, bob_tag: &str) -> Request {
    RequestBuilder::new(method, "sip:bob@client.biloxi.com")
        .from(Some("Alice"), "sip:alice@atlanta.com")
        .from_tag("a1")
        .to(Some("Bob"), "sip:bob@biloxi.com")
        .to_tag(bob_tag)
        .via("UDP", "pc33.atlanta.com")
        .call_id("call-1@atlanta.com")
        .cseq(seq)
        .contact("sip:alice@pc33.atlanta.com")
        .build()
        .expect("request")
}

/// The ACK Alice sends for Bob's 2xx to her INVITE with CSeq `seq`.
pub fn alice_ack(seq: u32, bob_tag: &str) -> Request {
    let mut ack = from_alice(Method::Ack, seq, bob_tag);
    ack.headers_mut().remove_all(H::Contact);
    ack
}

pub fn cseq(r: &Request) -> u32 {
    r.headers().cseq().expect("CSeq").seq
}

/// Asserts that no timer but the session timer (RFC 4028, due in minutes) is left.
pub fn only_the_session_timer_left(sim: &Sim) {
    let next = sim.calls.poll_timeout().expect("the session timer runs");
    assert!(next >= sim.now + Duration::from_secs(800), "a timer is due within {:?}", next - sim.now);
}

/// A request Bob sends in the dialog Alice's call made with his tag b1.
pub fn from_bob(method: Method, seq: u32) -> Request {
    RequestBuilder::new(method, "sip:alice@pc33.atlanta.com")
        .from(Some("Bob"), "sip:bob@biloxi.com")
        .from_tag("b1")
        .to(Some("Alice"), "sip:alice@atlanta.com")
        .to_tag("a1")
        .via("UDP", "client.biloxi.com")
        .call_id("call-1@atlanta.com")
        .cseq(seq)
        .contact("sip:bob@client.biloxi.com")
        .build()
        .expect("request")
}
