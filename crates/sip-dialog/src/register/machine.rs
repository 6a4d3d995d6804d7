//! [`Registration`]: one account's binding at its registrar (RFC 3261 §10.2), kept alive by
//! refreshes with the same Call-ID and increasing CSeq, authenticated by digest (§22),
//! honouring 423 Min-Expires (§10.2.8), and retried with back-off after failures.

use super::config::AccountConfig;
use super::refresh::{granted_expiry, granted_gruu, refresh_after};
use super::state::{RegistrationEvent, RegistrationState};
use crate::auth::{set_credentials, Authenticator};
use crate::error::DialogError;
use crate::output::{Outbox, Output};
use crate::random::RandomSource;
use crate::via::{top_branch, ViaTemplate};
use sip_message::build::{new_call_id, new_tag};
use sip_message::header::typed::{MinExpires, RetryAfter};
use sip_message::{Method, Request, RequestBuilder, Response, StandardHeader as H, StatusCode};
use std::time::{Duration, Instant};

/// The REGISTER in flight.
#[derive(Debug, Clone)]
struct InFlight {
    branch: String,
    seq: u32,
    /// An unregistration (expires=0)?
    remove: bool,
    /// How many of the stale contacts it removes.
    stale: usize,
}

/// One account's registration, sans-IO: [`register`](Self::register) /
/// [`unregister`](Self::unregister) and the responses go in; REGISTER requests
/// ([`Output::Request`]) and [`RegistrationEvent`]s come out of
/// [`poll_output`](Self::poll_output); refreshes and retries fire from
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
///
/// A timeout or transport failure of a REGISTER's transaction comes back as the 408 or
/// 503 of [`failure_response`](crate::failure_response).
pub struct Registration {
    cfg: AccountConfig,
    rng: Box<dyn RandomSource + Send>,
    state: RegistrationState,
    call_id: String,
    from_tag: String,
    seq: u32,
    /// The expiry asked for now (raised by a 423).
    expires: u32,
    auth: Authenticator,
    in_flight: Option<InFlight>,
    /// An unregistration asked for while a REGISTER was in flight.
    remove_after: bool,
    /// Contacts we registered before our address changed: the next REGISTER removes their
    /// bindings (expires=0) beside the new one (RFC 3261 §10.2.2).
    stale_contacts: Vec<String>,
    /// A change of Contact asked for while a REGISTER was in flight.
    move_after: bool,
    failures: u32,
    /// The public GRUU of our binding (RFC 5627), from the last 2xx.
    gruu: Option<String>,
    binding_until: Option<Instant>,
    timer: Option<Instant>,
    out: Outbox<RegistrationEvent>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("aor", &self.cfg.aor)
            .field("state", &self.state)
            .field("call_id", &self.call_id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Registration {
    /// A registration for `config`, not started. `rng` draws the back-off jitter. The
    /// Call-ID and From tag are chosen now and kept for every REGISTER (§10.2).
    pub fn new(config: AccountConfig, rng: Box<dyn RandomSource + Send>) -> Result<Registration, DialogError> {
        let expires = config.expires;
        let auth = Authenticator::new(config.credentials.clone());
        Ok(Registration {
            rng,
            state: RegistrationState::Unregistered,
            call_id: new_call_id(None)?,
            from_tag: new_tag()?,
            seq: 0,
            expires,
            auth,
            in_flight: None,
            remove_after: false,
            stale_contacts: Vec::new(),
            move_after: false,
            failures: 0,
            gruu: None,
            binding_until: None,
            timer: None,
            out: Outbox::default(),
            cfg: config,
        })
    }

    /// The public GRUU (RFC 5627) the registrar granted with the last 2xx, when
    /// [`AccountConfig::gruu`] asked for one: the URI to put in the Contact of dialogs of
    /// this account, which reaches us through the registrar whatever our flow is.
    pub fn gruu(&self) -> Option<&str> {
        self.gruu.as_deref()
    }

    /// The configuration.
    pub fn config(&self) -> &AccountConfig {
        &self.cfg
    }

    /// The state.
    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// The Call-ID of every REGISTER of this registration.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The expiry asked for now, in seconds.
    pub fn requested_expires(&self) -> u32 {
        self.expires
    }

    /// Until when the registrar holds our binding, as far as we know.
    pub fn binding_until(&self) -> Option<Instant> {
        self.binding_until
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output<RegistrationEvent>> {
        self.out.pop()
    }

    /// When [`Self::handle_timeout`] has work: the refresh or the retry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }

    /// Registers now (or refreshes now, if registered). After a terminal `AuthFailed` or
    /// `Failed` this starts afresh. Refused while an unregistration is in flight.
    pub fn register(&mut self, now: Instant) -> Result<(), DialogError> {
        match self.state {
            RegistrationState::Registering | RegistrationState::Refreshing { .. } => Ok(()),
            RegistrationState::Unregistering => Err(DialogError::InvalidState("an unregistration is in flight")),
            RegistrationState::AuthFailed { .. } | RegistrationState::Failed { .. } => {
                self.failures = 0;
                self.auth = Authenticator::new(self.cfg.credentials.clone());
                self.send(now, false, Vec::new())
            }
            _ => {
                self.remove_after = false;
                self.send(now, false, Vec::new())
            }
        }
    }

    /// Removes our binding (a REGISTER with expires=0, authenticated like the others). With
    /// a REGISTER in flight it goes once that one is answered; with no binding it only stops
    /// retrying.
    pub fn unregister(&mut self, now: Instant) -> Result<(), DialogError> {
        match self.state {
            RegistrationState::Registering | RegistrationState::Refreshing { .. } => {
                self.remove_after = true;
                Ok(())
            }
            RegistrationState::Registered { .. } => self.send(now, true, Vec::new()),
            RegistrationState::RetryWait { .. } if self.binding_until.is_some_and(|t| t > now) => {
                self.send(now, true, Vec::new())
            }
            RegistrationState::RetryWait { .. } => {
                self.timer = None;
                self.set_state(RegistrationState::Unregistered);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Our address changed: from now on we register `contact`, with `via` on our REGISTERs.
    /// When the registrar may hold a binding of the old Contact, the next REGISTER removes
    /// it (expires=0) and adds the new one in one request; it goes now, or, with a REGISTER
    /// in flight, once that one is answered (§10.2: one at a time). A registration that is
    /// not running uses the new Contact when it next registers.
    pub fn change_contact(
        &mut self,
        now: Instant,
        contact: impl Into<String>,
        via: ViaTemplate,
    ) -> Result<(), DialogError> {
        let contact = contact.into();
        self.cfg.via = via;
        if contact == self.cfg.contact {
            return Ok(());
        }
        let old = std::mem::replace(&mut self.cfg.contact, contact);
        let may_be_bound = self.binding_until.is_some() || self.in_flight.is_some();
        if may_be_bound && !self.stale_contacts.contains(&old) {
            self.stale_contacts.push(old);
        }
        match self.state {
            RegistrationState::Registered { .. } | RegistrationState::RetryWait { .. } => {
                self.send(now, false, Vec::new())
            }
            RegistrationState::Registering | RegistrationState::Refreshing { .. } => {
                self.move_after = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Fires the refresh or retry due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer.is_none_or(|t| t > now) {
            return;
        }
        self.timer = None;
        match self.state {
            RegistrationState::Registered { .. } | RegistrationState::RetryWait { .. } => {
                if let Err(e) = self.send(now, false, Vec::new()) {
                    tracing::warn!(aor = %self.cfg.aor, error = %e, "cannot build the REGISTER");
                    self.on_failure(now, StatusCode::SERVER_INTERNAL_ERROR, None);
                }
            }
            _ => {}
        }
    }

    /// A response to a REGISTER; false if it answers none of ours (another request, or an
    /// older REGISTER).
    pub fn handle_response(&mut self, now: Instant, response: Response) -> bool {
        let response = &response;
        let h = response.headers();
        let ours = self.in_flight.as_ref().is_some_and(|f| {
            top_branch(h).as_deref() == Some(f.branch.as_str())
                && h.cseq().is_ok_and(|c| c.seq == f.seq && c.method == Method::Register)
                && h.call_id().is_ok_and(|c| c == self.call_id)
        });
        if !ours {
            return false;
        }
        let status = response.status();
        if status.is_provisional() {
            return true;
        }
        let Some(flight) = self.in_flight.take() else { return true };
        if status.is_success() {
            // The bindings it removed are gone.
            let removed = flight.stale.min(self.stale_contacts.len());
            self.stale_contacts.drain(..removed);
            self.on_success(now, response, flight.remove);
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            match self.auth.answer(response, "REGISTER", &self.cfg.registrar, b"") {
                Ok(creds) => {
                    if let Err(e) = self.send(now, flight.remove, creds) {
                        tracing::warn!(aor = %self.cfg.aor, error = %e, "cannot build the REGISTER");
                        self.on_failure(now, status, None);
                    }
                }
                Err(reason) => {
                    tracing::debug!(aor = %self.cfg.aor, %reason, "authentication failed");
                    self.timer = None;
                    self.binding_until = None;
                    self.set_state(RegistrationState::AuthFailed { reason });
                }
            }
        } else if status == StatusCode::INTERVAL_TOO_BRIEF && !flight.remove {
            let min = h.typed_opt::<MinExpires>().ok().flatten().map(|m| m.0);
            match min {
                // §10.2.8: ask again with at least Min-Expires.
                Some(min) if min > self.expires => {
                    self.expires = min;
                    if let Err(e) = self.send(now, false, Vec::new()) {
                        tracing::warn!(aor = %self.cfg.aor, error = %e, "cannot build the REGISTER");
                        self.on_failure(now, status, None);
                    }
                }
                _ => self.on_failure(now, status, None),
            }
        } else if flight.remove {
            // The binding will expire by itself; there is nothing to retry for.
            self.binding_until = None;
            self.set_state(RegistrationState::Unregistered);
        } else {
            let retry_after = h.typed_opt::<RetryAfter>().ok().flatten().map(|r| Duration::from_secs(r.delta.into()));
            self.on_failure(now, status, retry_after);
        }
        true
    }

    fn on_success(&mut self, now: Instant, response: &Response, removed: bool) {
        self.auth.succeeded();
        self.failures = 0;
        if removed {
            self.timer = None;
            self.binding_until = None;
            self.gruu = None;
            self.set_state(RegistrationState::Unregistered);
            return;
        }
        let granted = granted_expiry(response, &self.cfg.contact, self.cfg.instance_id.as_deref(), self.expires);
        if granted == 0 {
            tracing::debug!(aor = %self.cfg.aor, "the registrar granted no time");
            self.on_failure(now, response.status(), None);
            return;
        }
        // RFC 5627 §4.2: the GRUU of the most recent 2xx is the one to use (none if the
        // registrar stopped granting one).
        self.gruu = if self.cfg.gruu {
            granted_gruu(response, &self.cfg.contact, self.cfg.instance_id.as_deref())
        } else {
            None
        };
        let granted = Duration::from_secs(granted.into());
        let expires_at = now + granted;
        let refresh_at = now + refresh_after(granted);
        self.binding_until = Some(expires_at);
        self.timer = Some(refresh_at);
        self.set_state(RegistrationState::Registered { expires_at, refresh_at });
        if std::mem::take(&mut self.remove_after) {
            if let Err(e) = self.send(now, true, Vec::new()) {
                tracing::warn!(aor = %self.cfg.aor, error = %e, "cannot build the unregistration");
            }
        } else if std::mem::take(&mut self.move_after) {
            if let Err(e) = self.send(now, false, Vec::new()) {
                tracing::warn!(aor = %self.cfg.aor, error = %e, "cannot build the REGISTER");
            }
        }
    }

    /// A failure: wait and retry (RFC 5626 §4.5 back-off, at least any Retry-After up to the
    /// back-off's maximum), or give up after `max_failures`.
    fn on_failure(&mut self, now: Instant, status: StatusCode, retry_after: Option<Duration>) {
        self.failures = self.failures.saturating_add(1);
        if std::mem::take(&mut self.remove_after) {
            self.timer = None;
            self.binding_until = None;
            self.set_state(RegistrationState::Unregistered);
            return;
        }
        if self.cfg.max_failures.is_some_and(|max| self.failures >= max) {
            self.timer = None;
            self.set_state(RegistrationState::Failed { last_status: status });
            return;
        }
        let mut wait = self.cfg.backoff.delay(self.failures, &mut *self.rng);
        if let Some(ra) = retry_after {
            wait = wait.max(ra.min(self.cfg.backoff.max));
        }
        let retry_at = now + wait;
        tracing::debug!(aor = %self.cfg.aor, status = status.as_u16(), failures = self.failures, ?wait, "REGISTER failed");
        self.timer = Some(retry_at);
        self.set_state(RegistrationState::RetryWait { retry_at, failures: self.failures, last_status: status });
    }

    /// Sends the next REGISTER (CSeq + 1, same Call-ID, new branch) with `creds`, or with
    /// credentials from challenges answered before.
    fn send(&mut self, now: Instant, remove: bool, creds: Vec<crate::auth::AuthHeader>) -> Result<(), DialogError> {
        let mut request = self.build(remove)?;
        let creds = if creds.is_empty() { self.auth.preauthorize("REGISTER", &self.cfg.registrar, b"") } else { creds };
        set_credentials(&mut request, creds);
        let branch = top_branch(request.headers()).unwrap_or_default();
        self.in_flight = Some(InFlight { branch, seq: self.seq, remove, stale: self.stale_contacts.len() });
        self.timer = None;
        let next = if remove {
            RegistrationState::Unregistering
        } else {
            match self.binding_until {
                Some(expires_at) if expires_at > now => RegistrationState::Refreshing { expires_at },
                _ => RegistrationState::Registering,
            }
        };
        if self.state != next {
            self.set_state(next);
        }
        self.out.push(Output::Request(request));
        Ok(())
    }

    fn build(&mut self, remove: bool) -> Result<Request, DialogError> {
        let seq = self.seq.checked_add(1).filter(|s| *s <= i32::MAX as u32).unwrap_or(1);
        let c = &self.cfg;
        let (via, _) = c.via.render()?;
        let display = c.display_name.as_deref();
        let mut b = RequestBuilder::new(Method::Register, c.registrar.clone())
            .from(display, c.aor.clone())
            .from_tag(self.from_tag.clone())
            .to(display, c.aor.clone())
            .via(&c.via.transport, c.via.sent_by.clone())
            .call_id(self.call_id.clone())
            .cseq(seq)
            .contact(c.contact_value(remove))
            .header(H::Expires, if remove { "0".to_owned() } else { self.expires.to_string() });
        let gruu = c.gruu && c.instance_id.is_some();
        match (c.reg_id.is_some(), gruu) {
            (true, true) => b = b.header(H::Supported, "outbound, path, gruu"),
            (true, false) => b = b.header(H::Supported, "outbound, path"),
            (false, true) => b = b.header(H::Supported, "gruu"),
            (false, false) => {}
        }
        for stale in &self.stale_contacts {
            let uri = stale.trim();
            let value = if uri.starts_with('<') { uri.to_owned() } else { format!("<{uri}>") };
            b = b.header(H::Contact, format!("{value};expires=0"));
        }
        for r in &c.route {
            b = b.header(H::Route, r.clone());
        }
        let mut request = b.build()?;
        // The builder's Via, with the template's rport choice and a branch of our own.
        request.headers_mut().set(H::Via, via);
        self.seq = seq;
        Ok(request)
    }

    fn set_state(&mut self, to: RegistrationState) {
        let from = std::mem::replace(&mut self.state, to.clone());
        self.out.push(Output::Event(RegistrationEvent::StateChanged { from, to }));
    }
}
