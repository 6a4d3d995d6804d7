//! Accounts: their registration state machines (`sip-dialog`'s [`Registration`]), the
//! waiters of `register` / `unregister` / `refresh`, and the credentials and outbound proxy
//! that calls made from an account use.

use super::{Driver, Owner, Reply};
use crate::api::{Account, AccountId, RegistrationState, SessionEvent};
use crate::error::SessionError;
use sip_dialog::register::{AccountConfig, Registration, RegistrationEvent};
use sip_dialog::{Output, ViaTemplate};
use sip_message::auth::Credentials;
use sip_message::Uri;
use std::time::Instant;

/// An account the driver keeps registered.
pub(crate) struct AccountEntry {
    pub(crate) account: Account,
    /// Its address of record.
    pub(crate) aor: String,
    pub(crate) credentials: Option<Credentials>,
    /// `register` waiting for the first outcome.
    pub(crate) first: Option<Reply<AccountId>>,
    /// `refresh_registration` waiting for the refresh's outcome.
    pub(crate) refresh: Vec<Reply<()>>,
    /// `unregister` waiting for the binding to go.
    pub(crate) removal: Vec<Reply<()>>,
    /// Has it been registered at least once?
    pub(crate) registered_once: bool,
}

impl Driver {
    pub(crate) fn default_credentials(&self) -> Option<Credentials> {
        self.cfg.credentials.as_ref().map(|(u, p)| Credentials::new(u.clone(), p.clone()))
    }

    /// The account whose address of record `from` is (same user and host).
    pub(crate) fn account_for(&self, from: &str) -> Option<AccountEntryView> {
        let Ok(Uri::Sip(wanted)) = Uri::parse(from) else { return None };
        self.accounts.values().find_map(|a| match Uri::parse(&a.aor) {
            Ok(Uri::Sip(aor))
                if aor.user() == wanted.user() && aor.host_str().eq_ignore_ascii_case(wanted.host_str()) =>
            {
                Some(AccountEntryView { account: a.account.clone(), credentials: a.credentials.clone() })
            }
            _ => None,
        })
    }

    pub(crate) fn register(&mut self, account: Account, reply: Reply<AccountId>) {
        match self.start_registration(account) {
            Ok(id) => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.first = Some(reply);
                }
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn start_registration(&mut self, account: Account) -> Result<AccountId, SessionError> {
        if !self.cfg.sip_client {
            return Err(SessionError::SipClientDisabled);
        }
        let host = match Uri::parse(&account.registrar) {
            Ok(Uri::Sip(u)) => u.host_str().to_owned(),
            Ok(_) => return Err(SessionError::InvalidInput("the registrar must be a sip: or sips: URI".into())),
            Err(e) => return Err(SessionError::InvalidInput(format!("registrar '{}': {e}", account.registrar))),
        };
        let domain = account.domain.clone().unwrap_or(host);
        let aor = format!("sip:{}@{domain}", account.user);
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let contact =
            format!("sip:{}@{};transport={}", account.user, self.advertised, transport.as_str().to_ascii_lowercase());
        let via = ViaTemplate::new(transport.as_str(), self.advertised.to_string());
        let mut config = AccountConfig::new(account.registrar.clone(), aor.clone(), contact, via);
        config.expires = account.expires;
        config.display_name = account.display_name.clone();
        config.instance_id = Some(self.instance.clone());
        config.route = account.outbound_proxy.iter().cloned().collect();
        let credentials = account.password.as_ref().map(|p| Credentials::new(account.user.clone(), p.clone()));
        config.credentials = credentials.clone();
        let mut reg = Registration::new(config, Box::new(rand::rngs::StdRng::from_entropy()))
            .map_err(|e| SessionError::InvalidInput(e.to_string()))?;
        reg.register(Instant::now()).map_err(|e| SessionError::Internal(e.to_string()))?;
        self.next_id += 1;
        let id = AccountId(self.next_id);
        self.regs.insert(id, reg);
        self.accounts.insert(
            id,
            AccountEntry {
                account,
                aor,
                credentials,
                first: None,
                refresh: Vec::new(),
                removal: Vec::new(),
                registered_once: false,
            },
        );
        Ok(id)
    }

    pub(crate) fn unregister(&mut self, id: AccountId, reply: Reply<()>) {
        let Some(reg) = self.regs.get_mut(&id) else {
            let _ = reply.send(Err(SessionError::NotFound(id.to_string())));
            return;
        };
        if let Err(e) = reg.unregister(Instant::now()) {
            let _ = reply.send(Err(SessionError::Internal(e.to_string())));
            return;
        }
        if let Some(a) = self.accounts.get_mut(&id) {
            a.removal.push(reply);
        }
    }

    pub(crate) fn refresh(&mut self, id: AccountId, reply: Reply<()>) {
        let Some(reg) = self.regs.get_mut(&id) else {
            let _ = reply.send(Err(SessionError::NotFound(id.to_string())));
            return;
        };
        if let Err(e) = reg.register(Instant::now()) {
            let _ = reply.send(Err(SessionError::Internal(e.to_string())));
            return;
        }
        if let Some(a) = self.accounts.get_mut(&id) {
            a.refresh.push(reply);
        }
    }

    pub(crate) fn registration_state(&self, id: AccountId) -> Result<RegistrationState, SessionError> {
        self.regs.get(&id).map(|r| r.state().clone()).ok_or_else(|| SessionError::NotFound(id.to_string()))
    }

    pub(crate) async fn registration_output(&mut self, id: AccountId, out: Output<RegistrationEvent>) {
        match out {
            Output::Request(r) => self.send_request(r, Owner::Registrations).await,
            Output::Event(RegistrationEvent::StateChanged { to, .. }) => self.registration_changed(id, to),
            Output::Response { .. } | Output::Ack(_) => {}
        }
    }

    fn registration_changed(&mut self, id: AccountId, state: RegistrationState) {
        self.emit(SessionEvent::Registration { account: id, state: state.clone() });
        let Some(a) = self.accounts.get_mut(&id) else { return };
        let failure = match &state {
            RegistrationState::AuthFailed { reason } => Some(SessionError::AuthFailed(reason.to_string())),
            RegistrationState::Failed { last_status } | RegistrationState::RetryWait { last_status, .. } => {
                Some(SessionError::Rejected {
                    status: last_status.as_u16(),
                    reason: last_status.reason_or_generic().to_owned(),
                })
            }
            _ => None,
        };
        match (&state, failure) {
            (RegistrationState::Registered { .. }, _) => {
                a.registered_once = true;
                if let Some(w) = a.first.take() {
                    let _ = w.send(Ok(id));
                }
                for w in a.refresh.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
            (_, Some(err)) => {
                for w in a.refresh.drain(..) {
                    let _ = w.send(Err(err.clone()));
                }
                if let Some(w) = a.first.take() {
                    // The first attempt failed: the caller gets the error and no account to
                    // keep retrying in the background.
                    let _ = w.send(Err(err));
                    self.forget_account(id);
                    return;
                }
                if state.is_terminal() {
                    self.forget_account(id);
                }
            }
            (RegistrationState::Unregistered, None) if !a.removal.is_empty() => {
                for w in a.removal.drain(..) {
                    let _ = w.send(Ok(()));
                }
                self.forget_account(id);
            }
            _ => {}
        }
    }

    fn forget_account(&mut self, id: AccountId) {
        self.regs.remove(&id);
        if let Some(mut a) = self.accounts.remove(&id) {
            for w in a.removal.drain(..) {
                let _ = w.send(Ok(()));
            }
        }
    }
}

/// What a call needs of its account.
pub(crate) struct AccountEntryView {
    pub(crate) account: Account,
    pub(crate) credentials: Option<Credentials>,
}

use rand::SeedableRng;
