//! Two media sessions on loopback, negotiated against each other through offer/answer:
//! real RTP both ways, tones recognised at the other end, hold, mute, ports released.

use media_core::tone::{energy, tone_fraction};
use media_core::{
    AudioSource, Codec, Direction, MediaConfig, MediaError, MediaSession, Negotiated, RtpPacket, RtpStats, SdpSession,
};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const DEADLINE: Duration = Duration::from_secs(5);

/// A port range of `pairs` pairs from a random even base, so parallel tests (and other
/// programs) rarely meet; binding skips taken ports anyway.
fn range(pairs: u16) -> (u16, u16) {
    let mut b = [0u8; 2];
    getrandom::getrandom(&mut b).unwrap();
    let base = (20000 + u16::from_be_bytes(b) % 20000) & !1;
    (base, base + 2 * pairs - 1)
}

fn config(tone_hz: Option<f32>, (port_min, port_max): (u16, u16)) -> MediaConfig {
    MediaConfig {
        port_min,
        port_max,
        source: tone_hz.map_or(AudioSource::Silence, AudioSource::Tone),
        ..MediaConfig::new(LOCALHOST)
    }
}

/// Waits until `condition` holds, polling every 10 ms; fails the test after [`DEADLINE`].
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Call {
    a: MediaSession,
    b: MediaSession,
    sdp_a: SdpSession,
    sdp_b: SdpSession,
}

impl Call {
    /// A (440 Hz) calls B (1000 Hz): A offers, B answers, both start.
    async fn new() -> Call {
        let a = MediaSession::bind(&config(Some(440.0), range(50))).await.unwrap();
        let b = MediaSession::bind(&config(Some(1000.0), range(50))).await.unwrap();
        let mut call = Call { a, b, sdp_a: SdpSession::new(LOCALHOST), sdp_b: SdpSession::new(LOCALHOST) };
        call.exchange(Direction::SendRecv);
        call
    }

    /// A new offer from A with `direction`, answered by B (which wants sendrecv).
    fn exchange(&mut self, direction: Direction) -> (Negotiated, Negotiated) {
        let offer = self.sdp_a.offer(&self.a.local_media(direction));
        let (answer, at_b) = self.sdp_b.answer(&offer, &self.b.local_media(Direction::SendRecv)).unwrap();
        let at_a = self.sdp_a.accept_answer(&offer, &answer).unwrap();
        self.a.start(&at_a);
        self.b.start(&at_b);
        (at_a, at_b)
    }
}

fn received(s: &MediaSession) -> u64 {
    s.stats().packets_received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_side_hears_the_others_tone() {
    let call = Call::new().await;
    assert_ne!(call.a.local_addr(), call.b.local_addr());
    assert_eq!(call.a.local_addr().port() % 2, 0);
    assert_eq!(call.a.rtcp_addr().port(), call.a.local_addr().port() + 1);
    wait_for("25 packets each way", || received(&call.a) >= 25 && received(&call.b) >= 25).await;
    wait_for("half a second of audio each way", || {
        call.a.recent_audio().len() >= 4000 && call.b.recent_audio().len() >= 4000
    })
    .await;

    let heard_by_b = call.b.recent_audio();
    let heard_by_a = call.a.recent_audio();
    assert!(tone_fraction(&heard_by_b, 440.0, 8000) > 0.8, "B hears 440 Hz");
    assert!(tone_fraction(&heard_by_b, 1000.0, 8000) < 0.05, "B does not hear 1000 Hz");
    assert!(tone_fraction(&heard_by_a, 1000.0, 8000) > 0.8, "A hears 1000 Hz");
    assert!(tone_fraction(&heard_by_a, 440.0, 8000) < 0.05, "A does not hear 440 Hz");

    let (sa, sb): (RtpStats, RtpStats) = (call.a.stats(), call.b.stats());
    assert_eq!(sa.codec, Some(Codec::PCMU));
    assert_eq!(sa.remote_ssrc, Some(sb.local_ssrc));
    assert_eq!(sb.remote_ssrc, Some(sa.local_ssrc));
    assert!(sa.packets_sent >= 25 && sa.octets_sent == sa.packets_sent * 160);
    assert!(sb.octets_received == sb.packets_received * 160);
    assert_eq!((sa.packets_lost, sb.packets_lost), (0, 0), "loopback loses nothing");
    assert!(sa.jitter_ms.is_finite() && sa.jitter_ms < 200.0, "{}", sa.jitter_ms);
    assert!(sa.last_received.is_some());
    assert_eq!((sa.packets_ignored, sa.packets_invalid), (0, 0));
    assert!(heard_by_a.len() <= 8000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_stops_the_held_side_and_resume_restarts_it() {
    let mut call = Call::new().await;
    wait_for("media both ways", || received(&call.a) >= 5 && received(&call.b) >= 5).await;

    // A holds: A offers sendonly, B answers recvonly (RFC 3264 §8.4) and stops sending.
    let (at_a, at_b) = call.exchange(Direction::SendRecv.hold());
    assert_eq!((at_a.direction, at_b.direction), (Direction::SendOnly, Direction::RecvOnly));
    let b_sent = call.b.stats().packets_sent;
    let a_received = received(&call.a);
    let b_received = received(&call.b);
    wait_for("A to keep sending 15 more packets", || received(&call.b) >= b_received + 15).await;
    assert_eq!(call.b.stats().packets_sent, b_sent, "B sends nothing while held");
    assert!(received(&call.a) <= a_received + 2, "A receives at most what was in flight");

    // Resume: both send again.
    let (at_a, at_b) = call.exchange(Direction::SendRecv);
    assert_eq!((at_a.direction, at_b.direction), (Direction::SendRecv, Direction::SendRecv));
    let a_received = received(&call.a);
    wait_for("B to send again", || received(&call.a) >= a_received + 15).await;
    assert!(call.b.stats().packets_sent > b_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_sends_silence_in_packets_that_keep_flowing() {
    let call = Call::new().await;
    wait_for("media", || received(&call.b) >= 5).await;
    call.a.set_muted(true);
    assert!(call.a.is_muted());
    let (a_sent, b_received) = (call.a.stats().packets_sent, received(&call.b));
    // More than a second of packets, so B's recent audio is all from after the mute.
    wait_for("60 muted packets", || received(&call.b) >= b_received + 60).await;
    assert!(call.a.stats().packets_sent >= a_sent + 60, "muted, A still sends");
    let heard = call.b.recent_audio();
    assert_eq!(heard.len(), 8000);
    assert_eq!(energy(&heard), 0.0, "B hears digital silence");

    call.a.set_muted(false);
    let b_received = received(&call.b);
    wait_for("60 unmuted packets", || received(&call.b) >= b_received + 60).await;
    // What B plays out follows what it received by its jitter buffer's delay, longer on a
    // loaded machine: the tone fills B's last second soon, not at a set moment.
    wait_for("B to hear the tone again", || tone_fraction(&call.b.recent_audio(), 440.0, 8000) > 0.8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_drop_release_both_ports() {
    // A one-pair range that is free now.
    let mut found = None;
    for _ in 0..50 {
        let r = range(1);
        if let Ok(s) = MediaSession::bind(&config(None, r)).await {
            found = Some((r, s));
            break;
        }
    }
    let (r, first) = found.expect("a free one-pair range");
    let port = first.local_addr().port();
    assert_eq!(port, r.0);

    // The range is full while the first session lives.
    let err = MediaSession::bind(&config(None, r)).await.unwrap_err();
    assert_eq!(err, MediaError::NoFreePort { port_min: r.0, port_max: r.1 });
    assert!(err.is_recoverable());

    first.close();
    assert!(first.is_closed());
    first.close(); // idempotent
    let second = MediaSession::bind(&config(None, r)).await.expect("the pair is free right after close()");
    assert_eq!(second.local_addr().port(), port);
    assert_eq!(second.rtcp_addr().port(), port + 1);

    drop(second);
    let third = MediaSession::bind(&config(None, r)).await.expect("the pair is free right after drop");
    assert_eq!(third.local_addr().port(), port);
    drop(first);
}

#[tokio::test]
async fn unusable_configurations_are_refused() {
    let bad = |min, max, codecs| MediaConfig { port_min: min, port_max: max, codecs, ..MediaConfig::new(LOCALHOST) };
    for config in [
        bad(0, 10, Codec::defaults()),
        bad(30001, 30000, Codec::defaults()),
        bad(30001, 30002, Codec::defaults()), // an odd start and only one port after it
        bad(30000, 30001, vec![Codec::TELEPHONE_EVENT]),
    ] {
        let err = MediaSession::bind(&config).await.unwrap_err();
        assert!(matches!(err, MediaError::InvalidConfig(_)), "{config:?}: {err}");
        assert!(!err.is_recoverable());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_negotiated_payload_types_are_accepted() {
    let session = MediaSession::bind(&config(None, range(50))).await.unwrap();
    let probe = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let target = session.local_addr();
    let pcmu = RtpPacket::new(0, 1, 1, 0xABCD, bytes::Bytes::from_static(&[0x80; 160])).to_bytes();
    // Before start(), nothing is negotiated: even PCMU is ignored.
    probe.send_to(&pcmu, target).await.unwrap();
    wait_for("the early packet to be ignored", || session.stats().packets_ignored == 1).await;

    // Receive-only PCMU with telephone-event on 101 from the probe.
    session.start(&Negotiated {
        remote_rtp: Some(probe.local_addr().unwrap()),
        codec: Codec::PCMU,
        telephone_event: Some(101),
        direction: Direction::RecvOnly,
        remote_direction: Direction::SendOnly,
        remote_ptime_ms: None,
        srtp: None,
        rtcp_mux: false,
    });
    // G.729 (payload type 18) was not negotiated; garbage is not RTP.
    let g729 = RtpPacket::new(18, 2, 2, 0xABCD, bytes::Bytes::from_static(&[0; 20])).to_bytes();
    probe.send_to(&g729, target).await.unwrap();
    probe.send_to(b"\x00garbage", target).await.unwrap();
    // Telephone-event on its negotiated payload type is accepted and not decoded as audio.
    let event = RtpPacket::new(101, 3, 3, 0xABCD, bytes::Bytes::from_static(&[1, 0x8A, 0, 160])).to_bytes();
    probe.send_to(&event, target).await.unwrap();
    probe.send_to(b"rtcp?", session.rtcp_addr()).await.unwrap();
    wait_for("the probes to be judged", || {
        let s = session.stats();
        s.packets_ignored == 2 && s.packets_invalid == 1 && s.rtcp_invalid == 1 && s.packets_received == 1
    })
    .await;
    let s = session.stats();
    assert_eq!((s.remote_ssrc, s.octets_received, s.packets_sent), (Some(0xABCD), 4, 0));
    assert_eq!(s.dtmf_received, 1, "the end packet of digit 1 is a digit");
    assert!(session.recent_audio().iter().all(|s| *s == 0));
    // PCMU is decoded and played out through the jitter buffer (0x80 is the largest
    // positive µ-law code).
    for i in 0..5u16 {
        let packet =
            RtpPacket::new(0, 4 + i, 163 + 160 * u32::from(i), 0xABCD, bytes::Bytes::from_static(&[0x80; 160]));
        probe.send_to(&packet.to_bytes(), target).await.unwrap();
    }
    wait_for("the audio to be played out", || session.recent_audio().iter().filter(|s| **s == 32124).count() >= 320)
        .await;
    // A stranger's packets are not the call's, whatever they carry.
    let stranger = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let packet = RtpPacket::new(0, 9, 963, 0xABCD, bytes::Bytes::from_static(&[0x80; 160]));
    stranger.send_to(&packet.to_bytes(), target).await.unwrap();
    wait_for("the stranger's packet to be dropped", || session.stats().packets_foreign == 1).await;
}

/// Many streams on one shared pacer: every one of them sends its frames at the 20 ms pace
/// (no stream starved, none sent to twice per frame), and the pacer lets closed streams go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pacer_sends_every_streams_frames_at_the_frame_pace() {
    let pacer = media_core::Pacer::start();
    let ports = range(200);
    let mut pairs = Vec::new();
    for _ in 0..40 {
        let a = MediaSession::bind_paced(&config(Some(440.0), ports), &pacer).await.unwrap();
        let b = MediaSession::bind_paced(&config(Some(1000.0), ports), &pacer).await.unwrap();
        let (mut sdp_a, mut sdp_b) = (SdpSession::new(LOCALHOST), SdpSession::new(LOCALHOST));
        let offer = sdp_a.offer(&a.local_media(Direction::SendRecv));
        let (answer, at_b) = sdp_b.answer(&offer, &b.local_media(Direction::SendRecv)).unwrap();
        a.start(&sdp_a.accept_answer(&offer, &answer).unwrap());
        b.start(&at_b);
        pairs.push((a, b));
    }
    assert_eq!(pacer.len(), 80);
    let start = Instant::now();
    let sent = |pairs: &[(MediaSession, MediaSession)]| -> Vec<u64> {
        pairs.iter().flat_map(|(a, b)| [a.stats().packets_sent, b.stats().packets_sent]).collect()
    };
    let before = sent(&pairs);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = sent(&pairs);
    let elapsed = start.elapsed().as_secs_f64();
    // At most 50 frames a second each (a slow machine may lose ticks, never add frames), and
    // every stream as many as the others give or take a slot's turn: none is starved.
    let counts: Vec<u64> = before.iter().zip(&after).map(|(b, a)| a - b).collect();
    let most = (elapsed * 50.0).ceil() as u64 + 2;
    let (min, max) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
    assert!(min >= 1 && max <= most, "frames per stream in {elapsed:.2} s: {counts:?}");
    // The snapshots read the streams one after another while the pacer runs, so on a
    // loaded machine the later ones show a few frames more; a starved stream would show
    // far fewer.
    assert!(min * 10 >= max * 8, "every stream gets its turn: {counts:?}");
    wait_for("every stream hears its peer", || pairs.iter().all(|(a, b)| received(a) > 10 && received(b) > 10)).await;
    for (a, b) in &pairs {
        a.close();
        b.close();
    }
    wait_for("the pacer drops closed streams", || pacer.is_empty()).await;
}

/// RTP and RTCP whose lengths lie — more CSRCs, padding or extension words than the datagram
/// holds, an RTCP packet running past the datagram, a compound packet that does not add up —
/// are dropped and counted, and nothing of them is played out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_and_rtcp_with_lying_lengths_are_dropped_and_counted() {
    let session = MediaSession::bind(&config(None, range(50))).await.unwrap();
    let probe = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    session.start(&Negotiated {
        remote_rtp: Some(probe.local_addr().unwrap()),
        codec: Codec::PCMU,
        telephone_event: None,
        direction: Direction::RecvOnly,
        remote_direction: Direction::SendOnly,
        remote_ptime_ms: None,
        srtp: None,
        rtcp_mux: false,
    });
    let header = |first: u8| {
        let mut h = vec![first, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0xAB, 0xCD];
        h.extend_from_slice(&[0x80; 8]);
        h
    };
    // 15 CSRCs announced, 2 words there.
    let csrcs = header(0x80 | 15);
    // Padding of 200 bytes announced in a 168-byte packet.
    let mut padding = header(0xA0);
    padding.resize(168, 0x80);
    *padding.last_mut().unwrap() = 200;
    // An extension of 1,000 words announced, 1 there.
    let mut extension = header(0x90);
    extension.truncate(12);
    extension.extend_from_slice(&[0xBE, 0xDE, 0x03, 0xE8, 0, 0, 0, 0]);
    for lie in [&csrcs, &padding, &extension] {
        probe.send_to(lie, session.local_addr()).await.unwrap();
    }
    // A sender report that claims 100 words; a receiver report followed by three stray
    // bytes.
    let long_sr = [0x80, 200, 0, 100, 0, 0, 0xAB, 0xCD, 0, 0, 0, 0];
    let ragged = [0x80, 201, 0, 1, 0, 0, 0xAB, 0xCD, 0x81, 202, 0];
    for lie in [&long_sr[..], &ragged[..]] {
        probe.send_to(lie, session.rtcp_addr()).await.unwrap();
    }
    wait_for("the lies to be judged", || {
        let s = session.stats();
        s.packets_invalid == 3 && s.rtcp_invalid == 2
    })
    .await;
    let s = session.stats();
    assert_eq!((s.packets_received, s.octets_received, s.remote_ssrc), (0, 0, None), "{s:?}");
    assert!(session.recent_audio().iter().all(|x| *x == 0), "nothing was played out");
}

/// RTCP multiplexed on the RTP port (RFC 5761): offered to a peer that accepts it, the
/// session's reports leave from its RTP port for the peer's RTP port (nothing listens on the
/// next port here), and the peer's reports on our RTP port are read as RTCP, not as RTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiplexed_rtcp_goes_from_and_to_the_rtp_ports() {
    let session = MediaSession::bind(&config(Some(440.0), range(50))).await.unwrap();
    let peer = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let port = peer.local_addr().unwrap().port();
    let mut sdp = SdpSession::new(LOCALHOST);
    let offer = sdp.offer(&session.local_media(Direction::SendRecv));
    assert!(offer.to_string().contains("a=rtcp-mux\r\n"), "{offer}");
    let answer = media_core::SessionDescription::parse(&format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\n"
    ))
    .unwrap();
    let negotiated = sdp.accept_answer(&offer, &answer).unwrap();
    assert!(negotiated.rtcp_mux);
    session.start(&negotiated);

    // The first report comes within 1.5 times the initial 2.5 s interval (RFC 3550 6.2).
    let mut buf = [0u8; 1500];
    let report = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let (len, from) = peer.recv_from(&mut buf).await.unwrap();
            if media_core::rtcp::looks_like_rtcp(&buf[..len]) {
                return (buf[..len].to_vec(), from);
            }
        }
    })
    .await
    .expect("an RTCP report on the RTP port");
    assert_eq!(report.1, session.local_addr(), "sent from our RTP port");
    assert!(media_core::rtcp::parse_compound(&report.0).is_ok());

    // A receiver report of the peer's, to our RTP port, counts as RTCP.
    let mut rr = Vec::new();
    media_core::rtcp::write_report(&mut rr, 0x1234, None, &[], "peer@127.0.0.1", false);
    peer.send_to(&rr, session.local_addr()).await.unwrap();
    wait_for("the peer's report to be read", || session.stats().rtcp_received == 1).await;
    assert_eq!(session.stats().packets_invalid, 0);
}
