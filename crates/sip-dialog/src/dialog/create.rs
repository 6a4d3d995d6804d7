//! Creating a dialog: the UAC from its INVITE and a 1xx-with-tag or 2xx (RFC 3261 §12.1.2),
//! the UAS from the INVITE and the tag it chose (§12.1.1); and the UAC's early dialog turning
//! confirmed (§13.2.2.4).

use super::route::record_routes;
use super::{Dialog, DialogId, DialogState, Role};
use crate::error::DialogError;
use crate::via::ViaTemplate;
use sip_message::header::typed::Contact;
use sip_message::{Headers, Request, Response, StandardHeader as H, Text, Uri};

/// §12.1.1/§12.1.2: secure when the request went over TLS (the top Via says how its last hop
/// travelled; WSS is TLS too, RFC 7118) and its Request-URI is a SIPS URI.
fn secure(request: &Request) -> bool {
    let sips = matches!(request.uri(), Ok(Uri::Sip(s)) if s.is_secure());
    let tls = request.headers().top_via().is_ok_and(|v| {
        let t = v.transport();
        t.eq_ignore_ascii_case("TLS") || t.eq_ignore_ascii_case("WSS")
    });
    sips && tls
}

/// The URI of the first Contact, if there is one that is an address.
pub(crate) fn contact_uri(headers: &Headers) -> Result<Option<Text>, DialogError> {
    match headers.contacts().next() {
        Some(Ok(Contact::Address(a))) => Ok(Some(Text::from(a.uri().as_str()))),
        Some(Ok(Contact::Star)) | None => Ok(None),
        Some(Err(e)) => Err(e.into()),
    }
}

/// A Contact header value in `name-addr` form.
pub(crate) fn contact_value(contact: &str) -> Result<Text, DialogError> {
    let value = if contact.contains('<') { contact.to_owned() } else { format!("<{contact}>") };
    Contact::parse_value(&value)?;
    Ok(Text::from(value))
}

impl Dialog {
    /// The UAC's dialog, from the INVITE it sent and a response with a To tag: a 101–199
    /// creates an early dialog, a 2xx a confirmed one (§12.1.2). Local sequence number from
    /// the INVITE, remote one empty; route set from the response's Record-Route, reversed;
    /// remote target from its Contact (the Request-URI while a provisional response lacks
    /// one); Via template from the INVITE's top Via.
    pub fn uac(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status();
        if !(status.is_success() || (status.is_provisional() && status.as_u16() > 100)) {
            return Err(DialogError::Unsupported("only a 101-199 or 2xx response creates a dialog"));
        }
        let id = DialogId::of_response(response)?;
        let ih = invite.headers();
        let rh = response.headers();
        let mut route_set = record_routes(rh)?;
        route_set.reverse();
        let remote_target = match contact_uri(rh)? {
            Some(uri) => uri,
            None => {
                tracing::debug!(dialog = %id, status = status.as_u16(), "no Contact in the response; targeting the Request-URI");
                invite.uri_str().clone()
            }
        };
        let local_contact = ih.get(H::Contact).cloned().ok_or(DialogError::Missing("a Contact in the INVITE"))?;
        Ok(Dialog {
            state: if status.is_success() { DialogState::Confirmed } else { DialogState::Early },
            role: Role::Uac,
            local_seq: Some(ih.cseq()?.seq),
            remote_seq: None,
            local: ih.get(H::From).cloned().ok_or(DialogError::Missing("From"))?,
            remote: rh.get(H::To).cloned().ok_or(DialogError::Missing("To"))?,
            remote_target,
            route_set,
            secure: secure(invite),
            local_contact,
            via: ViaTemplate::from_via(&ih.top_via()?),
            id,
        })
    }

    /// The UAS's dialog, from the INVITE it received, the To tag it chose, its Contact (a URI
    /// or a `name-addr`) and the Via template of its own requests (§12.1.1). Remote sequence
    /// number from the INVITE, local one empty; route set from the Record-Route as it came;
    /// remote target from the INVITE's Contact, which must be present (§8.1.1.8). The dialog
    /// starts early; [`Dialog::confirm`] marks the 2xx.
    pub fn uas(invite: &Request, local_tag: &str, contact: &str, via: ViaTemplate) -> Result<Dialog, DialogError> {
        let h = invite.headers();
        let to = h.to()?;
        if to.tag().is_some() {
            return Err(DialogError::Unsupported("the request is inside a dialog already (its To has a tag)"));
        }
        let remote_tag = h.from()?.tag().ok_or(DialogError::Missing("a From tag"))?;
        let remote_target = contact_uri(h)?.ok_or(DialogError::Missing("a Contact in the INVITE"))?;
        let id = DialogId::new(h.call_id()?, local_tag, remote_tag);
        let to_value = h.get(H::To).ok_or(DialogError::Missing("To"))?;
        Ok(Dialog {
            state: DialogState::Early,
            role: Role::Uas,
            local_seq: None,
            remote_seq: Some(h.cseq()?.seq),
            local: Text::from(format!("{to_value};tag={local_tag}")),
            remote: h.get(H::From).cloned().ok_or(DialogError::Missing("From"))?,
            remote_target,
            route_set: record_routes(h)?,
            secure: secure(invite),
            local_contact: contact_value(contact)?,
            via,
            id,
        })
    }

    /// The UAS sent its 2xx: the dialog is confirmed.
    pub fn confirm(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// The UAC received a 2xx for this early dialog: confirmed, with the route set
    /// recomputed from the 2xx and the remote target taken from its Contact (§13.2.2.4,
    /// §12.2.1.2).
    pub fn confirm_with(&mut self, response: &Response) -> Result<(), DialogError> {
        if !response.status().is_success() {
            return Err(DialogError::Unsupported("only a 2xx confirms a dialog"));
        }
        let mut route_set = record_routes(response.headers())?;
        route_set.reverse();
        if let Some(target) = contact_uri(response.headers())? {
            self.remote_target = target;
        }
        self.route_set = route_set;
        if let Some(to) = response.headers().get(H::To) {
            self.remote = to.clone();
        }
        self.state = DialogState::Confirmed;
        Ok(())
    }
}
