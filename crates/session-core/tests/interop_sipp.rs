//! session-core's coordinator against sipp 3.6, a third-party SIP implementation, playing
//! the far end in scripted scenarios (`crates/sip-testpeers/peers/sipp/`) that two sipline
//! agents never produce between themselves. Each test proves, on the wire and through the
//! public API, one behaviour of RFC 3261 that a real network asks for:
//!
//! - forking (§13.2.2.4): two early dialogs from two 180s, the ACK going to the Contact of
//!   the fork that answered; a late 200 from the other fork ACKed and ended with a BYE while
//!   the call stays up;
//! - CANCEL (§9.1): the 487 of the cancelled INVITE is ACKed and the call ends `Cancelled`;
//! - glare (§14): a re-INVITE answered 491 is sent again after 2.1–4 s and then succeeds,
//!   also when the peer's re-INVITE really crossed ours (and got our 491);
//! - 423 Interval Too Brief (§10.2.8): the REGISTER is retried with `Min-Expires`;
//! - a stale nonce (§22.4, RFC 7616): answered silently, the account ends registered;
//! - 302 Moved Temporarily (§8.1.3.4): the call follows the Contact to a second sipp.
//!
//! sipp's exit code 0 proves that it saw every message its scenario expects, in order; every
//! test ends with `resource_counts()` all zero. A missing sipp fails the tests
//! (`scripts/install-peers` installs it); none of them sleeps to hope for an outcome.

mod common;

use common::*;
use session_core::{
    Account, DeferAll, EndCause, MediaControl, RegistrationState, SessionControl, SessionCoordinator, SessionEvent,
    SessionState, SipClient, WireDirection, WireTap,
};
use sip_testpeers::{require_peers, Scenario, Sipp, SippOptions};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How long sipp may take to finish its scenario once our side is done.
const SIPP_EXIT: Duration = Duration::from_secs(10);

/// Every SIP message the agent sent or received, as text, in order.
#[derive(Clone, Default)]
struct Wire(Arc<Mutex<Vec<(WireDirection, String)>>>);

impl Wire {
    fn tap(&self) -> WireTap {
        let log = self.0.clone();
        WireTap::new(move |direction, _peer, bytes| {
            log.lock().expect("wire log").push((direction, String::from_utf8_lossy(bytes).into_owned()));
        })
    }

    /// The messages that went `direction` and whose first line starts with `start`.
    fn messages(&self, direction: WireDirection, start: &str) -> Vec<String> {
        let log = self.0.lock().expect("wire log");
        log.iter().filter(|(d, m)| *d == direction && m.starts_with(start)).map(|(_, m)| m.clone()).collect()
    }

    /// The requests of `method` we sent, retransmissions (identical copies) left out.
    fn sent_requests(&self, method: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.messages(WireDirection::Sent, &format!("{method} ")) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
}

/// The value of the first header `name` of a message.
fn header(message: &str, name: &str) -> Option<String> {
    message.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// The Request-URI of a request.
fn request_uri(message: &str) -> &str {
    message.split_whitespace().nth(1).unwrap_or_default()
}

/// A coordinator on 127.0.0.1 with its wire recorded.
async fn agent_on_wire() -> (Arc<SessionCoordinator>, Wire) {
    let wire = Wire::default();
    let agent = builder().with_handler(DeferAll).wire_tap(wire.tap()).build().await.expect("agent starts");
    (agent, wire)
}

fn sipp(options: SippOptions) -> Sipp {
    require_peers();
    Sipp::start(options.calls(1)).expect("sipp starts")
}

fn target(sipp: &Sipp) -> String {
    format!("sip:service@{}", sipp.local_addr())
}

/// Waits (bounded) for sipp to end its one call and checks that it succeeded.
async fn sipp_succeeds(sipp: Sipp) {
    let (code, sipp) = tokio::task::spawn_blocking(move || {
        let mut sipp = sipp;
        (sipp.wait(SIPP_EXIT), sipp)
    })
    .await
    .expect("join");
    match code {
        Ok(0) => {}
        other => panic!("sipp {} ended with {other:?}:\n{}", sipp.scenario().name(), sipp.report()),
    }
}

/// Every event received so far.
fn drain(rx: &mut broadcast::Receiver<SessionEvent>) -> Vec<SessionEvent> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(e) => out.push(e),
            Err(broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => return out,
        }
    }
}

async fn hang_up(agent: &SessionCoordinator, id: session_core::SessionId) {
    agent.terminate_session(id).await.expect("hang up");
    assert_eq!(agent.wait_for_end(id).await.expect("ended").cause, EndCause::LocalHangup);
    all_released(agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forked_call_rings_twice_and_acks_the_fork_that_answered() {
    let sipp = sipp(SippOptions::uas(Scenario::InviteUasFork));
    let (alice, wire) = agent_on_wire().await;
    let mut events = alice.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&sipp), None).await.expect("call");
    let answered = alice.wait_for_answer(call.id, PATIENCE).await.expect("fork B answers");
    assert_eq!(answered.state, SessionState::Active);

    let ringing: Vec<u16> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Progress { id, status, .. } if id == call.id => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(ringing.iter().filter(|s| **s == 180).count(), 2, "both forks' 180s reported: {ringing:?}");
    // §13.2.2.4: the ACK goes to the Contact of the 200, with fork B's tag.
    let acks = wire.sent_requests("ACK");
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert!(request_uri(&acks[0]).starts_with("sip:forkB@"), "{}", acks[0]);
    assert!(header(&acks[0], "To").is_some_and(|t| t.contains("tag=forkB")), "{}", acks[0]);

    hang_up(&alice, call.id).await;
    let byes = wire.sent_requests("BYE");
    assert_eq!(byes.len(), 1);
    assert!(request_uri(&byes[0]).starts_with("sip:forkB@"), "{}", byes[0]);
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_200_from_another_fork_is_acked_and_ended_while_the_call_stays_up() {
    let sipp = sipp(SippOptions::uas(Scenario::InviteUasForkTwo200));
    let (alice, wire) = agent_on_wire().await;
    let mut events = alice.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&sipp), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("fork B answers");

    // Fork A's 200 is ACKed and its dialog ended with a BYE, which sipp answers.
    eventually("the BYE to fork A answered", || async {
        wire.messages(WireDirection::Received, "SIP/2.0 200")
            .iter()
            .any(|m| header(m, "CSeq").is_some_and(|c| c.ends_with("BYE")))
            .then_some(())
    })
    .await;
    let acks = wire.sent_requests("ACK");
    let to_a: Vec<_> = acks.iter().filter(|a| request_uri(a).starts_with("sip:forkA@")).collect();
    assert_eq!(to_a.len(), 1, "fork A's 200 ACKed once: {acks:?}");
    let byes = wire.sent_requests("BYE");
    assert_eq!(byes.len(), 1);
    assert!(request_uri(&byes[0]).starts_with("sip:forkA@"), "{}", byes[0]);

    // The call with fork B is untouched.
    assert_eq!(alice.get_session(call.id).await.map(|s| s.state), Some(SessionState::Active));
    let ended: Vec<_> = drain(&mut events).into_iter().filter(|e| matches!(e, SessionEvent::Ended { .. })).collect();
    assert!(ended.is_empty(), "nothing ended: {ended:?}");
    let c = alice.resource_counts().await;
    assert_eq!((c.sessions, c.calls, c.dialogs), (1, 1, 1), "fork A's dialog is gone: {c:?}");

    hang_up(&alice, call.id).await;
    let byes = wire.sent_requests("BYE");
    assert_eq!(byes.len(), 2);
    assert!(request_uri(&byes[1]).starts_with("sip:forkB@"), "{}", byes[1]);
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_ringing_call_gets_487_and_acks_it() {
    let sipp = sipp(SippOptions::uas(Scenario::InviteUasCancel));
    let (alice, wire) = agent_on_wire().await;
    let mut events = alice.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&sipp), None).await.expect("call");
    assert_eq!(session_reaching(&mut events, SessionState::Ringing).await, call.id);
    alice.terminate_session(call.id).await.expect("cancel");
    let end = alice.wait_for_end(call.id).await.expect("ended");
    assert_eq!((end.cause, end.status), (EndCause::Cancelled, Some(487)), "{end}");
    assert_eq!(wire.sent_requests("CANCEL").len(), 1);
    all_released(&alice).await;
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_met_with_491_is_sent_again_after_the_glare_interval() {
    let sipp = sipp(SippOptions::uas(Scenario::InviteUasReinvite491));
    let (alice, wire) = agent_on_wire().await;
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&sipp), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");

    let asked = Instant::now();
    alice.hold_session(call.id).await.expect("hold succeeds on the second try");
    let took = asked.elapsed();
    assert_eq!(alice.get_session(call.id).await.map(|s| s.state), Some(SessionState::OnHold));
    // We placed the call, so we own the Call-ID: §14.1 asks for 2.1–4 s before the retry.
    assert!(took >= Duration::from_millis(2100) && took < Duration::from_millis(5000), "retried after {took:?}");
    let invites = wire.sent_requests("INVITE");
    assert_eq!(invites.len(), 3, "the INVITE and two re-INVITEs");
    for reinvite in &invites[1..] {
        assert!(reinvite.contains("a=sendonly"), "{reinvite}");
    }

    hang_up(&alice, call.id).await;
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_reinvites_are_refused_with_491_and_ours_is_retried() {
    let sipp = sipp(SippOptions::uas(Scenario::InviteUasReinviteCrossing));
    let (alice, wire) = agent_on_wire().await;
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&sipp), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");

    let asked = Instant::now();
    alice.hold_session(call.id).await.expect("hold succeeds on the second try");
    let took = asked.elapsed();
    assert!(took >= Duration::from_millis(2100) && took < Duration::from_millis(5000), "retried after {took:?}");
    // §14.2: sipp's re-INVITE, crossing ours, was refused; its hold never applied.
    let refused = wire.messages(WireDirection::Sent, "SIP/2.0 491");
    assert_eq!(refused.len(), 1, "{refused:?} {:?}", wire.messages(WireDirection::Received, "ACK"));
    let session = alice.get_session(call.id).await.expect("session");
    assert_eq!(session.state, SessionState::OnHold);
    assert!(!session.remote_hold);
    assert_eq!(wire.sent_requests("INVITE").len(), 3, "the INVITE and two re-INVITEs");

    hang_up(&alice, call.id).await;
    sipp_succeeds(sipp).await;
}

fn registrar(sipp: &Sipp) -> String {
    format!("sip:{}", sipp.local_addr())
}

/// The Expires header of each REGISTER sent.
fn register_expiries(wire: &Wire) -> Vec<String> {
    wire.sent_requests("REGISTER").iter().map(|r| header(r, "Expires").unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_too_brief_is_retried_with_min_expires() {
    let sipp = sipp(SippOptions::uas(Scenario::RegisterUas423));
    let (alice, wire) = agent_on_wire().await;
    let account = Account { expires: 60, ..Account::new("alice", None, registrar(&sipp)) };
    let id = alice.register(account).await.expect("registered after the 423");
    assert!(matches!(alice.registration_state(id).await, Ok(RegistrationState::Registered { .. })));
    assert_eq!(register_expiries(&wire), ["60", "120"]);
    alice.unregister(id).await.expect("unregistered");
    assert_eq!(register_expiries(&wire), ["60", "120", "0"]);
    all_released(&alice).await;
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_nonce_is_answered_silently() {
    let sipp = sipp(SippOptions::uas(Scenario::RegisterUasStaleNonce));
    let (alice, wire) = agent_on_wire().await;
    let mut events = alice.subscribe_events();
    let id = alice.register(Account::new("alice", Some("alicepw".into()), registrar(&sipp))).await.expect("registered");
    assert!(matches!(alice.registration_state(id).await, Ok(RegistrationState::Registered { .. })));
    let registers = wire.sent_requests("REGISTER");
    assert_eq!(registers.len(), 3, "{registers:?}");
    let nonce = |r: &String| {
        header(r, "Authorization").map(|a| a.contains("nonce=\"n1\"") as u8 + 2 * a.contains("nonce=\"n2\"") as u8)
    };
    assert_eq!(registers.iter().map(nonce).collect::<Vec<_>>(), [None, Some(1), Some(2)]);
    // Silently: no failure state on the way.
    let states: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Registration { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert!(
        !states.iter().any(|s| matches!(
            s,
            RegistrationState::Failed { .. }
                | RegistrationState::AuthFailed { .. }
                | RegistrationState::RetryWait { .. }
        )),
        "no failure reported: {states:?}"
    );
    alice.unregister(id).await.expect("unregistered");
    all_released(&alice).await;
    sipp_succeeds(sipp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_302_is_followed_to_the_second_uas_which_answers() {
    let answering = sipp(SippOptions::uas(Scenario::InviteUasAnswer));
    let moved_to: SocketAddr = answering.local_addr();
    let redirecting = sipp(SippOptions::uas(Scenario::InviteUasRedirect).set("target", moved_to.to_string()));
    let (alice, wire) = agent_on_wire().await;
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&redirecting), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("the second UAS answers");
    let invites = wire.sent_requests("INVITE");
    assert_eq!(invites.len(), 2, "{invites:?}");
    assert_eq!(request_uri(&invites[1]), format!("sip:target@{moved_to}"));
    hang_up(&alice, call.id).await;
    sipp_succeeds(redirecting).await;
    sipp_succeeds(answering).await;
}

/// RFC 3311: the UAS sends UPDATE with a new offer (a new port) in the call; sipline answers
/// it with 200 and SDP and sends its RTP to the new port; an UPDATE without a body is
/// answered 200; the call stays up until our BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_with_a_new_offer_is_answered_and_moves_the_media() {
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/update_uas.xml"));
    let uas = sipp(SippOptions::uas(scenario));
    let (alice, wire) = agent_on_wire().await;
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&uas), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("answered");
    // The port of the INVITE's answer, from the wire (the UPDATE may already have moved
    // the stream by now): the UPDATE offers the next pair.
    let answered = wire.messages(WireDirection::Received, "SIP/2.0 200");
    let invite_answer = answered.iter().find(|m| m.contains(" INVITE\r\n")).expect("the INVITE's 200");
    let first_port: u16 = invite_answer
        .split("m=audio ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("a port in the answer");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = alice.get_media_info(call.id).await.expect("media").remote_rtp.map(|a| a.port());
        if now == Some(first_port + 2) {
            break;
        }
        assert!(Instant::now() < deadline, "RTP never went to the port the UPDATE offered ({now:?})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(alice.get_session(call.id).await.map(|s| s.state), Some(SessionState::Active));
    // sipp sends the bodiless UPDATE once the first is answered, and takes our BYE only
    // after its 200: the scenario's success proves both were answered.
    let refreshed = |wire: &Wire| {
        let responses = wire.messages(WireDirection::Sent, "SIP/2.0 200");
        responses.iter().any(|r| r.contains(" UPDATE\r\n") && !r.contains("m=audio"))
    };
    let deadline = Instant::now() + PATIENCE;
    while !refreshed(&wire) {
        assert!(Instant::now() < deadline, "the bodiless UPDATE was never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let responses = wire.messages(WireDirection::Sent, "SIP/2.0 200");
    assert!(responses.iter().any(|r| r.contains(" UPDATE\r\n") && r.contains("m=audio")), "{responses:?}");
    hang_up(&alice, call.id).await;
    sipp_succeeds(uas).await;
}

/// The far end vanishes mid-call without a BYE: sipp answers and never sends RTP. With
/// `end_call_on_rtp_timeout`, the stream's RTP timeout (1 s here) hangs the call up — a BYE
/// that sipp's scenario expects and answers — the end says why, and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_peer_sends_no_rtp_is_hung_up_at_the_rtp_timeout() {
    let uas = sipp(SippOptions::uas(Scenario::InviteUasAnswer));
    let alice = builder()
        .with_handler(DeferAll)
        .rtp_timeout(Some(Duration::from_secs(1)))
        .end_call_on_rtp_timeout(true)
        .build()
        .await
        .expect("agent starts");
    let mut events = alice.subscribe_events();
    let call = alice.create_outgoing_call(&alice.local_uri("alice"), &target(&uas), None).await.expect("call");
    alice.wait_for_answer(call.id, PATIENCE).await.expect("sipp answers");
    let end = tokio::time::timeout(PATIENCE, alice.wait_for_end(call.id))
        .await
        .expect("the silent call was hung up")
        .expect("ended");
    assert_eq!(end.cause, EndCause::RtpTimeout, "{end}");
    let seen = drain(&mut events);
    assert!(seen.iter().any(|e| matches!(e, SessionEvent::RtpTimeout { id, .. } if *id == call.id)), "{seen:?}");
    all_released(&alice).await;
    sipp_succeeds(uas).await;
}
