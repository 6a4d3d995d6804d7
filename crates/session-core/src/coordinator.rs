//! [`SessionCoordinator`]: the handle an application holds. It starts the endpoint and the
//! driver task, and turns each API call into a command for that task (or, for requests
//! outside calls, sends them itself).

use crate::api::*;
use crate::builder::SessionConfig;
use crate::driver::handler::HandlerRunner;
use crate::driver::{Command, Driver, ResourceCounts};
use crate::error::SessionError;
use sip_dialog::{CallConfig, Calls, Registrations, ViaTemplate};
use sip_endpoint::{Endpoint, EndpointConfig, EndpointError};
use sip_message::auth::{Challenge, Credentials, DigestClient};
use sip_message::{Method, Peer, Request, RequestBuilder, Response, StandardHeader, StatusCode};
use sip_resolve::{Resolver, ResolverConfig};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// The session layer of one user agent: calls, registrations and their media, driven by
/// one task. Build it with [`SessionManagerBuilder`](crate::SessionManagerBuilder); use it
/// through [`SessionControl`], [`MediaControl`] and [`SipClient`]. Dropping the last `Arc`
/// stops the task and frees every socket; [`Self::shutdown`] first hangs up and unregisters.
#[derive(Debug)]
pub struct SessionCoordinator {
    cmd: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<SessionEvent>,
    endpoint: Endpoint,
    resolver: Resolver,
    config: SessionConfig,
    advertised: SocketAddr,
}

/// The address others reach us at: `ip` unless it is a wildcard, then the interface that
/// routes towards the internet (no packet is sent), then loopback.
fn advertised_ip(ip: IpAddr, public: Option<IpAddr>) -> IpAddr {
    if let Some(p) = public {
        return p;
    }
    if !ip.is_unspecified() {
        return ip;
    }
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).and_then(|_| s.local_addr()));
    match probe {
        Ok(a) if !a.ip().is_unspecified() => a.ip(),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

impl SessionCoordinator {
    pub(crate) async fn start(
        mut config: SessionConfig,
        handler: HandlerRunner,
    ) -> Result<Arc<SessionCoordinator>, SessionError> {
        if config.transports.is_empty() {
            return Err(SessionError::InvalidInput("no transport to listen on".into()));
        }
        let mut ep = EndpointConfig::default();
        for t in &config.transports {
            ep.transport.listen.push((*t, config.local_address));
        }
        ep.transaction.t1 = config.timers.0;
        ep.transaction.t2 = config.timers.1;
        ep.wire_tap = config.wire_tap.clone();
        ep.impairment = config.impairment;
        let (endpoint, incoming) = Endpoint::start(ep).await.map_err(|e| SessionError::Unreachable(e.to_string()))?;
        let transport = config.transports[0];
        let bound = endpoint
            .local_addr(transport)
            .ok_or_else(|| SessionError::Internal("the transport did not report its address".into()))?;
        let ip = advertised_ip(bound.ip(), config.public_ip);
        let advertised = SocketAddr::new(ip, bound.port());
        if config.media.ip.is_unspecified() {
            // SDP must carry an address the peer can send to: c=0.0.0.0 means hold.
            config.media.ip = ip;
        }
        let resolver_config = if config.dns_servers.is_empty() {
            ResolverConfig::system()
        } else {
            ResolverConfig::with_name_servers(config.dns_servers.iter().copied())
        };
        let resolver = Resolver::new(resolver_config).map_err(|e| SessionError::Internal(format!("DNS: {e}")))?;
        let mut call_config = CallConfig::new(
            format!("sip:sipline@{advertised}"),
            ViaTemplate::new(transport.as_str(), advertised.to_string()),
        );
        call_config.t1 = config.timers.0;
        call_config.t2 = config.timers.1;
        call_config.no_answer_timeout = config.no_answer_timeout;
        let rng: Box<dyn sip_dialog::RandomSource + Send> =
            Box::new(<rand::rngs::StdRng as rand::SeedableRng>::from_entropy());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (notes_tx, notes_rx) = mpsc::unbounded_channel();
        let (handler_tx, handler_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        handler.start(handler_rx, cmd_tx.downgrade());
        let instance = format!("urn:uuid:{}", instance_uuid());
        let driver = Driver {
            cfg: config.clone(),
            advertised,
            instance,
            endpoint: endpoint.clone(),
            incoming,
            cmd_rx,
            notes_tx,
            notes_rx,
            handler: handler_tx,
            events: events.clone(),
            calls: Calls::new(call_config, rng),
            regs: Registrations::new(),
            accounts: HashMap::new(),
            sessions: HashMap::new(),
            by_key: HashMap::new(),
            prepared: HashMap::new(),
            server_txs: HashMap::new(),
            recent_ends: Default::default(),
            ring_deadlines: Default::default(),
            resolver: resolver.clone(),
            next_id: 0,
            shutdown: None,
        };
        tokio::spawn(driver.run());
        Ok(Arc::new(SessionCoordinator { cmd: cmd_tx, events, endpoint, resolver, config, advertised }))
    }

    /// Every [`SessionEvent`] from now on. A receiver that falls more than 1024 events behind
    /// loses the oldest (tokio's broadcast semantics).
    pub fn subscribe_events(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// The address our SIP listener is reachable at (as put in Via and Contact).
    pub fn local_sip_addr(&self) -> SocketAddr {
        self.advertised
    }

    /// A URI that reaches this user agent directly: `sip:USER@IP:PORT`.
    pub fn local_uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.advertised)
    }

    /// The settings it runs with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// What it holds right now (sessions, calls, dialogs, media streams, server
    /// transactions, registrations): all zero once every call and registration has ended.
    pub async fn resource_counts(&self) -> ResourceCounts {
        self.ask(|reply| Command::Counts { reply }).await.unwrap_or_default()
    }

    /// Hangs up every call, removes every registration, waits for both (at most 64·T1,
    /// capped at 10 s), then stops the stack.
    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(make(tx)).map_err(|_| SessionError::Closed)?;
        rx.await.map_err(|_| SessionError::Closed)
    }

    async fn ask_result<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SessionError>>) -> Command,
    ) -> Result<T, SessionError> {
        self.ask(make).await?
    }

    /// A request outside any dialog, sent by this handle (not the driver: nothing in it
    /// needs the call state), with one answer to a digest challenge.
    async fn request_outside(
        &self,
        method: Method,
        uri: &str,
        headers: Vec<(String, String)>,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<SipResponse, SessionError> {
        if !self.config.sip_client {
            return Err(SessionError::SipClientDisabled);
        }
        let from = self.config.from_uri.clone().unwrap_or_else(|| self.local_uri("sipline"));
        let (peer, name) = crate::driver::resolve_uri(&self.resolver, uri, &self.config.transports)
            .await
            .map_err(SessionError::Unreachable)?;
        let call_id = sip_message::build::new_call_id(None).map_err(|e| SessionError::Internal(e.to_string()))?;
        let tag = sip_message::build::new_tag().map_err(|e| SessionError::Internal(e.to_string()))?;
        let build = |cseq: u32, auth: Option<(StandardHeader, String)>| -> Result<Request, SessionError> {
            let transport = self.config.transports[0];
            let mut b = RequestBuilder::new(method.clone(), uri)
                .from(None, from.clone())
                .from_tag(tag.clone())
                .to(None, uri)
                .call_id(call_id.clone())
                .cseq(cseq)
                .via(transport.as_str(), self.advertised.to_string())
                .rport()
                .contact(self.local_uri("sipline"))
                .header("User-Agent", self.config.user_agent.clone());
            for (n, v) in &headers {
                b = b.header(n.as_str(), v.clone());
            }
            if let Some((h, v)) = auth {
                b = b.header(h, v);
            }
            if let Some((ct, bytes)) = &body {
                b = b.body(ct.clone(), bytes.clone());
            }
            b.build().map_err(|e| SessionError::InvalidInput(e.to_string()))
        };
        let request = build(1, None)?;
        let response = self.exchange(request.clone(), peer, name.clone()).await?;
        let challenged =
            matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        let creds = self.config.credentials.as_ref().map(|(u, p)| Credentials::new(u.clone(), p.clone()));
        let (true, Some(creds)) = (challenged, creds) else { return Ok(crate::driver::to_sip_response(&response)) };
        let (header, challenge) = first_challenge(&response)
            .ok_or_else(|| SessionError::AuthFailed("no digest challenge we can answer".into()))?;
        let body_bytes = body.as_ref().map(|(_, b)| b.as_slice()).unwrap_or(&[]);
        let authorization = DigestClient::new()
            .respond(&challenge, &creds, method.as_str(), uri, body_bytes)
            .map_err(|e| SessionError::AuthFailed(e.to_string()))?;
        let retry = build(2, Some((header, authorization.to_string())))?;
        let response = self.exchange(retry, peer, name).await?;
        Ok(crate::driver::to_sip_response(&response))
    }

    async fn exchange(&self, request: Request, peer: Peer, name: Option<String>) -> Result<Response, SessionError> {
        let mut tx = self.endpoint.send_request_named(request, peer, name).await.map_err(endpoint_error)?;
        tx.final_response().await.map_err(endpoint_error)
    }
}

fn first_challenge(response: &Response) -> Option<(StandardHeader, Challenge)> {
    let h = response.headers();
    if response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        h.proxy_authenticate().find_map(Result::ok).map(|c| (StandardHeader::ProxyAuthorization, c))
    } else {
        h.www_authenticate().find_map(Result::ok).map(|c| (StandardHeader::Authorization, c))
    }
}

fn endpoint_error(e: EndpointError) -> SessionError {
    match e {
        EndpointError::Timeout => SessionError::Timeout,
        EndpointError::Closed => SessionError::Closed,
        other => SessionError::Unreachable(other.to_string()),
    }
}

/// A random RFC 4122 version-4 UUID for our +sip.instance (RFC 5626 §4.1).
fn instance_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl SessionControl for SessionCoordinator {
    async fn create_outgoing_call(
        &self,
        from: &str,
        to: &str,
        sdp: Option<String>,
    ) -> Result<CallSession, SessionError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        let prepared = self.ask_result(|reply| Command::Prepare { from, to, sdp, reply }).await?;
        self.initiate_prepared_call(&prepared).await
    }

    async fn prepare_outgoing_call(&self, from: &str, to: &str) -> Result<PreparedCall, SessionError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.ask_result(|reply| Command::Prepare { from, to, sdp: None, reply }).await
    }

    async fn initiate_prepared_call(&self, prepared: &PreparedCall) -> Result<CallSession, SessionError> {
        let id = prepared.id;
        self.ask_result(|reply| Command::Initiate { id, reply }).await
    }

    async fn accept_incoming_call(&self, id: SessionId, sdp: Option<String>) -> Result<CallSession, SessionError> {
        self.ask_result(|reply| Command::Answer { id, decision: CallDecision::Accept(sdp), reply }).await?;
        self.get_session(id).await.ok_or_else(|| SessionError::NotFound(id.to_string()))
    }

    async fn reject_incoming_call(&self, id: SessionId, status: u16, reason: &str) -> Result<(), SessionError> {
        let decision = CallDecision::Reject(status, reason.to_owned());
        self.ask_result(|reply| Command::Answer { id, decision, reply }).await
    }

    async fn terminate_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Terminate { id, reply }).await
    }

    async fn hold_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Hold { id, hold: true, reply }).await
    }

    async fn resume_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Hold { id, hold: false, reply }).await
    }

    async fn set_audio_muted(&self, id: SessionId, muted: bool) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Mute { id, muted, reply }).await
    }

    async fn get_session(&self, id: SessionId) -> Option<CallSession> {
        self.ask(|reply| Command::Get { id, reply }).await.ok().flatten()
    }

    async fn list_active_sessions(&self) -> Vec<CallSession> {
        self.ask(|reply| Command::List { reply }).await.unwrap_or_default()
    }

    async fn wait_for_answer(&self, id: SessionId, timeout: Duration) -> Result<CallSession, SessionError> {
        match tokio::time::timeout(timeout, self.ask_result(|reply| Command::WaitAnswer { id, reply })).await {
            Ok(r) => r,
            Err(_) => Err(SessionError::Timeout),
        }
    }

    async fn wait_for_end(&self, id: SessionId) -> Result<EndInfo, SessionError> {
        self.ask_result(|reply| Command::WaitEnd { id, reply }).await
    }
}

impl MediaControl for SessionCoordinator {
    async fn get_media_info(&self, id: SessionId) -> Result<MediaInfo, SessionError> {
        self.ask_result(|reply| Command::MediaInfo { id, reply }).await
    }

    async fn get_rtp_statistics(&self, id: SessionId) -> Result<RtpStats, SessionError> {
        self.ask_result(|reply| Command::Stats { id, reply }).await
    }

    async fn get_received_audio(&self, id: SessionId) -> Result<Vec<i16>, SessionError> {
        self.ask_result(|reply| Command::Audio { id, reply }).await
    }
}

impl SipClient for SessionCoordinator {
    async fn register(&self, account: Account) -> Result<AccountId, SessionError> {
        self.ask_result(|reply| Command::Register { account, reply }).await
    }

    async fn unregister(&self, account: AccountId) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Unregister { id: account, reply }).await
    }

    async fn refresh_registration(&self, account: AccountId) -> Result<(), SessionError> {
        self.ask_result(|reply| Command::Refresh { id: account, reply }).await
    }

    async fn registration_state(&self, account: AccountId) -> Result<RegistrationState, SessionError> {
        self.ask_result(|reply| Command::RegState { id: account, reply }).await
    }

    async fn send_options(&self, uri: &str) -> Result<SipResponse, SessionError> {
        self.request_outside(Method::Options, uri, vec![("Accept".into(), "application/sdp".into())], None).await
    }

    async fn send_request(
        &self,
        method: &str,
        uri: &str,
        headers: Vec<(String, String)>,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<SipResponse, SessionError> {
        let method = Method::from_token(method)
            .ok_or_else(|| SessionError::InvalidInput(format!("'{method}' is not a method name")))?;
        if matches!(method, Method::Invite | Method::Ack | Method::Cancel | Method::Bye) {
            return Err(SessionError::InvalidInput(format!("{method} belongs to calls: use SessionControl")));
        }
        self.request_outside(method, uri, headers, body).await
    }
}
