//! Headers whose values are addresses: From, To, Contact, Route, Record-Route, Refer-To,
//! Referred-By, P-Asserted-Identity (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39; RFC 3515;
//! RFC 3892; RFC 3325).

use crate::error::ParseError;
use crate::header::{ListHeader, StandardHeader, TypedHeader};
use crate::name_addr::NameAddr;
use crate::params::Params;
use crate::scan::{trim_ws, unquote};
use std::borrow::Cow;

macro_rules! address_header {
    ($(#[$doc:meta])* $name:ident, $std:ident, list = $list:tt) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name<'a>(pub NameAddr<'a>);

        impl<'a> TypedHeader<'a> for $name<'a> {
            const NAME: StandardHeader = StandardHeader::$std;
            fn parse(value: &'a str) -> Result<Self, ParseError> {
                NameAddr::parse(value).map($name)
            }
        }

        address_header!(@list $name, $list);

        impl<'a> std::ops::Deref for $name<'a> {
            type Target = NameAddr<'a>;
            fn deref(&self) -> &NameAddr<'a> {
                &self.0
            }
        }
    };
    (@list $name:ident, true) => { impl<'a> ListHeader<'a> for $name<'a> {} };
    (@list $name:ident, false) => {};
}

address_header!(
    /// The From header: the request's logical initiator, with its `tag`.
    From, From, list = false);
address_header!(
    /// The To header: the request's logical recipient, with its `tag` once in a dialog.
    To, To, list = false);
address_header!(
    /// One Route entry.
    Route, Route, list = true);
address_header!(
    /// One Record-Route entry.
    RecordRoute, RecordRoute, list = true);
address_header!(
    /// Refer-To (RFC 3515): the URI may carry headers such as `?Replaces=...`.
    ReferTo, ReferTo, list = false);
address_header!(
    /// Referred-By (RFC 3892).
    ReferredBy, ReferredBy, list = false);
address_header!(
    /// One P-Asserted-Identity entry (RFC 3325).
    PAssertedIdentity, PAssertedIdentity, list = true);

/// One Contact entry, or the `*` of a REGISTER that removes all bindings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Contact<'a> {
    /// `Contact: *`
    Star,
    /// An address with its contact-params.
    Address(NameAddr<'a>),
}

impl<'a> TypedHeader<'a> for Contact<'a> {
    const NAME: StandardHeader = StandardHeader::Contact;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        if trim_ws(value) == "*" {
            Ok(Contact::Star)
        } else {
            NameAddr::parse(value).map(Contact::Address)
        }
    }
}

impl<'a> ListHeader<'a> for Contact<'a> {}

impl<'a> Contact<'a> {
    /// The address, unless this is `*`.
    pub fn address(&self) -> Option<&NameAddr<'a>> {
        match self {
            Contact::Star => None,
            Contact::Address(a) => Some(a),
        }
    }

    fn params(&self) -> Params<'a> {
        self.address().map(|a| a.params()).unwrap_or_default()
    }

    /// The `expires` contact-param (seconds).
    pub fn expires(&self) -> Option<u32> {
        self.params().value("expires").and_then(crate::scan::parse_u32)
    }

    /// The `q` preference, 0.0–1.0.
    pub fn q(&self) -> Option<f32> {
        self.params().value("q").and_then(|q| q.parse().ok()).filter(|q| (0.0..=1.0).contains(q))
    }

    /// The `+sip.instance` value (RFC 5626 §4.1), unquoted, e.g. `<urn:uuid:...>`.
    pub fn sip_instance(&self) -> Option<Cow<'a, str>> {
        self.params().value("+sip.instance").map(unquote)
    }

    /// The `reg-id` (RFC 5626 §4.2).
    pub fn reg_id(&self) -> Option<u32> {
        self.params().value("reg-id").and_then(crate::scan::parse_u32)
    }

    /// The `pub-gruu` a registrar assigned this binding (RFC 5627 §5.3), unquoted: a URI
    /// that reaches this instance for as long as it is registered.
    pub fn pub_gruu(&self) -> Option<Cow<'a, str>> {
        self.params().value("pub-gruu").map(unquote).filter(|g| !g.is_empty())
    }

    /// The `temp-gruu` (RFC 5627 §5.3), unquoted: an anonymous GRUU, valid until the
    /// registration's Call-ID changes.
    pub fn temp_gruu(&self) -> Option<Cow<'a, str>> {
        self.params().value("temp-gruu").map(unquote).filter(|g| !g.is_empty())
    }
}
