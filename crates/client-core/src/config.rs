//! [`ClientConfig`]: everything a client needs, grouped the way a user thinks of it
//! (network, media, accounts, registration, calls, security, telemetry), loadable from TOML
//! and checked up front by [`ClientConfig::validate`], whose errors name the field and the fix.
//!
//! Every field has a default that works for a softphone on one machine, so a file only
//! needs what differs. `examples/client.toml` in this crate is a complete file.

use crate::error::ConfigError;
use crate::recovery::RetryConfig;
use serde::{Deserialize, Serialize};
use session_core::{Codec, Transport};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// The whole configuration of a client.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Where to listen and how to reach servers.
    pub network: NetworkConfig,
    /// RTP ports, codecs, what we send.
    pub media: MediaConfig,
    /// Accounts to register at start (`[[accounts]]` tables).
    pub accounts: Vec<AccountConfig>,
    /// How registrations are retried.
    pub registration: RegistrationConfig,
    /// Timeouts, auto-answer and the call history.
    pub calls: CallConfig,
    /// Limits and credentials.
    pub security: SecurityConfig,
    /// Metrics and quality sampling.
    pub telemetry: TelemetryConfig,
}

/// Where the client listens and how it reaches servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// The SIP listening address. The default, `0.0.0.0:0`, is a free port on every
    /// interface: no collision with a local PBX or a second agent on 5060.
    pub local_address: SocketAddr,
    /// With a wildcard `local_address`, listen only on the interface that routes towards
    /// this URI (the registrar, the callee): loopback for a peer on loopback.
    pub listen_towards: Option<String>,
    /// The address to advertise in Via, Contact and SDP when listening on a wildcard (found
    /// from the routing table when absent).
    pub public_ip: Option<IpAddr>,
    /// Transports to listen on: `"udp"`, `"tcp"`.
    pub transports: Vec<String>,
    /// The User-Agent header.
    pub user_agent: String,
    /// DNS servers (`ADDR:PORT`) for RFC 3263 lookups instead of the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// T1 of RFC 3261 §17 in milliseconds (the retransmission base, 500).
    pub t1_ms: u64,
    /// T2 in milliseconds (the cap of non-INVITE retransmissions, 4000).
    pub t2_ms: u64,
    /// Follow changes of the host's address (Wi-Fi to LTE, a new DHCP lease, a VPN): every
    /// `address_check_secs` the client asks the routing table which address reaches the
    /// network, and when it changed, re-registers every account and re-INVITEs every call
    /// (see [`ClientManager::change_local_address`](crate::ClientManager::change_local_address)).
    /// Needs a wildcard `local_address` and neither `listen_towards` nor `public_ip`.
    pub follow_address_changes: bool,
    /// How often the address is checked, in seconds, when following it (5).
    pub address_check_secs: u64,
    /// SIP outbound (RFC 5626): REGISTERs carry `+sip.instance` and `reg-id`, and an account
    /// whose connection to the registrar fails registers again over a new one (on).
    pub outbound: bool,
    /// The CRLF keep-alive interval on TCP and TLS connections we open, in seconds
    /// (RFC 5626 §4.4.1: a registrar that vanished without closing the connection is
    /// noticed when the pong does not come); 100 by default, 0 sends none.
    pub keepalive_secs: u64,
    /// The STUN keep-alive interval of a UDP registration, in seconds, when the registrar
    /// sends no Flow-Timer (RFC 5626 §4.4.2: a registrar that stops answering, or a NAT
    /// that maps us anew, makes the account register again); each goes at 80–100 % of it.
    /// 29 by default, 0 sends none. A registrar that never answers STUN gets none.
    pub stun_keepalive_secs: u64,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            local_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            listen_towards: None,
            public_ip: None,
            transports: vec!["udp".into()],
            user_agent: format!("sipline/{}", env!("CARGO_PKG_VERSION")),
            dns_servers: Vec::new(),
            t1_ms: 500,
            t2_ms: 4000,
            follow_address_changes: false,
            address_check_secs: 5,
            outbound: true,
            keepalive_secs: 100,
            stun_keepalive_secs: 29,
        }
    }
}

/// The media of calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// The IP to bind RTP on (the SIP address's when absent).
    pub ip: Option<IpAddr>,
    /// The lowest RTP port (even; RTCP uses the next).
    pub rtp_port_min: u16,
    /// The highest RTP port.
    pub rtp_port_max: u16,
    /// The codecs to offer and accept, best first, by name: `PCMU`, `PCMA`,
    /// `telephone-event` (see [`crate::ClientManager::available_codecs`]).
    pub codecs: Vec<String>,
    /// Send a sine tone of this frequency (Hz) instead of silence: a test signal.
    pub tone_hz: Option<f32>,
    /// Send this WAV file (PCM or float, any rate and channel count), looped, on every
    /// call instead of silence or the tone; read when the client starts.
    pub play_file: Option<std::path::PathBuf>,
    /// SRTP with SDES keys: `off` (the default), `optional` (offered, used when the peer
    /// agrees) or `required` (calls without it are refused or ended).
    pub srtp: String,
    /// Seconds without RTP from a peer that should be sending before
    /// [`ClientEvent::RtpTimeout`](crate::ClientEvent::RtpTimeout); 0: never.
    pub rtp_timeout_secs: u64,
    /// Hang up a call at its RTP timeout: the far end most likely vanished. The call ends
    /// with `EndCause::RtpTimeout`. Off by default (a peer that suppresses silence without
    /// comfort noise would be cut off).
    pub end_on_rtp_timeout: bool,
    /// Offer and accept RTCP on the RTP port (`a=rtcp-mux`, RFC 5761). On by default; the
    /// RTCP port is bound all the same for peers that do not multiplex.
    pub rtcp_mux: bool,
}

impl Default for MediaConfig {
    fn default() -> MediaConfig {
        MediaConfig {
            ip: None,
            rtp_port_min: 10000,
            rtp_port_max: 20000,
            codecs: vec!["PCMU".into(), "PCMA".into(), "telephone-event".into()],
            tone_hz: None,
            play_file: None,
            srtp: "off".into(),
            rtp_timeout_secs: 30,
            end_on_rtp_timeout: false,
            rtcp_mux: true,
        }
    }
}

/// An account: registered at start when `register` is true, and the From and credentials of
/// calls made from it. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The user part of the address of record, also the digest user name.
    pub user: String,
    /// The digest password (never logged).
    #[serde(default)]
    pub password: Option<String>,
    /// The registrar, e.g. `sip:pbx.example.com` or `sip:127.0.0.1:5060`.
    pub registrar: String,
    /// The domain of the address of record (the registrar's host when absent).
    #[serde(default)]
    pub domain: Option<String>,
    /// The registration lifetime to ask for, in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// A proxy all the account's requests go through, e.g. `sip:proxy.example.com;lr`.
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    /// The display name of the From header.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Register when the client starts.
    #[serde(default = "yes")]
    pub register: bool,
    /// Never answer a digest challenge with MD5 (only SHA-256 or SHA-512/256, RFC 8760): a
    /// registrar that offers nothing stronger fails the registration, saying so. See also
    /// [`SecurityConfig::refuse_md5`], which does this for every account.
    #[serde(default)]
    pub refuse_md5: bool,
    /// Ask the registrar for a GRUU (RFC 5627) and use it as the Contact of this account's
    /// calls, so a call survives the failure of both ends' connections to the proxy. Needs a
    /// proxy that routes requests to a GRUU by its location service; see
    /// [`Account::gruu`](session_core::Account::gruu).
    #[serde(default)]
    pub gruu: bool,
}

impl std::fmt::Debug for AccountConfig {
    // The password never reaches a log through a Debug of the account or the configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("registrar", &self.registrar)
            .field("domain", &self.domain)
            .field("expires", &self.expires)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("display_name", &self.display_name)
            .field("register", &self.register)
            .field("refuse_md5", &self.refuse_md5)
            .field("gruu", &self.gruu)
            .finish()
    }
}

fn default_expires() -> u32 {
    3600
}

fn yes() -> bool {
    true
}

impl AccountConfig {
    /// An account for `user` at `registrar`, registered at start, asking for an hour.
    pub fn new(user: impl Into<String>, password: Option<String>, registrar: impl Into<String>) -> AccountConfig {
        AccountConfig {
            user: user.into(),
            password,
            registrar: registrar.into(),
            domain: None,
            expires: default_expires(),
            outbound_proxy: None,
            display_name: None,
            register: true,
            refuse_md5: false,
            gruu: false,
        }
    }

    /// The address of record, `sip:USER@DOMAIN`: the domain, or the registrar's host
    /// without its port (the session layer's [`Account::aor`](session_core::Account::aor)).
    /// For a registrar that is no SIP URI (which [`ClientConfig::validate`] refuses), the
    /// registrar as written stands for the domain.
    pub fn aor(&self) -> String {
        self.to_session().aor().unwrap_or_else(|_| format!("sip:{}@{}", self.user, self.registrar))
    }

    pub(crate) fn to_session(&self) -> session_core::Account {
        session_core::Account {
            user: self.user.clone(),
            password: self.password.clone(),
            registrar: self.registrar.clone(),
            domain: self.domain.clone(),
            expires: self.expires,
            outbound_proxy: self.outbound_proxy.clone(),
            display_name: self.display_name.clone(),
            refuse_md5: self.refuse_md5,
            gruu: self.gruu,
        }
    }
}

/// The host (and port) of a `sip:` URI, without scheme, user or parameters.
pub(crate) fn host_of(uri: &str) -> String {
    let rest = uri.trim_start_matches("sips:").trim_start_matches("sip:");
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    rest.split([';', '?']).next().unwrap_or(rest).to_owned()
}

/// How registrations are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// How a first REGISTER that fails for a reason that can pass (no answer, a 503) is
    /// retried; later losses are retried by the session layer on its own.
    pub retry: RetryConfig,
    /// The session layer's back-off after a registration that was up fails (the registrar
    /// gone, a refresh refused): RFC 5626 §4.5's base-time in seconds (30). The wait after
    /// n failures in a row is 50–100 % of min(max, base · 2^n).
    pub backoff_base_secs: u64,
    /// RFC 5626 §4.5's max-time in seconds (1800).
    pub backoff_max_secs: u64,
}

impl Default for RegistrationConfig {
    fn default() -> RegistrationConfig {
        RegistrationConfig { retry: RetryConfig::default(), backoff_base_secs: 30, backoff_max_secs: 1800 }
    }
}

/// Calls: timeouts, answering, history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallConfig {
    /// Answer every incoming call at once (an auto-answering agent or bot) when no handler
    /// is set.
    pub auto_answer: bool,
    /// How long an incoming call may ring unanswered before it gets 480, in seconds.
    pub ring_timeout_secs: u64,
    /// How long a call we make may ring before we cancel it, in seconds (0: until the far
    /// end gives up).
    pub no_answer_timeout_secs: u64,
    /// How many ended calls the history keeps (the oldest go first).
    pub max_history: usize,
    /// The session timer (RFC 4028) our calls ask for, in seconds: whoever refreshes does
    /// so at half of it, and a call nobody refreshed in time ends — the defence against a
    /// call whose far end vanished. 0 asks for none (a caller's request is still honoured).
    pub session_expires_secs: u64,
    /// The shortest session interval accepted (Min-SE), in seconds; at least 90.
    pub min_session_expires_secs: u64,
    /// Hold, resume and a new address go to the far end in an UPDATE (RFC 3311) rather
    /// than a re-INVITE when it allows UPDATE (off: re-INVITE, which every peer takes).
    pub offer_by_update: bool,
}

impl Default for CallConfig {
    fn default() -> CallConfig {
        CallConfig {
            auto_answer: false,
            ring_timeout_secs: 180,
            no_answer_timeout_secs: 180,
            max_history: 1000,
            session_expires_secs: 1800,
            min_session_expires_secs: 90,
            offer_by_update: false,
        }
    }
}

/// Limits and credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// How many calls may exist at once; an INVITE beyond gets 503 with Retry-After.
    pub max_concurrent_calls: usize,
    /// How many new calls a second one source address may start; an INVITE beyond gets 503
    /// with Retry-After. Unset: no per-source limit (behind a proxy every call comes from
    /// one address). Either way, while the agent falls behind, the sources sending more than
    /// their share are refused first.
    pub max_calls_per_source: Option<u32>,
    /// Once an account registers, take new requests (calls, OPTIONS, MESSAGE) only from
    /// the addresses of its registrar or outbound proxy, and drop the rest unanswered: the
    /// defence against scanners' "ghost calls". Requests inside calls are not filtered.
    /// On by default; turn it off to take calls straight from other user agents as well.
    pub only_from_registrar: bool,
    /// User name and password for challenges to requests no account makes.
    pub credentials: Option<Credentials>,
    /// Never answer a digest challenge with MD5, for any account or the credentials above:
    /// a server offering nothing stronger (SHA-256, SHA-512/256) gets no answer, and the
    /// password is never hashed with MD5, whose responses an eavesdropper can brute-force
    /// offline. Off by default, since most servers offer MD5 only.
    pub refuse_md5: bool,
    /// CA certificates (a PEM file) trusted for TLS and WSS besides the system's, e.g. a
    /// private PBX's CA. Certificates and host names are always checked.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for SecurityConfig {
    fn default() -> SecurityConfig {
        SecurityConfig {
            max_concurrent_calls: 10_000,
            max_calls_per_source: None,
            only_from_registrar: true,
            credentials: None,
            refuse_md5: false,
            ca_file: None,
        }
    }
}

/// A digest user name and password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // A password never reaches a log, even through a Debug of the whole configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<hidden>").finish()
    }
}

/// Metrics and quality sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Record metrics through the `metrics` facade (whatever recorder the application
    /// installed; none installed costs nothing).
    pub metrics: bool,
    /// How often each live call's RTP statistics are sampled for
    /// [`ClientEvent::MediaQuality`](crate::ClientEvent::MediaQuality) and the metrics, in
    /// milliseconds (0: never).
    pub quality_interval_ms: u64,
}

impl Default for TelemetryConfig {
    fn default() -> TelemetryConfig {
        TelemetryConfig { metrics: true, quality_interval_ms: 5000 }
    }
}

fn problem(field: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), problem: problem.into(), fix: fix.into() }
}

/// The codecs compiled in, by the names the configuration uses.
pub(crate) fn codec_by_name(name: &str) -> Option<Codec> {
    Codec::by_name(name)
}

fn uri_problem(uri: &str) -> Option<&'static str> {
    let rest = uri.strip_prefix("sip:").or_else(|| uri.strip_prefix("sips:"))?;
    if host_of(rest).is_empty() {
        return Some("has no host");
    }
    None
}

impl ClientConfig {
    /// Reads a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ClientConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            problem(path.display().to_string(), format!("cannot be read: {e}"), "give the path of a readable TOML file")
        })?;
        ClientConfig::from_toml(&text)
    }

    /// Parses TOML text and validates it.
    pub fn from_toml(text: &str) -> Result<ClientConfig, ConfigError> {
        let config: ClientConfig = toml::from_str(text).map_err(|e| {
            let field = e.span().map_or_else(|| "toml".to_owned(), |s| format!("toml at byte {}", s.start));
            problem(field, e.message().to_owned(), "see examples/client.toml in client-core for every field")
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML text (what [`Self::from_toml`] reads back unchanged).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| problem("toml", e.to_string(), "report this as a bug"))
    }

    /// Checks every field; the first that cannot work is named with its fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = &self.network;
        if n.transports.is_empty() {
            return Err(problem("network.transports", "is empty", "list at least one: transports = [\"udp\"]"));
        }
        for (i, t) in n.transports.iter().enumerate() {
            match t.parse::<Transport>() {
                Ok(Transport::Udp | Transport::Tcp) => {}
                _ => {
                    return Err(problem(
                        format!("network.transports[{i}]"),
                        format!("'{t}' is not a transport the client listens on"),
                        "use \"udp\" or \"tcp\"",
                    ))
                }
            }
        }
        if n.user_agent.trim().is_empty() || n.user_agent.contains(['\r', '\n']) {
            return Err(problem(
                "network.user_agent",
                "is empty or has a line break",
                "give a name such as \"acme-agent/1.0\"",
            ));
        }
        if n.t1_ms == 0 || n.t1_ms > 10_000 {
            return Err(problem(
                "network.t1_ms",
                format!("{} ms is out of range", n.t1_ms),
                "use 500 (RFC 3261), or 1-10000",
            ));
        }
        if n.t2_ms < n.t1_ms {
            return Err(problem("network.t2_ms", "is shorter than t1_ms", "use 4000 (RFC 3261), at least t1_ms"));
        }
        if n.follow_address_changes {
            if !n.local_address.ip().is_unspecified() || n.listen_towards.is_some() || n.public_ip.is_some() {
                return Err(problem(
                    "network.follow_address_changes",
                    "needs sockets on every interface: a socket bound to one address cannot follow it",
                    "use local_address = \"0.0.0.0:PORT\" (or \"[::]:PORT\") without listen_towards or public_ip",
                ));
            }
            if n.address_check_secs == 0 {
                return Err(problem("network.address_check_secs", "is 0", "use 5, or the seconds between checks"));
            }
        }
        let m = &self.media;
        if m.rtp_port_min == 0 || !m.rtp_port_min.is_multiple_of(2) {
            return Err(problem(
                "media.rtp_port_min",
                format!("{} is not an even port above 0", m.rtp_port_min),
                "use an even port such as 10000",
            ));
        }
        if m.rtp_port_max <= m.rtp_port_min {
            return Err(problem(
                "media.rtp_port_max",
                format!("{} is not above rtp_port_min ({})", m.rtp_port_max, m.rtp_port_min),
                "give a range of at least two ports, such as 10000-20000",
            ));
        }
        if m.codecs.is_empty() {
            return Err(problem("media.codecs", "is empty", "list at least one audio codec: codecs = [\"PCMU\"]"));
        }
        for (i, c) in m.codecs.iter().enumerate() {
            if codec_by_name(c).is_none() {
                return Err(problem(
                    format!("media.codecs[{i}]"),
                    format!("'{c}' is not compiled in"),
                    format!("use one of {}", Codec::known().iter().map(|c| c.name).collect::<Vec<_>>().join(", ")),
                ));
            }
        }
        if m.codecs.iter().all(|c| c.eq_ignore_ascii_case("telephone-event")) {
            return Err(problem("media.codecs", "has no audio codec", "add PCMU, PCMA or G722"));
        }
        if let Err(why) = m.srtp.parse::<session_core::SrtpPolicy>() {
            return Err(problem("media.srtp", why, "write srtp = \"off\", \"optional\" or \"required\""));
        }
        if let Some(path) = &m.play_file {
            if !path.is_file() {
                return Err(problem(
                    "media.play_file",
                    format!("{} is not a file", path.display()),
                    "give the path of a WAV file",
                ));
            }
        }
        if let Some(hz) = m.tone_hz {
            if !(hz.is_finite() && hz > 0.0 && hz < 4000.0) {
                return Err(problem(
                    "media.tone_hz",
                    format!("{hz} Hz cannot be sent at 8 kHz"),
                    "use a frequency between 1 and 3999 Hz",
                ));
            }
        }
        for (i, a) in self.accounts.iter().enumerate() {
            let at = |f: &str| format!("accounts[{i}].{f}");
            if a.user.is_empty() || a.user.contains(['@', ':', ' ', '<', '>']) {
                return Err(problem(
                    at("user"),
                    format!("'{}' is not a user name", a.user),
                    "give the user part only, such as \"alice\"",
                ));
            }
            match uri_problem(&a.registrar) {
                None if a.registrar.starts_with("sip") => {}
                None => {
                    return Err(problem(
                        at("registrar"),
                        format!("'{}' is not a sip: URI", a.registrar),
                        "write it as sip:HOST or sip:HOST:PORT",
                    ))
                }
                Some(p) => {
                    return Err(problem(
                        at("registrar"),
                        format!("'{}' {p}", a.registrar),
                        "write it as sip:HOST or sip:HOST:PORT",
                    ))
                }
            }
            if let Some(proxy) = &a.outbound_proxy {
                if !proxy.starts_with("sip") || uri_problem(proxy).is_some() {
                    return Err(problem(
                        at("outbound_proxy"),
                        format!("'{proxy}' is not a sip: URI"),
                        "write it as sip:HOST;lr",
                    ));
                }
            }
            if a.expires < 60 {
                return Err(problem(
                    at("expires"),
                    format!("{} s is below what registrars accept", a.expires),
                    "use 60 or more (3600 is usual)",
                ));
            }
        }
        let r = &self.registration.retry;
        if r.max_attempts == 0 {
            return Err(problem("registration.retry.max_attempts", "is 0", "use 1 for no retry, or more"));
        }
        if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
            return Err(problem(
                "registration.retry.multiplier",
                format!("{} would shrink the waits", r.multiplier),
                "use 1 or more (2 is usual)",
            ));
        }
        if !(0.0..=1.0).contains(&r.jitter) {
            return Err(problem(
                "registration.retry.jitter",
                format!("{} is not a share", r.jitter),
                "use a number from 0 to 1",
            ));
        }
        if r.max_delay_ms < r.initial_delay_ms {
            return Err(problem(
                "registration.retry.max_delay_ms",
                "is shorter than initial_delay_ms",
                "make it at least initial_delay_ms",
            ));
        }
        let reg = &self.registration;
        if reg.backoff_base_secs == 0 || reg.backoff_max_secs < reg.backoff_base_secs {
            return Err(problem(
                "registration.backoff_base_secs",
                "is 0 or above registration.backoff_max_secs",
                "use 30 (RFC 5626) and a max of at least that",
            ));
        }
        if self.calls.ring_timeout_secs == 0 {
            return Err(problem(
                "calls.ring_timeout_secs",
                "is 0: every call would be refused",
                "use 180, or the seconds a call may ring",
            ));
        }
        if self.calls.min_session_expires_secs < 90 {
            return Err(problem(
                "calls.min_session_expires_secs",
                "is below 90, the least RFC 4028 allows",
                "use 90 or more",
            ));
        }
        let se = self.calls.session_expires_secs;
        if se != 0 && se < self.calls.min_session_expires_secs {
            return Err(problem(
                "calls.session_expires_secs",
                "is below calls.min_session_expires_secs",
                "use 0 (no session timer) or at least the minimum",
            ));
        }
        if self.calls.max_history == 0 {
            return Err(problem("calls.max_history", "is 0", "keep at least 1 ended call"));
        }
        if self.security.max_calls_per_source == Some(0) {
            return Err(problem(
                "security.max_calls_per_source",
                "is 0",
                "leave it out for no limit, or allow at least 1 call a second",
            ));
        }
        if self.security.max_concurrent_calls == 0 {
            return Err(problem(
                "security.max_concurrent_calls",
                "is 0: every call would be refused",
                "use the number of calls the machine may carry",
            ));
        }
        if let Some(c) = &self.security.credentials {
            if c.user.is_empty() {
                return Err(problem("security.credentials.user", "is empty", "give the digest user name"));
            }
        }
        if let Some(path) = &self.security.ca_file {
            if !path.is_file() {
                return Err(problem(
                    "security.ca_file",
                    format!("{} is not a file", path.display()),
                    "give the path of the CA certificates in PEM",
                ));
            }
        }
        Ok(())
    }

    /// The session layer's builder for this configuration.
    pub(crate) fn session_builder(&self) -> session_core::SessionManagerBuilder {
        let n = &self.network;
        let transports: Vec<Transport> = n.transports.iter().filter_map(|t| t.parse().ok()).collect();
        let codecs: Vec<Codec> = self.media.codecs.iter().filter_map(|c| codec_by_name(c)).collect();
        let mut b = session_core::SessionManagerBuilder::new()
            .local_address(n.local_address)
            .transports(&transports)
            .user_agent(n.user_agent.clone())
            .dns_servers(n.dns_servers.clone())
            .timers(Duration::from_millis(n.t1_ms), Duration::from_millis(n.t2_ms))
            .media_ports(self.media.rtp_port_min, self.media.rtp_port_max)
            .codecs(codecs)
            .media_tone(self.media.tone_hz)
            .srtp(self.media.srtp.parse().unwrap_or_default())
            .rtp_timeout(match self.media.rtp_timeout_secs {
                0 => None,
                s => Some(Duration::from_secs(s)),
            })
            .ring_timeout(Duration::from_secs(self.calls.ring_timeout_secs))
            .no_answer_timeout(match self.calls.no_answer_timeout_secs {
                0 => None,
                s => Some(Duration::from_secs(s)),
            })
            .session_timer(
                match self.calls.session_expires_secs {
                    0 => None,
                    s => Some(Duration::from_secs(s)),
                },
                Duration::from_secs(self.calls.min_session_expires_secs),
            )
            .offer_by_update(self.calls.offer_by_update)
            .outbound(
                n.outbound,
                match n.keepalive_secs {
                    0 => None,
                    s => Some(Duration::from_secs(s)),
                },
            )
            .stun_keepalive(match n.stun_keepalive_secs {
                0 => None,
                s => Some(Duration::from_secs(s)),
            })
            .registration_backoff(
                Duration::from_secs(self.registration.backoff_base_secs),
                Duration::from_secs(self.registration.backoff_max_secs),
            )
            .end_call_on_rtp_timeout(self.media.end_on_rtp_timeout)
            .rtcp_mux(self.media.rtcp_mux)
            .max_sessions(self.security.max_concurrent_calls)
            .only_from_registrar(self.security.only_from_registrar)
            .refuse_md5(self.security.refuse_md5)
            .enable_sip_client();
        if let Some(ip) = n.public_ip {
            b = b.public_ip(ip);
        }
        if let Some(uri) = &n.listen_towards {
            b = b.listen_towards(uri.clone());
        }
        if let Some(ip) = self.media.ip {
            b = b.media_ip(ip);
        }
        if let Some(c) = &self.security.credentials {
            b = b.credentials(c.user.clone(), c.password.clone());
        }
        if let Some(ca) = &self.security.ca_file {
            b = b.trust_ca_file(ca.clone());
        }
        if let Some(per_second) = self.security.max_calls_per_source {
            b = b.max_calls_per_source(per_second);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_listen_on_a_free_port() {
        let c = ClientConfig::default();
        c.validate().expect("defaults are valid");
        assert_eq!(c.network.local_address.port(), 0);
    }

    #[test]
    fn toml_round_trips() {
        let mut c = ClientConfig::default();
        c.accounts.push(AccountConfig::new("alice", Some("secret".into()), "sip:127.0.0.1:5060"));
        c.security.credentials = Some(Credentials { user: "u".into(), password: "p".into() });
        let text = c.to_toml().expect("serialises");
        assert_eq!(ClientConfig::from_toml(&text).expect("parses"), c);
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let c = Credentials { user: "u".into(), password: "hunter2".into() };
        assert!(!format!("{c:?}").contains("hunter2"));
        let mut config = ClientConfig::default();
        config.accounts.push(AccountConfig::new("alice", Some("hunter2".into()), "sip:pbx.example.com"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && shown.contains("alice"), "{shown}");
    }

    #[test]
    fn the_aor_uses_the_domain_or_the_registrar_host() {
        let mut a = AccountConfig::new("bob", None, "sip:pbx.example.com:5070;transport=udp");
        assert_eq!(a.aor(), "sip:bob@pbx.example.com");
        assert_eq!(AccountConfig::new("c", None, "sip:[::1]:5060").aor(), "sip:c@[::1]");
        a.domain = Some("example.com".into());
        assert_eq!(a.aor(), "sip:bob@example.com");
    }
}
