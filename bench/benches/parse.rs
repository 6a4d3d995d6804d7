//! SIP message parsing: sipline's `sip-message` against rsipstack 0.7 and rsip 0.4.
//!
//! For each message (`invite`, `ok`, `register`) and each library three operations are timed,
//! one message per iteration (`Throughput::Elements(1)`, so criterion reports messages/s):
//!
//! * `raw`: bytes -> message object (start line, header list, body).
//! * `typed`: `raw`, then decoding the typed top Via, From, To, Call-ID, CSeq and the first
//!   Contact, reading one field of each through `black_box` so no work can be skipped.
//! * `serialize`: message object (parsed once, outside the loop) -> bytes.
//!
//! What each library is handed, and the copies its API forces:
//!
//! * sipline: `parse_message(Bytes)`. A `Bytes` is cloned per iteration (a reference-count
//!   increment); header values and the body stay slices of that buffer (zero-copy). Typed
//!   views borrow from the raw values. Serialization writes into one `BytesMut`.
//! * rsipstack: `SipMessage::try_from(&[u8])`: no copy of the input is forced, but the parser
//!   copies every header name/value into a fresh `String` and the body into a `Vec<u8>`.
//!   Typed headers are decoded with the public `typed::X::parse(&str)` on the stored value,
//!   which avoids the extra `String` clone that the `ToTypedHeader::typed()` idiom does;
//!   the top Via goes through `top_via_header()` (one `String` for the first entry) and
//!   `into_typed()`. Serialization is `to_bytes() -> Vec<u8>` (built with `format!`).
//! * rsip: `SipMessage::try_from(&[u8])` (nom tokenizer, then owned `String`s per header).
//!   Typed headers are only reachable through `ToTypedHeader::typed(&self)`, which clones
//!   the header's `String` before tokenizing it (its tokenizers are `#[doc(hidden)]`).
//!   rsip has no byte serializer: `to_string()` (Display) is what its `Into<Vec<u8>>` /
//!   `Into<Bytes>` use, so that is what is timed.
//!
//! Before any timing, `verify()` asserts that every library parses every message and reads
//! the expected values, and that sipline's serialization reproduces the input exactly.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// The messages, with the values the typed step must find in them.
struct Sample {
    name: &'static str,
    raw: &'static [u8],
    branch: &'static str,
    from_tag: &'static str,
    call_id: &'static str,
    cseq: u32,
    contact_host: &'static str,
}

const SAMPLES: [Sample; 3] = [
    Sample {
        name: "invite",
        raw: include_bytes!("../messages/invite.sip"),
        branch: "z9hG4bK2d4790.1",
        from_tag: "9fxced76sl",
        call_id: "3848276298220188511@atlanta.example.com",
        cseq: 314159,
        contact_host: "192.0.2.101",
    },
    Sample {
        name: "ok",
        raw: include_bytes!("../messages/ok.sip"),
        branch: "z9hG4bK2d4790.1",
        from_tag: "9fxced76sl",
        call_id: "3848276298220188511@atlanta.example.com",
        cseq: 314159,
        contact_host: "203.0.113.4",
    },
    Sample {
        name: "register",
        raw: include_bytes!("../messages/register.sip"),
        branch: "z9hG4bKnashds7",
        from_tag: "a73kszlfl",
        call_id: "1j9FpLxk3uxtm8tn@192.0.2.44",
        cseq: 2,
        contact_host: "192.0.2.44",
    },
];

/// Body length declared by the Content-Length header of a sample.
fn declared_body_len(raw: &[u8]) -> usize {
    let text = std::str::from_utf8(raw).expect("samples are UTF-8");
    let line = text.lines().find(|l| l.starts_with("Content-Length:")).expect("Content-Length");
    line["Content-Length:".len()..].trim().parse().expect("a number")
}

// ---------------------------------------------------------------------------------------
// sipline (sip-message)
// ---------------------------------------------------------------------------------------
mod sipline {
    use super::*;
    use sip_message::{parse_message, Host, Message};

    pub fn raw(buf: &Bytes) -> Message {
        parse_message(buf.clone()).expect("sipline parses the message")
    }

    /// Parse, then decode the typed headers; returns a checksum-ish value derived from
    /// each so the compiler must do the work.
    pub fn typed(buf: &Bytes) -> usize {
        let msg = raw(buf);
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

    pub fn serialize(msg: &Message) -> Bytes {
        msg.to_bytes()
    }

    pub fn verify(s: &Sample) {
        let buf = Bytes::copy_from_slice(s.raw);
        let msg = raw(&buf);
        let h = msg.headers();
        let via = h.top_via().expect("Via");
        assert_eq!(via.branch(), Some(s.branch), "sipline {}: branch", s.name);
        assert_eq!(h.from().expect("From").tag(), Some(s.from_tag), "sipline {}: From tag", s.name);
        assert!(h.to().expect("To").uri().as_sip().is_some(), "sipline {}: To URI", s.name);
        assert_eq!(h.call_id().expect("Call-ID"), s.call_id, "sipline {}: Call-ID", s.name);
        assert_eq!(h.cseq().expect("CSeq").seq, s.cseq, "sipline {}: CSeq", s.name);
        let contact = h.contacts().next().expect("Contact").expect("Contact parses");
        let host = contact.address().and_then(|a| a.uri().as_sip()).map(|u| u.host());
        assert_eq!(host, Some(Host::Ipv4(s.contact_host.parse().expect("IPv4"))), "sipline {}: Contact", s.name);
        assert_eq!(msg.body().len(), declared_body_len(s.raw), "sipline {}: body", s.name);
        msg.check_essentials().expect("sipline: essentials");
        assert_eq!(&serialize(&msg)[..], s.raw, "sipline {}: serialization round-trips", s.name);
        assert!(typed(&buf) > 0);
    }
}

// ---------------------------------------------------------------------------------------
// rsipstack 0.7
// ---------------------------------------------------------------------------------------
mod rsipstack_impl {
    use super::*;
    use rsipstack::sip::prelude::*;
    use rsipstack::sip::{typed, SipMessage};

    pub fn raw(buf: &[u8]) -> SipMessage {
        SipMessage::try_from(buf).expect("rsipstack parses the message")
    }

    pub fn typed(buf: &[u8]) -> usize {
        let msg = raw(buf);
        let via = msg.top_via_header().expect("Via").into_typed().expect("Via parses");
        let from = typed::From::parse(msg.from_header().expect("From").value()).expect("From parses");
        let to = typed::To::parse(msg.to_header().expect("To").value()).expect("To parses");
        let call_id = msg.call_id_header().expect("Call-ID").value();
        let cseq = typed::CSeq::parse(msg.cseq_header().expect("CSeq").value()).expect("CSeq parses");
        let contact = typed::Contact::parse(msg.contact_header().expect("Contact").value()).expect("Contact parses");
        let mut n = usize::from(black_box(via.branch()).is_some());
        n += usize::from(black_box(from.tag()).is_some());
        n += black_box(&to.uri).params.len() + 1;
        n += black_box(call_id).len();
        n += black_box(cseq.seq) as usize;
        n += black_box(&contact.uri).params.len() + 1;
        n
    }

    pub fn serialize(msg: &SipMessage) -> Vec<u8> {
        msg.to_bytes()
    }

    pub fn verify(s: &Sample) {
        let msg = raw(s.raw);
        let via = msg.top_via_header().expect("Via").into_typed().expect("Via parses");
        assert_eq!(via.branch().map(|b| b.to_string()).as_deref(), Some(s.branch), "rsipstack {}: branch", s.name);
        let from = typed::From::parse(msg.from_header().expect("From").value()).expect("From parses");
        assert_eq!(from.tag().map(|t| t.to_string()).as_deref(), Some(s.from_tag), "rsipstack {}: From tag", s.name);
        typed::To::parse(msg.to_header().expect("To").value()).expect("To parses");
        assert_eq!(msg.call_id_header().expect("Call-ID").value(), s.call_id, "rsipstack {}: Call-ID", s.name);
        let cseq = typed::CSeq::parse(msg.cseq_header().expect("CSeq").value()).expect("CSeq parses");
        assert_eq!(cseq.seq, s.cseq, "rsipstack {}: CSeq", s.name);
        let contact = typed::Contact::parse(msg.contact_header().expect("Contact").value()).expect("Contact parses");
        assert_eq!(contact.uri.host_with_port.host.to_string(), s.contact_host, "rsipstack {}: Contact", s.name);
        let body = match &msg {
            SipMessage::Request(r) => r.body.len(),
            SipMessage::Response(r) => r.body.len(),
        };
        assert_eq!(body, declared_body_len(s.raw), "rsipstack {}: body", s.name);
        let again = raw(&serialize(&msg));
        assert_eq!(again, msg, "rsipstack {}: serialization re-parses to the same message", s.name);
        assert!(typed(s.raw) > 0);
    }
}

// ---------------------------------------------------------------------------------------
// rsip 0.4
// ---------------------------------------------------------------------------------------
mod rsip_impl {
    use super::*;
    use rsip::prelude::*;
    use rsip::SipMessage;

    pub fn raw(buf: &[u8]) -> SipMessage {
        SipMessage::try_from(buf).expect("rsip parses the message")
    }

    pub fn typed(buf: &[u8]) -> usize {
        let msg = raw(buf);
        let via = msg.via_header().expect("Via").typed().expect("Via parses");
        let from = msg.from_header().expect("From").typed().expect("From parses");
        let to = msg.to_header().expect("To").typed().expect("To parses");
        let call_id = msg.call_id_header().expect("Call-ID").value();
        let cseq = msg.cseq_header().expect("CSeq").typed().expect("CSeq parses");
        let contact = msg.contact_header().expect("Contact").typed().expect("Contact parses");
        let mut n = usize::from(black_box(via.branch()).is_some());
        n += usize::from(black_box(from.tag()).is_some());
        n += black_box(&to.uri).params.len() + 1;
        n += black_box(call_id).len();
        n += black_box(cseq.seq) as usize;
        n += black_box(&contact.uri).params.len() + 1;
        n
    }

    pub fn serialize(msg: &SipMessage) -> String {
        msg.to_string()
    }

    pub fn verify(s: &Sample) {
        let msg = raw(s.raw);
        let via = msg.via_header().expect("Via").typed().expect("Via parses");
        assert_eq!(via.branch().map(|b| b.to_string()).as_deref(), Some(s.branch), "rsip {}: branch", s.name);
        let from = msg.from_header().expect("From").typed().expect("From parses");
        assert_eq!(from.tag().map(|t| t.to_string()).as_deref(), Some(s.from_tag), "rsip {}: From tag", s.name);
        msg.to_header().expect("To").typed().expect("To parses");
        assert_eq!(msg.call_id_header().expect("Call-ID").value(), s.call_id, "rsip {}: Call-ID", s.name);
        assert_eq!(msg.cseq_header().expect("CSeq").typed().expect("CSeq").seq, s.cseq, "rsip {}: CSeq", s.name);
        let contact = msg.contact_header().expect("Contact").typed().expect("Contact parses");
        assert_eq!(contact.uri.host_with_port.host.to_string(), s.contact_host, "rsip {}: Contact", s.name);
        assert_eq!(msg.body().len(), declared_body_len(s.raw), "rsip {}: body", s.name);
        let again = raw(serialize(&msg).as_bytes());
        assert_eq!(again, msg, "rsip {}: serialization re-parses to the same message", s.name);
        assert!(typed(s.raw) > 0);
    }
}

fn verify() {
    for s in &SAMPLES {
        assert_eq!(
            s.raw.len() - s.raw.windows(4).position(|w| w == b"\r\n\r\n").expect("empty line") - 4,
            declared_body_len(s.raw),
            "{}: Content-Length is exact",
            s.name
        );
        sipline::verify(s);
        rsipstack_impl::verify(s);
        rsip_impl::verify(s);
    }
}

fn bench_parse(c: &mut Criterion) {
    verify();
    for s in &SAMPLES {
        // One shared, reference-counted buffer (as a receive path would hand over).
        let bytes = Bytes::copy_from_slice(s.raw);
        let slice: &[u8] = &bytes;

        let mut g = c.benchmark_group(format!("raw/{}", s.name));
        g.throughput(Throughput::Elements(1));
        g.bench_function("sipline", |b| b.iter(|| sipline::raw(black_box(&bytes))));
        g.bench_function("rsipstack", |b| b.iter(|| rsipstack_impl::raw(black_box(slice))));
        g.bench_function("rsip", |b| b.iter(|| rsip_impl::raw(black_box(slice))));
        g.finish();

        let mut g = c.benchmark_group(format!("typed/{}", s.name));
        g.throughput(Throughput::Elements(1));
        g.bench_function("sipline", |b| b.iter(|| sipline::typed(black_box(&bytes))));
        g.bench_function("rsipstack", |b| b.iter(|| rsipstack_impl::typed(black_box(slice))));
        g.bench_function("rsip", |b| b.iter(|| rsip_impl::typed(black_box(slice))));
        g.finish();

        let m_sipline = sipline::raw(&bytes);
        let m_rsipstack = rsipstack_impl::raw(slice);
        let m_rsip = rsip_impl::raw(slice);
        let mut g = c.benchmark_group(format!("serialize/{}", s.name));
        g.throughput(Throughput::Elements(1));
        g.bench_function("sipline", |b| b.iter(|| sipline::serialize(black_box(&m_sipline))));
        g.bench_function("rsipstack", |b| b.iter(|| rsipstack_impl::serialize(black_box(&m_rsipstack))));
        g.bench_function("rsip", |b| b.iter(|| rsip_impl::serialize(black_box(&m_rsip))));
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // Defaults for a run without flags; the command line (--warm-up-time,
    // --measurement-time) overrides them.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench_parse
}
criterion_main!(benches);
