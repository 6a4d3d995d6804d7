//! Helpers shared by the self-tests: hand-written SIP over std sockets.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use sip_message::auth::{select, Challenge, Credentials, DigestClient, QopPreference};

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn loopback_udp(v6: bool) -> UdpSocket {
    let socket = if v6 { UdpSocket::bind("[::1]:0").unwrap() } else { UdpSocket::bind("127.0.0.1:0").unwrap() };
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    socket
}

pub fn options(target: SocketAddr, local: SocketAddr, transport: &str, call_id: &str) -> String {
    format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:selftest@{local}>;tag=t-{call_id}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

pub fn recv_text(socket: &UdpSocket) -> std::io::Result<String> {
    let mut buf = vec![0u8; 65535];
    let n = socket.recv(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

pub fn status_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// PIDs of the live (not zombie) processes in process group `pgid`.
/// The state letter of process `pid` (`R`, `S`, `Z`, ...), `None` when it is gone.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// PIDs of the live (not zombie) processes in process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // state ppid pgrp ...
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            pids.push(pid);
        }
    }
    pids
}

/// A client connection to a peer over UDP, TCP or WebSocket, carrying whole SIP messages.
pub enum Channel {
    Udp(UdpSocket, SocketAddr),
    Tcp(TcpStream, Vec<u8>),
    Ws(TcpStream),
}

impl Channel {
    pub fn udp(target: SocketAddr) -> Channel {
        let socket = loopback_udp(target.is_ipv6());
        Channel::Udp(socket, target)
    }

    pub fn tcp(target: SocketAddr) -> Channel {
        let stream = TcpStream::connect_timeout(&target, Duration::from_secs(2)).unwrap();
        Channel::Tcp(stream, Vec::new())
    }

    /// Connects and completes the RFC 6455 handshake with the `sip` subprotocol.
    pub fn ws(target: SocketAddr) -> Channel {
        let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: sip\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
            assert!(head.len() < 4096);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // The accept value RFC 6455 §1.3 gives for this key.
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        Channel::Ws(stream)
    }

    pub fn local(&self) -> SocketAddr {
        match self {
            Channel::Udp(s, _) => s.local_addr().unwrap(),
            Channel::Tcp(s, _) | Channel::Ws(s) => s.local_addr().unwrap(),
        }
    }

    /// The Via transport token.
    pub fn transport(&self) -> &'static str {
        match self {
            Channel::Udp(..) => "UDP",
            Channel::Tcp(..) => "TCP",
            Channel::Ws(_) => "WS",
        }
    }

    /// The host:port this client puts in Via and Contact: its socket address, or an
    /// `.invalid` name as a browser's WebSocket client does.
    pub fn sent_by(&self) -> String {
        match self {
            Channel::Ws(_) => "df7jal23ls0d.invalid".to_string(),
            _ => self.local().to_string(),
        }
    }

    pub fn send(&mut self, message: &str) {
        match self {
            Channel::Udp(s, target) => {
                s.send_to(message.as_bytes(), *target).unwrap();
            }
            Channel::Tcp(s, _) => s.write_all(message.as_bytes()).unwrap(),
            Channel::Ws(s) => {
                let payload = message.as_bytes();
                let mask = [0x37u8, 0xfa, 0x21, 0x3d];
                let mut frame = vec![0x81u8];
                assert!(payload.len() < 65536);
                if payload.len() < 126 {
                    frame.push(0x80 | payload.len() as u8);
                } else {
                    frame.push(0x80 | 126);
                    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                }
                frame.extend_from_slice(&mask);
                frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
                s.write_all(&frame).unwrap();
            }
        }
    }

    /// The next SIP message, or `None` when none comes within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<String> {
        match self {
            Channel::Udp(s, _) => {
                s.set_read_timeout(Some(timeout)).unwrap();
                recv_text(s).ok()
            }
            Channel::Tcp(s, buf) => {
                let deadline = Instant::now() + timeout;
                loop {
                    while buf.starts_with(b"\r\n") {
                        buf.drain(..2);
                    }
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
                        let length: usize = header(&head, "Content-Length")
                            .or_else(|| header(&head, "l"))
                            .map(|v| v.parse().unwrap())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            let message: Vec<u8> = buf.drain(..end + 4 + length).collect();
                            return Some(String::from_utf8_lossy(&message).into_owned());
                        }
                    }
                    let left = deadline.checked_duration_since(Instant::now())?;
                    s.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
                    let mut chunk = [0u8; 4096];
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            }
            Channel::Ws(s) => {
                s.set_read_timeout(Some(timeout)).unwrap();
                loop {
                    let mut h = [0u8; 2];
                    s.read_exact(&mut h).ok()?;
                    let len = match h[1] & 0x7f {
                        126 => {
                            let mut l = [0u8; 2];
                            s.read_exact(&mut l).ok()?;
                            u16::from_be_bytes(l) as usize
                        }
                        127 => panic!("a SIP message larger than 64 KiB"),
                        n => n as usize,
                    };
                    assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
                    let mut payload = vec![0u8; len];
                    s.read_exact(&mut payload).ok()?;
                    match h[0] & 0x0f {
                        0x1 | 0x2 => return Some(String::from_utf8_lossy(&payload).into_owned()),
                        // Pings and pongs: not SIP.
                        0x9 | 0xa => continue,
                        op => panic!("unexpected WebSocket opcode {op:#x}"),
                    }
                }
            }
        }
    }

    /// Sends `request` and returns the first response to it (provisional ones skipped).
    pub fn transact(&mut self, request: &str) -> String {
        self.send(request);
        loop {
            let message = self.recv(Duration::from_secs(3)).unwrap_or_else(|| panic!("no response to:\n{request}"));
            if !message.starts_with("SIP/2.0 1") {
                return message;
            }
        }
    }
}

/// A REGISTER from `user` over `channel` to `registrar` (a SIP URI host:port), with
/// `contact` as its Contact; answers the 401 with the digest of `password`. Returns the
/// final response.
pub fn register(channel: &mut Channel, registrar: &str, user: &str, password: &str, contact: &str) -> String {
    let call_id = unique();
    let uri = format!("sip:{registrar}");
    let make = |channel: &Channel, cseq: u32, authorization: Option<&str>| {
        let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/{} {};rport;branch=z9hG4bK-{call_id}-{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=f-{call_id}\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <{contact}>\r\n\
             Expires: 60\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            channel.transport(),
            channel.sent_by()
        )
    };
    let first = make(channel, 1, None);
    let challenge = channel.transact(&first);
    assert!(status_line(&challenge).starts_with("SIP/2.0 401"), "{challenge}");
    let parsed = Challenge::parse(header(&challenge, "WWW-Authenticate").unwrap()).unwrap();
    let chosen = select(std::slice::from_ref(&parsed), QopPreference::Auth).unwrap();
    let authorization = DigestClient::new()
        .respond(chosen, &Credentials::new(user, password), "REGISTER", &uri, b"")
        .unwrap()
        .to_string();
    let second = make(channel, 2, Some(&authorization));
    channel.transact(&second)
}

/// Every value of header `name`, in order.
pub fn headers<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    message
        .lines()
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

/// A 200 OK to `request` (RFC 3261 §8.2.6: Vias, From, Call-ID and CSeq copied, To tagged).
pub fn ok_response(request: &str) -> String {
    let mut response = String::from("SIP/2.0 200 OK\r\n");
    for via in headers(request, "Via").into_iter().chain(headers(request, "v")) {
        response.push_str(&format!("Via: {via}\r\n"));
    }
    for rr in headers(request, "Record-Route") {
        response.push_str(&format!("Record-Route: {rr}\r\n"));
    }
    let to = header(request, "To").or_else(|| header(request, "t")).unwrap();
    let tag = if to.contains(";tag=") { String::new() } else { ";tag=selftest".to_string() };
    response.push_str(&format!(
        "From: {}\r\nTo: {to}{tag}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        header(request, "From").or_else(|| header(request, "f")).unwrap(),
        header(request, "Call-ID").or_else(|| header(request, "i")).unwrap(),
        header(request, "CSeq").unwrap(),
    ));
    response
}
