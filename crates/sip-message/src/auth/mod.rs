//! SIP HTTP-Digest authentication, client and server side (RFC 3261 §22,
//! RFC 2617, RFC 7616, RFC 8760).
//!
//! This module owns two things:
//!
//! - the digest computation: HA1, HA2 and the request-digest for `MD5`,
//!   `MD5-sess`, `SHA-256`, `SHA-256-sess`, `SHA-512-256` and
//!   `SHA-512-256-sess`, with qop `auth`, `auth-int` or none (RFC 2069),
//!   and the username hash of RFC 7616 §3.4.4;
//! - the grammar of the header *values* that carry it: [`Challenge`] for
//!   `WWW-Authenticate` / `Proxy-Authenticate` and [`Authorization`] for
//!   `Authorization` / `Proxy-Authorization`, parsed and rendered.
//!
//! On top of these, [`DigestClient`] keeps the per-realm nonce state a UAC
//! needs (nonce-count, cnonce, cached challenge for pre-authorization) and
//! [`DigestServer`] issues challenges and verifies credentials.
//!
//! It must not touch anything else: no I/O, no clock (nonce freshness and
//! the last nonce-count seen are the caller's to track and pass in), no
//! knowledge of transactions, dialogs or of the rest of this crate's
//! message model — callers hand it header values, methods, URIs and bodies
//! as plain strings and bytes. Randomness (nonces, cnonces) comes from the
//! operating system through `getrandom`.
//!
//! Secrets stay out of logs: [`Credentials`], [`Ha1`], [`Secret`] and
//! [`Authorization`] redact passwords, HA1s and request-digests in their
//! `Debug` output.
//!
//! ```
//! use sip_message::auth::{
//!     select, Challenge, Credentials, DigestClient, DigestServer, QopPreference, Secret,
//!     Verdict, VerifyRequest,
//! };
//!
//! // UAS: challenge, with SHA-256 and MD5 offered.
//! let server = DigestServer::new("biloxi.com");
//! let headers: Vec<String> = server
//!     .challenges(false)?
//!     .iter()
//!     .map(ToString::to_string)
//!     .collect();
//!
//! // UAC: parse, pick the strongest, answer.
//! let parsed = headers
//!     .iter()
//!     .map(|h| Challenge::parse(h))
//!     .collect::<Result<Vec<_>, _>>()?;
//! let chosen = select(&parsed, QopPreference::Auth)?;
//! let mut client = DigestClient::new();
//! let credentials = Credentials::new("bob", "zanzibar");
//! let auth = client.respond(chosen, &credentials, "REGISTER", "sip:biloxi.com", b"")?;
//! let header_value = auth.to_string();
//!
//! // UAS: parse and verify.
//! let received = sip_message::auth::Authorization::parse(&header_value)?;
//! let verdict = server.verify(
//!     &received,
//!     &VerifyRequest {
//!         method: "REGISTER",
//!         request_uri: Some("sip:biloxi.com"),
//!         body: b"",
//!         username: "bob",
//!         secret: Secret::Password("zanzibar"),
//!         nonce_stale: false,
//!         last_nc: None,
//!     },
//! )?;
//! assert_eq!(verdict, Verdict::Authorized);
//! # Ok::<(), sip_message::auth::AuthError>(())
//! ```

mod algorithm;
mod authorization;
mod challenge;
mod client;
mod credentials;
mod ct;
mod digest;
mod error;
mod grammar;
mod hash;
mod qop;
mod random;
mod redact;
mod select;
mod server;

#[cfg(test)]
mod proptests;

pub use algorithm::Algorithm;
pub use authorization::Authorization;
pub use challenge::Challenge;
pub use client::DigestClient;
pub use credentials::{Credentials, Ha1, Secret};
pub use error::{AuthError, ErrorCategory};
pub use qop::{Qop, QopPreference};
pub use redact::{redact_credentials, REDACTED};
pub use select::{select, select_per_realm, select_per_realm_for};
pub use server::{DigestServer, Verdict, VerifyRequest};
