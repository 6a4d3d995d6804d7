//! The one task that owns every call and registration of a coordinator.
//!
//! It joins the sans-IO layers to the endpoint as `sip-dialog`'s wiring contract says:
//! requests received go through the UAS screen (`screen.rs`) and then to [`Calls`]; what
//! `Calls` and the [`Registrations`] output is sent through the endpoint; responses of our
//! client transactions come back on a channel tagged with their owner; the task sleeps until
//! the earliest deadline of the two layers. Commands from the coordinator's handles arrive
//! on another channel. It owns the sessions table (`session.rs`), the media of each call
//! (`media.rs`), and the server-transaction handles until their final response.
//!
//! Protocol decisions stay in `sip-dialog`; this file and its siblings only carry them out
//! and translate them into session states, events and media actions.

mod accounts;
mod calls;
mod commands;
pub(crate) mod handler;
mod send;
mod session;

use crate::api::{Account, AccountId, CallDecision, CallSession, EndInfo, MediaInfo, PreparedCall, RegistrationState};
use crate::api::{RtpStats, SessionEvent, SessionId, SipResponse};
use crate::builder::SessionConfig;
use crate::error::SessionError;
use handler::HandlerEvent;
use sip_dialog::{Calls, Registrations};
use sip_endpoint::{ClientEvent, Endpoint, Incoming, ServerTransaction};
use sip_message::Request;
use sip_resolve::Resolver;
use sip_transaction::TxId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, oneshot};

pub(crate) use accounts::AccountEntry;
pub(crate) use send::resolve_uri;
pub(crate) use session::{Prepared, Session};

type Reply<T> = oneshot::Sender<Result<T, SessionError>>;

/// How many ended sessions' outcomes are remembered.
pub(crate) const RECENT_ENDS: usize = 256;

/// What the coordinator's handles ask of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    Prepare { from: String, to: String, sdp: Option<String>, reply: Reply<PreparedCall> },
    Initiate { id: SessionId, reply: Reply<CallSession> },
    Decide { id: SessionId, decision: CallDecision },
    Answer { id: SessionId, decision: CallDecision, reply: Reply<()> },
    Terminate { id: SessionId, reply: Reply<()> },
    Hold { id: SessionId, hold: bool, reply: Reply<()> },
    Mute { id: SessionId, muted: bool, reply: Reply<()> },
    Get { id: SessionId, reply: oneshot::Sender<Option<CallSession>> },
    List { reply: oneshot::Sender<Vec<CallSession>> },
    WaitAnswer { id: SessionId, reply: Reply<CallSession> },
    WaitEnd { id: SessionId, reply: Reply<EndInfo> },
    MediaInfo { id: SessionId, reply: Reply<MediaInfo> },
    Stats { id: SessionId, reply: Reply<RtpStats> },
    Audio { id: SessionId, reply: Reply<Vec<i16>> },
    Register { account: Account, reply: Reply<AccountId> },
    Unregister { id: AccountId, reply: Reply<()> },
    Refresh { id: AccountId, reply: Reply<()> },
    RegState { id: AccountId, reply: Reply<RegistrationState> },
    Counts { reply: oneshot::Sender<ResourceCounts> },
    Shutdown { reply: oneshot::Sender<()> },
}

/// What a coordinator holds right now: every count is 0 when no call or registration is
/// alive, which tests use to prove that a finished session leaked nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceCounts {
    /// Sessions not yet terminated (prepared calls included).
    pub sessions: usize,
    /// Calls (INVITE usages, with their dialogs) the dialog layer still tracks.
    pub calls: usize,
    /// Dialogs of those calls (confirmed and early).
    pub dialogs: usize,
    /// RTP streams bound (each holds an RTP and an RTCP port and a task).
    pub media_streams: usize,
    /// Server transactions waiting for our final response.
    pub server_transactions: usize,
    /// Accounts with a registration state machine.
    pub registrations: usize,
}

/// Who sent a request, so its responses find their way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Calls,
    Registrations,
}

/// An event of one of our client transactions.
pub(crate) struct TxNote {
    owner: Owner,
    request: Arc<Request>,
    event: ClientEvent,
}

/// Everything the task owns.
pub(crate) struct Driver {
    pub(crate) cfg: SessionConfig,
    /// Our address as others reach it (Via, Contact).
    pub(crate) advertised: SocketAddr,
    pub(crate) instance: String,
    pub(crate) endpoint: Endpoint,
    pub(crate) incoming: Incoming,
    pub(crate) cmd_rx: mpsc::UnboundedReceiver<Command>,
    pub(crate) notes_tx: mpsc::UnboundedSender<TxNote>,
    pub(crate) notes_rx: mpsc::UnboundedReceiver<TxNote>,
    pub(crate) handler: mpsc::UnboundedSender<HandlerEvent>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
    pub(crate) calls: Calls,
    pub(crate) regs: Registrations<AccountId>,
    pub(crate) accounts: HashMap<AccountId, AccountEntry>,
    pub(crate) sessions: HashMap<SessionId, Session>,
    pub(crate) by_key: HashMap<sip_dialog::CallKey, SessionId>,
    pub(crate) prepared: HashMap<SessionId, Prepared>,
    pub(crate) server_txs: HashMap<TxId, ServerTransaction>,
    /// How the last sessions ended (at most [`RECENT_ENDS`]), so that waiting on a call that
    /// has just ended still says why.
    pub(crate) recent_ends: std::collections::VecDeque<(SessionId, EndInfo)>,
    /// When each unanswered incoming call is turned away, earliest first (the loop reads
    /// the first on every turn, so no scan of the sessions).
    pub(crate) ring_deadlines: std::collections::BTreeSet<(Instant, SessionId)>,
    pub(crate) resolver: Resolver,
    pub(crate) next_id: u64,
    pub(crate) shutdown: Option<(Instant, Vec<oneshot::Sender<()>>)>,
}

impl Driver {
    pub(crate) async fn run(mut self) {
        loop {
            let mut wake = [
                self.calls.poll_timeout(),
                self.regs.poll_timeout(),
                self.shutdown.as_ref().map(|s| s.0),
                self.next_ring_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(at) = wake.as_mut() {
                // A deadline in the past fires at once; keep it from spinning on the same instant.
                *at = (*at).max(Instant::now());
            }
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = self.cmd_rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => break,
                },
                ev = self.incoming.next() => match ev {
                    Some(ev) => self.incoming_event(ev).await,
                    None => break,
                },
                Some(note) = self.notes_rx.recv() => self.tx_note(note),
                _ = sleep => {
                    let now = Instant::now();
                    self.calls.handle_timeout(now);
                    self.regs.handle_timeout(now);
                    self.ring_timeouts(now);
                }
            }
            self.drain().await;
            if self.shutdown_done() {
                break;
            }
        }
        self.close_all();
    }

    fn new_id(&mut self) -> SessionId {
        self.next_id += 1;
        SessionId(self.next_id)
    }

    fn emit(&self, event: SessionEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// A response (or the 408/503 standing for a failed transaction) for the owner of its
    /// request.
    fn tx_note(&mut self, note: TxNote) {
        let response = match note.event {
            ClientEvent::Response(r) => Some(r),
            ClientEvent::Timeout => sip_dialog::failure_response(&note.request, sip_dialog::TxFailure::Timeout),
            ClientEvent::TransportError(e) => {
                tracing::debug!(error = ?e, "transport failed for a request");
                sip_dialog::failure_response(&note.request, sip_dialog::TxFailure::Transport)
            }
        };
        if let Some(r) = response {
            self.deliver(note.owner, r);
        }
    }

    fn deliver(&mut self, owner: Owner, response: sip_message::Response) {
        let now = Instant::now();
        match owner {
            Owner::Calls => {
                self.note_failure_reason(&response);
                self.calls.handle_response(now, response);
            }
            Owner::Registrations => {
                self.regs.handle_response(now, &response);
            }
        }
    }

    /// Keeps the reason phrase of a final failure to one of our INVITEs, so the call's end
    /// reports what the peer said ("Busy Right Now"), not only the status's usual phrase.
    fn note_failure_reason(&mut self, response: &sip_message::Response) {
        if response.status().as_u16() < 300 {
            return;
        }
        let h = response.headers();
        let (Ok(call_id), Ok(cseq)) = (h.call_id(), h.cseq()) else { return };
        if cseq.method != sip_message::Method::Invite {
            return;
        }
        if let Some(s) = self.sessions.values_mut().find(|s| s.call_id == call_id) {
            s.final_reason = Some(response.reason().to_string());
        }
    }

    /// Carries out everything the layers have to say, until they are quiet.
    async fn drain(&mut self) {
        loop {
            let mut busy = false;
            while let Some(out) = self.calls.poll_output() {
                busy = true;
                self.call_output(out).await;
            }
            while let Some((id, out)) = self.regs.poll_output() {
                busy = true;
                self.registration_output(id, out).await;
            }
            if !busy {
                break;
            }
        }
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            sessions: self.sessions.len() + self.prepared.len(),
            calls: self.calls.len(),
            dialogs: self
                .calls
                .keys()
                .map(|k| usize::from(self.calls.dialog(k).is_some()) + self.calls.early_dialogs(k).len())
                .sum(),
            media_streams: self.sessions.values().filter(|s| s.media.is_some()).count()
                + self.prepared.values().filter(|p| p.media.is_some()).count(),
            server_transactions: self.server_txs.len(),
            registrations: self.regs.len(),
        }
    }

    fn shutdown_done(&mut self) -> bool {
        let Some((deadline, _)) = &self.shutdown else { return false };
        let idle = self.sessions.is_empty() && self.regs.is_empty();
        if idle || Instant::now() >= *deadline {
            if let Some((_, waiters)) = self.shutdown.take() {
                for w in waiters {
                    let _ = w.send(());
                }
            }
            return true;
        }
        false
    }

    /// The task ends: every stream stops and every port is freed; sessions still alive
    /// (a shutdown that ran out of time) end as shut down.
    fn close_all(&mut self) {
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in ids {
            self.end_session(
                id,
                EndInfo { cause: crate::api::EndCause::Shutdown, status: None, reason: "shut down".to_owned() },
            );
        }
        self.prepared.clear();
        self.server_txs.clear();
        self.endpoint.shutdown();
    }
}

/// A response as [`SipResponse`].
pub(crate) fn to_sip_response(r: &sip_message::Response) -> SipResponse {
    SipResponse {
        status: r.status().as_u16(),
        reason: r.reason().to_string(),
        headers: r.headers().iter().map(|h| (h.name().as_str().to_owned(), h.value().to_string())).collect(),
        body: r.body().to_vec(),
        raw: String::from_utf8_lossy(&r.to_bytes()).into_owned(),
    }
}
