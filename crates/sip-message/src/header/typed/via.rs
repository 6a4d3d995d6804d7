//! Via (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).

use crate::error::ParseError;
use crate::header::{ListHeader, StandardHeader, TypedHeader};
use crate::params::{self, Params};
use crate::scan::{self, parse_u32, trim_ws};
use crate::uri::{parse_port, scan_host, split_hostport, Host};
use std::fmt;

/// The `branch` magic cookie of RFC 3261 §8.1.1.7.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via entry: `SIP/2.0/UDP host:port;branch=...`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    raw: &'a str,
    protocol: &'a str,
    version: &'a str,
    transport: &'a str,
    host: Host<'a>,
    host_raw: &'a str,
    port: Option<u16>,
    params: Params<'a>,
    /// The value of the first `branch` parameter, found while the parameters were validated.
    branch: Option<&'a str>,
}

impl fmt::Debug for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Via")
            .field("raw", &self.raw)
            .field("protocol", &self.protocol)
            .field("version", &self.version)
            .field("transport", &self.transport)
            .field("host", &self.host)
            .field("host_raw", &self.host_raw)
            .field("port", &self.port)
            .field("params", &self.params)
            .finish()
    }
}

impl<'a> TypedHeader<'a> for Via<'a> {
    const NAME: StandardHeader = StandardHeader::Via;

    fn parse(value: &'a str) -> Result<Via<'a>, ParseError> {
        let b = value.as_bytes();
        let rest = |i: usize| b.get(i..).unwrap_or_default();
        let mut i = 0;
        let mut parts = [""; 3];
        // Nearly every Via starts with "SIP/2.0/": the first two parts need no scanning then.
        let first = if b.starts_with(b"SIP/2.0/") {
            parts[0] = scan::sub(value, 0, 3).unwrap_or_default();
            parts[1] = scan::sub(value, 4, 7).unwrap_or_default();
            i = 8;
            2
        } else {
            0
        };
        for (n, part) in parts.iter_mut().enumerate().skip(first) {
            i += scan::run(rest(i), scan::WS);
            let start = i;
            i += scan::run(rest(i), scan::TOKEN);
            if i == start {
                return Err(ParseError::syntax(i, ["a protocol name", "a protocol version", "a transport"][n]));
            }
            *part = scan::sub(value, start, i).unwrap_or_default();
            i += scan::run(rest(i), scan::WS);
            if n < 2 {
                if b.get(i) != Some(&b'/') {
                    return Err(ParseError::syntax(i, "'/' in the sent-protocol"));
                }
                i += 1;
            }
        }
        let sent_by_start = i;
        let (host, host_raw, port, end) = match sent_by(value, i) {
            Some(found) => found?,
            None => {
                let end = i + rest(i).iter().position(|&c| is_sent_by_end(c)).unwrap_or(b.len() - i);
                let hostport = scan::sub(value, sent_by_start, end).unwrap_or_default();
                let (host, host_raw, port) = split_hostport(hostport).map_err(|e| e.shifted(sent_by_start))?;
                (host, host_raw, port, end)
            }
        };
        // One pass over the parameters validates them and finds the first branch, rport and
        // ttl.
        let params_raw = scan::tail(value, end).unwrap_or_default();
        let (mut branch, mut rport, mut ttl) = (None, None, None);
        params::walk(params_raw, |name, v| {
            if branch.is_none() && name.eq_ignore_ascii_case("branch") {
                branch = Some(v);
            } else if rport.is_none() && name.eq_ignore_ascii_case("rport") {
                rport = Some(v);
            } else if ttl.is_none() && name.eq_ignore_ascii_case("ttl") {
                ttl = Some(v);
            }
        })
        .map_err(|e| e.shifted(end))?;
        if rport.flatten().is_some_and(|v| v.parse::<u16>().is_err()) {
            return Err(ParseError::syntax(end, "a port number in rport"));
        }
        if let Some(Some(t)) = ttl {
            if parse_u32(t).is_none_or(|t| t > 255) {
                return Err(ParseError::syntax(end, "a ttl of 0-255"));
            }
        }
        Ok(Via {
            raw: trim_ws(value),
            protocol: parts[0],
            version: parts[1],
            transport: parts[2],
            host,
            host_raw,
            port,
            params: Params::validated(params_raw),
            branch: branch.flatten(),
        })
    }
}

/// Where the sent-by ends: the parameters, whitespace, or a comment.
fn is_sent_by_end(c: u8) -> bool {
    matches!(c, b';' | b' ' | b'\t' | b'(')
}

/// The sent-by from `i` in one pass when it is a hostname or IPv4 address with an optional
/// port, followed by the end of the sent-by: host, host as written, port, and where it ends
/// (errors are offsets into `value`). `None` for anything else (an IPv6 reference, odd
/// characters), which `split_hostport` then handles.
#[inline]
#[allow(clippy::type_complexity)]
fn sent_by(value: &str, i: usize) -> Option<Result<(Host<'_>, &str, Option<u16>, usize), ParseError>> {
    let b = value.as_bytes();
    let scan = scan_host(b.get(i..)?);
    let host_end = i + scan.len;
    let (port, end) = if b.get(host_end) == Some(&b':') {
        let digits = scan::run(b.get(host_end + 1..)?, scan::DIGIT);
        (Some(b.get(host_end + 1..host_end + 1 + digits)?), host_end + 1 + digits)
    } else {
        (None, host_end)
    };
    if b.get(end).is_some_and(|&c| !is_sent_by_end(c)) {
        return None;
    }
    let host_raw = scan::sub(value, i, host_end)?;
    let host = match Host::from_scan(host_raw, scan) {
        Ok(h) => h,
        Err(e) => return Some(Err(e.shifted(i))),
    };
    let port = match port.map(|p| parse_port(p, scan.len + 1)).transpose() {
        Ok(p) => p,
        Err(e) => return Some(Err(e.shifted(i))),
    };
    Some(Ok((host, host_raw, port, end)))
}

impl<'a> ListHeader<'a> for Via<'a> {}

impl<'a> Via<'a> {
    /// The entry as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The protocol name (`SIP`).
    pub fn protocol(&self) -> &'a str {
        self.protocol
    }

    /// The protocol version (`2.0`).
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The transport (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, ...), as written.
    pub fn transport(&self) -> &'a str {
        self.transport
    }

    /// The sent-by host.
    pub fn host(&self) -> Host<'a> {
        self.host
    }

    /// The sent-by host as written.
    pub fn host_str(&self) -> &'a str {
        self.host_raw
    }

    /// The sent-by port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// All parameters.
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.branch
    }

    /// Does the branch start with the RFC 3261 magic cookie (so it identifies the transaction
    /// on its own, §17.2.3)?
    ///
    /// A branch that is only the cookie (RFC 4475 §3.2.1) does not count: it identifies
    /// nothing, so such a request falls back to RFC 2543 matching.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.len() > BRANCH_MAGIC_COOKIE.len() && b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&'a str> {
        self.params.value("received")
    }

    /// `rport`: `None` if absent, `Some(None)` if requested (flag), `Some(Some(port))` if
    /// filled in by the server (RFC 3581).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|t| t.parse().ok())
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}
