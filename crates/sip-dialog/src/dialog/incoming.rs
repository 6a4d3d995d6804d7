//! What a message received inside a dialog does to it: the CSeq rule and target refresh of a
//! request (RFC 3261 §12.2.2), and target refresh by a 2xx (§12.2.1.2).

use super::create::contact_uri;
use super::{Dialog, DialogState};
use sip_message::{Method, Request, Response, StatusCode};

/// Target refresh requests (§12.2: re-INVITE; UPDATE, RFC 3311 §5.2; SUBSCRIBE and NOTIFY,
/// RFC 6665 §4.1.2.2 and §4.2.1).
pub(crate) fn is_target_refresh(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update | Method::Subscribe | Method::Notify)
}

impl Dialog {
    /// Applies a request received in this dialog (§12.2.2). `Ok` means it is in order: the
    /// remote sequence number is now its CSeq, and a target refresh request's Contact is the
    /// new remote target. `Err` carries the status to answer with: 481 when the dialog is
    /// terminated, 500 when the CSeq is not above the remote sequence number — a request out
    /// of order (§12.2.2 says "lower"; an equal number on a new transaction is no
    /// retransmission either, since the transaction layer absorbed those). ACK and CANCEL
    /// reuse the CSeq of the request they belong to and are not checked.
    pub fn receive_request(&mut self, request: &Request) -> Result<(), StatusCode> {
        let method = request.method();
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if self.state == DialogState::Terminated {
            return Err(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST);
        }
        let seq = request.headers().cseq().map_err(|_| StatusCode::BAD_REQUEST)?.seq;
        if self.remote_seq.is_some_and(|remote| seq <= remote) {
            tracing::debug!(dialog = %self.id, seq, remote = ?self.remote_seq, "request out of order");
            return Err(StatusCode::SERVER_INTERNAL_ERROR);
        }
        if is_target_refresh(method) {
            match contact_uri(request.headers()) {
                Ok(Some(target)) => self.remote_target = target,
                Ok(None) => {}
                Err(_) => return Err(StatusCode::BAD_REQUEST),
            }
        }
        self.remote_seq = Some(seq);
        Ok(())
    }

    /// Applies a response to a request we sent of `method`: a 2xx to a target refresh
    /// request replaces the remote target with its Contact (§12.2.1.2). Other responses do
    /// not change the dialog; the usage decides whether a 481 or 408 ends it.
    pub fn receive_response(&mut self, method: &Method, response: &Response) {
        if response.status().is_success() && is_target_refresh(method) {
            if let Ok(Some(target)) = contact_uri(response.headers()) {
                self.remote_target = target;
            }
        }
    }
}

impl Dialog {
    /// Another provisional response in this early dialog: its Contact, if any, is the
    /// target from now on (the UAS may send a Contact only with a later response).
    pub(crate) fn refresh_early(&mut self, response: &Response) {
        if let Ok(Some(target)) = contact_uri(response.headers()) {
            self.remote_target = target;
        }
    }
}
