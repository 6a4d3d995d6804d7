//! Building requests inside a dialog (RFC 3261 §12.2.1.1) and the ACK for a 2xx (§13.2.2.4).

use super::route::request_target;
use super::{Dialog, DialogState};
use crate::error::DialogError;
use crate::headers::insert_before_length;
use sip_message::{Method, Request, StandardHeader as H, Text};

/// Methods whose requests carry our Contact: INVITE and the other target refresh requests
/// (§8.1.1.8; UPDATE, RFC 3311 §5.1; SUBSCRIBE and NOTIFY, RFC 6665 §4.1.1 and §4.2.2; REFER,
/// RFC 3515 §2.4.1).
fn carries_contact(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer)
}

impl Dialog {
    /// A request of `method` inside the dialog (§12.2.1.1): Request-URI and Route headers
    /// from the remote target and route set (strict routing handled), To and From with both
    /// tags, the Call-ID, the next local CSeq number (1 if the local sequence is empty), a
    /// fresh Via branch, Max-Forwards 70, our Contact for INVITE and the other target refresh
    /// methods, and an empty body. The caller adds a body and further headers.
    ///
    /// ACK and CANCEL are not built here: see [`Dialog::ack`] and `Request::cancel`.
    pub fn new_request(&mut self, method: Method) -> Result<Request, DialogError> {
        if matches!(method, Method::Ack | Method::Cancel) {
            return Err(DialogError::Unsupported("ACK and CANCEL are built from the request they answer"));
        }
        if self.state == DialogState::Terminated {
            return Err(DialogError::InvalidState("the dialog is terminated"));
        }
        // §8.1.1.5: below 2^31; §12.2.1.1: empty means any initial value.
        let seq = self.local_seq.map_or(Ok(1), |s| {
            s.checked_add(1).filter(|n| *n <= i32::MAX as u32).ok_or(DialogError::InvalidState("CSeq exhausted"))
        })?;
        let request = self.build(method, seq)?;
        self.local_seq = Some(seq);
        Ok(request)
    }

    /// The ACK for a 2xx to `invite` (an INVITE sent in, or creating, this dialog): built as
    /// any request in the dialog, but with the INVITE's CSeq number, method ACK, and the
    /// INVITE's credentials (§13.2.2.4). It does not change the local sequence number. The
    /// caller keeps it to send again for each retransmission of the 2xx.
    pub fn ack(&self, invite: &Request) -> Result<Request, DialogError> {
        let seq = invite.headers().cseq()?.seq;
        let mut ack = self.build(Method::Ack, seq)?;
        let credentials = [H::Authorization, H::ProxyAuthorization]
            .into_iter()
            .flat_map(|name| invite.headers().get_all(name).map(move |v| (name, v.clone())));
        insert_before_length(ack.headers_mut(), credentials.collect::<Vec<_>>());
        Ok(ack)
    }

    fn build(&self, method: Method, seq: u32) -> Result<Request, DialogError> {
        let (uri, routes) = request_target(&self.route_set, &self.remote_target)?;
        let mut req = Request::new(method.clone(), Text::from(uri))?;
        let (via, _branch) = self.via.render()?;
        let h = req.headers_mut();
        h.push(H::Via, via);
        h.push(H::MaxForwards, "70");
        h.push(H::To, self.remote.clone());
        h.push(H::From, self.local.clone());
        h.push(H::CallId, self.id.call_id.clone());
        h.push(H::CSeq, format!("{seq} {method}"));
        for r in routes {
            h.push(H::Route, r);
        }
        if carries_contact(&method) {
            h.push(H::Contact, self.local_contact.clone());
        }
        h.push(H::ContentLength, "0");
        Ok(req)
    }
}
