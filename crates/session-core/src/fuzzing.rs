//! A whole user agent fed arbitrary network input, for the `session` fuzz target (feature
//! `fuzzing`; not part of the API).
//!
//! The bytes are cut at each NUL into datagrams, each parsed as a SIP message (what does not
//! parse is what the transport would drop) and handed to one [`SessionCore`] as if from a
//! peer, with the clock moved on between them so that timers fire. The harness answers for
//! the application and the driver: every incoming call is accepted, every port bind
//! succeeds, every lookup fails. Whatever the bytes, nothing may panic, and once the
//! core has been shut down and every timer has run out, it must hold nothing.

use crate::api::CallDecision;
use crate::builder::SessionConfig;
use crate::core::{Command, Input, Output, SessionCore};
use crate::driver::handler::HandlerEvent;
use rand::SeedableRng;
use sip_message::{Peer, Transport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Feeds `data` to a fresh user agent and returns how many calls it accepted; panics only
/// on a bug.
pub fn feed(data: &[u8]) -> usize {
    let mut agent = Agent::new();
    for chunk in data.split(|b| *b == 0) {
        agent.wait(Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 10));
        agent.deliver(chunk);
    }
    agent.finish()
}

/// Feeds a fresh user agent a *sequence* of well-formed SIP messages that `data` describes,
/// for the `sequence` fuzz target: where random bytes rarely parse, these reach the
/// transaction, dialog and session state machines in every order — requests of every method
/// inside and outside the calls (with our own To-tag, learned from what we sent, or a wrong
/// one), retransmissions, responses to the requests we sent (a BYE, a refresh, a NOTIFY),
/// with and without SDP, 100rel, session timers, Replaces. Each record is six bytes: the
/// delay before it, the kind of message, the call, the tags, the CSeq and the extras. The
/// same invariants as [`feed`]: no panic, and nothing left once shut down. Returns how many
/// calls were accepted and how many sessions were up when the sequence ended.
pub fn feed_sequence(data: &[u8]) -> (usize, usize) {
    let mut agent = Agent::new();
    // Past a few dozen messages a sequence finds little new, and long inputs cost the fuzzer
    // most of its executions.
    for record in data.chunks_exact(6).take(MAX_RECORDS) {
        agent.wait(Duration::from_millis(u64::from(record[0]) * 20));
        let text = message(record, &agent.seen);
        agent.deliver(text.as_bytes());
    }
    let up = agent.core.counts().sessions;
    (agent.finish(), up)
}

/// The most messages of one sequence.
const MAX_RECORDS: usize = 48;

/// One user agent under test, with the driver and the application played around it.
struct Agent {
    core: SessionCore<u64>,
    now: Instant,
    /// The last media port handed out.
    port: u16,
    /// Calls accepted so far.
    accepted: usize,
    seen: Seen,
}

impl Agent {
    fn new() -> Agent {
        let local: SocketAddr = ([127, 0, 0, 1], 5060).into();
        let mut cfg = SessionConfig {
            local_address: local,
            transports: vec![Transport::Udp],
            sip_client: true,
            ..Default::default()
        };
        cfg.media.ip = local.ip();
        cfg.max_sessions = 8;
        let rng = Box::new(rand::rngs::SmallRng::seed_from_u64(1));
        let now = Instant::now();
        let core = SessionCore::new(cfg, local, "urn:uuid:fuzz".into(), rng, now);
        Agent { core, now, port: 20000, accepted: 0, seen: Seen::default() }
    }

    /// Time passes; whatever timers are due fire.
    fn wait(&mut self, d: Duration) {
        self.now += d;
        self.core.handle_timeout(self.now);
        self.drain();
    }

    /// A datagram from the peer: what does not parse is what the transport would drop.
    fn deliver(&mut self, datagram: &[u8]) {
        let peer = Peer::new(Transport::Udp, ([127, 0, 0, 2], 5060).into());
        if let Ok(message) = sip_message::parse_message(bytes::Bytes::copy_from_slice(datagram)) {
            self.core.handle_input(self.now, Input::Message { message, source: peer });
            self.drain();
        }
    }

    /// Shuts the agent down, lets every timer run out (transactions, dialogs, the
    /// shutdown's grace) and checks that nothing is left; returns the calls accepted.
    fn finish(mut self) -> usize {
        self.core.handle_input(self.now, Input::Command { command: Command::Shutdown, reply: 0 });
        self.drain();
        for _ in 0..10_000 {
            let Some(at) = self.core.poll_timeout() else { break };
            self.now = self.now.max(at);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        let left = self.core.counts();
        assert_eq!((left.sessions, left.calls, left.server_transactions), (0, 0, 0), "left behind: {left:?}");
        self.accepted
    }

    /// Plays the driver and an application that accepts every call: every port bind
    /// succeeds, every lookup fails. What is transmitted teaches `seen` our tags and our last
    /// request.
    fn drain(&mut self) {
        let mut follow = Vec::new();
        loop {
            while let Some(out) = self.core.poll_output() {
                match out {
                    Output::Transmit { bytes, .. } => self.seen.sent(&bytes),
                    Output::BindMedia { id } => {
                        self.port = self.port.wrapping_add(2).max(20000);
                        follow.push(Input::MediaBound { id, result: Ok(([127, 0, 0, 1], self.port).into()) });
                    }
                    Output::Resolve { query, .. } => {
                        follow.push(Input::Resolved { query, result: Err(crate::error::UnreachableCause::Timeout) })
                    }
                    Output::Handler(HandlerEvent::Incoming(call)) => {
                        self.accepted += 1;
                        follow.push(Input::Command {
                            command: Command::Decide { id: call.id, decision: CallDecision::Accept(None) },
                            reply: 0,
                        })
                    }
                    _ => {}
                }
            }
            if follow.is_empty() {
                return;
            }
            for input in follow.drain(..) {
                self.core.handle_input(self.now, input);
            }
        }
    }
}

/// What the sequence harness learned from what the user agent sent.
#[derive(Default)]
struct Seen {
    /// Our To-tag in each call (by Call-ID), from our responses.
    our_tags: std::collections::HashMap<String, String>,
    /// The last request we sent: the header lines a response to it copies.
    last_request: Option<String>,
}

impl Seen {
    fn sent(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        if text.starts_with("SIP/2.0 ") {
            if let (Some(call), Some(tag)) = (header(&text, "Call-ID"), header(&text, "To").and_then(tag_of)) {
                // At most a few calls: the sequences use three Call-IDs.
                self.our_tags.insert(call.to_owned(), tag.to_owned());
            }
        } else {
            self.last_request = Some(text);
        }
    }
}

/// The value of the first header `name` (no compact form: the user agent writes full
/// names) in `text`.
fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n").find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

fn tag_of(value: &str) -> Option<&str> {
    value.split(";tag=").nth(1).map(|t| t.split([';', '>']).next().unwrap_or(t))
}

/// The SDP offer of the sequences.
const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

/// The message one six-byte record describes.
fn message(r: &[u8], seen: &Seen) -> String {
    const METHODS: [&str; 12] = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "UPDATE",
        "PRACK",
        "INFO",
        "REFER",
        "NOTIFY",
        "OPTIONS",
        "MESSAGE",
        "SUBSCRIBE",
    ];
    const STATUSES: [u16; 12] = [100, 180, 183, 200, 200, 401, 481, 487, 491, 500, 503, 408];
    let (op, call, tags, cseq, extra) = (r[1] % 16, r[2] % 3, r[3], 1 + u32::from(r[4] % 8), r[5]);
    let call_id = format!("fz{call}");
    let (body, content_type) = match extra & 3 {
        1 => (OFFER.to_owned(), "application/sdp"),
        2 => ("v=0\r\nm=audio x\r\n".to_owned(), "application/sdp"),
        3 => ("SIP/2.0 200 OK\r\n".to_owned(), "message/sipfrag"),
        _ => (String::new(), ""),
    };
    let mut extras = String::new();
    if extra & 4 != 0 {
        extras.push_str("Require: 100rel\r\nRSeq: 1\r\nRAck: 1 1 INVITE\r\n");
    }
    if extra & 8 != 0 {
        extras.push_str("Supported: timer\r\nSession-Expires: 90;refresher=uac\r\nMin-SE: 90\r\n");
    }
    if extra & 16 != 0 {
        extras.push_str(&format!("Replaces: fz{};to-tag=x;from-tag=a\r\n", (call + 1) % 3));
        extras.push_str("Refer-To: <sip:carol@127.0.0.2>\r\nReferred-By: <sip:a@127.0.0.2>\r\n");
    }
    if extra & 32 != 0 {
        extras.push_str("Event: refer\r\nSubscription-State: active;expires=60\r\n");
    }
    if !content_type.is_empty() {
        extras.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if op >= 12 {
        // A response to the last request we sent, if any.
        let Some(req) = &seen.last_request else { return String::new() };
        let status = STATUSES[usize::from(extra >> 4) % STATUSES.len()];
        let copy = |name: &str| header(req, name).map(|v| format!("{name}: {v}\r\n")).unwrap_or_default();
        let to = header(req, "To").unwrap_or("<sip:x@127.0.0.2>");
        let to = if tag_of(to).is_some() || status == 100 { to.to_owned() } else { format!("{to};tag=peer{call}") };
        return format!(
            "SIP/2.0 {status} Fuzz\r\n{}{}To: {to}\r\n{}{}Contact: <sip:a@127.0.0.2:5060>\r\n{extras}Content-Length: {}\r\n\r\n{body}",
            copy("Via"),
            copy("From"),
            copy("Call-ID"),
            copy("CSeq"),
            body.len()
        );
    }
    let method = METHODS[usize::from(op)];
    let from_tag = if tags & 4 == 0 { "a" } else { "b" };
    let to_tag = match (tags & 1, tags & 2) {
        (0, _) => String::new(),
        (_, 0) => format!(";tag={}", seen.our_tags.get(&call_id).map_or("unknown", String::as_str)),
        _ => ";tag=bogus".to_owned(),
    };
    // ACK and CANCEL share their INVITE's CSeq number and branch.
    let (cseq_method, branch_method) = match method {
        "ACK" | "CANCEL" if tags & 8 == 0 => (method, "INVITE"),
        _ => (method, method),
    };
    format!(
        "{method} sip:bob@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK{branch_method}{call}x{cseq}\r\n\
         From: <sip:a@127.0.0.2>;tag={from_tag}\r\nTo: <sip:bob@127.0.0.1>{to_tag}\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} {cseq_method}\r\nContact: <sip:a@127.0.0.2:5060>\r\nMax-Forwards: 70\r\n{extras}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::{feed, feed_sequence};

    /// A call as a peer would make it, with `0` between the datagrams.
    fn flow(parts: &[&str]) -> Vec<u8> {
        parts.iter().map(|p| p.replace('\n', "\r\n")).collect::<Vec<_>>().join("\0").into_bytes()
    }

    /// An INVITE from 127.0.0.2 with a PCMU offer (`\n` becomes CRLF in `flow`).
    fn invite() -> String {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        let head = "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1\nFrom: <sip:a@127.0.0.2>;tag=a\nTo: <sip:bob@127.0.0.1>\nCall-ID: c1\nCSeq: 1 INVITE\nContact: <sip:a@127.0.0.2:5060>\nMax-Forwards: 70\nContent-Type: application/sdp\n";
        format!("{head}Content-Length: {}\n\n{}", sdp.len(), sdp.replace("\r\n", "\n"))
    }

    #[test]
    fn a_call_and_garbage_leave_nothing_behind() {
        assert_eq!(feed(&flow(&[&invite()])), 1, "the INVITE made a call");
        let again = invite();
        feed(&flow(&[
            &again,
            &again,
            "garbage",
            "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\n\n",
        ]));
        let cancel = invite().replace("INVITE sip", "CANCEL sip").replace("1 INVITE", "1 CANCEL");
        assert_eq!(feed(&flow(&[&invite(), &cancel])), 1);
        let bye = "BYE sip:bob@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK2\nFrom: <sip:a@127.0.0.2>;tag=a\nTo: <sip:bob@127.0.0.1>;tag=nope\nCall-ID: c1\nCSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n";
        feed(&flow(&[&invite(), bye]));
        feed(&[]);
        feed(&[0, 0, 0, 255]);
    }

    #[test]
    fn every_rfc_4475_torture_message_is_survived() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip-message/tests/torture");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("the torture corpus") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "dat") {
                let bytes = std::fs::read(&path).expect("readable");
                feed(&bytes);
                seen += 1;
            }
        }
        assert!(seen >= 40, "the corpus has the RFC 4475 messages: {seen}");
    }

    /// The sequence records reach the dialog: an INVITE with an offer, the ACK and a BYE
    /// with our learned To-tag make and end one call; the same with a wrong tag, and
    /// responses to what we sent, are survived too.
    #[test]
    fn structured_sequences_reach_the_dialogs() {
        // [delay, op, call, tags, cseq, extra]
        let invite = [0, 0, 0, 0, 0, 1];
        let ack = [1, 1, 0, 1, 0, 0];
        let bye = [1, 2, 0, 1, 1, 0];
        assert_eq!(feed_sequence(&[invite, ack].concat()), (1, 1), "the call is up");
        assert_eq!(feed_sequence(&[invite, ack, bye].concat()), (1, 0), "the BYE with our tag ended it");
        let wrong = [1, 2, 0, 3, 1, 0];
        assert_eq!(feed_sequence(&[invite, ack, wrong].concat()), (1, 1), "a BYE with a wrong tag did not");
        let reinvite_with_timer = [1, 0, 0, 1, 2, 1 | 8];
        let answer_ours = [1, 12, 0, 0, 0, 3 << 4];
        let refer = [1, 7, 0, 1, 3, 16];
        let all = [invite, ack, wrong, reinvite_with_timer, answer_ours, refer, answer_ours, bye].concat();
        assert_eq!(feed_sequence(&all).0, 1);
        feed_sequence(&[]);
        feed_sequence(&[255; 60]);
    }
}
