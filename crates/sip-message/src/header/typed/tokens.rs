//! Headers that list option tags or methods: Allow, Supported, Require, Unsupported,
//! Proxy-Require (RFC 3261 §20.5, §20.37, §20.32, §20.40, §20.29).

use crate::error::ParseError;
use crate::header::{ListHeader, StandardHeader, TypedHeader};
use crate::scan::{is_token_str, trim_ws};

macro_rules! token_header {
    ($(#[$doc:meta])* $name:ident, $std:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> TypedHeader<'a> for $name<'a> {
            const NAME: StandardHeader = StandardHeader::$std;
            fn parse(value: &'a str) -> Result<Self, ParseError> {
                let t = trim_ws(value);
                if is_token_str(t) {
                    Ok($name(t))
                } else {
                    Err(ParseError::syntax(0, "a token"))
                }
            }
        }

        impl<'a> ListHeader<'a> for $name<'a> {}
    };
}

token_header!(
    /// One method of an Allow header.
    Allow, Allow);
token_header!(
    /// One option tag of a Supported header (`100rel`, `timer`, `replaces`, ...).
    Supported, Supported);
token_header!(
    /// One option tag the request requires.
    Require, Require);
token_header!(
    /// One option tag a 420 response reports as unsupported.
    Unsupported, Unsupported);
token_header!(
    /// One option tag proxies must support.
    ProxyRequire, ProxyRequire);
