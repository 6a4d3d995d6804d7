//! What the bodies of the common event packages say, read from a [`Notification`]:
//! message-summary (RFC 3842), presence (PIDF, RFC 3863: the basic status) and dialog
//! (RFC 4235: each dialog's state, what busy-lamp fields show).
//!
//! The XML packages are read for the few elements these need, tolerant of namespace
//! prefixes, attributes and whitespace; anything unreadable is `None`, never a panic.

use super::types::Notification;

/// A message-summary body (RFC 3842 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSummary {
    /// `Messages-Waiting: yes`.
    pub waiting: bool,
    /// The `Message-Account` URI, if given.
    pub account: Option<String>,
    /// The voice-message counts: new, old, and the urgent ones among them.
    pub voice: Option<MessageCounts>,
}

/// The counts of one message class (`Voice-Message: 2/8 (0/2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCounts {
    /// New messages.
    pub new: u32,
    /// Old messages.
    pub old: u32,
    /// Urgent new messages.
    pub urgent_new: u32,
    /// Urgent old messages.
    pub urgent_old: u32,
}

/// One dialog of a dialog-info document (RFC 4235 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogStatus {
    /// The `id` attribute.
    pub id: String,
    /// The `direction` attribute (`initiator`, `recipient`), if given.
    pub direction: Option<String>,
    /// The state: `trying`, `proceeding`, `early`, `confirmed` or `terminated`.
    pub state: String,
}

/// Parses `N/M` and an optional ` (U/V)`.
fn counts(value: &str) -> Option<MessageCounts> {
    let (main, urgent) = match value.split_once('(') {
        Some((m, u)) => (m, Some(u.trim_end().trim_end_matches(')'))),
        None => (value, None),
    };
    let pair = |s: &str| -> Option<(u32, u32)> {
        let (a, b) = s.trim().split_once('/')?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    let (new, old) = pair(main)?;
    let (urgent_new, urgent_old) = match urgent {
        Some(u) => pair(u)?,
        None => (0, 0),
    };
    Some(MessageCounts { new, old, urgent_new, urgent_old })
}

/// The text of the first element named `name` (any namespace prefix) at or after `from`,
/// and where the element ends.
fn element<'a>(xml: &'a str, name: &str, from: usize) -> Option<(&'a str, &'a str, usize)> {
    let mut at = from;
    loop {
        let open = at + xml.get(at..)?.find('<')?;
        let rest = xml.get(open + 1..)?;
        let tag_end = rest.find('>')?;
        let tag = &rest[..tag_end];
        let tag_name = tag.split_whitespace().next().unwrap_or("");
        let local = tag_name.rsplit(':').next().unwrap_or(tag_name);
        if local == name && !tag.starts_with('/') {
            let attrs = &tag[tag_name.len()..];
            let body_start = open + 1 + tag_end + 1;
            if tag.ends_with('/') {
                return Some((attrs.trim_end_matches('/'), "", body_start));
            }
            let close = format!("</{tag_name}>");
            let len = xml.get(body_start..)?.find(&close)?;
            return Some((attrs, &xml[body_start..body_start + len], body_start + len + close.len()));
        }
        at = open + 1;
    }
}

/// The value of attribute `name` in an element's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().rsplit(char::is_whitespace).next().unwrap_or("");
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let end = after[1..].find(quote)?;
        if key == name {
            return Some(after[1..1 + end].to_owned());
        }
        rest = &after[1 + end + 1..];
    }
    None
}

impl Notification {
    /// The body as a message summary, for the `message-summary` package.
    pub fn message_summary(&self) -> Option<MessageSummary> {
        let text = std::str::from_utf8(&self.body).ok()?;
        let mut summary = MessageSummary { waiting: false, account: None, voice: None };
        let mut seen = false;
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "messages-waiting" => {
                    summary.waiting = value.eq_ignore_ascii_case("yes");
                    seen = true;
                }
                "message-account" => summary.account = Some(value.to_owned()),
                "voice-message" => summary.voice = counts(value),
                _ => {}
            }
        }
        seen.then_some(summary)
    }

    /// For the `presence` package: is the presentity open (its first tuple's basic
    /// status)? `None` when the document says neither.
    pub fn presence_open(&self) -> Option<bool> {
        let xml = std::str::from_utf8(&self.body).ok()?;
        let (_, basic, _) = element(xml, "basic", 0)?;
        match basic.trim() {
            "open" => Some(true),
            "closed" => Some(false),
            _ => None,
        }
    }

    /// For the `dialog` package: each dialog and its state.
    pub fn dialog_states(&self) -> Option<Vec<DialogStatus>> {
        let xml = std::str::from_utf8(&self.body).ok()?;
        element(xml, "dialog-info", 0)?;
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((attrs, inner, end)) = element(xml, "dialog", at) {
            let state = element(inner, "state", 0).map(|(_, s, _)| s.trim().to_owned()).unwrap_or_default();
            out.push(DialogStatus {
                id: attribute(attrs, "id").unwrap_or_default(),
                direction: attribute(attrs, "direction"),
                state,
            });
            at = end;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SubscriptionId;

    fn note(event: &str, body: &str) -> Notification {
        Notification {
            subscription: SubscriptionId(1),
            event: event.into(),
            state: "active".into(),
            reason: None,
            content_type: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn message_summaries_of_rfc_3842() {
        let n = note(
            "message-summary",
            "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n",
        );
        let s = n.message_summary().expect("a summary");
        assert!(s.waiting);
        assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
        assert_eq!(s.voice, Some(MessageCounts { new: 2, old: 8, urgent_new: 0, urgent_old: 2 }));
        let none = note("message-summary", "messages-waiting: no\nVoice-Message: 0/3\n").message_summary();
        assert_eq!(none.map(|s| (s.waiting, s.voice.map(|v| (v.new, v.old)))), Some((false, Some((0, 3)))));
        assert_eq!(note("message-summary", "garbage").message_summary(), None);
        assert_eq!(
            note("message-summary", "Messages-Waiting: yes\nVoice-Message: x/y").message_summary().map(|s| s.voice),
            Some(None)
        );
    }

    #[test]
    fn pidf_basic_status() {
        let pidf = r#"<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.com">
            <tuple id="t1"><status><basic>open</basic></status></tuple></presence>"#;
        assert_eq!(note("presence", pidf).presence_open(), Some(true));
        let prefixed = r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf"><p:tuple id="a"><p:status><p:basic> closed </p:basic></p:status></p:tuple></p:presence>"#;
        assert_eq!(note("presence", prefixed).presence_open(), Some(false));
        assert_eq!(note("presence", "<presence/>").presence_open(), None);
        assert_eq!(note("presence", "<basic>open").presence_open(), None);
    }

    #[test]
    fn dialog_info_states() {
        let xml = r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:alice@example.com">
  <dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
    <state>confirmed</state>
  </dialog>
  <dialog id='second'><state event="rejected">terminated</state></dialog>
</dialog-info>"#;
        let states = note("dialog", xml).dialog_states().expect("dialog-info");
        assert_eq!(states.len(), 2);
        assert_eq!(
            states[0],
            DialogStatus { id: "as7d900as8".into(), direction: Some("initiator".into()), state: "confirmed".into() }
        );
        assert_eq!((states[1].id.as_str(), states[1].state.as_str()), ("second", "terminated"));
        let empty = note(
            "dialog",
            r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"/>"#,
        );
        assert_eq!(empty.dialog_states(), Some(Vec::new()));
        assert_eq!(note("dialog", "not xml").dialog_states(), None);
    }
}
