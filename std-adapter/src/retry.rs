//! Retries of closures and futures with [`backon`]'s backoff (feature
//! `backon`); `tower::RetryPolicy` is the same idea for tower services.
//!
//! Every attempt goes through the breaker (the retry is *outside* it), so
//! the breaker counts each one. Three rules decide whether an attempt that
//! failed is tried again:
//!
//! - A failure of the call ([`Error::Inner`]) or a timeout is retried after
//!   the backoff (exponential with jitter, as the caller's
//!   [`BackoffBuilder`] says; its `max_times` caps the retries).
//! - A rejection is retried only when the breaker names a `retry_after` that
//!   fits the caller's [`patience`](RetryRules::new); the retry then waits
//!   for that, not for the backoff, and becomes the breaker's probe (or is
//!   rejected again in half-open, which names no time and ends the retries).
//!   A rejection without a time (half-open with every probe slot taken,
//!   forced open) is never retried.
//! - A [`RetryBudget`], when given, caps retries at a fraction of calls, so
//!   retries cannot multiply the load on a failing dependency.
//!
//! [`CallRetryExt`] wraps all of it around a call:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use backon::ExponentialBuilder;
//! use fusebox_core::Config;
//! use fusebox_std::retry::{CallRetryExt, RetryBudget, RetryRules};
//! use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
//!
//! let config = Config::builder().consecutive_failures(5).build().unwrap();
//! let search = StdBreaker::new("search", BreakerSpec { config, window: WindowSpec::None }).unwrap();
//! // Wait up to 2 s for an open breaker; retries at most 10 % of calls (plus 5 spare).
//! let rules = RetryRules::new(Duration::from_secs(2)).with_budget(Arc::new(RetryBudget::new(0.1, 5).unwrap()));
//! let backoff = ExponentialBuilder::new()
//!     .with_min_delay(Duration::from_millis(1))
//!     .with_max_delay(Duration::from_millis(20))
//!     .with_max_times(3)
//!     .with_jitter();
//!
//! let attempts = AtomicU32::new(0);
//! let hits = search
//!     .call_async_with_retry(backoff, &rules, || async {
//!         // Fails once, then answers.
//!         match attempts.fetch_add(1, Ordering::Relaxed) {
//!             0 => Err("connection reset"),
//!             _ => Ok(42),
//!         }
//!     })
//!     .await;
//! assert_eq!(hits.unwrap(), 42);
//! assert_eq!(attempts.load(Ordering::Relaxed), 2);
//! # }
//! ```
//!
//! Or hand the rules to backon's own [`Retryable`](backon::Retryable): the
//! `when` / `adjust` pair (call [`RetryRules::begin`] once per call when the
//! rules carry a budget), or [`retryable`] alone for "never wait on an open
//! breaker":
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use backon::{ExponentialBuilder, Retryable};
//! use fusebox_core::{Breaker, Config};
//! use fusebox_std::retry::{retryable, RetryRules};
//! use fusebox_std::{CallExt, Error, StdClock};
//!
//! let b: Breaker<StdClock> = Breaker::new(StdClock, Config::builder().consecutive_failures(3).build().unwrap());
//! let fetch = || b.call_async(|| async { Ok::<_, std::io::Error>("page") });
//!
//! let page = fetch.retry(ExponentialBuilder::default()).when(retryable).await;
//! assert_eq!(page.unwrap(), "page");
//!
//! let rules = RetryRules::new(Duration::from_millis(500));
//! let page: Result<_, Error<_>> = fetch
//!     .retry(ExponentialBuilder::default())
//!     .when(|e| rules.when(e))
//!     .adjust(|e, backoff| rules.adjust(e, backoff))
//!     .await;
//! assert_eq!(page.unwrap(), "page");
//! # }
//! ```
//!
//! backon's `BlockingRetryable` has no `adjust`: use
//! [`CallRetryExt::call_with_retry`] to wait for an open breaker from a
//! thread, or `.when(retryable)` there.

use crate::breaker::CircuitBreaker;
use crate::call::CallExt;
use crate::error::Error;
use backon::BackoffBuilder;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod budget;

pub use budget::{InvalidRetryBudget, RetryBudget};

/// Whether `error` is worth another attempt with no patience for an open
/// breaker: failures and timeouts are, rejections are not. For backon's
/// `.when(retryable)`.
pub fn retryable<E>(error: &Error<E>) -> bool {
    !error.is_rejected()
}

/// Which failed attempts to try again, and when. See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct RetryRules {
    patience: Duration,
    budget: Option<Arc<RetryBudget>>,
}

impl RetryRules {
    /// Rules that wait for an open breaker only when its `retry_after` is at
    /// most `patience` (`Duration::ZERO`: never), with no budget.
    pub fn new(patience: Duration) -> RetryRules {
        RetryRules {
            patience,
            budget: None,
        }
    }

    /// Retries also need a token from `budget` (shared by the callers of one
    /// dependency).
    pub fn with_budget(mut self, budget: Arc<RetryBudget>) -> RetryRules {
        self.budget = Some(budget);
        self
    }

    /// The longest wait for an open breaker.
    pub fn patience(&self) -> Duration {
        self.patience
    }

    /// Counts a call in the budget; once per call, before its first attempt.
    /// [`CallRetryExt`] does it; a caller of backon's `Retryable` with
    /// budgeted rules does it by hand.
    pub fn begin(&self) {
        if let Some(b) = &self.budget {
            b.deposit();
        }
    }

    /// For backon's `.when`: a failure or a timeout, or a rejection whose
    /// `retry_after` fits the patience.
    pub fn when<E>(&self, error: &Error<E>) -> bool {
        match error {
            Error::Rejected { retry_after, .. } => retry_after.is_some_and(|d| d <= self.patience),
            _ => true,
        }
    }

    /// For backon's `.adjust`: how long to wait before the next attempt, or
    /// `None` to stop. The backoff's delay (`None` once its `max_times` is
    /// spent) for a failure; the breaker's `retry_after` for a rejection
    /// that fits the patience; `None` when the budget is spent.
    pub fn adjust<E>(&self, error: &Error<E>, backoff: Option<Duration>) -> Option<Duration> {
        let backoff = backoff?;
        let wait = match error {
            Error::Rejected { retry_after, .. } => retry_after.filter(|d| *d <= self.patience)?,
            _ => backoff,
        };
        match &self.budget {
            Some(b) if !b.withdraw() => None,
            _ => Some(wait),
        }
    }
}

/// Calls through a breaker, retried by [`RetryRules`] on a backon backoff.
/// Implemented for every [`CircuitBreaker`].
pub trait CallRetryExt: CircuitBreaker {
    /// [`CallExt::call_async`] with retries; waits on tokio's timer, so the
    /// future must run inside a tokio runtime with time enabled. Returns
    /// the last attempt's error when the retries end.
    fn call_async_with_retry<'a, B, F, Fut, T, E>(
        &'a self,
        backoff: B,
        rules: &'a RetryRules,
        mut f: F,
    ) -> impl Future<Output = Result<T, Error<E>>> + 'a
    where
        B: BackoffBuilder + 'a,
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
    {
        async move {
            rules.begin();
            let mut delays = backoff.build();
            loop {
                let error = match self.call_async(&mut f).await {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                };
                if !rules.when(&error) {
                    return Err(error);
                }
                match rules.adjust(&error, delays.next()) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(error),
                }
            }
        }
    }

    /// [`CallExt::call`] with retries; sleeps on the calling thread.
    fn call_with_retry<B, T, E>(
        &self,
        backoff: B,
        rules: &RetryRules,
        mut f: impl FnMut() -> Result<T, E>,
    ) -> Result<T, Error<E>>
    where
        B: BackoffBuilder,
    {
        rules.begin();
        let mut delays = backoff.build();
        loop {
            let error = match self.call(&mut f) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !rules.when(&error) {
                return Err(error);
            }
            match rules.adjust(&error, delays.next()) {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(error),
            }
        }
    }
}

impl<B: CircuitBreaker + ?Sized> CallRetryExt for B {}

#[cfg(test)]
mod tests {
    use super::*;
    use fusebox_core::State;

    fn rejected(retry_after: Option<Duration>) -> Error<()> {
        Error::Rejected {
            state: State::Open,
            retry_after,
            reason: fusebox_core::RejectReason::State,
        }
    }

    #[test]
    fn rules_wait_for_an_open_breaker_only_within_patience() {
        let rules = RetryRules::new(Duration::from_secs(1));
        let soon = rejected(Some(Duration::from_millis(300)));
        let late = rejected(Some(Duration::from_secs(5)));
        assert!(rules.when(&soon));
        assert_eq!(
            rules.adjust(&soon, Some(Duration::from_millis(1))),
            Some(Duration::from_millis(300))
        );
        assert!(!rules.when(&late));
        assert_eq!(rules.adjust(&late, Some(Duration::from_millis(1))), None);
        assert!(!rules.when(&rejected(None)));
        assert!(!retryable(&soon));
        assert!(retryable(&Error::<()>::Timeout));
    }

    #[test]
    fn rules_stop_when_the_backoff_is_spent() {
        let rules = RetryRules::new(Duration::from_secs(1));
        assert_eq!(rules.adjust(&Error::Inner(()), None), None);
        let d = Duration::from_millis(7);
        assert_eq!(rules.adjust(&Error::Inner(()), Some(d)), Some(d));
    }
}
