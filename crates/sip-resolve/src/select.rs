//! Pure choices over DNS records: which NAPTR records a client may follow (RFC 3263 §4.1,
//! RFC 3403 §4.1, RFC 7118) and in what order to try SRV targets (RFC 2782).

use crate::records::{Naptr, Srv};
use crate::target::Transports;
use sip_message::Transport;
use tracing::debug;

/// A source of the random numbers RFC 2782's weighted selection needs.
///
/// Every [`rand::RngCore`] is one; tests can inject a seeded generator, or a scripted
/// implementation to pin every draw.
pub trait WeightedRandom {
    /// A number drawn uniformly from `0..=max`.
    fn pick(&mut self, max: u32) -> u32;
}

impl<R: rand::RngCore + ?Sized> WeightedRandom for R {
    fn pick(&mut self, max: u32) -> u32 {
        rand::Rng::gen_range(self, 0..=max)
    }
}

/// The transport a NAPTR service field names (RFC 3263 §4.1 and §9, RFC 7118), compared
/// case-insensitively: `SIP+D2U` UDP, `SIP+D2T` TCP, `SIPS+D2T` TLS, `SIP+D2S` SCTP,
/// `SIP+D2W` WS, `SIPS+D2W` WSS. Anything else (including `SIPS+D2S`, TLS over SCTP, which
/// this stack has no transport for) is `None`.
pub fn naptr_transport(services: &str) -> Option<Transport> {
    const MAP: [(&str, Transport); 6] = [
        ("SIP+D2U", Transport::Udp),
        ("SIP+D2T", Transport::Tcp),
        ("SIPS+D2T", Transport::Tls),
        ("SIP+D2S", Transport::Sctp),
        ("SIP+D2W", Transport::Ws),
        ("SIPS+D2W", Transport::Wss),
    ];
    MAP.iter().find(|(s, _)| s.eq_ignore_ascii_case(services)).map(|&(_, t)| t)
}

/// The SRV service and protocol labels for a transport when no NAPTR record named them
/// (RFC 3263 §4.1–4.2): `_sips._tcp` for TLS, `_sip._tcp`, `_sip._udp`, `_sip._sctp`.
/// WebSocket has none: RFC 7118 defines NAPTR services but no SRV labels to guess.
pub fn srv_prefix(transport: Transport) -> Option<&'static str> {
    match transport {
        Transport::Tls => Some("_sips._tcp"),
        Transport::Tcp => Some("_sip._tcp"),
        Transport::Udp => Some("_sip._udp"),
        Transport::Sctp => Some("_sip._sctp"),
        Transport::Ws | Transport::Wss => None,
    }
}

/// One NAPTR record the client will follow: a transport and the SRV name to query for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrChoice {
    /// The transport the record's service names.
    pub transport: Transport,
    /// The SRV record set to query (the record's replacement).
    pub srv_name: String,
}

/// The NAPTR records a client follows, best first.
///
/// A record is kept when its flag is `S`, its regexp is empty and its replacement is a name,
/// its service names a transport the caller supports, and, for a `sips:` URI, that transport
/// is TLS-based (RFC 3263 §4.1: a `sips:` client discards services other than `SIPS`; a `sip:`
/// client keeps `SIPS` records when it supports TLS). Kept records are sorted by order, then
/// preference, keeping the DNS order among equals. Only the lowest order that has a usable
/// record survives: RFC 3403 §4.1 forbids considering another order once a record matched,
/// while the preferences within it are all listed, so the caller can fail over among them.
pub fn naptr_choices(records: &[Naptr], secure: bool, transports: &Transports) -> Vec<NaptrChoice> {
    let mut usable: Vec<(&Naptr, Transport)> = Vec::new();
    for r in records {
        let Some(transport) = naptr_transport(&r.services) else {
            debug!(services = %r.services, "NAPTR service is not a SIP transport: discarded");
            continue;
        };
        if !r.flags.eq_ignore_ascii_case("s") || !r.regexp.is_empty() {
            debug!(flags = %r.flags, services = %r.services, "NAPTR record is not an SRV pointer: discarded");
            continue;
        }
        if r.replacement.is_empty() || r.replacement == "." {
            debug!(services = %r.services, "NAPTR record has no replacement: discarded");
            continue;
        }
        if secure && !transport.is_secure() {
            debug!(%transport, "NAPTR service cannot carry a sips: URI: discarded");
            continue;
        }
        if !transports.supports(transport) {
            debug!(%transport, "NAPTR service uses an unsupported transport: discarded");
            continue;
        }
        usable.push((r, transport));
    }
    usable.sort_by_key(|(r, _)| (r.order, r.preference));
    let Some(first_order) = usable.first().map(|(r, _)| r.order) else {
        return Vec::new();
    };
    let mut out: Vec<NaptrChoice> = Vec::new();
    for (r, transport) in usable {
        if r.order != first_order {
            debug!(order = r.order, services = %r.services, "NAPTR record of a later order: not considered");
            continue;
        }
        let choice = NaptrChoice { transport, srv_name: r.replacement.clone() };
        if !out.contains(&choice) {
            out.push(choice);
        }
    }
    out
}

/// Orders SRV records for trying, per RFC 2782: lowest priority first, and within one priority
/// a weighted random order: each pick draws a number uniformly from `0..=sum of the remaining
/// weights` and takes the first remaining record (zero-weight records placed first) whose
/// running sum reaches it. Records whose target is `.` (service not offered) are dropped.
///
/// Given the same records and the same draws from `rng`, the order is the same. A draw is made
/// only where there is a choice: a priority with a single record draws nothing.
pub fn order_srv<R: WeightedRandom + ?Sized>(records: &[Srv], rng: &mut R) -> Vec<Srv> {
    let mut live: Vec<&Srv> = records.iter().filter(|r| !r.target.is_empty() && r.target != ".").collect();
    if live.len() < records.len() {
        debug!(dropped = records.len() - live.len(), "SRV records with target '.' dropped");
    }
    live.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(live.len());
    let mut rest = live.as_slice();
    while let Some(first) = rest.first() {
        let len = rest.iter().take_while(|r| r.priority == first.priority).count();
        let (group, tail) = rest.split_at(len);
        rest = tail;
        // Zero weights first, otherwise keeping the order received.
        let mut pool: Vec<&Srv> = group.iter().copied().filter(|r| r.weight == 0).collect();
        pool.extend(group.iter().copied().filter(|r| r.weight != 0));
        while pool.len() > 1 {
            let total: u32 = pool.iter().map(|r| u32::from(r.weight)).fold(0, u32::saturating_add);
            let draw = rng.pick(total);
            let mut running = 0u32;
            let at = pool
                .iter()
                .position(|r| {
                    running = running.saturating_add(u32::from(r.weight));
                    running >= draw
                })
                .unwrap_or(pool.len() - 1);
            out.push(pool.remove(at).clone());
        }
        // The last one needs no draw.
        out.extend(pool.into_iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Returns the scripted draws in turn, clamped to the allowed range.
    pub(crate) struct Script(pub Vec<u32>);
    impl WeightedRandom for Script {
        fn pick(&mut self, max: u32) -> u32 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0).min(max)
            }
        }
    }

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv { priority, weight, port: 5060, target: target.into() }
    }

    fn naptr(order: u16, preference: u16, services: &str, replacement: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: "S".into(),
            services: services.into(),
            regexp: String::new(),
            replacement: replacement.into(),
        }
    }

    fn targets(v: &[Srv]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn service_fields_map_to_transports() {
        assert_eq!(naptr_transport("SIP+D2U"), Some(Transport::Udp));
        assert_eq!(naptr_transport("sip+d2t"), Some(Transport::Tcp));
        assert_eq!(naptr_transport("SIPS+D2T"), Some(Transport::Tls));
        assert_eq!(naptr_transport("SIP+D2S"), Some(Transport::Sctp));
        assert_eq!(naptr_transport("SIP+D2W"), Some(Transport::Ws));
        assert_eq!(naptr_transport("SIPS+D2W"), Some(Transport::Wss));
        assert_eq!(naptr_transport("SIPS+D2S"), None);
        assert_eq!(naptr_transport("E2U+sip"), None);
        assert_eq!(srv_prefix(Transport::Tls), Some("_sips._tcp"));
        assert_eq!(srv_prefix(Transport::Ws), None);
    }

    #[test]
    fn naptr_sorted_by_order_then_preference() {
        let all = Transports::new([Transport::Udp, Transport::Tcp, Transport::Tls]);
        let records = [
            naptr(50, 90, "SIP+D2U", "_sip._udp.example.test."),
            naptr(50, 50, "SIPS+D2T", "_sips._tcp.example.test."),
            naptr(50, 70, "SIP+D2T", "_sip._tcp.example.test."),
        ];
        let got = naptr_choices(&records, false, &all);
        let t: Vec<Transport> = got.iter().map(|c| c.transport).collect();
        assert_eq!(t, [Transport::Tls, Transport::Tcp, Transport::Udp]);
        assert_eq!(got[0].srv_name, "_sips._tcp.example.test.");
    }

    #[test]
    fn naptr_later_order_not_considered_once_one_matches() {
        let all = Transports::new([Transport::Udp, Transport::Tcp]);
        let records = [naptr(90, 10, "SIP+D2U", "_sip._udp.a."), naptr(10, 50, "SIP+D2T", "_sip._tcp.a.")];
        let got = naptr_choices(&records, false, &all);
        assert_eq!(got, [NaptrChoice { transport: Transport::Tcp, srv_name: "_sip._tcp.a.".into() }]);
        // When the earlier order has nothing usable, the later order is the first match.
        let udp_only = Transports::new([Transport::Udp]);
        let got = naptr_choices(&records, false, &udp_only);
        assert_eq!(got, [NaptrChoice { transport: Transport::Udp, srv_name: "_sip._udp.a.".into() }]);
    }

    #[test]
    fn naptr_filtered_by_supported_transports() {
        let records = [
            naptr(10, 10, "SIPS+D2T", "_sips._tcp.a."),
            naptr(10, 20, "SIP+D2T", "_sip._tcp.a."),
            naptr(10, 30, "SIP+D2U", "_sip._udp.a."),
            naptr(10, 40, "SIP+D2W", "_sip._ws.a."),
        ];
        let got = naptr_choices(&records, false, &Transports::new([Transport::Udp, Transport::Ws]));
        let t: Vec<Transport> = got.iter().map(|c| c.transport).collect();
        assert_eq!(t, [Transport::Udp, Transport::Ws]);
        assert!(naptr_choices(&records, false, &Transports::new([Transport::Sctp])).is_empty());
    }

    #[test]
    fn naptr_for_sips_keeps_only_secure_services() {
        let records = [
            naptr(10, 10, "SIP+D2U", "_sip._udp.a."),
            naptr(10, 20, "SIPS+D2T", "_sips._tcp.a."),
            naptr(10, 30, "SIPS+D2W", "_sips._ws.a."),
        ];
        let all = Transports::new([Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Wss]);
        let t: Vec<Transport> = naptr_choices(&records, true, &all).iter().map(|c| c.transport).collect();
        assert_eq!(t, [Transport::Tls, Transport::Wss]);
    }

    #[test]
    fn naptr_needs_s_flag_empty_regexp_and_replacement() {
        let all = Transports::new([Transport::Udp]);
        let mut a = naptr(10, 10, "SIP+D2U", "_sip._udp.a.");
        a.flags = "A".into();
        let mut b = naptr(10, 10, "SIP+D2U", "_sip._udp.a.");
        b.regexp = "!^.*$!sip:x@a!".into();
        let c = naptr(10, 10, "SIP+D2U", ".");
        assert!(naptr_choices(&[a, b, c], false, &all).is_empty());
        let mut lower = naptr(10, 10, "SIP+D2U", "_sip._udp.a.");
        lower.flags = "s".into();
        assert_eq!(naptr_choices(&[lower.clone(), lower], false, &all).len(), 1, "duplicates collapse");
    }

    #[test]
    fn srv_priority_first() {
        let records = [srv(20, 100, "c."), srv(10, 0, "a."), srv(10, 0, "b."), srv(30, 5, "d.")];
        let got = order_srv(&records, &mut Script(vec![]));
        assert_eq!(targets(&got), ["a.", "b.", "c.", "d."]);
    }

    #[test]
    fn srv_weighted_selection_follows_draws() {
        // Weights 60, 30, 10: running sums 60, 90, 100 over a draw in 0..=100.
        let records = [srv(10, 60, "a."), srv(10, 30, "b."), srv(10, 10, "c.")];
        // Draw 95 picks c (first running sum >= 95); then a, b remain (60, 90): draw 61 picks b.
        let got = order_srv(&records, &mut Script(vec![95, 61, 0]));
        assert_eq!(targets(&got), ["c.", "b.", "a."]);
        // Draw 60 is still a's (running sum 60 >= 60); 61 would be b's.
        let got = order_srv(&records, &mut Script(vec![60, 0, 0]));
        assert_eq!(targets(&got), ["a.", "b.", "c."]);
        let got = order_srv(&records, &mut Script(vec![61, 0, 0]));
        assert_eq!(targets(&got), ["b.", "a.", "c."]);
    }

    #[test]
    fn srv_zero_weight_goes_first_in_the_pool() {
        // A zero-weight record is only chosen by a draw of 0 (RFC 2782).
        let records = [srv(10, 50, "a."), srv(10, 0, "z.")];
        assert_eq!(targets(&order_srv(&records, &mut Script(vec![0, 0]))), ["z.", "a."]);
        assert_eq!(targets(&order_srv(&records, &mut Script(vec![1, 0]))), ["a.", "z."]);
    }

    #[test]
    fn srv_dot_target_means_not_offered() {
        let records = [srv(0, 0, "."), srv(10, 0, "a.")];
        assert_eq!(targets(&order_srv(&records, &mut Script(vec![]))), ["a."]);
        assert!(order_srv(&[srv(0, 0, ".")], &mut Script(vec![])).is_empty());
    }

    #[test]
    fn srv_seeded_rng_is_deterministic_and_weighted() {
        let records = [srv(10, 60, "a."), srv(10, 30, "b."), srv(10, 10, "c.")];
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..3000).map(|_| order_srv(&records, &mut rng)[0].target.clone()).collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7), "same seed, same orders");
        let share = |t: &str| first.iter().filter(|x| *x == t).count();
        // Expected first picks: a 60 %, b 30 %, c 10 % (the draw spans 0..=100, so ±1 %).
        assert!((1650..1950).contains(&share("a.")), "a first {} times", share("a."));
        assert!((750..1050).contains(&share("b.")), "b first {} times", share("b."));
        assert!((200..400).contains(&share("c.")), "c first {} times", share("c."));
    }
}
