use super::*;
use crate::records::{Naptr, Srv};
use crate::select::WeightedRandom;
use crate::ErrorCategory;
use sip_message::Transport::{Tcp, Tls, Udp, Ws, Wss};
use std::collections::HashMap;

/// Replays scripted draws (then zeros), clamped to the allowed range.
struct Script(Vec<u32>);
impl WeightedRandom for Script {
    fn pick(&mut self, max: u32) -> u32 {
        if self.0.is_empty() {
            0
        } else {
            self.0.remove(0).min(max)
        }
    }
}

/// A fake DNS: answers from a table, `NoRecords` for anything else. Records what was asked.
#[derive(Default)]
struct Zone {
    answers: HashMap<Query, Answer>,
}

impl Zone {
    fn with(mut self, name: &str, kind: QueryKind, answer: Answer) -> Zone {
        self.answers.insert(Query::new(name, kind), answer);
        self
    }
    fn naptr(self, name: &str, records: &[(u16, u16, &str, &str)]) -> Zone {
        let records = records
            .iter()
            .map(|&(order, preference, services, replacement)| Naptr {
                order,
                preference,
                flags: "S".into(),
                services: services.into(),
                regexp: String::new(),
                replacement: replacement.into(),
            })
            .collect();
        self.with(name, QueryKind::Naptr, Answer::Naptr(records))
    }
    fn srv(self, name: &str, records: &[(u16, u16, u16, &str)]) -> Zone {
        let records = records
            .iter()
            .map(|&(priority, weight, port, target)| Srv { priority, weight, port, target: target.into() })
            .collect();
        self.with(name, QueryKind::Srv, Answer::Srv(records))
    }
    fn a(self, name: &str, ips: &[&str]) -> Zone {
        self.with(name, QueryKind::A, Answer::Addresses(ips.iter().map(|s| s.parse().unwrap()).collect()))
    }
    fn aaaa(self, name: &str, ips: &[&str]) -> Zone {
        self.with(name, QueryKind::Aaaa, Answer::Addresses(ips.iter().map(|s| s.parse().unwrap()).collect()))
    }

    /// Drives the plan to its end; returns every batch of queries and the result.
    fn run(&self, mut plan: Plan, rng: &mut Script) -> (Vec<Vec<Query>>, Result<Vec<Target>, ResolveError>) {
        let mut batches = Vec::new();
        for _ in 0..10 {
            let queries = plan.queries();
            if queries.is_empty() {
                break;
            }
            for q in &queries {
                let answer = self.answers.get(q).cloned().unwrap_or(Answer::NoRecords);
                plan.answer(q, answer, rng);
            }
            batches.push(queries);
        }
        assert!(plan.is_finished(), "plan did not finish");
        (batches, plan.finish())
    }
}

fn plan(uri: &str, transports: &[Transport]) -> Result<Plan, ResolveError> {
    plan_with(uri, Transports::new(transports.iter().copied()), IpFamilies::Ipv4ThenIpv6)
}

fn plan_with(uri: &str, transports: Transports, families: IpFamilies) -> Result<Plan, ResolveError> {
    Plan::from_uri(&Uri::parse(uri).unwrap(), &transports, families)
}

fn q(name: &str, kind: QueryKind) -> Query {
    Query::new(name, kind)
}

/// `(transport, "addr:port")` of each target, for compact assertions.
fn short(targets: &[Target]) -> Vec<(Transport, String)> {
    targets.iter().map(|t| (t.transport, t.addr.to_string())).collect()
}

fn pairs(list: &[(Transport, &str)]) -> Vec<(Transport, String)> {
    list.iter().map(|&(t, a)| (t, a.to_owned())).collect()
}

const ALL: &[Transport] = &[Udp, Tcp, Tls];

// --- IP literals: no DNS ---------------------------------------------------------------------

#[test]
fn ip_literal_sip_is_udp_5060_without_dns() {
    let p = plan("sip:bob@192.0.2.1", ALL).unwrap();
    assert!(p.is_finished());
    assert!(p.queries().is_empty());
    let t = p.finish().unwrap();
    assert_eq!(t, [Target { transport: Udp, addr: "192.0.2.1:5060".parse().unwrap(), host: "192.0.2.1".into() }]);
}

#[test]
fn ip_literal_sips_is_tls_5061() {
    let t = plan("sips:bob@192.0.2.1", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tls, "192.0.2.1:5061")]));
}

#[test]
fn ip_literal_with_port_and_transport_param() {
    let t = plan("sip:bob@192.0.2.1:5080;transport=tcp", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.1:5080")]));
    // sips with transport=tcp means TLS (RFC 3261 §26.2.2), at TLS's default port.
    let t = plan("sips:bob@192.0.2.1;transport=tcp", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tls, "192.0.2.1:5061")]));
}

#[test]
fn ipv6_literal() {
    let t = plan("sip:bob@[2001:db8::1]", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "[2001:db8::1]:5060")]));
    assert_eq!(t[0].host, "2001:db8::1");
    let t = plan("sips:[2001:db8::1]:6000", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tls, "[2001:db8::1]:6000")]));
}

#[test]
fn ip_literal_default_transport_when_udp_unsupported() {
    let t = plan("sip:192.0.2.1", &[Tcp, Tls]).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.1:5060")]));
    let t = plan("sip:192.0.2.1;transport=ws", &[Ws]).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Ws, "192.0.2.1:80")]), "WS default port (RFC 7118)");
}

#[test]
fn maddr_overrides_the_host() {
    let t = plan("sip:bob@example.test;maddr=192.0.2.9", ALL).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "192.0.2.9:5060")]));
    let p = plan("sip:bob@192.0.2.1;maddr=proxy.example.test", ALL).unwrap();
    assert_eq!(p.queries(), [q("proxy.example.test", QueryKind::Naptr)]);
    assert_eq!(
        plan("sip:bob@example.test;maddr=bad%20host", ALL).unwrap_err(),
        ResolveError::InvalidMaddr { maddr: "bad%20host".into() }
    );
}

// --- A name with an explicit port: A/AAAA only ------------------------------------------------

#[test]
fn explicit_port_queries_only_addresses() {
    let p = plan("sip:bob@example.test:5070", ALL).unwrap();
    assert_eq!(p.queries(), [q("example.test", QueryKind::A), q("example.test", QueryKind::Aaaa)]);
    let zone = Zone::default().a("example.test", &["192.0.2.1", "192.0.2.2"]).aaaa("example.test", &["2001:db8::1"]);
    let (batches, result) = zone.run(p, &mut Script(vec![]));
    assert_eq!(batches.len(), 1, "no NAPTR, no SRV");
    let t = result.unwrap();
    assert_eq!(short(&t), pairs(&[(Udp, "192.0.2.1:5070"), (Udp, "192.0.2.2:5070"), (Udp, "[2001:db8::1]:5070")]));
    assert!(t.iter().all(|t| t.host == "example.test"));
}

#[test]
fn explicit_port_sips_uses_tls() {
    let zone = Zone::default().a("example.test", &["192.0.2.1"]);
    let (_, result) = zone.run(plan("sips:bob@example.test:5071", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(short(&result.unwrap()), pairs(&[(Tls, "192.0.2.1:5071")]));
}

#[test]
fn explicit_port_with_transport_param() {
    let zone = Zone::default().a("example.test", &["192.0.2.1"]);
    let (_, result) = zone.run(plan("sip:example.test:5070;transport=TCP", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(short(&result.unwrap()), pairs(&[(Tcp, "192.0.2.1:5070")]));
}

// --- A transport parameter (or a forced transport): SRV for it, no NAPTR ---------------------

#[test]
fn transport_param_skips_naptr_and_queries_its_srv() {
    let p = plan("sip:bob@example.test;transport=tcp", ALL).unwrap();
    assert_eq!(p.queries(), [q("_sip._tcp.example.test", QueryKind::Srv)]);
    let zone = Zone::default()
        .srv("_sip._tcp.example.test", &[(10, 0, 5062, "pbx.example.test.")])
        .a("pbx.example.test.", &["192.0.2.20"]);
    let (batches, result) = zone.run(p, &mut Script(vec![]));
    assert_eq!(batches.len(), 2);
    let t = result.unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.20:5062")]));
    assert_eq!(t[0].host, "example.test", "TLS name is the URI's domain, not the SRV target");
}

#[test]
fn transport_param_tls_on_sip_uri_uses_sips_srv() {
    let p = plan("sip:bob@example.test;transport=tls", ALL).unwrap();
    assert_eq!(p.queries(), [q("_sips._tcp.example.test", QueryKind::Srv)]);
}

#[test]
fn transport_param_without_srv_falls_back_to_default_port() {
    let zone = Zone::default().a("example.test", &["192.0.2.1"]);
    let (batches, result) = zone.run(plan("sip:example.test;transport=tcp", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(batches[1], [q("example.test", QueryKind::A), q("example.test", QueryKind::Aaaa)]);
    assert_eq!(short(&result.unwrap()), pairs(&[(Tcp, "192.0.2.1:5060")]));
}

#[test]
fn websocket_transport_has_no_srv_and_uses_its_default_port() {
    let p = plan("sips:example.test;transport=ws", &[Wss]).unwrap();
    assert_eq!(p.queries(), [q("example.test", QueryKind::A), q("example.test", QueryKind::Aaaa)]);
    let zone = Zone::default().a("example.test", &["192.0.2.1"]);
    assert_eq!(short(&zone.run(p, &mut Script(vec![])).1.unwrap()), pairs(&[(Wss, "192.0.2.1:443")]));
}

#[test]
fn forced_transport_wins_over_the_parameter() {
    let transports = Transports::new([Udp, Tcp]).force(Tcp);
    let p = plan_with("sip:example.test;transport=udp", transports.clone(), IpFamilies::default()).unwrap();
    assert_eq!(p.queries(), [q("_sip._tcp.example.test", QueryKind::Srv)]);
    let t = plan_with("sip:192.0.2.1", transports, IpFamilies::default()).unwrap().finish().unwrap();
    assert_eq!(short(&t), pairs(&[(Tcp, "192.0.2.1:5060")]));
}

#[test]
fn transport_errors() {
    assert_eq!(
        plan("sip:example.test;transport=dccp", ALL).unwrap_err(),
        ResolveError::UnknownTransport { token: "dccp".into() }
    );
    assert_eq!(
        plan("sip:example.test;transport=ws", ALL).unwrap_err(),
        ResolveError::TransportNotSupported { transport: Ws }
    );
    let e = plan_with("sips:example.test", Transports::new(ALL.iter().copied()).force(Udp), IpFamilies::default())
        .unwrap_err();
    assert_eq!(e, ResolveError::InsecureTransport { transport: Udp });
    assert_eq!(e.category(), ErrorCategory::Input);
    assert_eq!(plan("sips:example.test", &[Udp, Tcp]).unwrap_err(), ResolveError::NoUsableTransport);
    assert_eq!(plan("sip:example.test", &[]).unwrap_err(), ResolveError::NoUsableTransport);
    assert_eq!(plan("tel:+15551234", ALL).unwrap_err(), ResolveError::UnsupportedScheme { scheme: "tel".into() });
}

// --- NAPTR ------------------------------------------------------------------------------------

fn naptr_zone() -> Zone {
    Zone::default()
        .naptr(
            "example.test",
            &[
                (10, 30, "SIP+D2U", "_sip._udp.example.test."),
                (10, 10, "SIPS+D2T", "_sips._tcp.example.test."),
                (10, 20, "SIP+D2T", "_sip._tcp.example.test."),
                (10, 40, "SIP+D2W", "_sip._ws.example.test."),
            ],
        )
        .srv("_sips._tcp.example.test.", &[(10, 0, 5061, "tls.example.test.")])
        .srv("_sip._tcp.example.test.", &[(10, 0, 5060, "tcp.example.test.")])
        .srv("_sip._udp.example.test.", &[(10, 0, 5060, "udp.example.test.")])
        .srv("_sip._ws.example.test.", &[(10, 0, 8080, "ws.example.test.")])
        .a("tls.example.test.", &["192.0.2.11"])
        .a("tcp.example.test.", &["192.0.2.12"])
        .a("udp.example.test.", &["192.0.2.13"])
        .a("ws.example.test.", &["192.0.2.14"])
}

#[test]
fn naptr_order_and_preference_decide_the_transport_order() {
    let p = plan("sip:bob@example.test", ALL).unwrap();
    assert_eq!(p.queries(), [q("example.test", QueryKind::Naptr)]);
    let (batches, result) = naptr_zone().run(p, &mut Script(vec![]));
    assert_eq!(
        batches[1],
        [
            q("_sips._tcp.example.test.", QueryKind::Srv),
            q("_sip._tcp.example.test.", QueryKind::Srv),
            q("_sip._udp.example.test.", QueryKind::Srv),
        ],
        "WS is not supported, so its record is not followed"
    );
    assert_eq!(
        short(&result.unwrap()),
        pairs(&[(Tls, "192.0.2.11:5061"), (Tcp, "192.0.2.12:5060"), (Udp, "192.0.2.13:5060")])
    );
}

#[test]
fn naptr_filtered_by_supported_transports() {
    let (batches, result) = naptr_zone().run(plan("sip:example.test", &[Udp, Ws]).unwrap(), &mut Script(vec![]));
    assert_eq!(batches[1], [q("_sip._udp.example.test.", QueryKind::Srv), q("_sip._ws.example.test.", QueryKind::Srv)]);
    assert_eq!(short(&result.unwrap()), pairs(&[(Udp, "192.0.2.13:5060"), (Ws, "192.0.2.14:8080")]));
}

#[test]
fn naptr_for_sips_follows_only_tls() {
    let (batches, result) = naptr_zone().run(plan("sips:example.test", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(batches[1], [q("_sips._tcp.example.test.", QueryKind::Srv)]);
    assert_eq!(short(&result.unwrap()), pairs(&[(Tls, "192.0.2.11:5061")]));
}

#[test]
fn naptr_without_srv_falls_back_to_the_first_transports_default_port() {
    let zone = Zone::default()
        .naptr("example.test", &[(10, 10, "SIP+D2T", "_sip._tcp.example.test."), (10, 20, "SIP+D2U", "_sip._udp.x.")])
        .a("example.test", &["192.0.2.1"]);
    let (batches, result) = zone.run(plan("sip:example.test", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(batches.len(), 3);
    assert_eq!(short(&result.unwrap()), pairs(&[(Tcp, "192.0.2.1:5060")]));
}

#[test]
fn unusable_naptr_records_count_as_none() {
    // Only a WS record, which this client cannot use: SRV names are guessed as without NAPTR.
    let zone = Zone::default().naptr("example.test", &[(10, 10, "SIP+D2W", "_sip._ws.example.test.")]);
    let (batches, _) = zone.run(plan("sip:example.test", &[Udp]).unwrap(), &mut Script(vec![]));
    assert_eq!(batches[1], [q("_sip._udp.example.test", QueryKind::Srv)]);
}

// --- No NAPTR: SRV guesses ---------------------------------------------------------------------

#[test]
fn no_naptr_guesses_srv_for_each_supported_transport() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", &[(10, 0, 5060, "udp.example.test.")])
        .srv("_sip._tcp.example.test", &[(10, 0, 5060, "tcp.example.test.")])
        .a("udp.example.test.", &["192.0.2.13"])
        .a("tcp.example.test.", &["192.0.2.12"]);
    let (batches, result) = zone.run(plan("sip:example.test", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(
        batches[1],
        [
            q("_sips._tcp.example.test", QueryKind::Srv),
            q("_sip._tcp.example.test", QueryKind::Srv),
            q("_sip._udp.example.test", QueryKind::Srv),
        ]
    );
    assert_eq!(short(&result.unwrap()), pairs(&[(Tcp, "192.0.2.12:5060"), (Udp, "192.0.2.13:5060")]));
}

#[test]
fn no_naptr_and_sips_guesses_only_sips_tcp() {
    let p = plan("sips:example.test", ALL).unwrap();
    let zone = Zone::default()
        .srv("_sip._udp.example.test", &[(10, 0, 5060, "udp.example.test.")])
        .a("example.test", &["192.0.2.1"]);
    let (batches, result) = zone.run(p, &mut Script(vec![]));
    assert_eq!(batches[1], [q("_sips._tcp.example.test", QueryKind::Srv)]);
    assert_eq!(short(&result.unwrap()), pairs(&[(Tls, "192.0.2.1:5061")]));
}

#[test]
fn no_naptr_no_srv_falls_back_to_a_aaaa_with_udp() {
    let zone = Zone::default().a("example.test", &["192.0.2.1"]).aaaa("example.test", &["2001:db8::5"]);
    let (batches, result) = zone.run(plan("sip:example.test", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(batches.len(), 3);
    assert_eq!(short(&result.unwrap()), pairs(&[(Udp, "192.0.2.1:5060"), (Udp, "[2001:db8::5]:5060")]));
}

#[test]
fn failed_naptr_lookup_is_treated_as_no_naptr() {
    let zone = Zone::default()
        .with("example.test", QueryKind::Naptr, Answer::Failed("timed out".into()))
        .a("example.test", &["192.0.2.1"]);
    let (_, result) = zone.run(plan("sip:example.test", &[Udp]).unwrap(), &mut Script(vec![]));
    assert_eq!(short(&result.unwrap()), pairs(&[(Udp, "192.0.2.1:5060")]));
}

// --- SRV ordering --------------------------------------------------------------------------------

fn weighted_zone() -> Zone {
    Zone::default()
        .srv(
            "_sip._udp.example.test",
            &[
                (20, 0, 5060, "backup.example.test."),
                (10, 60, 5060, "a.example.test."),
                (10, 30, 5060, "b.example.test."),
                (10, 10, 5060, "c.example.test."),
            ],
        )
        .a("a.example.test.", &["192.0.2.1"])
        .a("b.example.test.", &["192.0.2.2"])
        .a("c.example.test.", &["192.0.2.3"])
        .a("backup.example.test.", &["192.0.2.99"])
}

#[test]
fn srv_priority_then_weighted_order_from_the_injected_rng() {
    let p = plan("sip:example.test;transport=udp", &[Udp]).unwrap();
    // Draws: 95 of 0..=100 picks c; 61 of 0..=90 picks b; then a; then the backup.
    let (_, result) = weighted_zone().run(p, &mut Script(vec![95, 61, 0, 0]));
    assert_eq!(
        short(&result.unwrap()),
        pairs(&[(Udp, "192.0.2.3:5060"), (Udp, "192.0.2.2:5060"), (Udp, "192.0.2.1:5060"), (Udp, "192.0.2.99:5060")])
    );
    let p = plan("sip:example.test;transport=udp", &[Udp]).unwrap();
    let (_, result) = weighted_zone().run(p, &mut Script(vec![10, 50, 0, 0]));
    assert_eq!(
        short(&result.unwrap()),
        pairs(&[(Udp, "192.0.2.1:5060"), (Udp, "192.0.2.3:5060"), (Udp, "192.0.2.2:5060"), (Udp, "192.0.2.99:5060")])
    );
}

#[test]
fn srv_targets_without_addresses_are_skipped_and_duplicates_collapse() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", &[(10, 0, 5060, "gone.example.test."), (20, 0, 5060, "ok.example.test.")])
        .srv("_sip._tcp.example.test", &[(10, 0, 5060, "ok.example.test.")])
        .a("ok.example.test.", &["192.0.2.5", "192.0.2.5"]);
    let (batches, result) = zone.run(plan("sip:example.test", &[Udp, Tcp]).unwrap(), &mut Script(vec![]));
    // Both SRV sets name ok.example.test: it is looked up once.
    assert_eq!(
        batches[2],
        [
            q("ok.example.test.", QueryKind::A),
            q("ok.example.test.", QueryKind::Aaaa),
            q("gone.example.test.", QueryKind::A),
            q("gone.example.test.", QueryKind::Aaaa),
        ]
    );
    assert_eq!(short(&result.unwrap()), pairs(&[(Tcp, "192.0.2.5:5060"), (Udp, "192.0.2.5:5060")]));
}

// --- Address families ------------------------------------------------------------------------------

fn dual_zone() -> Zone {
    Zone::default()
        .srv("_sip._udp.example.test", &[(10, 0, 5060, "one.example.test."), (20, 0, 5070, "two.example.test.")])
        .a("one.example.test.", &["192.0.2.1"])
        .aaaa("one.example.test.", &["2001:db8::1", "2001:db8::2"])
        .aaaa("two.example.test.", &["2001:db8::3"])
}

#[test]
fn ipv6_and_ipv4_both_listed_per_host() {
    let p = plan("sip:example.test;transport=udp", &[Udp]).unwrap();
    let (_, result) = dual_zone().run(p, &mut Script(vec![]));
    assert_eq!(
        short(&result.unwrap()),
        pairs(&[
            (Udp, "192.0.2.1:5060"),
            (Udp, "[2001:db8::1]:5060"),
            (Udp, "[2001:db8::2]:5060"),
            (Udp, "[2001:db8::3]:5070"),
        ])
    );
}

#[test]
fn ipv6_first_and_single_family() {
    let run = |families| {
        let p = plan_with("sip:example.test;transport=udp", Transports::new([Udp]), families).unwrap();
        let (batches, result) = dual_zone().run(p, &mut Script(vec![]));
        (batches, short(&result.unwrap()))
    };
    let (_, six_first) = run(IpFamilies::Ipv6ThenIpv4);
    assert_eq!(
        six_first,
        pairs(&[
            (Udp, "[2001:db8::1]:5060"),
            (Udp, "[2001:db8::2]:5060"),
            (Udp, "192.0.2.1:5060"),
            (Udp, "[2001:db8::3]:5070"),
        ])
    );
    let (batches, v4) = run(IpFamilies::Ipv4Only);
    assert!(batches[1].iter().all(|q| q.kind == QueryKind::A), "no AAAA query");
    assert_eq!(v4, pairs(&[(Udp, "192.0.2.1:5060")]));
    let (batches, v6) = run(IpFamilies::Ipv6Only);
    assert!(batches[1].iter().all(|q| q.kind == QueryKind::Aaaa), "no A query");
    assert_eq!(v6, pairs(&[(Udp, "[2001:db8::1]:5060"), (Udp, "[2001:db8::2]:5060"), (Udp, "[2001:db8::3]:5070")]));
}

// --- Outcomes and protocol of use ---------------------------------------------------------------

#[test]
fn nothing_found_is_not_found_and_not_recoverable() {
    let (_, result) = Zone::default().run(plan("sip:nowhere.test", ALL).unwrap(), &mut Script(vec![]));
    let e = result.unwrap_err();
    assert_eq!(e, ResolveError::NotFound { name: "nowhere.test".into() });
    assert!(!e.is_recoverable());
}

#[test]
fn failures_with_no_targets_are_recoverable() {
    let zone = Zone::default().with("example.test", QueryKind::A, Answer::Failed("SERVFAIL".into()));
    let (_, result) = zone.run(plan("sip:example.test:5060", ALL).unwrap(), &mut Script(vec![]));
    let e = result.unwrap_err();
    assert_eq!(e, ResolveError::LookupFailed { name: "example.test".into(), reason: "SERVFAIL".into() });
    assert!(e.is_recoverable());
}

#[test]
fn one_failed_family_does_not_hide_the_other() {
    let zone = Zone::default().a("example.test", &["192.0.2.1"]).with(
        "example.test",
        QueryKind::Aaaa,
        Answer::Failed("timed out".into()),
    );
    let (_, result) = zone.run(plan("sip:example.test:5060", ALL).unwrap(), &mut Script(vec![]));
    assert_eq!(short(&result.unwrap()), pairs(&[(Udp, "192.0.2.1:5060")]));
}

#[test]
fn finish_before_the_end_and_stray_answers() {
    let mut p = plan("sip:example.test", ALL).unwrap();
    // An answer nobody asked for is ignored.
    p.answer(&q("other.test", QueryKind::A), Answer::NoRecords, &mut Script(vec![]));
    assert_eq!(p.queries(), [q("example.test", QueryKind::Naptr)]);
    assert!(!p.is_finished());
    assert_eq!(p.finish().unwrap_err(), ResolveError::Unfinished);
}

#[test]
fn answered_queries_are_not_asked_again() {
    let mut p = plan("sip:example.test:5060", ALL).unwrap();
    p.answer(
        &q("example.test", QueryKind::A),
        Answer::Addresses(vec!["192.0.2.1".parse().unwrap()]),
        &mut Script(vec![]),
    );
    assert_eq!(p.queries(), [q("example.test", QueryKind::Aaaa)]);
    p.answer(&q("example.test", QueryKind::Aaaa), Answer::NoRecords, &mut Script(vec![]));
    assert!(p.is_finished());
}
