//! [`SessionCoordinator`]: the handle an application holds. It binds the transports, starts
//! the driver task, and turns each API call into a command for that task.

use crate::api::*;
use crate::builder::SessionConfig;
use crate::core::{Answer, Command, Counters, ResourceCounts, SessionCore};
use crate::driver::handler::HandlerRunner;
use crate::driver::{Driver, MediaOp, Request};
use crate::error::{MediaFailure, SessionError};
use media_core::{AudioFrames, AudioSource};
use sip_endpoint::Dropper;
use sip_message::Method;
use sip_resolve::{Resolver, ResolverConfig};
use sip_transport::{TransportConfig, TransportLayer};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The session layer of one user agent: calls, registrations and their media, driven by
/// one task. Build it with [`SessionManagerBuilder`](crate::SessionManagerBuilder); use it
/// through [`SessionControl`], [`MediaControl`] and [`SipClient`]. Dropping the last `Arc`
/// stops the task and frees every socket; [`Self::shutdown`] first hangs up and unregisters.
#[derive(Debug)]
pub struct SessionCoordinator {
    requests: mpsc::UnboundedSender<Request>,
    events: broadcast::Sender<SessionEvent>,
    config: SessionConfig,
    /// Our SIP address as others reach it (it moves with [`Self::change_local_address`]).
    advertised: std::sync::RwLock<SocketAddr>,
}

/// The address others reach us at: `ip` unless it is a wildcard, then the interface that
/// routes towards the wider network, then loopback.
fn advertised_ip(ip: IpAddr, public: Option<IpAddr>) -> IpAddr {
    if let Some(p) = public {
        return p;
    }
    if !ip.is_unspecified() {
        return ip;
    }
    routed_ip(ip).unwrap_or(match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    })
}

/// The address the routing table uses towards the wider network in the family of
/// `family`: what a host listening on every interface is reached at, and what changes when
/// it moves to another network. No packet is sent (a UDP socket is only connected, to a
/// documentation address: RFC 5737, RFC 3849). `None` without such a route.
pub fn routed_ip(family: IpAddr) -> Option<IpAddr> {
    let probe: SocketAddr = match family {
        IpAddr::V4(_) => (Ipv4Addr::new(192, 0, 2, 1), 9).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9).into(),
    };
    Some(local_ip_towards(probe)).filter(|ip| !ip.is_unspecified())
}

/// The local address the system would use to reach `remote` (no packet is sent).
fn local_ip_towards(remote: SocketAddr) -> IpAddr {
    let any: SocketAddr =
        if remote.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    UdpSocket::bind(any).and_then(|s| s.connect(remote).and_then(|_| s.local_addr())).map_or(any.ip(), |a| a.ip())
}

/// The answer a command expects, or the error for another (which would be a bug).
fn expect<T>(answer: Answer, pick: impl FnOnce(Answer) -> Option<T>) -> Result<T, SessionError> {
    pick(answer).ok_or(SessionError::Bug("the core answered a command with another's answer"))
}

impl SessionCoordinator {
    pub(crate) async fn start(
        mut config: SessionConfig,
        handler: HandlerRunner,
    ) -> Result<Arc<SessionCoordinator>, SessionError> {
        if config.transports.is_empty() {
            return Err(SessionError::InvalidInput("no transport to listen on".into()));
        }
        let resolver_config = if config.dns_servers.is_empty() {
            ResolverConfig::system()
        } else {
            ResolverConfig::with_name_servers(config.dns_servers.iter().copied())
        };
        let resolver = Resolver::new(resolver_config).map_err(SessionError::Resolver)?;
        if let (true, Some(uri)) = (config.local_address.ip().is_unspecified(), config.listen_towards.as_deref()) {
            // One interface, the one that reaches the peer: loopback for a peer on loopback,
            // so nothing of ours leaves the machine for a local call.
            match crate::driver::resolve(&resolver, uri, &config.transports).await {
                Ok(targets) => {
                    if let Some(t) = targets.first() {
                        config.local_address.set_ip(local_ip_towards(t.addr));
                    }
                }
                Err(e) => tracing::debug!(%uri, error = ?e, "no route to pick the interface by; listening on all"),
            }
        }
        let mut tc = TransportConfig { keepalive_interval: config.keepalive, ..TransportConfig::default() };
        if let Some(ca) = &config.trust_ca_file {
            tc.trust = sip_transport::TrustRoots::SystemAndPemFile(ca.clone());
        }
        for t in &config.transports {
            tc.listen.push((*t, config.local_address));
        }
        let (transport, transport_rx) = TransportLayer::bind(tc).await.map_err(SessionError::Transport)?;
        let bound = transport
            .local_addr(config.transports[0])
            .ok_or(SessionError::Bug("the transport did not report the address it listens on"))?;
        let ip = advertised_ip(bound.ip(), config.public_ip);
        let advertised = SocketAddr::new(ip, bound.port());
        if config.media.ip.is_unspecified() && !bound.ip().is_unspecified() && config.public_ip.is_none() {
            // Media listens where SIP does.
            config.media.ip = bound.ip();
        }
        // Otherwise RTP binds the wildcard too, and the core names the address we are
        // reached at in our SDP (c=0.0.0.0 would mean hold), following it when it changes.
        let rng: Box<dyn sip_dialog::RandomSource + Send> =
            Box::new(<rand::rngs::StdRng as rand::SeedableRng>::from_entropy());
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let (handler_tx, handler_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        handler.start(handler_rx, requests.downgrade());
        let instance = format!("urn:uuid:{}", instance_uuid());
        let core = SessionCore::new(config.clone(), advertised, instance, rng, Instant::now());
        let driver = Driver::new(
            core,
            (transport, transport_rx),
            requests_rx,
            handler_tx,
            events.clone(),
            resolver,
            config.media.clone(),
            config.wire_tap.clone(),
            config.impairment.map(Dropper::new),
        );
        tokio::spawn(driver.run());
        let advertised = std::sync::RwLock::new(advertised);
        Ok(Arc::new(SessionCoordinator { requests, events, config, advertised }))
    }

    /// Every [`SessionEvent`] from now on. A receiver that falls more than 1024 events behind
    /// loses the oldest (tokio's broadcast semantics).
    pub fn subscribe_events(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// The address our SIP listener is reachable at (as put in Via and Contact).
    pub fn local_sip_addr(&self) -> SocketAddr {
        *self.advertised.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A URI that reaches this user agent directly: `sip:USER@IP:PORT`.
    pub fn local_uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.local_sip_addr())
    }

    /// Our address changed (the host moved to another network): from now on we are reached
    /// at `ip`, on the same port. Every account registers its new Contact and removes the
    /// old binding in the same REGISTER; every call that is up is refreshed with a
    /// re-INVITE whose Contact and SDP name the new address;
    /// [`SessionEvent::AddressChanged`] tells of it. Returns once that has started.
    ///
    /// Only a coordinator listening on a wildcard address (`0.0.0.0:PORT` or `[::]:PORT`,
    /// without `listen_towards`) can follow a change: a socket bound to the old address
    /// cannot receive at the new one, and is refused with [`SessionError::InvalidInput`].
    pub async fn change_local_address(&self, ip: IpAddr) -> Result<(), SessionError> {
        let bound = self.config.local_address.ip();
        if !bound.is_unspecified() && bound != ip {
            return Err(SessionError::InvalidInput(format!(
                "listening on {bound} only, so {ip} cannot reach us: listen on a wildcard address to follow address changes"
            )));
        }
        if bound.is_ipv4() != ip.is_ipv4() {
            return Err(SessionError::InvalidInput(format!("{ip} is not of the family of our sockets ({bound})")));
        }
        self.ask(Command::ChangeAddress { ip }, |a| matches!(a, Answer::Unit).then_some(())).await?;
        let mut advertised = self.advertised.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        advertised.set_ip(ip);
        Ok(())
    }

    /// The settings it runs with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// What it holds right now (sessions, calls, dialogs, media streams, server
    /// transactions, registrations): all zero once every call and registration has ended.
    pub async fn resource_counts(&self) -> ResourceCounts {
        self.ask(Command::Counts, |a| match a {
            Answer::Counts(c) => Some(c),
            _ => None,
        })
        .await
        .unwrap_or_default()
    }

    /// What it has turned away or dropped since it started: datagrams that were not SIP,
    /// messages it could not use, calls refused because it was behind or full.
    pub async fn counters(&self) -> Counters {
        self.ask(Command::Counters, |a| match a {
            Answer::Counters(c) => Some(c),
            _ => None,
        })
        .await
        .unwrap_or_default()
    }

    /// The RTP statistics of every call with a stream, in one request to the driver (what a
    /// quality monitor of thousands of calls asks instead of one request per call).
    pub async fn all_rtp_statistics(&self) -> Vec<(SessionId, RtpStats)> {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::AllStats { reply: tx }).is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Hangs up every call, removes every registration, waits for both (at most 64·T1,
    /// capped at 10 s), then stops the stack.
    pub async fn shutdown(&self) {
        let _ = self.ask_unit(Command::Shutdown).await;
    }

    /// Sends `command` to the core and waits for its answer.
    async fn ask<T>(&self, command: Command, pick: impl FnOnce(Answer) -> Option<T>) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(Request::Core(command, tx)).map_err(|_| SessionError::Closed)?;
        let answer = rx.await.map_err(|_| SessionError::Closed)??;
        expect(answer, pick)
    }

    async fn ask_unit(&self, command: Command) -> Result<(), SessionError> {
        self.ask(command, |a| match a {
            Answer::Unit => Some(()),
            _ => None,
        })
        .await
    }

    async fn ask_session(&self, command: Command) -> Result<CallSession, SessionError> {
        self.ask(command, |a| match a {
            Answer::Session(s) => Some(s),
            _ => None,
        })
        .await
    }

    async fn ask_driver<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SessionError>>) -> Request,
    ) -> Result<T, SessionError> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(make(tx)).map_err(|_| SessionError::Closed)?;
        rx.await.map_err(|_| SessionError::Closed)?
    }

    async fn request_outside(
        &self,
        method: Method,
        uri: &str,
        options: RequestOptions,
    ) -> Result<SipResponse, SessionError> {
        let RequestOptions { headers, body, target_timeout, from } = options;
        let req = crate::core::OutsideRequest { method, uri: uri.to_owned(), headers, body, target_timeout, from };
        self.ask(Command::Request(req), |a| match a {
            Answer::Response(r) => Some(r),
            _ => None,
        })
        .await
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
        self.create_outgoing_call_with(from, to, CallOptions { sdp, headers: Vec::new() }).await
    }

    async fn create_outgoing_call_with(
        &self,
        from: &str,
        to: &str,
        options: CallOptions,
    ) -> Result<CallSession, SessionError> {
        let prepared = self.prepare_outgoing_call_with(from, to, options).await?;
        self.initiate_prepared_call(&prepared).await
    }

    async fn prepare_outgoing_call(&self, from: &str, to: &str) -> Result<PreparedCall, SessionError> {
        self.prepare_outgoing_call_with(from, to, CallOptions::default()).await
    }

    async fn prepare_outgoing_call_with(
        &self,
        from: &str,
        to: &str,
        options: CallOptions,
    ) -> Result<PreparedCall, SessionError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        let CallOptions { sdp, headers } = options;
        self.ask(Command::Prepare { from, to, sdp, headers }, |a| match a {
            Answer::Prepared(p) => Some(p),
            _ => None,
        })
        .await
    }

    async fn initiate_prepared_call(&self, prepared: &PreparedCall) -> Result<CallSession, SessionError> {
        self.ask_session(Command::Initiate { id: prepared.id }).await
    }

    async fn accept_incoming_call(&self, id: SessionId, sdp: Option<String>) -> Result<CallSession, SessionError> {
        self.ask_unit(Command::Answer { id, decision: CallDecision::Accept(sdp) }).await?;
        self.get_session(id).await.ok_or_else(|| SessionError::NotFound(id.to_string()))
    }

    async fn reject_incoming_call(&self, id: SessionId, status: u16, reason: &str) -> Result<(), SessionError> {
        self.ask_unit(Command::Answer { id, decision: CallDecision::Reject(status, reason.to_owned()) }).await
    }

    async fn terminate_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_unit(Command::Terminate { id }).await
    }

    async fn hold_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_unit(Command::Hold { id, hold: true }).await
    }

    async fn resume_session(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_unit(Command::Hold { id, hold: false }).await
    }

    async fn transfer_session(&self, id: SessionId, target: &str) -> Result<(), SessionError> {
        self.transfer_session_with(id, target, TransferOptions::default()).await
    }

    async fn transfer_session_with(
        &self,
        id: SessionId,
        target: &str,
        options: TransferOptions,
    ) -> Result<(), SessionError> {
        self.ask_unit(Command::Transfer { id, target: target.to_owned(), progress: options.progress }).await
    }

    async fn send_early_media(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_unit(Command::EarlyMedia { id }).await
    }

    async fn send_info(&self, id: SessionId, content_type: &str, body: Vec<u8>) -> Result<(), SessionError> {
        self.ask_unit(Command::Info { id, content_type: content_type.to_owned(), body }).await
    }

    async fn transfer_session_attended(&self, id: SessionId, to: SessionId) -> Result<(), SessionError> {
        self.ask_unit(Command::TransferAttended { id, to }).await
    }

    async fn decide_transfer(&self, id: SessionId, accept: bool) -> Result<(), SessionError> {
        self.ask_unit(Command::DecideTransfer { id, accept }).await
    }

    async fn set_audio_muted(&self, id: SessionId, muted: bool) -> Result<(), SessionError> {
        self.ask_unit(Command::Mute { id, muted }).await
    }

    async fn get_session(&self, id: SessionId) -> Option<CallSession> {
        self.ask(Command::Get { id }, |a| match a {
            Answer::MaybeSession(s) => Some(s),
            _ => None,
        })
        .await
        .ok()
        .flatten()
    }

    async fn list_active_sessions(&self) -> Vec<CallSession> {
        self.ask(Command::List, |a| match a {
            Answer::Sessions(s) => Some(s),
            _ => None,
        })
        .await
        .unwrap_or_default()
    }

    async fn wait_for_answer(&self, id: SessionId, timeout: Duration) -> Result<CallSession, SessionError> {
        match tokio::time::timeout(timeout, self.ask_session(Command::WaitAnswer { id })).await {
            Ok(r) => r,
            Err(_) => Err(SessionError::Timeout),
        }
    }

    async fn wait_for_end(&self, id: SessionId) -> Result<EndInfo, SessionError> {
        self.ask(Command::WaitEnd { id }, |a| match a {
            Answer::End(_, e) => Some(e),
            _ => None,
        })
        .await
    }
}

impl MediaControl for SessionCoordinator {
    async fn get_media_info(&self, id: SessionId) -> Result<MediaInfo, SessionError> {
        self.ask(Command::MediaInfo { id }, |a| match a {
            Answer::MediaInfo(m) => Some(m),
            _ => None,
        })
        .await
    }

    async fn get_rtp_statistics(&self, id: SessionId) -> Result<RtpStats, SessionError> {
        self.ask_driver(|reply| Request::Stats { id, reply }).await
    }

    async fn get_received_audio(&self, id: SessionId) -> Result<Vec<i16>, SessionError> {
        self.ask_driver(|reply| Request::Audio { id, reply }).await
    }

    async fn send_dtmf(&self, id: SessionId, digits: &str) -> Result<(), SessionError> {
        self.ask_unit(Command::Dtmf { id, digits: digits.to_owned() }).await
    }

    async fn set_audio_source(&self, id: SessionId, source: AudioSource) -> Result<(), SessionError> {
        self.ask_driver(|reply| Request::Media { id, op: MediaOp::Source(source), reply }).await
    }

    async fn play_audio_file(
        &self,
        id: SessionId,
        path: impl AsRef<std::path::Path> + Send,
    ) -> Result<(), SessionError> {
        let rate = self.ask_driver(|reply| Request::Rate { id, reply }).await?;
        let path = path.as_ref().to_owned();
        // Reading and resampling a file takes time: not on the driver, not on this task.
        let pcm = tokio::task::spawn_blocking(move || {
            media_core::audio::load_wav(&path).map(|pcm| match rate {
                Some(rate) => pcm.at_rate(rate),
                None => pcm,
            })
        })
        .await
        .map_err(|_| SessionError::Bug("the task loading the audio file panicked"))?
        .map_err(|e| SessionError::Media(MediaFailure::Audio(e)))?;
        self.set_audio_source(id, AudioSource::File(pcm)).await
    }

    async fn push_audio(&self, id: SessionId, samples: Vec<i16>) -> Result<(), SessionError> {
        self.ask_driver(|reply| Request::Media { id, op: MediaOp::Push(samples), reply }).await
    }

    async fn record_audio(&self, id: SessionId, path: impl AsRef<std::path::Path> + Send) -> Result<(), SessionError> {
        let recorder =
            media_core::WavRecorder::create(path).map_err(|e| SessionError::Media(MediaFailure::Audio(e)))?;
        self.ask_driver(|reply| Request::Media { id, op: MediaOp::Sink(Box::new(recorder)), reply }).await
    }

    async fn stop_recording(&self, id: SessionId) -> Result<(), SessionError> {
        self.ask_driver(|reply| Request::Media { id, op: MediaOp::StopSinks, reply }).await
    }

    async fn received_audio_stream(&self, id: SessionId, backlog: usize) -> Result<AudioFrames, SessionError> {
        self.ask_driver(|reply| Request::Frames { id, backlog, reply }).await
    }

    async fn set_receive_muted(&self, id: SessionId, muted: bool) -> Result<(), SessionError> {
        self.ask_driver(|reply| Request::Media { id, op: MediaOp::ReceiveMute(muted), reply }).await
    }
}

impl SipClient for SessionCoordinator {
    async fn register(&self, account: Account) -> Result<AccountId, SessionError> {
        self.ask(Command::Register { account }, |a| match a {
            Answer::Account(id) => Some(id),
            _ => None,
        })
        .await
    }

    async fn unregister(&self, account: AccountId) -> Result<(), SessionError> {
        self.ask_unit(Command::Unregister { id: account }).await
    }

    async fn refresh_registration(&self, account: AccountId) -> Result<(), SessionError> {
        self.ask_unit(Command::Refresh { id: account }).await
    }

    async fn registration_state(&self, account: AccountId) -> Result<RegistrationState, SessionError> {
        self.ask(Command::RegState { id: account }, |a| match a {
            Answer::Registration(s) => Some(s),
            _ => None,
        })
        .await
    }

    async fn send_options(&self, uri: &str) -> Result<SipResponse, SessionError> {
        let options =
            RequestOptions { headers: vec![("Accept".into(), "application/sdp".into())], ..Default::default() };
        self.request_outside(Method::Options, uri, options).await
    }

    async fn send_request(
        &self,
        method: &str,
        uri: &str,
        headers: Vec<(String, String)>,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<SipResponse, SessionError> {
        self.send_request_with(method, uri, RequestOptions { headers, body, ..RequestOptions::default() }).await
    }

    async fn subscribe(
        &self,
        uri: &str,
        event: &str,
        options: SubscribeOptions,
    ) -> Result<SubscriptionId, SessionError> {
        let req = crate::core::SubscribeRequest {
            uri: uri.to_owned(),
            event: event.to_owned(),
            expires: options.expires,
            accept: options.accept,
            from: options.from,
        };
        self.ask(Command::Subscribe(req), |a| match a {
            Answer::Subscription(id) => Some(id),
            _ => None,
        })
        .await
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), SessionError> {
        self.ask_unit(Command::Unsubscribe { id }).await
    }

    async fn send_request_with(
        &self,
        method: &str,
        uri: &str,
        options: RequestOptions,
    ) -> Result<SipResponse, SessionError> {
        let method = Method::from_token(method)
            .ok_or_else(|| SessionError::InvalidInput(format!("'{method}' is not a method name")))?;
        if matches!(method, Method::Invite | Method::Ack | Method::Cancel | Method::Bye) {
            return Err(SessionError::InvalidInput(format!("{method} belongs to calls: use SessionControl")));
        }
        if options.target_timeout.is_some_and(|t| t.is_zero()) {
            return Err(SessionError::InvalidInput("a target time-out of zero".into()));
        }
        self.request_outside(method, uri, options).await
    }
}
