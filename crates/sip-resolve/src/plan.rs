//! [`Plan`]: the RFC 3263 §4 decision procedure as a sans-IO state machine. It says which DNS
//! lookups to make, takes their answers, and ends with the ordered list of [`Target`]s.

use crate::error::ResolveError;
use crate::records::{Answer, Query, QueryKind};
use crate::select::{naptr_choices, order_srv, srv_prefix, WeightedRandom};
use crate::target::{IpFamilies, Target, Transports};
use sip_message::{Host, SipUri, Transport, Uri};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tracing::debug;

/// The order in which SRV records are guessed when the domain has no usable NAPTR record:
/// TLS, then TCP, then UDP, then SCTP (the client's preference, which RFC 3263 §4.1 leaves
/// open; encrypted and reliable transports first).
const GUESS_ORDER: [Transport; 4] = [Transport::Tls, Transport::Tcp, Transport::Udp, Transport::Sctp];

/// The resolution of one SIP or SIPS URI into an ordered list of [`Target`]s, per RFC 3263 §4.
///
/// The plan does no I/O. Its driver asks [`queries`](Plan::queries) which lookups are
/// outstanding, performs them (in parallel if it likes), hands each result to
/// [`answer`](Plan::answer), and repeats until [`is_finished`](Plan::is_finished); then
/// [`finish`](Plan::finish) gives the targets. [`Resolver`](crate::Resolver) is such a driver.
///
/// The steps, with TARGET the URI's `maddr` if present, otherwise its host:
///
/// 1. **Transport.** A forced transport ([`Transports::force`]) or the URI's `transport`
///    parameter fixes it. For a `sips:` URI only TLS-based transports are allowed: TCP means
///    TLS, WS means WSS, and UDP or SCTP is an error. A fixed transport must be supported.
/// 2. **IP literal.** No DNS: one target, on the fixed transport, or UDP for `sip:` and TLS for
///    `sips:` (the first supported of UDP, TCP, TLS, SCTP, WS, WSS, resp. TLS, WSS, when the
///    preferred one is not supported), at the URI's port or the transport's default port.
/// 3. **Name with a port.** A and AAAA lookups of TARGET only, on the fixed or default
///    transport as in step 2 (RFC 3263 §4.2).
/// 4. **Name, transport fixed, no port.** An SRV lookup for that transport (`_sips._tcp` for
///    TLS, `_sip._tcp`, `_sip._udp`, `_sip._sctp`); WS and WSS have no SRV labels, so they
///    go straight to step 7.
/// 5. **Name, nothing fixed.** A NAPTR lookup of TARGET. The usable records
///    ([`naptr_choices`](crate::select::naptr_choices)) give the transports in the server's
///    order, each with the SRV name to query. Without a usable record, SRV records are
///    guessed for each supported transport, TLS, TCP, UDP then SCTP (`sips:`: TLS only).
/// 6. **SRV.** The records of each SRV set, in the order of step 5, are ordered by RFC 2782
///    ([`order_srv`](crate::select::order_srv)); each target host is then looked up (A and
///    AAAA per [`IpFamilies`]) and listed with the record's port.
/// 7. **No SRV record.** A and AAAA lookups of TARGET, at the default port of the transport
///    found in step 5 (the first NAPTR choice), or of the fixed or default transport.
///
/// Every target carries TARGET as the name to authenticate with TLS (see [`Target::host`]).
/// The list has no duplicates; when it is empty the plan ends with
/// [`ResolveError::NotFound`], or [`ResolveError::LookupFailed`] if some lookup failed.
#[derive(Debug)]
pub struct Plan {
    secure: bool,
    /// TARGET when it is a name: what NAPTR, SRV guesses and the last-resort A/AAAA query.
    domain: String,
    /// The name every target is authenticated as.
    tls_name: String,
    /// The transport to use when DNS names none (RFC 3263 §4.1, last paragraph).
    fallback: Transport,
    transports: Transports,
    families: IpFamilies,
    stage: Stage,
    answers: HashMap<Query, Answer>,
    failure: Option<(String, String)>,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the NAPTR records of the domain.
    Naptr,
    /// Waiting for these SRV sets, in preference order; `fallback` is the transport for A/AAAA
    /// of the domain if none has a record.
    Srv { sets: Vec<SrvSet>, fallback: Transport },
    /// Waiting for the addresses of these hosts, in the order their targets will be listed.
    Addresses { entries: Vec<Entry> },
    /// Finished.
    Done(Result<Vec<Target>, ResolveError>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SrvSet {
    transport: Transport,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    transport: Transport,
    host: String,
    port: u16,
}

impl Plan {
    /// Starts resolving `uri` (any URI; only `sip:` and `sips:` can be resolved).
    pub fn from_uri(uri: &Uri<'_>, transports: &Transports, families: IpFamilies) -> Result<Plan, ResolveError> {
        match uri {
            Uri::Sip(sip) => Plan::new(sip, transports, families),
            Uri::Tel(_) => Err(ResolveError::UnsupportedScheme { scheme: "tel".into() }),
            Uri::Other { scheme, .. } => Err(ResolveError::UnsupportedScheme { scheme: (*scheme).to_owned() }),
        }
    }

    /// Starts resolving a `sip:` or `sips:` URI with the caller's `transports`, listing
    /// addresses of the `families` wanted.
    ///
    /// Fails at once when the URI or the transports rule out every target: an unknown or
    /// unsupported `transport` parameter, a `sips:` URI with a non-TLS transport forced or no
    /// TLS-based transport supported, an invalid `maddr`.
    pub fn new(uri: &SipUri<'_>, transports: &Transports, families: IpFamilies) -> Result<Plan, ResolveError> {
        let secure = uri.is_secure();
        let host = match uri.maddr() {
            Some(m) => Host::parse(m).map_err(|_| ResolveError::InvalidMaddr { maddr: m.to_owned() })?,
            None => uri.host(),
        };
        let fixed = fixed_transport(uri, transports)?;
        let fallback = default_transport(secure, transports)?;
        let (domain, tls_name, stage) = match host {
            Host::Ipv4(ip) => ip_stage(IpAddr::V4(ip), fixed.unwrap_or(fallback), uri.port()),
            Host::Ipv6(ip) => ip_stage(IpAddr::V6(ip), fixed.unwrap_or(fallback), uri.port()),
            Host::Domain(name) => {
                let domain = name.to_owned();
                let tls_name = name.trim_end_matches('.').to_owned();
                let stage = match (uri.port(), fixed) {
                    (Some(port), t) => {
                        let transport = t.unwrap_or(fallback);
                        debug!(%domain, port, %transport, "explicit port: A/AAAA only (RFC 3263 §4.2)");
                        Stage::Addresses { entries: vec![Entry { transport, host: domain.clone(), port }] }
                    }
                    (None, Some(transport)) => {
                        debug!(%domain, %transport, "transport fixed: no NAPTR (RFC 3263 §4.1)");
                        srv_or_addresses(&domain, transport)
                    }
                    (None, None) => Stage::Naptr,
                };
                (domain, tls_name, stage)
            }
        };
        Ok(Plan {
            secure,
            domain,
            tls_name,
            fallback,
            transports: transports.clone(),
            families,
            stage,
            answers: HashMap::new(),
            failure: None,
        })
    }

    /// The lookups still needed before the plan can move on; empty once it is finished.
    ///
    /// All of them may be performed at once. A query already answered is not listed again.
    pub fn queries(&self) -> Vec<Query> {
        self.stage_queries().into_iter().filter(|q| !self.answers.contains_key(q)).collect()
    }

    /// Feeds the result of one lookup. An answer to a query the plan is not waiting for is
    /// ignored. When the last outstanding query of a step is answered the plan moves on,
    /// drawing from `rng` to order SRV records of equal priority.
    pub fn answer<R: WeightedRandom + ?Sized>(&mut self, query: &Query, answer: Answer, rng: &mut R) {
        if !self.stage_queries().contains(query) {
            debug!(%query, "answer to a query the plan is not waiting for: ignored");
            return;
        }
        match &answer {
            Answer::Failed(reason) => {
                debug!(%query, %reason, "lookup failed");
                self.failure = Some((query.name.clone(), reason.clone()));
            }
            Answer::NoRecords => debug!(%query, "no records"),
            _ => debug!(%query, "answered"),
        }
        self.answers.insert(query.clone(), answer);
        if self.stage_queries().iter().all(|q| self.answers.contains_key(q)) {
            self.advance(rng);
        }
    }

    /// Has the plan reached its result?
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    /// The targets to try, best first, or why there are none.
    /// [`ResolveError::Unfinished`] if queries are still outstanding.
    pub fn finish(self) -> Result<Vec<Target>, ResolveError> {
        match self.stage {
            Stage::Done(result) => result,
            _ => Err(ResolveError::Unfinished),
        }
    }

    fn stage_queries(&self) -> Vec<Query> {
        let mut out: Vec<Query> = Vec::new();
        let mut push = |q: Query| {
            if !out.contains(&q) {
                out.push(q);
            }
        };
        match &self.stage {
            Stage::Naptr => push(Query::new(self.domain.clone(), QueryKind::Naptr)),
            Stage::Srv { sets, .. } => sets.iter().for_each(|s| push(Query::new(s.name.clone(), QueryKind::Srv))),
            Stage::Addresses { entries } => {
                for e in entries {
                    for kind in self.address_kinds() {
                        push(Query::new(e.host.clone(), kind));
                    }
                }
            }
            Stage::Done(_) => {}
        }
        out
    }

    fn address_kinds(&self) -> Vec<QueryKind> {
        match self.families {
            IpFamilies::Ipv4ThenIpv6 => vec![QueryKind::A, QueryKind::Aaaa],
            IpFamilies::Ipv6ThenIpv4 => vec![QueryKind::Aaaa, QueryKind::A],
            IpFamilies::Ipv4Only => vec![QueryKind::A],
            IpFamilies::Ipv6Only => vec![QueryKind::Aaaa],
        }
    }

    fn advance<R: WeightedRandom + ?Sized>(&mut self, rng: &mut R) {
        let stage = std::mem::replace(&mut self.stage, Stage::Done(Err(ResolveError::Unfinished)));
        self.stage = match stage {
            Stage::Naptr => self.after_naptr(),
            Stage::Srv { sets, fallback } => self.after_srv(&sets, fallback, rng),
            Stage::Addresses { entries } => Stage::Done(self.after_addresses(&entries)),
            done @ Stage::Done(_) => done,
        };
        self.answers.clear();
    }

    fn after_naptr(&self) -> Stage {
        let query = Query::new(self.domain.clone(), QueryKind::Naptr);
        let records = match self.answers.get(&query) {
            Some(Answer::Naptr(records)) => records.as_slice(),
            _ => &[],
        };
        let choices = naptr_choices(records, self.secure, &self.transports);
        if let Some(first) = choices.first() {
            let fallback = first.transport;
            debug!(domain = %self.domain, usable = choices.len(), "following NAPTR records");
            let sets = choices.into_iter().map(|c| SrvSet { transport: c.transport, name: c.srv_name }).collect();
            return Stage::Srv { sets, fallback };
        }
        // RFC 3263 §4.1: no (usable) NAPTR record: query SRV for each supported transport.
        let sets: Vec<SrvSet> = GUESS_ORDER
            .into_iter()
            .filter(|&t| self.transports.supports(t) && (!self.secure || t.is_secure()))
            .filter_map(|t| srv_prefix(t).map(|p| SrvSet { transport: t, name: format!("{p}.{}", self.domain) }))
            .collect();
        debug!(domain = %self.domain, guesses = sets.len(), "no usable NAPTR record: trying SRV names");
        if sets.is_empty() {
            Stage::Addresses { entries: vec![self.domain_entry(self.fallback)] }
        } else {
            Stage::Srv { sets, fallback: self.fallback }
        }
    }

    fn after_srv<R: WeightedRandom + ?Sized>(&self, sets: &[SrvSet], fallback: Transport, rng: &mut R) -> Stage {
        let mut entries: Vec<Entry> = Vec::new();
        for set in sets {
            let query = Query::new(set.name.clone(), QueryKind::Srv);
            let Some(Answer::Srv(records)) = self.answers.get(&query) else { continue };
            for r in order_srv(records, rng) {
                if r.port == 0 {
                    debug!(target = %r.target, "SRV record with port 0: skipped");
                    continue;
                }
                let entry = Entry { transport: set.transport, host: r.target, port: r.port };
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
        if entries.is_empty() {
            // RFC 3263 §4.2: no SRV record: A/AAAA of the domain at the default port.
            debug!(domain = %self.domain, transport = %fallback, "no SRV record: A/AAAA of the domain");
            entries.push(self.domain_entry(fallback));
        }
        Stage::Addresses { entries }
    }

    fn after_addresses(&self, entries: &[Entry]) -> Result<Vec<Target>, ResolveError> {
        let mut targets: Vec<Target> = Vec::new();
        for e in entries {
            for kind in self.address_kinds() {
                let Some(Answer::Addresses(ips)) = self.answers.get(&Query::new(e.host.clone(), kind)) else {
                    continue;
                };
                let family = ips.iter().filter(|ip| ip.is_ipv4() == (kind == QueryKind::A));
                for &ip in family {
                    let t = Target {
                        transport: e.transport,
                        addr: SocketAddr::new(ip, e.port),
                        host: self.tls_name.clone(),
                    };
                    if !targets.contains(&t) {
                        targets.push(t);
                    }
                }
            }
        }
        if !targets.is_empty() {
            debug!(domain = %self.domain, count = targets.len(), "targets chosen");
            return Ok(targets);
        }
        Err(match &self.failure {
            Some((name, reason)) => ResolveError::LookupFailed { name: name.clone(), reason: reason.clone() },
            None => ResolveError::NotFound { name: self.tls_name.clone() },
        })
    }

    fn domain_entry(&self, transport: Transport) -> Entry {
        Entry { transport, host: self.domain.clone(), port: transport.default_port() }
    }
}

/// The transport forced by the caller or named by the URI, made to fit a `sips:` URI.
fn fixed_transport(uri: &SipUri<'_>, transports: &Transports) -> Result<Option<Transport>, ResolveError> {
    let requested = match (transports.forced(), uri.transport()) {
        (Some(t), _) => t,
        (None, Some(token)) => {
            Transport::from_token(token).ok_or_else(|| ResolveError::UnknownTransport { token: token.to_owned() })?
        }
        (None, None) => return Ok(None),
    };
    // RFC 3261 §26.2.2: "sips:...;transport=tcp" means TLS over TCP.
    let transport = match (uri.is_secure(), requested) {
        (false, t) => t,
        (true, Transport::Tcp | Transport::Tls) => Transport::Tls,
        (true, Transport::Ws | Transport::Wss) => Transport::Wss,
        (true, t) => return Err(ResolveError::InsecureTransport { transport: t }),
    };
    if !transports.supports(transport) {
        return Err(ResolveError::TransportNotSupported { transport });
    }
    Ok(Some(transport))
}

/// The transport when neither the URI nor DNS names one: UDP for `sip:`, TLS for `sips:`
/// (RFC 3263 §4.1), or the next best the caller supports.
fn default_transport(secure: bool, transports: &Transports) -> Result<Transport, ResolveError> {
    let preference: &[Transport] = if secure {
        &[Transport::Tls, Transport::Wss]
    } else {
        &[Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Sctp, Transport::Ws, Transport::Wss]
    };
    preference.iter().copied().find(|&t| transports.supports(t)).ok_or(ResolveError::NoUsableTransport)
}

fn ip_stage(ip: IpAddr, transport: Transport, port: Option<u16>) -> (String, String, Stage) {
    let addr = SocketAddr::new(ip, port.unwrap_or(transport.default_port()));
    debug!(%addr, %transport, "IP literal: no DNS (RFC 3263 §4.1)");
    let text = ip.to_string();
    let target = Target { transport, addr, host: text.clone() };
    (text.clone(), text, Stage::Done(Ok(vec![target])))
}

fn srv_or_addresses(domain: &str, transport: Transport) -> Stage {
    match srv_prefix(transport) {
        Some(prefix) => {
            Stage::Srv { sets: vec![SrvSet { transport, name: format!("{prefix}.{domain}") }], fallback: transport }
        }
        None => Stage::Addresses {
            entries: vec![Entry { transport, host: domain.to_owned(), port: transport.default_port() }],
        },
    }
}

#[cfg(test)]
mod tests;
