//! RTCP (RFC 3550 §6), sans-IO: the SR, RR, SDES and BYE packets, compound packets read and
//! written, and the §6.3/A.7 transmission interval.
//!
//! Owns the wire format and the validity checks of RFC 3550 Appendix A.2 (version 2, lengths
//! that add up to the datagram, padding only on the last packet), relaxed where peers
//! differ: a compound may start with any RTCP type, not only a report. It must not keep statistics or decide when to send: the stream
//! (`stream.rs`) fills the report blocks from [`crate::stats`] and asks [`randomized_interval`] for
//! the next deadline. Parsing never panics and allocates at most what the datagram holds.

use std::fmt;
use std::time::Duration;

/// Sender report.
pub const PT_SR: u8 = 200;
/// Receiver report.
pub const PT_RR: u8 = 201;
/// Source description.
pub const PT_SDES: u8 = 202;
/// Goodbye.
pub const PT_BYE: u8 = 203;
/// Application-defined.
pub const PT_APP: u8 = 204;
/// SDES item type of the canonical name (§6.5.1).
const SDES_CNAME: u8 = 1;
/// The most report blocks one SR or RR holds (5-bit count).
const MAX_REPORTS: usize = 31;

/// Why a datagram is not a valid compound RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpError {
    /// A header or body shorter than its length field says.
    Truncated,
    /// The version is not 2.
    BadVersion(u8),
    /// The first packet is not an RTCP packet type (200–207), or padding sits before the
    /// last one.
    NotCompound,
    /// A report count or item that does not fit its packet.
    Malformed,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpError::Truncated => f.write_str("RTCP packet truncated"),
            RtcpError::BadVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            RtcpError::NotCompound => f.write_str("not a valid compound RTCP packet"),
            RtcpError::Malformed => f.write_str("RTCP packet contents do not fit its length"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// A reception report block (§6.4.1) about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: u32,
    /// Loss since the last report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost in all (24-bit signed: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// The extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// The middle 32 bits of the NTP timestamp of the last SR from that source (0: none).
    pub lsr: u32,
    /// The delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// The sender information of an SR (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// The wallclock time of the report, NTP format (seconds since 1900, 32.32 fixed point).
    pub ntp: u64,
    /// The same instant in RTP timestamp units.
    pub rtp_timestamp: u32,
    /// Packets sent so far.
    pub packets: u32,
    /// Payload octets sent so far.
    pub octets: u32,
}

/// One packet of a compound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// A sender report.
    SenderReport {
        /// The sender.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// A receiver report.
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Source descriptions: each source with its CNAME, when it gives one.
    SourceDescription(Vec<(u32, Option<String>)>),
    /// Sources leaving.
    Goodbye(Vec<u32>),
    /// Another type (APP, feedback, extended reports), skipped.
    Other(u8),
}

/// Reads a compound RTCP packet, checking it as RFC 3550 A.2 does.
pub fn parse_compound(data: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut packets = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let head = data.get(offset..offset + 4).ok_or(RtcpError::Truncated)?;
        let version = head[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let padded = head[0] & 0x20 != 0;
        let count = usize::from(head[0] & 0x1F);
        let pt = head[1];
        let len = 4 * (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1);
        let body = data.get(offset + 4..offset + len).ok_or(RtcpError::Truncated)?;
        // RFC 3550 A.2 wants a report first; real peers also send a BYE or APP alone
        // (libre's keep-alive is a bare APP), so any RTCP type may lead. A first octet pair
        // outside 200-207 is not RTCP at all.
        if packets.is_empty() && !(PT_SR..=207).contains(&pt) {
            return Err(RtcpError::NotCompound);
        }
        offset += len;
        let body = if padded {
            // Only the last packet of a compound may be padded (A.2).
            if offset != data.len() {
                return Err(RtcpError::NotCompound);
            }
            let pad = usize::from(*body.last().ok_or(RtcpError::Malformed)?);
            if pad == 0 || pad > body.len() {
                return Err(RtcpError::Malformed);
            }
            &body[..body.len() - pad]
        } else {
            body
        };
        packets.push(parse_one(pt, count, body)?);
    }
    if packets.is_empty() {
        return Err(RtcpError::Truncated);
    }
    Ok(packets)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, RtcpError> {
    let s = b.get(at..at + 4).ok_or(RtcpError::Malformed)?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn reports(body: &[u8], at: usize, count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    if body.len() < at + 24 * count {
        return Err(RtcpError::Malformed);
    }
    (0..count)
        .map(|i| {
            let b = at + 24 * i;
            let lost = u32_at(body, b + 4)?;
            // 24-bit two's complement.
            let cumulative = ((lost & 0x00FF_FFFF) << 8) as i32 >> 8;
            Ok(ReportBlock {
                ssrc: u32_at(body, b)?,
                fraction_lost: (lost >> 24) as u8,
                cumulative_lost: cumulative,
                highest_seq: u32_at(body, b + 8)?,
                jitter: u32_at(body, b + 12)?,
                lsr: u32_at(body, b + 16)?,
                dlsr: u32_at(body, b + 20)?,
            })
        })
        .collect()
}

fn parse_one(pt: u8, count: usize, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    Ok(match pt {
        PT_SR => {
            let ssrc = u32_at(body, 0)?;
            let ntp = (u64::from(u32_at(body, 4)?) << 32) | u64::from(u32_at(body, 8)?);
            let info = SenderInfo {
                ntp,
                rtp_timestamp: u32_at(body, 12)?,
                packets: u32_at(body, 16)?,
                octets: u32_at(body, 20)?,
            };
            RtcpPacket::SenderReport { ssrc, info, reports: reports(body, 24, count)? }
        }
        PT_RR => RtcpPacket::ReceiverReport { ssrc: u32_at(body, 0)?, reports: reports(body, 4, count)? },
        PT_SDES => {
            let mut chunks = Vec::with_capacity(count.min(body.len() / 4));
            let mut at = 0;
            for _ in 0..count {
                let ssrc = u32_at(body, at)?;
                at += 4;
                let mut cname = None;
                // Items until a zero type, then padding to the next word (§6.5).
                loop {
                    let kind = *body.get(at).ok_or(RtcpError::Malformed)?;
                    if kind == 0 {
                        at = (at + 4) & !3;
                        break;
                    }
                    let len = usize::from(*body.get(at + 1).ok_or(RtcpError::Malformed)?);
                    let text = body.get(at + 2..at + 2 + len).ok_or(RtcpError::Malformed)?;
                    if kind == SDES_CNAME {
                        cname = Some(String::from_utf8_lossy(text).into_owned());
                    }
                    at += 2 + len;
                }
                chunks.push((ssrc, cname));
            }
            RtcpPacket::SourceDescription(chunks)
        }
        PT_BYE => {
            if body.len() < 4 * count {
                return Err(RtcpError::Malformed);
            }
            RtcpPacket::Goodbye((0..count).map(|i| u32_at(body, 4 * i)).collect::<Result<_, _>>()?)
        }
        other => RtcpPacket::Other(other),
    })
}

fn header(out: &mut Vec<u8>, count: usize, pt: u8, body_words: usize) {
    out.push(0x80 | count as u8);
    out.push(pt);
    out.extend_from_slice(&(body_words as u16).to_be_bytes());
}

fn put_reports(out: &mut Vec<u8>, reports: &[ReportBlock]) {
    for r in reports {
        out.extend_from_slice(&r.ssrc.to_be_bytes());
        let lost = (r.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
        out.extend_from_slice(&((u32::from(r.fraction_lost) << 24) | lost).to_be_bytes());
        for v in [r.highest_seq, r.jitter, r.lsr, r.dlsr] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Appends a compound report to `out`: an SR when `sender` is given (we sent since the last
/// report), else an RR, with at most 31 report blocks; then an SDES with our CNAME; then a
/// BYE when `bye` is set (§6.1: every compound starts with a report and carries a CNAME).
pub fn write_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    sender: Option<&SenderInfo>,
    reports: &[ReportBlock],
    cname: &str,
    bye: bool,
) {
    let reports = &reports[..reports.len().min(MAX_REPORTS)];
    match sender {
        Some(info) => {
            header(out, reports.len(), PT_SR, 6 + 6 * reports.len());
            out.extend_from_slice(&ssrc.to_be_bytes());
            out.extend_from_slice(&info.ntp.to_be_bytes());
            for v in [info.rtp_timestamp, info.packets, info.octets] {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        None => {
            header(out, reports.len(), PT_RR, 1 + 6 * reports.len());
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
    }
    put_reports(out, reports);
    let cname = &cname.as_bytes()[..cname.len().min(255)];
    // SSRC, type, length, text, then at least one zero octet, to a word boundary.
    let chunk = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
    header(out, 1, PT_SDES, chunk / 4);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    out.resize(out.len() + chunk - 4 - 2 - cname.len(), 0);
    if bye {
        header(out, 1, PT_BYE, 1);
        out.extend_from_slice(&ssrc.to_be_bytes());
    }
}

/// Is this datagram RTCP rather than RTP? (RFC 5761 §4: on a multiplexed port the second
/// octet of RTCP holds a packet type 192–223, which no RTP payload type in use shares.)
pub fn looks_like_rtcp(data: &[u8]) -> bool {
    data.len() >= 8 && data[0] >> 6 == 2 && (192..=223).contains(&data[1])
}

/// The deterministic part of the RTCP interval of RFC 3550 A.7, for a session of
/// `members` of which `senders` send, with `session_bps` of session bandwidth (RTCP gets 5 %
/// of it), our average compound size `avg_rtcp_size` in octets, whether `we_sent` lately,
/// and whether this is the `initial` report (half the minimum).
pub fn deterministic_interval(
    members: u32,
    senders: u32,
    session_bps: f64,
    avg_rtcp_size: f64,
    we_sent: bool,
    initial: bool,
) -> Duration {
    let min = if initial { 2.5 } else { 5.0 };
    let rtcp_bw = session_bps / 8.0 * 0.05;
    let members = f64::from(members.max(1));
    let senders = f64::from(senders);
    // A quarter of the RTCP bandwidth is the senders' when they are a quarter or fewer.
    let (n, bw) = if senders <= members * 0.25 {
        if we_sent {
            (senders.max(1.0), rtcp_bw * 0.25)
        } else {
            (members - senders, rtcp_bw * 0.75)
        }
    } else {
        (members, rtcp_bw)
    };
    let t = if bw > 0.0 { avg_rtcp_size * n / bw } else { min };
    Duration::from_secs_f64(t.max(min))
}

/// The interval to wait: the deterministic one times a factor in [0.5, 1.5) from `random`,
/// divided by e − 3/2 to compensate for timer reconsideration (A.7).
pub fn randomized_interval(deterministic: Duration, random: u32) -> Duration {
    let factor = 0.5 + f64::from(random) / (f64::from(u32::MAX) + 1.0);
    Duration::from_secs_f64(deterministic.as_secs_f64() * factor / 1.218_281_828_459_045)
}

/// The middle 32 bits of an NTP timestamp (what LSR carries and RTT is computed in).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// The round-trip time from a report block about us, received at NTP time `arrival`
/// (RFC 3550 §6.4.1: A − LSR − DLSR); `None` when the report names no SR of ours.
pub fn round_trip(block: &ReportBlock, arrival: u64) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let a = ntp_middle(arrival);
    let rtt = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    // A negative result (clock steps, a lying peer) wraps to a huge value: discard it.
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(Duration::from_micros(u64::from(rtt) * 1_000_000 / 65_536))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 70_000,
            jitter: 40,
            lsr: 0x1234_5678,
            dlsr: 65_536,
        }
    }

    #[test]
    fn sender_and_receiver_reports_round_trip() {
        let info = SenderInfo { ntp: 0xE000_0000_8000_0000, rtp_timestamp: 160, packets: 10, octets: 1600 };
        let mut out = Vec::new();
        write_report(&mut out, 0xAABB_CCDD, Some(&info), &[block(7)], "sipline@host", true);
        assert_eq!(out.len() % 4, 0);
        let parsed = parse_compound(&out).unwrap();
        assert_eq!(
            parsed,
            [
                RtcpPacket::SenderReport { ssrc: 0xAABB_CCDD, info, reports: vec![block(7)] },
                RtcpPacket::SourceDescription(vec![(0xAABB_CCDD, Some("sipline@host".into()))]),
                RtcpPacket::Goodbye(vec![0xAABB_CCDD]),
            ]
        );
        let mut rr = Vec::new();
        write_report(&mut rr, 5, None, &[], "x", false);
        assert!(looks_like_rtcp(&rr));
        assert_eq!(parse_compound(&rr).unwrap()[0], RtcpPacket::ReceiverReport { ssrc: 5, reports: vec![] });
    }

    #[test]
    fn every_cname_length_pads_to_a_word() {
        for len in 0..12 {
            let mut out = Vec::new();
            let cname = "c".repeat(len);
            write_report(&mut out, 1, None, &[], &cname, false);
            assert_eq!(out.len() % 4, 0, "{len}");
            assert_eq!(parse_compound(&out).unwrap()[1], RtcpPacket::SourceDescription(vec![(1, Some(cname))]));
        }
    }

    #[test]
    fn lying_lengths_and_foreign_first_packets_are_refused() {
        let mut good = Vec::new();
        write_report(&mut good, 1, None, &[block(2)], "c", false);
        // The RR alone (32 bytes) is a valid compound; every other cut is not.
        for cut in (0..good.len()).filter(|c| *c != 32) {
            assert!(parse_compound(&good[..cut]).is_err(), "{cut}");
        }
        let mut lying = good[..32].to_vec();
        lying[3] += 1; // length one word longer than there is
        assert_eq!(parse_compound(&lying), Err(RtcpError::Truncated));
        let mut count = good.clone();
        count[0] = 0x80 | 5; // five report blocks in a body with one
        assert_eq!(parse_compound(&count), Err(RtcpError::Malformed));
        // An SDES first is accepted (peers send BYE or APP alone); a non-RTCP type is not.
        let mut sdes_first = good[32..].to_vec();
        sdes_first.extend_from_slice(&good[..32]);
        assert_eq!(parse_compound(&sdes_first).map(|p| p.len()), Ok(2));
        let mut rtp_first = good.clone();
        rtp_first[1] = 96;
        assert_eq!(parse_compound(&rtp_first), Err(RtcpError::NotCompound));
        let mut v1 = good.clone();
        v1[0] = 0x40;
        assert_eq!(parse_compound(&v1), Err(RtcpError::BadVersion(1)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8).collect();
            if bytes.len() > 1 {
                bytes[0] = 0x80 | (bytes[0] & 0x3F);
                bytes[1] = 200 + bytes[1] % 5;
            }
            let _ = parse_compound(&bytes);
        }
    }

    #[test]
    fn round_trip_time_is_arrival_minus_lsr_minus_dlsr() {
        // SR sent at NTP middle 0x0001_0000 (1 s), held 0.5 s, report back at 1.75 s.
        let b = ReportBlock { lsr: 0x0001_0000, dlsr: 0x8000, ..ReportBlock::default() };
        let arrival = 0x0001_C000u64 << 16;
        assert_eq!(round_trip(&b, arrival), Some(Duration::from_millis(250)));
        assert_eq!(round_trip(&ReportBlock::default(), arrival), None);
        let future = ReportBlock { lsr: 0x0002_0000, dlsr: 0, ..ReportBlock::default() };
        assert_eq!(round_trip(&future, arrival), None);
    }

    #[test]
    fn two_party_calls_report_every_five_seconds_on_average() {
        let t = deterministic_interval(2, 2, 64_000.0 + 64_000.0, 100.0, true, false);
        assert_eq!(t, Duration::from_secs(5));
        assert_eq!(deterministic_interval(2, 2, 128_000.0, 100.0, true, true), Duration::from_millis(2500));
        // A huge conference on a thin pipe waits longer than the minimum.
        assert!(deterministic_interval(10_000, 1, 64_000.0, 100.0, false, false) > Duration::from_secs(5));
        let low = randomized_interval(Duration::from_secs(5), 0);
        let high = randomized_interval(Duration::from_secs(5), u32::MAX);
        assert!(low < Duration::from_millis(2100) && low > Duration::from_millis(2000), "{low:?}");
        assert!(high > Duration::from_millis(6100) && high < Duration::from_millis(6200), "{high:?}");
    }
}
