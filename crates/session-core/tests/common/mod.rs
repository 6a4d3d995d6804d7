//! Agents on loopback and bounded waiting, shared by the call tests.
#![allow(dead_code)]

use session_core::{
    CallHandler, Codec, SessionCoordinator, SessionEvent, SessionId, SessionManagerBuilder, SessionState,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How long any condition may take before a test fails (generous: CI machines are slow).
pub const PATIENCE: Duration = Duration::from_secs(15);

pub fn builder() -> SessionManagerBuilder {
    SessionManagerBuilder::new()
        .local_address("127.0.0.1:0".parse().expect("an address"))
        .media_ports(30000, 39999)
        .enable_sip_client()
}

pub async fn agent<H: CallHandler>(handler: H, tone: Option<f32>) -> Arc<SessionCoordinator> {
    builder().with_handler(handler).media_tone(tone).build().await.expect("agent starts")
}

pub async fn agent_with_codecs<H: CallHandler>(handler: H, codecs: Vec<Codec>) -> Arc<SessionCoordinator> {
    builder().with_handler(handler).codecs(codecs).build().await.expect("agent starts")
}

/// Polls `check` until it returns `Some`, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next event matching `pick`, failing after [`PATIENCE`].
pub async fn next_event<T>(
    rx: &mut broadcast::Receiver<SessionEvent>,
    what: &str,
    mut pick: impl FnMut(&SessionEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(v) = pick(&e) {
                        return v;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("events closed while waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait).await.unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
}

/// The session that reached `state` first.
pub async fn session_reaching(rx: &mut broadcast::Receiver<SessionEvent>, state: SessionState) -> SessionId {
    next_event(rx, &format!("a session {state}"), |e| match e {
        SessionEvent::StateChanged { id, new, .. } if *new == state => Some(*id),
        _ => None,
    })
    .await
}

/// Waits until the coordinator holds nothing.
pub async fn all_released(agent: &SessionCoordinator) {
    eventually("every resource released", || async {
        let c = agent.resource_counts().await;
        (c == Default::default()).then_some(())
    })
    .await;
}

/// Waits until the account's registration has been confirmed `times` times (the first
/// registration, then refreshes).
pub async fn registered_times(rx: &mut broadcast::Receiver<SessionEvent>, times: usize) {
    let mut seen = 0;
    next_event(rx, &format!("{times} confirmed registrations"), |e| match e {
        SessionEvent::Registration { state: session_core::RegistrationState::Registered { .. }, .. } => {
            seen += 1;
            (seen == times).then_some(())
        }
        _ => None,
    })
    .await
}
