//! [`SessionManagerBuilder`]: everything a [`SessionCoordinator`] needs, with defaults that
//! work for a softphone on one machine.

use crate::api::{CallHandler, DeferAll};
use crate::coordinator::SessionCoordinator;
use crate::driver::handler::HandlerRunner;
use crate::error::SessionError;
use media_core::{AudioSource, Codec, MediaConfig};
use sip_endpoint::{Impairment, WireTap};
use sip_message::Transport;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The settings of a coordinator (see the builder's methods for each).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The SIP listening address (all `transports` bind it); port 0 picks a free one.
    pub local_address: SocketAddr,
    /// When `local_address` is a wildcard: listen on the one interface that routes towards
    /// this URI instead (resolved at start; all interfaces when it does not resolve).
    pub listen_towards: Option<String>,
    /// The address put in Via and Contact when `local_address` is a wildcard; found from the
    /// routing table when `None`.
    pub public_ip: Option<IpAddr>,
    /// The transports to listen on.
    pub transports: Vec<Transport>,
    /// The RTP port range, codecs and what we send.
    pub media: MediaConfig,
    /// The User-Agent (and Server) header.
    pub user_agent: String,
    /// The From of calls made without an account; `sip:sipline@HOST:PORT` when `None`.
    pub from_uri: Option<String>,
    /// User name and password for challenges to requests made without an account.
    pub credentials: Option<(String, String)>,
    /// Never answer a challenge with MD5 using `credentials` (an account has its own
    /// [`Account::refuse_md5`](crate::Account::refuse_md5)).
    pub refuse_md5: bool,
    /// The SIP client side (register, OPTIONS, raw requests) is enabled.
    pub sip_client: bool,
    /// T1 and T2 of RFC 3261 §17 (500 ms, 4 s).
    pub timers: (Duration, Duration),
    /// How long a call we make may ring.
    pub no_answer_timeout: Option<Duration>,
    /// How long an incoming call may wait for the application's answer before it is turned
    /// away with 480 (3 minutes; an INVITE's Expires shortens it).
    pub ring_timeout: Duration,
    /// The session interval of RFC 4028 our calls ask for, and run with a caller that asks
    /// for none (30 minutes); `None` asks for none. Whoever refreshes does so at half the
    /// interval; a call nobody refreshes ends with a BYE.
    pub session_expires: Option<Duration>,
    /// The shortest session interval we accept (Min-SE, 90 s; a shorter request gets 422).
    pub min_session_expires: Duration,
    /// Our offers in a confirmed call (hold, resume, a new address) go in an UPDATE (RFC
    /// 3311) when the peer allows it, rather than a re-INVITE. Off by default.
    pub offer_by_update: bool,
    /// SIP outbound (RFC 5626): REGISTERs carry `reg-id` (with `+sip.instance`, always) and
    /// `Supported: outbound`, and an account whose connection to the registrar fails
    /// registers again on a new one. On by default.
    pub outbound: bool,
    /// The CRLF keep-alive interval on connections we open (RFC 5626 §4.4.1), which notices
    /// a registrar that vanished without closing the connection: 100 s by default (the RFC
    /// suggests 95–120 s without a Flow-Timer); `None` sends none.
    pub keepalive: Option<Duration>,
    /// The STUN keep-alive interval of a UDP registration (RFC 5626 §4.4.2), used when the
    /// registrar sends no Flow-Timer; each keep-alive goes at 80–100 % of it. 29 s by
    /// default (the RFC suggests 24–29 s for UDP, as NAT bindings time out early); `None`
    /// sends none. Only with [`Self::outbound`].
    pub stun_keepalive: Option<Duration>,
    /// The back-off of a registration that fails (RFC 5626 §4.5): base-time (30 s) and
    /// max-time (1800 s).
    pub registration_backoff: sip_dialog::Backoff,
    /// Hang up a call whose peer sent no RTP for the RTP timeout while it should have
    /// ([`MediaConfig::rtp_timeout`](media_core::MediaConfig::rtp_timeout); on hold the peer need not
    /// send): the end of a call whose far end vanished, long before the session timer.
    /// The call ends with [`EndCause::RtpTimeout`](crate::EndCause::RtpTimeout). Off by
    /// default: a peer that suppresses silence without comfort noise would be cut off.
    pub end_on_rtp_timeout: bool,
    /// How many sessions may exist at once; a new INVITE beyond them gets 503 with
    /// Retry-After, so a flood of INVITEs cannot grow memory without bound.
    pub max_sessions: usize,
    /// How many new calls a second one source address may start; an INVITE beyond gets 503
    /// with Retry-After. `None` (the default): no per-source limit, as behind a proxy every
    /// call comes from one address. Whatever this says, while the agent falls behind the
    /// sources sending more than their share are refused first.
    pub max_calls_per_source: Option<u32>,
    /// Once an account registers, new requests outside dialogs (INVITE, OPTIONS, MESSAGE,
    /// ...) are taken only from the addresses its REGISTERs go to — every resolved address
    /// of the registrar, or of the outbound proxy — and dropped unanswered from anywhere
    /// else: scanners then neither ring the phone ("ghost calls") nor learn that a user agent
    /// is there. Requests inside dialogs are not filtered (a peer may send its BYE straight
    /// to our Contact). Without an account that registers, every source is accepted. On by
    /// default.
    pub only_from_registrar: bool,
    /// DNS servers to use instead of the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// CA certificates (PEM) trusted for TLS and WSS besides the system's.
    pub trust_ca_file: Option<std::path::PathBuf>,
    /// Sees every SIP message sent and received.
    pub wire_tap: Option<WireTap>,
    /// Loses outgoing SIP datagrams on purpose (tests over a lossy network).
    pub impairment: Option<Impairment>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            local_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            listen_towards: None,
            public_ip: None,
            transports: vec![Transport::Udp],
            media: MediaConfig {
                port_min: 10000,
                port_max: 20000,
                ..MediaConfig::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            },
            user_agent: format!("sipline/{}", env!("CARGO_PKG_VERSION")),
            from_uri: None,
            credentials: None,
            refuse_md5: false,
            sip_client: false,
            timers: (Duration::from_millis(500), Duration::from_secs(4)),
            no_answer_timeout: Some(Duration::from_secs(180)),
            ring_timeout: Duration::from_secs(180),
            session_expires: Some(Duration::from_secs(1800)),
            offer_by_update: false,
            min_session_expires: Duration::from_secs(90),
            outbound: true,
            registration_backoff: sip_dialog::Backoff::default(),
            keepalive: Some(Duration::from_secs(100)),
            stun_keepalive: Some(Duration::from_secs(29)),
            end_on_rtp_timeout: false,
            max_sessions: 10_000,
            max_calls_per_source: None,
            only_from_registrar: true,
            dns_servers: Vec::new(),
            trust_ca_file: None,
            wire_tap: None,
            impairment: None,
        }
    }
}

/// Builds a [`SessionCoordinator`].
///
/// ```no_run
/// use session_core::{AcceptAll, SessionManagerBuilder};
/// # async fn demo() -> Result<(), session_core::SessionError> {
/// let coordinator = SessionManagerBuilder::new()
///     .local_address("127.0.0.1:5060".parse().expect("an address"))
///     .media_ports(20000, 20100)
///     .user_agent("my-agent/1.0")
///     .with_handler(AcceptAll)
///     .enable_sip_client()
///     .build()
///     .await?;
/// # let _ = coordinator; Ok(()) }
/// ```
pub struct SessionManagerBuilder {
    config: SessionConfig,
    handler: HandlerRunner,
}

impl Default for SessionManagerBuilder {
    fn default() -> Self {
        SessionManagerBuilder::new()
    }
}

impl SessionManagerBuilder {
    /// The defaults: UDP on a free port of every interface (0.0.0.0:0, so a second agent or
    /// a local PBX on 5060 is no collision; an agent others must find at a known port sets
    /// [`Self::local_address`]), RTP ports 10000–20000, PCMU/PCMA, silence, T1
    /// 500 ms, every incoming call deferred to the application.
    pub fn new() -> SessionManagerBuilder {
        SessionManagerBuilder { config: SessionConfig::default(), handler: HandlerRunner::new(DeferAll) }
    }

    /// The SIP listening address; port 0 picks a free one. Media binds the same IP unless
    /// [`Self::media_ip`] says otherwise.
    pub fn local_address(mut self, addr: SocketAddr) -> Self {
        self.config.local_address = addr;
        self.config.media.ip = addr.ip();
        self
    }

    /// With a wildcard [`Self::local_address`], listen on the interface that routes towards
    /// `uri` (the registrar, the callee): loopback for a peer on loopback.
    pub fn listen_towards(mut self, uri: impl Into<String>) -> Self {
        self.config.listen_towards = Some(uri.into());
        self
    }

    /// The address to advertise in Via, Contact and SDP when listening on a wildcard.
    pub fn public_ip(mut self, ip: IpAddr) -> Self {
        self.config.public_ip = Some(ip);
        self
    }

    /// The transports to listen on (UDP by default; TCP, TLS, WS need their listeners).
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        self.config.transports = transports.to_vec();
        self
    }

    /// The IP to bind RTP on.
    pub fn media_ip(mut self, ip: IpAddr) -> Self {
        self.config.media.ip = ip;
        self
    }

    /// The RTP port range (inclusive; even RTP ports, RTCP on the next).
    pub fn media_ports(mut self, min: u16, max: u16) -> Self {
        self.config.media.port_min = min;
        self.config.media.port_max = max;
        self
    }

    /// Send a sine tone of `hz` as our audio instead of silence (a test signal).
    pub fn media_tone(mut self, hz: Option<f32>) -> Self {
        self.config.media.source = hz.map_or(AudioSource::Silence, AudioSource::Tone);
        self
    }

    /// What every call sends until told otherwise ([`MediaControl::set_audio_source`](crate::MediaControl::set_audio_source)):
    /// silence (the default), a tone, a loaded file, or pushed frames.
    pub fn media_source(mut self, source: AudioSource) -> Self {
        self.config.media.source = source;
        self
    }

    /// How long a call's peer may send no RTP, while it should, before
    /// [`SessionEvent::RtpTimeout`](crate::SessionEvent::RtpTimeout) (30 s by default;
    /// `None`: never).
    pub fn rtp_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.media.rtp_timeout = timeout;
        self
    }

    /// Whether a call whose peer stops sending RTP for the RTP timeout is hung up; see
    /// [`SessionConfig::end_on_rtp_timeout`].
    pub fn end_call_on_rtp_timeout(mut self, on: bool) -> Self {
        self.config.end_on_rtp_timeout = on;
        self
    }

    /// Whether calls use SRTP with SDES keys: off (the default), optional (offered as
    /// RTP/AVP with keys, used when the peer agrees) or required (RTP/SAVP; calls without
    /// it are refused with 488, or fail when the peer answers without keys).
    pub fn srtp(mut self, policy: media_core::SrtpPolicy) -> Self {
        self.config.media.srtp = policy;
        self
    }

    /// Whether calls offer and accept RTCP on the RTP port (RFC 5761); on by default.
    pub fn rtcp_mux(mut self, on: bool) -> Self {
        self.config.media.rtcp_mux = on;
        self
    }

    /// The jitter buffer's bounds for every call.
    pub fn jitter_buffer(mut self, jitter: media_core::JitterConfig) -> Self {
        self.config.media.jitter = jitter;
        self
    }

    /// The codecs to offer and accept, in order of preference.
    pub fn codecs(mut self, codecs: Vec<Codec>) -> Self {
        self.config.media.codecs = codecs;
        self
    }

    /// The User-Agent header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.config.user_agent = ua.into();
        self
    }

    /// The From URI of calls made without an account.
    pub fn from_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.from_uri = Some(uri.into());
        self
    }

    /// Credentials for challenges to requests that no account makes.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.credentials = Some((user.into(), password.into()));
        self
    }

    /// Never answer a challenge with MD5 using the [`credentials`](Self::credentials); see
    /// [`SessionConfig::refuse_md5`].
    pub fn refuse_md5(mut self, on: bool) -> Self {
        self.config.refuse_md5 = on;
        self
    }

    /// The application's [`CallHandler`].
    pub fn with_handler<H: CallHandler>(mut self, handler: H) -> Self {
        self.handler = HandlerRunner::new(handler);
        self
    }

    /// Enables [`SipClient`](crate::SipClient): registration, OPTIONS and raw requests.
    pub fn enable_sip_client(mut self) -> Self {
        self.config.sip_client = true;
        self
    }

    /// T1 and T2 (RFC 3261 §17.1.1.1); shorter values make tests over lossy links quick.
    pub fn timers(mut self, t1: Duration, t2: Duration) -> Self {
        self.config.timers = (t1, t2);
        self
    }

    /// How long our calls may ring before we cancel them (`None`: until the peer gives up).
    pub fn no_answer_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.no_answer_timeout = timeout;
        self
    }

    /// How long an incoming call may ring unanswered before it gets 480.
    pub fn ring_timeout(mut self, timeout: Duration) -> Self {
        self.config.ring_timeout = timeout;
        self
    }

    /// The session timer (RFC 4028): the interval our calls ask for (`None`: none), and the
    /// shortest we accept (at least 90 s).
    pub fn session_timer(mut self, expires: Option<Duration>, min: Duration) -> Self {
        self.config.session_expires = expires;
        self.config.min_session_expires = min;
        self
    }

    /// Offers in a confirmed call by UPDATE when the peer allows it (see
    /// [`SessionConfig::offer_by_update`]).
    pub fn offer_by_update(mut self, on: bool) -> Self {
        self.config.offer_by_update = on;
        self
    }

    /// SIP outbound (RFC 5626) on or off, and the keep-alive interval on connections we
    /// open (`None`: none).
    pub fn outbound(mut self, on: bool, keepalive: Option<Duration>) -> Self {
        self.config.outbound = on;
        self.config.keepalive = keepalive;
        self
    }

    /// The STUN keep-alive interval of UDP registrations without a Flow-Timer (RFC 5626
    /// §4.4.2; `None`: none). See [`SessionConfig::stun_keepalive`].
    pub fn stun_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.config.stun_keepalive = interval;
        self
    }

    /// The back-off of a registration that fails (RFC 5626 §4.5): the wait after n failures
    /// in a row is 50–100 % of min(`max`, `base` · 2^n).
    pub fn registration_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.config.registration_backoff = sip_dialog::Backoff { base, max };
        self
    }

    /// How many sessions may exist at once (new INVITEs beyond get 503).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.config.max_sessions = max;
        self
    }

    /// How many new calls a second one source address may start (new INVITEs beyond get
    /// 503 with Retry-After); see [`SessionConfig::max_calls_per_source`].
    pub fn max_calls_per_source(mut self, per_second: u32) -> Self {
        self.config.max_calls_per_source = Some(per_second);
        self
    }

    /// Whether, while an account is registered, new requests outside dialogs are taken only
    /// from its registrar or outbound proxy; see [`SessionConfig::only_from_registrar`].
    pub fn only_from_registrar(mut self, on: bool) -> Self {
        self.config.only_from_registrar = on;
        self
    }

    /// DNS servers for RFC 3263 lookups instead of the system's.
    pub fn dns_servers(mut self, servers: Vec<SocketAddr>) -> Self {
        self.config.dns_servers = servers;
        self
    }

    /// Also trusts the CA certificates in this PEM file for TLS and WSS (a private CA);
    /// the system's store stays trusted, and names are still checked.
    pub fn trust_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.trust_ca_file = Some(path.into());
        self
    }

    /// Sees every RTP datagram of every call, sent and received (for a capture file).
    pub fn media_tap(mut self, tap: media_core::MediaTap) -> Self {
        self.config.media.tap = Some(tap);
        self
    }

    /// Sees every SIP message sent and received (for a `--trace`).
    pub fn wire_tap(mut self, tap: WireTap) -> Self {
        self.config.wire_tap = Some(tap);
        self
    }

    /// Drop this share of our outgoing SIP datagrams, seeded (for tests over a lossy
    /// network: retransmissions must carry every call through).
    pub fn impairment(mut self, loss: f64, seed: u64) -> Self {
        self.config.impairment = Some(Impairment { loss, seed });
        self
    }

    /// The settings so far.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Binds the transports and starts the coordinator. Must run inside a tokio runtime.
    pub async fn build(self) -> Result<Arc<SessionCoordinator>, SessionError> {
        SessionCoordinator::start(self.config, self.handler).await
    }
}
