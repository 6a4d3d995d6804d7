//! Calls: [`CallInfo`] (one call, live or in the history) and the call operations of
//! [`ClientManager`]: make, answer, reject, hang up, hold, resume, mute, and the queries.

use crate::manager::{wall_clock, Shared};
use crate::{CallDirection, CallId, CallState, ClientError, ClientManager, EndInfo, RtpStats, TransferOptions};
use session_core::{CallOptions, CallSession, MediaControl, SessionControl, SessionError};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A call as the client knows it: who, which way, where it stands, and once it is over,
/// why it ended, how long it lasted and what its media carried.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    /// Its id.
    pub id: CallId,
    /// Who called.
    pub direction: CallDirection,
    /// Where it stands.
    pub state: CallState,
    /// Our URI.
    pub local_uri: String,
    /// The far end's URI.
    pub remote_uri: String,
    /// The SIP Call-ID.
    pub call_id: String,
    /// The far end's headers: the INVITE's for a call we answered, the 2xx's for one we
    /// made (empty until answered).
    pub remote_headers: Vec<(String, String)>,
    /// When it began (the INVITE sent or received).
    pub started_at: SystemTime,
    /// When it was answered.
    pub answered_at: Option<SystemTime>,
    /// When it ended.
    pub ended_at: Option<SystemTime>,
    /// How long it was up, answer to end (set when it ends).
    pub talk_time: Option<Duration>,
    /// Why it ended, with its final RTP statistics.
    pub end: Option<EndInfo>,
    /// Is our microphone (what we send) muted?
    pub microphone_muted: bool,
    /// Is what we receive muted?
    pub speaker_muted: bool,
    /// Has the far end put us on hold?
    pub remote_hold: bool,
    /// The application's own notes about the call (a ticket number, a queue name).
    pub metadata: BTreeMap<String, String>,
}

impl CallInfo {
    /// A call that starts now: outgoing ones are initiating, incoming ones wait for a
    /// decision.
    pub(crate) fn new(id: CallId, direction: CallDirection, local_uri: &str, remote_uri: &str) -> CallInfo {
        CallInfo {
            id,
            direction,
            state: match direction {
                CallDirection::Outgoing => CallState::Initiating,
                CallDirection::Incoming => CallState::Incoming,
            },
            local_uri: local_uri.to_owned(),
            remote_uri: remote_uri.to_owned(),
            call_id: String::new(),
            remote_headers: Vec::new(),
            started_at: SystemTime::now(),
            answered_at: None,
            ended_at: None,
            talk_time: None,
            end: None,
            microphone_muted: false,
            speaker_muted: false,
            remote_hold: false,
            metadata: BTreeMap::new(),
        }
    }

    pub(crate) fn from_session(s: &CallSession) -> CallInfo {
        CallInfo {
            id: s.id,
            direction: s.direction,
            state: s.state,
            local_uri: s.local_uri.clone(),
            remote_uri: s.remote_uri.clone(),
            call_id: s.call_id.clone(),
            remote_headers: s.remote_headers.clone(),
            started_at: wall_clock(s.created_at),
            answered_at: s.answered_at.map(wall_clock),
            ended_at: None,
            talk_time: None,
            end: s.end.clone(),
            microphone_muted: s.muted,
            speaker_muted: false,
            remote_hold: s.remote_hold,
            metadata: BTreeMap::new(),
        }
    }

    /// The first value of the far end's header `name` (case-insensitive).
    pub fn remote_header(&self, name: &str) -> Option<&str> {
        self.remote_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// How long the call has been up: its talk time once ended, the time since the answer
    /// while up, zero before.
    pub fn duration(&self) -> Duration {
        match (self.talk_time, self.answered_at) {
            (Some(t), _) => t,
            (None, Some(at)) => SystemTime::now().duration_since(at).unwrap_or_default(),
            (None, None) => Duration::ZERO,
        }
    }

    /// The final RTP statistics, once ended (for a live call ask
    /// [`ClientManager::get_rtp_statistics`]).
    pub fn final_rtp(&self) -> Option<&RtpStats> {
        self.end.as_ref().and_then(|e| e.rtp.as_deref())
    }
}

/// Options for [`ClientManager::make_call_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MakeCallOptions {
    /// Extra INVITE headers (`X-...`, `P-Asserted-Identity`).
    pub headers: Vec<(String, String)>,
    /// The application's notes, kept with the call and in the history.
    pub metadata: BTreeMap<String, String>,
}

impl MakeCallOptions {
    /// Adds an INVITE header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> MakeCallOptions {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a note.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> MakeCallOptions {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

impl ClientManager {
    /// Calls `to` from `from` (a URI; when it is the address of record of an account, that
    /// account's credentials and outbound proxy are used). Returns once the INVITE is out;
    /// progress comes as events, and [`Self::wait_for_answer`] waits for the outcome.
    ///
    /// ```no_run
    /// # async fn demo(client: std::sync::Arc<client_core::ClientManager>) -> Result<(), client_core::ClientError> {
    /// let call = client.make_call("sip:alice@example.com", "sip:bob@example.com").await?;
    /// client.wait_for_answer(call, std::time::Duration::from_secs(30)).await?;
    /// client.hangup_call(call).await?;
    /// # Ok(()) }
    /// ```
    pub async fn make_call(&self, from: &str, to: &str) -> Result<CallId, ClientError> {
        self.make_call_with(from, to, MakeCallOptions::default()).await
    }

    /// Calls `to` from `from` with extra INVITE headers and metadata.
    #[tracing::instrument(skip(self, options), fields(call))]
    pub async fn make_call_with(&self, from: &str, to: &str, options: MakeCallOptions) -> Result<CallId, ClientError> {
        let session = self.session()?;
        let call_options = CallOptions { sdp: None, headers: options.headers };
        let prepared = session.prepare_outgoing_call_with(from, to, call_options).await?;
        tracing::Span::current().record("call", tracing::field::display(prepared.id));
        // The call is known before its INVITE goes, so no event about it finds it missing.
        {
            let mut state = self.shared.lock();
            let mut info = CallInfo::new(prepared.id, CallDirection::Outgoing, &prepared.from, &prepared.to);
            info.metadata = options.metadata;
            state.calls.insert(prepared.id, info);
        }
        match session.initiate_prepared_call(&prepared).await {
            Ok(s) => {
                if let Some(c) = self.shared.lock().calls.get_mut(&s.id) {
                    c.call_id = s.call_id.clone();
                }
                self.shared.telemetry.call_started(CallDirection::Outgoing);
                Ok(s.id)
            }
            Err(e) => {
                self.shared.lock().calls.remove(&prepared.id);
                Err(e.into())
            }
        }
    }

    /// Answers an incoming call that waits for a decision. Returns once our 200 is sent.
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn answer_call(&self, id: CallId) -> Result<CallInfo, ClientError> {
        let session = self.session()?;
        let answered = session.accept_incoming_call(id, None).await.map_err(|e| not_found(e, id))?;
        Ok(self.merge(&answered))
    }

    /// Declines an incoming call with `status` (300-699: 486 Busy Here, 603 Decline, ...).
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn reject_call(&self, id: CallId, status: u16) -> Result<(), ClientError> {
        let session = self.session()?;
        session.reject_incoming_call(id, status, "").await.map_err(|e| not_found(e, id))
    }

    /// Ends a call in any state: CANCEL while it rings, a decline before we answered, BYE
    /// once up. Returns once the request is sent; the end comes as
    /// [`ClientEvent::CallEnded`](crate::ClientEvent::CallEnded).
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn hangup_call(&self, id: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        session.terminate_session(id).await.map_err(|e| not_found(e, id))
    }

    /// Transfers the far end of an established call to `target` (a blind transfer: REFER,
    /// RFC 3515). Returns once the far end accepted; its progress comes as
    /// [`ClientEvent::TransferProgress`](crate::ClientEvent::TransferProgress), and when
    /// the far end's call to `target` is answered this call ends with
    /// [`EndCause::Transferred`](crate::EndCause::Transferred). A refusal is an error with
    /// its status, and the call goes on.
    ///
    /// ```no_run
    /// # async fn t(client: &client_core::ClientManager, call: client_core::CallId) -> client_core::Result<()> {
    /// client.transfer_call(call, "sip:agent2@pbx.example.com").await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn transfer_call(&self, id: CallId, target: &str) -> Result<(), ClientError> {
        let session = self.session()?;
        session.transfer_session(id, target).await.map_err(|e| not_found(e, id))
    }

    /// [`ClientManager::transfer_call`] with options. `progress: false` is the "fire and
    /// forget" blind transfer of RFC 4488: the REFER asks for no progress reports, and when
    /// the far end agrees our call ends with its 202
    /// ([`EndCause::Transferred`](crate::EndCause::Transferred)); a far end that does not
    /// know RFC 4488 reports progress anyway, and the transfer goes as with `transfer_call`.
    ///
    /// ```no_run
    /// # async fn t(client: &client_core::ClientManager, call: client_core::CallId) -> client_core::Result<()> {
    /// let options = client_core::TransferOptions { progress: false };
    /// client.transfer_call_with(call, "sip:queue@pbx.example.com", options).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn transfer_call_with(
        &self,
        id: CallId,
        target: &str,
        options: TransferOptions,
    ) -> Result<(), ClientError> {
        let session = self.session()?;
        session.transfer_session_with(id, target, options).await.map_err(|e| not_found(e, id))
    }

    /// Plays early media on an incoming call before answering it: 183 Session Progress with
    /// our SDP, and the call's stream running, so the caller hears an announcement or
    /// ringback (set what it sends with [`ClientManager::play_audio_file`] and the like).
    /// Answering later keeps the same media. Returns once the 183 went.
    ///
    /// ```no_run
    /// # async fn e(client: &client_core::ClientManager, call: client_core::CallId) -> client_core::Result<()> {
    /// client.send_early_media(call).await?;
    /// client.play_audio_file(call, "queue-announcement.wav").await?;
    /// // ... when an agent is free:
    /// client.answer_call(call).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn send_early_media(&self, id: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        session.send_early_media(id).await.map_err(|e| not_found(e, id))
    }

    /// Sends an INFO (RFC 6086) with `content_type` and `body` in an established call
    /// (returns once sent). INFOs the far end sends arrive as
    /// [`ClientEvent::InfoReceived`](crate::ClientEvent::InfoReceived).
    #[tracing::instrument(skip(self, body), fields(call = %id))]
    pub async fn send_info(&self, id: CallId, content_type: &str, body: Vec<u8>) -> Result<(), ClientError> {
        let session = self.session()?;
        session.send_info(id, content_type, body).await.map_err(|e| not_found(e, id))
    }

    /// Transfers the far end of call `id` to the far end of call `to` (an attended
    /// transfer: typically `to` is the consultation call with the colleague taking over).
    /// The far end of `id` calls `to`'s far end with Replaces, which takes over our call
    /// there; both our calls end. Returns once the far end accepted the REFER.
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn transfer_call_attended(&self, id: CallId, to: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        session.transfer_session_attended(id, to).await.map_err(|e| not_found(e, id))
    }

    /// Puts a call on hold (a re-INVITE offering sendonly, or an UPDATE with
    /// `calls.offer_by_update`). Returns once the far end agreed.
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn hold_call(&self, id: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        self.expect_up(id, "hold")?;
        session.hold_session(id).await.map_err(|e| not_found(e, id))
    }

    /// Takes a call off hold. Returns once the far end agreed.
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn resume_call(&self, id: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        self.expect_up(id, "resume")?;
        session.resume_session(id).await.map_err(|e| not_found(e, id))
    }

    /// Mutes or unmutes what we send (RTP keeps flowing, carrying silence).
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn set_microphone_mute(&self, id: CallId, muted: bool) -> Result<(), ClientError> {
        let session = self.session()?;
        session.set_audio_muted(id, muted).await.map_err(|e| not_found(e, id))?;
        if let Some(c) = self.shared.lock().calls.get_mut(&id) {
            c.microphone_muted = muted;
        }
        Ok(())
    }

    /// Mutes or unmutes what we hear: recordings, received-audio streams and
    /// [`Self::get_received_audio`] get silence while muted; packets are still received
    /// and counted, so the statistics and the far end see no change.
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn set_speaker_mute(&self, id: CallId, muted: bool) -> Result<(), ClientError> {
        let session = self.session()?;
        session.set_receive_muted(id, muted).await.map_err(|e| not_found(e, id))?;
        let mut state = self.shared.lock();
        let call = state.calls.get_mut(&id).ok_or(ClientError::CallNotFound(id))?;
        call.speaker_muted = muted;
        Ok(())
    }

    /// Waits until our call is answered, ends first (the error says why), or `timeout`
    /// passes ([`ClientError::Timeout`]; the call goes on).
    pub async fn wait_for_answer(&self, id: CallId, timeout: Duration) -> Result<CallInfo, ClientError> {
        let session = self.session()?;
        match session.wait_for_answer(id, timeout).await {
            Ok(s) => Ok(self.merge(&s)),
            Err(SessionError::Timeout) => {
                Err(ClientError::Timeout { operation: format!("answer of {id}"), after: timeout })
            }
            Err(e) => Err(not_found(e, id)),
        }
    }

    /// Waits until the call has ended and returns its history entry.
    pub async fn wait_for_end(&self, id: CallId) -> Result<CallInfo, ClientError> {
        let session = self.session()?;
        let end = session.wait_for_end(id).await.map_err(|e| not_found(e, id))?;
        // The history entry is written by the event task, which may be a step behind the
        // session layer: wait for it (it is told of every end), unless the client stops.
        loop {
            let written = self.shared.ended.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            {
                let state = self.shared.lock();
                if let Some(c) = state.history.iter().rev().find(|c| c.id == id) {
                    return Ok(c.clone());
                }
                if !state.calls.contains_key(&id) || !self.is_running() {
                    // The event task will not write it (the client stopped, or never tracked
                    // the call): what the table has, marked with the session layer's end.
                    drop(state);
                    let mut info = self.get_call(id).ok_or(ClientError::CallNotFound(id))?;
                    Shared::finish(&mut info, end);
                    return Ok(info);
                }
            }
            written.await;
        }
    }

    /// A call, live or in the history.
    pub fn get_call(&self, id: CallId) -> Option<CallInfo> {
        let state = self.shared.lock();
        state.calls.get(&id).cloned().or_else(|| state.history.iter().rev().find(|c| c.id == id).cloned())
    }

    /// The live calls, oldest first.
    pub fn list_calls(&self) -> Vec<CallInfo> {
        let mut calls: Vec<_> = self.shared.lock().calls.values().cloned().collect();
        calls.sort_by_key(|c| c.id);
        calls
    }

    /// The live calls in `state`.
    pub fn get_calls_by_state(&self, state: CallState) -> Vec<CallInfo> {
        self.list_calls().into_iter().filter(|c| c.state == state).collect()
    }

    /// The live calls made (`Outgoing`) or received (`Incoming`).
    pub fn get_calls_by_direction(&self, direction: CallDirection) -> Vec<CallInfo> {
        self.list_calls().into_iter().filter(|c| c.direction == direction).collect()
    }

    /// The ended calls, oldest first (at most `calls.max_history`).
    pub fn get_call_history(&self) -> Vec<CallInfo> {
        self.shared.lock().history.iter().cloned().collect()
    }

    /// Notes `key = value` on a call (live or in the history).
    pub fn set_call_metadata(
        &self,
        id: CallId,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ClientError> {
        let mut state = self.shared.lock();
        let crate::manager::State { calls, history, .. } = &mut *state;
        let call = match calls.get_mut(&id) {
            Some(c) => c,
            None => history.iter_mut().rev().find(|c| c.id == id).ok_or(ClientError::CallNotFound(id))?,
        };
        call.metadata.insert(key.into(), value.into());
        Ok(())
    }

    /// Puts what the session layer says about a call into the table, keeping what only
    /// the client knows (metadata, the speaker mute).
    fn merge(&self, s: &CallSession) -> CallInfo {
        let mut state = self.shared.lock();
        let entry = state.calls.entry(s.id).or_insert_with(|| CallInfo::from_session(s));
        entry.state = s.state;
        entry.remote_headers = s.remote_headers.clone();
        entry.call_id = s.call_id.clone();
        if entry.answered_at.is_none() {
            entry.answered_at = s.answered_at.map(wall_clock);
        }
        entry.clone()
    }

    fn expect_up(&self, id: CallId, operation: &'static str) -> Result<(), ClientError> {
        match self.shared.lock().calls.get(&id) {
            None => Err(ClientError::CallNotFound(id)),
            Some(c) if matches!(c.state, CallState::Active | CallState::OnHold) => Ok(()),
            Some(c) => Err(ClientError::InvalidCallState { operation, state: c.state }),
        }
    }
}

/// The session layer's "not found" for a call becomes the client's typed one.
fn not_found(e: SessionError, id: CallId) -> ClientError {
    match e {
        SessionError::NotFound(_) => ClientError::CallNotFound(id),
        e => ClientError::Session(e),
    }
}
