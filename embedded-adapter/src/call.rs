//! `breaker.call(|| async { .. }).await`: the async helper for embassy tasks.

use core::fmt;
use core::future::Future;

use embassy_time::{with_timeout, Duration};
use fusebox_core::{AnyWindow, Breaker, Clock, Observer, Outcome, Rejected, Verdict};

/// Decides what a finished call means to the breaker: fusebox-core's
/// [`Classifier`](fusebox_core::Classifier), the one trait every adapter
/// shares, under this crate's name for it.
///
/// Implemented by [`OkIsSuccess`] (the default) and by every
/// `Fn(&Result<T, E>) -> Outcome`, so a closure or a `fn` item is a
/// classifier:
///
/// ```
/// use fusebox_core::Outcome;
/// use fusebox_embedded::Classify;
///
/// #[derive(Debug)]
/// enum ModemError { Busy, NoCarrier }
///
/// // A busy modem is not a failure of the link: it counts nowhere.
/// fn modem_outcome(r: &Result<u8, ModemError>) -> Outcome {
///     match r {
///         Ok(_) => Outcome::Success,
///         Err(ModemError::Busy) => Outcome::Ignored,
///         Err(ModemError::NoCarrier) => Outcome::Failure,
///     }
/// }
/// assert_eq!(modem_outcome.classify(&Err(ModemError::Busy)), Outcome::Ignored);
/// ```
pub use fusebox_core::Classifier as Classify;

/// The default classifier: `Ok` is a success, `Err` a failure
/// (fusebox-core's [`DefaultClassifier`](fusebox_core::DefaultClassifier)).
pub use fusebox_core::DefaultClassifier as OkIsSuccess;

/// How [`AsyncCall::call_with`] runs a call: its classifier and an optional
/// time limit. `const`, so a firmware can keep one per dependency:
///
/// ```
/// use embassy_time::Duration;
/// use fusebox_embedded::{CallPolicy, OkIsSuccess};
/// const UPLINK_POLICY: CallPolicy<OkIsSuccess> =
///     CallPolicy::new().timeout(Duration::from_millis(250));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CallPolicy<K = OkIsSuccess> {
    classifier: K,
    timeout: Option<Duration>,
}

impl CallPolicy<OkIsSuccess> {
    /// `Ok` is a success, `Err` a failure, no time limit.
    pub const fn new() -> Self {
        CallPolicy {
            classifier: OkIsSuccess,
            timeout: None,
        }
    }
}

impl Default for CallPolicy<OkIsSuccess> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy> CallPolicy<K> {
    /// Gives up on the call after `limit` (`embassy_time::with_timeout`): the
    /// call's future is dropped, the call is recorded as a failure and
    /// returns [`CallError::TimedOut`].
    ///
    /// (`K: Copy` keeps this `const`: `fn` items, [`OkIsSuccess`] and
    /// closures that capture nothing or only references are all `Copy`.)
    pub const fn timeout(self, limit: Duration) -> Self {
        CallPolicy {
            classifier: self.classifier,
            timeout: Some(limit),
        }
    }
}

impl<K> CallPolicy<K> {
    /// Classifies results with `classifier` instead.
    pub fn classify<K2>(self, classifier: K2) -> CallPolicy<K2> {
        CallPolicy {
            classifier,
            timeout: self.timeout,
        }
    }

    /// The time limit, if any.
    pub const fn time_limit(&self) -> Option<Duration> {
        self.timeout
    }
}

#[cfg(feature = "defmt")]
impl<K> defmt::Format for CallPolicy<K> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "CallPolicy {{ timeout: {} }}", self.timeout)
    }
}

/// Why a protected call returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallError<E> {
    /// The breaker refused the call; the operation never started.
    Rejected(Rejected),
    /// The operation ran and returned this error (recorded as its classifier
    /// decided).
    Failed(E),
    /// The operation ran past the policy's time limit and was dropped
    /// (recorded as a failure).
    TimedOut,
}

impl<E> CallError<E> {
    /// The operation's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => write!(f, "call rejected by the circuit breaker: {r}"),
            CallError::Failed(e) => write!(f, "call failed: {e}"),
            CallError::TimedOut => f.write_str("call timed out"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for CallError<E> {}

/// Runs async operations through a breaker. Implemented for every
/// [`Breaker`]; bring it into scope with `use fusebox_embedded::AsyncCall`.
///
/// # Cancellation
/// The permit is taken when the returned future is first polled and lives
/// inside it. A future dropped mid-call (a `select` that picked another
/// branch, a task that was cancelled, a timeout around it) drops the permit
/// unrecorded, which the core treats as the breaker's `on_abandon` says
/// (`Ignore` by default): a half-open probe slot is given back and nothing
/// counts as a success. The same holds for a panic in the operation or the
/// classifier where panics unwind (firmware usually aborts instead).
///
/// # Futures and `Send`
/// The futures are `Send` when the operation's future and the breaker are
/// `Send`/`Sync`; embassy's executors need neither.
#[allow(async_fn_in_trait)] // see "Futures and `Send`" above
pub trait AsyncCall {
    /// Runs `operation` if the breaker permits it, and records `Ok` as a
    /// success and `Err` as a failure.
    ///
    /// ```
    /// # async fn example(uplink: &fusebox_embedded::EmbassyBreaker) {
    /// use fusebox_embedded::{AsyncCall, CallError};
    /// match uplink.call(|| async { send_report().await }).await {
    ///     Ok(bytes) => { let _: usize = bytes; }
    ///     Err(CallError::Rejected(r)) => { let _ = r.retry_after; /* back off */ }
    ///     Err(CallError::Failed(_) | CallError::TimedOut) => { /* counted as a failure */ }
    /// }
    /// # }
    /// # async fn send_report() -> Result<usize, ()> { Ok(3) }
    /// ```
    async fn call<F, Fut, T, E>(&self, operation: F) -> Result<T, CallError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>;

    /// Runs `operation` if the breaker permits it, under `policy`'s time
    /// limit, and records what `policy`'s classifier decides.
    async fn call_with<K, F, Fut, T, E>(
        &self,
        policy: &CallPolicy<K>,
        operation: F,
    ) -> Result<T, CallError<E>>
    where
        K: Classify<T, E>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>;
}

impl<C: Clock, W: AnyWindow, O: Observer> AsyncCall for Breaker<C, W, O> {
    async fn call<F, Fut, T, E>(&self, operation: F) -> Result<T, CallError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(&CallPolicy::new(), operation).await
    }

    async fn call_with<K, F, Fut, T, E>(
        &self,
        policy: &CallPolicy<K>,
        operation: F,
    ) -> Result<T, CallError<E>>
    where
        K: Classify<T, E>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = match policy.timeout {
            None => operation().await,
            Some(limit) => match with_timeout(limit, operation()).await {
                Ok(result) => result,
                Err(_elapsed) => {
                    let _ = permit.record(Outcome::Failure);
                    return Err(CallError::TimedOut);
                }
            },
        };
        // The classifier's retry hint, if it gives one, opens the breaker
        // for that long (`Permit::trip_for`).
        let _ = permit.conclude(Verdict::of(&policy.classifier, &result), None);
        result.map_err(CallError::Failed)
    }
}
