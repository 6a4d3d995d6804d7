//! Session timers (RFC 4028): a call that nobody refreshes ends, so a call whose peer
//! vanished does not stay up forever.
//!
//! Negotiation: our INVITE asks for [`CallConfig::session_expires`](super::CallConfig) with
//! our Min-SE; a 422 raises the interval to the peer's Min-SE and the INVITE goes again
//! (twice at most). The 2xx names the interval and the refresher. As the called side we
//! answer 422 to a request asking for less than our Min-SE, take the caller's interval and
//! refresher (the caller refreshes when it supports `timer` and names nobody), and, when
//! the caller asked for nothing, run the timer ourselves as the refresher.
//!
//! Running: each 2xx to an INVITE, re-INVITE or UPDATE in the dialog starts the interval
//! again. The refresher sends a refresh at half the interval — an UPDATE without a body when
//! the peer allows UPDATE, else a re-INVITE repeating our last SDP (RFC 3264 §8: an unchanged
//! offer) — and either side sends a BYE when the interval is about to run out without a
//! refresh: min(32 s, interval / 3) before its end (§10). A refresh answered 481 ends the
//! call, 408 (or no answer) ends it with a BYE, 491 tries again after the glare interval,
//! 422 again with the peer's Min-SE.

use super::call::{Call, Ctx, Pending, Phase};
use super::event::EndReason;
use super::reinvite::glare_delay;
use crate::body::{apply, Body};
use crate::headers::insert_before_length;
use sip_message::header::typed::{Allow, MinSe, Refresher, SessionExpires, Supported};
use sip_message::{Headers, Method, Request, Response, StandardHeader as H, StatusCode};
use std::time::{Duration, Instant};

/// The option tag (RFC 4028 §3).
pub(crate) const TAG: &str = "timer";
/// The Min-SE assumed when a request names none, and the floor of any interval (§4).
pub(crate) const MIN_SE_FLOOR: u32 = 90;
/// How often an INVITE goes again after a 422.
const MAX_422_RETRIES: u8 = 2;

fn supports_timer(h: &Headers) -> bool {
    h.typed_all::<Supported>().filter_map(Result::ok).any(|t| t.0.eq_ignore_ascii_case(TAG))
}

fn allows_update(h: &Headers) -> bool {
    h.typed_all::<Allow>().filter_map(Result::ok).any(|m| m.0.eq_ignore_ascii_case("UPDATE"))
}

fn session_expires(h: &Headers) -> Option<(u32, Option<Refresher>)> {
    h.typed_opt::<SessionExpires>().ok().flatten().map(|se| (se.delta, se.refresher))
}

fn min_se(h: &Headers) -> Option<u32> {
    h.typed_opt::<MinSe>().ok().flatten().map(|m| m.delta)
}

/// The session timer of one call.
#[derive(Debug, Default)]
pub(crate) struct SessionTimer {
    /// The interval in force, in seconds; `None` while no 2xx set one.
    interval: Option<u32>,
    /// Do we send the refreshes (else we only watch for them)?
    we_refresh: bool,
    /// When the interval began: the last 2xx to a session refresh.
    since: Option<Instant>,
    /// The interval we ask for and the Min-SE we state; a 422 raises both.
    asked: u32,
    min_se: u32,
    /// The peer allows UPDATE (its Allow): refreshes need no SDP, and our offers may go
    /// by UPDATE (`CallConfig::offer_by_update`).
    pub(super) peer_update: bool,
    /// A refresh of ours is in flight.
    in_flight: bool,
    /// A refresh postponed (glare, or another INVITE in progress) goes then.
    retry_at: Option<Instant>,
    retries_422: u8,
    /// Our last SDP in the dialog, for a refresh by re-INVITE.
    pub(crate) last_sdp: Option<Body>,
}

impl SessionTimer {
    /// When the refresher refreshes, or either side gives up.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.bye_at(), self.refresh_at()].into_iter().flatten().min()
    }

    fn bye_at(&self) -> Option<Instant> {
        let (interval, since) = (self.interval?, self.since?);
        let margin = 32.min(interval / 3);
        Some(since + Duration::from_secs(u64::from(interval - margin)))
    }

    fn refresh_at(&self) -> Option<Instant> {
        if !self.we_refresh || self.in_flight {
            return None;
        }
        let (interval, since) = (self.interval?, self.since?);
        Some(self.retry_at.unwrap_or(since + Duration::from_secs(u64::from(interval / 2))))
    }

    /// Stops the timer (the call ends).
    pub(crate) fn stop(&mut self) {
        self.interval = None;
        self.since = None;
        self.retry_at = None;
    }

    /// The interval in force and whether we refresh.
    pub(crate) fn state(&self) -> Option<(u32, bool)> {
        self.interval.map(|i| (i, self.we_refresh))
    }

    fn restart(&mut self, now: Instant, interval: u32, we_refresh: bool) {
        self.interval = Some(interval);
        self.we_refresh = we_refresh;
        self.since = Some(now);
        self.in_flight = false;
        self.retry_at = None;
        self.retries_422 = 0;
    }

    /// Session-Expires and Min-SE for a request of ours that refreshes the session (our
    /// refresh, or a re-INVITE of the application while a timer runs).
    fn request_lines(&self) -> Vec<(H, String)> {
        let Some(interval) = self.interval else { return Vec::new() };
        // In a request of ours, `uac` is us.
        let who = if self.we_refresh { "uac" } else { "uas" };
        vec![(H::SessionExpires, format!("{interval};refresher={who}")), (H::MinSe, self.min_se.to_string())]
    }
}

impl Call {
    /// UAC: Session-Expires and Min-SE on the INVITE about to go, if sessions are timed.
    pub(crate) fn ask_for_session_timer(&mut self, ctx: &Ctx<'_>) {
        let Some(wanted) = ctx.cfg.session_expires else { return };
        let t = &mut self.timer;
        if t.asked == 0 {
            t.min_se = ctx.cfg.min_se.max(MIN_SE_FLOOR);
            t.asked = (wanted.as_secs().min(u64::from(u32::MAX)) as u32).max(t.min_se);
        }
        let h = self.invite.headers_mut();
        h.remove_all(H::SessionExpires);
        h.remove_all(H::MinSe);
        let lines = [(H::SessionExpires, t.asked.to_string()), (H::MinSe, t.min_se.to_string())];
        insert_before_length(h, lines);
    }

    /// UAC: a 422 to our INVITE (RFC 4028 §7.2): the interval we ask for becomes the peer's
    /// Min-SE. True when the INVITE should go again.
    pub(crate) fn retry_after_422(&mut self, response: &Response) -> bool {
        let Some(theirs) = min_se(response.headers()) else { return false };
        let t = &mut self.timer;
        if t.asked == 0 || t.retries_422 >= MAX_422_RETRIES || theirs <= t.asked {
            return false;
        }
        t.retries_422 += 1;
        t.min_se = t.min_se.max(theirs);
        t.asked = theirs;
        tracing::debug!(call = %self.key, interval = theirs, "422: asking again with the peer's Min-SE");
        true
    }

    /// UAC: the 2xx to our INVITE or to a refresh of ours: the interval and refresher it
    /// names start the timer (without Session-Expires in the 2xx to the INVITE there is
    /// none, §7.2; in the 2xx to a refresh the timer goes on as it was).
    pub(crate) fn timer_from_2xx(&mut self, now: Instant, response: &Response, initial: bool) {
        let h = response.headers();
        self.timer.peer_update |= allows_update(h);
        match session_expires(h) {
            Some((interval, refresher)) => {
                let interval = interval.max(MIN_SE_FLOOR);
                self.timer.restart(now, interval, refresher != Some(Refresher::Uas));
                tracing::debug!(call = %self.key, interval, we_refresh = self.timer.we_refresh, "session timer");
            }
            None if initial => self.timer.stop(),
            None => {
                if let Some((interval, we)) = self.timer.state() {
                    self.timer.restart(now, interval, we);
                }
            }
        }
    }

    /// UAS: a request asking for a shorter interval than our Min-SE gets 422 (RFC 4028 §8.1).
    pub(crate) fn too_brief(cfg: &super::CallConfig, request: &Request) -> Option<Response> {
        let (asked, _) = session_expires(request.headers())?;
        let ours = cfg.min_se.max(MIN_SE_FLOOR);
        if asked >= ours {
            return None;
        }
        let mut r = request.make_response(StatusCode::SESSION_INTERVAL_TOO_SMALL, None).ok()?;
        insert_before_length(r.headers_mut(), [(H::MinSe, ours.to_string())]);
        Some(r)
    }

    /// UAS: our 2xx to `request` (the INVITE, a re-INVITE or an UPDATE) takes the session
    /// timer's lines, and the timer starts again (RFC 4028 §9).
    pub(crate) fn timer_for_2xx(&mut self, ctx: &Ctx<'_>, request: &Request, response: &mut Response) {
        let h = request.headers();
        self.timer.peer_update |= allows_update(h);
        let peer_supports = supports_timer(h);
        let floor = ctx.cfg.min_se.max(MIN_SE_FLOOR).max(min_se(h).unwrap_or(MIN_SE_FLOOR));
        let ours = ctx.cfg.session_expires.map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32);
        let (interval, refresher) = match session_expires(h) {
            // §9: the UAS may lower the interval, not below the Min-SE.
            Some((asked, named)) => {
                let interval = ours.map_or(asked, |o| asked.min(o.max(floor)));
                let refresher = named.unwrap_or(if peer_supports { Refresher::Uac } else { Refresher::Uas });
                (interval, refresher)
            }
            None => match self.timer.interval.or(ours) {
                // The caller asked for nothing: we time the session and refresh it.
                Some(interval) => (interval.max(floor), Refresher::Uas),
                None => return,
            },
        };
        self.timer.min_se = floor;
        let who = if refresher == Refresher::Uac { "uac" } else { "uas" };
        let mut lines = vec![(H::SessionExpires, format!("{interval};refresher={who}"))];
        if peer_supports {
            lines.push((H::Require, TAG.to_owned()));
        }
        insert_before_length(response.headers_mut(), lines);
        self.timer.restart(ctx.now, interval, refresher == Refresher::Uas);
    }

    /// Lines for a re-INVITE of the application while a timer runs: it refreshes too.
    pub(crate) fn timer_request_lines(&self) -> Vec<(H, String)> {
        self.timer.request_lines()
    }

    /// The session timer fired: refresh, or end the call.
    pub(crate) fn on_session_timer(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase != Phase::Established {
            return;
        }
        if self.timer.bye_at().is_some_and(|t| t <= ctx.now) {
            tracing::info!(call = %self.key, "session expired without a refresh: BYE");
            self.timer.stop();
            self.send_bye(ctx, EndReason::SessionExpired);
            return;
        }
        if self.timer.refresh_at().is_some_and(|t| t <= ctx.now) {
            self.send_refresh(ctx);
        }
    }

    fn send_refresh(&mut self, ctx: &mut Ctx<'_>) {
        self.timer.retry_at = None;
        let method = if self.timer.peer_update {
            Method::Update
        } else if self.invite_in_progress() {
            // That INVITE's 2xx refreshes the session; if it fails, we try again soon.
            self.timer.retry_at = Some(ctx.now + ctx.cfg.t1 * 4);
            return;
        } else {
            Method::Invite
        };
        let Some(dialog) = self.dialog.as_mut() else { return };
        let mut request = match dialog.new_request(method.clone()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(call = %self.key, error = %e, "cannot build the session refresh");
                return;
            }
        };
        let mut lines = self.timer.request_lines();
        lines.push((H::Supported, TAG.to_owned()));
        insert_before_length(request.headers_mut(), lines);
        if method == Method::Invite {
            apply(&mut request, self.timer.last_sdp.as_ref());
        }
        self.authorize(&mut request);
        tracing::debug!(call = %self.key, method = %method, "session refresh");
        self.timer.in_flight = true;
        let kept = (method == Method::Invite).then(|| Box::new(request.clone()));
        self.track_and_send(ctx, request, Pending::Refresh { invite: kept });
    }

    /// The answer to our session refresh.
    pub(crate) fn on_refresh_response(&mut self, ctx: &mut Ctx<'_>, invite: Option<&Request>, response: Response) {
        let status = response.status();
        if status.is_provisional() {
            return;
        }
        self.timer.in_flight = false;
        if status.is_success() {
            match invite {
                Some(invite) => self.ack_reinvite_2xx(ctx, invite, &response),
                None => {
                    if let Some(d) = self.dialog.as_mut() {
                        d.receive_response(&Method::Update, &response);
                    }
                }
            }
            self.timer_from_2xx(ctx.now, &response, false);
            return;
        }
        match status {
            StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST => self.finish(ctx, EndReason::DialogFailed { status }),
            StatusCode::REQUEST_TIMEOUT => self.send_bye(ctx, EndReason::DialogFailed { status }),
            StatusCode::REQUEST_PENDING => {
                let owns = self.dialog.as_ref().is_some_and(|d| d.owns_call_id());
                self.timer.retry_at = Some(ctx.now + glare_delay(ctx, owns));
            }
            StatusCode::SESSION_INTERVAL_TOO_SMALL => {
                if let (Some(theirs), Some(interval)) = (min_se(response.headers()), self.timer.interval) {
                    if theirs > interval && self.timer.retries_422 < MAX_422_RETRIES {
                        self.timer.retries_422 += 1;
                        self.timer.min_se = self.timer.min_se.max(theirs);
                        self.timer.interval = Some(theirs);
                        self.timer.retry_at = Some(ctx.now);
                    }
                }
            }
            // Anything else leaves the session as it was (RFC 3311 §5.1, RFC 3261 §14.1);
            // if no refresh succeeds, the expiry ends the call.
            _ => tracing::debug!(call = %self.key, status = status.as_u16(), "session refresh refused"),
        }
    }
}
