//! Transaction matching (RFC 3261 §17.1.3 for responses, §17.2.3 for requests, with the
//! RFC 2543 fall-back for requests whose branch lacks the magic cookie).

use sip_message::header::typed::Via;
use sip_message::{Method, ParseError, Request, Response};

/// A client transaction is the branch of the top Via plus the CSeq method (§17.1.3): a CANCEL
/// shares its INVITE's branch but is its own transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    /// The key of a request we send, from its already parsed top Via.
    pub(crate) fn of_request(req: &Request, via: &Via<'_>) -> Result<ClientKey, ParseError> {
        let branch = via.branch().ok_or(ParseError::syntax(0, "a branch parameter").within("Via"))?;
        Ok(ClientKey { branch: branch.to_owned(), method: req.method().clone() })
    }

    /// The same branch for another method (a CANCEL's INVITE).
    pub(crate) fn with_method(&self, method: Method) -> ClientKey {
        ClientKey { branch: self.branch.clone(), method }
    }

    pub(crate) fn of_response(resp: &Response) -> Result<ClientKey, ParseError> {
        let via = resp.headers().top_via()?;
        let branch = via.branch().ok_or(ParseError::syntax(0, "a branch parameter").within("Via"))?;
        Ok(ClientKey { branch: branch.to_owned(), method: resp.headers().cseq()?.method })
    }
}

/// A server transaction key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// RFC 3261: branch, sent-by and method (an ACK looks for its INVITE).
    Rfc3261 { branch: String, sent_by: String, method: Method },
    /// RFC 2543 peers: the request's identifying fields, compared whole. The To tag is left
    /// out so the ACK (which carries the tag of our response) finds its INVITE; the layer
    /// then checks that tag separately.
    Rfc2543 { uri: String, from_tag: String, call_id: String, cseq: u32, via: String, method: Method },
}

/// The method a request's transaction is keyed by: an ACK belongs to its INVITE.
fn keyed_method(req: &Request) -> Method {
    match req.method() {
        Method::Ack => Method::Invite,
        m => m.clone(),
    }
}

fn sent_by(via: &Via<'_>) -> String {
    let transport = sip_message::Transport::from_token(via.transport());
    let port = via.port().unwrap_or(transport.map_or(5060, |t| t.default_port()));
    format!("{}:{}", via.host_str().to_ascii_lowercase(), port)
}

impl ServerKey {
    /// The key of `req`'s transaction, for `method` (normally the request's own; CANCEL looks
    /// up its INVITE with `Method::Invite`).
    pub(crate) fn of_request_as(req: &Request, method: Method) -> Result<ServerKey, ParseError> {
        ServerKey::of_request_via(req, &req.headers().top_via()?, method)
    }

    /// Like [`ServerKey::of_request_as`] with the top Via already parsed.
    pub(crate) fn of_request_via(req: &Request, via: &Via<'_>, method: Method) -> Result<ServerKey, ParseError> {
        let h = req.headers();
        if via.has_rfc3261_branch() {
            let branch = via.branch().unwrap_or_default().to_owned();
            return Ok(ServerKey::Rfc3261 { branch, sent_by: sent_by(via), method });
        }
        Ok(ServerKey::Rfc2543 {
            uri: req.uri_str().to_string(),
            from_tag: h.from()?.tag().unwrap_or_default().to_owned(),
            call_id: h.call_id()?.to_owned(),
            cseq: h.cseq()?.seq,
            via: via.as_str().to_owned(),
            method,
        })
    }

    /// The key of a received request's transaction (an ACK's is its INVITE's).
    pub(crate) fn of_request(req: &Request, via: &Via<'_>) -> Result<ServerKey, ParseError> {
        ServerKey::of_request_via(req, via, keyed_method(req))
    }

    pub(crate) fn is_rfc2543(&self) -> bool {
        matches!(self, ServerKey::Rfc2543 { .. })
    }
}
