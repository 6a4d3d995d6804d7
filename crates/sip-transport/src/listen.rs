//! Incoming connections: accept loops for TCP, TLS, WS and WSS listeners.

use crate::inner::Inner;
use crate::stream::run_stream;
use crate::ws;
use sip_message::{Peer, Transport};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

/// Accepts connections until the listener fails or the transport shuts down.
pub(crate) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener, transport: Transport) {
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: back off briefly instead of spinning.
                tracing::warn!(%transport, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if inner.flows().len() >= inner.config.max_connections {
            tracing::warn!(%remote, limit = inner.config.max_connections, "refusing a connection: too many");
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let inner2 = inner.clone();
        let handle = tokio::spawn(async move { serve(inner2, tcp, Peer::new(transport, remote)).await });
        inner.track(handle.abort_handle());
    }
}

/// Completes the handshakes of one accepted connection, registers its flow, and runs it.
async fn serve(inner: Arc<Inner>, tcp: TcpStream, peer: Peer) {
    let flow = inner.new_flow_id();
    let (tx, rx) = mpsc::channel(inner.config.send_queue);
    let handshake = inner.config.connect_timeout;
    match peer.transport {
        Transport::Tcp => {
            inner.flows().insert(flow, peer, tx, None);
            run_stream(inner, flow, peer, tcp, rx, None).await;
        }
        Transport::Tls | Transport::Wss => {
            let Some(config) = inner.tls_server.clone() else { return };
            let tls = match tokio::time::timeout(handshake, TlsAcceptor::from(config).accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            if peer.transport == Transport::Tls {
                inner.flows().insert(flow, peer, tx, None);
                run_stream(inner, flow, peer, tls, rx, None).await;
            } else {
                let ws = match tokio::time::timeout(handshake, ws::accept(&inner, tls)).await {
                    Ok(Ok(ws)) => ws,
                    Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "WebSocket handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "WebSocket handshake timed out"),
                };
                inner.flows().insert(flow, peer, tx, None);
                ws::run_ws(inner, flow, peer, ws, rx).await;
            }
        }
        Transport::Ws => {
            let ws = match tokio::time::timeout(handshake, ws::accept(&inner, tcp)).await {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "WebSocket handshake failed"),
                Err(_) => return tracing::debug!(%peer, "WebSocket handshake timed out"),
            };
            inner.flows().insert(flow, peer, tx, None);
            ws::run_ws(inner, flow, peer, ws, rx).await;
        }
        Transport::Udp | Transport::Sctp => {}
    }
}
