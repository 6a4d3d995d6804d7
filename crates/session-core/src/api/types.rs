//! The values the session API hands out: ids, the one session state enum, snapshots of a
//! session, incoming calls and the decision about them, why a call ended, events.

use sip_message::Transport;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Identifies a session (one call) for the lifetime of its coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Identifies an account registered with [`SipClient::register`](crate::SipClient::register).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account-{}", self.0)
    }
}

/// Where a session is. One enum for both directions; the transitions are:
///
/// ```text
///  outgoing:  Initiating ──18x──> Ringing ──2xx──> Active
///                 └───────────────2xx──────────────┘
///  incoming:  Incoming ──accept──> Active
///  in a call: Active <──hold / resume──> OnHold
///  ending:    any state ──hang up──> Terminating ──> Terminated
///             any state ──failure, reject, CANCEL, BYE──> Terminated
/// ```
///
/// `Terminated` is final: the session then holds no transaction, dialog, media port or task.
/// A hold by the *peer* does not change the state; it shows in
/// [`CallSession::remote_hold`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Our INVITE is out; nothing but 100 has come back.
    Initiating,
    /// The peer is alerting (a 180/183 arrived).
    Ringing,
    /// An INVITE arrived and waits for the application's decision (we sent 180).
    Incoming,
    /// The call is up and media flows.
    Active,
    /// We put the call on hold (our re-INVITE offered sendonly or inactive and was accepted).
    OnHold,
    /// We sent BYE or CANCEL and wait for the end.
    Terminating,
    /// Over.
    Terminated,
}

impl SessionState {
    /// Is this the final state?
    pub fn is_terminated(self) -> bool {
        self == SessionState::Terminated
    }

    /// Is a dialog confirmed (Active or OnHold)?
    pub fn is_established(self) -> bool {
        matches!(self, SessionState::Active | SessionState::OnHold)
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionState::Initiating => "initiating",
            SessionState::Ringing => "ringing",
            SessionState::Incoming => "incoming",
            SessionState::Active => "active",
            SessionState::OnHold => "on hold",
            SessionState::Terminating => "terminating",
            SessionState::Terminated => "terminated",
        })
    }
}

/// Which side placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallDirection {
    /// We called.
    Outgoing,
    /// We were called.
    Incoming,
}

/// Why a call ended, with the SIP status that carried it when there was one, how long it
/// was up and what its media carried.
#[derive(Debug, Clone, PartialEq)]
pub struct EndInfo {
    /// The cause.
    pub cause: EndCause,
    /// The final status of the INVITE, or of the request that ended the dialog.
    pub status: Option<u16>,
    /// A readable reason ("Busy Here", "remote hung up", ...).
    pub reason: String,
    /// For [`EndCause::Unreachable`]: what stopped the INVITE, typed.
    pub unreachable: Option<crate::error::Unreachable>,
    /// How long the call was up, from the answer to the end; `None` if never answered.
    pub talk_time: Option<Duration>,
    /// The final statistics of the call's RTP stream, taken as the stream closed; `None`
    /// when the call had no media of ours (never answered, or the application's own SDP).
    pub rtp: Option<Box<RtpStats>>,
}

impl EndInfo {
    /// An end for `cause` with nothing else known yet.
    pub fn new(cause: EndCause, status: Option<u16>, reason: impl Into<String>) -> EndInfo {
        EndInfo { cause, status, reason: reason.into(), unreachable: None, talk_time: None, rtp: None }
    }
}

impl fmt::Display for EndInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            _ if self.cause == EndCause::Unreachable => write!(f, "{}: {}", self.cause, self.reason),
            Some(s) => write!(f, "{} ({s} {})", self.cause, self.reason),
            None => write!(f, "{}", self.cause),
        }
    }
}

/// The cause of a call's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndCause {
    /// We hung up (BYE).
    LocalHangup,
    /// The peer hung up (BYE).
    RemoteHangup,
    /// We declined the call.
    Rejected,
    /// The peer (or a proxy) declined our call, or it failed on the way.
    Failed,
    /// We cancelled our call before it was answered.
    Cancelled,
    /// The caller cancelled before we answered.
    CancelledByPeer,
    /// Nobody answered in time.
    NoAnswer,
    /// The peer never acknowledged our answer: no ACK for our 2xx (RFC 3261 §13.3.1.4), or
    /// no PRACK for our reliable provisional response (RFC 3262 §3).
    NoAck,
    /// The dialog broke (481, 408 to a request in it).
    DialogFailed,
    /// Our call was challenged and the challenge could not be answered.
    AuthFailed,
    /// The offer could not be answered (no common codec, bad SDP): 488.
    MediaFailed,
    /// Our call never reached anyone: its destination did not resolve, or every target
    /// refused the connection or never answered (the reason says which).
    Unreachable,
    /// The coordinator shut down.
    Shutdown,
    /// We transferred the peer (our REFER was accepted and its call answered), then hung
    /// up.
    Transferred,
    /// Another call took this one over (an INVITE with Replaces, RFC 3891: the far end's
    /// attended transfer), and we hung this one up.
    Replaced,
    /// The session timer ran out (RFC 4028): nobody refreshed the session in time — the far
    /// end most likely vanished — so we sent a BYE.
    SessionExpired,
    /// The peer sent no RTP for the RTP timeout while it should have, so we hung up
    /// ([`SessionConfig::end_on_rtp_timeout`](crate::SessionConfig::end_on_rtp_timeout)).
    RtpTimeout,
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndCause::LocalHangup => "hung up",
            EndCause::RemoteHangup => "remote hung up",
            EndCause::Rejected => "rejected",
            EndCause::Failed => "failed",
            EndCause::Cancelled => "cancelled",
            EndCause::CancelledByPeer => "cancelled by caller",
            EndCause::NoAnswer => "no answer",
            EndCause::NoAck => "no ACK",
            EndCause::DialogFailed => "dialog failed",
            EndCause::AuthFailed => "authentication failed",
            EndCause::MediaFailed => "media negotiation failed",
            EndCause::Unreachable => "unreachable",
            EndCause::Shutdown => "shut down",
            EndCause::Transferred => "transferred",
            EndCause::Replaced => "replaced by another call",
            EndCause::SessionExpired => "session expired",
            EndCause::RtpTimeout => "no RTP from the peer",
        })
    }
}

/// A snapshot of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSession {
    /// Its id.
    pub id: SessionId,
    /// Who called.
    pub direction: CallDirection,
    /// Our URI (From of calls we make, To of calls we answer).
    pub local_uri: String,
    /// The peer's URI.
    pub remote_uri: String,
    /// Where it is.
    pub state: SessionState,
    /// Has the peer put us on hold (its last offer was sendonly or inactive)?
    pub remote_hold: bool,
    /// Is our audio muted?
    pub muted: bool,
    /// When it started.
    pub created_at: Instant,
    /// When it was answered.
    pub answered_at: Option<Instant>,
    /// Why it ended, once it has.
    pub end: Option<EndInfo>,
    /// The Call-ID of its dialog (what a PBX's logs and CDRs name it by).
    pub call_id: String,
    /// The peer's headers, name and value in order: those of the INVITE for a call we were
    /// made, those of the 2xx that answered a call we made (empty until then). Call-center
    /// applications route on P-Asserted-Identity and X- headers.
    pub remote_headers: Vec<(String, String)>,
}

impl CallSession {
    /// The first value of the peer's header `name` (case-insensitive).
    pub fn remote_header(&self, name: &str) -> Option<&str> {
        self.remote_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An INVITE that arrived, as the [`CallHandler`](crate::CallHandler) sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    /// The session made for it.
    pub id: SessionId,
    /// The caller (the From header's value).
    pub from: String,
    /// Whom it is for (the To header's value).
    pub to: String,
    /// The Request-URI.
    pub request_uri: String,
    /// The Call-ID.
    pub call_id: String,
    /// The SDP offer, if the INVITE carried one.
    pub sdp: Option<String>,
    /// Every header, name and value, in order.
    pub headers: Vec<(String, String)>,
}

impl IncomingCall {
    /// The caller's URI, without display name or tag (`sip:alice@example.com`).
    pub fn from_uri(&self) -> &str {
        uri_of_party(&self.from)
    }

    /// The URI the call is for, without display name or tag.
    pub fn to_uri(&self) -> &str {
        uri_of_party(&self.to)
    }
}

/// The URI of a From or To value (`"Bob" <sip:bob@x>;tag=1` is `sip:bob@x`); the value
/// itself, trimmed, if it is not a `name-addr` (the transaction layer screened it already).
pub(crate) fn uri_of_party(value: &str) -> &str {
    sip_message::NameAddr::parse(value).map_or(value.trim(), |a| a.uri().as_str())
}

/// The peer's REFER in a call: it asks us to call `target` (RFC 3515), as the
/// [`CallHandler`](crate::CallHandler) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// The call the REFER came in.
    pub id: SessionId,
    /// Whom to call (the Refer-To URI, without any header part).
    pub target: String,
    /// Who asks (the Referred-By value), if the peer said.
    pub referred_by: Option<String>,
}

/// How to place a call with
/// [`SessionControl::create_outgoing_call_with`](crate::SessionControl::create_outgoing_call_with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Our own SDP offer; `None` for the media layer's (which then runs the media).
    pub sdp: Option<String>,
    /// Extra headers for the INVITE, name and value, in order (`X-Campaign`,
    /// `P-Asserted-Identity`, ...). The headers the stack owns (Via, From, To, Call-ID,
    /// CSeq, Contact, Max-Forwards, Content-Type, Content-Length) are refused.
    pub headers: Vec<(String, String)>,
}

impl CallOptions {
    /// Adds header `name: value`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> CallOptions {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What to do with an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallDecision {
    /// Answer it now. `None`: the media layer answers the offer (or makes one if the INVITE
    /// had none). `Some(sdp)`: this SDP goes in the 200 as it is, and the application owns
    /// the media it describes.
    Accept(Option<String>),
    /// Decline it with this status (300–699) and reason phrase.
    Reject(u16, String),
    /// Decide later with [`SessionControl::accept_incoming_call`](crate::SessionControl)
    /// or `reject_incoming_call`; the caller hears ringing meanwhile.
    Defer,
    /// Redirect it to this URI: 302 Moved Temporarily with the URI as Contact.
    Forward(String),
}

/// What a session's media is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Our last SDP (offer or answer).
    pub local_sdp: Option<String>,
    /// The peer's last SDP.
    pub remote_sdp: Option<String>,
    /// Our RTP address.
    pub local_rtp: Option<SocketAddr>,
    /// Where we send RTP (none while the peer holds with c=0.0.0.0, or before negotiation).
    pub remote_rtp: Option<SocketAddr>,
    /// The negotiated codec ("PCMU/8000").
    pub codec: Option<String>,
    /// Our direction for the stream ("sendrecv", "sendonly", "recvonly", "inactive").
    pub direction: Option<String>,
    /// The SRTP suite protecting the stream ("AES_CM_128_HMAC_SHA1_80"); `None`: plain RTP.
    pub srtp: Option<String>,
}

/// Statistics of a session's RTP stream.
pub use media_core::RtpStats;

/// A response to a request sent with [`SipClient`](crate::SipClient): everything in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Every header, name and value, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The response as it arrived.
    pub raw: String,
    /// The target that answered, by transport and address (RFC 3263 may have tried others
    /// first); `None` for a response the stack stood in with.
    pub answered_by: Option<(Transport, SocketAddr)>,
    /// The round trip: from the request's last send to the target that answered (after a
    /// digest challenge, the send with credentials) to this response.
    pub elapsed: Duration,
    /// The targets tried before the one that answered, in order, and why each was left
    /// (RFC 3263 §4.3 fail-over: no answer, a transport error, a 503).
    pub failed_over: Vec<FailedTarget>,
}

/// A target a request outside dialogs was sent to and moved on from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTarget {
    /// The transport it went over.
    pub transport: Transport,
    /// The address it went to.
    pub addr: SocketAddr,
    /// The status it answered with (503), or `None` when it did not answer.
    pub status: Option<u16>,
    /// The reason phrase of that status, or why there was no answer ("no response (timed
    /// out)", the transport error).
    pub reason: String,
}

/// What a request outside dialogs carries beyond its method and URI
/// ([`SipClient::send_request_with`](crate::SipClient::send_request_with)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Extra headers, name and value (the stack writes Via, From, To, Call-ID, CSeq,
    /// Contact, Max-Forwards and Content-Length itself).
    pub headers: Vec<(String, String)>,
    /// The body: content type and bytes.
    pub body: Option<(String, Vec<u8>)>,
    /// Give up on one target after this long and try the next (default: the transaction's
    /// own time-out, 64·T1 = 32 s).
    pub target_timeout: Option<Duration>,
    /// The From URI: a registered account's address of record sends it as that account
    /// (its credentials answer challenges, its outbound proxy routes it); `None` sends it
    /// as this agent (`sip:sipline@HOST:PORT`, or the configured From).
    pub from: Option<String>,
}

/// A subscription of ours (RFC 6665), from [`SipClient::subscribe`](crate::SipClient::subscribe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sub-{}", self.0)
    }
}

/// What a subscription asks for beyond its URI and event package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// The lifetime to ask for, in seconds (refreshed at nine tenths of what is granted).
    pub expires: u32,
    /// The body types we take (`application/simple-message-summary`, ...); `None` leaves
    /// the package's default.
    pub accept: Option<String>,
    /// Subscribe as this registered account's address of record (its credentials and
    /// outbound proxy); `None`: as this agent.
    pub from: Option<String>,
}

impl Default for SubscribeOptions {
    fn default() -> SubscribeOptions {
        SubscribeOptions { expires: 600, accept: None, from: None }
    }
}

/// How a blind transfer goes (see `SessionControl::transfer_session_with`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOptions {
    /// Follow the new call's progress through the REFER's implicit subscription (the
    /// NOTIFYs of RFC 3515). `false` asks the peer for none (`Refer-Sub: false`, RFC 4488):
    /// when it agrees, the transfer is over with its 202 and this call ends at once; a peer
    /// that does not know RFC 4488 subscribes us anyway and the NOTIFYs are followed.
    pub progress: bool,
}

impl Default for TransferOptions {
    fn default() -> TransferOptions {
        TransferOptions { progress: true }
    }
}

/// A NOTIFY for one of our subscriptions (answered 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// Its event package.
    pub event: String,
    /// The Subscription-State: `active`, `pending` or `terminated`.
    pub state: String,
    /// Why it terminated, when it did (`deactivated`, `timeout`, `rejected`, ...).
    pub reason: Option<String>,
    /// The body's Content-Type, if it had a body.
    pub content_type: Option<String>,
    /// The body (a message summary, a PIDF document, dialog-info XML, ...).
    pub body: Vec<u8>,
}

/// A MESSAGE (RFC 3428) that reached us, outside a call or in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstantMessage {
    /// The call it came in, if it came in one.
    pub call: Option<SessionId>,
    /// The sender's URI (From).
    pub from: String,
    /// Whom it is for (To).
    pub to: String,
    /// Its Content-Type (`text/plain` for a chat line).
    pub content_type: String,
    /// Its body.
    pub body: Vec<u8>,
}

impl InstantMessage {
    /// The body as text (lossily, for bodies that are not UTF-8).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

impl SipResponse {
    /// The first value of header `name` (case-insensitive; compact forms are not expanded).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An account to register and to call from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user part of the address of record (`sip:USER@domain`), also the digest user.
    pub user: String,
    /// The digest password; `None` for a registrar that does not challenge.
    pub password: Option<String>,
    /// The registrar URI, e.g. `sip:example.com` or `sip:127.0.0.1:5060`.
    pub registrar: String,
    /// The domain of the address of record; the registrar's host when `None`.
    pub domain: Option<String>,
    /// The registration lifetime to ask for, in seconds.
    pub expires: u32,
    /// A proxy every request of this account goes through (a pre-loaded Route, RFC 3261
    /// §8.1.2), e.g. `sip:proxy.example.com;lr`.
    pub outbound_proxy: Option<String>,
    /// The display name of the From header.
    pub display_name: Option<String>,
    /// Never answer a digest challenge with MD5 (only SHA-256 or SHA-512/256, RFC 8760): a
    /// server, or a forged challenge, that offers nothing stronger gets no answer (the
    /// registration or call fails, saying so), and the password is never hashed with MD5
    /// where an eavesdropper could brute-force it. Off by default, since
    /// most servers offer MD5 only.
    pub refuse_md5: bool,
    /// Ask the registrar for a GRUU (RFC 5627) and, once it grants one, put it in the
    /// Contact of this account's calls instead of our address. The far end's requests in a
    /// call then reach us through the registrar by its binding of the moment, so a call
    /// outlives the connection it was set up over even when both ends' connections failed
    /// (RFC 5626 recovers the registration, the GRUU the dialog). The proxy must route
    /// requests addressed to a GRUU by its location service (kamailio: `gruu_enabled` and a
    /// `lookup` of in-dialog requests to itself, as `crates/sip-testpeers/peers/kamailio.cfg`
    /// does under `WITH_GRUU`). Off by default: a proxy that grants GRUUs but routes
    /// in-dialog requests only by Record-Route and the Contact loses them.
    pub gruu: bool,
}

impl Account {
    /// An account for `user` at `registrar`, with `password`, asking for an hour.
    pub fn new(user: impl Into<String>, password: Option<String>, registrar: impl Into<String>) -> Account {
        Account {
            user: user.into(),
            password,
            registrar: registrar.into(),
            domain: None,
            expires: 3600,
            outbound_proxy: None,
            display_name: None,
            refuse_md5: false,
            gruu: false,
        }
    }

    /// The address of record, `sip:USER@DOMAIN`: the configured domain, else the
    /// registrar's host (without its port). An error if the registrar is not a sip: or
    /// sips: URI.
    pub fn aor(&self) -> Result<String, crate::SessionError> {
        use sip_message::Uri;
        let host = match Uri::parse(&self.registrar) {
            Ok(Uri::Sip(u)) => u.host_str().to_owned(),
            Ok(_) => return Err(crate::SessionError::InvalidInput("the registrar must be a sip: or sips: URI".into())),
            Err(e) => return Err(crate::SessionError::InvalidInput(format!("registrar '{}': {e}", self.registrar))),
        };
        let domain = self.domain.as_deref().unwrap_or(&host);
        Ok(format!("sip:{}@{domain}", self.user))
    }
}

/// The registration state of an account (sip-dialog's state machine, as is).
pub use sip_dialog::RegistrationState;

/// Something that happened, for [`SessionCoordinator::subscribe_events`](crate::SessionCoordinator::subscribe_events).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A call arrived.
    IncomingCall {
        /// The session.
        id: SessionId,
        /// The caller.
        from: String,
        /// The INVITE as the handler sees it (headers, Call-ID, offer).
        call: Box<IncomingCall>,
    },
    /// A provisional response to our call (180 Ringing, 183 Session Progress).
    Progress {
        /// The session.
        id: SessionId,
        /// Its status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// A session changed state.
    StateChanged {
        /// The session.
        id: SessionId,
        /// Before.
        old: SessionState,
        /// After.
        new: SessionState,
    },
    /// The peer put the call on hold or took it off.
    RemoteHold {
        /// The session.
        id: SessionId,
        /// On hold now?
        held: bool,
    },
    /// A call ended.
    Ended {
        /// The session.
        id: SessionId,
        /// Why.
        info: EndInfo,
    },
    /// The peer pressed a DTMF key: an RFC 4733 telephone-event, or a SIP INFO
    /// (`application/dtmf-relay` or `application/dtmf`).
    Dtmf {
        /// The session.
        id: SessionId,
        /// The digit: 0-9, *, #, A-D.
        digit: char,
        /// How long it was pressed, in milliseconds (0 when the peer did not say).
        duration_ms: u32,
    },
    /// No RTP has arrived for the configured time although the peer should be sending
    /// ([`SessionManagerBuilder::rtp_timeout`](crate::SessionManagerBuilder::rtp_timeout)):
    /// the far end may be gone.
    RtpTimeout {
        /// The session.
        id: SessionId,
        /// How long it has been silent.
        silent_for: std::time::Duration,
    },
    /// RTP arrives again after an [`SessionEvent::RtpTimeout`].
    RtpResumed {
        /// The session.
        id: SessionId,
    },
    /// Our address changed ([`SessionCoordinator::change_local_address`](crate::SessionCoordinator::change_local_address)):
    /// every account registers the new one, every call that is up is refreshed with a
    /// re-INVITE.
    AddressChanged {
        /// The address we were reached at.
        from: SocketAddr,
        /// The address we are reached at now.
        to: SocketAddr,
    },
    /// How our transfer of call `id` goes: the REFER's answer (202), then each status of
    /// the peer's call to the target as its NOTIFYs report it. `done` marks the last: a
    /// 2xx there means the peer is talking to the target and we hang up
    /// ([`EndCause::Transferred`]); anything else leaves the call as it was.
    TransferProgress {
        /// The call being transferred.
        id: SessionId,
        /// The status (202 for the REFER, then 100, 180, 200, 486, ...).
        status: u16,
        /// Its reason phrase.
        reason: String,
        /// No more progress will come.
        done: bool,
    },
    /// The peer of a call asks us to call someone else (its REFER); the handler decides.
    TransferRequested {
        /// What it asks.
        request: TransferRequest,
    },
    /// We accepted the peer's REFER in call `id` and are calling `target` as `new_call`
    /// (its progress is reported back to the peer).
    Transferring {
        /// The call the REFER came in.
        id: SessionId,
        /// The call placed to the target.
        new_call: SessionId,
        /// The target.
        target: String,
    },
    /// A new call (`new`, an INVITE with Replaces) takes over call `old`: it is answered at
    /// once, and `old` ends when it is up.
    Replaced {
        /// The call being replaced.
        old: SessionId,
        /// The call replacing it.
        new: SessionId,
    },
    /// A MESSAGE reached us (answered 200).
    Message(Box<InstantMessage>),
    /// A NOTIFY for a subscription of ours (answered 200).
    Notify(Box<Notification>),
    /// A subscription of ours is over (unsubscribed, refused, or ended by the notifier)
    /// and will not be renewed.
    SubscriptionEnded {
        /// The subscription.
        subscription: SubscriptionId,
        /// Why.
        reason: String,
    },
    /// An INFO in call `id` that carried no DTMF digit (answered 200).
    Info {
        /// The call.
        id: SessionId,
        /// Its Content-Type, if it had a body.
        content_type: Option<String>,
        /// Its body.
        body: Vec<u8>,
    },
    /// An account's registration changed state.
    Registration {
        /// The account.
        account: AccountId,
        /// Its address of record (`sip:user@domain`).
        aor: String,
        /// Its new state.
        state: RegistrationState,
    },
}
