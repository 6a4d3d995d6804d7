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
    let local: SocketAddr = ([127, 0, 0, 1], 5060).into();
    let peer = Peer::new(Transport::Udp, ([127, 0, 0, 2], 5060).into());
    let mut cfg = SessionConfig {
        local_address: local,
        transports: vec![Transport::Udp],
        sip_client: true,
        ..Default::default()
    };
    cfg.media.ip = local.ip();
    cfg.max_sessions = 8;
    let rng = Box::new(rand::rngs::SmallRng::seed_from_u64(1));
    let mut now = Instant::now();
    let mut core: SessionCore<u64> = SessionCore::new(cfg, local, "urn:uuid:fuzz".into(), rng, now);
    let mut port = 20000u16;
    let mut accepted = 0;
    for chunk in data.split(|b| *b == 0) {
        now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 10);
        core.handle_timeout(now);
        drain(&mut core, now, &mut port, &mut accepted);
        if let Ok(message) = sip_message::parse_message(bytes::Bytes::copy_from_slice(chunk)) {
            core.handle_input(now, Input::Message { message, source: peer });
            drain(&mut core, now, &mut port, &mut accepted);
        }
    }
    core.handle_input(now, Input::Command { command: Command::Shutdown, reply: 0 });
    drain(&mut core, now, &mut port, &mut accepted);
    // Every timer runs out: transactions, dialogs, the shutdown's grace.
    for _ in 0..10_000 {
        let Some(at) = core.poll_timeout() else { break };
        now = now.max(at);
        core.handle_timeout(now);
        drain(&mut core, now, &mut port, &mut accepted);
    }
    let left = core.counts();
    assert_eq!((left.sessions, left.calls, left.server_transactions), (0, 0, 0), "left behind: {left:?}");
    accepted
}

/// Plays the driver and an application that accepts every call.
fn drain(core: &mut SessionCore<u64>, now: Instant, port: &mut u16, accepted: &mut usize) {
    let mut follow = Vec::new();
    loop {
        while let Some(out) = core.poll_output() {
            match out {
                Output::BindMedia { id } => {
                    *port = port.wrapping_add(2).max(20000);
                    follow.push(Input::MediaBound { id, result: Ok(([127, 0, 0, 1], *port).into()) });
                }
                Output::Resolve { query, .. } => {
                    follow.push(Input::Resolved { query, result: Err(crate::error::UnreachableCause::Timeout) })
                }
                Output::Handler(HandlerEvent::Incoming(call)) => {
                    *accepted += 1;
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
            core.handle_input(now, input);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::feed;

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
}
