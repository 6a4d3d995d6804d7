//! What a client transaction's failure means to its user: RFC 3261 §8.1.3.1 treats a timeout
//! as a 408 and a transport failure as a 503. The driver turns `Event::Timeout` and
//! `Event::TransportError` of a client transaction into these responses and feeds them back
//! like any other, so the state machines here have a single path for failures.

use sip_message::{Request, Response, StatusCode};

/// Why a client transaction ended without a final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxFailure {
    /// Timer B or F fired (`Event::Timeout`).
    Timeout,
    /// The transport could not deliver the request (`Event::TransportError`).
    Transport,
}

/// The response a transaction user acts on when the client transaction for `request` failed:
/// 408 Request Timeout or 503 Service Unavailable (RFC 3261 §8.1.3.1), with the request's Via,
/// so it matches the request as a real response would. `None` if the request lacks the
/// headers a response copies.
pub fn failure_response(request: &Request, failure: TxFailure) -> Option<Response> {
    let status = match failure {
        TxFailure::Timeout => StatusCode::REQUEST_TIMEOUT,
        TxFailure::Transport => StatusCode::SERVICE_UNAVAILABLE,
    };
    request.make_response(status, None).ok()
}
