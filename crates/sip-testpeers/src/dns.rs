//! [`DnsServer`]: a tiny authoritative DNS responder on loopback for tests of RFC 3263: a fixed
//! zone of NAPTR, SRV, A and AAAA records, answering only loopback peers, logging every
//! question. It runs on its own thread, so sync and async tests can both use it.

use crate::error::PeerError;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NAPTR, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The records a [`DnsServer`] serves, by lower-case name (no final dot) and type.
#[derive(Debug, Clone, Default)]
pub struct DnsZone {
    records: HashMap<(String, RecordType), Vec<RData>>,
    servfail: Vec<String>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn fqdn(name: &str) -> Result<Name, PeerError> {
    let n = if name.ends_with('.') { name.to_owned() } else { format!("{name}.") };
    Name::from_str(&n).map_err(|e| PeerError::Config(format!("bad DNS name {name}: {e}")))
}

impl DnsZone {
    /// An empty zone.
    pub fn new() -> DnsZone {
        DnsZone::default()
    }

    fn add(mut self, name: &str, t: RecordType, rdata: RData) -> DnsZone {
        self.records.entry((key(name), t)).or_default().push(rdata);
        self
    }

    /// A NAPTR record (flags "S") pointing `name` at the SRV name `replacement`.
    pub fn naptr(
        self,
        name: &str,
        order: u16,
        preference: u16,
        service: &str,
        replacement: &str,
    ) -> Result<DnsZone, PeerError> {
        let rdata = RData::NAPTR(NAPTR::new(
            order,
            preference,
            b"S".to_vec().into_boxed_slice(),
            service.as_bytes().to_vec().into_boxed_slice(),
            Vec::new().into_boxed_slice(),
            fqdn(replacement)?,
        ));
        Ok(self.add(name, RecordType::NAPTR, rdata))
    }

    /// An SRV record.
    pub fn srv(self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> Result<DnsZone, PeerError> {
        let rdata = RData::SRV(SRV::new(priority, weight, port, fqdn(target)?));
        Ok(self.add(name, RecordType::SRV, rdata))
    }

    /// An A or AAAA record, by the address family.
    pub fn addr(self, name: &str, ip: IpAddr) -> DnsZone {
        match ip {
            IpAddr::V4(a) => self.add(name, RecordType::A, RData::A(A(a))),
            IpAddr::V6(a) => self.add(name, RecordType::AAAA, RData::AAAA(AAAA(a))),
        }
    }

    /// Lookups of `name` and its subdomains fail with SERVFAIL.
    pub fn servfail(mut self, name: &str) -> DnsZone {
        self.servfail.push(key(name));
        self
    }

    fn respond(&self, request: &Message, log: &Mutex<Vec<(String, RecordType)>>) -> Message {
        let mut response = Message::new();
        response
            .set_id(request.id())
            .set_message_type(MessageType::Response)
            .set_op_code(OpCode::Query)
            .set_authoritative(true)
            .set_recursion_desired(request.recursion_desired())
            .set_recursion_available(true);
        let Some(query) = request.queries().first() else {
            response.set_response_code(ResponseCode::FormErr);
            return response;
        };
        response.add_query(query.clone());
        let name = key(&query.name().to_ascii());
        log.lock().unwrap_or_else(|e| e.into_inner()).push((name.clone(), query.query_type()));
        if self.servfail.iter().any(|b| name == *b || name.ends_with(&format!(".{b}"))) {
            response.set_response_code(ResponseCode::ServFail);
            return response;
        }
        match self.records.get(&(name.clone(), query.query_type())) {
            Some(records) => {
                for rdata in records {
                    response.add_answer(Record::from_rdata(query.name().clone(), 60, rdata.clone()));
                }
            }
            None if self.records.keys().any(|(n, _)| *n == name) => {} // NODATA
            None => {
                response.set_response_code(ResponseCode::NXDomain);
            }
        }
        response
    }
}

/// A running responder; stops when dropped.
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<(String, RecordType)>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    /// Serves `zone` on 127.0.0.1 (a free port).
    pub fn start(zone: DnsZone) -> Result<DnsServer, PeerError> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| PeerError::Io { what, source }
        };
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(io("binding the DNS server"))?;
        socket.set_read_timeout(Some(Duration::from_millis(50))).map_err(io("DNS socket timeout"))?;
        let addr = socket.local_addr().map_err(io("DNS server address"))?;
        let log: Arc<Mutex<Vec<(String, RecordType)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((len, peer)) = socket.recv_from(&mut buf) else { continue };
                if !peer.ip().is_loopback() {
                    continue;
                }
                let Ok(request) = Message::from_vec(&buf[..len]) else { continue };
                if let Ok(bytes) = zone.respond(&request, &seen).to_vec() {
                    let _ = socket.send_to(&bytes, peer);
                }
            }
        });
        Ok(DnsServer { addr, log, stop })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every question asked so far: (name, type).
    pub fn questions(&self) -> Vec<(String, RecordType)> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
