//! [`Body`]: a message body with its Content-Type, as the application supplies it. This
//! layer never looks inside (SDP belongs to the media layer).

use bytes::Bytes;

/// A body and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The Content-Type value, e.g. `application/sdp`.
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl Body {
    /// A body of type `content_type`.
    pub fn new(content_type: impl Into<String>, bytes: impl Into<Bytes>) -> Body {
        Body { content_type: content_type.into(), bytes: bytes.into() }
    }

    /// An `application/sdp` body.
    pub fn sdp(bytes: impl Into<Bytes>) -> Body {
        Body::new("application/sdp", bytes)
    }
}

/// Sets `body` (or none) on a message with a matching Content-Type and Content-Length.
pub(crate) fn apply(message: &mut sip_message::Request, body: Option<&Body>) {
    match body {
        Some(b) => message.set_body(Some(&b.content_type), b.bytes.clone()),
        None => message.set_body(None, Bytes::new()),
    }
}

/// [`apply`] for a response.
pub(crate) fn apply_to_response(message: &mut sip_message::Response, body: Option<&Body>) {
    match body {
        Some(b) => message.set_body(Some(&b.content_type), b.bytes.clone()),
        None => message.set_body(None, Bytes::new()),
    }
}
