//! Transition events for a logging task: [`EventQueue`] and
//! [`QueueObserver`].
//!
//! A breaker's observer runs in whatever context changed the state (a task, an
//! interrupt handler). Logging there is too slow, so [`QueueObserver`] only
//! pushes a copy of the event into a fixed-size queue, and a low-priority task
//! drains it. Nothing allocates; a full queue drops the new event and counts
//! it, so a log can say how many it missed.

use fusebox_core::{Observer, Transition};
use heapless::mpmc::Queue;
use portable_atomic::{AtomicU32, Ordering};

/// One breaker transition, tagged with the name of the breaker it happened to.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// The name given to [`EventQueue::observer`].
    pub breaker: &'static str,
    /// What happened, with the window counts that caused it.
    pub transition: Transition,
}

/// A fixed-size multi-producer, multi-consumer queue of [`Event`]s, with a
/// count of the events it had to drop.
///
/// `N` is a power of two, at least 2 (checked when the queue is built). One
/// queue can serve many breakers: give each its own [`QueueObserver`].
///
/// # Interrupts and preemption
/// The queue is heapless's bounded MPMC queue (Vyukov's algorithm), with
/// word-sized positions. Pushing and popping never block and never spin on
/// another context: an operation that finds a slot still being written by a
/// context it preempted gives up. For a push that means the event is dropped
/// and counted in [`dropped`](Self::dropped); for a pop, that the queue looks
/// empty until the preempted producer finishes. (This is why heapless marks
/// the queue as not strictly lock-free, heapless#583; for an event log, a
/// counted drop is the right answer.)
///
/// ```
/// use fusebox_embedded::EventQueue;
/// static EVENTS: EventQueue<8> = EventQueue::new();
/// assert!(EVENTS.pop().is_none());
/// assert_eq!(EVENTS.take_dropped(), 0);
/// ```
pub struct EventQueue<const N: usize> {
    queue: Queue<Event, N>,
    dropped: AtomicU32,
}

impl<const N: usize> EventQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        EventQueue {
            // Deprecated upstream because a preempted operation makes others
            // fail instead of wait; failing is what an event log wants (see the
            // type's docs).
            #[allow(deprecated)]
            queue: Queue::new(),
            dropped: AtomicU32::new(0),
        }
    }

    /// An observer that tags events with `breaker` and pushes them here.
    pub const fn observer(&self, breaker: &'static str) -> QueueObserver<'_, N> {
        QueueObserver {
            queue: self,
            breaker,
        }
    }

    /// Queues `event`; if the queue is full, drops it, counts it and returns
    /// `false`.
    pub fn push(&self, event: Event) -> bool {
        match self.queue.enqueue(event) {
            Ok(()) => true,
            Err(_) => {
                // Relaxed: a statistic, read by whoever drains the queue.
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The oldest queued event, if any.
    pub fn pop(&self) -> Option<Event> {
        self.queue.dequeue()
    }

    /// Events dropped since the queue was built or last
    /// [`take_dropped`](Self::take_dropped) (wrapping at 2^32).
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Returns the drop count and sets it to zero, so a logging task can report
    /// "N events lost" once per drain.
    pub fn take_dropped(&self) -> u32 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// How many events the queue holds at most.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for EventQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for EventQueue<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "EventQueue<{=usize}> {{ dropped: {=u32} }}",
            N,
            self.dropped()
        )
    }
}

/// The [`Observer`] that pushes every transition into an [`EventQueue`].
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{Breaker, Config, NoWindow};
/// use fusebox_embedded::{EmbassyClock, EventQueue, QueueObserver};
///
/// static EVENTS: EventQueue<16> = EventQueue::new();
/// const CONFIG: Config = match Config::builder().consecutive_failures(3).build() {
///     Ok(c) => c,
///     Err(_) => panic!("bad breaker config"),
/// };
/// static UPLINK: Breaker<EmbassyClock, NoWindow, QueueObserver<'static, 16>> =
///     match Breaker::with_observer(EmbassyClock, CONFIG, EVENTS.observer("uplink")) {
///         Ok(b) => b,
///         Err(_) => panic!("bad breaker config"),
///     };
/// # let _ = &UPLINK;
/// ```
#[derive(Clone, Copy)]
pub struct QueueObserver<'q, const N: usize> {
    queue: &'q EventQueue<N>,
    breaker: &'static str,
}

impl<const N: usize> QueueObserver<'_, N> {
    /// The breaker name this observer tags events with.
    pub const fn breaker(&self) -> &'static str {
        self.breaker
    }
}

impl<const N: usize> core::fmt::Debug for QueueObserver<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("QueueObserver")
            .field("breaker", &self.breaker)
            .field("capacity", &N)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for QueueObserver<'_, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "QueueObserver {{ breaker: {=str} }}", self.breaker)
    }
}

impl<const N: usize> Observer for QueueObserver<'_, N> {
    fn on_transition(&self, transition: &Transition) {
        let _ = self.queue.push(Event {
            breaker: self.breaker,
            transition: *transition,
        });
    }
}
