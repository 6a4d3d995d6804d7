//! The coordinator's commands, each carried out on the driver task.

use super::{Command, Driver};
use crate::error::SessionError;
use std::time::{Duration, Instant};

impl Driver {
    pub(crate) async fn command(&mut self, cmd: Command) {
        if self.shutdown.is_some() {
            if let Command::Shutdown { reply } = cmd {
                if let Some((_, waiters)) = self.shutdown.as_mut() {
                    waiters.push(reply);
                }
            } else {
                refuse(cmd);
            }
            return;
        }
        match cmd {
            Command::Prepare { from, to, sdp, reply } => {
                let _ = reply.send(self.prepare(from, to, sdp).await);
            }
            Command::Initiate { id, reply } => {
                let _ = reply.send(self.initiate(id));
            }
            Command::Decide { id, decision } => {
                if let Err(e) = self.decide(id, decision).await {
                    tracing::debug!(session = %id, error = %e, "the handler's decision could not be carried out");
                }
            }
            Command::Answer { id, decision, reply } => {
                let _ = reply.send(self.decide(id, decision).await);
            }
            Command::Terminate { id, reply } => {
                let _ = reply.send(self.terminate(id));
            }
            Command::Hold { id, hold, reply } => self.hold(id, hold, reply),
            Command::Mute { id, muted, reply } => {
                let result = self.session_mut(id).map(|s| {
                    s.muted = muted;
                    if let Some(m) = &s.media {
                        m.set_muted(muted);
                    }
                });
                let _ = reply.send(result);
            }
            Command::Get { id, reply } => {
                let _ = reply.send(self.sessions.get(&id).map(|s| s.snapshot()));
            }
            Command::List { reply } => {
                let mut all: Vec<_> = self.sessions.values().map(|s| s.snapshot()).collect();
                all.sort_by_key(|s| s.id);
                let _ = reply.send(all);
            }
            Command::WaitAnswer { id, reply } => match self.sessions.get_mut(&id) {
                Some(s) if s.state.is_established() => {
                    let snapshot = s.snapshot();
                    let _ = reply.send(Ok(snapshot));
                }
                Some(s) => s.answer_waiters.push(reply),
                None => {
                    let err = match self.recent_end(id) {
                        Some(info) => super::session::ended_error(info),
                        None => SessionError::NotFound(id.to_string()),
                    };
                    let _ = reply.send(Err(err));
                }
            },
            Command::WaitEnd { id, reply } => match self.sessions.get_mut(&id) {
                Some(s) => s.end_waiters.push(reply),
                None => {
                    let result = self.recent_end(id).cloned().ok_or_else(|| SessionError::NotFound(id.to_string()));
                    let _ = reply.send(result);
                }
            },
            Command::MediaInfo { id, reply } => {
                let _ = reply.send(self.with_media(id, |m| m.info()));
            }
            Command::Stats { id, reply } => {
                let _ = reply.send(self.with_media(id, |m| m.stats()));
            }
            Command::Audio { id, reply } => {
                let _ = reply.send(self.with_media(id, |m| m.recent_audio()));
            }
            Command::Register { account, reply } => self.register(account, reply),
            Command::Unregister { id, reply } => self.unregister(id, reply),
            Command::Refresh { id, reply } => self.refresh(id, reply),
            Command::RegState { id, reply } => {
                let _ = reply.send(self.registration_state(id));
            }
            Command::Counts { reply } => {
                let _ = reply.send(self.counts());
            }
            Command::Shutdown { reply } => self.begin_shutdown(reply),
        }
    }

    fn with_media<T>(
        &self,
        id: crate::SessionId,
        f: impl FnOnce(&crate::media::CallMedia) -> T,
    ) -> Result<T, SessionError> {
        let s = self.sessions.get(&id).ok_or_else(|| SessionError::NotFound(id.to_string()))?;
        s.media.as_ref().map(f).ok_or_else(|| SessionError::Media("this call has no media of ours".into()))
    }

    /// Hangs up every call and removes every binding, then stops when all are done or
    /// after 64·T1 (capped at 10 s) at the latest.
    fn begin_shutdown(&mut self, reply: tokio::sync::oneshot::Sender<()>) {
        let ids: Vec<_> = self.sessions.keys().copied().collect();
        for id in ids {
            let _ = self.terminate(id);
        }
        let accounts: Vec<_> = self.accounts.keys().copied().collect();
        for id in accounts {
            let registered = self.regs.get(&id).is_some_and(|r| r.state().is_registered());
            if registered {
                let (tx, _rx) = tokio::sync::oneshot::channel();
                self.unregister(id, tx);
            } else {
                self.regs.remove(&id);
                self.accounts.remove(&id);
            }
        }
        for p in self.prepared.drain() {
            if let Some(m) = p.1.media {
                m.close();
            }
        }
        let grace = (self.cfg.timers.0 * 64).min(Duration::from_secs(10));
        self.shutdown = Some((Instant::now() + grace, vec![reply]));
    }
}

/// Every command after a shutdown began gets [`SessionError::Closed`].
fn refuse(cmd: Command) {
    match cmd {
        Command::Prepare { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Initiate { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Answer { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Terminate { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Hold { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Mute { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::WaitAnswer { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::WaitEnd { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::MediaInfo { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Stats { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Audio { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Register { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Unregister { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Refresh { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::RegState { reply, .. } => drop(reply.send(Err(SessionError::Closed))),
        Command::Get { reply, .. } => drop(reply.send(None)),
        Command::List { reply } => drop(reply.send(Vec::new())),
        Command::Counts { reply } => drop(reply.send(Default::default())),
        Command::Decide { .. } | Command::Shutdown { .. } => {}
    }
}
