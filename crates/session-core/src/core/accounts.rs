//! Accounts: their registration state machines (`sip-dialog`'s [`Registration`]), the
//! waiters of `register` / `unregister` / `refresh`, and the credentials and outbound proxy
//! that calls made from an account use.

use super::{Answer, Owner, SessionCore};
use crate::api::{Account, AccountId, RegistrationState, SessionEvent};
use crate::error::SessionError;
use rand::SeedableRng;
use sip_dialog::register::{AccountConfig, Registration, RegistrationEvent};
use sip_dialog::{Output, ViaTemplate};
use sip_message::auth::Credentials;
use sip_message::Uri;

/// An account the core keeps registered.
pub(crate) struct AccountEntry<W> {
    pub(crate) account: Account,
    /// Its address of record.
    pub(crate) aor: String,
    pub(crate) credentials: Option<Credentials>,
    /// `register` waiting for the first outcome.
    pub(crate) first: Option<W>,
    /// `refresh_registration` waiting for the refresh's outcome.
    pub(crate) refresh: Vec<W>,
    /// `unregister` waiting for the binding to go.
    pub(crate) removal: Vec<W>,
    /// Why the last REGISTER got no response at all (no address, every target down).
    pub(crate) local_failure: Option<crate::error::Unreachable>,
    /// Where its last REGISTER went: the flow of RFC 5626 (`outbound.rs`).
    pub(crate) flow: Option<sip_message::Peer>,
    /// The addresses its REGISTER may go to (every resolved target of the registrar or
    /// outbound proxy): the sources new requests are taken from while it is registered.
    pub(crate) servers: Vec<std::net::IpAddr>,
    /// The STUN keep-alive of that flow, when it is UDP and we are registered over it.
    pub(crate) keepalive: Option<super::outbound::StunKeepAlive>,
    /// The registrar's Flow-Timer (RFC 5626 §10.6): keep-alives at 80–100 % of it.
    pub(crate) flow_timer: Option<std::time::Duration>,
    /// A UDP flow whose registrar did not answer STUN: no keep-alive is tried on it again.
    pub(crate) stun_refused: Option<sip_message::Peer>,
}

/// What a call needs of its account.
pub(crate) struct CallAccount {
    pub(crate) display_name: Option<String>,
    pub(crate) outbound_proxy: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    /// The GRUU its registrar granted (RFC 5627), for our Contact.
    pub(crate) gruu: Option<String>,
}

impl<W> SessionCore<W> {
    /// The credentials of requests no account makes.
    pub(crate) fn default_credentials(&self) -> Option<Credentials> {
        let credentials = self.cfg.credentials.as_ref().map(|(u, p)| Credentials::new(u.clone(), p.clone()));
        credentials.map(|c| if self.cfg.refuse_md5 { c.without_md5() } else { c })
    }

    /// The account whose address of record `from` is (same user and host).
    pub(crate) fn account_for(&self, from: &str) -> Option<CallAccount> {
        let Ok(Uri::Sip(wanted)) = Uri::parse(from) else { return None };
        self.accounts.iter().find_map(|(id, a)| match Uri::parse(&a.aor) {
            Ok(Uri::Sip(aor))
                if aor.user() == wanted.user() && aor.host_str().eq_ignore_ascii_case(wanted.host_str()) =>
            {
                Some(CallAccount {
                    display_name: a.account.display_name.clone(),
                    outbound_proxy: a.account.outbound_proxy.clone(),
                    credentials: a.credentials.clone(),
                    gruu: self.regs.get(id).and_then(|r| r.gruu()).map(str::to_owned),
                })
            }
            _ => None,
        })
    }

    /// The GRUU of the account a request for `request_uri` came for: the account whose
    /// registered Contact has that user (the registrar rewrote the request to it), if its
    /// registrar granted one.
    pub(crate) fn gruu_for(&self, request_uri: &str) -> Option<String> {
        let Ok(Uri::Sip(target)) = Uri::parse(request_uri) else { return None };
        let user = target.user()?;
        self.accounts.iter().find_map(|(id, a)| {
            if a.account.user != user {
                return None;
            }
            self.regs.get(id).and_then(|r| r.gruu()).map(str::to_owned)
        })
    }

    pub(crate) fn register(&mut self, account: Account, reply: W) {
        match self.start_registration(account) {
            Ok(id) => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.first = Some(reply);
                }
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    fn start_registration(&mut self, account: Account) -> Result<AccountId, SessionError> {
        if !self.cfg.sip_client {
            return Err(SessionError::SipClientDisabled);
        }
        let aor = account.aor()?;
        let transport = self.cfg.transports.first().copied().unwrap_or(sip_message::Transport::Udp);
        let contact =
            format!("sip:{}@{};transport={}", account.user, self.advertised, transport.as_str().to_ascii_lowercase());
        let via = ViaTemplate::new(transport.as_str(), self.advertised.to_string());
        let mut config = AccountConfig::new(account.registrar.clone(), aor.clone(), contact, via);
        config.expires = account.expires;
        config.backoff = self.cfg.registration_backoff;
        config.display_name = account.display_name.clone();
        config.instance_id = Some(self.instance.clone());
        // RFC 5626 §4.2: one flow per account, so one reg-id.
        config.reg_id = self.cfg.outbound.then_some(1);
        config.gruu = account.gruu;
        config.route = account.outbound_proxy.iter().cloned().collect();
        let credentials = account.password.as_ref().map(|p| Credentials::new(account.user.clone(), p.clone()));
        let credentials = credentials.map(|c| if account.refuse_md5 { c.without_md5() } else { c });
        config.credentials = credentials.clone();
        let mut reg = Registration::new(config, Box::new(rand::rngs::StdRng::from_entropy()))
            .map_err(|e| SessionError::InvalidInput(e.to_string()))?;
        reg.register(self.now)?;
        self.next_id += 1;
        let id = AccountId(self.next_id);
        self.regs.insert(id, reg);
        let entry = AccountEntry {
            account,
            aor,
            credentials,
            first: None,
            refresh: Vec::new(),
            removal: Vec::new(),
            local_failure: None,
            flow: None,
            servers: Vec::new(),
            keepalive: None,
            flow_timer: None,
            stun_refused: None,
        };
        self.accounts.insert(id, entry);
        Ok(id)
    }

    pub(crate) fn unregister(&mut self, id: AccountId, reply: Option<W>) {
        let now = self.now;
        let result = match self.regs.get_mut(&id) {
            None => Err(SessionError::NotFound(id.to_string())),
            Some(reg) => reg.unregister(now).map_err(SessionError::from),
        };
        match (result, reply) {
            (Ok(()), Some(w)) => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.removal.push(w);
                }
            }
            (Err(e), Some(w)) => self.reply(w, Err(e)),
            _ => {}
        }
    }

    pub(crate) fn refresh(&mut self, id: AccountId, reply: W) {
        let now = self.now;
        let result = match self.regs.get_mut(&id) {
            None => Err(SessionError::NotFound(id.to_string())),
            Some(reg) => reg.register(now).map_err(SessionError::from),
        };
        match result {
            Ok(()) => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.refresh.push(reply);
                }
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    pub(crate) fn registration_state(&self, id: AccountId) -> Result<Answer, SessionError> {
        self.regs
            .get(&id)
            .map(|r| Answer::Registration(r.state().clone()))
            .ok_or_else(|| SessionError::NotFound(id.to_string()))
    }

    pub(crate) fn registration_output(&mut self, id: AccountId, out: Output<RegistrationEvent>) {
        match out {
            Output::Request(r) => self.send_request(r, Owner::Registrations(id)),
            Output::Event(RegistrationEvent::StateChanged { to, .. }) => self.registration_changed(id, to),
            Output::Response { .. } | Output::Ack(_) => {}
        }
    }

    fn registration_changed(&mut self, id: AccountId, state: RegistrationState) {
        let aor = self.accounts.get(&id).map(|a| a.aor.clone()).unwrap_or_default();
        self.emit(SessionEvent::Registration { account: id, aor, state: state.clone() });
        let Some(a) = self.accounts.get_mut(&id) else { return };
        let local = a.local_failure.take();
        let failure = match &state {
            RegistrationState::AuthFailed { reason } => Some(SessionError::AuthFailed(reason.to_string())),
            RegistrationState::Failed { .. } | RegistrationState::RetryWait { .. } if local.is_some() => {
                local.map(SessionError::Unreachable)
            }
            RegistrationState::Failed { last_status } | RegistrationState::RetryWait { last_status, .. } => {
                Some(SessionError::Rejected {
                    status: last_status.as_u16(),
                    reason: last_status.reason_or_generic().to_owned(),
                })
            }
            _ => None,
        };
        match &state {
            RegistrationState::Registered { .. } => {
                self.start_keepalive(id);
                self.refresh_calls_owed();
            }
            // Refreshing keeps the flow; every other state has none to keep alive.
            RegistrationState::Refreshing { .. } => {}
            _ => {
                if let Some(a) = self.accounts.get_mut(&id) {
                    a.keepalive = None;
                }
            }
        }
        let Some(a) = self.accounts.get_mut(&id) else { return };
        match (&state, failure) {
            (RegistrationState::Registered { .. }, _) => {
                let first = a.first.take();
                let refresh: Vec<W> = a.refresh.drain(..).collect();
                if let Some(w) = first {
                    self.reply(w, Ok(Answer::Account(id)));
                }
                for w in refresh {
                    self.reply(w, Ok(Answer::Unit));
                }
            }
            (_, Some(err)) => {
                let refresh: Vec<W> = a.refresh.drain(..).collect();
                let first = a.first.take();
                for w in refresh {
                    self.reply(w, Err(err.clone()));
                }
                if let Some(w) = first {
                    // The first attempt failed: the caller gets the error and no account to
                    // keep retrying in the background.
                    self.reply(w, Err(err));
                    self.forget_account(id);
                    return;
                }
                if state.is_terminal() {
                    self.forget_account(id);
                }
            }
            // Removed on request, or by a shutdown (which waits for every account to go).
            (RegistrationState::Unregistered, None) if !a.removal.is_empty() || self.shutdown.is_some() => {
                self.forget_account(id)
            }
            _ => {}
        }
    }

    fn forget_account(&mut self, id: AccountId) {
        self.regs.remove(&id);
        if let Some(mut a) = self.accounts.remove(&id) {
            for w in a.removal.drain(..) {
                self.reply(w, Ok(Answer::Unit));
            }
        }
    }
}
