//! A forking proxy for the simulation (RFC 3261 §16, the parts a forked call exercises): an
//! INVITE to it is forwarded to every target at once, each in its own client transaction
//! under a Via of the proxy's; provisional and 2xx responses go back upstream as they come
//! (every 2xx, §16.7 step 5), the first 2xx cancels the branches still ringing (§16.7 step
//! 10), and a final failure goes back only when no branch answered (the lowest status, §16.7
//! step 6). A CANCEL from upstream cancels every branch. It does not record-route, so requests
//! inside the dialogs go from user agent to user agent.

use super::station::{Server, Station};
use sip_message::build::new_branch;
use sip_message::{Method, Peer, Request, Response, StandardHeader, Transport};
use sip_transaction::{Event, TxId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// One branch of a forwarded INVITE.
struct Branch {
    tx: TxId,
    invite: Request,
    to: Peer,
    ended: bool,
}

/// One forwarded INVITE.
struct Fork {
    upstream: TxId,
    branches: Vec<Branch>,
    answered: bool,
    best_failure: Option<Response>,
}

pub(crate) struct Proxy {
    pub(crate) station: Station,
    targets: Vec<SocketAddr>,
    forks: Vec<Fork>,
    /// Client transaction -> the fork it belongs to.
    branch_of: HashMap<TxId, usize>,
    /// Branches that answered 2xx (each counted once; retransmissions are forwarded too).
    pub(crate) answered_branches: u32,
}

/// `response` without its top Via (ours), for upstream.
fn strip_top_via(mut response: Response) -> Response {
    let h = response.headers_mut();
    let Some(first) = h.position(StandardHeader::Via) else { return response };
    let rest: Vec<String> = h.get_all(StandardHeader::Via).skip(1).map(|v| v.to_string()).collect();
    h.remove_all(StandardHeader::Via);
    for (i, v) in rest.into_iter().enumerate() {
        h.insert(first + i, StandardHeader::Via, v);
    }
    response
}

impl Proxy {
    pub(crate) fn new(addr: SocketAddr, targets: Vec<SocketAddr>) -> Proxy {
        Proxy {
            station: Station::new(addr),
            targets,
            forks: Vec::new(),
            branch_of: HashMap::new(),
            answered_branches: 0,
        }
    }

    fn fork(&mut self, now: Instant, upstream: TxId, invite: Request) {
        let index = self.forks.len();
        let mut fork = Fork { upstream, branches: Vec::new(), answered: false, best_failure: None };
        for target in self.targets.clone() {
            let Ok(branch) = new_branch() else { continue };
            let mut request = invite.clone();
            let via = format!("SIP/2.0/UDP {};branch={branch}", self.station.addr);
            request.headers_mut().push_front(StandardHeader::Via, via);
            let to = Peer::new(Transport::Udp, target);
            if let Ok(tx) = self.station.txs.send_request(now, request.clone(), to) {
                self.branch_of.insert(tx, index);
                fork.branches.push(Branch { tx, invite: request, to, ended: false });
            }
        }
        self.forks.push(fork);
    }

    fn response(&mut self, now: Instant, tx: TxId, response: Response) {
        let Some(&index) = self.branch_of.get(&tx) else { return };
        let status = response.status().as_u16();
        let upstream = self.forks[index].upstream;
        if status == 100 {
            return;
        }
        if status < 300 {
            // Provisional and 2xx responses go upstream as they come.
            if status >= 200 {
                let first = self.forks[index].branches.iter().any(|b| b.tx == tx && !b.ended);
                self.answered_branches += u32::from(first);
                self.forks[index].answered = true;
                self.cancel_pending(now, index, Some(tx));
                self.mark_ended(index, tx);
            }
            let _ = self.station.txs.respond(now, upstream, strip_top_via(response));
            return;
        }
        self.branch_ended(now, tx, Some(response));
    }

    fn mark_ended(&mut self, index: usize, tx: TxId) {
        if let Some(b) = self.forks[index].branches.iter_mut().find(|b| b.tx == tx) {
            b.ended = true;
        }
    }

    /// A branch ended with a failure (or none): once every branch has, and none answered,
    /// the lowest failure goes upstream.
    fn branch_ended(&mut self, now: Instant, tx: TxId, failure: Option<Response>) {
        let Some(&index) = self.branch_of.get(&tx) else { return };
        self.mark_ended(index, tx);
        let fork = &mut self.forks[index];
        if let Some(f) = failure {
            let better = fork.best_failure.as_ref().is_none_or(|b| f.status().as_u16() < b.status().as_u16());
            if better {
                fork.best_failure = Some(f);
            }
        }
        if fork.answered || fork.branches.iter().any(|b| !b.ended) {
            return;
        }
        let upstream = fork.upstream;
        let best = fork.best_failure.take();
        if let Some(r) = best {
            let _ = self.station.txs.respond(now, upstream, strip_top_via(r));
        }
    }

    /// CANCELs every branch still ringing but `except` (§9.1: to where its INVITE went).
    fn cancel_pending(&mut self, now: Instant, index: usize, except: Option<TxId>) {
        let pending: Vec<(Request, Peer)> = self.forks[index]
            .branches
            .iter()
            .filter(|b| !b.ended && Some(b.tx) != except)
            .map(|b| (b.invite.clone(), b.to))
            .collect();
        for (invite, to) in pending {
            if let Ok(cancel) = invite.cancel() {
                let _ = self.station.txs.send_request(now, cancel, to);
            }
        }
    }

    /// A CANCEL from upstream: 200 for it, and every branch cancelled (§16.10).
    fn cancel(&mut self, now: Instant, tx: TxId, cancel: &Request, cancels: Option<TxId>) {
        if let Ok(ok) = cancel.make_response(sip_message::StatusCode::OK, None) {
            let _ = self.station.txs.respond(now, tx, ok);
        }
        let Some(upstream) = cancels else { return };
        if let Some(index) = self.forks.iter().position(|f| f.upstream == upstream) {
            self.cancel_pending(now, index, None);
        }
    }
}

impl Server for Proxy {
    fn station(&mut self) -> &mut Station {
        &mut self.station
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Request { tx, request, cancels, .. } => match request.method() {
                Method::Invite => self.fork(now, tx, request),
                Method::Cancel => self.cancel(now, tx, &request, cancels),
                _ => {
                    if let Ok(r) = request.make_response(sip_message::StatusCode::NOT_IMPLEMENTED, None) {
                        let _ = self.station.txs.respond(now, tx, r);
                    }
                }
            },
            Event::Response { tx, response } => self.response(now, tx, response),
            Event::Timeout { tx } | Event::TransportError { tx } => self.branch_ended(now, tx, None),
            _ => {}
        }
    }
}
