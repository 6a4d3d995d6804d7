//! The media path of one call, sans-IO, per packet: what `media_core::Stream` costs to send a
//! frame (source, encode, RTP header, SRTP protect) and to take one in (SRTP unprotect,
//! latching, statistics, jitter buffer, decode, concealment bookkeeping, play-out), for
//! G.711 and G.722, plain and with SRTP.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media_core::audio::AudioSource;
use media_core::srtp::{CryptoSuite, SdesCrypto, SrtpKeys};
use media_core::stream::{Stream, StreamConfig, FRAME_DURATION};
use media_core::{Codec, Direction, Negotiated};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const A: &str = "127.0.0.1:10000";
const B: &str = "127.0.0.1:20000";

fn negotiated(remote: &str, codec: Codec, direction: Direction, srtp: Option<SrtpKeys>) -> Negotiated {
    Negotiated {
        remote_rtp: Some(remote.parse().expect("literal")),
        codec,
        telephone_event: Some(101),
        direction,
        remote_direction: direction.answer_to(direction),
        remote_ptime_ms: None,
        srtp,
        rtcp_mux: false,
    }
}

fn keys(srtp: bool) -> (Option<SrtpKeys>, Option<SrtpKeys>) {
    if !srtp {
        return (None, None);
    }
    let a = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80).expect("key");
    let b = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80).expect("key");
    (Some(SrtpKeys { ours: a.clone(), theirs: b.clone() }), Some(SrtpKeys { ours: b, theirs: a }))
}

fn stream(codec: Codec, remote: &str, direction: Direction, srtp: Option<SrtpKeys>, now: Instant) -> Stream {
    let config = StreamConfig { source: AudioSource::Tone(440.0), ..StreamConfig::default() };
    let mut s = Stream::new(config, now, 1 << 40, [1, 2, 3, 4]);
    s.start(&negotiated(remote, codec, direction, srtp), now);
    s
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("media");
    group.throughput(Throughput::Elements(1));
    for (codec, name) in [(Codec::PCMU, "pcmu"), (Codec::G722, "g722")] {
        for srtp in [false, true] {
            let label = if srtp { format!("{name}+srtp") } else { name.to_owned() };
            // Send: one frame per call of poll_frame.
            group.bench_function(format!("send/{label}"), |bench| {
                let now = Instant::now();
                let (ours, _) = keys(srtp);
                let mut s = stream(codec, B, Direction::SendOnly, ours, now);
                let mut out = Vec::with_capacity(256);
                let mut t = now;
                bench.iter(|| {
                    t += FRAME_DURATION;
                    black_box(s.poll_frame(t, &mut out));
                });
            });
            // Receive: one packet in and one frame played out, through a fresh receiver per
            // batch (SRTP refuses a replayed index, so packets are never fed twice).
            group.bench_function(format!("receive/{label}"), |bench| {
                let now = Instant::now();
                let (ours, theirs) = keys(srtp);
                let mut sender = stream(codec, B, Direction::SendOnly, ours, now);
                let from: SocketAddr = A.parse().expect("literal");
                let mut out = Vec::new();
                let packets: Vec<Vec<u8>> = (0..60_000u32)
                    .map(|i| {
                        sender.poll_frame(now + FRAME_DURATION * i, &mut out);
                        out.clone()
                    })
                    .collect();
                bench.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(packets.len() as u64);
                        let mut rx = stream(codec, A, Direction::RecvOnly, theirs.clone(), now);
                        let start = Instant::now();
                        for (i, p) in packets[..n as usize].iter().enumerate() {
                            let t = now + FRAME_DURATION * i as u32;
                            rx.handle_rtp(t, from, p);
                            black_box(rx.poll_frame(t, &mut out));
                        }
                        total += start.elapsed();
                        left -= n;
                    }
                    total
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
