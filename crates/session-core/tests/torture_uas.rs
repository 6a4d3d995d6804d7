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
