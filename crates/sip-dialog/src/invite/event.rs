//! What the INVITE usage tells the application: [`CallEvent`], why a call ended
//! ([`EndReason`]), and a snapshot of where it is ([`CallState`]).

use crate::auth::AuthFailure;
use crate::dialog::DialogId;
use sip_message::{Request, Response, StatusCode};
use sip_transaction::TxId;
use std::fmt;
use std::time::Instant;

/// Identifies a call inside one [`Calls`](super::Calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

impl fmt::Display for CallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call{}", self.0)
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// We sent the INVITE; no early dialog yet.
    Calling,
    /// The INVITE arrived; we have not answered it with a To tag yet.
    Incoming,
    /// An early dialog exists (a 1xx with a To tag went one way or the other).
    Early,
    /// The dialog is confirmed.
    Established,
    /// We sent a BYE and wait for its answer.
    Terminating,
    /// Over.
    Terminated,
}

/// One 3xx target, from a Contact of the redirect (RFC 3261 §8.1.3.4).
#[derive(Debug, Clone, PartialEq)]
pub struct RedirectTarget {
    /// The URI to try (its header component dropped).
    pub uri: String,
    /// The Contact's `q` (1.0 when absent).
    pub q: f32,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// Our INVITE got this non-2xx final response (a transaction timeout counts as 408, a
    /// transport failure as 503, RFC 3261 §8.1.3.1).
    Failed {
        /// The final status.
        status: StatusCode,
    },
    /// We declined the INVITE with this status.
    Rejected {
        /// The status we answered with.
        status: StatusCode,
    },
    /// We cancelled our INVITE (§9.1): it ended with a 487, or without any final response
    /// 64·T1 after the CANCEL, or was answered and then sent a BYE.
    Cancelled,
    /// Nobody answered within the no-answer timeout, so we cancelled.
    NoAnswer,
    /// The caller cancelled the INVITE we had not answered (§9.2).
    CancelledByPeer,
    /// We hung up with a BYE.
    LocalBye,
    /// The peer hung up with a BYE.
    RemoteBye,
    /// Our 2xx was never acknowledged within 64·T1, so we sent a BYE (§13.3.1.4).
    NoAck,
    /// A request in the dialog was answered 481 (the peer no longer knows it) or 408 / timed
    /// out (§12.2.1.2). After a 408 a BYE was sent.
    DialogFailed {
        /// The status.
        status: StatusCode,
    },
    /// We sent a reliable provisional response and no PRACK came within 64·T1, so the INVITE
    /// was refused with 500 (RFC 3262 §3).
    NoPrack,
    /// The session timer ran out without a refresh (RFC 4028 §10): we sent a BYE.
    SessionExpired,
    /// Our INVITE was challenged and the challenge could not be answered.
    AuthFailed {
        /// Why.
        reason: AuthFailure,
    },
}

/// Something the application learns about a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    /// The call.
    pub call: CallKey,
    /// What happened.
    pub kind: CallEventKind,
}

/// What happened to a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallEventKind {
    /// An INVITE arrived and made this call: answer with `progress`, `accept` or `reject`.
    Incoming {
        /// The INVITE.
        invite: Request,
    },
    /// A provisional response to our INVITE; `early` is the early dialog it created or
    /// belongs to when it has a To tag.
    Progress {
        /// The response.
        response: Response,
        /// The early dialog.
        early: Option<DialogId>,
    },
    /// A PRACK with a body arrived for our reliable provisional response (RFC 3262 §5: the
    /// answer to an offer that 1xx carried). It was answered 200.
    Pracked {
        /// The PRACK.
        prack: Request,
    },
    /// Our INVITE was redirected (3xx), or a redirected attempt failed: `targets` in order of
    /// `q`, and the one tried next, if the redirect bound allows one.
    Redirected {
        /// The status that moved the call on.
        status: StatusCode,
        /// The known targets not tried yet, best first (for a 3xx: its Contacts).
        targets: Vec<RedirectTarget>,
        /// The target the new INVITE goes to; `None` when the call ends here.
        following: Option<String>,
    },
    /// The first 2xx to our INVITE: the call is established and the ACK is sent.
    Answered {
        /// The 2xx.
        response: Response,
        /// The dialog.
        dialog: DialogId,
    },
    /// Another fork answered after the call was established: it was acknowledged and sent a
    /// BYE (§13.2.2.4).
    ForkDiscarded {
        /// That fork's dialog.
        dialog: DialogId,
    },
    /// The ACK for our 2xx to the INVITE arrived: the call is confirmed at both ends.
    Confirmed {
        /// The ACK (it carries the SDP answer when our 2xx carried the offer).
        ack: Request,
    },
    /// The peer sent a re-INVITE: answer it with `respond` (a 2xx is then repeated until its
    /// ACK, as for the initial INVITE).
    Reinvite {
        /// Its server transaction.
        tx: TxId,
        /// The re-INVITE.
        request: Request,
    },
    /// The ACK for our 2xx to the peer's re-INVITE arrived.
    ReinviteAcked {
        /// The ACK.
        ack: Request,
    },
    /// Our re-INVITE got its final response: a 2xx (the ACK is sent and the session changed)
    /// or a failure that leaves the session as it was (RFC 3261 §14.1).
    ReinviteAnswered {
        /// The final response.
        response: Response,
    },
    /// Our re-INVITE crossed the peer's (491): it is sent again at `retry_at` (§14.1).
    ReinviteGlare {
        /// When it goes again.
        retry_at: Instant,
    },
    /// Another request arrived in the dialog (INFO, REFER, NOTIFY, UPDATE, MESSAGE,
    /// OPTIONS, ...): answer it with `respond`.
    Request {
        /// Its server transaction.
        tx: TxId,
        /// The request.
        request: Request,
    },
    /// A CANCEL ended a request of the peer that we had not answered; it was answered 487, so
    /// do not answer it.
    RequestCancelled {
        /// Its server transaction.
        tx: TxId,
    },
    /// The final response to a request sent with `Calls::request`.
    Response {
        /// The response (its CSeq names the method).
        response: Response,
    },
    /// The call is over; it holds no timer and is forgotten.
    Terminated {
        /// Why.
        reason: EndReason,
    },
}
