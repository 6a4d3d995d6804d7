//! [`DialogTable`]: which owner (a call, a subscription) a message received inside a dialog
//! belongs to, and the 481 for a request that names no dialog (RFC 3261 §12.2.2).

use super::DialogId;
use sip_message::{Method, Request, Response, StatusCode};
use std::collections::HashMap;

/// Where a received request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRoute<'a, T> {
    /// The request names a dialog in the table.
    Dialog {
        /// The dialog.
        id: DialogId,
        /// Its owner.
        owner: &'a T,
    },
    /// The request has no To tag: it is outside any dialog (a new INVITE, an OPTIONS, the
    /// CANCEL of an initial INVITE, ...).
    OutOfDialog,
    /// The request has a To tag but names no dialog here: answer it with this 481
    /// (§12.2.2). `None` for an ACK, which is never answered, or when the request is too
    /// broken to answer (the transaction layer has already refused those).
    NoDialog(Option<Response>),
}

/// Dialogs by id, each with an owner `T`, plus an index by Call-ID and local tag — the part
/// of the id a UAC knows before any answer, shared by every early dialog a forked INVITE
/// creates — so responses find their owner too.
#[derive(Debug, Clone)]
pub struct DialogTable<T> {
    dialogs: HashMap<DialogId, T>,
    owners: HashMap<(String, String), T>,
}

impl<T> Default for DialogTable<T> {
    fn default() -> Self {
        DialogTable { dialogs: HashMap::new(), owners: HashMap::new() }
    }
}

impl<T> DialogTable<T> {
    /// An empty table.
    pub fn new() -> DialogTable<T> {
        DialogTable::default()
    }

    /// Adds (or replaces) the owner of dialog `id`.
    pub fn insert(&mut self, id: DialogId, owner: T) {
        self.dialogs.insert(id, owner);
    }

    /// Removes dialog `id`, returning its owner.
    pub fn remove(&mut self, id: &DialogId) -> Option<T> {
        self.dialogs.remove(id)
    }

    /// The owner of dialog `id`.
    pub fn get(&self, id: &DialogId) -> Option<&T> {
        self.dialogs.get(id)
    }

    /// Is dialog `id` in the table?
    pub fn contains(&self, id: &DialogId) -> bool {
        self.dialogs.contains_key(id)
    }

    /// How many dialogs are in the table.
    pub fn len(&self) -> usize {
        self.dialogs.len()
    }

    /// No dialogs (and no owners by Call-ID and local tag)?
    pub fn is_empty(&self) -> bool {
        self.dialogs.is_empty() && self.owners.is_empty()
    }

    /// Every dialog id, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &DialogId> {
        self.dialogs.keys()
    }

    /// Makes `owner` receive responses with this Call-ID and From tag: call it when sending
    /// a dialog-creating request, before any dialog exists.
    pub fn insert_owner(&mut self, call_id: impl Into<String>, local_tag: impl Into<String>, owner: T) {
        self.owners.insert((call_id.into(), local_tag.into()), owner);
    }

    /// Undoes [`Self::insert_owner`].
    pub fn remove_owner(&mut self, call_id: &str, local_tag: &str) -> Option<T> {
        self.owners.remove(&(call_id.to_owned(), local_tag.to_owned()))
    }

    /// Where a received request goes (§12.2.2): by its dialog id if its To has a tag.
    pub fn route_request(&self, request: &Request) -> RequestRoute<'_, T> {
        let h = request.headers();
        match h.to() {
            Ok(to) if to.tag().is_none() => return RequestRoute::OutOfDialog,
            Ok(_) => {}
            Err(_) => return RequestRoute::NoDialog(None),
        }
        let found = super::DialogId::of_incoming_request(request).ok().and_then(|id| {
            let owner = self.dialogs.get(&id)?;
            Some(RequestRoute::Dialog { id, owner })
        });
        if let Some(found) = found {
            return found;
        }
        if *request.method() == Method::Ack {
            return RequestRoute::NoDialog(None);
        }
        RequestRoute::NoDialog(request.make_response(StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST, None).ok())
    }

    /// The owner of a response to one of our requests: by its dialog id, else by Call-ID
    /// and From tag (a response from a new fork, or one without a To tag).
    pub fn route_response(&self, response: &Response) -> Option<&T> {
        if let Ok(id) = DialogId::of_response(response) {
            if let Some(owner) = self.dialogs.get(&id) {
                return Some(owner);
            }
        }
        let h = response.headers();
        let call_id = h.call_id().ok()?;
        let local_tag = h.from().ok()?.tag()?;
        self.owners.get(&(call_id.to_owned(), local_tag.to_owned()))
    }
}
