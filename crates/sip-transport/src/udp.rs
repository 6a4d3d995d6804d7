//! UDP: one socket per address family, a receive loop, and non-blocking sends.

use crate::error::{TransportError, TransportErrorKind};
use crate::event::TransportEvent;
use crate::inner::Inner;
use bytes::Bytes;
use sip_message::{parse_message_with, Peer, Transport};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Receives datagrams until the socket fails or the transport shuts down.
pub(crate) async fn recv_loop(inner: Arc<Inner>, socket: Arc<UdpSocket>) {
    // One buffer, reused: a datagram is at most 65,535 bytes, and each message copies out only
    // its own bytes.
    let mut buf = vec![0u8; 65_536];
    // Datagrams read since the socket was last found empty: how far behind the kernel's
    // queue the receiver is (`TransportLayer::udp_backlog`).
    let mut run: usize = 0;
    loop {
        let (n, from) = match socket.try_recv_from(&mut buf) {
            Ok(r) => {
                run += 1;
                inner.udp_backlog.store(run, Ordering::Relaxed);
                r
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                run = 0;
                inner.udp_backlog.store(0, Ordering::Relaxed);
                match socket.ready(Interest::READABLE | Interest::ERROR).await {
                    Ok(ready) if ready.is_error() => icmp_errors(&inner, &socket),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "UDP socket failed");
                        return;
                    }
                }
                continue;
            }
            Err(e) => {
                // ICMP errors surface here on some systems; they do not end the socket.
                tracing::debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        if run.is_multiple_of(64) {
            // Let the rest of the runtime run during a long burst, as tokio's budget would.
            tokio::task::yield_now().await;
        }
        let data = &buf[..n];
        // A bare CRLF datagram is a keep-alive of older clients, not a SIP message.
        if data.iter().all(|&b| b == b'\r' || b == b'\n') {
            continue;
        }
        let source = Peer::new(Transport::Udp, from);
        // RFC 5626 keep-alives over UDP are STUN: the answers to ours go up; requests and
        // indications of others are not for us.
        if crate::stun::is_stun(data) {
            if crate::stun::is_response(data) {
                let bytes = Bytes::copy_from_slice(data);
                if inner.events.send(TransportEvent::Stun { bytes, source }).await.is_err() {
                    return;
                }
            } else {
                tracing::trace!(%source, "dropping a STUN request or indication");
                inner.noise().add(from.ip());
            }
            continue;
        }
        match parse_message_with(Bytes::copy_from_slice(data), &inner.config.limits) {
            Ok(message) => {
                if inner.events.send(TransportEvent::Message { message, source }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                inner.drop_unparsable(from.ip());
                tracing::debug!(%source, error = %e, "dropping an unparsable datagram");
            }
        }
    }
}

/// Fails the last send to each destination an ICMP error came back for (`icmp.rs`).
fn icmp_errors(inner: &Arc<Inner>, socket: &UdpSocket) {
    for (to, error) in crate::icmp::read(socket) {
        let token = inner.udp_recent.lock().unwrap_or_else(|e| e.into_inner()).take(to);
        tracing::debug!(%to, %error, ?token, "ICMP error for a datagram we sent");
        if let Some(token) = token {
            let peer = Peer::new(Transport::Udp, to);
            inner.send_failed(token, peer, TransportError::io(&format!("UDP to {to} (ICMP)"), &error));
        }
    }
}

/// Sends one datagram without blocking the caller.
pub(crate) fn send(inner: &Arc<Inner>, to: Peer, bytes: Bytes, token: u64) {
    let socket = if to.addr.is_ipv4() { inner.udp_v4.clone() } else { inner.udp_v6.clone() };
    let Some(socket) = socket else {
        let family = if to.addr.is_ipv4() { "IPv4" } else { "IPv6" };
        inner.send_failed(
            token,
            to,
            TransportError::new(TransportErrorKind::Config, format!("no {family} UDP listener")),
        );
        return;
    };
    if token != 0 {
        inner.udp_recent.lock().unwrap_or_else(|e| e.into_inner()).remember(to.addr, token);
    }
    match socket.try_send_to(&bytes, to.addr) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            let inner = inner.clone();
            tokio::spawn(async move {
                if let Err(e) = socket.send_to(&bytes, to.addr).await {
                    inner.send_failed(token, to, TransportError::io("UDP send", &e));
                }
            });
        }
        Err(e) => inner.send_failed(token, to, TransportError::io("UDP send", &e)),
    }
}
