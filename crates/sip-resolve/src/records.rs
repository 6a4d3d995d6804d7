//! The DNS vocabulary of the sans-IO core: the lookups a [`Plan`](crate::Plan) asks for and the
//! answers it is fed, independent of any DNS library.

use std::fmt;
use std::net::IpAddr;

/// The record type of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    /// NAPTR (RFC 3403): which transports the domain offers, and where their SRV records are.
    Naptr,
    /// SRV (RFC 2782): the servers of one service and transport.
    Srv,
    /// A: IPv4 addresses.
    A,
    /// AAAA: IPv6 addresses.
    Aaaa,
}

/// One DNS lookup a [`Plan`](crate::Plan) needs answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The domain name to look up, as the plan built it (a name taken from a DNS record keeps
    /// the trailing dot of an absolute name).
    pub name: String,
    /// The record type.
    pub kind: QueryKind,
}

impl Query {
    /// A query for `kind` records of `name`.
    pub fn new(name: impl Into<String>, kind: QueryKind) -> Query {
        Query { name: name.into(), kind }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            QueryKind::Naptr => "NAPTR",
            QueryKind::Srv => "SRV",
            QueryKind::A => "A",
            QueryKind::Aaaa => "AAAA",
        };
        write!(f, "{kind} {}", self.name)
    }
}

/// A NAPTR record (RFC 3403 §4.1), its character-strings decoded as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Records are processed from the lowest order up.
    pub order: u16,
    /// Among records of equal order, the lowest preference first.
    pub preference: u16,
    /// `S` when the replacement names an SRV record set, the only flag SIP uses.
    pub flags: String,
    /// The service, such as `SIP+D2U` or `SIPS+D2T` (RFC 3263 §4.1, RFC 7118).
    pub services: String,
    /// A rewrite rule; empty for SIP, which uses the replacement.
    pub regexp: String,
    /// The domain name to query next (an SRV name for flag `S`).
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Servers are tried from the lowest priority up.
    pub priority: u16,
    /// Among servers of equal priority, the relative share of the load.
    pub weight: u16,
    /// The port of the service on the target.
    pub port: u16,
    /// The server's host name; `.` means the service is not offered.
    pub target: String,
}

/// What DNS said to one [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// NAPTR records, in the order received.
    Naptr(Vec<Naptr>),
    /// SRV records, in the order received.
    Srv(Vec<Srv>),
    /// Addresses from A or AAAA records, in the order received.
    Addresses(Vec<IpAddr>),
    /// The name does not exist, or has no record of this type (NXDOMAIN or NODATA).
    NoRecords,
    /// The lookup failed (time-out, SERVFAIL, refused, network error): nothing is known.
    Failed(String),
}
