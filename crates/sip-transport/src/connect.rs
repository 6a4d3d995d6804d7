//! Outgoing connections: TCP, then TLS and/or the WebSocket handshake, then the flow's loop.

use crate::error::{TransportError, TransportErrorKind};
use crate::flow::Outgoing;
use crate::inner::Inner;
use crate::stream::run_stream;
use crate::{tls, ws};
use sip_message::{FlowId, Peer, Transport};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;

/// An established connection of any kind (boxed: TLS state is large and short-lived here).
enum Conn {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Ws(Box<WebSocketStream<TcpStream>>),
    Wss(Box<WebSocketStream<TlsStream<TcpStream>>>),
}

fn ws_url(peer: &Peer, server_name: &str) -> String {
    let scheme = if peer.transport == Transport::Wss { "wss" } else { "ws" };
    let host = if server_name.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{server_name}]")
    } else {
        server_name.to_owned()
    };
    format!("{scheme}://{host}:{}/", peer.addr.port())
}

/// Connects to `peer` and runs the flow; on failure, fails every queued message with the
/// reason.
pub(crate) async fn connect_and_run(
    inner: Arc<Inner>,
    flow: FlowId,
    peer: Peer,
    server_name: String,
    mut rx: mpsc::Receiver<Outgoing>,
    keepalive: tokio::sync::watch::Receiver<Option<std::time::Duration>>,
) {
    let timeout = inner.config.connect_timeout;
    let conn = match tokio::time::timeout(timeout, establish(&inner, peer, &server_name)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(error)) => return fail(&inner, flow, peer, &mut rx, error),
        Err(_) => {
            let error = TransportError::new(
                TransportErrorKind::Network,
                format!("connecting to {peer} timed out after {timeout:?}"),
            );
            return fail(&inner, flow, peer, &mut rx, error);
        }
    };
    match conn {
        Conn::Tcp(s) => run_stream(inner, flow, peer, s, rx, Some(keepalive)).await,
        Conn::Tls(s) => run_stream(inner, flow, peer, *s, rx, Some(keepalive)).await,
        Conn::Ws(s) => ws::run_ws(inner, flow, peer, *s, rx).await,
        Conn::Wss(s) => ws::run_ws(inner, flow, peer, *s, rx).await,
    }
}

fn fail(inner: &Inner, flow: FlowId, peer: Peer, rx: &mut mpsc::Receiver<Outgoing>, error: TransportError) {
    tracing::debug!(%peer, %error, "connection failed");
    inner.flows().remove(flow);
    rx.close();
    while let Ok((_, token)) = rx.try_recv() {
        inner.send_failed(token, peer, error.clone());
    }
}

async fn establish(inner: &Inner, peer: Peer, server_name: &str) -> Result<Conn, TransportError> {
    let tcp = TcpStream::connect(peer.addr)
        .await
        .map_err(|e| TransportError::io(&format!("connecting to {}", peer.addr), &e))?;
    let _ = tcp.set_nodelay(true);
    let tls = |tcp: TcpStream| async move {
        let name = tls::server_name(server_name)?;
        TlsConnector::from(inner.tls_client.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| tls::handshake_error(&format!("{server_name} ({})", peer.addr), &e))
    };
    Ok(match peer.transport {
        Transport::Tcp => Conn::Tcp(tcp),
        Transport::Tls => Conn::Tls(Box::new(tls(tcp).await?)),
        Transport::Ws => Conn::Ws(Box::new(ws::connect(inner, tcp, &ws_url(&peer, server_name)).await?)),
        Transport::Wss => {
            let stream = tls(tcp).await?;
            Conn::Wss(Box::new(ws::connect(inner, stream, &ws_url(&peer, server_name)).await?))
        }
        Transport::Udp | Transport::Sctp => {
            return Err(TransportError::new(
                TransportErrorKind::Config,
                format!("{} is not a connection transport here", peer.transport),
            ))
        }
    })
}
