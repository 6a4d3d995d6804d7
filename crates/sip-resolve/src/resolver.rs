//! [`Resolver`]: the thin async driver that answers a [`Plan`]'s queries with
//! `hickory-resolver` on tokio. Every decision is the plan's; this file only performs lookups
//! and converts their records.

use crate::error::ResolveError;
use crate::plan::Plan;
use crate::records::{Answer, Naptr, Query, QueryKind, Srv};
use crate::select::WeightedRandom;
use crate::target::{IpFamilies, Target, Transports};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig as HickoryConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::TokioResolver;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use sip_message::Uri;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tracing::debug;

/// Where the resolver sends its DNS queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameServers {
    /// The operating system's configuration: `/etc/resolv.conf` on Unix (name servers, search
    /// domains, options), and the hosts file.
    System,
    /// These servers only, over UDP with TCP for truncated answers; no search domains and no
    /// hosts file. Tests point this at a DNS server on the loopback interface.
    Custom(Vec<SocketAddr>),
}

/// How to build a [`Resolver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    name_servers: NameServers,
    families: IpFamilies,
    timeout: Option<Duration>,
    attempts: Option<usize>,
}

impl ResolverConfig {
    /// The system's name servers, both address families (IPv4 first), and the DNS library's
    /// or the system's time-out and attempts.
    pub fn system() -> ResolverConfig {
        ResolverConfig {
            name_servers: NameServers::System,
            families: IpFamilies::default(),
            timeout: None,
            attempts: None,
        }
    }

    /// These name servers instead of the system's.
    pub fn with_name_servers(servers: impl IntoIterator<Item = SocketAddr>) -> ResolverConfig {
        ResolverConfig { name_servers: NameServers::Custom(servers.into_iter().collect()), ..ResolverConfig::system() }
    }

    /// Which address families to list, and which first.
    pub fn families(mut self, families: IpFamilies) -> ResolverConfig {
        self.families = families;
        self
    }

    /// How long to wait for one DNS answer before trying again.
    pub fn timeout(mut self, timeout: Duration) -> ResolverConfig {
        self.timeout = Some(timeout);
        self
    }

    /// How many times to retry a query that timed out.
    pub fn attempts(mut self, attempts: usize) -> ResolverConfig {
        self.attempts = Some(attempts);
        self
    }

    /// The name servers used.
    pub fn name_servers(&self) -> &NameServers {
        &self.name_servers
    }
}

impl Default for ResolverConfig {
    fn default() -> ResolverConfig {
        ResolverConfig::system()
    }
}

/// Resolves SIP URIs to ordered [`Target`]s by driving a [`Plan`] with real DNS lookups.
///
/// Cheap to clone (clones share the DNS cache). Lookups of one step run concurrently; the
/// DNS library bounds each by its time-out and attempts.
#[derive(Debug, Clone)]
pub struct Resolver {
    dns: TokioResolver,
    families: IpFamilies,
}

impl Resolver {
    /// Builds a resolver. With [`NameServers::System`] it reads the system configuration,
    /// which fails with [`ResolveError::Config`] when that is missing or unreadable.
    pub fn new(config: ResolverConfig) -> Result<Resolver, ResolveError> {
        let mut builder = match &config.name_servers {
            NameServers::System => TokioResolver::builder_tokio()
                .map_err(|e| ResolveError::Config { reason: format!("system DNS configuration: {e}") })?,
            NameServers::Custom(servers) => {
                if servers.is_empty() {
                    return Err(ResolveError::Config { reason: "no name server given".into() });
                }
                let mut hickory = HickoryConfig::new();
                for &addr in servers {
                    hickory.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                    hickory.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
                }
                let mut builder = TokioResolver::builder_with_config(hickory, TokioConnectionProvider::default());
                builder.options_mut().use_hosts_file = ResolveHosts::Never;
                builder
            }
        };
        let options = builder.options_mut();
        if let Some(timeout) = config.timeout {
            options.timeout = timeout;
        }
        if let Some(attempts) = config.attempts {
            options.attempts = attempts;
        }
        Ok(Resolver { dns: builder.build(), families: config.families })
    }

    /// The targets for `uri`, best first, for a caller that can open `transports`.
    ///
    /// The caller tries them in order and fails over to the next on a transport error or a
    /// 503 response; see [`Target`]. Equal-priority SRV records are shuffled with a generator
    /// seeded from the operating system.
    pub async fn resolve(&self, uri: &Uri<'_>, transports: &Transports) -> Result<Vec<Target>, ResolveError> {
        let mut rng = SmallRng::from_entropy();
        self.resolve_with_rng(uri, transports, &mut rng).await
    }

    /// [`resolve`](Resolver::resolve) with the random source for RFC 2782 weighted selection
    /// given: the same DNS data and the same draws give the same order.
    pub async fn resolve_with_rng<R: WeightedRandom + Send + ?Sized>(
        &self,
        uri: &Uri<'_>,
        transports: &Transports,
        rng: &mut R,
    ) -> Result<Vec<Target>, ResolveError> {
        let plan = Plan::from_uri(uri, transports, self.families)?;
        self.drive(plan, rng).await
    }

    /// Runs `plan` to its end: each step's lookups concurrently, then the next step.
    pub async fn drive<R: WeightedRandom + Send + ?Sized>(
        &self,
        mut plan: Plan,
        rng: &mut R,
    ) -> Result<Vec<Target>, ResolveError> {
        while !plan.is_finished() {
            let queries = plan.queries();
            if queries.is_empty() {
                break;
            }
            let answers = join_all(queries.iter().map(|q| self.lookup(q)).collect()).await;
            for (query, answer) in queries.iter().zip(answers) {
                plan.answer(query, answer, rng);
            }
        }
        plan.finish()
    }

    /// Performs one lookup. A name that does not exist or has no record of the type is
    /// [`Answer::NoRecords`]; every other failure is [`Answer::Failed`].
    pub async fn lookup(&self, query: &Query) -> Answer {
        let record_type = match query.kind {
            QueryKind::Naptr => RecordType::NAPTR,
            QueryKind::Srv => RecordType::SRV,
            QueryKind::A => RecordType::A,
            QueryKind::Aaaa => RecordType::AAAA,
        };
        let lookup = match self.dns.lookup(query.name.as_str(), record_type).await {
            Ok(lookup) => lookup,
            Err(e) if is_negative(&e) => return Answer::NoRecords,
            Err(e) => {
                debug!(%query, error = %e, "DNS lookup failed");
                return Answer::Failed(e.to_string());
            }
        };
        // Only records of the type asked for: a CNAME chain's records are skipped.
        match query.kind {
            QueryKind::Naptr => Answer::Naptr(
                lookup
                    .iter()
                    .filter_map(|r| match r {
                        RData::NAPTR(n) => Some(Naptr {
                            order: n.order(),
                            preference: n.preference(),
                            flags: String::from_utf8_lossy(n.flags()).into_owned(),
                            services: String::from_utf8_lossy(n.services()).into_owned(),
                            regexp: String::from_utf8_lossy(n.regexp()).into_owned(),
                            replacement: n.replacement().to_ascii(),
                        }),
                        _ => None,
                    })
                    .collect(),
            ),
            QueryKind::Srv => Answer::Srv(
                lookup
                    .iter()
                    .filter_map(|r| match r {
                        RData::SRV(s) => Some(Srv {
                            priority: s.priority(),
                            weight: s.weight(),
                            port: s.port(),
                            target: s.target().to_ascii(),
                        }),
                        _ => None,
                    })
                    .collect(),
            ),
            QueryKind::A | QueryKind::Aaaa => Answer::Addresses(
                lookup
                    .iter()
                    .filter_map(|r| match r {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .collect(),
            ),
        }
    }
}

/// Is this the DNS saying "no such name" or "no such record" (NXDOMAIN, or NOERROR with no
/// answer)? hickory also reports SERVFAIL, REFUSED and the like as "no records found", but
/// those say nothing about the name: they are failures.
fn is_negative(e: &hickory_resolver::ResolveError) -> bool {
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
            matches!(*response_code, ResponseCode::NXDomain | ResponseCode::NoError)
        }
        _ => false,
    }
}

/// Polls every future until all are done; outputs in input order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
