//! Attended transfer: the Replaces header (RFC 3891) both ways.
//!
//! As the transferor we REFER the first call's peer to the second call's peer, with a
//! Refer-To that carries `Replaces` naming the second call's dialog as the target sees it
//! (its Call-ID, its tag as to-tag, ours as from-tag; RFC 5589 §7). The transferee's
//! INVITE then replaces our call at the target.
//!
//! As the target we take a new INVITE with Replaces naming one of our confirmed calls
//! (to-tag ours, from-tag the peer's): it is answered at once without ringing (§3), and
//! once it is up the old call ends ([`EndCause::Replaced`](crate::EndCause::Replaced)). A Replaces naming no such call
//! is refused with 481; one for an early dialog too (we only replace calls that are up).

use super::SessionCore;
use crate::api::{CallDecision, SessionEvent, SessionId, SessionState};
use crate::error::SessionError;
use sip_message::{Request, StatusCode};

/// The dialog a Replaces value names: Call-ID, to-tag, from-tag (RFC 3891 §6.1).
fn parse_replaces(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.split(';');
    let call_id = parts.next()?.trim().to_owned();
    let (mut to_tag, mut from_tag) = (None, None);
    for p in parts {
        let (name, v) = p.split_once('=').map_or((p, ""), |(n, v)| (n, v));
        match name.trim().to_ascii_lowercase().as_str() {
            "to-tag" => to_tag = Some(v.trim().to_owned()),
            "from-tag" => from_tag = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    (!call_id.is_empty()).then_some(())?;
    Some((call_id, to_tag?, from_tag?))
}

/// What may stand unescaped in a URI header value (RFC 3261 §25.1 hnv-unreserved and
/// unreserved): the rest of a Replaces value (`;`, `=`, `@`) is escaped.
fn header_value_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b)
}

impl<W> SessionCore<W> {
    /// The call a new INVITE's Replaces names: `None` when it has none, `Some(Err)` with
    /// the status to refuse it with.
    pub(crate) fn replaces_target(&self, invite: &Request) -> Option<Result<SessionId, StatusCode>> {
        let value = invite.headers().get("Replaces")?.to_string();
        let Some((call_id, to_tag, from_tag)) = parse_replaces(&value) else {
            return Some(Err(StatusCode::BAD_REQUEST));
        };
        let found = self.sessions.values().find(|s| {
            s.call_id == call_id
                && self
                    .calls
                    .dialog(s.key())
                    .is_some_and(|d| d.id().local_tag == to_tag && d.id().remote_tag == from_tag)
        });
        Some(match found {
            Some(s) if matches!(s.state, SessionState::Active | SessionState::OnHold) => Ok(s.id),
            _ => Err(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST),
        })
    }

    /// Incoming call `new` replaces call `old`: answered at once, no ringing asked of the
    /// application.
    pub(crate) fn take_over(&mut self, new: SessionId, old: SessionId) {
        if let Some(s) = self.sessions.get_mut(&new) {
            s.replaces = Some(old);
        }
        self.emit(SessionEvent::Replaced { old, new });
        self.decide(new, CallDecision::Accept(None), None);
    }

    /// Call `id` is up: if it replaces another, that one ends now.
    pub(crate) fn replacement_established(&mut self, id: SessionId) {
        let Some(old) = self.sessions.get(&id).and_then(|s| s.replaces) else { return };
        let Some(s) = self.sessions.get_mut(&old) else { return };
        s.replaced = true;
        if let Err(e) = self.terminate(old) {
            tracing::debug!(session = %old, error = %e, "the replaced call could not be ended");
        }
    }

    /// Transfers call `id`'s peer to call `other`'s peer (attended: the REFER's Refer-To
    /// carries Replaces naming `other`'s dialog).
    pub(crate) fn transfer_attended(&mut self, id: SessionId, other: SessionId, reply: W) {
        let target = (|| {
            if id == other {
                return Err(SessionError::InvalidInput("a call cannot be transferred to itself".into()));
            }
            let s = self.sessions.get(&other).ok_or_else(|| SessionError::NotFound(other.to_string()))?;
            if !matches!(s.state, SessionState::Active | SessionState::OnHold) {
                return Err(SessionError::InvalidState { operation: "transfer to", state: s.state.to_string() });
            }
            let dialog = self.calls.dialog(s.key()).ok_or_else(|| SessionError::NotFound(other.to_string()))?;
            let d = dialog.id();
            // As the target sees its dialog: its tag is our remote one.
            let replaces = format!("{};to-tag={};from-tag={}", d.call_id, d.remote_tag, d.local_tag);
            let escaped = sip_message::uri::escape(&replaces, header_value_char);
            Ok(format!("{}?Replaces={escaped}", s.remote_uri))
        })();
        match target {
            Ok(target) => self.transfer(id, target, true, reply),
            Err(e) => self.reply(reply, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_are_read_and_written() {
        assert_eq!(
            parse_replaces("98asjd8@test.com;to-tag=12345;from-tag=54321;early-only"),
            Some(("98asjd8@test.com".into(), "12345".into(), "54321".into()))
        );
        assert_eq!(parse_replaces("abc;from-tag=1"), None, "no to-tag");
        assert_eq!(parse_replaces(";to-tag=1;from-tag=2"), None, "no Call-ID");
        let escaped = sip_message::uri::escape("a@b;to-tag=1;from-tag=2", header_value_char);
        assert_eq!(escaped, "a%40b%3Bto-tag%3D1%3Bfrom-tag%3D2");
    }
}
