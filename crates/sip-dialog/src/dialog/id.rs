//! [`DialogId`]: Call-ID, local tag and remote tag (RFC 3261 §12), seen from our side.

use crate::error::DialogError;
use sip_message::{Request, Response};
use std::fmt;

/// Identifies a dialog at one user agent: the Call-ID and the two tags, ours first
/// (RFC 3261 §12). The same dialog has the tags the other way round at the peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag: the From tag of requests we send, the To tag of requests we receive.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// A dialog id from its parts.
    pub fn new(call_id: impl Into<String>, local_tag: impl Into<String>, remote_tag: impl Into<String>) -> DialogId {
        DialogId { call_id: call_id.into(), local_tag: local_tag.into(), remote_tag: remote_tag.into() }
    }

    /// The id of the dialog a received request belongs to: local tag from its To, remote
    /// tag from its From (§12.2.2). Fails if either tag is missing.
    pub fn of_incoming_request(request: &Request) -> Result<DialogId, DialogError> {
        let h = request.headers();
        let to = h.to()?;
        let from = h.from()?;
        let local = to.tag().ok_or(DialogError::Missing("a To tag"))?;
        let remote = from.tag().ok_or(DialogError::Missing("a From tag"))?;
        Ok(DialogId::new(h.call_id()?, local, remote))
    }

    /// The id of the dialog a response to one of our requests belongs to: local tag from its
    /// From, remote tag from its To (§12.1.2). Fails if either tag is missing.
    pub fn of_response(response: &Response) -> Result<DialogId, DialogError> {
        let h = response.headers();
        let to = h.to()?;
        let from = h.from()?;
        let local = from.tag().ok_or(DialogError::Missing("a From tag"))?;
        let remote = to.tag().ok_or(DialogError::Missing("a To tag in the response"))?;
        Ok(DialogId::new(h.call_id()?, local, remote))
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};local={};remote={}", self.call_id, self.local_tag, self.remote_tag)
    }
}
