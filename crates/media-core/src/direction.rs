//! [`Direction`]: the `a=sendrecv` / `a=sendonly` / `a=recvonly` / `a=inactive` attribute of
//! RFC 4566 §6 (RFC 8866 §6.7) and the rules of RFC 3264 for combining and reversing it.
//!
//! Owns the meaning of the four direction attributes; it must not look at anything else in
//! an SDP.

use crate::sdp::Attribute;
use std::fmt;

/// Which way media flows on a stream, from the point of view of the SDP that says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv`: both ways. The default when nothing is said (RFC 3264 §5.1).
    #[default]
    SendRecv,
    /// `a=sendonly`: the author sends and does not want to receive.
    SendOnly,
    /// `a=recvonly`: the author receives and does not send.
    RecvOnly,
    /// `a=inactive`: neither way.
    Inactive,
}

impl Direction {
    /// The direction with these two abilities.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Does the author of this direction send media?
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Does the author of this direction receive media?
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly and recvonly swap.
    pub fn reverse(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What the answerer says to an offer with direction `offered`, given what the answerer
    /// itself wants (`self`): RFC 3264 §6.1 — the answerer sends only if the offerer receives,
    /// and receives only if the offerer sends (sendonly → recvonly, recvonly → sendonly,
    /// inactive → inactive, sendrecv → the answerer's own choice).
    pub fn answer_to(self, offered: Direction) -> Direction {
        Direction::from_flags(self.sends() && offered.receives(), self.receives() && offered.sends())
    }

    /// Our direction when putting a stream on hold (RFC 3264 §8.4): stop receiving, keep
    /// sending (music on hold, if any). sendrecv becomes sendonly and recvonly becomes
    /// inactive; sendonly and inactive stay as they are.
    pub fn hold(self) -> Direction {
        Direction::from_flags(self.sends(), false)
    }

    /// Our direction when taking a stream off hold: receive again (the inverse of
    /// [`Direction::hold`] for a stream that was sendrecv or recvonly before).
    pub fn resume(self) -> Direction {
        Direction::from_flags(self.sends(), true)
    }

    /// The attribute name (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an attribute name stands for, if it is one of the four.
    pub fn from_attribute_name(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction a list of attributes states (the last one wins if several are present,
    /// which RFC 4566 does not allow but some peers send), or `None` if it states none.
    pub fn from_attributes(attributes: &[Attribute]) -> Option<Direction> {
        attributes
            .iter()
            .rev()
            .find_map(|a| if a.value.is_none() { Direction::from_attribute_name(&a.name) } else { None })
    }

    /// This direction as a property attribute (`a=sendrecv`, ...).
    pub fn to_attribute(self) -> Attribute {
        Attribute::flag(self.as_str())
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Direction::*;
    use super::*;

    #[test]
    fn reverse_hold_and_answer() {
        assert_eq!(SendOnly.reverse(), RecvOnly);
        assert_eq!(SendRecv.reverse(), SendRecv);
        assert_eq!(Inactive.reverse(), Inactive);
        assert_eq!(SendRecv.hold(), SendOnly);
        assert_eq!(RecvOnly.hold(), Inactive);
        assert_eq!(SendOnly.resume(), SendRecv);
        assert_eq!(Inactive.resume(), RecvOnly);
        // RFC 3264 §6.1 table, with an answerer that wants sendrecv.
        assert_eq!(SendRecv.answer_to(SendOnly), RecvOnly);
        assert_eq!(SendRecv.answer_to(RecvOnly), SendOnly);
        assert_eq!(SendRecv.answer_to(Inactive), Inactive);
        assert_eq!(SendRecv.answer_to(SendRecv), SendRecv);
        assert_eq!(SendOnly.answer_to(SendRecv), SendOnly);
        assert_eq!(RecvOnly.answer_to(RecvOnly), Inactive);
        assert_eq!(Direction::default(), SendRecv);
    }

    #[test]
    fn from_attributes() {
        let attrs = vec![Attribute::new("rtpmap", "0 PCMU/8000"), Attribute::flag("sendonly")];
        assert_eq!(Direction::from_attributes(&attrs), Some(SendOnly));
        assert_eq!(Direction::from_attributes(&attrs[..1]), None);
    }
}
