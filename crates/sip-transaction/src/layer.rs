//! [`TransactionLayer`]: every transaction of one endpoint, their matching and their timers.

use crate::client_invite::ClientInvite;
use crate::client_non_invite::ClientNonInvite;
use crate::config::Config;
use crate::event::{Event, Output, TxId};
use crate::key::{ClientKey, ServerKey};
use crate::outbox::Outbox;
use crate::server_invite::{ServerInvite, ServerInviteState};
use crate::server_non_invite::ServerNonInvite;
use crate::via_rules::{replace_top_via, response_destination, set_top_via_transport, stamped_top_via};
use crate::TxError;
use sip_message::Peer;
use sip_message::{Message, Method, Request, Response, StatusCode, Transport, Version};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// One transaction of any of the four kinds.
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
enum Tx {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

#[derive(Debug, Clone)]
enum Key {
    Client(ClientKey),
    Server(ServerKey),
}

#[derive(Debug)]
struct Entry {
    tx: Tx,
    key: Key,
    /// The earliest deadline this transaction has in the heap, if any.
    scheduled: Option<Instant>,
}

impl Tx {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Tx::ClientInvite(t) => t.poll_timeout(),
            Tx::ClientNonInvite(t) => t.poll_timeout(),
            Tx::ServerInvite(t) => t.poll_timeout(),
            Tx::ServerNonInvite(t) => t.poll_timeout(),
        }
    }

    fn is_terminated(&self) -> bool {
        use crate::client_invite::ClientInviteState as Ci;
        use crate::client_non_invite::ClientNonInviteState as Cn;
        use crate::server_non_invite::ServerNonInviteState as Sn;
        match self {
            Tx::ClientInvite(t) => t.state == Ci::Terminated,
            Tx::ClientNonInvite(t) => t.state == Cn::Terminated,
            Tx::ServerInvite(t) => t.state == ServerInviteState::Terminated,
            Tx::ServerNonInvite(t) => t.state == Sn::Terminated,
        }
    }
}

/// All transactions of an endpoint, driven by input and a clock it is given.
///
/// Feed it with [`handle_message`](Self::handle_message) (from the transport),
/// [`send_request`](Self::send_request) and [`respond`](Self::respond) (from the transaction
/// user), [`handle_transport_error`](Self::handle_transport_error) and
/// [`handle_timeout`](Self::handle_timeout); then drain [`poll_output`](Self::poll_output) and
/// sleep until [`poll_timeout`](Self::poll_timeout). Timers of all transactions share one heap,
/// so thousands of transactions cost one timer in the driver.
#[derive(Debug)]
pub struct TransactionLayer {
    cfg: Config,
    next_id: u64,
    // Entries and keys are boxed so that a table's slot is two words. The tables grow to
    // the most transactions ever alive at once (tens of thousands under load: a BYE's server
    // transaction lives 32 s), and hashbrown doubles a table when deleted slots run out, so
    // with entries inline (560 bytes) one late doubling cost the soak 28 MiB of RSS at once.
    txs: HashMap<TxId, Box<Entry>>,
    clients: HashMap<Box<ClientKey>, TxId>,
    servers: HashMap<Box<ServerKey>, TxId>,
    timers: BinaryHeap<Reverse<(Instant, TxId)>>,
    out: Outbox,
    /// Responses dropped because they belong to no transaction of ours.
    dropped: u64,
}

impl TransactionLayer {
    /// An empty layer.
    pub fn new(cfg: Config) -> TransactionLayer {
        TransactionLayer {
            cfg,
            next_id: 1,
            txs: HashMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            timers: BinaryHeap::new(),
            dropped: 0,
            out: Outbox::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// No transaction alive?
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// How many transactions the tables hold before they must grow. It follows the load: a
    /// table shrinks once a peak has passed and it is at most a quarter full.
    pub fn capacity(&self) -> usize {
        self.txs.capacity()
    }

    /// Is this transaction alive?
    pub fn contains(&self, tx: TxId) -> bool {
        self.txs.contains_key(&tx)
    }

    fn new_id(&mut self) -> TxId {
        let id = TxId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Starts a client transaction for `request` (not ACK: see [`Self::send_stateless`]) and
    /// sends it to `to`. The request must carry a top Via with a `z9hG4bK` branch (the
    /// builders add one). A request over UDP larger than the configured threshold is moved to
    /// TCP, with its Via changed to match (RFC 3261 §18.1.1); `to` in the first
    /// [`Output::Transmit`] tells where it went.
    pub fn send_request(&mut self, now: Instant, mut request: Request, mut to: Peer) -> Result<TxId, TxError> {
        if *request.method() == Method::Ack {
            return Err(TxError::AckIsNotATransaction);
        }
        // One parse of the top Via: the key depends only on the branch and the method, which
        // moving the request to TCP below does not change.
        let key = {
            let via = request.headers().top_via().map_err(TxError::Invalid)?;
            if !via.has_rfc3261_branch() {
                return Err(TxError::MissingBranch);
            }
            ClientKey::of_request(&request, &via).map_err(TxError::Invalid)?
        };
        if to.transport == Transport::Udp
            && self.cfg.udp_size_threshold.is_some_and(|limit| request.encoded_len() > limit)
        {
            set_top_via_transport(&mut request, Transport::Tcp).map_err(TxError::Invalid)?;
            to = Peer { transport: Transport::Tcp, flow: None, ..to };
        }
        if self.clients.contains_key(&key) {
            return Err(TxError::Duplicate);
        }
        if *request.method() == Method::Cancel {
            // §9.1: the INVITE being cancelled gets 64·T1 to reach a final response.
            if let Some(invite) = self.clients.get(&key.with_method(Method::Invite)).copied() {
                let cfg = self.cfg;
                if let Some(Tx::ClientInvite(t)) = self.txs.get_mut(&invite).map(|e| &mut e.tx) {
                    t.on_cancel_sent(now, &cfg);
                }
                self.after(invite);
            }
        }
        let id = self.new_id();
        let tx = if *request.method() == Method::Invite {
            Tx::ClientInvite(ClientInvite::start(id, request, to, now, &self.cfg, &mut self.out))
        } else {
            Tx::ClientNonInvite(ClientNonInvite::start(id, &request, to, now, &self.cfg, &mut self.out))
        };
        self.clients.insert(Box::new(key.clone()), id);
        self.txs.insert(id, Box::new(Entry { tx, key: Key::Client(key), scheduled: None }));
        self.after(id);
        Ok(id)
    }

    /// Sends a message outside any transaction: the ACK for a 2xx, a 2xx retransmitted by
    /// the dialog layer after its INVITE transaction ended, a stateless response.
    pub fn send_stateless(&mut self, to: Peer, message: &Message) {
        self.out.transmit(to, message.to_bytes(), None);
    }

    /// Sends `response` in server transaction `tx`.
    pub fn respond(&mut self, now: Instant, tx: TxId, response: Response) -> Result<(), TxError> {
        let cfg = self.cfg;
        let entry = self.txs.get_mut(&tx).ok_or(TxError::NoSuchTransaction)?;
        match &mut entry.tx {
            Tx::ServerInvite(t) => t.respond(response, now, &cfg, &mut self.out)?,
            Tx::ServerNonInvite(t) => t.respond(response, now, &cfg, &mut self.out)?,
            _ => return Err(TxError::NotAServerTransaction),
        }
        self.after(tx);
        Ok(())
    }

    /// The transport could not deliver a message of `tx` (RFC 3261 §17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, _now: Instant, tx: TxId) {
        let Some(entry) = self.txs.get_mut(&tx) else { return };
        match &mut entry.tx {
            Tx::ClientInvite(t) => t.on_transport_error(&mut self.out),
            Tx::ClientNonInvite(t) => t.on_transport_error(&mut self.out),
            Tx::ServerInvite(t) => t.on_transport_error(&mut self.out),
            Tx::ServerNonInvite(t) => t.on_transport_error(&mut self.out),
        }
        self.after(tx);
    }

    /// Stops client non-INVITE transaction `tx` at once: no more retransmissions and no
    /// events, and a late response to it is stray. For a transaction user that has given
    /// up on the request (a deadline shorter than timer F, then another target). Returns
    /// false, and does nothing, for any other kind of transaction or an unknown one: an
    /// INVITE is ended with CANCEL, and a server transaction with its response.
    pub fn abandon(&mut self, tx: TxId) -> bool {
        let Some(entry) = self.txs.get(&tx) else { return false };
        if !matches!(entry.tx, Tx::ClientNonInvite(_)) {
            return false;
        }
        self.remove(tx);
        true
    }

    /// A message arrived from `source`.
    pub fn handle_message(&mut self, now: Instant, message: Message, source: Peer) {
        match message {
            Message::Request(r) => self.on_request(now, r, source),
            Message::Response(r) => self.on_response(now, r, source),
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let cfg = self.cfg;
            let Some(entry) = self.txs.get_mut(&id) else { continue };
            if entry.scheduled == Some(at) {
                entry.scheduled = None;
            }
            match &mut entry.tx {
                Tx::ClientInvite(t) => t.on_timeout(now, &mut self.out),
                Tx::ClientNonInvite(t) => t.on_timeout(now, &cfg, &mut self.out),
                Tx::ServerInvite(t) => t.on_timeout(now, &cfg, &mut self.out),
                Tx::ServerNonInvite(t) => t.on_timeout(now),
            }
            self.after(id);
        }
    }

    /// The next instant [`Self::handle_timeout`] has work to do, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// How many responses it has dropped because they belonged to no transaction of ours
    /// (RFC 3261 §18.1.2: a stray response other than an INVITE's 2xx is discarded).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.items.pop_front()
    }

    /// Forgets transaction `id` and its key. A table left mostly empty by a burst is shrunk,
    /// so the memory a peak of transactions took goes back once the peak has passed.
    fn remove(&mut self, id: TxId) {
        let Some(entry) = self.txs.remove(&id) else { return };
        match entry.key {
            Key::Client(k) => {
                self.clients.remove(&k);
                shrink_if_sparse(&mut self.clients);
            }
            Key::Server(k) => {
                self.servers.remove(&k);
                shrink_if_sparse(&mut self.servers);
            }
        }
        shrink_if_sparse(&mut self.txs);
    }

    /// After a transaction acted: reschedule it, or remove it if it ended.
    fn after(&mut self, id: TxId) {
        let Some(entry) = self.txs.get_mut(&id) else { return };
        if entry.tx.is_terminated() {
            self.remove(id);
            self.out.event(Event::Terminated { tx: id });
            return;
        }
        if let Some(next) = entry.tx.poll_timeout() {
            if entry.scheduled.is_none_or(|s| next < s) {
                entry.scheduled = Some(next);
                self.timers.push(Reverse((next, id)));
            }
        }
    }

    fn on_response(&mut self, now: Instant, response: Response, source: Peer) {
        let key = match ClientKey::of_response(&response) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!(%source, error = %e, "dropping a response that names no transaction");
                self.dropped += 1;
                return;
            }
        };
        let Some(&id) = self.clients.get(&key) else {
            let invite_2xx =
                response.status().is_success() && response.headers().cseq().is_ok_and(|c| c.method == Method::Invite);
            if invite_2xx {
                self.out.event(Event::StrayResponse { response, source });
            } else {
                tracing::debug!(%source, status = response.status().as_u16(), "dropping a stray response");
                self.dropped += 1;
            }
            return;
        };
        let cfg = self.cfg;
        if let Some(entry) = self.txs.get_mut(&id) {
            match &mut entry.tx {
                Tx::ClientInvite(t) => t.on_response(response, now, &cfg, &mut self.out),
                Tx::ClientNonInvite(t) => t.on_response(response, now, &cfg, &mut self.out),
                _ => {}
            }
        }
        self.after(id);
    }

    /// Answers a request that cannot start a transaction, without creating one.
    fn reject_stateless(&mut self, request: &Request, source: Peer, status: StatusCode, reason: &str) {
        // With a Via too broken to read, the source address is the only place to answer.
        let to = request.headers().top_via().map_or(source, |via| response_destination(&via, &source));
        if let Ok(mut resp) = request.make_response(status, None) {
            resp.set_reason(reason.to_owned());
            self.out.transmit(to, resp.to_bytes(), None);
        }
    }

    fn on_request(&mut self, now: Instant, mut request: Request, source: Peer) {
        let is_ack = *request.method() == Method::Ack;
        if request.version() != Version::SIP_2_0 {
            if !is_ack {
                self.reject_stateless(&request, source, StatusCode::VERSION_NOT_SUPPORTED, "Version Not Supported");
            }
            return;
        }
        let check = Message::Request(request);
        if let Err(e) = check.check_essentials() {
            let Message::Request(request) = check else { return };
            tracing::debug!(%source, error = %e, "rejecting a malformed request");
            if !is_ack {
                let reason = format!("Bad Request ({e})");
                self.reject_stateless(&request, source, StatusCode::BAD_REQUEST, &reason);
            }
            return;
        }
        let Message::Request(r) = check else { return };
        request = r;
        // One parse of the top Via gives the key, where responses go and the stamp: stamping
        // changes neither the branch nor the sent-by, and the destination already accounts
        // for rport.
        let (key, to, stamped) = {
            let Ok(via) = request.headers().top_via() else { return };
            let Ok(key) = ServerKey::of_request(&request, &via) else { return };
            (key, response_destination(&via, &source), stamped_top_via(&via, source.addr))
        };
        if let Some(value) = stamped {
            if let Err(e) = replace_top_via(&mut request, value) {
                tracing::debug!(%source, error = %e, "cannot stamp the Via");
                return;
            }
        }
        if is_ack {
            self.on_ack(now, request, source, key);
            return;
        }
        if let Some(&id) = self.servers.get(&key) {
            if let Some(entry) = self.txs.get_mut(&id) {
                match &mut entry.tx {
                    Tx::ServerInvite(t) => t.on_retransmission(&mut self.out),
                    Tx::ServerNonInvite(t) => t.on_retransmission(&mut self.out),
                    _ => {}
                }
            }
            return;
        }
        let cancels = if *request.method() == Method::Cancel {
            ServerKey::of_request_as(&request, Method::Invite).ok().and_then(|k| self.servers.get(&k).copied())
        } else {
            None
        };
        let id = self.new_id();
        let tx = if *request.method() == Method::Invite {
            Tx::ServerInvite(ServerInvite::new(id, request.clone(), to, now, &self.cfg))
        } else {
            Tx::ServerNonInvite(ServerNonInvite::new(id, to))
        };
        self.servers.insert(Box::new(key.clone()), id);
        self.txs.insert(id, Box::new(Entry { tx, key: Key::Server(key), scheduled: None }));
        self.out.event(Event::Request { tx: id, request, source, cancels });
        self.after(id);
    }

    fn on_ack(&mut self, now: Instant, request: Request, source: Peer, key: ServerKey) {
        let cfg = self.cfg;
        let matched = self.servers.get(&key).copied().filter(|id| {
            // An RFC 2543 ACK must also carry the To tag of our final response (§17.2.3).
            let Some(Tx::ServerInvite(t)) = self.txs.get(id).map(|e| &e.tx) else { return false };
            !key.is_rfc2543() || t.final_to_tag.as_deref() == request.headers().to().ok().and_then(|to| to.tag())
        });
        let Some(id) = matched else {
            self.out.event(Event::Ack { request, source, tx: None });
            return;
        };
        let to_tu = match self.txs.get_mut(&id).map(|e| &mut e.tx) {
            Some(Tx::ServerInvite(t)) => t.on_ack(now, &cfg),
            _ => false,
        };
        if to_tu {
            self.out.event(Event::Ack { request, source, tx: Some(id) });
        }
        self.after(id);
    }
}

/// Tables smaller than this are never shrunk: below it the memory is not worth a rehash.
const SHRINK_ABOVE: usize = 1024;

/// Halves `map`'s room when it is at most a quarter full (and large): a rehash costs one
/// pass over the table, and a quarter-full table has lost at least three quarters of its
/// entries since it last grew, so the work stays linear in the inserts.
fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > SHRINK_ABOVE && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}
