//! Who gets a new call when not every one can. It owns the load each source address put on
//! the agent over the last one to two seconds — new INVITEs, and the noise around them: other
//! requests outside dialogs, requests from strangers, and the garbage the transport dropped —
//! the per-source rate limit of the configuration, and the rule for shedding while the agent
//! falls behind: the sources that send more than their share are refused first, so one noisy
//! source (a flood, a scanner, a runaway dialer, a garbage cannon) cannot starve the others.
//! With a single source — the usual case behind a proxy — shedding is what it always was:
//! every new call refused until the agent catches up.
//!
//! Sans-IO: it is told `now` and never reads a clock. It must not look at calls, dialogs or
//! messages: it sees an address and answers with a [`Verdict`]; the caller sends the 503.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The length of one counting window.
const WINDOW: Duration = Duration::from_secs(1);
/// At most this many sources are counted one by one in a window; beyond them (a flood from
/// forged addresses) the rest count together as one source, so memory stays bounded.
const MAX_SOURCES: usize = 4096;

/// What to do with a new INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Take it (the session limit is checked apart).
    Admit,
    /// Refuse it: the agent is behind and this source sends more than its share.
    Shed,
    /// Refuse it: this source is over the configured rate.
    OverLimit,
}

/// The load of each source in the current and the previous window.
#[derive(Debug)]
pub(crate) struct Admission {
    /// New calls a second one source may start; `None`: no limit.
    per_source_rate: Option<u32>,
    /// When the current window began (`None` before the first input).
    started: Option<Instant>,
    current: Window,
    previous: Window,
}

/// What one source sent in a window.
#[derive(Debug, Default, Clone, Copy)]
struct Load {
    /// New INVITEs: what the per-source rate limit counts.
    calls: u32,
    /// Everything counted, INVITEs and noise: what the share is measured in.
    all: u32,
}

#[derive(Debug, Default)]
struct Window {
    by_source: HashMap<IpAddr, Load>,
    /// The load of the sources past [`MAX_SOURCES`], and of noise the transport could not
    /// attribute, counted as one source.
    others: Load,
    total: u64,
}

impl Window {
    fn count(&mut self, source: Option<IpAddr>, calls: u32, all: u32) -> Load {
        self.total += u64::from(all);
        let load = match source {
            Some(s) if self.by_source.contains_key(&s) || self.by_source.len() < MAX_SOURCES => {
                self.by_source.entry(s).or_default()
            }
            _ => &mut self.others,
        };
        load.calls = load.calls.saturating_add(calls);
        load.all = load.all.saturating_add(all);
        *load
    }

    fn of(&self, source: IpAddr) -> Load {
        match self.by_source.get(&source) {
            Some(load) => *load,
            None if self.by_source.len() >= MAX_SOURCES => self.others,
            None => Load::default(),
        }
    }

    fn sources(&self) -> usize {
        self.by_source.len() + usize::from(self.others.all > 0)
    }
}

impl Admission {
    pub(crate) fn new(per_source_rate: Option<u32>) -> Admission {
        Admission { per_source_rate, started: None, current: Window::default(), previous: Window::default() }
    }

    /// A new INVITE from `source` at `now`; `behind`: the agent is falling behind and must
    /// shed some of them.
    pub(crate) fn offer(&mut self, now: Instant, source: IpAddr, behind: bool) -> Verdict {
        let source = source.to_canonical();
        self.roll(now);
        let in_window = self.current.count(Some(source), 1, 1);
        if self.per_source_rate.is_some_and(|limit| in_window.calls > limit) {
            return Verdict::OverLimit;
        }
        if !behind {
            return Verdict::Admit;
        }
        // Spare a source that sends less than the average of all sources over the last one
        // to two seconds: load · sources < total. A lone source is never under its own
        // average, so with one source every new call is shed, as before.
        let load = u64::from(in_window.all) + u64::from(self.previous.of(source).all);
        let total = self.current.total + self.previous.total;
        let sources = self.current.sources().max(self.previous.sources()).max(1) as u64;
        if load * sources < total {
            Verdict::Admit
        } else {
            Verdict::Shed
        }
    }

    /// `count` messages from `source` (`None`: from sources the transport did not name) that
    /// are not new calls but cost the agent all the same: garbage, strangers' requests,
    /// requests outside dialogs. They weigh in the share of their source.
    pub(crate) fn noise(&mut self, now: Instant, source: Option<IpAddr>, count: u32) {
        self.roll(now);
        self.current.count(source.map(|s| s.to_canonical()), 0, count);
    }

    /// Starts a new window when the current one is over; after a quiet window the previous
    /// counts are forgotten too.
    fn roll(&mut self, now: Instant) {
        let started = *self.started.get_or_insert(now);
        let age = now.saturating_duration_since(started);
        if age < WINDOW {
            return;
        }
        self.previous = if age < 2 * WINDOW { std::mem::take(&mut self.current) } else { Window::default() };
        self.current = Window::default();
        self.started = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn while_on_time_every_call_is_admitted() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        for i in 0..10_000u32 {
            assert_eq!(a.offer(t + Duration::from_micros(u64::from(i)), ip(2), false), Verdict::Admit);
        }
    }

    #[test]
    fn behind_the_noisy_source_is_shed_and_the_quiet_one_spared() {
        let mut a = Admission::new(None);
        let t0 = Instant::now();
        let (mut quiet_admitted, mut noisy_admitted) = (0, 0);
        // 3 s of 5 000/s from .2 and 20/s from .3, all while behind.
        for ms in 0..3_000u64 {
            let now = t0 + Duration::from_millis(ms);
            for _ in 0..5 {
                noisy_admitted += u32::from(a.offer(now, ip(2), true) == Verdict::Admit);
            }
            if ms % 50 == 0 {
                quiet_admitted += u32::from(a.offer(now, ip(3), true) == Verdict::Admit);
            }
        }
        assert_eq!(quiet_admitted, 60, "every call of the quiet source is admitted");
        assert_eq!(noisy_admitted, 0, "the source over its share is shed");
    }

    #[test]
    fn a_lone_source_is_shed_while_behind_and_admitted_once_on_time() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        assert_eq!(a.offer(t, ip(2), true), Verdict::Shed);
        assert_eq!(a.offer(t, ip(2), true), Verdict::Shed);
        assert_eq!(a.offer(t, ip(2), false), Verdict::Admit);
    }

    #[test]
    fn equal_sources_are_shed_alike() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        for _ in 0..100 {
            for s in 2..6 {
                a.offer(t, ip(s), false);
            }
        }
        for s in 2..6 {
            assert_eq!(a.offer(t, ip(s), true), Verdict::Shed, "no source is under the average");
        }
    }

    #[test]
    fn the_per_source_rate_limit_counts_per_window() {
        let mut a = Admission::new(Some(3));
        let t = Instant::now();
        let verdicts: Vec<_> = (0..5).map(|_| a.offer(t, ip(2), false)).collect();
        assert_eq!(verdicts[..3], [Verdict::Admit; 3]);
        assert_eq!(verdicts[3..], [Verdict::OverLimit; 2]);
        assert_eq!(a.offer(t, ip(3), false), Verdict::Admit, "another source has its own count");
        assert_eq!(a.offer(t + WINDOW, ip(2), false), Verdict::Admit, "a new window, a new count");
    }

    #[test]
    fn forged_sources_beyond_the_bound_count_as_one() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        let known = ip(1);
        a.offer(t, known, false);
        // Two INVITEs from each of many forged addresses.
        for i in 0..(MAX_SOURCES as u32 + 1000) {
            let forged = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            a.offer(t, forged, false);
            a.offer(t, forged, false);
        }
        assert_eq!(a.current.by_source.len(), MAX_SOURCES, "memory is bounded");
        assert_eq!(a.current.others.calls, 2 * 1001, "the rest count together");
        // Behind them, the known quiet source is spared and the lump of the rest is shed.
        assert_eq!(a.offer(t, known, true), Verdict::Admit);
        assert_eq!(a.offer(t, IpAddr::from([192, 0, 2, 1]), true), Verdict::Shed);
    }

    #[test]
    fn old_counts_are_forgotten() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        for _ in 0..100 {
            a.offer(t, ip(2), false);
        }
        a.offer(t + 3 * WINDOW, ip(3), false);
        assert_eq!(a.previous.total, 0, "a window more than one ago is dropped");
        assert_eq!(a.current.total, 1);
    }

    #[test]
    fn behind_a_garbage_flood_the_calls_of_a_quiet_source_are_admitted() {
        let mut a = Admission::new(None);
        let t0 = Instant::now();
        let mut admitted = 0;
        // 3 s of garbage from .4 at 50 000/s, taken from the transport every 10 ms, and a
        // call from .3 every 100 ms, all while behind.
        for ms in (0..3_000u64).step_by(10) {
            let now = t0 + Duration::from_millis(ms);
            a.noise(now, Some(ip(4)), 500);
            if ms % 100 == 0 {
                admitted += u32::from(a.offer(now, ip(3), true) == Verdict::Admit);
            }
        }
        assert_eq!(admitted, 30, "every call is admitted: the garbage's source is the load");
    }

    #[test]
    fn noise_does_not_count_against_the_per_source_rate() {
        let mut a = Admission::new(Some(2));
        let t = Instant::now();
        a.noise(t, Some(ip(2)), 1000);
        assert_eq!(a.offer(t, ip(2), false), Verdict::Admit);
        assert_eq!(a.offer(t, ip(2), false), Verdict::Admit);
        assert_eq!(a.offer(t, ip(2), false), Verdict::OverLimit);
    }

    #[test]
    fn unattributed_noise_counts_as_one_more_source() {
        let mut a = Admission::new(None);
        let t = Instant::now();
        a.noise(t, None, 10_000);
        assert_eq!(a.current.sources(), 1);
        assert_eq!(a.offer(t, ip(3), true), Verdict::Admit, "the quiet caller is under the average");
    }
}
