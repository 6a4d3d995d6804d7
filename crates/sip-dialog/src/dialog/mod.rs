//! Dialogs (RFC 3261 §12): the state two user agents share between an INVITE's answer and
//! the BYE, and the rules that build and check the requests sent inside one.
//!
//! A [`Dialog`] is plain state with no timers and no outputs: [`Dialog::uac`] and
//! [`Dialog::uas`] create one (§12.1), [`Dialog::new_request`] and [`Dialog::ack`] build what
//! goes out (§12.2.1.1, §13.2.2.4), [`Dialog::receive_request`] and
//! [`Dialog::receive_response`] apply what comes in (§12.2.1.2, §12.2.2). [`DialogTable`]
//! finds the dialog a message belongs to. The INVITE usage on top lives in `invite`.

mod create;
mod id;
mod incoming;
mod request;
mod route;
mod table;

pub use id::DialogId;
pub use table::{DialogTable, RequestRoute};

use crate::via::ViaTemplate;
use sip_message::{NameAddr, Text};

/// The state of a dialog (§12): created early by a provisional response with a To tag,
/// confirmed by a 2xx, terminated by BYE, a failure, or a non-2xx final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a 1xx with a To tag; the INVITE has no final response yet.
    Early,
    /// Established by a 2xx.
    Confirmed,
    /// Over; nothing may be sent in it any more.
    Terminated,
}

/// Which side of the dialog-creating request we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the INVITE, and so chose the Call-ID ("own" it, RFC 3261 §14.1).
    Uac,
    /// We received the INVITE.
    Uas,
}

/// One dialog, as RFC 3261 §12 defines its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub(crate) id: DialogId,
    pub(crate) state: DialogState,
    pub(crate) role: Role,
    pub(crate) local_seq: Option<u32>,
    pub(crate) remote_seq: Option<u32>,
    /// Our From (UAC) or To (UAS) header value, tag included.
    pub(crate) local: Text,
    /// The peer's header value, tag included.
    pub(crate) remote: Text,
    pub(crate) remote_target: Text,
    /// Route values (`name-addr`) in the order requests carry them.
    pub(crate) route_set: Vec<Text>,
    pub(crate) secure: bool,
    /// Our Contact header value.
    pub(crate) local_contact: Text,
    pub(crate) via: ViaTemplate,
}

impl Dialog {
    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// The state.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Which side of the INVITE we were.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Did we choose the Call-ID (were we the UAC)? Decides the glare interval (§14.1).
    pub fn owns_call_id(&self) -> bool {
        self.role == Role::Uac
    }

    /// The CSeq number of the last request we sent in the dialog; `None` until the first
    /// (for the UAS, §12.1.1).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The CSeq number of the last request the peer sent; `None` until the first (for the
    /// UAC, §12.1.2).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// Our URI (the From of requests we send).
    pub fn local_uri(&self) -> &str {
        uri_of(&self.local)
    }

    /// The peer's URI (the To of requests we send).
    pub fn remote_uri(&self) -> &str {
        uri_of(&self.remote)
    }

    /// Our whole From/To header value, display name and tag included.
    pub fn local_party(&self) -> &str {
        &self.local
    }

    /// The peer's whole From/To header value, display name and tag included.
    pub fn remote_party(&self) -> &str {
        &self.remote
    }

    /// Where requests in the dialog go: the peer's Contact URI, as last refreshed.
    pub fn remote_target(&self) -> &str {
        &self.remote_target
    }

    /// The route set, in the order requests carry it as Route headers (`name-addr` values).
    pub fn route_set(&self) -> &[Text] {
        &self.route_set
    }

    /// Was the dialog created over TLS with a SIPS Request-URI (§12.1.1, §12.1.2)?
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Our Contact header value, sent with target refresh requests and their 2xx.
    pub fn local_contact(&self) -> &str {
        &self.local_contact
    }

    /// Our Contact from now on: a URI, or a full `name-addr` value.
    pub(crate) fn set_local_contact(&mut self, contact: &str) -> Result<(), crate::DialogError> {
        self.local_contact = crate::dialog::create::contact_value(contact)?;
        Ok(())
    }

    /// Our address moved from `old` to `new` (host and port as written): the local Contact
    /// names the new one, and requests from now on carry `via`. The peer learns the new
    /// target from the next target refresh request.
    pub fn readdress(&mut self, old: &str, new: &str, via: &ViaTemplate) {
        self.local_contact = Text::from(self.local_contact.replace(old, new));
        self.via = via.clone();
    }

    /// The Via template of the requests we send in the dialog.
    pub fn via(&self) -> &ViaTemplate {
        &self.via
    }

    /// Uses `via` for the requests sent from now on.
    pub fn set_via(&mut self, via: ViaTemplate) {
        self.via = via;
    }

    /// Ends the dialog: nothing more is sent in it.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }
}

/// The URI of a `name-addr` value (the whole value if it does not parse, which cannot happen
/// for values checked when the dialog was created).
fn uri_of(value: &Text) -> &str {
    NameAddr::parse(value).map_or(value.as_str(), |a| a.uri().as_str())
}

#[cfg(test)]
mod tests;
