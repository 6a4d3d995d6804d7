//! The SDP model of RFC 4566 (RFC 8866): [`SessionDescription`] with its [`MediaDescription`]s,
//! parsed from text and serialized back with CRLF line ends.
//!
//! Owns the syntax of SDP and only that: which lines there are, what the `o=`, `c=`, `m=`
//! and `a=` lines hold, and the bounds that keep a hostile body from costing more than a
//! fixed amount of memory. It must not decide anything about a call (which codec, which
//! direction: that is [`crate::negotiate`]) and must not touch sockets.
//!
//! Parsing is liberal where that costs nothing: bare-LF line ends, a missing final line end,
//! empty lines and the fields in an unexpected order are accepted; `v=`, `o=` and `s=` are
//! required, because every description needs them (RFC 4566 §5) and offer/answer relies on
//! `o=` (RFC 3264 §8). Lines this model has no field for (`i=`, `u=`, `e=`, `p=`, `b=`,
//! `t=`, `r=`, `z=`, `k=`, and unknown letters) are kept as [`Line`]s in their order, so a
//! parse/serialize round trip is faithful for a description written in the order RFC 4566
//! §5 gives.

use crate::direction::Direction;
use std::fmt;
use std::net::IpAddr;

/// The largest SDP body accepted, in bytes.
pub const MAX_SDP_LEN: usize = 64 * 1024;
/// The most `m=` sections accepted in one description.
pub const MAX_MEDIA: usize = 64;
/// The most lines accepted in one description.
pub const MAX_LINES: usize = 2048;
/// The most formats accepted on one `m=` line.
pub const MAX_FORMATS: usize = 128;

/// Why an SDP body was refused, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError {
    line: usize,
    message: String,
}

impl SdpError {
    fn new(line: usize, message: impl Into<String>) -> SdpError {
        SdpError { line, message: message.into() }
    }

    /// The 1-based number of the offending line, or 0 when the error concerns the whole
    /// body (too large, a required line missing).
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "invalid SDP: {}", self.message)
        } else {
            write!(f, "invalid SDP, line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for SdpError {}

/// The `o=` line (RFC 4566 §5.2): who made the description and which version of it this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name, `-` when there is none.
    pub username: String,
    /// The session id: a numeric string, kept as text because some peers use more digits
    /// than a `u64` holds.
    pub session_id: String,
    /// The version, incremented for each modified description (RFC 3264 §8).
    pub session_version: u64,
    /// The network type, `IN`.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address of the originating host.
    pub address: String,
}

/// A `c=` line (RFC 4566 §5.7): where media goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The network type, `IN`.
    pub net_type: String,
    /// The address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address as written, possibly with a multicast `/ttl` or a host name.
    pub address: String,
}

impl Connection {
    /// `IN IP4 <ip>` or `IN IP6 <ip>`.
    pub fn new(ip: IpAddr) -> Connection {
        Connection {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
        }
    }

    /// The IP address, if the address is a literal (a multicast `/ttl` suffix is ignored);
    /// `None` for a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        let literal = self.address.split('/').next().unwrap_or_default();
        literal.parse().ok()
    }
}

/// An `a=` line (RFC 4566 §5.13): `a=name` (a property) or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// The value after the first `:`, if there is one.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: Some(value.into()) }
    }

    /// `a=name` (a property attribute such as `sendrecv`).
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: None }
    }
}

/// A line this model keeps without interpreting: its type letter and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The type letter (`t`, `b`, `i`, ...).
    pub kind: char,
    /// Everything after the `=`.
    pub value: String,
}

/// What an `a=rtpmap` attribute says about one payload type (RFC 4566 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name, as written.
    pub encoding: &'a str,
    /// The clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count (1 when not written).
    pub channels: u8,
}

/// One `m=` section (RFC 4566 §5.14) with the lines that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type: `audio`, `video`, `application`, ...
    pub media: String,
    /// The transport port; 0 means the stream is rejected or disabled (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The number of ports after a `/`, when written.
    pub port_count: Option<u16>,
    /// The transport protocol, e.g. `RTP/AVP`.
    pub proto: String,
    /// The media formats: RTP payload types for RTP protocols.
    pub formats: Vec<String>,
    /// The media-level `c=` line, which overrides the session-level one.
    pub connection: Option<Connection>,
    /// The media-level attributes, in order.
    pub attributes: Vec<Attribute>,
    /// The other media-level lines (`i=`, `b=`, `k=`, ...), in order.
    pub other: Vec<Line>,
}

impl MediaDescription {
    /// A section with no connection, attributes or other lines.
    pub fn new(media: impl Into<String>, port: u16, proto: impl Into<String>, formats: Vec<String>) -> Self {
        MediaDescription {
            media: media.into(),
            port,
            port_count: None,
            proto: proto.into(),
            formats,
            connection: None,
            attributes: Vec::new(),
            other: Vec::new(),
        }
    }

    /// The value of the first attribute with this name (`Some("")` for a property).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.attributes, name)
    }

    /// The direction this section states, if it states one.
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_attributes(&self.attributes)
    }

    /// The `a=rtpmap` for a payload type, if present and well formed.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap<'_>> {
        self.attributes
            .iter()
            .filter(|a| a.name == "rtpmap")
            .filter_map(|a| parse_rtpmap(a.value.as_deref()?))
            .find(|m| m.payload_type == payload_type)
    }

    /// The parameters of the `a=fmtp` for a payload type, if present.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes.iter().filter(|a| a.name == "fmtp").find_map(|a| {
            let (pt, params) = a.value.as_deref()?.split_once(' ')?;
            (pt.parse::<u8>().ok()? == payload_type).then_some(params.trim())
        })
    }

    /// Is the stream rejected or disabled (port 0, RFC 3264 §5.1)?
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }
}

/// A whole SDP description (RFC 4566 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` or a space when there is no name).
    pub session_name: String,
    /// The session-level `c=` line, which applies to every section without its own.
    pub connection: Option<Connection>,
    /// The session-level attributes, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections, in order.
    pub media: Vec<MediaDescription>,
    /// The other session-level lines (`t=`, `b=`, `i=`, ...), in order. When it holds no
    /// `t=` line, serializing writes `t=0 0`, which RFC 4566 §5 requires.
    pub other: Vec<Line>,
}

impl SessionDescription {
    /// Parses an SDP body. CRLF and bare LF line ends are both accepted.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        parse(text)
    }

    /// Parses an SDP body given as bytes, which must be UTF-8 (RFC 4566 §5 allows UTF-8 in
    /// `s=` and `i=`).
    pub fn parse_bytes(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        if bytes.len() > MAX_SDP_LEN {
            return Err(too_large(bytes.len()));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| SdpError::new(0, format!("not UTF-8: {e}")))?;
        parse(text)
    }

    /// The value of the first session-level attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.attributes, name)
    }

    /// The session-level direction: the attribute if present, else sendrecv (RFC 3264 §5.1).
    pub fn direction(&self) -> Direction {
        Direction::from_attributes(&self.attributes).unwrap_or_default()
    }

    /// The direction of a section: its own attribute, else the session-level one, else
    /// sendrecv (RFC 3264 §5.1, RFC 4566 §6).
    pub fn media_direction(&self, media: &MediaDescription) -> Direction {
        media.direction().unwrap_or_else(|| self.direction())
    }

    /// The connection that applies to a section: its own `c=`, else the session's
    /// (RFC 4566 §5.7).
    pub fn media_connection<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// The serialized body as bytes, ready for a SIP message (`Content-Type: application/sdp`).
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_string())
    }
}

fn find_attribute<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.name == name).map(|a| a.value.as_deref().unwrap_or(""))
}

/// `<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 4566 §6).
fn parse_rtpmap(value: &str) -> Option<RtpMap<'_>> {
    let (pt, rest) = value.trim().split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = parts.next()?.trim().parse().ok()?;
    let channels = match parts.next() {
        Some(c) => c.trim().parse().ok()?,
        None => 1,
    };
    Some(RtpMap { payload_type: pt.parse().ok()?, encoding, clock_rate, channels })
}

fn too_large(len: usize) -> SdpError {
    SdpError::new(0, format!("body of {len} bytes is over the {MAX_SDP_LEN}-byte limit"))
}

fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(too_large(text.len()));
    }
    let mut version_seen = false;
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut attributes = Vec::new();
    let mut other = Vec::new();
    let mut media: Vec<MediaDescription> = Vec::new();

    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        if number > MAX_LINES {
            return Err(SdpError::new(number, format!("more than {MAX_LINES} lines")));
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut chars = line.chars();
        let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
            return Err(SdpError::new(number, "expected <type>=<value>"));
        };
        if !kind.is_ascii_alphabetic() {
            return Err(SdpError::new(number, format!("type {kind:?} is not a letter")));
        }
        let value = &line[2..];
        let err = |message: &str| SdpError::new(number, format!("{kind}= line: {message}"));
        if !version_seen {
            if kind != 'v' {
                return Err(SdpError::new(number, "the first line must be v=0"));
            }
            if value.trim() != "0" {
                return Err(err("only version 0 exists"));
            }
            version_seen = true;
            continue;
        }
        match (kind, media.last_mut()) {
            ('v', _) => return Err(err("repeated")),
            ('o', None) if origin.is_none() => origin = Some(parse_origin(value).ok_or_else(|| err("malformed"))?),
            ('s', None) if session_name.is_none() => session_name = Some(value.to_owned()),
            ('o' | 's', _) => return Err(err("repeated or inside a media section")),
            ('m', _) => {
                if media.len() == MAX_MEDIA {
                    return Err(err(&format!("more than {MAX_MEDIA} media sections")));
                }
                media.push(parse_media(value).map_err(err)?);
            }
            ('c', section) => {
                let target = match section {
                    Some(m) => &mut m.connection,
                    None => &mut connection,
                };
                if target.is_some() {
                    return Err(err("more than one c= at this level"));
                }
                *target = Some(parse_connection(value).ok_or_else(|| err("malformed"))?);
            }
            ('a', section) => {
                let attribute = match value.split_once(':') {
                    Some((name, v)) => Attribute::new(name, v),
                    None => Attribute::flag(value),
                };
                if attribute.name.is_empty() {
                    return Err(err("empty attribute name"));
                }
                match section {
                    Some(m) => m.attributes.push(attribute),
                    None => attributes.push(attribute),
                }
            }
            ('t' | 'r' | 'z' | 'u' | 'e' | 'p', Some(_)) => return Err(err("only allowed at session level")),
            (kind, section) => {
                let line = Line { kind, value: value.to_owned() };
                match section {
                    Some(m) => m.other.push(line),
                    None => other.push(line),
                }
            }
        }
    }
    if !version_seen {
        return Err(SdpError::new(0, "empty body"));
    }
    let origin = origin.ok_or_else(|| SdpError::new(0, "no o= line"))?;
    let session_name = session_name.ok_or_else(|| SdpError::new(0, "no s= line"))?;
    Ok(SessionDescription { origin, session_name, connection, attributes, media, other })
}

/// `<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
fn parse_origin(value: &str) -> Option<Origin> {
    let mut f = value.split_ascii_whitespace();
    let origin = Origin {
        username: f.next()?.to_owned(),
        session_id: f.next().filter(|id| id.bytes().all(|b| b.is_ascii_digit()))?.to_owned(),
        session_version: f.next()?.parse().ok()?,
        net_type: f.next()?.to_owned(),
        addr_type: f.next()?.to_owned(),
        address: f.next()?.to_owned(),
    };
    f.next().is_none().then_some(origin)
}

/// `<nettype> <addrtype> <connection-address>`.
fn parse_connection(value: &str) -> Option<Connection> {
    let mut f = value.split_ascii_whitespace();
    let connection =
        Connection { net_type: f.next()?.to_owned(), addr_type: f.next()?.to_owned(), address: f.next()?.to_owned() };
    f.next().is_none().then_some(connection)
}

/// `<media> <port>[/<number of ports>] <proto> <fmt> ...`.
fn parse_media(value: &str) -> Result<MediaDescription, &'static str> {
    let mut f = value.split_ascii_whitespace();
    let media = f.next().ok_or("no media type")?;
    let port = f.next().ok_or("no port")?;
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n.parse().map_err(|_| "bad port count")?)),
        None => (port, None),
    };
    let port = port.parse().map_err(|_| "bad port")?;
    let proto = f.next().ok_or("no protocol")?;
    let mut formats = Vec::new();
    for format in f {
        if formats.len() == MAX_FORMATS {
            return Err("too many formats");
        }
        formats.push(format.to_owned());
    }
    let mut m = MediaDescription::new(media, port, proto, formats);
    m.port_count = port_count;
    Ok(m)
}

/// The session-level types that come before `c=` in RFC 4566 §5's order.
const BEFORE_CONNECTION: &[char] = &['i', 'u', 'e', 'p'];

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        for line in self.other.iter().filter(|l| BEFORE_CONNECTION.contains(&l.kind)) {
            write!(f, "{line}")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "{c}")?;
        }
        let mut timing = false;
        for line in self.other.iter().filter(|l| !BEFORE_CONNECTION.contains(&l.kind)) {
            if line.kind == 't' {
                timing = true;
            } else if !timing && !matches!(line.kind, 'b') {
                // r=, z=, k= and unknown letters follow t= (RFC 4566 §5).
                write!(f, "t=0 0\r\n")?;
                timing = true;
            }
            write!(f, "{line}")?;
        }
        if !timing {
            write!(f, "t=0 0\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        write!(f, "\r\n")?;
        for line in self.other.iter().filter(|l| l.kind == 'i') {
            write!(f, "{line}")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "{c}")?;
        }
        for line in self.other.iter().filter(|l| l.kind != 'i') {
            write!(f, "{line}")?;
        }
        for a in &self.attributes {
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c={} {} {}\r\n", self.net_type, self.addr_type, self.address)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "a={}:{}\r\n", self.name, v),
            None => write!(f, "a={}\r\n", self.name),
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}\r\n", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_parsing() {
        assert_eq!(
            parse_rtpmap("101 telephone-event/8000"),
            Some(RtpMap { payload_type: 101, encoding: "telephone-event", clock_rate: 8000, channels: 1 })
        );
        assert_eq!(parse_rtpmap("111 opus/48000/2").map(|m| m.channels), Some(2));
        assert_eq!(parse_rtpmap("x PCMU/8000"), None);
        assert_eq!(parse_rtpmap("0 PCMU"), None);
        assert_eq!(parse_rtpmap("0 /8000"), None);
    }

    #[test]
    fn connection_ip() {
        let c = Connection { net_type: "IN".into(), addr_type: "IP4".into(), address: "224.2.1.1/127".into() };
        assert_eq!(c.ip(), Some("224.2.1.1".parse().unwrap()));
        let c = Connection { address: "host.example".into(), ..c };
        assert_eq!(c.ip(), None);
        assert_eq!(Connection::new("::1".parse().unwrap()).to_string(), "c=IN IP6 ::1\r\n");
    }
}
