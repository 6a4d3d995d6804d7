//! # sip-message
//!
//! The SIP message layer of sipline: the model of requests and responses, a zero-copy parser
//! for datagrams and streams, a serializer, builders for the messages RFC 3261 tells a user
//! agent to create, and HTTP digest authentication for both sides.
//!
//! This crate is sans-IO: it owns syntax and nothing else. It never touches a socket, a timer,
//! or the clock; transactions, dialogs and transports live in the layers above and decide
//! *when* a message is sent — this crate only decides what its bytes are.
//!
//! ```
//! use bytes::Bytes;
//! use sip_message::{parse_message, Message};
//!
//! let raw = Bytes::from_static(
//!     b"OPTIONS sip:carol@chicago.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877\r\n\
//!       Max-Forwards: 70\r\n\
//!       To: <sip:carol@chicago.com>\r\n\
//!       From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
//!       Call-ID: a84b4c76e66710\r\n\
//!       CSeq: 63104 OPTIONS\r\n\
//!       Content-Length: 0\r\n\r\n",
//! );
//! let Message::Request(req) = parse_message(raw).unwrap() else { unreachable!() };
//! assert_eq!(req.headers().cseq().unwrap().seq, 63104);
//! assert_eq!(req.headers().from().unwrap().tag(), Some("1928301774"));
//! assert_eq!(req.headers().top_via().unwrap().branch(), Some("z9hG4bKhjhs8ass877"));
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
pub mod build;
mod category;
mod error;
pub mod header;
mod message;
mod method;
mod name_addr;
mod params;
pub mod parse;
mod scan;
mod serialize;
mod status;
mod text;
mod transport;
pub mod uri;
mod version;

pub use build::{BuildError, RequestBuilder};
pub use category::ErrorCategory;
pub use error::{ErrorKind, ParseError};
pub use header::{Header, HeaderName, Headers, StandardHeader};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use name_addr::{format_name_addr, NameAddr};
pub use params::{ParamIter, Params};
pub use parse::{parse_message, parse_message_with, Frame, Limits, StreamFramer};
pub use scan::{split_commas, unquote, CommaSplit};
pub use status::StatusCode;
pub use text::Text;
pub use transport::{FlowId, Peer, Transport};
pub use uri::{Host, SipUri, TelUri, Uri};
pub use version::Version;
