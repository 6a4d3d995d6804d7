//! [`Pacer`]: one clock that sends the 20 ms frames of many streams.
//!
//! A stream sends a frame every 20 ms for its whole life. With a timer and a task wake-up per
//! stream, a few thousand calls cost a few hundred thousand timer firings and task polls a
//! second. A pacer keeps its streams in [`SLOTS`] groups and wakes once a millisecond to send
//! the frames of one group: each stream still gets one frame every 20 ms, the work of a
//! frame period is spread over it in small pieces (so nothing else on the runtime waits for
//! thousands of sends in a row), and the cost is a thousand wake-ups a second however many
//! streams there are. Each stream's receive side stays on its own task, which sleeps until a
//! datagram arrives. The pacer decides nothing: what a stream sends is its own state's
//! business (`session.rs`).

use crate::session::{lock, Shared, FRAME_DURATION};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;

/// How many groups the streams are spread over: one is sent to each millisecond.
pub const SLOTS: usize = 20;

/// A clock that sends the frames of every stream bound with it; cheap to clone. Its task
/// runs on the tokio runtime it was started on and stops when the last clone is dropped.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<Inner>,
}

struct Inner {
    /// The streams of each slot; closed or dropped ones leave at their slot's next turn.
    slots: Mutex<Vec<Vec<Weak<Shared>>>>,
    /// How many streams are out of their slot for its turn (still paced, so counted).
    in_turn: AtomicUsize,
    /// Wakes the clock when a stream joins an idle pacer (an idle one does not tick), and
    /// when the last handle goes, so that the task ends.
    joined: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.joined.notify_one();
    }
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("streams", &self.len()).finish()
    }
}

impl Pacer {
    /// Starts a pacer for many streams on the current tokio runtime: [`SLOTS`] groups, a
    /// wake-up each millisecond while any stream is paced, none while idle. Panics outside a
    /// runtime, as `tokio::spawn` does.
    pub fn start() -> Pacer {
        Pacer::with_slots(SLOTS)
    }

    /// A pacer for one stream: a single group, so one wake-up per frame (what
    /// [`MediaSession::bind`](crate::MediaSession::bind) uses when no pacer is shared).
    pub fn single() -> Pacer {
        Pacer::with_slots(1)
    }

    fn with_slots(slots: usize) -> Pacer {
        let joined = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            slots: Mutex::new(vec![Vec::new(); slots.max(1)]),
            in_turn: AtomicUsize::new(0),
            joined: joined.clone(),
        });
        tokio::spawn(run(Arc::downgrade(&inner), joined));
        Pacer { inner }
    }

    /// How many streams it paces now (closed ones leave at their slot's next turn).
    pub fn len(&self) -> usize {
        let slots = lock(&self.inner.slots);
        slots.iter().map(Vec::len).sum::<usize>() + self.inner.in_turn.load(Ordering::Acquire)
    }

    /// Does it pace no stream?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a stream to the emptiest slot.
    pub(crate) fn add(&self, stream: &Arc<Shared>) {
        let mut slots = lock(&self.inner.slots);
        if let Some(slot) = slots.iter_mut().min_by_key(|s| s.len()) {
            slot.push(Arc::downgrade(stream));
        }
        drop(slots);
        self.inner.joined.notify_one();
    }
}

/// Sends one slot's frames each step (catching up on slots a late wake-up skipped) while it
/// has streams, sleeps while it has none, and ends when every handle is gone.
async fn run(weak: Weak<Inner>, joined: Arc<Notify>) {
    let Some(slots) = weak.upgrade().map(|i| lock(&i.slots).len() as u64) else { return };
    let step = FRAME_DURATION / slots as u32;
    let mut ticker = tokio::time::interval(step);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = Instant::now();
    let mut done: u64 = 0;
    loop {
        ticker.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        if lock(&inner.slots).iter().all(Vec::is_empty) {
            // Idle: no wake-ups until a stream joins or the last handle goes (both notify).
            drop(inner);
            joined.notified().await;
            ticker.reset();
            continue;
        }
        let now = Instant::now();
        let due = (now.saturating_duration_since(start).as_micros() / step.as_micros().max(1)) as u64 + 1;
        // At most one period's worth: a stream never gets two frames from one wake-up.
        let first = done.max(due.saturating_sub(slots));
        for turn in first..due {
            let slot = (turn % slots) as usize;
            // The slot's list is taken out while its frames go, so a stream joining meanwhile
            // waits for nothing.
            let mut streams = {
                let mut slots = lock(&inner.slots);
                let taken = std::mem::take(&mut slots[slot]);
                inner.in_turn.store(taken.len(), Ordering::Release);
                taken
            };
            streams.retain(|w| match w.upgrade() {
                Some(s) if !s.is_closed() => {
                    s.on_tick(now);
                    true
                }
                _ => false,
            });
            let mut slots = lock(&inner.slots);
            streams.append(&mut slots[slot]);
            slots[slot] = streams;
            inner.in_turn.store(0, Ordering::Release);
        }
        done = due;
    }
}
