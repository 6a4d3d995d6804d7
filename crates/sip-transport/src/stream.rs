//! One TCP or TLS connection: framing the byte stream into messages, writing queued messages,
//! RFC 5626 CRLF keep-alives, and cutting off peers that idle or never finish a message.

use crate::event::TransportEvent;
use crate::flow::Outgoing;
use crate::inner::Inner;
use sip_message::{FlowId, Frame, Peer, StreamFramer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

/// Runs one connection. `keepalive_rx` carries the CRLF ping interval of a connection we
/// opened (it changes when a registrar asks for another, RFC 5626 §4.4.1); `None` for one
/// the peer opened, which only answers pings: only the opener sends them.
pub(crate) async fn run_stream<S>(
    inner: Arc<Inner>,
    flow: FlowId,
    peer: Peer,
    stream: S,
    mut rx: mpsc::Receiver<Outgoing>,
    mut keepalive_rx: Option<watch::Receiver<Option<Duration>>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = inner.config.clone();
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut framer = StreamFramer::new(cfg.limits);
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_activity = Instant::now();
    let mut partial_since: Option<Instant> = None;
    let mut keepalive = keepalive_rx.as_mut().and_then(|k| *k.borrow_and_update());
    let mut next_ping = keepalive.map(|k| Instant::now() + k);
    let mut pong_due: Option<Instant> = None;

    let reason = 'conn: loop {
        let deadline = [
            Some(last_activity + cfg.idle_timeout),
            partial_since.map(|p| p + cfg.message_timeout),
            next_ping.filter(|_| pong_due.is_none()),
            pong_due,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + cfg.idle_timeout);
        tokio::select! {
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) => break 'conn "closed by the peer".to_owned(),
                    Ok(n) => n,
                    Err(e) => break 'conn format!("read error: {e}"),
                };
                last_activity = Instant::now();
                framer.set_awaiting_pong(pong_due.is_some());
                framer.push(&buf[..n]);
                loop {
                    match framer.next_frame() {
                        Ok(Some(Frame::Message(message))) => {
                            let event = TransportEvent::Message { message, source: Peer { flow: Some(flow), ..peer } };
                            if inner.events.send(event).await.is_err() {
                                break 'conn "the transport was shut down".to_owned();
                            }
                        }
                        Ok(Some(Frame::Ping)) => {
                            if let Err(e) = wr.write_all(b"\r\n").await {
                                break 'conn format!("write error: {e}");
                            }
                        }
                        Ok(Some(Frame::Pong)) => pong_due = None,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "cutting off a peer that broke the framing");
                            break 'conn format!("framing error: {e}");
                        }
                    }
                }
                partial_since = if framer.buffered() > 0 { partial_since.or(Some(last_activity)) } else { None };
            }
            out = rx.recv() => {
                let Some((bytes, token)) = out else { break 'conn "closed locally".to_owned() };
                if let Err(e) = wr.write_all(&bytes).await {
                    inner.send_failed(token, peer, crate::TransportError::io("write", &e));
                    break 'conn format!("write error: {e}");
                }
                last_activity = Instant::now();
            }
            changed = next_keepalive(&mut keepalive_rx) => match changed {
                Some(interval) => {
                    // The next ping goes one new interval from now (a pong awaited still is).
                    keepalive = interval;
                    next_ping = keepalive.map(|k| Instant::now() + k);
                }
                // Nobody will change it again: the interval stays.
                None => keepalive_rx = None,
            },
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                if now >= last_activity + cfg.idle_timeout {
                    break 'conn "idle".to_owned();
                }
                if partial_since.is_some_and(|p| now >= p + cfg.message_timeout) {
                    tracing::warn!(%peer, buffered = framer.buffered(), "cutting off a peer that never finished a message");
                    break 'conn "a message was left incomplete for too long".to_owned();
                }
                if pong_due.is_some_and(|d| now >= d) {
                    break 'conn "no pong to a keep-alive ping (RFC 5626)".to_owned();
                }
                if let (Some(at), Some(every)) = (next_ping, keepalive) {
                    // One ping at a time: the next waits until this one's pong is in.
                    if now >= at && pong_due.is_none() {
                        if let Err(e) = wr.write_all(b"\r\n\r\n").await {
                            break 'conn format!("write error: {e}");
                        }
                        pong_due = Some(now + cfg.pong_timeout);
                        next_ping = Some(now + every);
                        // A flow kept alive on purpose is not idle.
                        last_activity = now;
                    }
                }
            }
        }
    };
    let _ = wr.shutdown().await;
    inner.flow_closed(flow, peer, rx, reason).await;
}

/// The keep-alive interval once it changes; `None` when it never will again (its sender is
/// gone). Pends forever without a receiver.
async fn next_keepalive(rx: &mut Option<watch::Receiver<Option<Duration>>>) -> Option<Option<Duration>> {
    match rx {
        Some(rx) => rx.changed().await.ok().map(|()| *rx.borrow_and_update()),
        None => std::future::pending().await,
    }
}
