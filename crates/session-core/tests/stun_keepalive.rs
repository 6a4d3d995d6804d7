//! The STUN keep-alive of a UDP registration (RFC 5626 §4.4.2) in the two cases kamailio on
//! loopback cannot stage: a NAT that maps us anew (the registrar's answer names another
//! address than before), and a registrar that does not speak STUN at all. The registrar
//! here is a scripted UDP socket: it answers REGISTER with 200 and STUN Binding requests as
//! each test says. (kamailio's own STUN answers are proven in client-core's
//! `tests/outbound.rs`.)

mod common;

use common::{builder, registered_times};
use session_core::{Account, SipClient};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the scripted registrar saw.
#[derive(Default)]
struct Seen {
    registers: AtomicUsize,
    stun: AtomicUsize,
    stop: AtomicBool,
}

/// How the registrar answers the n-th STUN Binding request (from 0), given its source: with
/// the address to report, or not at all.
type StunPolicy = fn(usize, SocketAddr) -> Option<SocketAddr>;

/// A registrar on 127.0.0.1 that answers every REGISTER with 200 (its Contact for an hour)
/// and STUN as `policy` says, until `seen.stop`.
fn registrar(policy: StunPolicy) -> (SocketAddr, Arc<Seen>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let addr = socket.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !s.stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
            let data = &buf[..n];
            if sip_transport::stun::is_stun(data) {
                let count = s.stun.fetch_add(1, Ordering::Relaxed);
                if let Some(mapped) = policy(count, from) {
                    let _ = socket.send_to(&binding_success(&data[8..20], mapped), from);
                }
            } else if let Some(reply) = ok_to_register(data) {
                s.registers.fetch_add(1, Ordering::Relaxed);
                let _ = socket.send_to(reply.as_bytes(), from);
            }
        }
    });
    (addr, seen)
}

/// A Binding success response for transaction `id` naming `mapped` (IPv4) in an
/// XOR-MAPPED-ADDRESS (RFC 5389 §15.2).
fn binding_success(id: &[u8], mapped: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(v4) = mapped else { panic!("IPv4 only here") };
    let cookie = sip_transport::stun::MAGIC_COOKIE.to_be_bytes();
    let mut out = vec![0x01, 0x01, 0x00, 12];
    out.extend_from_slice(&cookie);
    out.extend_from_slice(id);
    out.extend_from_slice(&[0x00, 0x20, 0x00, 0x08, 0x00, 0x01]);
    out.extend_from_slice(&(v4.port() ^ 0x2112).to_be_bytes());
    out.extend(v4.ip().octets().iter().zip(cookie).map(|(b, k)| b ^ k));
    out
}

/// 200 OK to a REGISTER, holding its Contact for an hour; `None` for anything else.
fn ok_to_register(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    if !text.starts_with("REGISTER ") {
        return None;
    }
    let header = |name: &str| {
        text.lines()
            .filter(|l| l.split(':').next().is_some_and(|h| h.trim().eq_ignore_ascii_case(name)))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    };
    let to = header("To").trim_end().to_owned();
    let contact = header("Contact").trim_end().to_owned();
    Some(format!(
        "SIP/2.0 200 OK\r\n{}{}{to};tag=registrar\r\n{}{}{contact};expires=3600\r\nContent-Length: 0\r\n\r\n",
        header("Via"),
        header("From"),
        header("Call-ID"),
        header("CSeq"),
    ))
}

/// The NAT maps us anew: the third answer names another port than the first two. The flow
/// has failed (§4.4.2) and the agent registers again at once, long before the hour is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_mapped_address_makes_the_agent_register_again() {
    let (registrar, seen) =
        registrar(|n, from| Some(if n < 2 { from } else { SocketAddr::new(from.ip(), from.port().wrapping_add(1)) }));
    let agent = builder()
        .timers(Duration::from_millis(50), Duration::from_millis(400))
        .stun_keepalive(Some(Duration::from_millis(500)))
        .build()
        .await
        .expect("agent");
    let mut events = agent.subscribe_events();
    agent.register(Account::new("alice", None, format!("sip:{registrar}"))).await.expect("registered");
    // The first confirmation, and the one after the new REGISTER.
    registered_times(&mut events, 2).await;
    assert_eq!(seen.registers.load(Ordering::Relaxed), 2, "one REGISTER, and one after the mapping changed");
    assert!(seen.stun.load(Ordering::Relaxed) >= 3, "two answers named the first address, then one another");
    seen.stop.store(true, Ordering::Relaxed);
    agent.shutdown().await;
}

/// A registrar that does not speak STUN is not taken for dead: the first keep-alive goes
/// seven times (RFC 5389 §7.2.1), unanswered, and then the flow goes without keep-alives —
/// no new REGISTER, and no further Binding request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_that_never_answers_stun_gets_no_more_keep_alives() {
    let (registrar, seen) = registrar(|_, _| None);
    let agent = builder()
        .timers(Duration::from_millis(50), Duration::from_millis(400))
        .stun_keepalive(Some(Duration::from_millis(500)))
        .build()
        .await
        .expect("agent");
    agent.register(Account::new("alice", None, format!("sip:{registrar}"))).await.expect("registered");
    common::eventually("seven Binding requests", || async { (seen.stun.load(Ordering::Relaxed) >= 7).then_some(()) })
        .await;
    // The give-up comes 16 T1 (0.8 s) after the seventh send; a second round would start
    // 0.4-0.5 s later. Three seconds show there is none.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(seen.stun.load(Ordering::Relaxed), 7, "one keep-alive sent seven times, and no other");
    assert_eq!(seen.registers.load(Ordering::Relaxed), 1, "the flow was not given up");
    seen.stop.store(true, Ordering::Relaxed);
    agent.shutdown().await;
}
