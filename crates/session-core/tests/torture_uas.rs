//! The application-layer cases of RFC 4475 (§3.3) sent to a running coordinator, byte for
//! byte as the archive has them except for the top Via (rewritten so the answer comes back to
//! the test's socket): each gets the answer the RFC asks of a user agent.

mod common;

use common::*;
use session_core::DeferAll;
use std::net::UdpSocket;
use std::time::Duration;

const TORTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sip-message/tests/torture");

/// `file` with its top Via (and any folded continuation of it) replaced by one naming `me`.
fn with_our_via(file: &str, me: std::net::SocketAddr, n: usize) -> Vec<u8> {
    let raw = std::fs::read(format!("{TORTURE}/{file}")).expect("torture file");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let (head, body) = raw.split_at(split);
    let head = String::from_utf8_lossy(head);
    let mut out = String::new();
    let mut replaced = false;
    let mut skipping = false;
    for line in head.split_inclusive("\r\n") {
        let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if skipping && (line.starts_with(' ') || line.starts_with('\t')) {
            continue;
        }
        skipping = false;
        if !replaced && (name == "via" || name == "v") {
            out.push_str(&format!("Via: SIP/2.0/UDP {me};branch=z9hG4bK-torture-{n}\r\n"));
            replaced = true;
            skipping = true;
            continue;
        }
        out.push_str(line);
    }
    assert!(replaced, "{file} has a Via");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn status_of(socket: &UdpSocket) -> u16 {
    let mut buf = [0u8; 8192];
    loop {
        let n = socket.recv(&mut buf).expect("an answer within the timeout");
        let text = String::from_utf8_lossy(&buf[..n]);
        let code: u16 = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status line");
        if code >= 200 {
            return code;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_layer_torture_cases_get_their_answers() {
    let agent = agent(DeferAll, None).await;
    let cases: &[(&str, &[u16])] = &[
        ("unkscm.dat", &[416]),
        ("novelsc.dat", &[416]),
        ("bext01.dat", &[420]),
        ("invut.dat", &[415]),
        ("sdp01.dat", &[406]),
        ("zeromf.dat", &[200]),
        ("regaut01.dat", &[405]),
        ("mismatch02.dat", &[501, 400]),
        ("esc02.dat", &[501]),
    ];
    let target = agent.local_sip_addr();
    let results = tokio::task::spawn_blocking(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let me = socket.local_addr().expect("addr");
        cases
            .iter()
            .enumerate()
            .map(|(n, (file, _))| {
                socket.send_to(&with_our_via(file, me, n), target).expect("send");
                status_of(&socket)
            })
            .collect::<Vec<u16>>()
    })
    .await
    .expect("the exchange");
    for ((file, wanted), got) in cases.iter().zip(results) {
        assert!(wanted.contains(&got), "{file}: answered {got}, RFC 4475 asks for {wanted:?}");
    }
    all_released(&agent).await;
}

/// What cannot be SIP is dropped and counted, never answered and never a panic; a response
/// to no request of ours is dropped and counted too; the agent goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_stray_responses_are_dropped_and_counted() {
    let agent = agent(DeferAll, None).await;
    let target = agent.local_sip_addr();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let me = socket.local_addr().expect("addr");
    for junk in [&b"\x16\x03\x01 not sip at all"[..], b"INVITE\r\n\r\n", b"SIP/2.0 99999 Nope\r\n\r\n"] {
        socket.send_to(junk, target).expect("send");
    }
    // A 180 for a transaction we never started (a stray 2xx would be ACKed and ended, RFC
    // 6026; anything else is dropped, RFC 3261 §18.1.2).
    let stray = format!(
        "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP {target};branch=z9hG4bKnobody\r\nFrom: <sip:a@{me}>;tag=1\r\n\
         To: <sip:b@{target}>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    );
    socket.send_to(stray.as_bytes(), target).expect("send");
    let counters = eventually("the garbage counted", || async {
        let c = agent.counters().await;
        (c.unparsable >= 3 && c.dropped >= 1).then_some(c)
    })
    .await;
    assert_eq!((counters.refused_full, counters.refused_overloaded), (0, 0), "{counters:?}");
    // Still serving: an OPTIONS gets its 200.
    let options = with_our_via("zeromf.dat", me, 99);
    let status = tokio::task::spawn_blocking(move || {
        socket.send_to(&options, target).expect("send");
        status_of(&socket)
    })
    .await
    .expect("the exchange");
    assert_eq!(status, 200);
    all_released(&agent).await;
}

/// Requests that lie about their size or go past the parser's bounds — two Content-Lengths
/// that disagree, a Content-Length beyond the datagram, a header line over 8 KB, more than 256
/// header lines — are dropped and counted before any transaction is made: a datagram that
/// cannot be framed has no trustworthy Via to answer to (RFC 3261 §18.3 lets a UDP receiver
/// discard it). Nothing is answered to them: the first answer the socket gets is the one to
/// the OPTIONS sent after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_lie_about_their_size_are_dropped_and_counted() {
    let agent = agent(DeferAll, None).await;
    let target = agent.local_sip_addr();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let me = socket.local_addr().expect("addr");
    let head = |n: u32| {
        format!(
            "OPTIONS sip:agent@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-lie-{n}\r\nMax-Forwards: 70\r\n\
             From: <sip:t@{me}>;tag=lie{n}\r\nTo: <sip:agent@{target}>\r\nCall-ID: lie-{n}\r\nCSeq: 1 OPTIONS\r\n"
        )
    };
    let conflicting = format!("{}Content-Length: 2\r\nl: 5\r\n\r\nhello", head(1));
    let beyond = format!("{}Content-Length: 900\r\n\r\nshort", head(2));
    let huge_header = format!("{}Subject: {}\r\nContent-Length: 0\r\n\r\n", head(3), "x".repeat(9000));
    let many_headers = format!(
        "{}{}Content-Length: 0\r\n\r\n",
        head(4),
        (0..300).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
    );
    let before = agent.counters().await.unparsable;
    for lie in [&conflicting, &beyond, &huge_header, &many_headers] {
        socket.send_to(lie.as_bytes(), target).expect("send");
    }
    eventually("the four lies counted", || async { (agent.counters().await.unparsable >= before + 4).then_some(()) })
        .await;
    let honest = format!("{}Content-Length: 0\r\n\r\n", head(5));
    let answer = tokio::task::spawn_blocking(move || {
        socket.send_to(honest.as_bytes(), target).expect("send");
        let mut buf = [0u8; 8192];
        let n = socket.recv(&mut buf).expect("an answer");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .expect("the exchange");
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains("Call-ID: lie-5"), "the first answer is the honest request's: {answer}");
    let c = agent.counters().await;
    assert_eq!(c.unparsable, before + 4, "{c:?}");
    all_released(&agent).await;
}
