//! The public API of session-core: the traits an application (or client-core) programs
//! against, and the values they exchange. [`SessionCoordinator`](crate::SessionCoordinator)
//! implements every trait.
//!
//! - [`SessionControl`]: make, answer, reject, hang up, hold, resume, mute calls; query them.
//! - [`MediaControl`]: what a call's media is doing (SDP, addresses, codec, RTP statistics
//!   and MOS) and its audio: DTMF, files played and recorded, frames pushed and received.
//! - [`SipClient`]: registration, OPTIONS, and any request sent as is.
//! - [`CallHandler`]: the application's decisions about incoming calls, and call callbacks.

mod handler;
mod packages;
mod types;

pub use handler::{AcceptAll, CallHandler, DeferAll};
pub use packages::{DialogStatus, MessageCounts, MessageSummary};
pub(crate) use types::uri_of_party;
pub use types::{
    Account, AccountId, CallDecision, CallDirection, CallOptions, CallSession, EndCause, EndInfo, FailedTarget,
    IncomingCall, InstantMessage, MediaInfo, Notification, RegistrationState, RequestOptions, RtpStats, SessionEvent,
    SessionId, SessionState, SipResponse, SubscribeOptions, SubscriptionId, TransferOptions, TransferRequest,
};

use crate::error::SessionError;
use media_core::{AudioFrames, AudioSource};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// A call prepared by [`SessionControl::prepare_outgoing_call`]: its media port is bound and
/// its SDP offer made, so an application can look at (or publish) the offer before the
/// INVITE goes out with [`SessionControl::initiate_prepared_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCall {
    /// The session it will be.
    pub id: SessionId,
    /// Our From URI.
    pub from: String,
    /// The callee.
    pub to: String,
    /// The SDP offer the INVITE will carry.
    pub sdp_offer: String,
}

/// Calls: make, answer, end, hold, mute, and look at them.
pub trait SessionControl {
    /// Calls `to` from `from` (a URI; the account whose address of record it is supplies
    /// credentials and outbound proxy). `sdp`: our own offer, or `None` for the media
    /// layer's. Returns once the INVITE is sent; the call goes on in the background.
    fn create_outgoing_call(
        &self,
        from: &str,
        to: &str,
        sdp: Option<String>,
    ) -> impl Future<Output = Result<CallSession, SessionError>> + Send;

    /// Calls `to` from `from` as [`Self::create_outgoing_call`] does, with `options`: our own
    /// SDP and extra INVITE headers. A header the stack owns, a name that is not a token or
    /// a value with a line break is refused with [`SessionError::InvalidInput`].
    fn create_outgoing_call_with(
        &self,
        from: &str,
        to: &str,
        options: CallOptions,
    ) -> impl Future<Output = Result<CallSession, SessionError>> + Send;

    /// Binds the media and makes the offer of a call, without sending anything yet.
    fn prepare_outgoing_call(
        &self,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<PreparedCall, SessionError>> + Send;

    /// Prepares a call as [`Self::prepare_outgoing_call`] does, with `options` (own SDP, extra
    /// INVITE headers, checked as in [`Self::create_outgoing_call_with`]).
    fn prepare_outgoing_call_with(
        &self,
        from: &str,
        to: &str,
        options: CallOptions,
    ) -> impl Future<Output = Result<PreparedCall, SessionError>> + Send;

    /// Sends the INVITE of a prepared call.
    fn initiate_prepared_call(
        &self,
        prepared: &PreparedCall,
    ) -> impl Future<Output = Result<CallSession, SessionError>> + Send;

    /// Answers a deferred incoming call; `sdp` as in [`CallDecision::Accept`].
    fn accept_incoming_call(
        &self,
        id: SessionId,
        sdp: Option<String>,
    ) -> impl Future<Output = Result<CallSession, SessionError>> + Send;

    /// Declines a deferred incoming call with `status` (300–699) and `reason`.
    fn reject_incoming_call(
        &self,
        id: SessionId,
        status: u16,
        reason: &str,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Ends a call whatever its state: CANCEL while ours rings, 603 Decline to one we have
    /// not answered, BYE once established.
    fn terminate_session(&self, id: SessionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Puts an established call on hold (a re-INVITE offering sendonly, or inactive when
    /// the peer holds us too; RFC 3264 §8.4). Returns when the peer has answered.
    fn hold_session(&self, id: SessionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Takes a call off hold (a re-INVITE offering sendrecv). Returns when answered.
    fn resume_session(&self, id: SessionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Transfers the peer of an established call to `target` (a blind transfer, RFC 3515:
    /// REFER with Refer-To and Referred-By; a `target` carrying `?Replaces=...` makes it
    /// attended, RFC 3891). Returns once the peer accepted the REFER;
    /// [`SessionEvent::TransferProgress`] follows the new call, and when it is answered
    /// this call ends as [`EndCause::Transferred`](crate::EndCause::Transferred).
    fn transfer_session(&self, id: SessionId, target: &str) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// [`SessionControl::transfer_session`] with options: `progress: false` asks the peer
    /// not to report the new call's progress (RFC 4488 `Refer-Sub: false`); when it agrees
    /// the transfer is done with its 202 and this call ends as
    /// [`EndCause::Transferred`](crate::EndCause::Transferred) right away.
    fn transfer_session_with(
        &self,
        id: SessionId,
        target: &str,
        options: TransferOptions,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Transfers the peer of call `id` to the peer of call `to` (an attended transfer: the
    /// REFER's Refer-To names `to`'s peer with a Replaces for that call, RFC 3891/5589).
    /// Returns once the peer accepted the REFER; both calls end as the transfer completes.
    fn transfer_session_attended(
        &self,
        id: SessionId,
        to: SessionId,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Accepts or refuses the peer's REFER in call `id` (what
    /// [`CallHandler::on_transfer_request`] does by itself): 202 and a call to the target,
    /// or 603.
    fn decide_transfer(&self, id: SessionId, accept: bool) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Starts early media on an incoming call we have not answered: 183 Session Progress
    /// with our SDP answer, and our stream running (what it sends is set with
    /// [`MediaControl::play_audio_file`] and the like), so the caller hears an announcement
    /// or ringback before the answer. Answering later sends 200 with the same SDP. Returns
    /// once the 183 went. Refused for an INVITE that carried no offer.
    fn send_early_media(&self, id: SessionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Sends an INFO (RFC 6086) with `content_type` and `body` in an established call;
    /// returns once sent. Refused while DTMF digits are going as SIP INFO.
    fn send_info(
        &self,
        id: SessionId,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Mutes or unmutes our audio (RTP keeps flowing, carrying silence).
    fn set_audio_muted(&self, id: SessionId, muted: bool) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// A snapshot of a session; `None` once it has ended and been forgotten.
    fn get_session(&self, id: SessionId) -> impl Future<Output = Option<CallSession>> + Send;

    /// Every session that has not ended.
    fn list_active_sessions(&self) -> impl Future<Output = Vec<CallSession>> + Send;

    /// Waits until our call is answered (Ok), ends first (the error says why), or `timeout`
    /// passes ([`SessionError::Timeout`]; the call goes on).
    fn wait_for_answer(
        &self,
        id: SessionId,
        timeout: Duration,
    ) -> impl Future<Output = Result<CallSession, SessionError>> + Send;

    /// Waits until the session has ended, and says why (also for a session that ended
    /// lately: the last 256 outcomes are kept).
    fn wait_for_end(&self, id: SessionId) -> impl Future<Output = Result<EndInfo, SessionError>> + Send;
}

/// A call's media.
pub trait MediaControl {
    /// The SDP both ways, the RTP addresses, codec and direction.
    fn get_media_info(&self, id: SessionId) -> impl Future<Output = Result<MediaInfo, SessionError>> + Send;

    /// Packets and octets both ways, loss and jitter of what we receive.
    fn get_rtp_statistics(&self, id: SessionId) -> impl Future<Output = Result<RtpStats, SessionError>> + Send;

    /// The last second (at most) of audio played out from what was received, decoded to
    /// 16-bit samples at the codec's rate.
    fn get_received_audio(&self, id: SessionId) -> impl Future<Output = Result<Vec<i16>, SessionError>> + Send;

    /// Sends DTMF digits (0-9, *, #, A-D), one after the other: as RFC 4733
    /// telephone-events when the peer negotiated them, else as SIP INFO
    /// `application/dtmf-relay` requests.
    fn send_dtmf(&self, id: SessionId, digits: &str) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Sends `source` as the call's audio from now on: silence, a tone, a loaded file, or
    /// frames pushed with [`MediaControl::push_audio`].
    fn set_audio_source(
        &self,
        id: SessionId,
        source: AudioSource,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Plays a WAV file (PCM or float, any rate and channel count), looped, as the call's
    /// audio. A file that cannot be played is an error that names its format.
    fn play_audio_file(
        &self,
        id: SessionId,
        path: impl AsRef<Path> + Send,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Queues 16-bit PCM at the call's audio rate to send, for an [`AudioSource::Pushed`]
    /// source; at most 10 s may wait.
    fn push_audio(&self, id: SessionId, samples: Vec<i16>) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Records what the call hears to a 16-bit PCM mono WAV file, completed when the call
    /// ends or [`MediaControl::stop_recording`] is called.
    fn record_audio(
        &self,
        id: SessionId,
        path: impl AsRef<Path> + Send,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Ends the call's recordings and received-audio streams.
    fn stop_recording(&self, id: SessionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// The audio the call hears, as a stream of decoded 20 ms frames with a backlog of
    /// `backlog` frames (what a voice bot feeds to speech recognition).
    fn received_audio_stream(
        &self,
        id: SessionId,
        backlog: usize,
    ) -> impl Future<Output = Result<AudioFrames, SessionError>> + Send;

    /// Mutes or unmutes what the call hears (recordings and streams get silence).
    fn set_receive_muted(&self, id: SessionId, muted: bool) -> impl Future<Output = Result<(), SessionError>> + Send;
}

/// The SIP client side: registration and requests outside calls. Enabled with
/// [`SessionManagerBuilder::enable_sip_client`](crate::SessionManagerBuilder::enable_sip_client).
pub trait SipClient {
    /// Registers `account` and keeps it registered (refreshing before the server-granted
    /// expiry, retrying with back-off after a loss). Returns when the first attempt has an
    /// outcome: the id once registered, or the error (a wrong password is
    /// [`SessionError::AuthFailed`]); later changes come as [`SessionEvent::Registration`].
    fn register(&self, account: Account) -> impl Future<Output = Result<AccountId, SessionError>> + Send;

    /// Removes the account's binding (REGISTER with expires 0) and forgets the account.
    /// Returns when the registrar has answered.
    fn unregister(&self, account: AccountId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Refreshes the binding now rather than at its time.
    fn refresh_registration(&self, account: AccountId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// The account's registration state.
    fn registration_state(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<RegistrationState, SessionError>> + Send;

    /// Sends OPTIONS to `uri` and returns the final response.
    fn send_options(&self, uri: &str) -> impl Future<Output = Result<SipResponse, SessionError>> + Send;

    /// Sends a request of `method` to `uri` outside any dialog, with extra `headers` and a
    /// `body` (content type, bytes), and returns the final response with all its headers.
    /// A 401/407 is answered with the default credentials once.
    fn send_request(
        &self,
        method: &str,
        uri: &str,
        headers: Vec<(String, String)>,
        body: Option<(String, Vec<u8>)>,
    ) -> impl Future<Output = Result<SipResponse, SessionError>> + Send;

    /// Subscribes to `event` (a package: `message-summary`, `presence`, `dialog`, ...) at
    /// `uri` (RFC 6665), keeps the subscription refreshed, and resubscribes when the
    /// notifier loses it. Returns its id once the notifier accepted it (a 2xx or a first
    /// NOTIFY); each NOTIFY comes as [`SessionEvent::Notify`], the end as
    /// [`SessionEvent::SubscriptionEnded`].
    fn subscribe(
        &self,
        uri: &str,
        event: &str,
        options: SubscribeOptions,
    ) -> impl Future<Output = Result<SubscriptionId, SessionError>> + Send;

    /// Ends a subscription (SUBSCRIBE with Expires: 0); returns when the notifier answered.
    fn unsubscribe(&self, id: SubscriptionId) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Like [`Self::send_request`], with every option: headers, body, and how long to wait
    /// on one target before the next is tried.
    fn send_request_with(
        &self,
        method: &str,
        uri: &str,
        options: RequestOptions,
    ) -> impl Future<Output = Result<SipResponse, SessionError>> + Send;
}
