//! # sip-resolve
//!
//! Locating SIP servers (RFC 3263 §4, with RFC 2782 SRV selection and the WebSocket services
//! of RFC 7118): given the URI a request goes to and the transports the caller can open, which
//! transport, address and port to try, in what order.
//!
//! **What this crate owns:** the choice of where to send. All of it lives in a sans-IO core,
//! [`Plan`], a state machine from a URI and DNS answers to an ordered list of [`Target`]s,
//! with the record-level rules in [`select`]. [`Resolver`] is a thin async driver that answers
//! the plan's queries with `hickory-resolver` on tokio, against the system's name servers or
//! ones the caller names.
//!
//! **What it must not touch:** it opens no socket for SIP, sends no SIP message and keeps no
//! transaction. Trying the targets in order, failing over to the next one on a transport error
//! or a 503 response (RFC 3263 §4.3), and remembering which servers failed are the transport
//! and transaction layers' job. It also keeps no cache of its own beyond the DNS library's
//! TTL-bound one.
//!
//! ```
//! use sip_message::{SipUri, Transport};
//! use sip_resolve::{Answer, IpFamilies, Plan, Query, QueryKind, Transports};
//!
//! let uri = SipUri::parse("sip:alice@example.test:5070").unwrap();
//! let transports = Transports::new([Transport::Udp, Transport::Tcp]);
//! let mut plan = Plan::new(&uri, &transports, IpFamilies::Ipv4Only).unwrap();
//! // An explicit port: no NAPTR or SRV, only the address of the host.
//! assert_eq!(plan.queries(), [Query::new("example.test", QueryKind::A)]);
//! let mut rng = rand::thread_rng();
//! plan.answer(&plan.queries()[0], Answer::Addresses(vec!["192.0.2.7".parse().unwrap()]), &mut rng);
//! let targets = plan.finish().unwrap();
//! assert_eq!(targets[0].transport, Transport::Udp);
//! assert_eq!(targets[0].addr, "192.0.2.7:5070".parse().unwrap());
//! assert_eq!(targets[0].host, "example.test");
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod plan;
mod records;
mod resolver;
pub mod select;
mod target;

pub use error::{ErrorCategory, ResolveError};
pub use plan::Plan;
pub use records::{Answer, Naptr, Query, QueryKind, Srv};
pub use resolver::{NameServers, Resolver, ResolverConfig};
pub use select::WeightedRandom;
pub use target::{IpFamilies, Target, Transports};
