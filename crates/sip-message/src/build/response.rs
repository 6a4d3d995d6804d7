//! Responses to a request (RFC 3261 §8.2.6).

use super::BuildError;
use crate::header::StandardHeader as H;
use crate::message::{Request, Response};
use crate::status::StatusCode;
use crate::text::Text;

impl Request {
    /// A response to this request per RFC 3261 §8.2.6.2: the Via headers (all, in order),
    /// From, Call-ID and CSeq copied; To copied with `to_tag` added if the request's To has no
    /// tag (a 100 Trying never gets one); Timestamp echoed for 100 (§8.2.6.1);
    /// Content-Length 0. Values are copied raw (the first line of each), so a malformed
    /// request can still be answered with 400.
    pub fn make_response(&self, status: StatusCode, to_tag: Option<&str>) -> Result<Response, BuildError> {
        let mut resp = Response::new(status);
        let src = &self.headers;
        let h = resp.headers_mut();
        let mut vias = 0;
        for via in src.get_all_owned(H::Via) {
            h.push(H::Via, via);
            vias += 1;
        }
        if vias == 0 {
            return Err(BuildError::Missing("Via"));
        }
        let to = src.get_owned(H::To).ok_or(BuildError::Missing("To"))?;
        // A malformed To (answered with 400) is copied as it is, without adding a tag.
        let has_tag = src.to().map_or(true, |t| t.tag().is_some());
        let to = match to_tag {
            Some(tag) if !has_tag && status != StatusCode::TRYING => Text::from(format!("{to};tag={tag}")),
            _ => to,
        };
        h.push(H::From, src.get_owned(H::From).ok_or(BuildError::Missing("From"))?);
        h.push(H::To, to);
        h.push(H::CallId, src.get_owned(H::CallId).ok_or(BuildError::Missing("Call-ID"))?);
        h.push(H::CSeq, src.get_owned(H::CSeq).ok_or(BuildError::Missing("CSeq"))?);
        if status == StatusCode::TRYING {
            if let Some(ts) = src.get_owned(H::Timestamp) {
                h.push(H::Timestamp, ts);
            }
        }
        h.push(H::ContentLength, "0");
        Ok(resp)
    }
}
