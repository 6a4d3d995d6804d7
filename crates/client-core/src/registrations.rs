//! Registrations: [`RegistrationInfo`] and the account operations of [`ClientManager`].
//!
//! The session layer keeps each registration alive by itself: it refreshes before the
//! server-granted expiry (keeping the Call-ID, raising the CSeq), answers 401/407 and 423,
//! and retries with back-off after a loss. The client adds a retried first attempt, the
//! table below and the events.

use crate::config::AccountConfig;
use crate::recovery::retry_with_backoff;
use crate::{ClientError, ClientManager, RegistrationId, RegistrationState};
use session_core::{SessionError, SipClient};
use std::time::{Instant, SystemTime};

/// A registration as the client knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationInfo {
    /// Its id.
    pub id: RegistrationId,
    /// The address of record.
    pub aor: String,
    /// The registrar (empty until the first outcome when the registration was not started
    /// through this client's `register`).
    pub registrar: String,
    /// Where it stands.
    pub state: RegistrationState,
    /// When it was last confirmed by the registrar.
    pub registered_at: Option<SystemTime>,
    /// How many times it was confirmed (the first registration and each refresh).
    pub confirmations: u32,
}

impl RegistrationInfo {
    pub(crate) fn new(id: RegistrationId, aor: String) -> RegistrationInfo {
        RegistrationInfo {
            id,
            aor,
            registrar: String::new(),
            state: RegistrationState::Registering,
            registered_at: None,
            confirmations: 0,
        }
    }

    pub(crate) fn update(&mut self, state: RegistrationState) {
        if matches!(state, RegistrationState::Registered { .. }) {
            self.registered_at = Some(SystemTime::now());
            self.confirmations += 1;
        }
        self.state = state;
    }

    /// Is the binding in place now?
    pub fn is_registered(&self) -> bool {
        self.state.is_registered()
    }

    /// Is it over: unregistered, failed for good, or a binding whose expiry has passed?
    pub fn is_expired(&self) -> bool {
        match &self.state {
            RegistrationState::Unregistered
            | RegistrationState::Failed { .. }
            | RegistrationState::AuthFailed { .. } => true,
            RegistrationState::Registered { expires_at, .. } => *expires_at <= Instant::now(),
            _ => false,
        }
    }
}

/// One line about a registration state, for events and programs.
pub fn describe(state: &RegistrationState) -> String {
    match state {
        RegistrationState::Registered { expires_at, .. } => {
            format!("registered (expires in {} s)", expires_at.saturating_duration_since(Instant::now()).as_secs())
        }
        RegistrationState::Registering => "registering".into(),
        RegistrationState::Refreshing { .. } => "refreshing".into(),
        RegistrationState::Unregistering => "unregistering".into(),
        RegistrationState::Unregistered => "unregistered".into(),
        RegistrationState::RetryWait { last_status, failures, .. } => {
            format!("failed with {} ({failures} in a row), retrying", last_status.as_u16())
        }
        RegistrationState::AuthFailed { reason } => format!("authentication failed: {reason}"),
        RegistrationState::Failed { last_status } => format!("failed: {}", last_status.as_u16()),
    }
}

impl ClientManager {
    /// Registers `account` and keeps it registered. Returns when the first attempt has an
    /// outcome: the id once registered, or the error (a wrong password is not retried; no
    /// answer or a 5xx is retried per `registration.retry`). Later changes come as
    /// [`ClientEvent::RegistrationStateChanged`](crate::ClientEvent::RegistrationStateChanged).
    ///
    /// ```no_run
    /// use client_core::AccountConfig;
    /// # async fn demo(client: std::sync::Arc<client_core::ClientManager>) -> Result<(), client_core::ClientError> {
    /// let account = AccountConfig::new("alice", Some("secret".into()), "sip:pbx.example.com");
    /// let id = client.register(account).await?;
    /// assert!(client.get_registration(id).is_some_and(|r| r.is_registered()));
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self, account), fields(aor = %account.aor(), registration))]
    pub async fn register(&self, account: AccountConfig) -> Result<RegistrationId, ClientError> {
        let session = self.session()?;
        let retry = self.config.registration.retry.clone();
        let mut session_account = account.to_session();
        session_account.refuse_md5 |= self.config.security.refuse_md5;
        let outcome = retry_with_backoff("register", retry, || {
            let (session, a) = (session.clone(), session_account.clone());
            async move { session.register(a).await.map_err(ClientError::from) }
        })
        .await;
        let aor = account.aor();
        {
            // Attempts that failed were forgotten by the session layer: the table forgets them too.
            let kept = outcome.as_ref().ok().copied();
            self.shared.lock().regs.retain(|id, r| Some(*id) == kept || r.aor != aor || !r.is_expired());
        }
        let id = outcome?;
        tracing::Span::current().record("registration", tracing::field::display(id));
        // The event task may not have seen the outcome yet: the table says it now, so a
        // caller that looks right after `register` returns finds the binding in place.
        let now = session.registration_state(id).await.ok();
        let mut state = self.shared.lock();
        let entry = state.regs.entry(id).or_insert_with(|| RegistrationInfo::new(id, account.aor()));
        entry.registrar = account.registrar.clone();
        if let Some(now) = now {
            if now.is_registered() && entry.registered_at.is_none() {
                entry.registered_at = Some(SystemTime::now());
            }
            if !entry.is_registered() {
                entry.state = now;
            }
        }
        Ok(id)
    }

    /// Removes the binding (REGISTER with expires 0) and forgets the registration. Returns
    /// when the registrar has answered.
    #[tracing::instrument(skip(self), fields(registration = %id))]
    pub async fn unregister(&self, id: RegistrationId) -> Result<(), ClientError> {
        let session = self.session()?;
        let result = session.unregister(id).await.map_err(|e| reg_not_found(e, id));
        self.shared.lock().regs.remove(&id);
        result
    }

    /// Refreshes the binding now rather than at its time. Returns on the outcome.
    #[tracing::instrument(skip(self), fields(registration = %id))]
    pub async fn refresh_registration(&self, id: RegistrationId) -> Result<(), ClientError> {
        let session = self.session()?;
        session.refresh_registration(id).await.map_err(|e| reg_not_found(e, id))
    }

    /// A registration.
    pub fn get_registration(&self, id: RegistrationId) -> Option<RegistrationInfo> {
        self.shared.lock().regs.get(&id).cloned()
    }

    /// Every registration the client tracks.
    pub fn get_all_registrations(&self) -> Vec<RegistrationInfo> {
        self.shared.lock().regs.values().cloned().collect()
    }

    /// Forgets the registrations that are over ([`RegistrationInfo::is_expired`]) and
    /// returns how many went.
    pub fn clear_expired_registrations(&self) -> usize {
        let mut state = self.shared.lock();
        let before = state.regs.len();
        state.regs.retain(|_, r| !r.is_expired());
        before - state.regs.len()
    }
}

fn reg_not_found(e: SessionError, id: RegistrationId) -> ClientError {
    match e {
        SessionError::NotFound(_) => ClientError::RegistrationNotFound(id),
        e => ClientError::Session(e),
    }
}
