//! A call's media stream fed arbitrary datagrams as RTP and RTCP between frame ticks: it
//! never panics, never plays a packet it should not, and its memory stays bounded (the
//! jitter buffer holds at most its capacity, the recent audio one second).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_core::{Codec, Direction, Negotiated, Stream, StreamConfig};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut stream = Stream::new(StreamConfig::default(), now, 1 << 40, [1, 2, 3, 4]);
    let peer = "192.0.2.2:4000".parse().expect("literal");
    stream.start(
        &Negotiated {
            remote_rtp: Some(peer),
            codec: Codec::PCMU,
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            remote_direction: Direction::SendRecv,
            remote_ptime_ms: None,
            srtp: None,
            rtcp_mux: false,
        },
        now,
    );
    let mut out = Vec::new();
    let mut t = now;
    // Each record: one byte saying what it is and how long, then the bytes.
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head >> 2).min(tail.len());
        let (datagram, next) = tail.split_at(len);
        rest = next;
        match head & 3 {
            0 => stream.handle_rtp(t, peer, datagram),
            1 => stream.handle_rtcp(t, peer, datagram),
            2 => {
                t += Duration::from_millis(20);
                let _ = stream.poll_frame(t, &mut out);
                while stream.poll_rtcp(t, &mut out).is_some() {}
            }
            _ => {
                // A datagram from a stranger, as RTP.
                let stranger = "198.51.100.7:9".parse().expect("literal");
                stream.handle_rtp(t, stranger, datagram);
            }
        }
        while stream.poll_event().is_some() {}
    }
    let stats = stream.stats();
    assert!(stream.recent_audio().len() <= media_core::stream::RECENT_AUDIO_SAMPLES);
    assert!(stats.packets_received + stats.packets_ignored + stats.packets_invalid + stats.packets_foreign <= data.len() as u64);
});
