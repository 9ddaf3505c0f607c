//! Shared pieces of the loom models (compiled only with `--cfg fusebox_loom`).
#![allow(dead_code)]

use std::sync::Mutex;

use fusebox_core::{
    Breaker, Config, ManualClock, Observer, State, Transition, TransitionReason, Window,
};
pub use loom::sync::Arc;
pub use loom::thread;

/// A 1 kHz manual clock; under loom its tick counter is a loom atomic.
pub type Clock = ManualClock<1000>;
/// The breaker every model uses, with a transition log as its observer.
pub type Logged<W> = Breaker<Clock, W, Log>;

/// Runs `f` under loom. `LOOM_MAX_PREEMPTIONS` (read by loom) bounds the
/// preemptions per execution; without it the bound is 3, which keeps every
/// model of this crate under a few seconds on 2 cores.
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// One transition as the observer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub from: State,
    pub to: State,
    pub reason: TransitionReason,
    pub epoch: u64,
    pub open_until: Option<u64>,
}

/// Records transitions. The lock holds no loom operation, so loom never
/// preempts inside it; it only serialises the log.
#[derive(Default)]
pub struct Log(pub Mutex<Vec<Event>>);

impl Observer for Log {
    fn on_transition(&self, t: &Transition) {
        self.0.lock().unwrap().push(Event {
            from: t.from,
            to: t.to,
            reason: t.reason,
            epoch: t.epoch,
            open_until: t.open_until,
        });
    }
}

impl Log {
    /// The events sorted by epoch.
    pub fn events(&self) -> Vec<Event> {
        let mut v = self.0.lock().unwrap().clone();
        v.sort_by_key(|e| e.epoch);
        v
    }
}

/// A new breaker at tick `now` behind an `Arc`.
pub fn breaker<W: Window>(config: Config, now: u64) -> Arc<Logged<W>> {
    let clock = Clock::new();
    clock.set(now);
    Arc::new(Breaker::with_observer(clock, config, Log::default()).expect("valid config"))
}

/// Invariant (b): each epoch has exactly one transition into it, epochs are
/// consecutive from `first_epoch`, each transition starts where the previous
/// one ended, and the last one matches the snapshot.
pub fn assert_one_state_per_epoch<W: Window>(b: &Logged<W>, first_epoch: u64, start: State) {
    let events = b.observer().events();
    let mut state = start;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.epoch,
            first_epoch + 1 + i as u64,
            "epochs not consecutive: {events:?}"
        );
        assert_eq!(
            e.from, state,
            "transition does not start where the last ended: {events:?}"
        );
        state = e.to;
    }
    let s = b.snapshot();
    assert_eq!(
        s.epoch,
        first_epoch + events.len() as u64,
        "{events:?} vs {s:?}"
    );
    assert_eq!(s.state, state, "{events:?} vs {s:?}");
}
