//! Free loopback ports for the peers, and whether a port is bound yet.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::PeerError;

/// Ports are drawn from here: below the kernel's ephemeral range (32768 and up), so a port
/// handed to a peer is not taken meanwhile by some connection's source port, and away from
/// the ports sipp walks up from by itself (5060, 6000 for media, 8888 for control).
const RANGE: std::ops::Range<u16> = 20000..32000;

/// Ports handed out by this process: never handed out twice, even once released.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Whether ::1 can be bound on this machine.
pub(crate) fn ipv6_loopback_available() -> bool {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Whether `port` can be bound for UDP and TCP on 127.0.0.1 (and on ::1 when `ipv6`).
fn bindable(port: u16, ipv6: bool) -> bool {
    let mut addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    if ipv6 {
        addrs.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
    // Hold every socket until all are bound, then release them together.
    let mut held_udp = Vec::new();
    let mut held_tcp = Vec::new();
    for ip in addrs {
        let addr = SocketAddr::new(ip, port);
        match (UdpSocket::bind(addr), TcpListener::bind(addr)) {
            (Ok(u), Ok(t)) => {
                held_udp.push(u);
                held_tcp.push(t);
            }
            _ => return false,
        }
    }
    true
}

/// `count` distinct ports, each free for UDP and TCP on the loopback addresses, never handed
/// out before by this process.
pub(crate) fn free_ports(count: usize, ipv6: bool) -> Result<Vec<u16>, PeerError> {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed = guard.get_or_insert_with(HashSet::new);
    let span = u64::from(RANGE.end - RANGE.start);
    let mut ports = Vec::with_capacity(count);
    let mut tries = 0;
    while ports.len() < count {
        tries += 1;
        if tries > 2000 {
            return Err(PeerError::Config(format!("no free loopback port found in {}..{}", RANGE.start, RANGE.end)));
        }
        let port = RANGE.start + (random_u64() % span) as u16;
        if handed.contains(&port) || ports.contains(&port) || !bindable(port, ipv6) {
            continue;
        }
        ports.push(port);
    }
    handed.extend(ports.iter().copied());
    Ok(ports)
}

/// Two consecutive ports `p` and `p + 1`, both free as [`free_ports`] finds them, never handed
/// out before (baresip binds UDP and TCP on its SIP port and TLS on the next one).
pub(crate) fn free_port_pair() -> Result<u16, PeerError> {
    free_port_run(2)
}

/// `len` consecutive ports from the returned `p`, each free for UDP and TCP on 127.0.0.1 and
/// never handed out before (sipp's RTP echo takes its media port and the one two above).
pub(crate) fn free_port_run(len: u16) -> Result<u16, PeerError> {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed = guard.get_or_insert_with(HashSet::new);
    let span = u64::from(RANGE.end - RANGE.start - len);
    for _ in 0..2000 {
        let port = RANGE.start + (random_u64() % span) as u16;
        if (port..port + len).any(|p| handed.contains(&p) || !bindable(p, false)) {
            continue;
        }
        handed.extend(port..port + len);
        return Ok(port);
    }
    Err(PeerError::Config(format!("no {len} free consecutive loopback ports found in {}..{}", RANGE.start, RANGE.end)))
}

/// Whether some socket is bound to local `port`: UDP sockets, or TCP sockets in the LISTEN
/// state, read from /proc/net (no traffic is sent to find out).
///
/// The kernel hands /proc/net out a page at a time and resumes each page by position, so a
/// socket closed elsewhere between two pages shifts the listing and a bound socket can be
/// skipped in one reading. A port not seen is therefore looked for again, up to three
/// readings in all, before it counts as unbound.
pub(crate) fn port_bound(port: u16, tcp: bool) -> bool {
    (0..3).any(|_| port_listed(port, tcp))
}

/// One reading of /proc/net for [`port_bound`].
fn port_listed(port: u16, tcp: bool) -> bool {
    let files: &[&str] = if tcp { &["/proc/net/tcp", "/proc/net/tcp6"] } else { &["/proc/net/udp", "/proc/net/udp6"] };
    let wanted = format!("{port:04X}");
    files.iter().any(|file| {
        let Ok(text) = std::fs::read_to_string(file) else {
            return false;
        };
        text.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1).unwrap_or("");
            let state = fields.nth(1).unwrap_or("");
            let local_port = local.rsplit(':').next().unwrap_or("");
            // 0A is TCP_LISTEN; an unconnected UDP socket shows 07 (TCP_CLOSE).
            local_port == wanted && (!tcp || state == "0A")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_free() {
        let ports = free_ports(5, false).unwrap();
        let set: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(set.len(), 5);
        for p in &ports {
            assert!(RANGE.contains(p));
            assert!(!port_bound(*p, false));
        }
        let more = free_ports(5, false).unwrap();
        assert!(more.iter().all(|p| !set.contains(p)));
    }

    #[test]
    fn port_pairs_are_consecutive_and_fresh() {
        let a = free_port_pair().unwrap();
        let b = free_port_pair().unwrap();
        assert!(RANGE.contains(&a) && RANGE.contains(&(a + 1)));
        assert!(b != a && b != a + 1 && b + 1 != a);
    }

    #[test]
    fn a_bound_port_is_seen() {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        assert!(port_bound(udp.local_addr().unwrap().port(), false));
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        assert!(port_bound(tcp.local_addr().unwrap().port(), true));
    }
}
