//! [`TransportLayer`]: the handle the layers above send through.

use crate::config::TransportConfig;
use crate::connect::connect_and_run;
use crate::error::{TransportError, TransportErrorKind};
use crate::event::TransportEvent;
use crate::inner::Inner;
use crate::{listen, tls, udp};
use bytes::Bytes;
use sip_message::{Peer, Transport};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// SIP over UDP, TCP, TLS, WS and WSS. Cheap to clone; every clone drives the same sockets.
///
/// Messages that arrive, failed sends and closed connections come out of the event receiver
/// returned by [`TransportLayer::bind`]. Sending never waits for the network: a send that
/// fails later (connection refused, TLS certificate rejected, peer gone) is reported as
/// [`TransportEvent::SendFailed`] with the caller's token.
#[derive(Clone)]
pub struct TransportLayer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TransportLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportLayer").field("local", &self.inner.local).finish()
    }
}

impl TransportLayer {
    /// Opens the configured listeners and starts receiving. Must run inside a tokio runtime.
    pub async fn bind(
        config: TransportConfig,
    ) -> Result<(TransportLayer, mpsc::Receiver<TransportEvent>), TransportError> {
        let (events, rx) = mpsc::channel(4096);
        let tls_client = tls::client_config(&config)?;
        let needs_identity = config.listen.iter().any(|(t, _)| matches!(t, Transport::Tls | Transport::Wss));
        let tls_server = match (&config.server_identity, needs_identity) {
            (Some(id), _) => Some(tls::server_config(id)?),
            (None, true) => {
                return Err(TransportError::new(
                    TransportErrorKind::Config,
                    "a TLS or WSS listener needs a server identity",
                ))
            }
            (None, false) => None,
        };
        let mut local = Vec::new();
        let (mut udp_v4, mut udp_v6) = (None, None);
        let mut tcp_listeners = Vec::new();
        for &(transport, addr) in &config.listen {
            match transport {
                Transport::Udp => {
                    let socket = UdpSocket::bind(addr)
                        .await
                        .map_err(|e| TransportError::io(&format!("binding UDP {addr}"), &e))?;
                    let bound = socket.local_addr().map_err(|e| TransportError::io("UDP local address", &e))?;
                    if let Err(e) = socket2::SockRef::from(&socket).set_recv_buffer_size(config.udp_receive_buffer) {
                        // The kernel's default buffer still works; bursts may be dropped.
                        tracing::warn!(%bound, error = %e, "could not enlarge the UDP receive buffer");
                    }
                    crate::icmp::enable(&socket, bound.is_ipv6());
                    local.push((transport, bound));
                    let socket = Arc::new(socket);
                    let slot = if bound.is_ipv4() { &mut udp_v4 } else { &mut udp_v6 };
                    if slot.is_none() {
                        *slot = Some(socket);
                    }
                }
                Transport::Tcp | Transport::Tls | Transport::Ws | Transport::Wss => {
                    let listener = TcpListener::bind(addr)
                        .await
                        .map_err(|e| TransportError::io(&format!("binding {transport} {addr}"), &e))?;
                    let bound = listener.local_addr().map_err(|e| TransportError::io("local address", &e))?;
                    local.push((transport, bound));
                    tcp_listeners.push((transport, listener));
                }
                Transport::Sctp => {
                    return Err(TransportError::new(TransportErrorKind::Config, "SCTP is not supported"));
                }
            }
        }
        let inner = Arc::new(Inner::new(config, events, udp_v4.clone(), udp_v6.clone(), tls_client, tls_server, local));
        for socket in [udp_v4, udp_v6].into_iter().flatten() {
            let h = tokio::spawn(udp::recv_loop(inner.clone(), socket));
            inner.track(h.abort_handle());
        }
        for (transport, listener) in tcp_listeners {
            let h = tokio::spawn(listen::accept_loop(inner.clone(), listener, transport));
            inner.track(h.abort_handle());
        }
        Ok((TransportLayer { inner }, rx))
    }

    /// How many datagrams the UDP receive loop has read in a row without finding its socket
    /// empty: 0 when it keeps up, large when requests wait in the kernel's queue. A driver
    /// uses it to tell that it is falling behind before a sender retransmits.
    pub fn udp_backlog(&self) -> usize {
        self.inner.udp_backlog.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many datagrams and WebSocket messages were dropped because they were not SIP.
    pub fn unparsable(&self) -> u64 {
        self.inner.unparsable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Who sent what was dropped as not SIP since the last call, by source address: for an
    /// admission control that sheds the sources sending the most, garbage included.
    pub fn take_noise(&self) -> crate::Noise {
        self.inner.noise().take()
    }

    /// The first bound address of `transport` (with the real port when 0 was asked for).
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.inner.local.iter().find(|(t, _)| *t == transport).map(|(_, a)| *a)
    }

    /// The bound address of `transport` in the address family of `remote`, falling back to
    /// any: what a Via sent-by or a Contact should name for a request to `remote`.
    pub fn local_addr_for(&self, transport: Transport, remote: SocketAddr) -> Option<SocketAddr> {
        self.inner
            .local
            .iter()
            .find(|(t, a)| *t == transport && a.is_ipv4() == remote.is_ipv4())
            .or_else(|| self.inner.local.iter().find(|(t, _)| *t == transport))
            .map(|(_, a)| *a)
    }

    /// Every bound listener.
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.inner.local
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.inner.flows().len()
    }

    /// Sends `bytes` to `to`; see [`Self::send_named`]. The TLS server name is the address.
    pub fn send(&self, to: Peer, bytes: Bytes, token: u64) -> Peer {
        self.send_named(to, None, bytes, token)
    }

    /// Sends `bytes` to `to` and returns the peer as used, with the flow for a connection.
    ///
    /// UDP goes out at once. For a connection transport, `to.flow` is used while that
    /// connection lives; otherwise an open connection to the same transport and address is
    /// reused (RFC 3261 §18); otherwise a new one is opened, with TLS verifying the server's
    /// certificate against `server_name` (a host name or, by default, the IP address).
    /// Failures are reported later as [`TransportEvent::SendFailed`] carrying `token`.
    pub fn send_named(&self, to: Peer, server_name: Option<&str>, bytes: Bytes, token: u64) -> Peer {
        if to.transport == Transport::Udp {
            udp::send(&self.inner, to, bytes.clone(), token);
            return Peer { flow: None, ..to };
        }
        let mut item = (bytes, token);
        {
            let flows = self.inner.flows();
            let existing = to.flow.and_then(|f| flows.get(f)).or_else(|| flows.find(to.transport, to.addr));
            if let Some(entry) = existing {
                let used = entry.peer;
                match entry.tx.try_send(item) {
                    Ok(()) => return used,
                    Err(TrySendError::Full(_)) => {
                        drop(flows);
                        self.inner.send_failed(
                            token,
                            used,
                            TransportError::new(TransportErrorKind::Limit, "the connection's send queue is full"),
                        );
                        return used;
                    }
                    // The flow is closing: open a new one below.
                    Err(TrySendError::Closed(back)) => item = back,
                }
            }
        }
        if self.inner.flows().len() >= self.inner.config.max_connections {
            self.inner.send_failed(token, to, TransportError::new(TransportErrorKind::Limit, "too many connections"));
            return to;
        }
        let flow = self.inner.new_flow_id();
        let (tx, rx) = mpsc::channel(self.inner.config.send_queue);
        let (keepalive, keepalive_rx) = tokio::sync::watch::channel(self.inner.config.keepalive_interval);
        let peer = Peer { flow: Some(flow), ..to };
        // The queue is empty and sized at least 1, so this cannot fail.
        let _ = tx.try_send(item);
        self.inner.flows().insert(flow, Peer { flow: None, ..to }, tx, Some(keepalive));
        let name = server_name.map(str::to_owned).unwrap_or_else(|| to.addr.ip().to_string());
        let handle = tokio::spawn(connect_and_run(self.inner.clone(), flow, peer, name, rx, keepalive_rx));
        self.inner.track(handle.abort_handle());
        peer
    }

    /// Sets the CRLF keep-alive interval of the connection we opened to `transport` and
    /// `addr` (a registrar's Flow-Timer, RFC 5626 §4.4.1; `None` sends none); the next ping
    /// goes one interval from now. False when there is no such connection.
    pub fn set_keepalive(&self, transport: Transport, addr: SocketAddr, interval: Option<std::time::Duration>) -> bool {
        let flows = self.inner.flows();
        match flows.find(transport, addr).and_then(|e| e.keepalive.as_ref()) {
            Some(k) => {
                k.send_replace(interval);
                true
            }
            None => false,
        }
    }

    /// Stops every listener and connection task.
    pub fn shutdown(&self) {
        self.inner.abort_all();
    }
}
