//! SIP over WebSocket (RFC 7118): the `sip` subprotocol handshake on both sides, and one
//! connection's loop, where every WebSocket message carries exactly one SIP message.

use crate::error::{TransportError, TransportErrorKind};
use crate::event::TransportEvent;
use crate::flow::Outgoing;
use crate::inner::Inner;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sip_message::{parse_message_with, FlowId, Peer};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use tokio_tungstenite::WebSocketStream;

const SUBPROTOCOL: &str = "sip";

fn ws_config(inner: &Inner) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(inner.config.limits.max_message_size))
        .max_frame_size(Some(inner.config.limits.max_message_size))
}

fn offers_sip(req: &Request) -> bool {
    req.headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case(SUBPROTOCOL))
}

/// Accepts a WebSocket handshake that offers the `sip` subprotocol (RFC 7118 §4.1) and
/// refuses any other.
pub(crate) async fn accept<S>(inner: &Inner, stream: S) -> Result<WebSocketStream<S>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The callback's error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        if !offers_sip(req) {
            let mut refuse = ErrorResponse::new(Some("the sip WebSocket subprotocol is required (RFC 7118)".into()));
            *refuse.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refuse);
        }
        resp.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(SUBPROTOCOL));
        Ok(resp)
    };
    tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(ws_config(inner)))
        .await
        .map_err(|e| TransportError::new(TransportErrorKind::WebSocket, format!("WebSocket handshake: {e}")))
}

/// Opens the WebSocket handshake with the `sip` subprotocol as a client and checks the server
/// chose it.
pub(crate) async fn connect<S>(inner: &Inner, stream: S, url: &str) -> Result<WebSocketStream<S>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let err = |m: String| TransportError::new(TransportErrorKind::WebSocket, m);
    let mut req = url.into_client_request().map_err(|e| err(format!("bad WebSocket URL {url}: {e}")))?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(SUBPROTOCOL));
    let (ws, resp) = tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config(inner)))
        .await
        .map_err(|e| err(format!("WebSocket handshake with {url}: {e}")))?;
    let chosen = resp.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok());
    if !chosen.is_some_and(|p| p.eq_ignore_ascii_case(SUBPROTOCOL)) {
        return Err(err(format!("{url} did not accept the sip subprotocol")));
    }
    Ok(ws)
}

pub(crate) async fn run_ws<S>(
    inner: Arc<Inner>,
    flow: FlowId,
    peer: Peer,
    ws: WebSocketStream<S>,
    mut rx: mpsc::Receiver<Outgoing>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = inner.config.clone();
    let (mut sink, mut source) = ws.split();
    let mut last_activity = Instant::now();
    let reason = 'conn: loop {
        tokio::select! {
            msg = source.next() => {
                let data: Bytes = match msg {
                    None => break 'conn "closed by the peer".to_owned(),
                    Some(Err(e)) => break 'conn format!("WebSocket error: {e}"),
                    Some(Ok(Message::Close(_))) => break 'conn "closed by the peer".to_owned(),
                    Some(Ok(Message::Text(t))) => Bytes::from(t),
                    Some(Ok(Message::Binary(b))) => b,
                    // tungstenite answers pings itself; pongs need nothing.
                    Some(Ok(_)) => {
                        last_activity = Instant::now();
                        continue;
                    }
                };
                last_activity = Instant::now();
                // RFC 7118 §5: each WebSocket message is one SIP message.
                match parse_message_with(data, &cfg.limits) {
                    Ok(message) => {
                        let event = TransportEvent::Message { message, source: Peer { flow: Some(flow), ..peer } };
                        if inner.events.send(event).await.is_err() {
                            break 'conn "the transport was shut down".to_owned();
                        }
                    }
                    Err(e) => {
                        inner.drop_unparsable(peer.addr.ip());
                        tracing::debug!(%peer, error = %e, "dropping an unparsable WebSocket message")
                    }
                }
            }
            out = rx.recv() => {
                let Some((bytes, token)) = out else { break 'conn "closed locally".to_owned() };
                let msg = match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => Message::text(text),
                    Err(_) => Message::binary(bytes),
                };
                if let Err(e) = sink.send(msg).await {
                    inner.send_failed(token, peer, TransportError::new(TransportErrorKind::Network, format!("WebSocket send: {e}")));
                    break 'conn format!("WebSocket error: {e}");
                }
                last_activity = Instant::now();
            }
            _ = sleep_until(last_activity + cfg.idle_timeout) => break 'conn "idle".to_owned(),
        }
    };
    let _ = sink.close().await;
    inner.flow_closed(flow, peer, rx, reason).await;
}
