//! [`ViaTemplate`]: the parts of our Via that stay the same from request to request; each
//! request gets a fresh branch (RFC 3261 §8.1.1.7).

use sip_message::build::new_branch;
use sip_message::header::typed::Via;
use sip_message::{BuildError, Request};

/// Transport, sent-by and the `rport` flag of the Via this user agent puts on its requests.
///
/// The driver may still rewrite the transport and sent-by of a request it sends (after
/// choosing the destination); it must keep the branch, which is how responses find their
/// request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaTemplate {
    /// `UDP`, `TCP`, `TLS`, `WS` or `WSS`.
    pub transport: String,
    /// `host[:port]` where responses should come.
    pub sent_by: String,
    /// Ask for `rport` (RFC 3581).
    pub rport: bool,
}

impl ViaTemplate {
    /// A template for `transport` and `sent_by`, with `rport`.
    pub fn new(transport: impl Into<String>, sent_by: impl Into<String>) -> ViaTemplate {
        ViaTemplate { transport: transport.into().to_ascii_uppercase(), sent_by: sent_by.into(), rport: true }
    }

    /// The template of an existing Via (its branch and other parameters dropped).
    pub fn from_via(via: &Via<'_>) -> ViaTemplate {
        let sent_by = match via.port() {
            Some(p) => format!("{}:{p}", via.host_str()),
            None => via.host_str().to_owned(),
        };
        ViaTemplate { transport: via.transport().to_ascii_uppercase(), sent_by, rport: via.rport().is_some() }
    }

    /// A Via value with a fresh branch; returns the value and the branch.
    pub fn render(&self) -> Result<(String, String), BuildError> {
        let branch = new_branch()?;
        let rport = if self.rport { ";rport" } else { "" };
        Ok((format!("SIP/2.0/{} {};branch={branch}{rport}", self.transport, self.sent_by), branch))
    }
}

/// The branch of a request's or response's top Via, if it has one.
pub fn top_branch(headers: &sip_message::Headers) -> Option<String> {
    headers.top_via().ok().and_then(|v| v.branch().map(str::to_owned))
}

/// Replaces the top Via of `request` with a fresh one from `template`; returns the branch.
pub(crate) fn renew_via(request: &mut Request, template: &ViaTemplate) -> Result<String, BuildError> {
    let (value, branch) = template.render()?;
    let h = request.headers_mut();
    match h.position(sip_message::StandardHeader::Via) {
        Some(i) => {
            h.replace_value(i, value);
        }
        None => h.push_front(sip_message::StandardHeader::Via, value),
    }
    Ok(branch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::header::TypedHeader;

    #[test]
    fn template_round_trip() {
        let via = Via::parse("SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bKx;rport;received=1.2.3.4").unwrap();
        let t = ViaTemplate::from_via(&via);
        assert_eq!(t, ViaTemplate { transport: "UDP".into(), sent_by: "pc33.atlanta.com:5066".into(), rport: true });
        let (value, branch) = t.render().unwrap();
        let again = Via::parse(&value).unwrap();
        assert_eq!(again.branch(), Some(branch.as_str()));
        assert!(again.has_rfc3261_branch());
        assert_eq!(again.port(), Some(5066));
        assert_ne!(t.render().unwrap().1, branch, "every request gets its own branch");
    }
}
