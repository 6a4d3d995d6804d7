//! Metrics through the `metrics` facade: whatever recorder the application installed
//! (Prometheus, StatsD, OpenTelemetry) receives them; with none installed they cost a
//! branch. The names, all prefixed `sipline_`:
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `sipline_calls_total` | counter | `direction` | calls made and received |
//! | `sipline_calls_active` | gauge | | live calls |
//! | `sipline_calls_ended_total` | counter | `cause` | ends, by [`EndCause`](crate::EndCause) |
//! | `sipline_calls_failed_total` | counter | `status` | calls never answered, by final status |
//! | `sipline_call_talk_seconds` | histogram | | talk time of answered calls |
//! | `sipline_registrations_active` | gauge | | bindings in place |
//! | `sipline_registration_failures_total` | counter | | registrations failed or retrying |
//! | `sipline_transactions_active` | gauge | | server transactions open |
//! | `sipline_dialogs_active` | gauge | | dialogs |
//! | `sipline_rtp_jitter_ms` | histogram | | interarrival jitter per quality sample |
//! | `sipline_rtp_loss_ratio` | histogram | | loss per quality sample |
//! | `sipline_call_mos` | histogram | | E-model MOS per quality sample |
//! | `sipline_dtmf_received_total` | counter | | DTMF digits received |
//! | `sipline_rtp_packets_received_total` | counter | | RTP packets of ended calls |
//! | `sipline_rtp_packets_lost_total` | counter | | RTP packets lost on ended calls |

use crate::{CallDirection, CallInfo, RegistrationState};
use metrics::{counter, gauge, histogram};
use std::sync::atomic::{AtomicI64, Ordering};

/// Records the client's metrics, when enabled.
pub(crate) struct Telemetry {
    enabled: bool,
    active: AtomicI64,
}

impl Telemetry {
    pub(crate) fn new(enabled: bool) -> Telemetry {
        Telemetry { enabled, active: AtomicI64::new(0) }
    }

    pub(crate) fn call_started(&self, direction: CallDirection) {
        let n = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.enabled {
            return;
        }
        let direction = match direction {
            CallDirection::Outgoing => "outgoing",
            CallDirection::Incoming => "incoming",
        };
        counter!("sipline_calls_total", "direction" => direction).increment(1);
        gauge!("sipline_calls_active").set(n as f64);
    }

    pub(crate) fn call_ended(&self, call: &CallInfo) {
        let n = (self.active.fetch_sub(1, Ordering::Relaxed) - 1).max(0);
        if !self.enabled {
            return;
        }
        gauge!("sipline_calls_active").set(n as f64);
        let Some(end) = &call.end else { return };
        counter!("sipline_calls_ended_total", "cause" => format!("{:?}", end.cause)).increment(1);
        match call.talk_time {
            Some(t) => histogram!("sipline_call_talk_seconds").record(t.as_secs_f64()),
            None => {
                let status = end.status.map_or_else(|| "none".to_owned(), |s| s.to_string());
                counter!("sipline_calls_failed_total", "status" => status).increment(1);
            }
        }
        if let Some(rtp) = &end.rtp {
            counter!("sipline_rtp_packets_received_total").increment(rtp.packets_received);
            counter!("sipline_rtp_packets_lost_total").increment(rtp.packets_lost.max(0) as u64);
        }
    }

    pub(crate) fn registrations(&self, registered: usize, state: &RegistrationState) {
        if !self.enabled {
            return;
        }
        gauge!("sipline_registrations_active").set(registered as f64);
        if matches!(
            state,
            RegistrationState::Failed { .. }
                | RegistrationState::AuthFailed { .. }
                | RegistrationState::RetryWait { .. }
        ) {
            counter!("sipline_registration_failures_total").increment(1);
        }
    }

    pub(crate) fn quality(&self, loss_ratio: f64, jitter_ms: f64, mos: Option<f64>) {
        if self.enabled {
            histogram!("sipline_rtp_jitter_ms").record(jitter_ms);
            histogram!("sipline_rtp_loss_ratio").record(loss_ratio);
            if let Some(mos) = mos {
                histogram!("sipline_call_mos").record(mos);
            }
        }
    }

    pub(crate) fn dtmf_received(&self) {
        if self.enabled {
            counter!("sipline_dtmf_received_total").increment(1);
        }
    }

    pub(crate) fn resources(&self, counts: &session_core::ResourceCounts) {
        if self.enabled {
            gauge!("sipline_transactions_active").set(counts.server_transactions as f64);
            gauge!("sipline_dialogs_active").set(counts.dialogs as f64);
        }
    }

    pub(crate) fn reset_gauges(&self) {
        self.active.store(0, Ordering::Relaxed);
        if self.enabled {
            for g in [
                "sipline_calls_active",
                "sipline_registrations_active",
                "sipline_transactions_active",
                "sipline_dialogs_active",
            ] {
                gauge!(g).set(0.0);
            }
        }
    }
}
