//! State shared by the transport's tasks: the flow table, the sockets, the event channel.

use crate::config::TransportConfig;
use crate::error::TransportError;
use crate::event::TransportEvent;
use crate::flow::{FlowTable, Outgoing};
use sip_message::{FlowId, Peer, Transport};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub(crate) struct Inner {
    pub(crate) config: TransportConfig,
    pub(crate) events: mpsc::Sender<TransportEvent>,
    flows: Mutex<FlowTable>,
    next_flow: AtomicU64,
    pub(crate) udp_v4: Option<Arc<UdpSocket>>,
    pub(crate) udp_v6: Option<Arc<UdpSocket>>,
    pub(crate) tls_client: Arc<rustls::ClientConfig>,
    pub(crate) tls_server: Option<Arc<rustls::ServerConfig>>,
    pub(crate) local: Vec<(Transport, SocketAddr)>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Datagrams the UDP receive loop has read in a row without finding its socket empty.
    pub(crate) udp_backlog: std::sync::atomic::AtomicUsize,
    /// Datagrams and WebSocket messages dropped because they were not SIP.
    pub(crate) unparsable: std::sync::atomic::AtomicU64,
    /// Who sent what was dropped, since the driver last asked.
    noise: Mutex<crate::noise::NoiseTally>,
    /// The last UDP send to each recent destination, for its ICMP error.
    pub(crate) udp_recent: Mutex<crate::icmp::RecentSends>,
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: TransportConfig,
        events: mpsc::Sender<TransportEvent>,
        udp_v4: Option<Arc<UdpSocket>>,
        udp_v6: Option<Arc<UdpSocket>>,
        tls_client: Arc<rustls::ClientConfig>,
        tls_server: Option<Arc<rustls::ServerConfig>>,
        local: Vec<(Transport, SocketAddr)>,
    ) -> Inner {
        Inner {
            config,
            events,
            flows: Mutex::new(FlowTable::default()),
            next_flow: AtomicU64::new(1),
            udp_v4,
            udp_v6,
            udp_backlog: std::sync::atomic::AtomicUsize::new(0),
            unparsable: std::sync::atomic::AtomicU64::new(0),
            noise: Mutex::new(crate::noise::NoiseTally::default()),
            udp_recent: Mutex::new(crate::icmp::RecentSends::default()),
            tls_client,
            tls_server,
            local,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The flow table. A panic elsewhere while it was held cannot leave it half-updated in a
    /// way that matters (every update is one insert or remove), so poisoning is ignored.
    pub(crate) fn flows(&self) -> MutexGuard<'_, FlowTable> {
        self.flows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A datagram or message from `source` was dropped as not SIP.
    pub(crate) fn drop_unparsable(&self, source: std::net::IpAddr) {
        self.unparsable.fetch_add(1, Ordering::Relaxed);
        self.noise().add(source);
    }

    /// The tally of who sent what was dropped (a panic while it was held leaves at worst a
    /// count off by one, so poisoning is ignored).
    pub(crate) fn noise(&self) -> MutexGuard<'_, crate::noise::NoiseTally> {
        self.noise.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn new_flow_id(&self) -> FlowId {
        FlowId(self.next_flow.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn track(&self, handle: AbortHandle) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    pub(crate) fn abort_all(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }

    /// Reports a failed send; never blocks (a full event queue drops the report, logged).
    pub(crate) fn send_failed(&self, token: u64, to: Peer, error: TransportError) {
        tracing::debug!(%to, %error, "send failed");
        if self.events.try_send(TransportEvent::SendFailed { token, to, error }).is_err() {
            tracing::warn!(%to, "event queue full or closed: a send failure was not reported");
        }
    }

    /// Closes a flow's bookkeeping: removes it, fails what was still queued, reports it.
    pub(crate) async fn flow_closed(&self, flow: FlowId, peer: Peer, mut rx: mpsc::Receiver<Outgoing>, reason: String) {
        self.flows().remove(flow);
        rx.close();
        while let Ok((_, token)) = rx.try_recv() {
            self.send_failed(
                token,
                peer,
                TransportError::new(crate::TransportErrorKind::Network, format!("connection closed: {reason}")),
            );
        }
        tracing::debug!(%peer, %reason, "flow closed");
        let _ = self.events.send(TransportEvent::FlowClosed { flow, peer, reason }).await;
    }
}
