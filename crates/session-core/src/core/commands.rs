//! The application's commands, as the core takes them, and what it answers.

use super::outside::OutsideRequest;
use super::session::ended_error;
use super::SessionCore;
use crate::api::{
    Account, AccountId, CallDecision, CallSession, EndInfo, MediaInfo, PreparedCall, RegistrationState, SessionId,
    SipResponse,
};
use crate::core::ResourceCounts;
use crate::error::SessionError;

/// What the application asks of the core.
#[derive(Debug)]
pub(crate) enum Command {
    Prepare {
        from: String,
        to: String,
        sdp: Option<String>,
        headers: Vec<(String, String)>,
    },
    Initiate {
        id: SessionId,
    },
    /// The handler's decision: nobody waits for its outcome.
    Decide {
        id: SessionId,
        decision: CallDecision,
    },
    Answer {
        id: SessionId,
        decision: CallDecision,
    },
    Terminate {
        id: SessionId,
    },
    Hold {
        id: SessionId,
        hold: bool,
    },
    Mute {
        id: SessionId,
        muted: bool,
    },
    /// DTMF digits: RFC 4733 events when telephone-event was agreed, else SIP INFO.
    Dtmf {
        id: SessionId,
        digits: String,
    },
    Get {
        id: SessionId,
    },
    List,
    WaitAnswer {
        id: SessionId,
    },
    WaitEnd {
        id: SessionId,
    },
    MediaInfo {
        id: SessionId,
    },
    Register {
        account: Account,
    },
    Unregister {
        id: AccountId,
    },
    Refresh {
        id: AccountId,
    },
    RegState {
        id: AccountId,
    },
    Request(OutsideRequest),
    Transfer {
        id: SessionId,
        target: String,
        /// Follow the progress by the REFER's subscription (else `Refer-Sub: false`).
        progress: bool,
    },
    TransferAttended {
        id: SessionId,
        to: SessionId,
    },
    EarlyMedia {
        id: SessionId,
    },
    Subscribe(super::SubscribeRequest),
    Unsubscribe {
        id: crate::api::SubscriptionId,
    },
    Info {
        id: SessionId,
        content_type: String,
        body: Vec<u8>,
    },
    DecideTransfer {
        id: SessionId,
        accept: bool,
    },
    /// We are reached at this address from now on.
    ChangeAddress {
        ip: std::net::IpAddr,
    },
    Counts,
    Counters,
    Shutdown,
}

/// The answer to a [`Command`].
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Unit,
    Prepared(PreparedCall),
    Session(CallSession),
    MaybeSession(Option<CallSession>),
    Sessions(Vec<CallSession>),
    /// How session `id` ended.
    End(SessionId, EndInfo),
    MediaInfo(MediaInfo),
    Account(AccountId),
    Registration(RegistrationState),
    Response(SipResponse),
    Counts(ResourceCounts),
    Subscription(crate::api::SubscriptionId),
    Counters(super::Counters),
}

impl<W> SessionCore<W> {
    pub(crate) fn command(&mut self, cmd: Command, reply: W) {
        if self.shutdown.is_some() || self.stopped {
            return match cmd {
                Command::Shutdown if !self.stopped => {
                    if let Some((_, waiters)) = self.shutdown.as_mut() {
                        waiters.push(reply);
                    }
                }
                Command::Shutdown => self.reply(reply, Ok(super::Answer::Unit)),
                Command::Get { .. } => self.reply(reply, Ok(Answer::MaybeSession(None))),
                Command::List => self.reply(reply, Ok(Answer::Sessions(Vec::new()))),
                Command::Counts => self.reply(reply, Ok(Answer::Counts(self.counts()))),
                Command::Counters => self.reply(reply, Ok(Answer::Counters(self.counters()))),
                _ => self.reply(reply, Err(SessionError::Closed)),
            };
        }
        let result = match cmd {
            Command::Prepare { from, to, sdp, headers } => return self.prepare(from, to, sdp, headers, reply),
            Command::Initiate { id } => self.initiate(id),
            Command::Decide { id, decision } => {
                self.decide(id, decision, None);
                Ok(Answer::Unit)
            }
            Command::Answer { id, decision } => return self.decide(id, decision, Some(reply)),
            Command::Terminate { id } => self.terminate(id),
            Command::Hold { id, hold } => return self.hold(id, hold, reply),
            Command::Mute { id, muted } => self.mute(id, muted),
            Command::Dtmf { id, digits } => self.send_dtmf(id, &digits),
            Command::Get { id } => Ok(Answer::MaybeSession(self.sessions.get(&id).map(|s| s.snapshot()))),
            Command::List => {
                let mut all: Vec<_> = self.sessions.values().map(|s| s.snapshot()).collect();
                all.sort_by_key(|s| s.id);
                Ok(Answer::Sessions(all))
            }
            Command::WaitAnswer { id } => match self.sessions.get_mut(&id) {
                Some(s) if s.state.is_established() => Ok(Answer::Session(s.snapshot())),
                Some(s) => return s.answer_waiters.push(reply),
                None => Err(match self.recent_end(id) {
                    Some(info) => ended_error(info),
                    None => SessionError::NotFound(id.to_string()),
                }),
            },
            Command::WaitEnd { id } => match self.sessions.get_mut(&id) {
                Some(s) => return s.end_waiters.push(reply),
                None => self
                    .recent_end(id)
                    .cloned()
                    .map(|e| Answer::End(id, e))
                    .ok_or_else(|| SessionError::NotFound(id.to_string())),
            },
            Command::MediaInfo { id } => self.media_info(id),
            Command::Register { account } => return self.register(account, reply),
            Command::Unregister { id } => return self.unregister(id, Some(reply)),
            Command::Refresh { id } => return self.refresh(id, reply),
            Command::RegState { id } => self.registration_state(id),
            Command::Request(req) => return self.request_outside(req, reply),
            Command::ChangeAddress { ip } => self.change_address(ip),
            Command::Transfer { id, target, progress } => return self.transfer(id, target, progress, reply),
            Command::TransferAttended { id, to } => return self.transfer_attended(id, to, reply),
            Command::Info { id, content_type, body } => self.send_info(id, content_type, body),
            Command::EarlyMedia { id } => return self.early_media(id, reply),
            Command::Subscribe(req) => return self.subscribe(req, reply),
            Command::Unsubscribe { id } => return self.unsubscribe(id, reply),
            Command::DecideTransfer { id, accept } => self.decide_transfer(id, accept),
            Command::Counts => Ok(Answer::Counts(self.counts())),
            Command::Counters => Ok(Answer::Counters(self.counters())),
            Command::Shutdown => return self.begin_shutdown(reply),
        };
        self.reply(reply, result);
    }

    fn media_info(&mut self, id: SessionId) -> Result<Answer, SessionError> {
        let s = self.session_mut(id)?;
        match s.media.sdp() {
            Some(m) => Ok(Answer::MediaInfo(m.info())),
            None => Err(SessionError::Media(crate::error::MediaFailure::NotOurs)),
        }
    }

    /// The error for a media query about session `id` when the driver holds no stream for
    /// it: no such session, or no media of ours.
    pub(crate) fn no_media_error(&self, id: SessionId) -> SessionError {
        if self.sessions.contains_key(&id) {
            SessionError::Media(crate::error::MediaFailure::NotOurs)
        } else {
            SessionError::NotFound(id.to_string())
        }
    }

    /// Hangs up every call and removes every binding, then stops when all are done or
    /// after the grace at the latest (`check_shutdown`).
    fn begin_shutdown(&mut self, reply: W) {
        let ids: Vec<_> = self.sessions.keys().copied().collect();
        for id in ids {
            let _ = self.terminate(id);
        }
        let accounts: Vec<_> = self.accounts.keys().copied().collect();
        for id in accounts {
            let registered = self.regs.get(&id).is_some_and(|r| r.state().is_registered());
            if registered {
                self.unregister(id, None);
            } else {
                self.regs.remove(&id);
                if let Some(a) = self.accounts.remove(&id) {
                    for w in a.first.into_iter().chain(a.refresh).chain(a.removal) {
                        self.reply(w, Err(SessionError::Closed));
                    }
                }
            }
        }
        let prepared: Vec<_> = self.prepared.keys().copied().collect();
        for id in prepared {
            self.drop_prepared(id);
        }
        self.drop_subscriptions();
        let outside: Vec<_> = self.outside.drain().map(|(_, o)| o).collect();
        for o in outside {
            self.reply(o.into_reply(), Err(SessionError::Closed));
        }
        self.shutdown = Some((self.now + self.shutdown_grace(), vec![reply]));
    }
}
