//! A small driver for profilers (perf, callgrind): parses one message many times with
//! sipline's `sip-message`, either raw or raw plus the typed headers the benchmark decodes.
//!
//! ```text
//! profile_parse [raw|typed|serialize] [iterations] [message file]
//! ```
//! Defaults: `raw`, 200000 iterations, `messages/invite.sip` (relative to this crate).

use bytes::Bytes;
use sip_message::parse_message;
use std::hint::black_box;
use std::time::Instant;

fn typed(buf: &Bytes) -> usize {
    let msg = parse_message(buf.clone()).expect("parses");
    let h = msg.headers();
    let via = h.top_via().expect("Via");
    let from = h.from().expect("From");
    let to = h.to().expect("To");
    let call_id = h.call_id().expect("Call-ID");
    let cseq = h.cseq().expect("CSeq");
    let contact = h.contacts().next().expect("a Contact").expect("Contact parses");
    let mut n = black_box(via.branch()).map_or(0, str::len);
    n += black_box(from.tag()).map_or(0, str::len);
    n += black_box(to.uri().as_str()).len();
    n += black_box(call_id).len();
    n += black_box(cseq.seq) as usize;
    n += black_box(contact.address().map(|a| a.uri().as_str())).map_or(0, str::len);
    n
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "raw".into());
    let iterations: u64 = args.next().map_or(200_000, |n| n.parse().expect("iterations: a number"));
    let path = args.next().unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/messages/invite.sip").into());
    let buf = Bytes::from(std::fs::read(&path).expect("read the message file"));
    let parsed = parse_message(buf.clone()).expect("the message parses");

    let start = Instant::now();
    let mut sink = 0usize;
    match mode.as_str() {
        "raw" => {
            for _ in 0..iterations {
                let m = parse_message(black_box(&buf).clone()).expect("parses");
                sink += black_box(&m).headers().len();
            }
        }
        "typed" => {
            for _ in 0..iterations {
                sink += typed(black_box(&buf));
            }
        }
        "serialize" => {
            for _ in 0..iterations {
                sink += black_box(&parsed).to_bytes().len();
            }
        }
        other => panic!("unknown mode {other:?}: raw, typed or serialize"),
    }
    let elapsed = start.elapsed();
    eprintln!(
        "{mode}: {iterations} iterations of {path} in {elapsed:?} ({:.0} msg/s, {:.1} ns/msg) [{sink}]",
        iterations as f64 / elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / iterations as f64
    );
}
