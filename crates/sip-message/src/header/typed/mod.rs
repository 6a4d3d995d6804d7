//! Typed views of header values, decoded on demand and borrowing from the raw value.
//!
//! Each type implements [`TypedHeader`](super::TypedHeader) (and
//! [`ListHeader`](super::ListHeader) for comma-separated lists), so it can be read with
//! [`Headers::typed`] / [`Headers::typed_all`]; the common ones also have shortcuts below.

mod address;
mod dialog_id;
mod event;
mod media_type;
mod numeric;
mod product;
mod reason;
mod tokens;
mod via;

pub use address::{Contact, From, PAssertedIdentity, RecordRoute, ReferTo, ReferredBy, Route, To};
pub use dialog_id::{CallId, Replaces};
pub use event::{Event, SubscriptionState};
pub use media_type::{Accept, ContentType, MediaType};
pub use numeric::{
    CSeq, ContentLength, Expires, MaxForwards, MinExpires, MinSe, RAck, RSeq, Refresher, RetryAfter, SessionExpires,
};
pub use product::{Server, UserAgent};
pub use reason::{Reason, Warning};
pub use tokens::{Allow, ProxyRequire, Require, Supported, Unsupported};
pub use via::{Via, BRANCH_MAGIC_COOKIE};

use super::{Headers, StandardHeader};
use crate::auth::{AuthError, Authorization, Challenge};
use crate::error::ParseError;

/// Shortcuts for the headers every layer reads.
impl Headers {
    /// Every Via entry, top first.
    pub fn via(&self) -> impl Iterator<Item = Result<Via<'_>, ParseError>> {
        self.typed_all::<Via>()
    }

    /// The topmost Via (the one a UAC added).
    pub fn top_via(&self) -> Result<Via<'_>, ParseError> {
        self.via().next().unwrap_or(Err(ParseError::missing("Via")))
    }

    /// The From header.
    pub fn from(&self) -> Result<From<'_>, ParseError> {
        self.typed()
    }

    /// The To header.
    pub fn to(&self) -> Result<To<'_>, ParseError> {
        self.typed()
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        self.typed::<CallId>().map(|c| c.0)
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        self.typed()
    }

    /// Every Contact entry (possibly `*`).
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact<'_>, ParseError>> {
        self.typed_all::<Contact>()
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.typed_opt::<MaxForwards>().map(|m| m.map(|m| m.0))
    }

    /// Expires, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.typed_opt::<Expires>().map(|m| m.map(|m| m.0))
    }

    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, ParseError> {
        self.typed_opt::<ContentType>().map(|m| m.map(|m| m.0))
    }

    /// Every Route entry, in order.
    pub fn routes(&self) -> impl Iterator<Item = Result<Route<'_>, ParseError>> {
        self.typed_all::<Route>()
    }

    /// The digest challenges of a 401, one per WWW-Authenticate line (RFC 3261 §22.2); choose
    /// among them with [`crate::auth::select`].
    pub fn www_authenticate(&self) -> impl Iterator<Item = Result<Challenge, AuthError>> + '_ {
        self.get_all_str(StandardHeader::WwwAuthenticate).map(Challenge::parse)
    }

    /// The digest challenges of a 407, one per Proxy-Authenticate line (RFC 3261 §22.3).
    pub fn proxy_authenticate(&self) -> impl Iterator<Item = Result<Challenge, AuthError>> + '_ {
        self.get_all_str(StandardHeader::ProxyAuthenticate).map(Challenge::parse)
    }

    /// The credentials of every Authorization line.
    pub fn authorization(&self) -> impl Iterator<Item = Result<Authorization, AuthError>> + '_ {
        self.get_all_str(StandardHeader::Authorization).map(Authorization::parse)
    }

    /// The credentials of every Proxy-Authorization line.
    pub fn proxy_authorization(&self) -> impl Iterator<Item = Result<Authorization, AuthError>> + '_ {
        self.get_all_str(StandardHeader::ProxyAuthorization).map(Authorization::parse)
    }

    /// Every Record-Route entry, in order.
    pub fn record_routes(&self) -> impl Iterator<Item = Result<RecordRoute<'_>, ParseError>> {
        self.typed_all::<RecordRoute>()
    }
}

#[cfg(test)]
mod tests;
