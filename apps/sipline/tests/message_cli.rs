//! `sipline message URI TEXT` as a user runs it: through kamailio (digest challenge
//! answered with the account flags) to baresip, whose user agent answers 200; to a user
//! nobody registered, kamailio's 404 and exit 1; bad usage exits 2. And `sipline subscribe`
//! against a voicemail server.

use sip_testpeers::{require_peers, Baresip, BaresipOptions, Kamailio, KamailioOptions, Transport};
use std::process::{Command, Output};

fn sipline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sipline")).args(args).output().expect("run sipline")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_message_reaches_baresip_through_kamailio_and_a_missing_user_is_404() {
    require_peers();
    let k = Kamailio::start(
        KamailioOptions::new().user("alice", "alicepw").user("carol", "carolpw").challenge_requests(true),
    )
    .expect("kamailio");
    let registrar = k.addr(Transport::Udp);
    let _carol = Baresip::start(BaresipOptions::new().register("carol", "carolpw", registrar)).expect("baresip");
    let account =
        ["--user", "alice", "--password", "alicepw", "--registrar", &format!("sip:{registrar}")].map(String::from);
    let mut args = vec!["message".to_owned(), format!("sip:carol@{registrar}"), "hello from the command line".into()];
    args.extend(account.iter().cloned());
    args.push("--trace".into());
    let out = sipline(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n--- kamailio:\n{}", k.log());
    assert!(t.contains("200 OK from"), "{t}");
    assert!(t.contains("MESSAGE sip:carol@") && t.contains("hello from the command line"), "--trace shows it: {t}");
    assert!(t.contains("407") || t.contains("401"), "kamailio challenged, the account answered: {t}");

    let mut args = vec!["message".to_owned(), format!("sip:nobody@{registrar}"), "anyone?".into()];
    args.extend(account.iter().cloned());
    let out = sipline(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("404"), "{}", text(&out));

    let out = sipline(&["message", "not a uri", "text"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = sipline(&["message", "sip:carol@127.0.0.1"]);
    assert_eq!(out.status.code(), Some(2), "no text: {}", text(&out));
}

/// The contract of `sipline subscribe URI --event message-summary --duration S`: against a
/// voicemail server (sipp, granting 3 s), the program prints each NOTIFY's counts, refreshes
/// the subscription before it runs out, unsubscribes at the end, takes the final NOTIFY,
/// and exits 0.
#[test]
fn subscribe_prints_each_voicemail_notify_refreshes_and_unsubscribes() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mwi_notifier.xml"));
    let mut sipp = Sipp::start(SippOptions::uas(scenario).calls(1)).expect("sipp");
    let server = sipp.local_addr();
    let out = sipline(&[
        "subscribe",
        &format!("sip:alice@{server}"),
        "--event",
        "message-summary",
        "--duration",
        "4",
        "--listen",
        "127.0.0.1:0",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for expected in [
        "sub-1 accepted",
        "message-summary (active): messages waiting: yes, voice 2 new / 8 old (0 / 2 urgent)",
        "voice 3 new / 8 old (1 / 2 urgent)",
        "message-summary (terminated, timeout)",
        "sub-1 ended: unsubscribed",
    ] {
        assert!(t.contains(expected), "lacks '{expected}':\n{t}");
    }
    let code = sipp.wait(std::time::Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the notifier saw the refresh, the unsubscription and 200s to its NOTIFYs:\n{t}");

    let out = sipline(&["subscribe", "sip:alice@127.0.0.1", "--event", "weather"]);
    assert_eq!(out.status.code(), Some(2), "an unknown package is bad usage: {}", text(&out));
}
