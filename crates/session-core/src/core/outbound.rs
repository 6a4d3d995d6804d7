//! SIP outbound (RFC 5626) as a user agent: each account's REGISTER names our instance
//! (`+sip.instance`, §4.1) and flow (`reg-id`, §4.2), the flow every REGISTER went over is
//! remembered, and when the transport reports that connection closed — the registrar went
//! away, or the CRLF keep-alive the transport sends on it (§4.4.1) got no pong — the account
//! registers again at once, which opens a new flow (§4.5). A REGISTER that fails then (the
//! registrar still down) backs off as any failed registration does, until it is back.
//!
//! A registrar's Flow-Timer (§4.4.1) sets how often the transport pings our connection to
//! it. A UDP flow has no connection to close, so it is watched with STUN (§4.4.2): while the
//! account is registered, a Binding request goes to the registrar every 80–100 % of the
//! registrar's Flow-Timer (§4.4.1), or of `SessionConfig::stun_keepalive` when it gave none.
//! Each is repeated as RFC 5389 §7.2.1 says (seven sends, the wait doubling from T1, then
//! 16 T1), and when none is answered, or an answer names another mapped address than the
//! first (the NAT binding changed), the flow failed and the account registers again. A
//! registrar that never answered STUN on a flow is not taken for dead: that flow simply goes
//! without keep-alives.
//!
//! Sans-IO: the driver turns the transport's `FlowClosed` into
//! [`Input::FlowClosed`](super::Input::FlowClosed) and its STUN responses into
//! [`Input::Stun`](super::Input::Stun); this module must not touch sockets.

use super::{Output, SessionCore};
use crate::api::{AccountId, SessionId, SessionState};
use sip_message::{Peer, Response};
use sip_transaction::TxId;
use sip_transport::stun::{self, BindingResponse, TransactionId};
use sip_transport::{TransportError, TransportErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How many addresses of its registrar (or outbound proxy) an account remembers.
const MAX_SERVERS: usize = 16;

/// RFC 5389 §7.2.1: a Binding request is sent at most this many times (Rc)...
const STUN_SENDS: u8 = 7;
/// ...and after the last one the answer is awaited this many initial waits (Rm).
const STUN_LAST_WAIT: u32 = 16;

/// The STUN keep-alive of one account's UDP flow (RFC 5626 §4.4.2).
#[derive(Debug)]
pub(crate) struct StunKeepAlive {
    /// The far end of the flow: where the REGISTERs go.
    to: Peer,
    /// The base interval: the Flow-Timer, or our configured one.
    interval: Duration,
    /// When the next Binding request goes, or the one in flight is repeated or given up.
    at: Instant,
    /// The request in flight: its id, how many times it went, and the wait after the last.
    pending: Option<(TransactionId, u8, Duration)>,
    /// The registrar answered at least once on this flow.
    answered: bool,
    /// The address the registrar saw us at, from its first answer that named one.
    mapped: Option<SocketAddr>,
}

/// `base` drawn down to between 80 % and 100 % of itself (RFC 5626 §4.4.1), so that
/// many agents registered at once do not send their keep-alives in step.
fn jittered(base: Duration) -> Duration {
    base.mul_f64(0.8 + 0.2 * rand::random::<f64>())
}

impl<W> SessionCore<W> {
    /// A REGISTER of account `id` went to `peer`, with `others` left to fail over to: the
    /// flow, and the addresses new requests are taken from (`is_from_stranger`). At most
    /// [`MAX_SERVERS`] are kept, the oldest forgotten first, so a registrar whose addresses
    /// change over months cannot grow the list.
    pub(crate) fn registration_sent(&mut self, id: AccountId, peer: Peer, others: &[sip_resolve::Target]) {
        if let Some(a) = self.accounts.get_mut(&id) {
            a.flow = Some(peer);
            let ips = std::iter::once(peer.addr.ip()).chain(others.iter().map(|t| t.addr.ip()));
            for ip in ips.map(|ip| ip.to_canonical()) {
                if !a.servers.contains(&ip) {
                    if a.servers.len() == MAX_SERVERS {
                        a.servers.remove(0);
                    }
                    a.servers.push(ip);
                }
            }
        }
    }

    /// A connection closed. Requests of ours still waiting for an answer from that peer over
    /// a connection fail now (RFC 3261 §18.4: a transport error), rather than at timer B or
    /// F, 32 s later — a REGISTER among them retries with back-off; then the accounts whose
    /// registration used the connection and have no REGISTER in flight register again.
    pub(crate) fn flow_closed(&mut self, peer: Peer, reason: &str) {
        if !peer.transport.is_reliable() || self.shutdown.is_some() {
            return;
        }
        let same = |p: &Peer| p.transport == peer.transport && p.addr == peer.addr;
        let mut waiting: Vec<TxId> = self.sent.iter().filter(|(_, s)| same(&s.target)).map(|(tx, _)| *tx).collect();
        waiting.sort();
        for tx in waiting {
            let error = TransportError::new(TransportErrorKind::Network, format!("connection closed: {reason}"));
            self.send_errors.insert(tx, error);
            self.txs.handle_transport_error(self.now, tx);
        }
        let mut ids: Vec<AccountId> =
            self.accounts.iter().filter(|(_, a)| a.flow.as_ref().is_some_and(same)).map(|(id, _)| *id).collect();
        ids.sort();
        // The calls whose requests went over the connection: the peer reaches them through
        // it (a proxy's alias of it in their Contact, RFC 5626 §5.3), so each owes a target
        // refresh over a new connection — after the account registers again when the
        // connection was its flow (the path is back then), else at once.
        let calls = self.calls_over(&peer);
        for id in &calls {
            if let Some(s) = self.sessions.get_mut(id) {
                s.refresh_pending = true;
            }
        }
        if ids.is_empty() {
            for id in calls {
                self.refresh_if_pending(id);
            }
        }
        for id in ids {
            self.flow_failed(id, reason);
        }
    }

    /// The calls up whose dialog's first hop — the first Route, else the remote target —
    /// is `peer`'s address (a host name that cannot be compared counts as a match: a needless
    /// refresh costs one re-INVITE, a missed one the call).
    fn calls_over(&self, peer: &Peer) -> Vec<SessionId> {
        let mut ids: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| matches!(s.state, SessionState::Active | SessionState::OnHold))
            .filter(|(_, s)| {
                let Some(dialog) = self.calls.dialog(s.key()) else { return false };
                // Our Contact is a GRUU (RFC 5627): the far end's requests reach us through
                // the registrar by our new binding, so nothing needs refreshing.
                if is_gruu(dialog.local_contact()) {
                    return false;
                }
                let hop = dialog.route_set().first().map_or(dialog.remote_target(), |r| r.as_str());
                hop_is(hop, peer)
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// An account registered (again): the calls that owe a target refresh since a flow
    /// failed send it now, over the new flow.
    pub(crate) fn refresh_calls_owed(&mut self) {
        let mut owed: Vec<SessionId> =
            self.sessions.iter().filter(|(_, s)| s.refresh_pending).map(|(id, _)| *id).collect();
        owed.sort();
        for id in owed {
            self.refresh_if_pending(id);
        }
    }

    /// Account `id`'s flow failed: it registers again, which opens a new one (§4.5).
    fn flow_failed(&mut self, id: AccountId, reason: &str) {
        let Some(a) = self.accounts.get_mut(&id) else { return };
        let to = a.flow.map(|p| p.to_string()).unwrap_or_default();
        tracing::info!(account = %id, %to, reason, "the registration's flow failed: registering again");
        a.flow = None;
        a.keepalive = None;
        let now = self.now;
        if let Some(reg) = self.regs.get_mut(&id) {
            // With a REGISTER in flight this does nothing: its failure retries.
            if let Err(e) = reg.register(now) {
                tracing::debug!(account = %id, error = %e, "no new registration");
            }
        }
    }

    /// A response to a REGISTER of account `id`: a 2xx may carry the registrar's
    /// Flow-Timer (RFC 5626 §10.6), the keep-alive interval it wants.
    pub(crate) fn registration_response(&mut self, id: AccountId, response: &Response) {
        if !response.status().is_success() {
            return;
        }
        let timer = response.headers().get("Flow-Timer").and_then(|v| v.trim().parse::<u64>().ok());
        let Some(a) = self.accounts.get_mut(&id) else { return };
        // A registrar asking for keep-alives more often than every 10 s is not obeyed
        // to the letter: that is a flood, not a keep-alive.
        a.flow_timer = timer.filter(|s| *s > 0).map(|s| Duration::from_secs(s.max(10)));
    }

    /// Account `id` is registered. Over a connection, a registrar's Flow-Timer sets how
    /// often the transport pings it (80–100 % of it, §4.4.1; without one the transport's own
    /// interval stays). A UDP flow gets a STUN keep-alive at the Flow-Timer or our configured
    /// interval, unless it has one already, no interval is set, or the registrar did not
    /// answer STUN on this flow before. Nothing without outbound.
    pub(crate) fn start_keepalive(&mut self, id: AccountId) {
        let now = self.now;
        let outbound = self.cfg.outbound;
        let configured = self.cfg.stun_keepalive;
        let Some(a) = self.accounts.get_mut(&id) else { return };
        let Some(flow) = a.flow.filter(|_| outbound) else {
            a.keepalive = None;
            return;
        };
        if flow.transport.is_reliable() {
            a.keepalive = None;
            if let Some(timer) = a.flow_timer {
                self.out.push_back(Output::KeepAlive { to: flow, interval: jittered(timer) });
            }
            return;
        }
        // A Flow-Timer counts only while we send STUN keep-alives at all.
        let base = configured.map(|c| a.flow_timer.unwrap_or(c));
        let Some(base) = base.filter(|_| a.stun_refused != Some(flow)) else {
            a.keepalive = None;
            return;
        };
        match &mut a.keepalive {
            Some(k) if k.to == flow => k.interval = base,
            _ => {
                a.keepalive = Some(StunKeepAlive {
                    to: flow,
                    interval: base,
                    at: now + jittered(base),
                    pending: None,
                    answered: false,
                    mapped: None,
                });
            }
        }
    }

    /// When the next keep-alive is due.
    pub(crate) fn keepalive_deadline(&self) -> Option<Instant> {
        self.accounts.values().filter_map(|a| a.keepalive.as_ref().map(|k| k.at)).min()
    }

    /// Sends the keep-alives that are due, repeats the unanswered ones, and gives up on
    /// those unanswered after the last wait.
    pub(crate) fn keepalive_timeouts(&mut self, now: Instant) {
        let t1 = self.cfg.timers.0;
        let mut due: Vec<AccountId> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.keepalive.as_ref().is_some_and(|k| k.at <= now))
            .map(|(id, _)| *id)
            .collect();
        due.sort();
        for id in due {
            let Some(a) = self.accounts.get_mut(&id) else { continue };
            let Some(k) = a.keepalive.as_mut() else { continue };
            let (request, sends, wait) = match k.pending {
                None => (rand::random::<TransactionId>(), 1, t1),
                Some((request, sends, wait)) if sends < STUN_SENDS => {
                    let wait = if sends + 1 == STUN_SENDS { t1 * STUN_LAST_WAIT } else { wait * 2 };
                    (request, sends + 1, wait)
                }
                Some(_) => {
                    if k.answered {
                        self.flow_failed(id, "the STUN keep-alive got no answer");
                    } else {
                        tracing::info!(account = %id, to = %k.to, "the registrar does not answer STUN: no keep-alive on this flow");
                        a.stun_refused = Some(k.to);
                        a.keepalive = None;
                    }
                    continue;
                }
            };
            k.pending = Some((request, sends, wait));
            k.at = now + wait;
            let bytes = bytes::Bytes::copy_from_slice(&stun::binding_request(&request));
            self.out.push_back(Output::Transmit { to: k.to, bytes, token: 0, server_name: None });
        }
    }

    /// A STUN response from `source`: the answer to a keep-alive of ours, or dropped.
    pub(crate) fn stun_received(&mut self, source: Peer, bytes: &[u8]) {
        let now = self.now;
        let response = match stun::parse_binding_response(bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(%source, error = %e, "STUN response dropped");
                self.counters.dropped += 1;
                return;
            }
        };
        let found = self.accounts.iter().find_map(|(id, a)| {
            let k = a.keepalive.as_ref()?;
            (k.to == source && k.pending.is_some_and(|(r, _, _)| &r == response.id())).then_some(*id)
        });
        let Some(id) = found else {
            tracing::debug!(%source, "a STUN response to no keep-alive of ours");
            self.counters.dropped += 1;
            return;
        };
        let Some(a) = self.accounts.get_mut(&id) else { return };
        let Some(k) = a.keepalive.as_mut() else { return };
        match response {
            BindingResponse::Success { mapped, .. } => {
                k.pending = None;
                k.answered = true;
                k.at = now + jittered(k.interval);
                match (k.mapped, mapped) {
                    (Some(before), Some(now_seen)) if before != now_seen => {
                        // §4.4.2: our address as the registrar sees it moved — a NAT
                        // rebinding; the registrar's binding points at the old one.
                        tracing::info!(account = %id, %before, now = %now_seen, "the mapped address changed");
                        self.flow_failed(id, "the STUN keep-alive saw the mapped address change");
                    }
                    (None, Some(seen)) => k.mapped = Some(seen),
                    _ => {}
                }
            }
            BindingResponse::Error { code, .. } => {
                tracing::info!(account = %id, to = %k.to, code, "the registrar refuses STUN: no keep-alive on this flow");
                a.stun_refused = Some(k.to);
                a.keepalive = None;
            }
        }
    }
}

/// Does the URI of a Route (`<sip:...;lr>`) or a remote target name `peer`'s address?
/// Is `contact` (a Contact value) a GRUU: a SIP URI with the `gr` parameter (RFC 5627 §3)?
fn is_gruu(contact: &str) -> bool {
    let Ok(address) = sip_message::NameAddr::parse(contact) else { return false };
    matches!(address.uri(), sip_message::Uri::Sip(sip) if sip.params().contains("gr"))
}

fn hop_is(hop: &str, peer: &Peer) -> bool {
    let Ok(address) = sip_message::NameAddr::parse(hop) else { return false };
    let sip_message::Uri::Sip(sip) = address.uri() else { return false };
    let host = sip.host_str().trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical() == peer.addr.ip().to_canonical() && sip.port_or_default() == peer.addr.port(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::Transport;

    #[test]
    fn a_gruu_is_a_sip_uri_with_gr() {
        assert!(is_gruu("<sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"));
        assert!(is_gruu("<sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr>"));
        assert!(!is_gruu("<sip:alice@192.0.2.4:5060;transport=tcp>"));
        assert!(!is_gruu("<sip:alice@example.com>;gr"));
    }

    #[test]
    fn a_hop_matches_the_address_of_the_flow_it_went_over() {
        let peer = Peer::new(Transport::Tcp, "127.0.0.1:5070".parse().expect("addr"));
        assert!(hop_is("<sip:127.0.0.1:5070;transport=tcp;lr>", &peer));
        assert!(hop_is("sip:bob@127.0.0.1:5070;transport=tcp", &peer));
        assert!(!hop_is("<sip:127.0.0.1:5071;transport=tcp;lr>", &peer));
        assert!(!hop_is("<sip:127.0.0.2:5070;lr>", &peer));
        assert!(!hop_is("<sip:127.0.0.1;lr>", &peer), "no port is 5060");
        assert!(hop_is("<sip:proxy.example.com;lr>", &peer), "a name cannot be ruled out");
        assert!(!hop_is("not a uri", &peer));
        let v6 = Peer::new(Transport::Tcp, "[::1]:5070".parse().expect("addr"));
        assert!(hop_is("<sip:[::1]:5070;transport=tcp;lr>", &v6));
    }
}
