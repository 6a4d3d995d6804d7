//! Retrying with exponential back-off and jitter: [`retry_with_backoff`] and its
//! [`RetryConfig`]. Only errors that say they are recoverable ([`Recoverable`]) are
//! retried: a wrong password or a malformed URI fails at once, a server that did not answer
//! is tried again.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// How to retry: how often, how long to wait first, how the wait grows, and how much of it
/// is random (so a thousand agents that lost the same registrar do not return in step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// The wait after the first failure, in milliseconds.
    pub initial_delay_ms: u64,
    /// The longest wait, in milliseconds.
    pub max_delay_ms: u64,
    /// Each wait is the last one times this (≥ 1).
    pub multiplier: f64,
    /// The share of each wait that is random, 0 to 1: a wait `d` becomes a uniform pick in
    /// `[d·(1−jitter), d]`.
    pub jitter: f64,
}

impl Default for RetryConfig {
    /// 5 attempts, 500 ms doubling to at most 30 s, 20 % jitter.
    fn default() -> RetryConfig {
        RetryConfig { max_attempts: 5, initial_delay_ms: 500, max_delay_ms: 30_000, multiplier: 2.0, jitter: 0.2 }
    }
}

impl RetryConfig {
    /// For interactive operations: 3 attempts, 100 ms doubling to 1 s.
    pub fn quick() -> RetryConfig {
        RetryConfig { max_attempts: 3, initial_delay_ms: 100, max_delay_ms: 1_000, multiplier: 2.0, jitter: 0.2 }
    }

    /// For background work such as a registration at start: 10 attempts, 1 s doubling to 60 s.
    pub fn slow() -> RetryConfig {
        RetryConfig { max_attempts: 10, initial_delay_ms: 1_000, max_delay_ms: 60_000, multiplier: 2.0, jitter: 0.2 }
    }

    /// No retry at all.
    pub fn none() -> RetryConfig {
        RetryConfig { max_attempts: 1, ..RetryConfig::default() }
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.multiplier.max(1.0).powi(attempt.saturating_sub(1).min(64) as i32);
        let ms = (self.initial_delay_ms as f64 * exp).min(self.max_delay_ms as f64);
        Duration::from_millis(ms as u64)
    }

    /// The wait after failed attempt `attempt`, with jitter drawn from `unit` (0..1).
    pub fn jittered_delay(&self, attempt: u32, unit: f64) -> Duration {
        let d = self.delay(attempt);
        let jitter = self.jitter.clamp(0.0, 1.0);
        d.mul_f64(1.0 - jitter * unit.clamp(0.0, 1.0))
    }
}

/// An error that knows whether trying again can help.
pub trait Recoverable {
    /// Can a later attempt succeed?
    fn is_recoverable(&self) -> bool;
}

impl Recoverable for crate::ClientError {
    fn is_recoverable(&self) -> bool {
        crate::ClientError::is_recoverable(self)
    }
}

impl Recoverable for session_core::SessionError {
    fn is_recoverable(&self) -> bool {
        session_core::SessionError::is_recoverable(self)
    }
}

/// Runs `op` until it succeeds, fails with an error that is not recoverable, or has been
/// tried `config.max_attempts` times; waits with back-off and jitter in between. Each
/// retry is logged (at `info`, with `name`); the last error is returned.
///
/// ```
/// use client_core::{retry_with_backoff, ClientError, RetryConfig};
/// # async fn demo() -> Result<(), ClientError> {
/// let mut tries = 0;
/// let answer = retry_with_backoff("count to three", RetryConfig::quick(), || {
///     tries += 1;
///     let now = tries;
///     async move {
///         if now < 3 { Err(ClientError::Timeout { operation: "count".into(), after: Default::default() }) } else { Ok(now) }
///     }
/// })
/// .await?;
/// assert_eq!(answer, 3);
/// # Ok(()) }
/// ```
pub async fn retry_with_backoff<T, E, F, Fut>(name: &str, config: RetryConfig, mut op: F) -> Result<T, E>
where
    E: Recoverable + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = config.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < attempts && e.is_recoverable() => {
                let wait = config.jittered_delay(attempt, rand::random::<f64>());
                tracing::info!(operation = name, attempt, of = attempts, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientError;

    #[test]
    fn delays_grow_to_the_cap_and_jitter_only_shortens() {
        let c =
            RetryConfig { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 1000, multiplier: 2.0, jitter: 0.5 };
        let ms: Vec<u128> = (1..=6).map(|a| c.delay(a).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(c.jittered_delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(c.jittered_delay(2, 1.0), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn only_recoverable_errors_are_retried() {
        let mut calls = 0;
        let r: Result<(), ClientError> = retry_with_backoff("no such call", RetryConfig::quick(), || {
            calls += 1;
            async { Err(ClientError::CallNotFound(crate::CallId(1))) }
        })
        .await;
        assert!(matches!(r, Err(ClientError::CallNotFound(_))));
        assert_eq!(calls, 1, "a missing call is not worth a second try");

        let mut calls = 0;
        let r: Result<(), ClientError> = retry_with_backoff("timeouts", RetryConfig::quick(), || {
            calls += 1;
            async { Err(ClientError::Timeout { operation: "x".into(), after: Duration::ZERO }) }
        })
        .await;
        assert!(matches!(r, Err(ClientError::Timeout { .. })));
        assert_eq!(calls, 3, "tried max_attempts times, then the last error");
    }
}
