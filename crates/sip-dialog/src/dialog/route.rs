//! The route set of a dialog and where a request inside it goes (RFC 3261 §12.1.1, §12.1.2,
//! §12.2.1.1): loose routing keeps the remote target as Request-URI; a strict router as first
//! hop takes its place and the target travels as the last Route.

use crate::error::DialogError;
use sip_message::header::typed::RecordRoute;
use sip_message::{Headers, NameAddr, Text, Uri};

/// The Record-Route entries of a message, each a `name-addr` value, in the message's order.
pub(crate) fn record_routes(headers: &Headers) -> Result<Vec<Text>, DialogError> {
    let mut out = Vec::new();
    for rr in headers.typed_all::<RecordRoute>() {
        let rr = rr?;
        out.push(Text::from(rr.as_str()));
    }
    Ok(out)
}

/// The Request-URI and Route values of a request sent to `target` over `routes`
/// (§12.2.1.1).
pub(crate) fn request_target(routes: &[Text], target: &str) -> Result<(String, Vec<String>), DialogError> {
    let Some(first) = routes.first() else {
        return Ok((target.to_owned(), Vec::new()));
    };
    let first_addr = NameAddr::parse(first)?;
    let loose = match first_addr.uri() {
        Uri::Sip(s) => s.is_loose_route(),
        // A route that is not a SIP URI has no `lr`; treat it as strict, as the RFC says.
        _ => false,
    };
    if loose {
        return Ok((target.to_owned(), routes.iter().map(|r| r.to_string()).collect()));
    }
    // Strict routing: the first route becomes the Request-URI, "stripping any parameters
    // that are not allowed in a Request-URI" (the header component, §19.1.1 table 1); the
    // remote target is appended as the last Route.
    let uri = first_addr.uri().as_str();
    let uri = uri.split_once('?').map_or(uri, |(u, _)| u).to_owned();
    let mut rest: Vec<String> = routes[1..].iter().map(|r| r.to_string()).collect();
    rest.push(format!("<{target}>"));
    Ok((uri, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Vec<Text> {
        v.iter().map(|s| Text::from(*s)).collect()
    }

    #[test]
    fn no_routes_goes_to_the_target() {
        assert_eq!(
            request_target(&[], "sip:bob@client.biloxi.com").unwrap(),
            ("sip:bob@client.biloxi.com".into(), vec![])
        );
    }

    #[test]
    fn loose_first_route_keeps_the_target() {
        let routes = t(&["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
        let (uri, r) = request_target(&routes, "sip:bob@client.biloxi.com").unwrap();
        assert_eq!(uri, "sip:bob@client.biloxi.com");
        assert_eq!(r, ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    }

    #[test]
    fn strict_first_route_becomes_the_request_uri() {
        // RFC 3261 §12.2.1.1's example: route set <sip:p1>, <sip:p2;lr>? Here both strict.
        let routes = t(&["<sip:p1.example.com?X=y>", "<sip:p2.example.com>"]);
        let (uri, r) = request_target(&routes, "sip:bob@client.biloxi.com").unwrap();
        assert_eq!(uri, "sip:p1.example.com");
        assert_eq!(r, ["<sip:p2.example.com>", "<sip:bob@client.biloxi.com>"]);
    }
}
