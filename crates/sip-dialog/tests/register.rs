//! Registration on a simulated clock against a scripted registrar that checks digest
//! credentials with `sip_message::auth::DigestServer`.

mod common;

use common::*;
use sip_dialog::{
    AccountConfig, AuthFailure, Output, Registration, RegistrationEvent, RegistrationState, Registrations, ViaTemplate,
};
use sip_message::auth::{Authorization, Credentials, DigestServer, Secret, Verdict, VerifyRequest};
use sip_message::{Request, Response, StandardHeader as H, StatusCode};
use std::time::{Duration, Instant};

const S: fn(u64) -> Duration = Duration::from_secs;

fn account(password: &str) -> AccountConfig {
    let mut c = AccountConfig::new(
        "sip:example.com",
        "sip:alice@example.com",
        "sip:alice@192.0.2.4:5060",
        ViaTemplate::new("UDP", "192.0.2.4:5060"),
    );
    c.credentials = Some(Credentials::new("alice", password));
    c
}

/// A registration and what it put out, on a simulated clock.
struct Reg {
    reg: Registration,
    start: Instant,
    now: Instant,
    sent: Vec<(Duration, Request)>,
    states: Vec<RegistrationState>,
}

impl Reg {
    fn new(cfg: AccountConfig) -> Reg {
        Reg::with_rng(cfg, seeded(1))
    }

    fn with_rng(cfg: AccountConfig, rng: Box<dyn sip_dialog::RandomSource + Send>) -> Reg {
        let start = Instant::now();
        Reg { reg: Registration::new(cfg, rng).unwrap(), start, now: start, sent: Vec::new(), states: Vec::new() }
    }

    fn drain(&mut self) {
        while let Some(o) = self.reg.poll_output() {
            match o {
                Output::Request(r) => self.sent.push((self.now - self.start, r)),
                Output::Event(RegistrationEvent::StateChanged { from, to }) => {
                    assert_eq!(Some(&from), self.states.last().or(Some(&RegistrationState::Unregistered)));
                    self.states.push(to);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn register(&mut self) -> Request {
        self.reg.register(self.now).unwrap();
        self.drain();
        self.last()
    }

    fn last(&self) -> Request {
        self.sent.last().unwrap().1.clone()
    }

    /// Delivers `resp`; returns the request sent in reaction, if any.
    fn answer(&mut self, resp: Response) -> Option<Request> {
        let before = self.sent.len();
        assert!(self.reg.handle_response(self.now, resp.clone()));
        self.drain();
        (self.sent.len() > before).then(|| self.last())
    }

    /// Runs timers up to `t` after the start; returns the requests sent meanwhile.
    fn run_until(&mut self, t: Duration) -> Vec<(Duration, Request)> {
        let before = self.sent.len();
        while let Some(at) = self.reg.poll_timeout() {
            if at > self.start + t {
                break;
            }
            self.now = at;
            self.reg.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.start + t;
        self.sent[before..].to_vec()
    }
}

fn challenge(req: &Request, server: &DigestServer, nonce: &str, stale: bool) -> Response {
    let mut r = req.make_response(StatusCode::UNAUTHORIZED, Some("reg")).unwrap();
    for c in server.challenges_with_nonce(nonce, stale) {
        r.push_header(H::WwwAuthenticate, c.to_string());
    }
    r
}

fn verify(req: &Request, server: &DigestServer, password: &str) -> (Verdict, Authorization) {
    let a = Authorization::parse(req.headers().get(H::Authorization).expect("credentials")).unwrap();
    let v = server
        .verify(
            &a,
            &VerifyRequest {
                method: "REGISTER",
                request_uri: Some(req.uri_str()),
                body: b"",
                username: "alice",
                secret: Secret::Password(password),
                nonce_stale: false,
                last_nc: None,
            },
        )
        .unwrap();
    (v, a)
}

fn ok(req: &Request, expires: u32) -> Response {
    let mut r = req.make_response(StatusCode::OK, Some("reg")).unwrap();
    r.push_header(H::Contact, format!("<sip:alice@192.0.2.4:5060>;expires={expires}"));
    r
}

fn cseq(r: &Request) -> u32 {
    r.headers().cseq().unwrap().seq
}

#[test]
fn challenge_then_authenticated_register_then_refresh() {
    let server = DigestServer::new("example.com");
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    assert_eq!(first.uri_str(), "sip:example.com");
    assert_eq!(first.headers().get(H::Expires).unwrap().as_str(), "3600");
    assert_eq!(first.headers().get(H::Contact).unwrap().as_str(), "<sip:alice@192.0.2.4:5060>");
    assert!(!first.headers().contains(H::Authorization));
    assert_eq!(r.reg.state(), &RegistrationState::Registering);

    let second = r.answer(challenge(&first, &server, "n1", false)).unwrap();
    assert_eq!(second.headers().call_id().unwrap(), first.headers().call_id().unwrap());
    assert_eq!(cseq(&second), cseq(&first) + 1);
    assert_ne!(second.headers().top_via().unwrap().branch(), first.headers().top_via().unwrap().branch());
    let (verdict, a1) = verify(&second, &server, "secret");
    assert_eq!(verdict, Verdict::Authorized);
    assert_eq!(a1.nc, Some(1));

    assert!(r.answer(ok(&second, 600)).is_none());
    let (expires_at, refresh_at) = match r.reg.state() {
        RegistrationState::Registered { expires_at, refresh_at } => (*expires_at, *refresh_at),
        other => panic!("{other:?}"),
    };
    assert_eq!(expires_at - r.start, S(600), "the granted expiry, not the 3600 asked for");
    assert_eq!(refresh_at - r.start, S(300), "refreshed at half");

    let refreshes = r.run_until(S(300));
    assert_eq!(refreshes.len(), 1);
    let (at, refresh) = &refreshes[0];
    assert_eq!(*at, S(300));
    assert_eq!(refresh.headers().call_id().unwrap(), first.headers().call_id().unwrap(), "same Call-ID");
    assert_eq!(cseq(refresh), cseq(&second) + 1, "CSeq + 1");
    assert_eq!(refresh.headers().from().unwrap().tag(), first.headers().from().unwrap().tag());
    let (verdict, a2) = verify(refresh, &server, "secret");
    assert_eq!(verdict, Verdict::Authorized, "pre-authorized with the cached nonce");
    assert_eq!(a2.nc, Some(2), "the nonce-count increases");
    assert!(matches!(r.reg.state(), RegistrationState::Refreshing { .. }));
    r.answer(ok(refresh, 600));
    assert!(matches!(r.reg.state(), RegistrationState::Registered { .. }));
    assert_eq!(
        r.states,
        [
            RegistrationState::Registering,
            RegistrationState::Registered { expires_at, refresh_at },
            RegistrationState::Refreshing { expires_at },
            r.reg.state().clone(),
        ]
    );
}

#[test]
fn short_grants_refresh_five_seconds_early() {
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    r.answer(ok(&first, 30));
    let sent = r.run_until(S(40));
    assert_eq!(sent[0].0, S(25));
}

#[test]
fn interval_too_brief_honours_min_expires() {
    let mut cfg = account("secret");
    cfg.expires = 60;
    let mut r = Reg::new(cfg);
    let first = r.register();
    assert_eq!(first.headers().get(H::Expires).unwrap().as_str(), "60");
    let mut too_brief = first.make_response(StatusCode::INTERVAL_TOO_BRIEF, Some("reg")).unwrap();
    too_brief.push_header(H::MinExpires, "300");
    let second = r.answer(too_brief).unwrap();
    assert_eq!(second.headers().get(H::Expires).unwrap().as_str(), "300");
    assert_eq!(cseq(&second), cseq(&first) + 1);
    assert_eq!(r.reg.requested_expires(), 300);
    let mut ok = second.make_response(StatusCode::OK, Some("reg")).unwrap();
    ok.push_header(H::Expires, "300");
    r.answer(ok);
    assert!(
        matches!(r.reg.state(), RegistrationState::Registered { expires_at, .. } if *expires_at - r.start == S(300))
    );
    // A 423 that asks for no more than we did cannot be satisfied by asking again.
    let again = r.run_until(S(150)).remove(0).1;
    let mut bad = again.make_response(StatusCode::INTERVAL_TOO_BRIEF, Some("reg")).unwrap();
    bad.push_header(H::MinExpires, "100");
    assert!(r.answer(bad).is_none());
    assert!(matches!(r.reg.state(), RegistrationState::RetryWait { .. }));
}

#[test]
fn wrong_password_is_a_terminal_auth_failure() {
    let server = DigestServer::new("example.com");
    let mut r = Reg::new(account("wrong"));
    let first = r.register();
    let second = r.answer(challenge(&first, &server, "n1", false)).unwrap();
    assert_eq!(verify(&second, &server, "secret").0, Verdict::WrongCredentials);
    assert!(r.answer(challenge(&second, &server, "n2", false)).is_none(), "no third attempt");
    match r.reg.state() {
        RegistrationState::AuthFailed { reason } => {
            assert_eq!(*reason, AuthFailure::WrongCredentials { realm: "example.com".into() });
            let text = reason.to_string();
            assert!(text.contains("wrong username or password"), "{text}");
            assert!(!text.contains("wrong\""), "the password is never shown");
        }
        other => panic!("{other:?}"),
    }
    assert!(r.reg.state().is_terminal());
    assert_eq!(r.reg.poll_timeout(), None);
    // Without credentials the reason says so.
    let mut cfg = account("x");
    cfg.credentials = None;
    let mut r = Reg::new(cfg);
    let first = r.register();
    r.answer(challenge(&first, &server, "n1", false));
    assert_eq!(r.reg.state(), &RegistrationState::AuthFailed { reason: AuthFailure::NoCredentials });
}

#[test]
fn a_stale_nonce_is_retried_silently() {
    let server = DigestServer::new("example.com");
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    let second = r.answer(challenge(&first, &server, "n1", false)).unwrap();
    r.answer(ok(&second, 3600));
    let refresh = r.run_until(S(1800)).remove(0).1;
    let states_before = r.states.len();
    // The registrar let n1 expire: stale=true with a fresh nonce.
    let again = r.answer(challenge(&refresh, &server, "n2", true)).unwrap();
    assert_eq!(r.states.len(), states_before, "no state change: the user is not bothered");
    let (verdict, a) = verify(&again, &server, "secret");
    assert_eq!(verdict, Verdict::Authorized);
    assert_eq!((a.nonce.as_str(), a.nc), ("n2", Some(1)));
    r.answer(ok(&again, 3600));
    assert!(r.reg.state().is_registered());
}

#[test]
fn unregister_sends_expires_zero_with_credentials() {
    let server = DigestServer::new("example.com");
    let mut cfg = account("secret");
    cfg.instance_id = Some("urn:uuid:00000000-0000-1000-8000-000A95A0E128".into());
    cfg.reg_id = Some(1);
    let mut r = Reg::new(cfg);
    let first = r.register();
    assert_eq!(
        first.headers().get(H::Contact).unwrap().as_str(),
        "<sip:alice@192.0.2.4:5060>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1"
    );
    assert!(first.headers().contains(H::Supported));
    let second = r.answer(challenge(&first, &server, "n1", false)).unwrap();
    r.answer(ok(&second, 3600));

    r.reg.unregister(r.now).unwrap();
    r.drain();
    let un = r.last();
    assert_eq!(r.reg.state(), &RegistrationState::Unregistering);
    assert_eq!(un.headers().get(H::Expires).unwrap().as_str(), "0");
    assert!(un.headers().get(H::Contact).unwrap().ends_with(";expires=0"));
    assert_eq!(cseq(&un), cseq(&second) + 1);
    assert_eq!(verify(&un, &server, "secret").0, Verdict::Authorized, "authenticated too");
    // A challenge to it is answered as any other.
    let un2 = r.answer(challenge(&un, &server, "n9", false)).unwrap();
    assert_eq!(verify(&un2, &server, "secret").0, Verdict::Authorized);
    assert_eq!(un2.headers().get(H::Expires).unwrap().as_str(), "0");
    let mut done = un2.make_response(StatusCode::OK, Some("reg")).unwrap();
    done.push_header(H::Expires, "0");
    r.answer(done);
    assert_eq!(r.reg.state(), &RegistrationState::Unregistered);
    assert_eq!(r.reg.poll_timeout(), None);
    assert_eq!(r.reg.binding_until(), None);
}

#[test]
fn unregister_waits_for_the_register_in_flight() {
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    r.reg.unregister(r.now).unwrap();
    r.drain();
    assert_eq!(r.sent.len(), 1, "one REGISTER at a time (§10.2)");
    let un = r.answer(ok(&first, 3600)).unwrap();
    assert_eq!(un.headers().get(H::Expires).unwrap().as_str(), "0");
}

/// The Contact values of a REGISTER, in order.
fn contacts(r: &Request) -> Vec<String> {
    r.headers().get_all(H::Contact).map(|v| v.to_string()).collect()
}

#[test]
fn a_new_address_registers_the_new_contact_and_removes_the_old_in_one_register() {
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    r.answer(ok(&first, 3600));
    let moved_via = ViaTemplate::new("UDP", "198.51.100.7:5060");
    r.reg.change_contact(r.now, "sip:alice@198.51.100.7:5060", moved_via).unwrap();
    r.drain();
    let moved = r.last();
    assert_eq!(cseq(&moved), cseq(&first) + 1, "a refresh in the same registration (§10.2)");
    assert_eq!(contacts(&moved), ["<sip:alice@198.51.100.7:5060>", "<sip:alice@192.0.2.4:5060>;expires=0"]);
    assert!(moved.headers().get(H::Via).unwrap().contains("198.51.100.7:5060"), "the Via moved too");
    let mut granted = moved.make_response(StatusCode::OK, Some("reg")).unwrap();
    granted.push_header(H::Contact, "<sip:alice@198.51.100.7:5060>;expires=1800");
    r.answer(granted);
    assert!(r.reg.state().is_registered());
    // The old binding is gone: the refresh names only the new Contact.
    let refresh = r.run_until(S(3600));
    assert_eq!(contacts(&refresh[0].1), ["<sip:alice@198.51.100.7:5060>"]);
    assert!(refresh[0].0 < S(1800), "refreshed within the new grant");
}

#[test]
fn a_new_address_during_a_register_in_flight_waits_for_its_answer() {
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    r.reg.change_contact(r.now, "sip:alice@198.51.100.7:5060", ViaTemplate::new("UDP", "198.51.100.7:5060")).unwrap();
    r.drain();
    assert_eq!(r.sent.len(), 1, "one REGISTER at a time (§10.2)");
    let moved = r.answer(ok(&first, 3600)).expect("the move follows the answer");
    assert_eq!(contacts(&moved), ["<sip:alice@198.51.100.7:5060>", "<sip:alice@192.0.2.4:5060>;expires=0"]);
    // Not registered yet: the next REGISTER simply uses the new Contact.
    let mut idle = Reg::new(account("secret"));
    idle.reg
        .change_contact(idle.now, "sip:alice@198.51.100.7:5060", ViaTemplate::new("UDP", "198.51.100.7:5060"))
        .unwrap();
    idle.drain();
    assert!(idle.sent.is_empty());
    assert_eq!(contacts(&idle.register()), ["<sip:alice@198.51.100.7:5060>"]);
}

#[test]
fn backoff_doubles_with_jitter_up_to_the_maximum() {
    // The longest draw each time: exactly W = min(1800, 30 * 2^n).
    let mut r = Reg::with_rng(account("secret"), Box::new(Fixed(1.0)));
    let mut req = r.register();
    let mut waits = Vec::new();
    for _ in 0..8 {
        let at = r.now;
        r.answer(req.make_response(StatusCode::SERVICE_UNAVAILABLE, Some("reg")).unwrap());
        let retry_at = match r.reg.state() {
            RegistrationState::RetryWait { retry_at, .. } => *retry_at,
            other => panic!("{other:?}"),
        };
        waits.push((retry_at - at).as_secs());
        let sent = r.run_until(retry_at - r.start);
        req = sent.last().unwrap().1.clone();
        assert!(matches!(r.reg.state(), RegistrationState::Registering));
    }
    assert_eq!(waits, [60, 120, 240, 480, 960, 1800, 1800, 1800]);

    // Seeded draws stay within [W/2, W].
    for seed in 0..50 {
        let mut r = Reg::with_rng(account("secret"), seeded(seed));
        let mut req = r.register();
        for n in 1..=8u32 {
            let at = r.now;
            r.answer(sip_dialog::failure_response(&req, sip_dialog::TxFailure::Timeout).unwrap());
            let RegistrationState::RetryWait { retry_at, failures, last_status } = r.reg.state().clone() else {
                panic!()
            };
            assert_eq!((failures, last_status), (n, StatusCode::REQUEST_TIMEOUT));
            let w = S(30 * 2u64.pow(n)).min(S(1800));
            let wait = retry_at - at;
            assert!(wait >= w / 2 && wait <= w, "{wait:?} for W {w:?}");
            req = r.run_until(retry_at - r.start).last().unwrap().1.clone();
        }
    }
}

#[test]
fn retry_after_is_honoured_and_max_failures_ends_it() {
    let mut cfg = account("secret");
    cfg.max_failures = Some(2);
    let mut r = Reg::with_rng(cfg, Box::new(Fixed(0.0)));
    let req = r.register();
    let mut busy = req.make_response(StatusCode::SERVICE_UNAVAILABLE, Some("reg")).unwrap();
    busy.push_header(H::RetryAfter, "120");
    r.answer(busy);
    let RegistrationState::RetryWait { retry_at, .. } = r.reg.state().clone() else { panic!() };
    assert_eq!(retry_at - r.now, S(120), "Retry-After over the 30 s draw");
    let req = r.run_until(S(120)).remove(0).1;
    r.answer(req.make_response(StatusCode::FORBIDDEN, Some("reg")).unwrap());
    assert_eq!(r.reg.state(), &RegistrationState::Failed { last_status: StatusCode::FORBIDDEN });
    assert_eq!(r.reg.poll_timeout(), None);
    // register() starts afresh.
    r.reg.register(r.now).unwrap();
    assert_eq!(r.reg.state(), &RegistrationState::Registering);
}

#[test]
fn responses_to_other_requests_are_not_taken() {
    let mut r = Reg::new(account("secret"));
    let first = r.register();
    let mut other = first.make_response(StatusCode::OK, Some("x")).unwrap();
    other.headers_mut().set(H::CSeq, format!("{} REGISTER", cseq(&first) + 7));
    assert!(!r.reg.handle_response(r.now, other.clone()));
}

#[test]
fn several_accounts_in_one_table() {
    let mut t: Registrations<&str> = Registrations::new();
    t.insert("work", Registration::new(account("a"), seeded(1)).unwrap());
    let mut home = account("b");
    home.aor = "sip:alice@home.example".into();
    t.insert("home", Registration::new(home, seeded(2)).unwrap());
    let now = Instant::now();
    t.get_mut(&"work").unwrap().register(now).unwrap();
    t.get_mut(&"home").unwrap().register(now).unwrap();
    let mut requests = Vec::new();
    while let Some((id, o)) = t.poll_output() {
        if let Output::Request(r) = o {
            requests.push((id, r));
        }
    }
    assert_eq!(requests.len(), 2);
    assert_ne!(requests[0].1.headers().call_id().unwrap(), requests[1].1.headers().call_id().unwrap());
    for (id, req) in &requests {
        assert_eq!(t.handle_response(now, ok(req, 120)), Some(*id));
    }
    assert!(t.iter().all(|(_, r)| r.state().is_registered()));
    assert_eq!(t.poll_timeout(), Some(now + S(60)));
}

#[test]
fn a_gruu_is_asked_for_kept_from_the_latest_2xx_and_dropped_with_the_binding() {
    let mut cfg = account("secret");
    cfg.credentials = None;
    cfg.instance_id = Some("urn:uuid:00000000-0000-1000-8000-000A95A0E128".into());
    cfg.reg_id = Some(1);
    cfg.gruu = true;
    let mut r = Reg::new(cfg);
    let first = r.register();
    assert_eq!(first.headers().get(H::Supported).unwrap().as_str(), "outbound, path, gruu");
    let granted = |req: &Request, gruu: Option<&str>| {
        let mut resp = req.make_response(StatusCode::OK, Some("reg")).unwrap();
        let gruu = gruu.map(|g| format!(";pub-gruu=\"{g}\"")).unwrap_or_default();
        resp.push_header(
            H::Contact,
            format!("<sip:alice@192.0.2.4:5060>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"{gruu};expires=600"),
        );
        resp
    };
    let gruu = "sip:alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128";
    r.answer(granted(&first, Some(gruu)));
    assert_eq!(r.reg.gruu(), Some(gruu));
    // A refresh whose 2xx grants none (the registrar stopped): none is used any more.
    let refresh = r.run_until(S(301)).pop().expect("a refresh").1;
    r.answer(granted(&refresh, None));
    assert_eq!(r.reg.gruu(), None);
    // Without the option no GRUU is asked for, nor taken.
    let mut plain = account("secret");
    plain.credentials = None;
    plain.instance_id = Some("urn:uuid:00000000-0000-1000-8000-000A95A0E128".into());
    let mut p = Reg::new(plain);
    let req = p.register();
    assert!(!req.headers().contains(H::Supported));
    p.answer(granted(&req, Some(gruu)));
    assert_eq!(p.reg.gruu(), None);
}
