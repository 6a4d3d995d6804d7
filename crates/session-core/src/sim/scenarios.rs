//! The flows every user agent must get right, each run on the simulated network, and a
//! property run over hundreds of seeds: every call ends on both sides and every resource
//! is released, whatever the network did.

use super::{ms, Action, Conditions, Policy, World};
use crate::api::{EndCause, SessionEvent, SessionState};
use crate::core::Answer;
use sip_message::Transport;
use sip_resolve::Target;
use std::net::SocketAddr;
use std::time::Duration;

/// Long enough for every transaction timer (Timer B/F/H/J, 64·T1) to run out after the
/// scripted part.
const SETTLE: Duration = Duration::from_secs(600);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn causes(w: &World, node: usize) -> Vec<EndCause> {
    w.ends(node).iter().map(|e| e.cause).collect()
}

/// The states one of `node`'s sessions went through, in order.
fn states(w: &World, node: usize) -> Vec<SessionState> {
    w.a(node)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::StateChanged { new, .. } => Some(*new),
            _ => None,
        })
        .collect()
}

/// Alice calls Bob, who answers after `answer`; the rest is scripted by `script`.
fn two_agents(seed: u64, conditions: Conditions, answer: Policy) -> (World, usize, usize) {
    let mut w = World::new(seed, conditions);
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", answer);
    let to = w.uri(bob, "bob");
    w.at(ms(0), alice, Action::Call { to });
    (w, alice, bob)
}

#[test]
fn a_call_answered_held_resumed_and_hung_up_by_the_caller() {
    for conditions in [Conditions::perfect(), Conditions::rough()] {
        let (mut w, alice, bob) = two_agents(7, conditions, Policy::AnswerAfter(ms(300)));
        w.at(secs(5), alice, Action::Hold);
        w.at(secs(10), alice, Action::Resume);
        w.at(secs(15), alice, Action::Hangup);
        w.run_for(SETTLE);
        w.assert_settled();
        assert_eq!(causes(&w, alice), [EndCause::LocalHangup]);
        assert_eq!(causes(&w, bob), [EndCause::RemoteHangup]);
        let seen = states(&w, alice);
        let held = seen.iter().position(|s| *s == SessionState::OnHold).expect("held");
        assert!(seen[held..].contains(&SessionState::Active), "resumed after the hold: {seen:?}");
        let bob_held = w.a(bob).events.iter().any(|(_, e)| matches!(e, SessionEvent::RemoteHold { held: true, .. }));
        assert!(bob_held, "Bob saw the hold");
        assert!(!w.a(alice).media_started.is_empty() && !w.a(bob).media_started.is_empty(), "both streams ran");
    }
}

#[test]
fn the_callee_hangs_up() {
    let (mut w, alice, bob) = two_agents(3, Conditions::rough(), Policy::AnswerAfter(ms(100)));
    w.at(secs(3), bob, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, alice), [EndCause::RemoteHangup]);
    assert_eq!(causes(&w, bob), [EndCause::LocalHangup]);
}

#[test]
fn a_call_cancelled_while_ringing_ends_both_sides() {
    let (mut w, alice, bob) = two_agents(11, Conditions::rough(), Policy::AnswerAfter(secs(30)));
    w.at(secs(2), alice, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, alice), [EndCause::Cancelled]);
    assert_eq!(causes(&w, bob), [EndCause::CancelledByPeer]);
    assert!(w.a(bob).established.is_empty(), "the cancelled call was never answered");
}

#[test]
fn a_call_nobody_answers_is_turned_away_with_480() {
    let mut w = World::new(5, Conditions::rough());
    let alice = w.agent("alice", Policy::Ignore);
    let addr = SocketAddr::from(([127, 0, 0, 2], 5060));
    let mut cfg = World::config(addr);
    cfg.ring_timeout = secs(8);
    let bob = w.agent_with("bob", Policy::Ignore, cfg);
    let to = w.uri(bob, "bob");
    w.at(ms(0), alice, Action::Call { to });
    w.run_for(SETTLE);
    w.assert_settled();
    let end = &w.ends(alice)[0];
    assert_eq!((end.cause, end.status), (EndCause::Failed, Some(480)));
    assert_eq!(end.reason, "No Answer", "the reason phrase the callee gave");
    let ended_at = w.a(alice).events.iter().find(|(_, e)| matches!(e, SessionEvent::Ended { .. })).map(|(t, _)| *t);
    assert!(ended_at.is_some_and(|t| t >= secs(8) && t < secs(20)), "turned away at the ring timeout: {ended_at:?}");
}

#[test]
fn a_source_over_its_call_rate_is_refused_with_503_until_the_next_second() {
    let mut w = World::new(4, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    let mut cfg = World::config(SocketAddr::from(([127, 0, 0, 2], 5060)));
    cfg.max_calls_per_source = Some(2);
    // Bob turns down every call he takes with 486, so each end tells who refused it.
    let bob = w.agent_with("bob", Policy::Reject(486), cfg);
    let to = w.uri(bob, "bob");
    for at in [ms(0), ms(10), ms(20), secs(3)] {
        w.at(at, alice, Action::Call { to: to.clone() });
    }
    w.run_for(SETTLE);
    w.assert_settled();
    let statuses: Vec<_> = w.ends(alice).iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(486), Some(486), Some(503), Some(486)], "the third call of the second is refused");
    assert_eq!(w.a(bob).core.counters().refused_source_limit, 1);
}

#[test]
fn a_rejected_call_reports_the_status() {
    let (mut w, alice, bob) = two_agents(2, Conditions::rough(), Policy::Reject(486));
    w.run_for(SETTLE);
    w.assert_settled();
    let end = &w.ends(alice)[0];
    assert_eq!((end.cause, end.status), (EndCause::Failed, Some(486)));
    assert_eq!(causes(&w, bob), [EndCause::Rejected]);
}

#[test]
fn crossing_holds_resolve_the_glare() {
    for seed in 0..20 {
        let (mut w, alice, bob) = two_agents(seed, Conditions::rough(), Policy::AnswerAfter(ms(50)));
        w.at(secs(3), alice, Action::Hold);
        w.at(secs(3), bob, Action::Hold);
        w.at(secs(20), alice, Action::Hangup);
        w.run_for(SETTLE);
        w.assert_settled();
        // Both holds completed: each side went on hold (the 491 loser retried, §14.1).
        for node in [alice, bob] {
            assert!(states(&w, node).contains(&SessionState::OnHold), "seed {seed}: {:?}", states(&w, node));
            let replies: Vec<_> = w.a(node).replies.values().collect();
            assert!(
                replies.iter().filter(|r| matches!(r, Ok(Answer::Unit))).count() >= 1,
                "seed {seed}: hold answered"
            );
        }
    }
}

/// Alice calls through a forking proxy to two phones of Bob's, each answering after its
/// own delay (or both at once). Every fork ends; Alice keeps one call.
fn forked(seed: u64, conditions: Conditions, first: Duration, second: Duration) -> (World, usize, usize, usize, usize) {
    let mut w = World::new(seed, conditions);
    let alice = w.agent("alice", Policy::Ignore);
    let bob1 = w.agent("bob1", Policy::AnswerAfter(first));
    let bob2 = w.agent("bob2", Policy::AnswerAfter(second));
    let proxy = w.proxy(&[bob1, bob2]);
    let to = w.uri(proxy, "bob");
    w.at(ms(0), alice, Action::Call { to });
    w.at(secs(20), alice, Action::Hangup);
    (w, alice, bob1, bob2, proxy)
}

#[test]
fn a_forked_call_is_answered_by_one_phone_and_the_other_is_cancelled() {
    for seed in 0..10 {
        let (mut w, alice, bob1, bob2, _) = forked(seed, Conditions::rough(), ms(500), secs(60));
        w.run_for(SETTLE);
        w.assert_settled();
        assert_eq!(causes(&w, alice), [EndCause::LocalHangup], "seed {seed}");
        assert_eq!(causes(&w, bob1), [EndCause::RemoteHangup], "seed {seed}");
        assert_eq!(causes(&w, bob2), [EndCause::CancelledByPeer], "seed {seed}: the proxy cancelled the other fork");
    }
}

#[test]
fn two_forks_answering_at_once_leave_one_call_and_end_the_other() {
    let mut both = 0;
    for seed in 0..20 {
        let (mut w, alice, bob1, bob2, proxy) = forked(seed, Conditions::rough(), ms(300), ms(300));
        w.run_for(SETTLE);
        w.assert_settled();
        assert_eq!(causes(&w, alice), [EndCause::LocalHangup], "seed {seed}: Alice keeps one call");
        let ends = [causes(&w, bob1), causes(&w, bob2)];
        let hung_up = ends.iter().filter(|c| **c == [EndCause::RemoteHangup]).count();
        assert!(hung_up >= 1, "seed {seed}: the phone that kept the call saw Alice hang up: {ends:?}");
        for c in &ends {
            assert!(
                matches!(c.as_slice(), [EndCause::RemoteHangup] | [EndCause::CancelledByPeer]),
                "seed {seed}: {ends:?}"
            );
        }
        if w.proxy_of(proxy).answered_branches == 2 {
            // Both answered: Alice ACKed both 2xx and sent the later fork a BYE at once
            // (RFC 3261 §13.2.2.4), so both phones see the far end hang up.
            both += 1;
            assert!(ends.iter().all(|c| *c == [EndCause::RemoteHangup]), "seed {seed}: {ends:?}");
        }
    }
    assert!(both > 0, "some seeds had both forks answer");
}

#[test]
fn a_forked_call_cancelled_by_the_caller_ends_every_fork() {
    let (mut w, alice, bob1, bob2, _) = forked(8, Conditions::rough(), secs(60), secs(60));
    w.at(secs(3), alice, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, alice), [EndCause::Cancelled]);
    assert_eq!(causes(&w, bob1), [EndCause::CancelledByPeer]);
    assert_eq!(causes(&w, bob2), [EndCause::CancelledByPeer]);
}

#[test]
fn registration_meets_423_and_401_then_refreshes_and_unregisters() {
    let mut w = World::new(9, Conditions::rough());
    let registrar = w.registrar("sim.example", "alice", "secret", 120);
    let alice = w.agent("alice", Policy::Ignore);
    let registrar_uri = format!("sip:{}", w.addr(registrar));
    let register =
        Action::Register { registrar: registrar_uri, user: "alice".into(), password: "secret".into(), expires: 60 };
    w.at(ms(0), alice, register);
    w.at(secs(400), alice, Action::Unregister);
    w.run_for(SETTLE);
    let r = w.registrar_of(registrar);
    assert!(r.too_brief >= 1, "60 s was refused with 423");
    assert!(r.challenges >= 1, "the REGISTER was challenged");
    let granted: Vec<_> = r.accepted.iter().filter(|a| a.expires > 0).collect();
    assert!(granted.len() >= 3, "refreshed before each expiry: {:?}", r.accepted);
    assert!(granted.iter().all(|a| a.expires == 120 && a.call_id == granted[0].call_id));
    assert!(granted.windows(2).all(|p| p[1].cseq > p[0].cseq), "CSeq rises: {:?}", r.accepted);
    assert_eq!(r.accepted.last().map(|a| a.expires), Some(0), "the binding was removed");
    let registered = w.a(alice).events.iter().any(|(_, e)| {
        matches!(e, SessionEvent::Registration { state: crate::api::RegistrationState::Registered { .. }, .. })
    });
    assert!(registered);
    w.assert_settled();
}

/// A shutdown removes the binding and stops as soon as the registrar confirmed, not at the
/// end of the grace it gives what does not end (10 s here).
#[test]
fn a_shutdown_unregisters_and_stops_without_waiting_out_its_grace() {
    let mut w = World::new(4, Conditions::perfect());
    let registrar = w.registrar("sim.example", "alice", "secret", 60);
    let alice = w.agent("alice", Policy::Ignore);
    let registrar_uri = format!("sip:{}", w.addr(registrar));
    let register =
        Action::Register { registrar: registrar_uri, user: "alice".into(), password: "secret".into(), expires: 300 };
    w.at(ms(0), alice, register);
    w.run_for(secs(5));
    let shutdown = w.command(alice, super::Command::Shutdown);
    w.run_for(secs(7));
    assert!(
        matches!(w.a(alice).replies.get(&shutdown), Some(Ok(super::Answer::Unit))),
        "stopped within 2 s of a 10 s grace"
    );
    assert_eq!(w.registrar_of(registrar).accepted.last().map(|a| a.expires), Some(0), "the binding was removed");
}

#[test]
fn calls_and_registrations_fail_over_to_the_next_target() {
    let mut w = World::new(4, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::AnswerAfter(ms(100)));
    let registrar = w.registrar("sim.example", "alice", "secret", 60);
    let dead = Target { transport: Transport::Udp, addr: SocketAddr::from(([127, 0, 0, 99], 5060)), host: "x".into() };
    let target = |addr| Target { transport: Transport::Udp, addr, host: "sim.example".into() };
    w.dns.insert("bob.example".into(), vec![dead.clone(), target(w.addr(bob))]);
    w.dns.insert("reg.example".into(), vec![dead, target(w.addr(registrar))]);
    w.at(ms(0), alice, Action::Call { to: "sip:bob@bob.example".into() });
    let register = Action::Register {
        registrar: "sip:reg.example".into(),
        user: "alice".into(),
        password: "secret".into(),
        expires: 600,
    };
    w.at(ms(0), alice, register);
    w.at(secs(60), alice, Action::Hangup);
    w.at(secs(60), alice, Action::Unregister);
    w.run_for(SETTLE);
    w.assert_settled();
    assert!(w.a(bob).established.len() == 1, "the call reached Bob after the first target timed out");
    assert_eq!(causes(&w, alice), [EndCause::LocalHangup]);
    assert!(w.registrar_of(registrar).accepted.iter().any(|a| a.expires == 600), "registered at the second target");
}

#[test]
fn a_request_outside_dialogs_leaves_a_silent_target_at_its_deadline_and_says_so() {
    let mut w = World::new(5, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::Ignore);
    let dead_addr = SocketAddr::from(([127, 0, 0, 99], 5060));
    let dead = Target { transport: Transport::Udp, addr: dead_addr, host: "x".into() };
    let bob_target = Target { transport: Transport::Udp, addr: w.addr(bob), host: "bob.example".into() };
    w.dns.insert("bob.example".into(), vec![dead, bob_target]);
    let request = crate::core::OutsideRequest {
        method: sip_message::Method::Options,
        uri: "sip:bob.example".into(),
        headers: Vec::new(),
        body: None,
        target_timeout: Some(secs(2)),
        from: None,
    };
    let reply = w.command(alice, super::Command::Request(request));
    w.run_for(secs(60));
    let Some(Ok(Answer::Response(r))) = w.a(alice).replies.get(&reply) else {
        panic!("no answer: {:?}", w.a(alice).replies.get(&reply))
    };
    assert_eq!(r.status, 200, "Bob's agent answers OPTIONS");
    assert_eq!(r.answered_by, Some((Transport::Udp, w.addr(bob))));
    assert_eq!(r.failed_over.len(), 1, "{:?}", r.failed_over);
    assert_eq!((r.failed_over[0].addr, r.failed_over[0].status), (dead_addr, None));
    assert!(r.failed_over[0].reason.contains("timed out"), "{}", r.failed_over[0].reason);
    assert!(r.elapsed < secs(1), "the round trip to Bob, not the wait on the dead target: {:?}", r.elapsed);
    let last = w.last_sent_to.get(&dead_addr).copied().unwrap_or_default();
    assert!(last < secs(2), "nothing went to the abandoned target after its deadline (last at {last:?})");
    w.assert_settled();
}

#[test]
fn a_new_address_is_registered_and_refreshed_into_the_call_so_the_peer_reaches_us_there() {
    let mut w = World::new(8, Conditions::perfect());
    let mut cfg = World::config(SocketAddr::from(([127, 0, 0, 1], 5060)));
    cfg.media.ip = std::net::Ipv4Addr::UNSPECIFIED.into();
    let alice = w.agent_with("alice", Policy::Ignore, cfg);
    let bob = w.agent("bob", Policy::AnswerAfter(ms(100)));
    let registrar = w.registrar("sim.example", "alice", "secret", 60);
    let register = Action::Register {
        registrar: format!("sip:{}", w.addr(registrar)),
        user: "alice".into(),
        password: "secret".into(),
        expires: 600,
    };
    w.at(ms(0), alice, register);
    w.at(ms(0), alice, Action::Call { to: w.uri(bob, "bob") });
    w.run_for(secs(5));
    assert_eq!(w.a(bob).established.len(), 1, "the call is up before the move");
    let moved: std::net::IpAddr = [127, 0, 0, 77].into();
    w.move_agent(alice, moved);
    w.run_for(secs(10));

    let last = w.registrar_of(registrar).accepted.last().cloned().expect("a REGISTER after the move");
    assert_eq!(last.contacts.len(), 2, "{:?}", last.contacts);
    assert!(last.contacts[0].contains("127.0.0.77:5060") && !last.contacts[0].contains("expires=0"), "{last:?}");
    assert!(last.contacts[1].contains("127.0.0.1:5060") && last.contacts[1].ends_with(";expires=0"), "{last:?}");
    let bob_call = *w.a(bob).sessions.keys().next().expect("Bob's session");
    let info = w.command(bob, super::Command::MediaInfo { id: bob_call });
    let Some(Ok(Answer::MediaInfo(info))) = w.a(bob).replies.get(&info) else { panic!("no media info") };
    let remote = info.remote_sdp.clone().unwrap_or_default();
    assert!(remote.contains("c=IN IP4 127.0.0.77"), "the re-INVITE's SDP names the new address:\n{remote}");
    let told =
        w.a(alice).events.iter().any(|(_, e)| matches!(e, SessionEvent::AddressChanged { to, .. } if to.ip() == moved));
    assert!(told, "the application hears of the change");

    // Bob's BYE goes to the Contact of the refresh: the old address no longer routes.
    w.at(secs(20), bob, Action::Hangup);
    w.at(secs(20), alice, Action::Unregister);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, alice), [EndCause::RemoteHangup]);
    assert_eq!(causes(&w, bob), [EndCause::LocalHangup]);
    assert_eq!(
        w.registrar_of(registrar).accepted.last().map(|a| a.expires),
        Some(0),
        "unregistered from the new address"
    );
}

#[test]
fn a_blind_transfer_connects_the_peer_to_the_target_and_ends_the_transferors_call() {
    for seed in 0..20 {
        blind_transfer(seed);
    }
}

/// Alice calls Bob and transfers him to Carol, on a rough network.
fn blind_transfer(seed: u64) {
    let mut w = World::new(seed, Conditions::rough());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::AnswerAfter(ms(100)));
    let carol = w.agent("carol", Policy::AnswerAfter(ms(500)));
    w.at(ms(0), alice, Action::Call { to: w.uri(bob, "bob") });
    w.at(secs(5), alice, Action::Transfer { to: w.uri(carol, "carol") });
    w.run_for(secs(30));
    assert_eq!(causes(&w, alice), [EndCause::Transferred], "Alice hung up once Carol answered");
    let bob_calls: Vec<_> = w.a(bob).sessions.iter().map(|(id, end)| (*id, end.as_ref().map(|e| e.cause))).collect();
    assert_eq!(bob_calls.len(), 2, "Bob's call from Alice and his call to Carol: {bob_calls:?}");
    assert_eq!(bob_calls[0].1, Some(EndCause::RemoteHangup), "Alice's BYE");
    assert_eq!(bob_calls[1].1, None, "Bob talks to Carol");
    assert_eq!(w.a(carol).established.len(), 1);
    let progress: Vec<(u16, bool)> = w
        .a(alice)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::TransferProgress { status, done, .. } => Some((*status, *done)),
            _ => None,
        })
        .collect();
    // The REFER's 202 may come after a NOTIFY that overtook it on the way.
    assert!(progress.iter().take(2).any(|p| *p == (202, false) || *p == (100, false)), "{progress:?}");
    assert_eq!(progress.iter().filter(|(_, done)| *done).count(), 1, "one last word: {progress:?}");
    assert!(progress.contains(&(200, true)), "{progress:?}");
    assert!(progress.contains(&(100, false)), "the transferee's NOTIFY 100 Trying: {progress:?}");
    let told = w
        .a(bob)
        .events
        .iter()
        .any(|(_, e)| matches!(e, SessionEvent::Transferring { target, .. } if target.contains("carol")));
    assert!(told, "Bob's application hears of the transfer");

    w.at(secs(40), bob, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, carol), [EndCause::RemoteHangup]);
}

#[test]
fn an_info_body_reaches_the_peers_application_and_a_second_waits_for_the_first() {
    let mut w = World::new(3, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::AnswerAfter(ms(100)));
    w.at(ms(0), alice, Action::Call { to: w.uri(bob, "bob") });
    w.run_for(secs(2));
    let call = *w.a(alice).sessions.keys().next().expect("Alice's call");
    let info =
        |body: &str| super::Command::Info { id: call, content_type: "application/x-crm".into(), body: body.into() };
    let first = w.command(alice, info("ticket=17"));
    let second = w.command(alice, info("ticket=18"));
    assert!(matches!(w.a(alice).replies.get(&first), Some(Ok(Answer::Unit))));
    assert!(
        matches!(w.a(alice).replies.get(&second), Some(Err(crate::error::SessionError::InvalidState { .. }))),
        "one INFO at a time: {:?}",
        w.a(alice).replies.get(&second)
    );
    w.run_for(secs(4));
    let bodies: Vec<(Option<String>, Vec<u8>)> = w
        .a(bob)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Info { content_type, body, .. } => Some((content_type.clone(), body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, [(Some("application/x-crm".to_owned()), b"ticket=17".to_vec())]);
    let third = w.command(alice, info("ticket=18"));
    assert!(matches!(w.a(alice).replies.get(&third), Some(Ok(Answer::Unit))), "the first was answered");
    w.at(secs(10), alice, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
}

#[test]
fn early_media_starts_both_streams_before_the_answer_and_the_200_repeats_its_sdp() {
    let mut w = World::new(4, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::Ignore);
    w.at(ms(0), alice, Action::Call { to: w.uri(bob, "bob") });
    w.run_for(secs(1));
    let at_bob = *w.a(bob).sessions.keys().next().expect("Bob's ringing call");
    let at_alice = *w.a(alice).sessions.keys().next().expect("Alice's call");
    let early = w.command(bob, super::Command::EarlyMedia { id: at_bob });
    w.run_for(secs(2));
    assert!(matches!(w.a(bob).replies.get(&early), Some(Ok(Answer::Unit))), "{:?}", w.a(bob).replies.get(&early));
    assert!(w.a(bob).media_started.contains(&at_bob), "Bob's stream runs before he answers");
    assert!(w.a(alice).media_started.contains(&at_alice), "Alice's stream runs on the 183's answer");
    assert!(w.a(alice).established.is_empty(), "not answered yet");
    let progress: Vec<u16> = w
        .a(alice)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Progress { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert!(progress.contains(&183), "{progress:?}");
    let again = w.command(bob, super::Command::EarlyMedia { id: at_bob });
    assert!(matches!(w.a(bob).replies.get(&again), Some(Err(crate::error::SessionError::InvalidState { .. }))));
    let local_early = {
        let info = w.command(bob, super::Command::MediaInfo { id: at_bob });
        match w.a(bob).replies.get(&info) {
            Some(Ok(Answer::MediaInfo(m))) => m.local_sdp.clone(),
            other => panic!("{other:?}"),
        }
    };

    w.at(secs(3), bob, Action::Decide { id: at_bob, decision: crate::api::CallDecision::Accept(None) });
    w.run_for(secs(5));
    assert_eq!(w.a(bob).established.len(), 1);
    assert_eq!(w.a(alice).established.len(), 1);
    let info = w.command(alice, super::Command::MediaInfo { id: at_alice });
    let Some(Ok(Answer::MediaInfo(m))) = w.a(alice).replies.get(&info) else { panic!("media info") };
    assert_eq!(m.remote_sdp, local_early, "the 200 carried the 183's answer");
    w.at(secs(8), alice, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
}

#[test]
fn an_attended_transfer_replaces_the_consultation_call_at_the_target() {
    for seed in 0..10 {
        attended_transfer(seed);
    }
}

/// Alice talks to Bob, consults Carol, and hands Bob over to Carol (Replaces).
fn attended_transfer(seed: u64) {
    let mut w = World::new(seed, Conditions::rough());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::AnswerAfter(ms(100)));
    let carol = w.agent("carol", Policy::AnswerAfter(ms(100)));
    w.at(ms(0), alice, Action::Call { to: w.uri(bob, "bob") });
    w.at(secs(3), alice, Action::Call { to: w.uri(carol, "carol") });
    w.run_for(secs(8));
    let calls: Vec<_> = w.a(alice).sessions.keys().copied().collect();
    assert_eq!(calls.len(), 2, "seed {seed}: Alice's two calls");
    let (to_bob, to_carol) = (calls[0], calls[1]);
    w.command(alice, super::Command::TransferAttended { id: to_bob, to: to_carol });
    w.run_for(secs(30));
    let ends = |node| w.a(node).sessions.values().map(|e| e.as_ref().map(|e| e.cause)).collect::<Vec<_>>();
    assert_eq!(ends(alice), [Some(EndCause::Transferred), Some(EndCause::RemoteHangup)], "seed {seed}");
    assert_eq!(ends(carol), [Some(EndCause::Replaced), None], "seed {seed}: Carol talks to Bob now");
    assert_eq!(ends(bob), [Some(EndCause::RemoteHangup), None], "seed {seed}: Bob talks to Carol now");
    let replaced = w.a(carol).events.iter().any(|(_, e)| matches!(e, SessionEvent::Replaced { .. }));
    assert!(replaced, "seed {seed}");
    w.at(secs(40), bob, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
}

#[test]
fn a_cancel_follows_its_invite_to_the_target_it_failed_over_to() {
    let mut w = World::new(6, Conditions::rough());
    let alice = w.agent("alice", Policy::Ignore);
    let bob = w.agent("bob", Policy::AnswerAfter(secs(120)));
    let dead = Target { transport: Transport::Udp, addr: SocketAddr::from(([127, 0, 0, 99], 5060)), host: "x".into() };
    let bob_target = Target { transport: Transport::Udp, addr: w.addr(bob), host: "bob.example".into() };
    w.dns.insert("bob.example".into(), vec![dead, bob_target]);
    w.at(ms(0), alice, Action::Call { to: "sip:bob@bob.example".into() });
    // Timer B ends the first attempt at 32 s; Bob is ringing by 40 s.
    w.at(secs(40), alice, Action::Hangup);
    w.run_for(SETTLE);
    w.assert_settled();
    assert_eq!(causes(&w, alice), [EndCause::Cancelled]);
    assert_eq!(causes(&w, bob), [EndCause::CancelledByPeer]);
}

#[test]
fn a_name_that_does_not_resolve_is_named_as_the_cause() {
    let mut w = World::new(1, Conditions::perfect());
    let alice = w.agent("alice", Policy::Ignore);
    w.at(ms(0), alice, Action::Call { to: "sip:bob@nowhere.invalid".into() });
    w.run_for(SETTLE);
    w.assert_settled();
    let end = &w.ends(alice)[0];
    assert_eq!(end.cause, EndCause::Unreachable);
    assert!(end.reason.contains("nowhere.invalid"), "{}", end.reason);
    let cause = end.unreachable.as_ref().map(|u| &u.cause);
    assert!(
        matches!(cause, Some(crate::error::UnreachableCause::Resolve(sip_resolve::ResolveError::NotFound { .. }))),
        "{cause:?}"
    );
}

/// One of the flows, chosen and timed by the seed.
fn random_flow(seed: u64) -> World {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed ^ 0x5eed);
    let answer = match rng.gen_range(0..6) {
        0 => Policy::Reject(603),
        1 => Policy::Ignore,
        _ => Policy::AnswerAfter(ms(rng.gen_range(0..3000))),
    };
    let (mut w, alice, bob) = two_agents(seed, Conditions::rough(), answer);
    let t = |rng: &mut rand::rngs::SmallRng| ms(rng.gen_range(0..8000));
    for _ in 0..rng.gen_range(0..4) {
        let who = if rng.gen_bool(0.5) { alice } else { bob };
        let action = if rng.gen_bool(0.5) { Action::Hold } else { Action::Resume };
        let at = t(&mut rng);
        w.at(at, who, action);
    }
    let who = if rng.gen_bool(0.5) { alice } else { bob };
    let at = t(&mut rng) + secs(2);
    w.at(at, who, Action::Hangup);
    // Whoever did not hang up first hangs up later, in case the first one was too early.
    w.at(secs(200), alice, Action::Hangup);
    w
}

#[test]
fn over_hundreds_of_seeds_every_call_ends_on_both_sides_and_nothing_is_left() {
    let mut calls_up = 0;
    for seed in 0..300 {
        let mut w = random_flow(seed);
        w.run_for(SETTLE);
        w.assert_settled();
        let (alice, bob) = (0, 1);
        assert_eq!(w.ends(alice).len(), 1, "seed {seed}: Alice made one call and it ended");
        assert!(w.ends(bob).len() <= 1, "seed {seed}");
        calls_up += usize::from(!w.a(alice).established.is_empty());
    }
    assert!(calls_up > 100, "most seeds answer the call: {calls_up}");
}
