//! Observation on `std`: [`StdObserver`] turns the core's events into
//! `tracing` events, running totals for Prometheus (see
//! [`metrics`](crate::metrics)) and a broadcast of transitions.

mod durations;
mod totals;

pub use durations::CallDurations;
pub use totals::{Totals, TotalsSnapshot};

use crate::alerts::AlertHook;
use fusebox_core::{Observer, OutcomeEvent, Rejection, State, Transition, WindowCounts};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A committed transition of a named breaker, as broadcast to
/// [`Registry::subscribe`](crate::Registry::subscribe) and
/// [`StdBreaker::subscribe`](crate::StdBreaker::subscribe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionEvent {
    /// The breaker's name.
    pub breaker: Arc<str>,
    /// What happened, with the window counts that caused it.
    pub transition: Transition,
}

/// The observer of every [`StdBreaker`](crate::StdBreaker).
///
/// - `tracing`: a `WARN` event when a breaker opens (or is forced open), `INFO`
///   for other transitions, `DEBUG` for rejections, `TRACE` for outcomes;
///   target `fusebox`, with the breaker's name, the reason and the window
///   counts as fields.
/// - running totals ([`Totals`]), striped over cache-padded rows so that
///   threads sharing a breaker do not contend on one counter.
/// - transitions per `(from, to)` pair, for `circuit_breaker_transitions_total`.
/// - a [`broadcast`] of [`TransitionEvent`]s; sending costs nothing when
///   nobody listens, and a slow listener loses the oldest events
///   (`RecvError::Lagged`), never slows the breaker.
#[derive(Debug)]
pub struct StdObserver {
    name: Arc<str>,
    totals: Totals,
    transitions: [[std::sync::atomic::AtomicU64; STATES]; STATES],
    durations: CallDurations,
    timing: std::sync::atomic::AtomicBool,
    events: broadcast::Sender<TransitionEvent>,
    fallbacks: [std::sync::atomic::AtomicU64; FALLBACK_KINDS.len()],
    history: std::sync::Mutex<History>,
    alerts: std::sync::RwLock<Option<Arc<AlertHook>>>,
    hook: HookSlot,
}

/// Where the transition hook lives.
#[derive(Default)]
struct HookSlot(std::sync::RwLock<Option<TransitionHook>>);

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.read().map(|h| h.is_some()).unwrap_or(false);
        f.write_str(if set { "Some(hook)" } else { "None" })
    }
}

/// A function told of every transition, after it committed, with nothing
/// held: it may drive the breaker (keyed breakers reset a key past their
/// cap on open keys).
pub type TransitionHook = Arc<dyn Fn(&Transition) + Send + Sync>;

/// What the observer remembers of past transitions (a lock taken only at
/// transitions and scrapes, never on a call).
#[derive(Debug, Default)]
struct History {
    /// Ticks spent in each state up to `since`.
    in_state: [u64; STATES],
    /// The state entered at `since`, once a transition was seen.
    current: Option<(State, u64)>,
    /// The window as the last trip from a closed (or metrics-only) episode
    /// judged it.
    tripped: Option<WindowCounts>,
}

/// The window counts that a breaker's last trip judged: the window is
/// emptied when the breaker closes again, and reads as empty while it is
/// open, so these are what explains an outage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrippedWindow {
    /// The window's counts at the trip.
    pub counts: WindowCounts,
}

impl TrippedWindow {
    /// Failures / calls, 0..1 (`None` for an empty window).
    pub fn failure_rate(&self) -> Option<f64> {
        (self.counts.calls > 0).then(|| self.counts.failures as f64 / self.counts.calls as f64)
    }
    /// Slow calls / calls, 0..1 (`None` for an empty window).
    pub fn slow_call_rate(&self) -> Option<f64> {
        (self.counts.calls > 0).then(|| self.counts.slow as f64 / self.counts.calls as f64)
    }
}

/// The fallback types counted per breaker (the tower layer's
/// `FallbackLayer` and `FallbackToLayer`, and [`StdObserver::count_fallback`]).
pub const FALLBACK_KINDS: [&str; 4] = ["value", "cached", "function", "service"];

/// Number of [`State`]s.
const STATES: usize = State::ALL.len();

impl StdObserver {
    /// An observer for the breaker `name`, broadcasting on `events`.
    pub fn new(name: Arc<str>, events: broadcast::Sender<TransitionEvent>) -> Self {
        StdObserver {
            name,
            totals: Totals::default(),
            transitions: Default::default(),
            durations: CallDurations::default(),
            timing: std::sync::atomic::AtomicBool::new(true),
            events,
            fallbacks: Default::default(),
            // Breakers start closed; the observer is built with its breaker,
            // on the std clock (the ticks every `StdBreaker` uses).
            history: std::sync::Mutex::new(History {
                current: Some((State::Closed, fusebox_core::Clock::now(&crate::StdClock))),
                ..History::default()
            }),
            alerts: Default::default(),
            hook: Default::default(),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }
    /// Running totals.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }
    /// The call-duration histogram.
    #[inline]
    pub fn durations(&self) -> &CallDurations {
        &self.durations
    }
    /// Whether the call wrappers and the tower layer time calls for the
    /// histogram (on by default; two `Instant::now` per call). Inlined: the
    /// call wrappers ask on every call.
    #[inline]
    pub fn call_timing(&self) -> bool {
        // Relaxed: a setting; a call that sees the old value is harmless.
        self.timing.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Turns call timing on or off.
    pub fn set_call_timing(&self, on: bool) {
        // Relaxed: as in `call_timing`.
        self.timing.store(on, std::sync::atomic::Ordering::Relaxed)
    }
    /// Transitions from `from` to `to` so far.
    pub fn transitions(&self, from: State, to: State) -> u64 {
        // Relaxed: a statistic.
        self.transitions[from.index()][to.index()].load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Counts one execution of a fallback of type `kind` (one of
    /// [`FALLBACK_KINDS`]; any other counts as `function`), for
    /// `circuit_breaker_fallback_executions_total`.
    pub fn count_fallback(&self, kind: &str) {
        let i = FALLBACK_KINDS.iter().position(|k| *k == kind).unwrap_or(2);
        // Relaxed: a statistic.
        self.fallbacks[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    /// Fallback executions of type `kind` so far (0 for an unknown type).
    pub fn fallbacks(&self, kind: &str) -> u64 {
        FALLBACK_KINDS
            .iter()
            .position(|k| *k == kind)
            // Relaxed: a statistic.
            .map_or(0, |i| {
                self.fallbacks[i].load(std::sync::atomic::Ordering::Relaxed)
            })
    }
    /// Time spent in `state`, in nanoseconds of [`StdClock`](crate::StdClock),
    /// up to `now` (a reading of it), counted from when the observer was
    /// built (with its breaker, which starts closed).
    pub fn time_in_state(&self, state: State, now: u64) -> u64 {
        let h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = h.in_state[state.index()];
        if let Some((current, since)) = h.current {
            if current == state {
                t += now.saturating_sub(since);
            }
        }
        t
    }
    /// The window as the last trip judged it, if the breaker has tripped on
    /// its window (see [`TrippedWindow`]).
    pub fn tripped_window(&self) -> Option<TrippedWindow> {
        let h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        h.tripped.map(|counts| TrippedWindow { counts })
    }
    /// Sends this breaker's transitions to `hook` as alerts (see
    /// [`crate::alerts`]), or to none.
    pub fn set_alert_hook(&self, hook: Option<Arc<AlertHook>>) {
        *self.alerts.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }
    /// Calls `hook` at every transition of this breaker from now on (or
    /// none).
    pub fn set_transition_hook(&self, hook: Option<TransitionHook>) {
        *self.hook.0.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }
    /// A receiver of this breaker's transitions from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.events.subscribe()
    }
}

impl StdObserver {
    fn remember(&self, t: &Transition) {
        let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        // Observers may see transitions out of commit order: a late one
        // moves nothing back.
        match h.current {
            Some((from, since)) if t.at >= since => {
                h.in_state[from.index()] += t.at - since;
                h.current = Some((t.to, t.at));
            }
            Some(_) => {}
            None => h.current = Some((t.to, t.at)),
        }
        if t.to == State::Open && t.from == State::Closed && t.window.calls > 0 {
            h.tripped = Some(t.window);
        }
    }
}

impl Observer for StdObserver {
    fn on_transition(&self, t: &Transition) {
        self.remember(t);
        let hook = self
            .alerts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            hook.feed(&self.name, AlertHook::level_of(t.to), t.reason.as_str());
        }
        // Relaxed: a statistic.
        self.transitions[t.from.index()][t.to.index()]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = &*self.name;
        if matches!(t.to, State::Open | State::ForcedOpen) {
            tracing::warn!(
                target: "fusebox",
                breaker = name,
                from = t.from.as_str(),
                to = t.to.as_str(),
                reason = t.reason.as_str(),
                epoch = t.epoch,
                window_calls = t.window.calls,
                window_failures = t.window.failures,
                window_slow = t.window.slow,
                consecutive_failures = t.consecutive_failures,
                backoff_level = t.backoff_level,
                "circuit breaker opened"
            );
        } else {
            tracing::info!(
                target: "fusebox",
                breaker = name,
                from = t.from.as_str(),
                to = t.to.as_str(),
                reason = t.reason.as_str(),
                epoch = t.epoch,
                backoff_level = t.backoff_level,
                "circuit breaker transition"
            );
        }
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(TransitionEvent {
                breaker: Arc::clone(&self.name),
                transition: *t,
            });
        }
        // Last, so that a hook that drives the breaker reports after this.
        let hook = self
            .hook
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            hook(t);
        }
    }

    fn on_reject(&self, r: &Rejection) {
        self.totals.add_rejected(r.reason);
        tracing::debug!(
            target: "fusebox",
            breaker = &*self.name,
            state = r.state.as_str(),
            reason = r.reason.as_str(),
            retry_after_ns = r.retry_after,
            "call rejected"
        );
    }

    fn on_outcome(&self, o: &OutcomeEvent) {
        self.totals.add_outcome(o);
        tracing::trace!(
            target: "fusebox",
            breaker = &*self.name,
            outcome = ?o.outcome,
            slow = o.slow,
            recorded = ?o.recorded,
            abandoned = o.abandoned,
            "outcome"
        );
    }
}
