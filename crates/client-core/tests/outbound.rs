//! SIP outbound (RFC 5626) against kamailio: an agent registered over TCP notices when the
//! registrar restarts (its connection closes; a registrar that vanished silently is caught by
//! the CRLF keep-alive instead) and registers again over a new connection, backing off while
//! kamailio is still down. kamailio's location service lives in memory, so the binding it
//! holds afterwards proves the new REGISTER.

use client_core::{AccountConfig, ClientBuilder, ClientEvent, RegistrationState};
use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);
/// A domain kamailio takes as its own, for addresses of record (and so GRUUs) in it.
const DOMAIN: &str = "sipline.test";

/// The next registration state the agent reports.
async fn next_state(events: &mut client_core::broadcast::Receiver<ClientEvent>) -> RegistrationState {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(ClientEvent::RegistrationStateChanged { state, .. }) => return state,
                Ok(_) | Err(client_core::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await
    .expect("a registration event")
}

async fn registered(events: &mut client_core::broadcast::Receiver<ClientEvent>) -> Vec<RegistrationState> {
    let mut seen = Vec::new();
    loop {
        let state = next_state(events).await;
        let done = matches!(state, RegistrationState::Registered { .. });
        seen.push(state);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_restart_is_noticed_and_the_agent_registers_again_over_a_new_flow() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().user("agent1", "pw1")))
        .await
        .expect("join")
        .expect("kamailio");
    let registrar = format!("sip:{};transport=tcp", k.addr(Transport::Tcp));
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| n.transports = vec!["tcp".into()])
        // Retries after 1-2 s, then 2-4 s, rather than RFC 5626's 30-60 s, to keep the test short.
        .with_registration(|r| r.backoff_base_secs = 1)
        .account(AccountConfig::new("agent1", Some("pw1".into()), registrar))
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;
    let dump = k.kamcmd(&["ul.dump"]).expect("kamcmd");
    assert!(
        dump.contains("Reg-Id: 1") && dump.contains("urn:uuid:"),
        "the binding names our instance and flow: {dump}"
    );

    // The registrar restarts: down for a second, then up with an empty location service.
    let k = restart(k, Duration::from_secs(1)).await;
    let seen = registered(&mut events).await;
    assert!(
        seen.iter().any(|s| matches!(s, RegistrationState::Refreshing { .. } | RegistrationState::RetryWait { .. })),
        "a new REGISTER went when the flow closed: {seen:?}"
    );
    let (contacts, _k) = registered_contacts(k, "agent1").await;
    assert!(!contacts.is_empty(), "the restarted kamailio holds the new binding");
    client.stop().await;
}

/// Restarts kamailio, down for `down_for` (off the runtime: it waits for the process).
async fn restart(mut k: Kamailio, down_for: Duration) -> Kamailio {
    tokio::task::spawn_blocking(move || k.restart(down_for).map(|_| k)).await.expect("join").expect("kamailio restarts")
}

/// The contacts kamailio's location service holds for `user`, and kamailio back.
async fn registered_contacts(k: Kamailio, user: &'static str) -> (Vec<String>, Kamailio) {
    tokio::task::spawn_blocking(move || k.registered_contacts(user).map(|c| (c, k)))
        .await
        .expect("join")
        .expect("kamcmd")
}

/// Sends `signal` to kamailio's whole process group (its workers hold the connections).
fn signal_group(k: &Kamailio, signal: &str) {
    let status =
        std::process::Command::new("kill").args([signal, "--", &format!("-{}", k.pid())]).status().expect("run kill");
    assert!(status.success(), "kill {signal} kamailio");
}

/// A registrar that vanishes without closing the connection (frozen: a host gone, a NAT
/// binding dropped) is noticed only by the keep-alive: the CRLF ping gets no pong within
/// 10 s, the flow is given up, and the agent registers again over a new connection, which
/// succeeds once the registrar is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_registrar_is_noticed_by_the_keep_alive_and_the_agent_registers_again() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().user("agent2", "pw2")))
        .await
        .expect("join")
        .expect("kamailio");
    let registrar = format!("sip:{};transport=tcp", k.addr(Transport::Tcp));
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| {
            n.transports = vec!["tcp".into()];
            n.keepalive_secs = 2;
        })
        .account(AccountConfig::new("agent2", Some("pw2".into()), registrar))
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;
    // While kamailio answers, the pings (every 2 s, 10 s to answer each) keep the flow: no
    // new REGISTER in a whole ping round and pong timeout.
    let quiet = tokio::time::timeout(Duration::from_secs(13), next_state(&mut events)).await;
    assert!(quiet.is_err(), "the registration changed while kamailio answered the pings: {quiet:?}");

    signal_group(&k, "-STOP");
    // Pings every 2 s were answered until now; the first unanswered one fails the flow
    // after 10 s, and a new REGISTER goes (the kernel still accepts the connection).
    let state = next_state(&mut events).await;
    signal_group(&k, "-CONT");
    assert!(matches!(state, RegistrationState::Refreshing { .. }), "{state:?}");
    let seen = registered(&mut events).await;
    assert!(matches!(seen.last(), Some(RegistrationState::Registered { .. })), "{seen:?}");
    client.stop().await;
}

/// A flow reset in the middle of a registration: the refresh REGISTER is on its way over the
/// connection (kamailio frozen, so it stays unanswered) when kamailio dies and the kernel
/// closes the connection. The REGISTER fails at once as a transport error (503), not after
/// timer F as a timeout (408), and the agent registers again over a new connection once
/// kamailio is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_reset_mid_registration_fails_the_register_at_once_and_it_is_sent_again() {
    require_peers();
    let k =
        tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().min_expires(4).user("agent10", "pw10")))
            .await
            .expect("join")
            .expect("kamailio");
    let registrar = format!("sip:{};transport=tcp", k.addr(Transport::Tcp));
    let account = AccountConfig::new("agent10", Some("pw10".into()), registrar);
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| n.transports = vec!["tcp".into()])
        .with_registration(|r| r.backoff_base_secs = 1)
        .account(account)
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;

    signal_group(&k, "-STOP");
    let id = client.get_all_registrations().first().expect("the account's registration").id;
    let refresh = {
        let client = client.clone();
        tokio::spawn(async move { client.refresh_registration(id).await })
    };
    let state = next_state(&mut events).await;
    assert!(matches!(state, RegistrationState::Refreshing { .. }), "the refresh went: {state:?}");
    signal_group(&k, "-KILL");
    let state = next_state(&mut events).await;
    assert!(
        matches!(state, RegistrationState::RetryWait { last_status, .. } if last_status.as_u16() == 503),
        "the REGISTER failed with its connection: {state:?}"
    );
    assert!(refresh.await.expect("join").is_err(), "the refresh reports its failure");
    let k = restart(k, Duration::ZERO).await;
    let seen = registered(&mut events).await;
    assert!(matches!(seen.last(), Some(RegistrationState::Registered { .. })), "{seen:?}");
    let (contacts, _k) = registered_contacts(k, "agent10").await;
    assert!(!contacts.is_empty(), "the restarted kamailio holds the new binding");
    client.stop().await;
}

/// A UDP registration is kept alive with STUN (RFC 5626 §4.4.2): kamailio answers the
/// Binding requests, and nothing changes while it does. Frozen, it answers none: after the
/// seven sends of RFC 5389 and the last wait (39.5 T1; T1 is 100 ms here) the flow is given
/// up and the agent registers again, which succeeds once kamailio is back. A flow whose
/// registrar never answered STUN is never given up, so the new REGISTER proves the answers
/// came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_registrar_is_noticed_by_the_stun_keep_alive_over_udp() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().user("agent3", "pw3")))
        .await
        .expect("join")
        .expect("kamailio");
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| {
            n.stun_keepalive_secs = 2;
            n.t1_ms = 100;
        })
        .account(AccountConfig::new("agent3", Some("pw3".into()), registrar))
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;
    // Keep-alives every 1.6-2 s, each answered: no new REGISTER for a while.
    let quiet = tokio::time::timeout(Duration::from_secs(8), next_state(&mut events)).await;
    assert!(quiet.is_err(), "the registration changed while kamailio answered STUN: {quiet:?}");

    signal_group(&k, "-STOP");
    let state = next_state(&mut events).await;
    signal_group(&k, "-CONT");
    assert!(matches!(state, RegistrationState::Refreshing { .. }), "{state:?}");
    let seen = registered(&mut events).await;
    assert!(matches!(seen.last(), Some(RegistrationState::Registered { .. })), "{seen:?}");
    client.stop().await;
}

/// A registrar's Flow-Timer (RFC 5626 §4.4.1) sets how often the agent pings its TCP
/// connection: kamailio asks for 3 s while the agent's own interval is the default 100 s.
/// Frozen right after the registration, kamailio leaves the next ping (due within 3 s)
/// without a pong, and 10 s later the agent registers again — long before its own 100 s
/// would have sent a ping at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrars_flow_timer_sets_the_keep_alive() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().user("agent4", "pw4").flow_timer(3)))
        .await
        .expect("join")
        .expect("kamailio");
    let registrar = format!("sip:{};transport=tcp", k.addr(Transport::Tcp));
    let client = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| n.transports = vec!["tcp".into()])
        .account(AccountConfig::new("agent4", Some("pw4".into()), registrar))
        .build()
        .await
        .expect("config");
    assert_eq!(client.config().network.keepalive_secs, 100);
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;
    signal_group(&k, "-STOP");
    let state = next_state(&mut events).await;
    signal_group(&k, "-CONT");
    assert!(matches!(state, RegistrationState::Refreshing { .. }), "{state:?}");
    let seen = registered(&mut events).await;
    assert!(matches!(seen.last(), Some(RegistrationState::Registered { .. })), "{seen:?}");
    client.stop().await;
}

/// A TLS flow reset mid-registration: kamailio restarts, the agent's TLS connection closes,
/// and the agent registers again over a new TLS connection (a new handshake, the
/// certificate checked again) once kamailio is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_flow_reset_is_noticed_and_the_agent_registers_again_over_a_new_tls_flow() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| Kamailio::start(KamailioOptions::new().user("agent5", "pw5")))
        .await
        .expect("join")
        .expect("kamailio");
    let registrar = format!("sips:{}", k.addr(Transport::Tls));
    let ca = k.ca_cert_path().to_path_buf();
    let mut config = client_core::ClientConfig::default();
    config.security.ca_file = Some(ca);
    let client = ClientBuilder::from_config(config)
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_registration(|r| r.backoff_base_secs = 1)
        .account(AccountConfig::new("agent5", Some("pw5".into()), registrar))
        .build()
        .await
        .expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    registered(&mut events).await;
    let before = k.kamcmd(&["ul.dump"]).expect("ul.dump");
    assert!(before.contains("Socket: tls:"), "the binding came over TLS: {before}");

    let k = restart(k, Duration::from_secs(1)).await;
    let seen = registered(&mut events).await;
    assert!(
        seen.iter().any(|s| matches!(s, RegistrationState::Refreshing { .. } | RegistrationState::RetryWait { .. })),
        "a new REGISTER went when the TLS flow closed: {seen:?}"
    );
    let after = tokio::task::spawn_blocking(move || k.kamcmd(&["ul.dump"]).map(|c| (c, k)))
        .await
        .expect("join")
        .expect("kamcmd")
        .0;
    assert!(
        after.contains("agent5") && after.contains("Socket: tls:"),
        "the restarted kamailio holds a TLS binding: {after}"
    );
    client.stop().await;
}

/// The next event `pick` accepts, skipping others.
async fn next_event<T>(
    events: &mut client_core::broadcast::Receiver<ClientEvent>,
    what: &str,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(v) = pick(&e) {
                        return v;
                    }
                }
                Err(client_core::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: events closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {PATIENCE:?}"))
}

/// Waits for an agent to notice a flow reset (its registration refreshing) and then to be
/// registered again; events of an earlier registration still queued are passed over.
async fn registers_again(events: &mut client_core::broadcast::Receiver<ClientEvent>, who: &str) {
    next_event(events, &format!("the {who} notices the reset"), |e| {
        matches!(e, ClientEvent::RegistrationStateChanged { state: RegistrationState::Refreshing { .. }, .. })
            .then_some(())
    })
    .await;
    next_event(events, &format!("the {who} registers again"), |e| {
        matches!(e, ClientEvent::RegistrationStateChanged { state: RegistrationState::Registered { .. }, .. })
            .then_some(())
    })
    .await;
}

/// Asserts the caller goes on hearing the callee: more than 25 packets (half a second)
/// beyond the `before` it had heard, within five seconds.
async fn audio_goes_on(caller: &client_core::ClientManager, call: client_core::CallId, before: u64) {
    let mut after = before;
    for _ in 0..50 {
        after = caller.get_rtp_statistics(call).await.expect("stats").packets_received;
        if after > before + 25 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("audio flowed after the reset: {before} then {after}");
}

/// Waits for `call` to end at the agent whose `events` these are and asserts the far end
/// hung it up.
async fn ended_by_the_far_end(events: &mut client_core::broadcast::Receiver<ClientEvent>, call: client_core::CallId) {
    let ended = next_event(events, "the caller's call ends", |e| match e {
        ClientEvent::CallEnded { call: info } if info.id == call => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(ended.end.as_ref().map(|e| e.cause), Some(client_core::EndCause::RemoteHangup), "{ended:?}");
}

/// A TCP flow reset in the middle of a call. The caller registered over TCP, the callee
/// over UDP, and they talk through kamailio, which reaches the caller back over the caller's
/// connection (its Contact aliased to it). kamailio restarts under the call: the caller's
/// connection closes, the caller registers again over a new one (RFC 5626) and refreshes the
/// call's target with a re-INVITE over it, so that kamailio aliases the new connection. The
/// audio never stops (media does not cross the proxy), and when the callee hangs up, its BYE
/// reaches the caller — without the refresh it would go to the dead connection and be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_flow_reset_mid_call_is_recovered_and_the_far_end_can_still_hang_up() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| {
        Kamailio::start(KamailioOptions::new().user("caller6", "pw6").user("callee7", "pw7"))
    })
    .await
    .expect("join")
    .expect("kamailio");
    let (tcp, udp) = (k.addr(Transport::Tcp), k.addr(Transport::Udp));
    let caller = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .with_network(|n| n.transports = vec!["tcp".into()])
        .with_registration(|r| r.backoff_base_secs = 1)
        .tone(Some(440.0))
        .account(AccountConfig::new("caller6", Some("pw6".into()), format!("sip:{tcp};transport=tcp")))
        .build()
        .await
        .expect("config");
    let callee = ClientBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("addr"))
        .auto_answer(true)
        .tone(Some(1000.0))
        .account(AccountConfig::new("callee7", Some("pw7".into()), format!("sip:{udp}")))
        .build()
        .await
        .expect("config");
    let (mut caller_events, mut callee_events) = (caller.subscribe_events(), callee.subscribe_events());
    caller.start().await.expect("caller registers");
    callee.start().await.expect("callee registers");

    let call = caller
        .make_call(&format!("sip:caller6@{}", tcp.ip()), &format!("sip:callee7@{tcp};transport=tcp"))
        .await
        .expect("call");
    caller.wait_for_answer(call, PATIENCE).await.expect("answered");
    let callee_call = next_event(&mut callee_events, "the incoming call", |e| match e {
        ClientEvent::IncomingCall { call } => Some(call.id),
        _ => None,
    })
    .await;
    let heard_before = caller.get_rtp_statistics(call).await.expect("stats").packets_received;

    let k = restart(k, Duration::from_secs(1)).await;
    registers_again(&mut caller_events, "caller").await;
    // The audio went on: the caller hears more of the callee's tone than before the reset.
    audio_goes_on(&caller, call, heard_before).await;
    // The target refresh crossed kamailio: its transaction layer, empty after the restart
    // (REGISTERs are answered statelessly), relayed the 2xx of the caller's re-INVITE.
    let k = tokio::task::spawn_blocking(move || {
        for _ in 0..100 {
            let stats = k.kamcmd(&["tm.stats"]).expect("kamcmd tm.stats");
            let relayed_2xx = stats
                .lines()
                .find_map(|l| l.trim().strip_prefix("2xx:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0);
            if relayed_2xx >= 1 {
                return k;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kamailio relayed no re-INVITE after its restart: {}", k.kamcmd(&["tm.stats"]).unwrap_or_default());
    })
    .await
    .expect("the caller's re-INVITE crossed kamailio");

    callee.hangup_call(callee_call).await.expect("the callee hangs up");
    ended_by_the_far_end(&mut caller_events, call).await;
    drop(k);
    caller.stop().await;
    callee.stop().await;
}

/// Both ends' flows reset in the middle of a call: the caller registered over TCP, the
/// callee over TLS, each asking for a GRUU (RFC 5627) and using it as its Contact. kamailio
/// restarts under the call, so both connections close at once and each end's alias of the
/// other is dead.
/// Both register again over new connections, and neither needs a target refresh: the
/// callee's BYE, addressed to the caller's GRUU, reaches the caller by kamailio's location
/// service over the caller's new connection. Without GRUUs each end's requests would go to
/// the other's dead connection and be lost (the test fails so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_gruus_a_call_outlives_the_reset_of_both_ends_flows() {
    require_peers();
    let k = tokio::task::spawn_blocking(|| {
        Kamailio::start(KamailioOptions::new().gruu(true).domain(DOMAIN).user("caller8", "pw8").user("callee9", "pw9"))
    })
    .await
    .expect("join")
    .expect("kamailio");
    let (tcp, tls) = (k.addr(Transport::Tcp), k.addr(Transport::Tls));
    let mut config = client_core::ClientConfig::default();
    config.security.ca_file = Some(k.ca_cert_path().to_path_buf());
    let agent = |user: &str, password: &str, registrar: String, tone: f32| {
        let mut account = AccountConfig::new(user, Some(password.into()), registrar);
        // The GRUU is in the domain of the address of record, which the proxy calls its own.
        account.domain = Some(DOMAIN.into());
        account.gruu = true;
        ClientBuilder::from_config(config.clone())
            .local_address("127.0.0.1:0".parse().expect("addr"))
            .with_registration(|r| r.backoff_base_secs = 1)
            .tone(Some(tone))
            .account(account)
    };
    let caller = agent("caller8", "pw8", format!("sip:{tcp};transport=tcp"), 440.0)
        .with_network(|n| n.transports = vec!["tcp".into()])
        .build()
        .await
        .expect("config");
    let callee =
        agent("callee9", "pw9", format!("sips:{tls}"), 1000.0).auto_answer(true).build().await.expect("config");
    let (mut caller_events, mut callee_events) = (caller.subscribe_events(), callee.subscribe_events());
    caller.start().await.expect("caller registers");
    callee.start().await.expect("callee registers");
    let bindings = k.kamcmd(&["ul.dump"]).expect("ul.dump");
    assert!(bindings.contains("Socket: tcp:") && bindings.contains("Socket: tls:"), "{bindings}");

    let call = caller
        .make_call(&format!("sip:caller8@{DOMAIN}"), &format!("sip:callee9@{tcp};transport=tcp"))
        .await
        .expect("call");
    caller.wait_for_answer(call, PATIENCE).await.expect("answered");
    let callee_call = next_event(&mut callee_events, "the incoming call", |e| match e {
        ClientEvent::IncomingCall { call } => Some(call.id),
        _ => None,
    })
    .await;
    // Each end's Contact in the call is the GRUU kamailio granted it.
    let gruu_of = |user: &str| format!("sip:{user}@{DOMAIN};gr=urn:uuid:");
    let answer = caller.get_call(call).expect("the call");
    assert!(answer.remote_header("Contact").is_some_and(|c| c.contains(&gruu_of("callee9"))), "{answer:?}");
    let offer = callee.get_call(callee_call).expect("the call");
    assert!(offer.remote_header("Contact").is_some_and(|c| c.contains(&gruu_of("caller8"))), "{offer:?}");
    let heard_before = caller.get_rtp_statistics(call).await.expect("stats").packets_received;

    let k = restart(k, Duration::from_secs(1)).await;
    registers_again(&mut caller_events, "caller").await;
    registers_again(&mut callee_events, "callee").await;
    audio_goes_on(&caller, call, heard_before).await;

    callee.hangup_call(callee_call).await.expect("the callee hangs up");
    ended_by_the_far_end(&mut caller_events, call).await;
    drop(k);
    caller.stop().await;
    callee.stop().await;
}
