//! `sipline answer` under an INVITE flood from one source: the calls of another source sent
//! at the same time still complete. sipp floods from 127.0.0.2 at a rate far beyond what the
//! program (a debug build here) can take, while a second sipp places 100 calls at 10/s from
//! 127.0.0.3. The program must shed the flood with 503 and Retry-After — the heaviest source
//! first (session-core's `core/admission.rs`) — and complete at least 95 of the 100 calls.
//! Before per-source shedding, 10 of 200 such calls completed (issue 13).
//!
//! The same for garbage: 50,000 datagrams a second that are not SIP, from 127.0.0.4, more
//! than a debug build reads without falling behind (issue 13 measured 20 of 100 calls
//! completing before the transport told the admission rule who sent the garbage). The
//! transport drops them; the calls of the quiet source must still be taken. (Sent as fast as
//! a thread can — millions a second on loopback — garbage overflows the socket's buffer
//! and the kernel drops calls with it, which no rule in the program can change.)

mod common;

use common::Program;
use sip_testpeers::{Scenario, Sipp, SippOptions, SippStats};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
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

/// What a garbage flood sends in turn: random-looking bytes, a request cut off in its
/// headers, a request whose Content-Length promises more than there is, and 60 KB of header
/// line that the parser must refuse at its limit.
fn garbage() -> Vec<Vec<u8>> {
    let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let cut =
        b"INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.4:5060;branch=z9hG4bK1\r\nFrom: <sip:".to_vec();
    let lying = b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: 9000\r\n\r\nshort".to_vec();
    let mut huge = b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nSubject: ".to_vec();
    huge.resize(60_000, b'x');
    huge.extend_from_slice(b"\r\n\r\n");
    vec![noise, cut, lying, huge]
}

/// Garbage datagrams a second.
const GARBAGE_RATE: u64 = 50_000;

/// Sends garbage from 127.0.0.4 to `target` at [`GARBAGE_RATE`] until `stop`, counting
/// what went in `sent`.
fn flood_garbage(target: SocketAddr, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.4:0").expect("bind 127.0.0.4");
        let garbage = garbage();
        let start = std::time::Instant::now();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            // In bursts every millisecond, as many as the rate asks for by now.
            let due = start.elapsed().as_micros() as u64 * GARBAGE_RATE / 1_000_000;
            while i < due {
                // Mostly small datagrams; every 16th is the 60 KB one.
                let which = if i % 16 == 15 { 3 } else { (i % 3) as usize };
                if socket.send_to(&garbage[which], target).is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

/// The peak resident memory of a process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_garbage_flood_from_one_source_does_not_starve_the_calls_of_another() {
    let (mut answerer, target) = answerer();
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let flooder = flood_garbage(target, stop.clone(), sent.clone());
    std::thread::sleep(Duration::from_secs(2));
    let mut legit = caller(target, "127.0.0.3", 100, 10.0);
    let ended = legit.wait(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    flooder.join().expect("the flooder ends");
    ended.expect("the 100 calls end");
    assert!(answerer.running(), "sipline answer survived the garbage");

    let stats = legit.stats().expect("stats");
    let peak_mib = peak_rss_kb(answerer.0.id()) / 1024;
    eprintln!(
        "garbage: {} datagrams; legit: {} of 100 completed, {} refused; peak RSS {peak_mib} MiB",
        sent.load(Ordering::Relaxed),
        stats.successful_calls,
        refused(&stats)
    );
    assert!(
        stats.successful_calls >= 95,
        "at least 95 of the quiet source's 100 calls completed: {} did, {} refused, {} failed",
        stats.successful_calls,
        refused(&stats),
        stats.failed_calls
    );
    // The transport reads each datagram into one buffer and keeps none of them: what the
    // garbage costs in memory is bounded by the event queue, whatever its rate.
    assert!(peak_mib < 256, "memory stayed bounded under the garbage: peak {peak_mib} MiB");
}
