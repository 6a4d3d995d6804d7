//! Event and Subscription-State (RFC 6665 §8.2).

use crate::error::ParseError;
use crate::header::{StandardHeader, TypedHeader};
use crate::params::Params;
use crate::scan::{is_token, lead_ws, parse_u32};

/// Splits a leading token from its parameters.
fn token_and_params<'a>(value: &'a str, what: &'static str) -> Result<(&'a str, Params<'a>), ParseError> {
    let lead = lead_ws(value);
    let len = value[lead..].bytes().take_while(|&b| is_token(b)).count();
    if len == 0 {
        return Err(ParseError::syntax(lead, what));
    }
    let end = lead + len;
    let params = Params::parse(&value[end..]).map_err(|e| e.shifted(end))?;
    Ok((&value[lead..end], params))
}

/// `Event: refer;id=93809824`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Event<'a> {
    /// The event package (`refer`, `presence`, `dialog`, ...), with template suffixes.
    pub package: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> Event<'a> {
    /// The `id` parameter.
    pub fn id(&self) -> Option<&'a str> {
        self.params.value("id")
    }
}

impl<'a> TypedHeader<'a> for Event<'a> {
    const NAME: StandardHeader = StandardHeader::Event;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let (package, params) = token_and_params(value, "an event package")?;
        Ok(Event { package, params })
    }
}

/// `Subscription-State: active;expires=60` / `terminated;reason=noresource`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SubscriptionState<'a> {
    /// `active`, `pending`, `terminated`, or an extension value.
    pub state: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> SubscriptionState<'a> {
    /// The `expires` parameter.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(parse_u32)
    }

    /// The `reason` parameter.
    pub fn reason(&self) -> Option<&'a str> {
        self.params.value("reason")
    }

    /// The `retry-after` parameter.
    pub fn retry_after(&self) -> Option<u32> {
        self.params.value("retry-after").and_then(parse_u32)
    }

    /// Is the state `terminated`?
    pub fn is_terminated(&self) -> bool {
        self.state.eq_ignore_ascii_case("terminated")
    }
}

impl<'a> TypedHeader<'a> for SubscriptionState<'a> {
    const NAME: StandardHeader = StandardHeader::SubscriptionState;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        let (state, params) = token_and_params(value, "a substate")?;
        Ok(SubscriptionState { state, params })
    }
}
