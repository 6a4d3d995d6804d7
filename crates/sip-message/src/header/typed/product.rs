//! User-Agent and Server (RFC 3261 §20.41, §20.35): free text naming software.

use crate::error::ParseError;
use crate::header::{StandardHeader, TypedHeader};
use crate::scan::trim_ws;

/// The User-Agent text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UserAgent<'a>(pub &'a str);

impl<'a> TypedHeader<'a> for UserAgent<'a> {
    const NAME: StandardHeader = StandardHeader::UserAgent;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        Ok(UserAgent(trim_ws(value)))
    }
}

/// The Server text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Server<'a>(pub &'a str);

impl<'a> TypedHeader<'a> for Server<'a> {
    const NAME: StandardHeader = StandardHeader::Server;
    fn parse(value: &'a str) -> Result<Self, ParseError> {
        Ok(Server(trim_ws(value)))
    }
}
