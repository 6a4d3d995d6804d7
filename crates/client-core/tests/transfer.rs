//! Call transfer through kamailio with PJSIP (pjsua2) as the third party, both ways:
//!
//! - agent 1 calls PJSIP and transfers it to agent 2 (a blind REFER): PJSIP calls agent 2,
//!   its NOTIFYs reach agent 1 as progress, agent 1's call ends as transferred, and PJSIP's
//!   tone reaches agent 2;
//! - PJSIP calls agent 1 and transfers it to agent 2: agent 1 hears the request, calls
//!   agent 2, and the two talk;
//! - attended: agent 1 talks to PJSIP, consults agent 2, and hands PJSIP over; PJSIP's
//!   INVITE with Replaces takes over agent 2's consultation call;
//! - without progress reports (RFC 4488 `Refer-Sub: false`), with PJSIP as the transferee
//!   and with sipp as the transferor.

use client_core::{AccountConfig, CallState, ClientBuilder, ClientEvent, ClientManager, EndCause, RegistrationState};
use sip_testpeers::{require_peers, AnswerMode, Kamailio, KamailioOptions, PhoneEvent, Pjsua, PjsuaOptions, Transport};
use std::sync::Arc;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(15);
const PHONE_TONE: u32 = 440;
const AGENT_TONE: f32 = 1000.0;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

/// An agent registered with kamailio, answering at once, sending its tone.
async fn agent(k: &Kamailio, user: &str, password: &str) -> Arc<ClientManager> {
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let c = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .account(AccountConfig::new(user, Some(password.into()), registrar))
        .auto_answer(true)
        .tone(Some(AGENT_TONE))
        .build()
        .await
        .expect("config");
    let mut events = c.subscribe_events();
    c.start().await.expect("start");
    let registered = tokio::time::timeout(PATIENCE, async {
        while let Ok(e) = events.recv().await {
            if matches!(e, ClientEvent::RegistrationStateChanged { state: RegistrationState::Registered { .. }, .. }) {
                return;
            }
        }
    })
    .await;
    assert!(registered.is_ok() || c.get_all_registrations().iter().all(|r| r.is_registered()), "{user} registered");
    c
}

/// PJSIP registered as "phone", answering at once, sending its tone.
async fn phone(k: &Kamailio) -> Pjsua {
    let registrar = k.addr(Transport::Udp);
    blocking(move || {
        Pjsua::start(
            PjsuaOptions::new()
                .register("phone", "phonepw", registrar)
                .answer_mode(AnswerMode::Auto)
                .tone_hz(PHONE_TONE),
        )
    })
    .await
    .expect("pjsua")
}

fn kamailio() -> Kamailio {
    Kamailio::start(KamailioOptions::new().user("agent1", "pw1").user("agent2", "pw2").user("phone", "phonepw"))
        .expect("kamailio")
}

/// The next call of `agent` that reaches Active, waited for.
async fn next_active(events: &mut client_core::broadcast::Receiver<ClientEvent>) -> client_core::CallId {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::CallStateChanged { id, new: CallState::Active, .. }) = events.recv().await {
                return id;
            }
        }
    })
    .await
    .expect("a call answered in time")
}

/// Waits until `agent`'s call `id` has received audio whose main tone is `hz`.
async fn hears(agent: &ClientManager, id: client_core::CallId, hz: f32) -> bool {
    let until = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(audio) = agent.get_received_audio(id).await else { continue };
        if audio.len() >= 4000 && client_core::dominant_tone(&audio, &[440.0, 1000.0], 8000, 0.6) == Some(hz) {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_transfers_pjsip_to_another_agent_through_kamailio() {
    require_peers();
    let k = kamailio();
    let phone = phone(&k).await;
    let agent1 = agent(&k, "agent1", "pw1").await;
    let agent2 = agent(&k, "agent2", "pw2").await;
    let mut events1 = agent1.subscribe_events();
    let mut events2 = agent2.subscribe_events();
    let domain = k.addr(Transport::Udp);

    let call = agent1.make_call(&format!("sip:agent1@{domain}"), &format!("sip:phone@{domain}")).await.expect("call");
    agent1.wait_for_answer(call, PATIENCE).await.expect("PJSIP answers");
    agent1.transfer_call(call, &format!("sip:agent2@{domain}")).await.expect("PJSIP accepts the REFER");

    // Agent 2 gets PJSIP's call, and hears PJSIP's tone on it.
    let at_agent2 = next_active(&mut events2).await;
    let incoming = agent2.get_call(at_agent2).expect("the call at agent 2");
    assert!(incoming.remote_uri.contains("phone"), "the call comes from PJSIP: {incoming:?}");
    assert!(hears(&agent2, at_agent2, PHONE_TONE as f32).await, "PJSIP's tone reaches agent 2");

    // Agent 1 heard the progress and its call ended as transferred.
    let ended = tokio::time::timeout(PATIENCE, agent1.wait_for_end(call)).await.expect("in time").expect("end");
    assert_eq!(ended.end.map(|e| e.cause), Some(EndCause::Transferred));
    let mut progress = Vec::new();
    while let Ok(e) = events1.try_recv() {
        if let ClientEvent::TransferProgress { status, done, .. } = e {
            progress.push((status, done));
        }
    }
    assert!(progress.contains(&(200, true)), "the last NOTIFY says 200: {progress:?}");
    assert!(progress.iter().any(|(s, _)| *s == 202), "the REFER's 202: {progress:?}");

    agent2.hangup_call(at_agent2).await.expect("hang up");
    let _ = blocking(move || phone.wait_until(PATIENCE, |e| matches!(e, PhoneEvent::Closed { .. }))).await;
    agent1.stop().await;
    agent2.stop().await;
}

/// RFC 4488, the transferor's side: agent 1 transfers PJSIP without asking for progress
/// (`Refer-Sub: false`); PJSIP agrees in its 202, so agent 1's call ends as transferred
/// with the 202 alone, and PJSIP still calls agent 2, who hears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_without_progress_ends_with_the_202() {
    require_peers();
    let k = kamailio();
    let phone = phone(&k).await;
    let agent1 = agent(&k, "agent1", "pw1").await;
    let agent2 = agent(&k, "agent2", "pw2").await;
    let mut events1 = agent1.subscribe_events();
    let mut events2 = agent2.subscribe_events();
    let domain = k.addr(Transport::Udp);

    let call = agent1.make_call(&format!("sip:agent1@{domain}"), &format!("sip:phone@{domain}")).await.expect("call");
    agent1.wait_for_answer(call, PATIENCE).await.expect("PJSIP answers");
    let options = client_core::TransferOptions { progress: false };
    agent1.transfer_call_with(call, &format!("sip:agent2@{domain}"), options).await.expect("PJSIP accepts");
    let ended = tokio::time::timeout(PATIENCE, agent1.wait_for_end(call)).await.expect("in time").expect("end");
    assert_eq!(ended.end.map(|e| e.cause), Some(EndCause::Transferred));
    let mut progress = Vec::new();
    while let Ok(e) = events1.try_recv() {
        if let ClientEvent::TransferProgress { status, done, .. } = e {
            progress.push((status, done));
        }
    }
    assert_eq!(progress, vec![(202, true)], "PJSIP agreed to send no NOTIFY");

    let at_agent2 = next_active(&mut events2).await;
    assert!(hears(&agent2, at_agent2, PHONE_TONE as f32).await, "PJSIP's tone reaches agent 2");
    agent2.hangup_call(at_agent2).await.expect("hang up");
    let _ = blocking(move || phone.wait_until(PATIENCE, |e| matches!(e, PhoneEvent::Closed { .. }))).await;
    agent1.stop().await;
    agent2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pjsip_transfers_an_agent_who_calls_the_target() {
    require_peers();
    let k = kamailio();
    let phone = Arc::new(phone(&k).await);
    let agent1 = agent(&k, "agent1", "pw1").await;
    let agent2 = agent(&k, "agent2", "pw2").await;
    let mut events1 = agent1.subscribe_events();
    let mut events2 = agent2.subscribe_events();
    let domain = k.addr(Transport::Udp);

    let p = phone.clone();
    let to = format!("sip:agent1@{domain}");
    blocking(move || p.call(&to)).await.expect("PJSIP calls agent 1");
    let first = next_active(&mut events1).await;
    let p = phone.clone();
    blocking(move || p.wait_until(PATIENCE, |e| matches!(e, PhoneEvent::Established))).await.expect("up at PJSIP");

    let p = phone.clone();
    let target = format!("sip:agent2@{domain}");
    blocking(move || p.transfer(&target)).await.expect("PJSIP sends REFER");
    let (requested, new_call) = tokio::time::timeout(PATIENCE, async {
        let mut requested = None;
        loop {
            match events1.recv().await {
                Ok(ClientEvent::TransferRequested { request }) => requested = Some(request),
                Ok(ClientEvent::Transferring { id, new_call, .. }) if id == first => return (requested, new_call),
                _ => {}
            }
        }
    })
    .await
    .expect("agent 1 takes the transfer");
    let requested = requested.expect("the request came first");
    assert!(requested.target.contains("agent2"), "{requested:?}");
    assert!(requested.referred_by.is_none() || requested.referred_by.as_deref().is_some_and(|r| r.contains("phone")));

    // Agent 1's new call reaches agent 2, and each hears the other's tone.
    let at_agent2 = next_active(&mut events2).await;
    agent1.wait_for_answer(new_call, PATIENCE).await.expect("agent 2 answers agent 1's new call");
    assert!(hears(&agent2, at_agent2, AGENT_TONE).await, "agent 1's tone reaches agent 2");
    let made = agent1.get_call(new_call).expect("the new call");
    assert_eq!(made.metadata.get("transferred_from").map(String::as_str), Some(first.to_string().as_str()));

    agent1.hangup_call(new_call).await.expect("hang up the new call");
    let _ = agent1.hangup_call(first).await;
    agent1.stop().await;
    agent2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attended_transfer_hands_pjsip_over_to_the_consulted_agent() {
    require_peers();
    let k = kamailio();
    let phone = phone(&k).await;
    let agent1 = agent(&k, "agent1", "pw1").await;
    let agent2 = agent(&k, "agent2", "pw2").await;
    let mut events2 = agent2.subscribe_events();
    let domain = k.addr(Transport::Udp);
    let from = format!("sip:agent1@{domain}");

    let customer = agent1.make_call(&from, &format!("sip:phone@{domain}")).await.expect("call PJSIP");
    agent1.wait_for_answer(customer, PATIENCE).await.expect("PJSIP answers");
    agent1.hold_call(customer).await.expect("hold the customer");
    let consult = agent1.make_call(&from, &format!("sip:agent2@{domain}")).await.expect("consult agent 2");
    agent1.wait_for_answer(consult, PATIENCE).await.expect("agent 2 answers");
    let consulted_at_agent2 = next_active(&mut events2).await;

    agent1.transfer_call_attended(customer, consult).await.expect("PJSIP accepts the REFER");
    // PJSIP's INVITE with Replaces takes over agent 2's consultation call.
    let replaced = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::CallReplaced { old, new }) = events2.recv().await {
                return (old, new);
            }
        }
    })
    .await
    .expect("agent 2 sees the replacement");
    assert_eq!(replaced.0, consulted_at_agent2);
    let taken_over = tokio::time::timeout(PATIENCE, agent2.wait_for_end(consulted_at_agent2)).await.expect("in time");
    assert_eq!(taken_over.expect("end").end.map(|e| e.cause), Some(EndCause::Replaced));
    assert!(hears(&agent2, replaced.1, PHONE_TONE as f32).await, "PJSIP's tone reaches agent 2 on the new call");
    // Either side may end the first call once the transfer is through (RFC 5589 §7.1):
    // PJSIP sends its BYE as soon as the new call is up, often before its last NOTIFY.
    let ended = tokio::time::timeout(PATIENCE, agent1.wait_for_end(customer)).await.expect("in time").expect("end");
    let cause = ended.end.map(|e| e.cause);
    assert!(matches!(cause, Some(EndCause::Transferred | EndCause::RemoteHangup)), "{cause:?}");
    let ended = tokio::time::timeout(PATIENCE, agent1.wait_for_end(consult)).await.expect("in time").expect("end");
    assert_eq!(ended.end.map(|e| e.cause), Some(EndCause::RemoteHangup), "agent 2 hung up the replaced call");

    agent2.hangup_call(replaced.1).await.expect("hang up");
    let _ = blocking(move || phone.wait_until(PATIENCE, |e| matches!(e, PhoneEvent::Closed { .. }))).await;
    agent1.stop().await;
    agent2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_replacing_no_call_is_refused_with_481_and_rings_nobody() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let client =
        ClientBuilder::new().local_address("127.0.0.1:0".parse().expect("addr")).build().await.expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    let addr = client.local_address().expect("address");
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/replaces_nobody_uac.xml"));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("agent").calls(1)).expect("sipp");
    let code = blocking(move || sipp.wait(PATIENCE)).await.expect("sipp ends");
    assert_eq!(code, 0, "sipp got its 481");
    while let Ok(e) = events.try_recv() {
        assert!(!matches!(e, ClientEvent::IncomingCall { .. }), "nobody was rung: {e}");
    }
    assert!(client.list_calls().is_empty());
    client.stop().await;
}

/// Bad input in a call (RFC 3515 §2.4.1, RFC 6665 §4.1.3): a REFER whose Refer-To is no
/// URI and one with two Refer-To headers get 400; a NOTIFY for a transfer nobody started
/// gets 481; the call survives all three and ends with the caller's BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_refers_get_400_and_a_stray_notify_481_and_the_call_survives() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .auto_answer(true)
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    let addr = client.local_address().expect("address");
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/refer_bad_uac.xml"));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("agent").calls(1)).expect("sipp");
    let code = blocking(move || sipp.wait(PATIENCE)).await.expect("sipp ends");
    assert_eq!(code, 0, "sipp got 400, 400, 481 and the BYE's 200");
    let mut ended = None;
    while let Ok(e) = events.try_recv() {
        assert!(!matches!(e, ClientEvent::TransferRequested { .. } | ClientEvent::Transferring { .. }), "{e}");
        if let ClientEvent::CallEnded { call } = e {
            ended = call.end.map(|e| e.cause);
        }
    }
    assert_eq!(ended, Some(EndCause::RemoteHangup), "the call survived until the caller's BYE");
    client.stop().await;
}

/// Early media as the caller: PJSIP answers 183 with SDP and its tone before the 200; the
/// agent's stream runs on the 183's answer (it receives PJSIP's audio while ringing), and
/// the 200 changes nothing. PJSIP requires 100rel, so its 183 is PRACKed (RFC 3262).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_receives_early_media_from_a_183() {
    require_peers();
    let k = kamailio();
    let registrar = k.addr(Transport::Udp);
    // PJSIP requires 100rel: its 183 comes reliably and must be PRACKed (RFC 3262).
    let options = PjsuaOptions::new().register("phone", "phonepw", registrar).tone_hz(PHONE_TONE).require_100rel();
    let phone = blocking(move || Pjsua::start(options)).await.expect("pjsua");
    let agent1 = agent(&k, "agent1", "pw1").await;
    let call =
        agent1.make_call(&format!("sip:agent1@{registrar}"), &format!("sip:phone@{registrar}")).await.expect("call");
    let phone = Arc::new(phone);
    let p = phone.clone();
    blocking(move || p.wait_until(PATIENCE, |e| matches!(e, PhoneEvent::Incoming { .. }))).await.expect("rings");
    let p = phone.clone();
    blocking(move || p.answer(183)).await.expect("183 with SDP");
    assert!(hears(&agent1, call, PHONE_TONE as f32).await, "PJSIP's tone arrives while ringing");
    assert_eq!(agent1.get_call(call).map(|c| c.state), Some(CallState::Ringing), "not answered yet");
    let p = phone.clone();
    blocking(move || p.answer(200)).await.expect("200");
    agent1.wait_for_answer(call, PATIENCE).await.expect("answered");
    assert!(hears(&agent1, call, PHONE_TONE as f32).await, "the media goes on after the 200");
    let log = phone.log();
    assert!(log.contains("Require: 100rel") && log.contains("RAck: "), "PJSIP's reliable 183 was PRACKed");
    agent1.hangup_call(call).await.expect("hang up");
    agent1.stop().await;
}

/// What [`sipp_transfers_the_agent`] leaves: the agent (with the events it emitted), the
/// target, the target's end of the new call, and how sipp's scenario ended.
struct SippTransfer {
    agent: Arc<ClientManager>,
    events: client_core::broadcast::Receiver<ClientEvent>,
    target: Arc<ClientManager>,
    at_target: client_core::CallId,
    code: i32,
    report: String,
}

/// sipp calls an answering agent with `scenario`, which transfers it to another answering
/// client (the scenario's global `target`); returns once the target's call is up and sipp
/// has ended.
async fn sipp_transfers_the_agent(scenario: &str) -> SippTransfer {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let answering = || {
        ClientBuilder::new()
            .local_address("127.0.0.1:0".parse().expect("addr"))
            .auto_answer(true)
            .tone(Some(AGENT_TONE))
    };
    let agent = answering().build().await.expect("config");
    let target = answering().build().await.expect("config");
    let events = agent.subscribe_events();
    let mut target_events = target.subscribe_events();
    agent.start().await.expect("start");
    target.start().await.expect("start");
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(scenario));
    let options = SippOptions::uac(scenario, agent.local_address().expect("address"))
        .service("agent")
        .set("target", target.local_address().expect("address").to_string())
        .calls(1);
    let mut sipp = Sipp::start(options).expect("sipp");
    let at_target = next_active(&mut target_events).await;
    let (code, report) = blocking(move || (sipp.wait(PATIENCE), sipp.report())).await;
    SippTransfer { agent, events, target, at_target, code: code.expect("sipp ends"), report }
}

/// RFC 4488, the transferee's side: the caller (sipp) transfers the agent with a REFER
/// saying `Refer-Sub: false` (after one whose Refer-Sub is garbage, 400). The 202 agrees,
/// no NOTIFY follows (sipp fails on any request), and the agent still calls the target,
/// which answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refer_without_subscription_is_followed_without_notifies() {
    let SippTransfer { agent, mut events, target, at_target, code, report } =
        sipp_transfers_the_agent("refer_nosub_uac.xml").await;
    assert_eq!(code, 0, "sipp got 400, then a 202 saying Refer-Sub: false, no NOTIFY, and its BYE answered:\n{report}");
    let mut requested = 0;
    let mut new_call = None;
    while let Ok(e) = events.try_recv() {
        match e {
            ClientEvent::TransferRequested { .. } => requested += 1,
            ClientEvent::Transferring { new_call: c, .. } => new_call = Some(c),
            _ => {}
        }
    }
    assert_eq!(requested, 1, "only the good REFER reached the application");
    let new_call = new_call.expect("the agent called the target");
    assert_eq!(agent.get_call(new_call).map(|c| c.state), Some(CallState::Active));
    assert!(hears(&target, at_target, AGENT_TONE).await, "the agent's new call carries audio to the target");
    agent.hangup_call(new_call).await.expect("hang up");
    agent.stop().await;
    target.stop().await;
}

/// A blind transfer from sipp (RFC 3515): the caller REFERs the agent to another client;
/// the agent answers 202, calls the target, and reports the new call's progress in NOTIFYs
/// (Event: refer, message/sipfrag) until one with a 2xx ends the subscription — all of
/// which sipp checks — and the target hears the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refer_from_sipp_is_followed_and_its_progress_notified() {
    let SippTransfer { agent, target, at_target, code, report, .. } =
        sipp_transfers_the_agent("refer_notify_uac.xml").await;
    assert_eq!(code, 0, "sipp got the 202 and NOTIFYs ending with a 2xx sipfrag:\n{report}");
    assert!(hears(&target, at_target, AGENT_TONE).await, "the agent's new call carries audio to the target");
    let _ = target.hangup_call(at_target).await;
    agent.stop().await;
    target.stop().await;
}
