//! A registrar for the simulation: the real transaction layer, and the few decisions of
//! RFC 3261 §10.3 a client must meet — 423 with Min-Expires for a lifetime too short, a
//! digest challenge (401) for a REGISTER without valid credentials, 200 with the granted
//! Contact expiry otherwise. It keeps the REGISTERs it accepted, for the tests to read.

use super::station::{Server, Station};
use sip_message::auth::{Authorization, DigestServer, Secret, Verdict, VerifyRequest};
use sip_message::{Method, Request, StandardHeader, StatusCode};
use sip_transaction::{Event, TxId};
use std::net::SocketAddr;
use std::time::Instant;

/// A REGISTER the registrar accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) call_id: String,
    pub(crate) cseq: u32,
    /// The lifetime granted (0: the binding removed).
    pub(crate) expires: u32,
    /// Every Contact value of the REGISTER.
    pub(crate) contacts: Vec<String>,
}

pub(crate) struct Registrar {
    pub(crate) station: Station,
    digest: DigestServer,
    user: String,
    password: String,
    min_expires: u32,
    nonce: u64,
    pub(crate) challenges: u32,
    pub(crate) too_brief: u32,
    pub(crate) accepted: Vec<Accepted>,
}

/// The lifetime a REGISTER asks for: its Contact's expires parameter, else its Expires.
fn asked_expires(request: &Request) -> Option<u32> {
    let h = request.headers();
    let contact = h.get(StandardHeader::Contact).map(|v| v.to_string()).unwrap_or_default();
    let param = contact.split(';').find_map(|p| p.trim().strip_prefix("expires=").and_then(|v| v.trim().parse().ok()));
    param.or_else(|| h.expires().ok().flatten())
}

impl Registrar {
    pub(crate) fn new(addr: SocketAddr, realm: &str, user: &str, password: &str, min_expires: u32) -> Registrar {
        Registrar {
            station: Station::new(addr),
            digest: DigestServer::new(realm),
            user: user.to_owned(),
            password: password.to_owned(),
            min_expires,
            nonce: 0,
            challenges: 0,
            too_brief: 0,
            accepted: Vec::new(),
        }
    }

    fn authorized(&self, request: &Request) -> bool {
        request.headers().authorization().filter_map(Result::ok).any(|a: Authorization| {
            let verify = VerifyRequest {
                method: "REGISTER",
                request_uri: None,
                body: b"",
                username: &self.user,
                secret: Secret::Password(&self.password),
                nonce_stale: false,
                last_nc: None,
            };
            matches!(self.digest.verify(&a, &verify), Ok(Verdict::Authorized))
        })
    }

    fn request(&mut self, now: Instant, tx: TxId, request: &Request) {
        if *request.method() != Method::Register {
            if let Ok(r) = request.make_response(StatusCode::METHOD_NOT_ALLOWED, None) {
                let _ = self.station.txs.respond(now, tx, r);
            }
            return;
        }
        let expires = asked_expires(request).unwrap_or(3600);
        let response = if expires > 0 && expires < self.min_expires {
            self.too_brief += 1;
            request.make_response(StatusCode::new(423).unwrap_or(StatusCode::BAD_REQUEST), Some("r")).map(|mut r| {
                r.push_header("Min-Expires", self.min_expires.to_string());
                r
            })
        } else if !self.authorized(request) {
            self.challenges += 1;
            self.nonce += 1;
            request.make_response(StatusCode::UNAUTHORIZED, Some("r")).map(|mut r| {
                for c in self.digest.challenges_with_nonce(&format!("nonce{}", self.nonce), false) {
                    r.push_header(StandardHeader::WwwAuthenticate, c.to_string());
                }
                r
            })
        } else {
            let h = request.headers();
            let contact = h.get(StandardHeader::Contact).map(|v| v.to_string()).unwrap_or_default();
            let bare = contact.split(";expires=").next().unwrap_or(&contact).to_owned();
            self.accepted.push(Accepted {
                call_id: h.call_id().unwrap_or_default().to_owned(),
                cseq: h.cseq().map(|c| c.seq).unwrap_or(0),
                expires,
                contacts: h.get_all(StandardHeader::Contact).map(|v| v.to_string()).collect(),
            });
            request.make_response(StatusCode::OK, Some("r")).map(|mut r| {
                if expires > 0 {
                    r.push_header(StandardHeader::Contact, format!("{bare};expires={expires}"));
                }
                r
            })
        };
        if let Ok(r) = response {
            let _ = self.station.txs.respond(now, tx, r);
        }
    }
}

impl Server for Registrar {
    fn station(&mut self) -> &mut Station {
        &mut self.station
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        if let Event::Request { tx, request, .. } = event {
            self.request(now, tx, &request);
        }
    }
}
