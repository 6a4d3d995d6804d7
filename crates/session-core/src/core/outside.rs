//! Requests outside dialogs that the application makes (OPTIONS, MESSAGE, INFO, ...): built,
//! routed like any request, one digest challenge answered (RFC 3261 §22.2), the final
//! response handed back.

use super::{Answer, Owner, SessionCore};
use crate::api::SipResponse;
use crate::error::SessionError;
use sip_message::auth::{Challenge, Credentials, DigestClient};
use sip_message::{Method, Request, RequestBuilder, Response, StandardHeader, StatusCode};

/// A request outside dialogs in flight.
pub(crate) struct Outside<W> {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// Has a challenge been answered already? A second one is final.
    answered_challenge: bool,
    /// Why the request got no response at all.
    pub(crate) local_failure: Option<crate::error::Unreachable>,
    reply: W,
}

/// What an outside request is: its method, target, extra headers and body.
#[derive(Debug, Clone)]
pub(crate) struct OutsideRequest {
    pub(crate) method: Method,
    pub(crate) uri: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<(String, Vec<u8>)>,
}

/// A response as [`SipResponse`].
pub(crate) fn to_sip_response(r: &Response) -> SipResponse {
    SipResponse {
        status: r.status().as_u16(),
        reason: r.reason().to_string(),
        headers: r.headers().iter().map(|h| (h.name().as_str().to_owned(), h.value().to_string())).collect(),
        body: r.body().to_vec(),
        raw: String::from_utf8_lossy(&r.to_bytes()).into_owned(),
    }
}

fn first_challenge(response: &Response) -> Option<(StandardHeader, Challenge)> {
    let h = response.headers();
    if response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        h.proxy_authenticate().find_map(Result::ok).map(|c| (StandardHeader::ProxyAuthorization, c))
    } else {
        h.www_authenticate().find_map(Result::ok).map(|c| (StandardHeader::Authorization, c))
    }
}

impl<W> SessionCore<W> {
    /// Starts an outside request; `reply` hears its final response.
    pub(crate) fn request_outside(&mut self, req: OutsideRequest, reply: W) {
        if !self.cfg.sip_client {
            return self.reply(reply, Err(SessionError::SipClientDisabled));
        }
        let ids = sip_message::build::new_call_id(None).and_then(|c| Ok((c, sip_message::build::new_tag()?)));
        let (call_id, from_tag) = match ids {
            Ok(ids) => ids,
            Err(e) => return self.reply(reply, Err(SessionError::Internal(e.to_string()))),
        };
        let o = Outside {
            method: req.method,
            uri: req.uri,
            headers: req.headers,
            body: req.body,
            call_id,
            from_tag,
            cseq: 1,
            answered_challenge: false,
            local_failure: None,
            reply,
        };
        match self.build_outside(&o, None) {
            Ok(request) => {
                self.next_id += 1;
                let id = self.next_id;
                self.outside.insert(id, o);
                self.send_request(request, Owner::Outside(id));
            }
            Err(e) => self.reply(o.reply, Err(e)),
        }
    }

    fn build_outside(&self, o: &Outside<W>, auth: Option<(StandardHeader, String)>) -> Result<Request, SessionError> {
        let local = format!("sip:sipline@{}", self.advertised);
        let from = self.cfg.from_uri.clone().unwrap_or_else(|| local.clone());
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let mut b = RequestBuilder::new(o.method.clone(), o.uri.as_str())
            .from(None, from)
            .from_tag(o.from_tag.clone())
            .to(None, o.uri.as_str())
            .call_id(o.call_id.clone())
            .cseq(o.cseq)
            .via(transport.as_str(), self.advertised.to_string())
            .rport()
            .contact(local)
            .header("User-Agent", self.cfg.user_agent.clone());
        for (n, v) in &o.headers {
            b = b.header(n.as_str(), v.clone());
        }
        if let Some((h, v)) = auth {
            b = b.header(h, v);
        }
        if let Some((ct, bytes)) = &o.body {
            b = b.body(ct.clone(), bytes.clone());
        }
        b.build().map_err(|e| SessionError::InvalidInput(e.to_string()))
    }

    /// A final response (or the 408/503 standing for none) to outside request `id`.
    pub(crate) fn outside_response(&mut self, id: u64, response: Response) {
        if !response.status().is_final() {
            return;
        }
        let Some(mut o) = self.outside.remove(&id) else { return };
        let challenged =
            matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        let creds = self.cfg.credentials.as_ref().map(|(u, p)| Credentials::new(u.clone(), p.clone()));
        let (true, false, Some(creds)) = (challenged, o.answered_challenge, creds) else {
            let result = match o.local_failure.take() {
                Some(cause) => Err(SessionError::Unreachable(cause)),
                None => Ok(Answer::Response(to_sip_response(&response))),
            };
            return self.reply(o.reply, result);
        };
        let authorization = first_challenge(&response)
            .ok_or_else(|| SessionError::AuthFailed("no digest challenge we can answer".into()))
            .and_then(|(header, challenge)| {
                let body = o.body.as_ref().map(|(_, b)| b.as_slice()).unwrap_or(&[]);
                DigestClient::new()
                    .respond(&challenge, &creds, o.method.as_str(), &o.uri, body)
                    .map(|a| (header, a.to_string()))
                    .map_err(|e| SessionError::AuthFailed(e.to_string()))
            });
        o.cseq += 1;
        o.answered_challenge = true;
        match authorization.and_then(|auth| self.build_outside(&o, Some(auth))) {
            Ok(request) => {
                self.outside.insert(id, o);
                self.send_request(request, Owner::Outside(id));
            }
            Err(e) => self.reply(o.reply, Err(e)),
        }
    }
}

impl<W> Outside<W> {
    /// The waiter, for a request abandoned (at shutdown).
    pub(crate) fn into_reply(self) -> W {
        self.reply
    }
}
