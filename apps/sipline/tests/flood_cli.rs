//! `sipline answer` under an INVITE flood from one source: the calls of another source sent
//! at the same time still complete. sipp floods from 127.0.0.2 at a rate far beyond what the
//! program (a debug build here) can take, while a second sipp places 100 calls at 10/s from
//! 127.0.0.3. The program must shed the flood with 503 and Retry-After — the heaviest source
//! first (session-core's `core/admission.rs`) — and complete at least 95 of the 100 calls.
//! Before per-source shedding, 10 of 200 such calls completed (issue 13).

mod common;

use common::Program;
use sip_testpeers::{Scenario, Sipp, SippOptions, SippStats};
use std::net::SocketAddr;
use std::time::Duration;

/// sipp's call of the call-rate ladder: a 503 is ACKed and counted apart (as a receive
/// time-out) from real failures.
const CALLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/load/uac_calls.xml");

/// `sipline answer` on a free port of 127.0.0.1, and the address it listens on.
fn answerer() -> (Program, SocketAddr) {
    let (tx, rx) = std::sync::mpsc::channel();
    let program = Program::start(&["answer", "--listen", "127.0.0.1:0", "--count", "1000000"], move |line| {
        if let Some(rest) = line.split("listening on ").nth(1) {
            let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(20)).expect("sipline answer says where it listens");
    (program, addr.parse().expect("a socket address"))
}

fn caller(target: SocketAddr, from: &str, calls: u64, rate: f64) -> Sipp {
    let options = SippOptions::uac(Scenario::File(CALLS.into()), target)
        .local_ip(from.parse().expect("an address"))
        .service("bob")
        .calls(calls)
        .rate(rate)
        .limit(calls.min(4000))
        .pause_ms(1000);
    Sipp::start(options).expect("sipp starts")
}

/// Calls refused with 503: the scenario ends those with a deliberate receive time-out.
fn refused(stats: &SippStats) -> u64 {
    stats.get("FailedTimeoutOnRecv(C)").and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[test]
fn a_flood_from_one_source_does_not_starve_the_calls_of_another() {
    let (mut answerer, target) = answerer();
    let mut flood = caller(target, "127.0.0.2", 60_000, 2000.0);
    std::thread::sleep(Duration::from_secs(2));
    let mut legit = caller(target, "127.0.0.3", 100, 10.0);
    legit.wait(Duration::from_secs(120)).expect("the 100 calls end");
    let _ = flood.terminate();
    assert!(answerer.running(), "sipline answer survived the flood");

    let (flood_stats, legit_stats) = (flood.stats().expect("flood stats"), legit.stats().expect("stats"));
    eprintln!(
        "flood: {} completed, {} refused with 503; legit: {} of 100 completed, {} refused",
        flood_stats.successful_calls,
        refused(&flood_stats),
        legit_stats.successful_calls,
        refused(&legit_stats)
    );
    assert!(
        refused(&flood_stats) > 0,
        "the flood went beyond what the program takes, so it shed calls: {} completed",
        flood_stats.successful_calls
    );
    assert!(
        legit_stats.successful_calls >= 95,
        "at least 95 of the other source's 100 calls completed: {} did, {} refused, {} failed",
        legit_stats.successful_calls,
        refused(&legit_stats),
        legit_stats.failed_calls
    );
}
