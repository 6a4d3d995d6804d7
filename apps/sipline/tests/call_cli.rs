//! `sipline call`, `answer` and `demo` as users run them: two processes on loopback calling
//! each other directly and through kamailio (registered, digest), with the exit codes and
//! the event lines the issue specifies.

use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn sipline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sipline")).args(args).output().expect("run sipline")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A `sipline answer` running in the background, its stdout collected line by line.
struct Answerer {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Answerer {
    fn start(args: &[&str]) -> Answerer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sipline"))
            .arg("answer")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sipline answer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Answerer { child, lines, seen: Vec::new() }
    }

    /// The first line containing `needle`, within 20 s.
    fn line(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("sipline answer never printed '{needle}'; it printed:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The first line, among those not seen yet, for which `wanted` holds, within `patience`.
    fn line_within(&mut self, patience: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if wanted(&l) {
                        return l;
                    }
                }
                Err(_) => panic!("sipline answer never printed the line; it printed:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The address it listens on, from its "listening on ADDR" line.
    fn addr(&mut self) -> String {
        let l = self.line("listening on ");
        l["listening on ".len()..].split_whitespace().next().expect("an address").to_owned()
    }

    /// Waits for it to exit (within 20 s) and returns its code and everything it printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sipline answer did not exit; it printed:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(l);
        }
        (status.code(), self.seen.join("\n"))
    }
}

impl Drop for Answerer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn call_and_answer_directly_with_hold_and_resume() {
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1"]);
    let addr = bob.addr();
    let out = sipline(&["call", &format!("sip:bob@{addr}"), "--duration", "2", "--hold-after", "0.5", "--tone", "440"]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    for expected in ["ringing", "answered", "held", "resumed", "stats: codec PCMU/8000", "ended: hung up"] {
        assert!(caller.contains(expected), "caller output lacks '{expected}':\n{caller}");
    }
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    for expected in [
        "incoming call from sip:sipline@",
        "held by the remote side",
        "resumed by the remote side",
        "ended: remote hung up",
    ] {
        assert!(callee.contains(expected), "callee output lacks '{expected}':\n{callee}");
    }
}

#[test]
fn the_callee_hangs_up_and_trace_shows_the_messages() {
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1", "--hangup-after", "0.5"]);
    let addr = bob.addr();
    let out = sipline(&["call", &format!("sip:bob@{addr}"), "--duration", "30", "--trace"]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    assert!(caller.contains("ended: remote hung up"), "{caller}");
    for message in ["--> UDP", "INVITE sip:bob@", "<-- UDP", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "BYE sip:"] {
        assert!(caller.contains(message), "trace lacks '{message}':\n{caller}");
    }
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
}

/// A UDP peer that swallows the INVITE and never answers: `--answer-timeout` ends the
/// program at its time with the reason, instead of waiting out timer B (32 s) in silence.
#[test]
fn answer_timeout_ends_the_program_even_without_a_provisional_response() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket that never answers");
    let addr = silent.local_addr().expect("addr");
    let started = std::time::Instant::now();
    let out = sipline(&["call", &format!("sip:nobody@{addr}"), "--answer-timeout", "1"]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(1), "{caller}");
    assert!(caller.contains("waiting up to 1 s for an answer"), "the wait is announced: {caller}");
    assert!(caller.contains("call failed: no answer within 1 s"), "{caller}");
    // Not a timing assertion on the machine's speed: timer B (32 s) is the alternative.
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "it waited out timer B");
    let mut buf = [0u8; 2048];
    silent.set_nonblocking(true).expect("nonblocking");
    let got = silent.recv(&mut buf).expect("the INVITE reached the silent peer");
    assert!(buf[..got].starts_with(b"INVITE sip:nobody@"));
}

/// `--config FILE`: a bad file is a usage error naming the field; a good one is used.
#[test]
fn call_reads_its_configuration_file() {
    let dir = std::env::temp_dir().join(format!("sipline-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[media]\nrtp_port_min = 7\n").expect("write");
    let out = sipline(&["call", "sip:x@127.0.0.1", "--config", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("media.rtp_port_min"), "{}", text(&out));

    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1"]);
    let addr = bob.addr();
    let good = dir.join("good.toml");
    std::fs::write(&good, "[network]\nuser_agent = \"config-test/9\"\n[media]\ncodecs = [\"PCMA\"]\n").expect("write");
    let out = sipline(&[
        "call",
        &format!("sip:bob@{addr}"),
        "--config",
        good.to_str().expect("utf-8"),
        "--duration",
        "0.5",
        "--trace",
    ]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    assert!(caller.contains("User-Agent: config-test/9"), "{caller}");
    assert!(caller.contains("a=rtpmap:8 PCMA/8000") && !caller.contains("PCMU/8000"), "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_call_nobody_takes_fails_with_the_status() {
    // A TCP port nobody listens on: the refused connection fails the INVITE's transaction
    // (RFC 3261 §8.1.3.1 treats it as a 503), and the end names the cause: the target and
    // the refusal.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port");
    let out = sipline(&["call", &format!("sip:nobody@{addr};transport=tcp")]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(1), "{caller}");
    assert!(caller.contains("call failed: unreachable: TCP:127.0.0.1:"), "{caller}");
    assert!(caller.contains("Connection refused"), "{caller}");

    // The same over UDP: the ICMP port unreachable fails the INVITE at once, rather than
    // timer B (32 s) and a 408.
    let addr = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port");
    let out = sipline(&["call", &format!("sip:nobody@{addr}")]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(1), "{caller}");
    assert!(caller.contains("call failed: unreachable: UDP:127.0.0.1:"), "{caller}");
    assert!(caller.contains("(ICMP): Connection refused"), "{caller}");
}

/// `--dns-server` on `call` and `register` (a contract): SRV records for `failover.test`
/// name a TCP port that refuses connections first and kamailio second; registration and
/// the call both fail over to kamailio (RFC 3263 §4.3).
#[test]
fn call_and_register_ask_the_dns_server_and_fail_over_past_a_dead_target() {
    use sip_testpeers::{DnsServer, DnsZone};
    require_peers();
    let k =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").domain("failover.test"))
            .expect("kamailio");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port");
    let lo = "127.0.0.1".parse().expect("ip");
    let zone = DnsZone::new()
        .srv("_sip._tcp.failover.test", 10, 0, closed.port(), "first.failover.test")
        .and_then(|z| z.srv("_sip._tcp.failover.test", 20, 0, k.port(Transport::Tcp), "second.failover.test"))
        .expect("zone")
        .addr("first.failover.test", lo)
        .addr("second.failover.test", lo);
    let dns = DnsServer::start(zone).expect("dns");
    let dns_addr = dns.addr().to_string();

    let out = sipline(&[
        "register",
        "--user",
        "alice",
        "--password",
        "alicepw",
        "--registrar",
        "sip:failover.test;transport=tcp",
        "--dns-server",
        &dns_addr,
        "--once",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n--- kamailio:\n{}", text(&out), k.log());
    assert!(text(&out).contains("registered (expires in"), "{}", text(&out));

    let mut bob = Answerer::start(&[
        "--user",
        "bob",
        "--password",
        "bobpw",
        "--registrar",
        &k.uri(Transport::Udp),
        "--count",
        "1",
    ]);
    bob.line("registered");
    let out = sipline(&[
        "call",
        "sip:bob@failover.test;transport=tcp",
        "--user",
        "alice",
        "--password",
        "alicepw",
        "--registrar",
        "sip:failover.test;transport=tcp",
        "--dns-server",
        &dns_addr,
        "--duration",
        "0.5",
    ]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}\n--- kamailio:\n{}", k.log());
    assert!(caller.contains("answered") && caller.contains("ended: hung up"), "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
}

/// The contract of issue 12: `sipline call` offers 100rel by default and completes a call
/// with a server that requires it (sipp: a reliable 183 with the SDP answer, which must be
/// PRACKed with the right RAck before the 200 comes).
#[test]
fn call_offers_100rel_and_completes_a_call_with_a_server_that_requires_it() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/prack_uas.xml"));
    let mut sipp = Sipp::start(SippOptions::uas(scenario).calls(1)).expect("sipp");
    let out = sipline(&["call", &format!("sip:service@{}", sipp.local_addr()), "--duration", "1", "--trace"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Supported: 100rel"), "{t}");
    assert!(t.contains("RAck: 4711 1 INVITE"), "{t}");
    assert!(t.contains("call-1 183 Session Progress") && t.contains("call-1 answered"), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server saw its PRACK, the ACK and the BYE:\n{t}\n{}", sipp.report());
}

/// UPDATE in an early dialog (RFC 3311): after the PRACKed 183, the server offers new media
/// ("sendonly") in an UPDATE before it answers; `sipline call` answers it ("recvonly") in the
/// early dialog, and the call completes with a 200 that carries no SDP.
#[test]
fn call_answers_an_update_in_the_early_dialog() {
    let mut sipp = sipp_uas("update_early_uas.xml");
    let out = sipline(&["call", &format!("sip:service@{}", sipp.local_addr()), "--duration", "1", "--trace"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("call-1 answered"), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server got the UPDATE answered with recvonly:\n{t}\n{}", sipp.report());
}

/// A 200 whose SDP differs from the early 183's: the 183 names PCMU at a port where nothing
/// listens, the 200 PCMA at sipp's RTP echo. `sipline call` follows the 200 — its statistics
/// say PCMA, and it receives its own packets back from the echo.
#[test]
fn call_follows_a_200_whose_sdp_differs_from_the_183() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let scenario = Scenario::File(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/early_then_other_sdp_uas.xml"),
    );
    let mut sipp = Sipp::start(SippOptions::uas(scenario).calls(1).rtp_echo().expect("ports")).expect("sipp");
    let out =
        sipline(&["call", &format!("sip:service@{}", sipp.local_addr()), "--duration", "2", "--codec", "pcmu,pcma"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stats = t.lines().find(|l| l.contains(" stats: ")).unwrap_or_else(|| panic!("no stats line:\n{t}"));
    assert!(stats.contains("codec PCMA"), "the 200's codec: {stats}");
    let received: u64 = stats
        .split("received ")
        .nth(1)
        .and_then(|r| r.split([' ', ',']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no received count: {stats}"));
    assert!(received >= 50, "the echo at the 200's address sent our audio back: {stats}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "{}", sipp.report());
}

/// UPDATE glare (RFC 3311 §5.2): the server offers in an UPDATE while our hold re-INVITE
/// still waits for its answer; `sipline call` refuses the UPDATE with 491, and the hold and
/// the resume then complete.
#[test]
fn call_refuses_an_update_offer_crossing_its_reinvite_with_491() {
    let mut sipp = sipp_uas("update_glare_uas.xml");
    let uri = format!("sip:service@{}", sipp.local_addr());
    let out = sipline(&["call", &uri, "--duration", "3", "--hold-after", "1"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server got 491 to its UPDATE, then the hold, resume and BYE:\n{t}\n{}", sipp.report());
}

/// Hold and resume by UPDATE (RFC 3311): with `calls.offer_by_update` in its configuration
/// file, `sipline call` holds and resumes a server that allows UPDATE with UPDATEs carrying
/// the offers, and sends no re-INVITE.
#[test]
fn call_holds_and_resumes_by_update_when_configured() {
    let mut sipp = sipp_uas("update_hold_uas.xml");
    let dir = std::env::temp_dir().join(format!("sipline-update-hold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("client.toml");
    std::fs::write(&config, "[calls]\noffer_by_update = true\n").expect("config");
    let uri = format!("sip:service@{}", sipp.local_addr());
    let out =
        sipline(&["call", &uri, "--duration", "3", "--hold-after", "1", "--config", config.to_str().expect("utf-8")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server saw the hold and the resume as UPDATEs:\n{t}\n{}", sipp.report());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sipp scenario of `tests/peers/`, as the server our call goes to.
fn sipp_uas(file: &str) -> sip_testpeers::Sipp {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(file));
    Sipp::start(SippOptions::uas(scenario).calls(1)).expect("sipp")
}

/// Session timers (RFC 4028): a server whose Min-SE is above what `sipline call` asks for
/// answers 422; the call goes again asking for the server's Min-SE and is answered.
#[test]
fn call_meets_422_with_the_servers_min_se() {
    let mut sipp = sipp_uas("timer_422_uas.xml");
    let out = sipline(&["call", &format!("sip:service@{}", sipp.local_addr()), "--duration", "1"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server saw the INVITE again with Session-Expires 3600:\n{t}\n{}", sipp.report());
}

/// Session timers (RFC 4028): a server grants 90 s and makes the caller the refresher;
/// `sipline call` refreshes with an UPDATE at half the interval (45 s), and the call stays up.
#[test]
fn call_refreshes_the_session_when_it_is_the_refresher() {
    let mut sipp = sipp_uas("timer_refresh_uas.xml");
    let out = sipline(&["call", &format!("sip:service@{}", sipp.local_addr()), "--duration", "50", "--trace"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("UPDATE sip:service@"), "{t}");
    let code = sipp.wait(Duration::from_secs(10)).expect("sipp ends");
    assert_eq!(code, 0, "the server saw the refresh before its BYE:\n{}", sipp.report());
}

/// Session timers (RFC 4028 §10): the caller asks for 90 s, refreshes itself, and then
/// vanishes; `sipline answer` ends the call with a BYE 60 s after the answer instead of
/// keeping it up forever.
#[test]
fn answer_ends_a_call_nobody_refreshes() {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1"]);
    let addr: std::net::SocketAddr = bob.addr().parse().expect("an address");
    let scenario =
        Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/timer_silent_uac.xml"));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("bob").calls(1)).expect("sipp");
    let code = sipp.wait(Duration::from_secs(90)).expect("sipp ends");
    assert_eq!(code, 0, "the caller got the 200 agreeing to 90 s, and then our BYE:\n{}", sipp.report());
    let ended = bob.line("call-1 ended");
    assert!(ended.contains("session expired"), "{ended}");
}

/// Session timers with PJSIP (RFC 4028): PJSIP calls asking for 90 s; the 200 of `sipline
/// answer` agrees with PJSIP as the refresher, PJSIP refreshes at half the interval, the
/// refresh is answered with the interval, and the call goes on until PJSIP hangs up.
#[test]
fn answer_agrees_on_a_session_timer_with_pjsip_which_refreshes() {
    use sip_testpeers::{PhoneEvent, Pjsua, PjsuaOptions};
    require_peers();
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1", "--trace"]);
    let addr = bob.addr();
    let phone = Pjsua::start(PjsuaOptions::new().session_expires(90)).expect("pjsua");
    phone.call(&format!("sip:bob@{addr}")).expect("PJSIP calls");
    phone.wait_until(Duration::from_secs(20), |e| matches!(e, PhoneEvent::Established)).expect("answered");
    bob.line("Session-Expires: 90;refresher=uac");
    // PJSIP's refresh, a re-INVITE, arrives about 45 s after the answer (the INVITE's own
    // line was read already).
    let refresh = bob.line_within(Duration::from_secs(70), |l| {
        l.contains("<-- ") && (l.contains(" INVITE sip:") || l.contains(" UPDATE sip:"))
    });
    assert!(refresh.contains("sip:sipline@"), "sent in the dialog: {refresh}");
    bob.line_within(Duration::from_secs(10), |l| l.contains("--> ") && l.contains("SIP/2.0 200 OK"));
    phone.hangup().expect("PJSIP hangs up");
    let (code, out) = bob.finish();
    assert_eq!(code, Some(0), "{out}");
    let answers: Vec<&str> = out.lines().filter(|l| l.starts_with("Session-Expires: 90;refresher=uac")).collect();
    assert!(answers.len() >= 3, "the INVITE, the 200, the refresh and its 200 all carry the interval:\n{out}");
}

#[test]
fn usage_errors_exit_2() {
    let out = sipline(&["call", "sip:x@127.0.0.1", "--duration", "-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = sipline(&["call", "sip:x@127.0.0.1", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2), "--user needs --registrar: {}", text(&out));
}

/// UPDATE in an early dialog (RFC 3311), the called side: `answer --early-media` sends its
/// SDP in a reliable 183; the caller (sipp) PRACKs it and, while the announcement plays,
/// offers "sendonly" in an UPDATE, which the program answers "recvonly" before it answers
/// the call.
#[test]
fn answer_takes_an_update_during_early_media() {
    let out = early_media_to_sipp("update_early_uac.xml");
    let update = out.find("UPDATE sip:").expect("the UPDATE in the trace");
    let answer = out.find("call-1 answered").expect("the answer");
    assert!(update < answer, "the UPDATE came in the early dialog:\n{out}");
}

/// An offer in a PRACK (RFC 3262 §5): the caller (sipp) PRACKs the reliable 183 of `answer
/// --early-media` with a new offer ("sendonly"); the 200 to the PRACK answers it
/// ("recvonly"), and the call is answered afterwards.
#[test]
fn answer_answers_an_offer_in_a_prack() {
    let out = early_media_to_sipp("prack_offer_uac.xml");
    assert!(out.contains("call-1 answered"), "{out}");
}

/// sipp calls `sipline answer --early-media` (a 2 s announcement) with `scenario`, which must
/// succeed, as must the program; returns the program's output (with `--trace`).
fn early_media_to_sipp(scenario: &str) -> String {
    use sip_testpeers::{Scenario, Sipp, SippOptions};
    require_peers();
    let dir = std::env::temp_dir().join(format!("sipline-early-{scenario}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let announcement = dir.join("announcement.wav");
    tone_wav_of(&announcement, 440.0, 2);
    let wav = announcement.to_str().expect("utf-8");
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1", "--early-media", wav, "--trace"]);
    let addr: std::net::SocketAddr = bob.addr().parse().expect("an address");
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(scenario));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("bob").calls(1)).expect("sipp");
    let code = sipp.wait(Duration::from_secs(30)).expect("sipp ends");
    let (exit, out) = bob.finish();
    assert_eq!(code, 0, "the caller's scenario went through:\n{out}\n{}", sipp.report());
    assert_eq!(exit, Some(0), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// The contract of `answer --early-media FILE.wav`: PJSIP calls; the program sends 183 with
/// its SDP and plays the file before answering: PJSIP hears early audio, then the answer.
/// PJSIP requires 100rel here, so this is also the PJSIP proof of RFC 3262 as the callee.
#[test]
fn answer_early_media_plays_the_file_to_pjsip_before_answering() {
    use sip_testpeers::{PhoneEvent, Pjsua, PjsuaOptions};
    require_peers();
    let dir = std::env::temp_dir().join(format!("sipline-early-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let announcement = dir.join("announcement.wav");
    tone_wav_of(&announcement, 440.0, 3);
    let wav = announcement.to_str().expect("utf-8");
    let mut bob = Answerer::start(&[
        "--listen",
        "127.0.0.1:0",
        "--count",
        "1",
        "--early-media",
        wav,
        "--tone",
        "1000",
        "--trace",
    ]);
    let addr = bob.addr();
    // PJSIP requires 100rel: the 180 and the 183 go reliably, each PRACKed (RFC 3262).
    let phone = Pjsua::start(PjsuaOptions::new().require_100rel()).expect("pjsua");
    phone.call(&format!("sip:bob@{addr}")).expect("PJSIP calls");
    phone
        .wait_until(Duration::from_secs(20), |e| matches!(e, PhoneEvent::Ringing { code: Some(183) }))
        .expect("183 Session Progress");
    let mut early = 0;
    for _ in 0..100 {
        early = phone.rtp_stats().expect("stats").rx_packets;
        if early >= 25 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let answered_yet = phone.events().iter().any(|e| matches!(e, PhoneEvent::Established));
    assert!(early >= 25 && !answered_yet, "PJSIP received {early} early packets (answered already: {answered_yet})");
    phone.wait_until(Duration::from_secs(20), |e| matches!(e, PhoneEvent::Established)).expect("then the answer");
    std::thread::sleep(Duration::from_secs(1));
    phone.hangup().expect("PJSIP hangs up");
    let (code, out) = bob.finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("early media: playing") && out.contains("3.0 s"), "{out}");
    let reliable = out.lines().filter(|l| l.starts_with("Require: 100rel")).count();
    let pracks = out.lines().filter(|l| l.starts_with("RAck: ")).count();
    assert!(reliable >= 2 && pracks >= 2, "the 180 and the 183 went reliably and were PRACKed:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The contract of `call --transfer-to URI2 --transfer-after S`: Alice (this program) calls
/// PJSIP through kamailio and, a second after the answer, transfers it to Carol (`sipline
/// answer`); PJSIP calls Carol, the program prints the NOTIFY progress and exits 0, and Carol
/// receives PJSIP's audio.
#[test]
fn call_transfer_to_hands_pjsip_over_to_another_agent() {
    use sip_testpeers::{AnswerMode, PhoneEvent, Pjsua, PjsuaOptions};
    require_peers();
    let k = Kamailio::start(
        KamailioOptions::new().user("alice", "alicepw").user("carol", "carolpw").user("phone", "phonepw"),
    )
    .expect("kamailio");
    let registrar = k.uri(Transport::Udp);
    let phone = Pjsua::start(
        PjsuaOptions::new().register("phone", "phonepw", k.addr(Transport::Udp)).answer_mode(AnswerMode::Auto),
    )
    .expect("pjsua");
    let mut carol =
        Answerer::start(&["--user", "carol", "--password", "carolpw", "--registrar", &registrar, "--count", "1"]);
    carol.line("registered");
    let domain = k.addr(Transport::Udp);
    let out = sipline(&[
        "call",
        &format!("sip:phone@{domain}"),
        "--user",
        "alice",
        "--password",
        "alicepw",
        "--registrar",
        &registrar,
        "--transfer-to",
        &format!("sip:carol@{domain}"),
        "--transfer-after",
        "1",
    ]);
    let alice = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{alice}
--- kamailio:
{}",
        k.log()
    );
    for expected in [
        "answered",
        "transferring to sip:carol@",
        "transfer: 202",
        "transfer: 200 OK (transferred)",
        "ended: transferred",
    ] {
        assert!(alice.contains(expected), "the caller's output lacks '{expected}':\n{alice}");
    }
    carol.line("answered");
    phone.wait_until(Duration::from_secs(20), |e| matches!(e, PhoneEvent::Established)).expect("PJSIP talks to Carol");
    std::thread::sleep(Duration::from_secs(2));
    phone.hangup().expect("PJSIP hangs up");
    let (code, carol_out) = carol.finish();
    assert_eq!(code, Some(0), "{carol_out}");
    let stats = carol_out.lines().find(|l| l.contains(" stats: ")).unwrap_or_default();
    let received: u64 = stats
        .split("received ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(received >= 50, "Carol received PJSIP's audio: {stats}\n{carol_out}");

    // A target nobody registered: PJSIP's call fails, the transfer fails and says so; exit 1.
    let out = sipline(&[
        "call",
        &format!("sip:phone@{domain}"),
        "--user",
        "alice",
        "--password",
        "alicepw",
        "--registrar",
        &registrar,
        "--transfer-to",
        &format!("sip:nobody@{domain}"),
    ]);
    let alice = text(&out);
    assert_eq!(out.status.code(), Some(1), "{alice}");
    assert!(alice.contains("transfer failed: 404"), "{alice}");
}

#[test]
fn calls_through_kamailio_with_registration() {
    require_peers();
    let k =
        Kamailio::start(KamailioOptions::new().user("alice", "alicepw").user("bob", "bobpw").challenge_requests(true))
            .expect("kamailio");
    let registrar = k.uri(Transport::Udp);
    let mut bob = Answerer::start(&["--user", "bob", "--password", "bobpw", "--registrar", &registrar, "--count", "1"]);
    bob.line("registered");
    let callee_uri = format!("sip:bob@{}", k.addr(Transport::Udp));
    let out = sipline(&[
        "call",
        &callee_uri,
        "--user",
        "alice",
        "--password",
        "alicepw",
        "--registrar",
        &registrar,
        "--duration",
        "1",
        "--hold-after",
        "0.3",
    ]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}\n--- kamailio:\n{}", k.log());
    for expected in ["registered", "answered", "held", "resumed", "ended: hung up"] {
        assert!(caller.contains(expected), "caller output lacks '{expected}':\n{caller}");
    }
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    // Both unregistered on the way out.
    assert!(k.registered_contacts("alice").expect("kamcmd").is_empty());
    assert!(k.registered_contacts("bob").expect("kamcmd").is_empty());

    // A wrong password is a failure with a clear message.
    let out = sipline(&["call", &callee_uri, "--user", "alice", "--password", "nope", "--registrar", &registrar]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("authentication failed"), "{}", text(&out));
}

#[test]
fn the_demo_carries_audio_both_ways() {
    let out = sipline(&["demo", "--duration", "2"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("bob heard alice's 440 Hz tone: yes"), "{t}");
    assert!(t.contains("alice heard bob's 1000 Hz tone: yes"), "{t}");
    assert!(t.contains("everything released after the call: yes"), "{t}");
}

/// `--pcap FILE`: the SIP and RTP of the call in a capture file that tshark reads, each
/// message and both RTP streams counted by tshark's own dissectors (the RTP found from the
/// SDP, as Wireshark does).
#[test]
fn pcap_holds_the_sip_and_rtp_of_the_call_and_tshark_reads_them() {
    require_peers(); // tshark comes with the peers
    let dir = std::env::temp_dir().join(format!("sipline-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("call.pcap");
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "1"]);
    let addr = bob.addr();
    let out =
        sipline(&["call", &format!("sip:bob@{addr}"), "--duration", "1", "--pcap", file.to_str().expect("utf-8")]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    assert!(caller.contains("capture written to"), "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");

    let tshark = |args: &[&str]| {
        let out = std::process::Command::new("tshark").arg("-r").arg(&file).args(args).output().expect("tshark");
        assert!(out.status.success(), "tshark {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let sip = tshark(&["-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code"]);
    let count = |what: &str| sip.lines().filter(|l| l.split('\t').any(|f| f == what)).count();
    assert_eq!((count("INVITE"), count("ACK"), count("BYE"), count("180")), (1, 1, 1, 1), "{sip}");
    assert_eq!(count("200"), 2, "the INVITE's and the BYE's: {sip}");
    // Both RTP streams, found through the SDP, each with a second of 20 ms packets.
    let streams = tshark(&["-q", "-z", "rtp,streams"]);
    let rows: Vec<&str> = streams.lines().filter(|l| l.contains("g711U")).collect();
    assert_eq!(rows.len(), 2, "{streams}");
    for row in rows {
        let packets: u32 = row.split_whitespace().nth(8).and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(packets >= 25, "a stream of at least half a second: {row}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--metrics ADDR`: Prometheus text over HTTP while the program runs, with the call counted.
#[test]
fn metrics_are_served_while_the_answerer_runs() {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let metrics = format!("127.0.0.1:{port}");
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--count", "2", "--metrics", &metrics]);
    let addr = bob.addr();
    let call = |n: &str| {
        let out = sipline(&["call", &format!("sip:bob{n}@{addr}"), "--duration", "0.3"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    };
    call("1");
    bob.line("ended: remote hung up");
    let mut page = String::new();
    for _ in 0..50 {
        page.clear();
        let mut s = std::net::TcpStream::connect(&metrics).expect("the metrics listener");
        write!(s, "GET /metrics HTTP/1.1\r\nHost: {metrics}\r\nConnection: close\r\n\r\n").expect("request");
        s.read_to_string(&mut page).expect("response");
        if page.contains("sipline_calls_ended_total") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("sipline_calls_total{direction=\"incoming\"} 1"), "{page}");
    assert!(page.contains("sipline_calls_ended_total{cause=\"RemoteHangup\"} 1"), "{page}");
    call("2");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
}

/// A 16-bit PCM WAV file of a sine tone, written by hand (stereo at 44.1 kHz: what a user's
/// recorder makes, so the program must mix it down and resample it).
fn tone_wav(path: &std::path::Path, hz: f64) {
    tone_wav_of(path, hz, 1);
}

/// [`tone_wav`], `seconds` long.
fn tone_wav_of(path: &std::path::Path, hz: f64, seconds: u32) {
    let (rate, channels) = (44_100u32, 2u16);
    let frames = rate * seconds;
    let data_len = frames * u32::from(channels) * 2;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    b.extend_from_slice(&(channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let s = (9000.0 * (2.0 * std::f64::consts::PI * hz * f64::from(i) / f64::from(rate)).sin()) as i16;
        for _ in 0..channels {
            b.extend_from_slice(&s.to_le_bytes());
        }
    }
    std::fs::write(path, b).expect("write the tone file");
}

/// The tone that dominates the second second of a recording.
fn heard(path: &std::path::Path) -> Option<f32> {
    let pcm = client_core::load_wav(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(pcm.rate, 8000, "{}", path.display());
    assert!(pcm.samples.len() >= 16_000, "{}: {} samples", path.display(), pcm.samples.len());
    client_core::dominant_tone(&pcm.samples[8000..16_000], &[440.0, 697.0, 1000.0], 8000, 0.8)
}

/// The MOS of a statistics line, checking the rest of its shape on the way.
fn stats_mos(output: &str, codec: &str) -> f64 {
    let line = output.lines().find(|l| l.contains(" stats: ")).unwrap_or_else(|| panic!("no stats line:\n{output}"));
    for part in [
        &format!("stats: codec {codec}, sent "),
        " packets, received ",
        " lost 0 (0.0 %)",
        " jitter ",
        " RTT ",
        " MOS ",
    ] {
        assert!(line.contains(part), "'{part}' missing in: {line}");
    }
    let mos = line.rsplit("MOS ").next().and_then(|m| m.split(',').next());
    mos.and_then(|m| m.trim().parse().ok()).unwrap_or_else(|| panic!("no MOS in: {line}"))
}

/// `call --record` records early media: the answerer plays a 2 s announcement (440 Hz) in
/// its 183 and then answers with its 1000 Hz tone; the caller's file begins with the
/// announcement and goes on with the tone.
#[test]
fn call_records_early_media_and_then_the_call() {
    let dir = std::env::temp_dir().join(format!("sipline-early-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (announcement, heard) = (dir.join("announcement.wav"), dir.join("heard.wav"));
    tone_wav_of(&announcement, 440.0, 2);
    let wav = announcement.to_str().expect("utf-8 path");
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--early-media", wav, "--tone", "1000"]);
    let addr = bob.addr();
    let out = sipline(&[
        "call",
        &format!("sip:bob@{addr}"),
        "--duration",
        "2",
        "--record",
        heard.to_str().expect("utf-8 path"),
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    let pcm = client_core::load_wav(&heard).expect("the recording");
    assert_eq!(pcm.rate, 8000);
    assert!(pcm.samples.len() >= 3 * 8000, "2 s of early media and 2 s of call: {} samples", pcm.samples.len());
    let tones = [440.0, 1000.0];
    let early = &pcm.samples[4000..12_000];
    assert_eq!(client_core::dominant_tone(early, &tones, 8000, 0.8), Some(440.0), "the announcement comes first");
    let last = &pcm.samples[pcm.samples.len() - 8000..];
    assert_eq!(client_core::dominant_tone(last, &tones, 8000, 0.8), Some(1000.0), "then the answerer's tone");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn play_record_dtmf_and_codec_between_two_programs() {
    let dir = std::env::temp_dir().join(format!("sipline-media-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (tone, caller_heard, callee_heard) = (dir.join("tone.wav"), dir.join("caller.wav"), dir.join("callee.wav"));
    tone_wav(&tone, 697.0);
    let callee_rec = callee_heard.to_str().expect("utf-8 path");
    let mut bob = Answerer::start(&[
        "--listen",
        "127.0.0.1:0",
        "--tone",
        "1000",
        "--record",
        callee_rec,
        "--dtmf",
        "42",
        "--codec",
        "pcma",
    ]);
    let addr = bob.addr();
    let out = sipline(&[
        "call",
        &format!("sip:bob@{addr}"),
        "--duration",
        "3",
        "--play",
        tone.to_str().expect("utf-8 path"),
        "--record",
        caller_heard.to_str().expect("utf-8 path"),
        "--dtmf",
        "1*9",
    ]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    // Each side's digits arrive at the other as events, once each, in order.
    let digits = |output: &str| -> Vec<String> {
        output
            .lines()
            .filter_map(|l| l.split(" DTMF ").nth(1))
            .filter_map(|d| d.split(' ').next())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(digits(&caller), ["1*9", "4", "2"], "{caller}");
    assert_eq!(digits(&callee), ["42", "1", "*", "9"], "{callee}");
    // The callee offered only PCMA: both ends use it and rate the loopback call as clean.
    assert!(stats_mos(&caller, "PCMA/8000") > 4.0, "{caller}");
    assert!(stats_mos(&callee, "PCMA/8000") > 4.0, "{callee}");
    // What each recorded is what the other sent: the file's 697 Hz, the callee's 1 kHz.
    assert_eq!(heard(&callee_heard), Some(697.0));
    assert_eq!(heard(&caller_heard), Some(1000.0));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn srtp_required_talks_to_optional_and_refuses_off() {
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--srtp", "optional", "--tone", "1000"]);
    let addr = bob.addr();
    let out = sipline(&["call", &format!("sip:bob@{addr}"), "--duration", "1", "--srtp", "required"]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    assert!(stats_mos(&caller, "PCMU/8000") > 4.0 && caller.contains("MOS ") && caller.contains(", SRTP"), "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    assert!(callee.contains(", SRTP"), "{callee}");

    let mut carol = Answerer::start(&["--listen", "127.0.0.1:0", "--srtp", "off"]);
    let addr = carol.addr();
    let out = sipline(&["call", &format!("sip:carol@{addr}"), "--duration", "1", "--srtp", "required"]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(1), "{caller}");
    assert!(caller.contains("488"), "{caller}");
}

/// Opus (a build with `--features opus`): the answerer offers only Opus; the caller plays a
/// file and sends a digit; the recording, at 48 kHz, holds the file's tone.
#[cfg(feature = "opus")]
#[test]
fn an_opus_call_between_two_programs() {
    let dir = std::env::temp_dir().join(format!("sipline-opus-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (tone, heard) = (dir.join("tone.wav"), dir.join("heard.wav"));
    tone_wav(&tone, 697.0);
    let rec = heard.to_str().expect("utf-8 path");
    let mut bob = Answerer::start(&["--listen", "127.0.0.1:0", "--codec", "opus", "--record", rec]);
    let addr = bob.addr();
    let out = sipline(&[
        "call",
        &format!("sip:bob@{addr}"),
        "--duration",
        "3",
        "--codec",
        "opus,pcmu",
        "--play",
        tone.to_str().expect("utf-8 path"),
        "--dtmf",
        "5",
    ]);
    let caller = text(&out);
    assert_eq!(out.status.code(), Some(0), "{caller}");
    assert!(stats_mos(&caller, "opus/48000") > 4.0, "{caller}");
    let (code, callee) = bob.finish();
    assert_eq!(code, Some(0), "{callee}");
    assert!(callee.contains("call-1 DTMF 5 (100 ms)"), "the digit crossed at 48 kHz:\n{callee}");
    let pcm = client_core::load_wav(&heard).expect("the recording");
    assert_eq!(pcm.rate, 48_000);
    let second = &pcm.samples[48_000..96_000];
    assert_eq!(client_core::dominant_tone(second, &[440.0, 697.0, 1000.0], 48_000, 0.8), Some(697.0));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn media_flags_are_checked_before_anything_starts() {
    let dir = std::env::temp_dir().join(format!("sipline-media-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let not_wav = dir.join("notes.wav");
    std::fs::write(&not_wav, b"these are not samples").expect("write");
    let cases: [(&[&str], &str); 5] = [
        (&["--srtp", "sometimes"], "'sometimes' is not an SRTP mode"),
        (&["--codec", "speex,pcmu"], "'speex' is not a codec of this build"),
        (&["--play", not_wav.to_str().expect("utf-8 path")], "not a usable WAV file"),
        (&["--dtmf", "12x"], "'x' is not a DTMF digit"),
        (&["--record", "/nonexistent-dir/heard.wav"], "is not a directory"),
    ];
    for (flags, why) in cases {
        let mut args = vec!["call", "sip:bob@127.0.0.1:9"];
        args.extend_from_slice(flags);
        let out = sipline(&args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {said}");
        assert!(said.contains(why), "{flags:?} should say '{why}':\n{said}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
