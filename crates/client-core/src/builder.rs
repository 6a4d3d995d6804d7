//! [`ClientBuilder`]: a [`ClientConfig`] built in code, section by section, or loaded from
//! TOML, then checked and turned into a [`ClientManager`].

use crate::config::{
    AccountConfig, CallConfig, ClientConfig, MediaConfig, NetworkConfig, SecurityConfig, TelemetryConfig,
};
use crate::handler::{DynHandler, IncomingCallHandler};
use crate::recovery::RetryConfig;
use crate::{ClientError, ClientManager};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Builds a [`ClientManager`].
///
/// ```no_run
/// use client_core::{AccountConfig, ClientBuilder};
/// # async fn demo() -> Result<(), client_core::ClientError> {
/// let client = ClientBuilder::new()
///     .local_address("0.0.0.0:0".parse().expect("an address"))
///     .user_agent("acme-agent/1.0")
///     .with_media(|m| {
///         m.codecs = vec!["PCMA".into(), "PCMU".into()];
///         m.rtp_port_min = 30000;
///         m.rtp_port_max = 30999;
///     })
///     .account(AccountConfig::new("alice", Some("secret".into()), "sip:pbx.example.com"))
///     .auto_answer(true)
///     .build()
///     .await?;
/// client.start().await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    config: ClientConfig,
    handler: Option<Arc<dyn DynHandler>>,
    wire_tap: Option<crate::WireTap>,
    media_tap: Option<crate::MediaTap>,
}

impl ClientBuilder {
    /// The defaults (see [`ClientConfig`]).
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Starts from a whole configuration.
    pub fn from_config(config: ClientConfig) -> ClientBuilder {
        ClientBuilder { config, handler: None, wire_tap: None, media_tap: None }
    }

    /// Starts from a TOML file (checked at [`Self::build`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ClientBuilder, ClientError> {
        Ok(ClientBuilder::from_config(ClientConfig::from_file(path)?))
    }

    /// The SIP listening address (`0.0.0.0:0`, a free port, by default).
    pub fn local_address(mut self, addr: SocketAddr) -> Self {
        self.config.network.local_address = addr;
        self
    }

    /// With a wildcard local address, listen on the interface that routes towards `uri`.
    pub fn listen_towards(mut self, uri: impl Into<String>) -> Self {
        self.config.network.listen_towards = Some(uri.into());
        self
    }

    /// Sees every SIP message sent and received (a `--trace`, a capture file).
    pub fn wire_tap(mut self, tap: crate::WireTap) -> Self {
        self.wire_tap = Some(tap);
        self
    }

    /// Sees every RTP datagram of every call (a capture file).
    pub fn media_tap(mut self, tap: crate::MediaTap) -> Self {
        self.media_tap = Some(tap);
        self
    }

    /// The User-Agent header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.config.network.user_agent = ua.into();
        self
    }

    /// Changes the network section.
    pub fn with_network(mut self, f: impl FnOnce(&mut NetworkConfig)) -> Self {
        f(&mut self.config.network);
        self
    }

    /// Changes the media section.
    pub fn with_media(mut self, f: impl FnOnce(&mut MediaConfig)) -> Self {
        f(&mut self.config.media);
        self
    }

    /// Changes the calls section.
    pub fn with_calls(mut self, f: impl FnOnce(&mut CallConfig)) -> Self {
        f(&mut self.config.calls);
        self
    }

    /// Changes the registration section.
    pub fn with_registration(mut self, f: impl FnOnce(&mut crate::config::RegistrationConfig)) -> Self {
        f(&mut self.config.registration);
        self
    }

    /// Changes the security section.
    pub fn with_security(mut self, f: impl FnOnce(&mut SecurityConfig)) -> Self {
        f(&mut self.config.security);
        self
    }

    /// Changes the telemetry section.
    pub fn with_telemetry(mut self, f: impl FnOnce(&mut TelemetryConfig)) -> Self {
        f(&mut self.config.telemetry);
        self
    }

    /// How a first registration that fails is retried.
    pub fn registration_retry(mut self, retry: RetryConfig) -> Self {
        self.config.registration.retry = retry;
        self
    }

    /// Adds an account (registered at start unless its `register` is false).
    pub fn account(mut self, account: AccountConfig) -> Self {
        self.config.accounts.push(account);
        self
    }

    /// Answers every incoming call at once when no handler is set.
    pub fn auto_answer(mut self, yes: bool) -> Self {
        self.config.calls.auto_answer = yes;
        self
    }

    /// Sends a sine tone of `hz` as our audio (a test signal) instead of silence.
    pub fn tone(mut self, hz: Option<f32>) -> Self {
        self.config.media.tone_hz = hz;
        self
    }

    /// Decides incoming calls in code.
    pub fn with_handler<H: IncomingCallHandler>(mut self, handler: H) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Checks the configuration and makes the client (not started: see
    /// [`ClientManager::start`]). A field that cannot work is a
    /// [`ClientError::Config`] naming it and the fix.
    pub async fn build(self) -> Result<Arc<ClientManager>, ClientError> {
        self.config.validate()?;
        Ok(ClientManager::new(self.config, self.handler, (self.wire_tap, self.media_tap)))
    }
}
