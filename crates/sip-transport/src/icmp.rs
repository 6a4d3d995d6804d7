//! ICMP errors for our UDP datagrams. Linux reports an ICMP error (port, host or network
//! unreachable) on an unconnected UDP socket only when IP_RECVERR / IPV6_RECVERR is set,
//! and then queues it on the socket's error queue with the destination of the datagram
//! that caused it. The receive loop reads that queue; the last send to that destination is
//! then failed, so a request to a closed port fails at once (RFC 3261 §8.1.3.1 treats a
//! transport error as a 503) instead of after 32 s of timer B or F.
//!
//! Elsewhere nothing is enabled and nothing is read: such requests time out as before.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// How many destinations' last send tokens are kept (the oldest are forgotten first).
const RECENT: usize = 4096;

/// The token of the last send to each recent destination: what an ICMP error fails.
#[derive(Default)]
pub(crate) struct RecentSends {
    tokens: HashMap<SocketAddr, u64>,
    order: VecDeque<SocketAddr>,
}

impl RecentSends {
    pub(crate) fn remember(&mut self, to: SocketAddr, token: u64) {
        if self.tokens.insert(to, token).is_none() {
            self.order.push_back(to);
            if self.order.len() > RECENT {
                if let Some(old) = self.order.pop_front() {
                    self.tokens.remove(&old);
                }
            }
        }
    }

    /// The token of the last send to `to`, forgotten: one ICMP error fails one send.
    pub(crate) fn take(&mut self, to: SocketAddr) -> Option<u64> {
        let token = self.tokens.remove(&to)?;
        self.order.retain(|a| *a != to);
        Some(token)
    }
}

/// Asks the kernel to queue ICMP errors on `socket`.
#[cfg(target_os = "linux")]
pub(crate) fn enable(socket: &UdpSocket, v6: bool) {
    use nix::sys::socket::{setsockopt, sockopt};
    let result = if v6 {
        setsockopt(socket, sockopt::Ipv6RecvErr, &true)
    } else {
        setsockopt(socket, sockopt::Ipv4RecvErr, &true)
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "ICMP errors will not be reported on this UDP socket");
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn enable(_socket: &UdpSocket, _v6: bool) {}

/// Reads every queued ICMP error: the destination of the datagram it concerns, and the error.
#[cfg(target_os = "linux")]
pub(crate) fn read(socket: &UdpSocket) -> Vec<(SocketAddr, std::io::Error)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;
    // The origins of errors that came as ICMP (linux/errqueue.h); local errors are not ours
    // to report here.
    const ORIGIN_ICMP: u8 = 2;
    const ORIGIN_ICMP6: u8 = 3;
    let mut found = Vec::new();
    // The queued copy of our datagram is not needed: a small buffer takes its start.
    let mut data = [0u8; 64];
    let mut cmsg = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in6);
    for _ in 0..64 {
        let read = socket.try_io(Interest::ERROR, || {
            let mut iov = [IoSliceMut::new(&mut data)];
            let msg = recvmsg::<SockaddrStorage>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
            )
            .map_err(std::io::Error::from)?;
            let to = msg.address.and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::V4((*v4).into()))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into())))
            });
            let mut errno = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv4RecvErr(e, _) | ControlMessageOwned::Ipv6RecvErr(e, _)
                            if e.ee_origin == ORIGIN_ICMP || e.ee_origin == ORIGIN_ICMP6 =>
                        {
                            errno = Some(e.ee_errno as i32);
                        }
                        _ => {}
                    }
                }
            }
            Ok((to, errno))
        });
        match read {
            Ok((Some(to), Some(errno))) => found.push((to, std::io::Error::from_raw_os_error(errno))),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                tracing::debug!(error = %e, "reading the UDP error queue");
                break;
            }
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn read(_socket: &UdpSocket) -> Vec<(SocketAddr, std::io::Error)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_sends_keep_the_last_token_per_destination_and_forget_the_oldest() {
        let mut r = RecentSends::default();
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        r.remember(a, 1);
        r.remember(a, 2);
        assert_eq!(r.take(a), Some(2));
        assert_eq!(r.take(a), None, "one error fails one send");
        for port in 0..(RECENT as u16 + 10) {
            r.remember(SocketAddr::from(([127, 0, 0, 2], port)), u64::from(port) + 1);
        }
        assert_eq!(r.take(SocketAddr::from(([127, 0, 0, 2], 0))), None, "the oldest was forgotten");
        assert!(r.tokens.len() <= RECENT && r.order.len() <= RECENT);
    }
}
