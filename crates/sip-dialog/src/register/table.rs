//! [`Registrations`]: several accounts at once, one [`Registration`] each, behind one timer
//! and one output queue.

use super::machine::Registration;
use super::state::RegistrationEvent;
use crate::output::Output;
use sip_message::Response;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// Registrations keyed by account id `K`.
#[derive(Debug)]
pub struct Registrations<K> {
    accounts: HashMap<K, Registration>,
}

impl<K> Default for Registrations<K> {
    fn default() -> Self {
        Registrations { accounts: HashMap::new() }
    }
}

impl<K: Eq + Hash + Clone> Registrations<K> {
    /// No accounts.
    pub fn new() -> Registrations<K> {
        Registrations::default()
    }

    /// Adds (or replaces) account `id`'s registration.
    pub fn insert(&mut self, id: K, registration: Registration) -> Option<Registration> {
        self.accounts.insert(id, registration)
    }

    /// Removes account `id`, returning its registration (call `unregister` first to remove
    /// the binding too).
    pub fn remove(&mut self, id: &K) -> Option<Registration> {
        self.accounts.remove(id)
    }

    /// Account `id`'s registration.
    pub fn get(&self, id: &K) -> Option<&Registration> {
        self.accounts.get(id)
    }

    /// Account `id`'s registration, to register or unregister it.
    pub fn get_mut(&mut self, id: &K) -> Option<&mut Registration> {
        self.accounts.get_mut(id)
    }

    /// Every account and its registration.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Registration)> {
        self.accounts.iter()
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// No accounts?
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Hands a response to the registration that sent its request (each has its own
    /// Call-ID); the account id, or `None` if none did. Takes the response by value, like
    /// every core's input (ARCHITECTURE.md, the run-loop contract).
    pub fn handle_response(&mut self, now: Instant, response: Response) -> Option<K> {
        let call_id = response.headers().call_id().ok()?;
        let (id, reg) = self.accounts.iter_mut().find(|(_, r)| r.call_id() == call_id)?;
        reg.handle_response(now, response).then(|| id.clone())
    }

    /// Fires what is due at `now` in every registration.
    pub fn handle_timeout(&mut self, now: Instant) {
        for reg in self.accounts.values_mut() {
            reg.handle_timeout(now);
        }
    }

    /// The earliest timer of all registrations.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.accounts.values().filter_map(Registration::poll_timeout).min()
    }

    /// The next output of any registration, with its account id.
    pub fn poll_output(&mut self) -> Option<(K, Output<RegistrationEvent>)> {
        self.accounts.iter_mut().find_map(|(id, reg)| reg.poll_output().map(|o| (id.clone(), o)))
    }
}
