//! 1,000 calls over a bad network path: `sipline answer` in one network namespace, sipp
//! placing the calls from another, and between them a user-space relay (sip-testpeers'
//! `LossyWire`; the kernel here has no netem) that loses 10 % of the packets each way,
//! delivers 1 % twice and 2 % after their successor — SIP and RTP alike. RFC 3261's
//! retransmissions must carry at least 99 % of the calls through, and each of those calls
//! must carry audio: the program sends its tone, sipp echoes it (`-rtp_echo`) back across the
//! wire, and the program's statistics line for the call counts what came back. Needs root,
//! iproute2, python3 and sipp, which the test command installs.

use sip_testpeers::{require_peers, End, LossyWire, Scenario, Sipp, SippOptions, WireOptions};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CALLS: u64 = 1000;
/// sipp's call: INVITE with a PCMU offer, 180/200, ACK, `-d` ms, BYE (bench/load).
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/load/uac_calls.xml");

/// What the program printed: the statistics line of each call.
#[derive(Default)]
struct Printed {
    listening: bool,
    /// Packets received, per call ended.
    received: Vec<u64>,
    /// Calls it reported ended, and of those, ended by the caller's BYE.
    ended: u64,
    hung_up: u64,
    /// Calls that ended other than by the caller's BYE, and events lost to lag.
    other: Vec<String>,
}

/// The number after `received ` in a statistics line.
fn received(line: &str) -> Option<u64> {
    line.split("received ").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[test]
fn a_thousand_calls_over_a_path_losing_ten_percent_each_way_complete_with_audio() {
    require_peers();
    let wire = LossyWire::start(WireOptions { loss: 0.10, duplicate: 0.01, reorder: 0.02, seed: 13 })
        .expect("the lossy wire (root, iproute2, python3)");
    let listen = SocketAddr::from((End::A.addr(), 5060));
    let mut answerer = wire
        .command_in(End::A, env!("CARGO_BIN_EXE_sipline"))
        .args(["answer", "--listen", &listen.to_string(), "--count", "1000000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipline answer");
    let printed = Arc::new(Mutex::new(Printed::default()));
    let stdout = answerer.stdout.take().expect("stdout");
    let p = printed.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut p = p.lock().expect("lock");
            if line.contains("listening on") {
                p.listening = true;
            } else if line.contains(" stats: ") {
                if let Some(n) = received(&line) {
                    p.received.push(n);
                }
            } else if line.contains(" ended: ") {
                p.ended += 1;
                if line.contains("remote hung up") {
                    p.hung_up += 1;
                } else if p.other.len() < 50 {
                    p.other.push(line);
                }
            } else if line.contains("not shown") && p.other.len() < 50 {
                p.other.push(line);
            }
        }
    });
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while !printed.lock().expect("lock").listening {
        assert!(std::time::Instant::now() < until, "sipline answer did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }

    let options = SippOptions::uac(Scenario::File(SCENARIO.into()), listen)
        .in_netns(wire.namespace(End::B))
        .local_ip(End::B.addr().into())
        .service("bob")
        .calls(CALLS)
        .rate(25.0)
        .limit(200)
        .pause_ms(1000)
        .arg("-mi")
        .arg(End::B.addr().to_string())
        // A reordered 180 after the 200, or a duplicate, is for a caller to ignore (RFC 3261
        // §13.2.2.4); sipp would abort the call as "unexpected" instead.
        .arg("-default_behaviors")
        .arg("all,-abortunexp")
        .rtp_echo()
        .expect("a media port");
    let mut sipp = Sipp::start(options).expect("sipp starts");
    let ended = sipp.wait(Duration::from_secs(600));
    let stats = sipp.stats().expect("sipp's statistics");
    // The last calls' statistics lines follow their BYE by moments.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while (printed.lock().expect("lock").received.len() as u64) < stats.successful_calls
        && std::time::Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = answerer.kill();
    let _ = answerer.wait();
    let (a_to_b, b_to_a) = wire.stop().expect("the wire's counts");
    let printed = printed.lock().expect("lock");
    let reasons: Vec<String> = stats
        .columns
        .iter()
        .filter(|(name, value)| name.starts_with("Failed") && name.ends_with("(C)") && value != "0")
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    eprintln!("sipp's failures: {reasons:?}");
    eprintln!(
        "the answerer reported {} calls ended, {} by the caller's BYE; unusual lines: {:#?}",
        printed.ended, printed.hung_up, printed.other
    );
    let with_audio = printed.received.iter().filter(|n| **n > 0).count() as u64;
    let heard: u64 = printed.received.iter().sum();
    eprintln!(
        "{} of {CALLS} calls completed ({} failed, {} retransmissions by sipp); {} calls ended at the \
         answerer, {with_audio} with audio back ({heard} packets); wire A→B lost {} of {} ({:.1} %), \
         {} duplicated, {} reordered; B→A lost {} of {} ({:.1} %), {} duplicated, {} reordered",
        stats.successful_calls,
        stats.failed_calls,
        stats.retransmissions,
        printed.received.len(),
        a_to_b.lost,
        a_to_b.read,
        100.0 * a_to_b.loss(),
        a_to_b.duplicated,
        a_to_b.reordered,
        b_to_a.lost,
        b_to_a.read,
        100.0 * b_to_a.loss(),
        b_to_a.duplicated,
        b_to_a.reordered,
    );
    ended.expect("sipp ended its calls");
    // The path really was that bad, both ways, for tens of thousands of packets.
    for (way, s) in [("A→B", a_to_b), ("B→A", b_to_a)] {
        assert!(s.read > 20_000, "{way} carried the calls' RTP: {s:?}");
        assert!((0.08..0.12).contains(&s.loss()), "{way} lost about 10 %: {s:?}");
        assert!(s.duplicated > 0 && s.reordered > 0, "{way} duplicated and reordered: {s:?}");
    }
    assert!(
        stats.successful_calls * 100 >= CALLS * 99,
        "at least 99 % of the calls completed: {}",
        stats.successful_calls
    );
    // The answerer's own view: sipp counts as completed a rare call it never ACKed nor ended
    // (the answerer then sends BYE after 64·T1, RFC 3261 §13.3.1.4).
    assert!(
        printed.hung_up * 100 >= CALLS * 99,
        "at least 99 % of the calls ended by the caller's BYE: {}",
        printed.hung_up
    );
    assert!(with_audio * 100 >= CALLS * 99, "at least 99 % of the calls carried audio both ways: {with_audio}");
}
