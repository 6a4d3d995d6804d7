//! `--pcap FILE`: the SIP and RTP of a run in a capture file that Wireshark and tshark
//! open. The format is the classic libpcap one with link type RAW (101): each record is an
//! IPv4 or IPv6 header, then a UDP or TCP header, then the datagram or segment as it went on
//! the wire. SIP over TLS or WebSocket is recorded as the plain SIP the stack saw, in TCP
//! segments (the capture shows what was said, not the encryption); a SIP stream over TCP
//! gets sequence numbers per direction so the analyser can follow it.

use client_core::{MediaTap, TapDirection, Transport, WireDirection, WireTap};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// LINKTYPE_RAW: records begin with an IP header, v4 or v6 by its version nibble.
const LINKTYPE_RAW: u32 = 101;
const SNAPLEN: u32 = 65535;

struct Writer {
    out: BufWriter<File>,
    /// The next sequence number of each TCP direction (source, destination).
    tcp_seq: HashMap<(SocketAddr, SocketAddr), u32>,
    failed: bool,
}

/// A capture file being written. Cloning shares it.
#[derive(Clone)]
pub struct Capture {
    writer: Arc<Mutex<Writer>>,
    /// Our SIP address, learned once the client listens (the tap only names the peer).
    local_sip: Arc<OnceLock<SocketAddr>>,
    path: Arc<Path>,
}

impl Capture {
    /// Creates `path` and writes the file header.
    pub fn create(path: &Path) -> std::io::Result<Capture> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone: UTC
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&SNAPLEN.to_le_bytes())?;
        out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
        let writer = Writer { out, tcp_seq: HashMap::new(), failed: false };
        Ok(Capture { writer: Arc::new(Mutex::new(writer)), local_sip: Arc::new(OnceLock::new()), path: path.into() })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tells the capture our SIP address.
    pub fn set_local_sip(&self, addr: SocketAddr) {
        let _ = self.local_sip.set(addr);
    }

    /// The tap for the client's SIP messages.
    pub fn sip_tap(&self) -> WireTap {
        let me = self.clone();
        WireTap::new(move |dir, peer, bytes| {
            let Some(local) = me.local_sip.get().copied() else { return };
            let (src, dst) = match dir {
                WireDirection::Sent => (local, peer.addr),
                WireDirection::Received => (peer.addr, local),
            };
            let proto = if peer.transport == Transport::Udp { Proto::Udp } else { Proto::Tcp };
            me.record(proto, src, dst, bytes);
        })
    }

    /// The tap for the calls' RTP.
    pub fn media_tap(&self) -> MediaTap {
        let me = self.clone();
        MediaTap::new(move |dir, local, remote, bytes| {
            let (src, dst) = match dir {
                TapDirection::Sent => (local, remote),
                TapDirection::Received => (remote, local),
            };
            me.record(Proto::Udp, src, dst, bytes);
        })
    }

    /// Writes what is buffered; an error says the capture is incomplete.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if w.failed {
            return Err(std::io::Error::other("a packet could not be written"));
        }
        w.out.flush()
    }

    fn record(&self, proto: Proto, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let seq = match proto {
            Proto::Udp => 0,
            Proto::Tcp => {
                let next = w.tcp_seq.entry((src, dst)).or_insert(1);
                let seq = *next;
                *next = next.wrapping_add(payload.len() as u32);
                seq
            }
        };
        let Some(packet) = packet(proto, src, dst, seq, payload) else { return };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let len = packet.len() as u32;
        let mut record = Vec::with_capacity(16 + packet.len());
        record.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
        record.extend_from_slice(&now.subsec_micros().to_le_bytes());
        record.extend_from_slice(&len.min(SNAPLEN).to_le_bytes());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&packet[..packet.len().min(SNAPLEN as usize)]);
        if w.out.write_all(&record).is_err() {
            w.failed = true;
        }
    }
}

#[derive(Clone, Copy)]
enum Proto {
    Udp,
    Tcp,
}

/// The one's-complement sum of `data` as 16-bit words (RFC 1071), folded into `acc`.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An IP packet carrying `payload` from `src` to `dst` over UDP or TCP, with correct
/// checksums; `None` when the addresses are of different families or it is too long.
fn packet(proto: Proto, src: SocketAddr, dst: SocketAddr, seq: u32, payload: &[u8]) -> Option<Vec<u8>> {
    let mut l4 = Vec::with_capacity(20 + payload.len());
    l4.extend_from_slice(&src.port().to_be_bytes());
    l4.extend_from_slice(&dst.port().to_be_bytes());
    let number = match proto {
        Proto::Udp => {
            let len = u16::try_from(8 + payload.len()).ok()?;
            l4.extend_from_slice(&len.to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
            17u8
        }
        Proto::Tcp => {
            l4.extend_from_slice(&seq.to_be_bytes());
            l4.extend_from_slice(&1u32.to_be_bytes()); // ack
            l4.push(5 << 4); // data offset: 20 bytes
            l4.push(0x18); // PSH, ACK
            l4.extend_from_slice(&65535u16.to_be_bytes()); // window
            l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            6u8
        }
    };
    l4.extend_from_slice(payload);
    let l4_len = u16::try_from(l4.len()).ok()?;
    // The pseudo-header sum (RFC 768, RFC 793, RFC 8200 §8.1).
    let pseudo = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum16(sum16(0, &s.octets()), &d.octets()) + u32::from(number) + u32::from(l4_len)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            sum16(sum16(0, &s.octets()), &d.octets()) + u32::from(number) + u32::from(l4_len)
        }
        _ => return None,
    };
    let mut check = fold(sum16(pseudo, &l4));
    if check == 0 && matches!(proto, Proto::Udp) {
        check = 0xffff; // RFC 768: zero means "no checksum"
    }
    let at = match proto {
        Proto::Udp => 6,
        Proto::Tcp => 16,
    };
    l4[at..at + 2].copy_from_slice(&check.to_be_bytes());
    let mut ip = Vec::with_capacity(40 + l4.len());
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + l4.len()).ok()?;
            ip.extend_from_slice(&[0x45, 0]);
            ip.extend_from_slice(&total.to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0]); // id, don't fragment
            ip.extend_from_slice(&[64, number, 0, 0]); // TTL, protocol, checksum
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let check = fold(sum16(0, &ip));
            ip[10..12].copy_from_slice(&check.to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            ip.extend_from_slice(&[0x60, 0, 0, 0]);
            ip.extend_from_slice(&l4_len.to_be_bytes());
            ip.extend_from_slice(&[number, 64]);
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
        }
        _ => return None,
    }
    ip.extend_from_slice(&l4);
    Some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_udp_checksums_verify() {
        let src: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
        let dst: SocketAddr = "127.0.0.2:5070".parse().expect("addr");
        let p = packet(Proto::Udp, src, dst, 0, b"OPTIONS").expect("a packet");
        assert_eq!(p.len(), 20 + 8 + 7);
        assert_eq!(fold(sum16(0, &p[..20])), 0, "the IPv4 header sums to zero with its checksum");
        let mut pseudo = sum16(sum16(0, &[127, 0, 0, 1]), &[127, 0, 0, 2]) + 17 + 15;
        pseudo = sum16(pseudo, &p[20..]);
        assert_eq!(fold(pseudo), 0, "the UDP checksum verifies");
    }
}
