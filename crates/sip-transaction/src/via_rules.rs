//! The Via rules of RFC 3261 §18.2.1 and §18.2.2 and RFC 3581: stamping where a request really
//! came from, and working out where its responses go. Pure functions of the message and the
//! source address, so they live here and not in a socket driver.

use sip_message::header::typed::Via;
use sip_message::Peer;
use sip_message::{Host, ParseError, Request, StandardHeader, Text, Transport};
use std::net::{IpAddr, SocketAddr};

fn host_ip(host: Host<'_>) -> Option<IpAddr> {
    match host {
        Host::Ipv4(a) => Some(IpAddr::V4(a)),
        Host::Ipv6(a) => Some(IpAddr::V6(a)),
        Host::Domain(_) => None,
    }
}

/// Adds `received` when the top Via's sent-by host differs from the packet's source address
/// (§18.2.1), and fills in an empty `rport` with the source port (RFC 3581 §4, which also
/// requires `received` then). Returns whether the Via changed.
pub fn stamp_received(req: &mut Request, source: SocketAddr) -> Result<bool, ParseError> {
    let stamped = stamped_top_via(&req.headers().top_via()?, source);
    Ok(match stamped {
        Some(value) => {
            replace_top_via(req, value)?;
            true
        }
        None => false,
    })
}

/// The top Via as §18.2.1 and RFC 3581 want it stamped, or `None` if it needs no change.
pub(crate) fn stamped_top_via(via: &Via<'_>, source: SocketAddr) -> Option<String> {
    let rport_requested = via.rport() == Some(None);
    let differs = host_ip(via.host()) != Some(source.ip());
    if !differs && !rport_requested {
        return None;
    }
    let first = via.as_str();
    let mut stamped = String::with_capacity(first.len() + 40);
    // Rebuild the parameters: drop an old received, fill rport, then append received.
    stamped.push_str(&first[..first.len() - via.params().as_str().len()]);
    for (name, value) in via.params().iter() {
        if name.eq_ignore_ascii_case("received") {
            continue;
        }
        stamped.push(';');
        stamped.push_str(name);
        if name.eq_ignore_ascii_case("rport") && value.is_none() {
            stamped.push_str(&format!("={}", source.port()));
        } else if let Some(v) = value {
            stamped.push('=');
            stamped.push_str(v);
        }
    }
    stamped.push_str(";received=");
    // RFC 3261 §18.2.1 writes the address without brackets for IPv6 in `received`.
    stamped.push_str(&source.ip().to_string());
    Some(stamped)
}

/// Replaces the first Via value (splitting it off its line if the line lists several).
pub(crate) fn replace_top_via(req: &mut Request, value: String) -> Result<(), ParseError> {
    let headers = req.headers_mut();
    let Some(index) = headers.position(StandardHeader::Via) else { return Err(ParseError::missing("Via")) };
    let line = headers.iter().nth(index).map(|h| h.value().clone()).unwrap_or_default();
    let rest: Vec<&str> = sip_message::split_commas(&line).skip(1).map(|(_, s)| s).collect();
    headers.replace_value(index, Text::from(value));
    if !rest.is_empty() {
        headers.insert(index + 1, StandardHeader::Via, Text::from(rest.join(", ")));
    }
    Ok(())
}

/// Where the responses to a request go (§18.2.2, RFC 3581 §4): over a reliable transport, back
/// on the connection it came in on (or a new one to the source address and sent-by port);
/// over UDP, to `maddr` if
/// present, else to the source address and port when `rport` was requested, else to the
/// `received` address (the source) and the sent-by port.
pub fn response_destination(via: &Via<'_>, source: &Peer) -> Peer {
    if source.is_reliable() {
        // The same connection while it lives; if it closed, a new one to the source address
        // and the sent-by port (the source port of a connection is ephemeral).
        let port = via.port().unwrap_or(source.transport.default_port());
        return Peer { transport: source.transport, addr: SocketAddr::new(source.addr.ip(), port), flow: source.flow };
    }
    if let Some(maddr) = via.maddr().and_then(|m| m.trim_matches(['[', ']']).parse::<IpAddr>().ok()) {
        let port = via.port().unwrap_or(Transport::Udp.default_port());
        return Peer::new(source.transport, SocketAddr::new(maddr, port));
    }
    if via.rport().is_some() {
        return Peer::new(source.transport, source.addr);
    }
    let port = via.port().unwrap_or(Transport::Udp.default_port());
    Peer::new(source.transport, SocketAddr::new(source.addr.ip(), port))
}

/// Rewrites the transport of the top Via (when a large request moves from UDP to TCP,
/// §18.1.1).
pub(crate) fn set_top_via_transport(req: &mut Request, transport: Transport) -> Result<(), ParseError> {
    let headers = req.headers_mut();
    let Some(index) = headers.position(StandardHeader::Via) else { return Err(ParseError::missing("Via")) };
    let line = headers.iter().nth(index).map(|h| h.value().clone()).unwrap_or_default();
    let mut items = sip_message::split_commas(&line);
    let Some((_, first)) = items.next() else { return Err(ParseError::missing("Via")) };
    let via = <Via as sip_message::header::TypedHeader>::parse(first)?;
    // Everything from the sent-by on stays as it was.
    let sent_by_at = first.find(via.host_str()).unwrap_or(0);
    let mut value = format!("SIP/2.0/{} {}", transport, &first[sent_by_at..]);
    let rest: Vec<&str> = items.map(|(_, s)| s).collect();
    if !rest.is_empty() {
        value.push_str(", ");
        value.push_str(&rest.join(", "));
    }
    headers.replace_value(index, Text::from(value));
    Ok(())
}
