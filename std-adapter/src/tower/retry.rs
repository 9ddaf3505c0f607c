//! [`RetryPolicy`]: a `tower::retry` policy that respects the breaker
//! (feature `retry`).
//!
//! Put the retry **outside** the breaker layer, so that every attempt asks
//! the breaker for a permit and is counted by it:
//!
//! ```text
//! Retry(RetryPolicy) → CircuitBreakerLayer → Timeout → client
//! ```
//!
//! The other order hides the retries from the breaker: one permit covers
//! every attempt, the breaker sees one failure where the dependency saw
//! several, and it trips that many times later (the loopback test
//! `retry_outside_the_breaker_spares_the_dependency` measures it).
//!
//! The policy never retries into an open breaker unless the breaker's own
//! `retry_after` (or a response's `Retry-After`) fits the caller's
//! [`patience`](RetryPolicyBuilder::patience): a rejection that would wait
//! longer is returned at once. Other failures are retried after an
//! exponential backoff with jitter (tower's `ExponentialBackoff`), at most
//! [`max_retries`](RetryPolicyBuilder::max_retries) times per request, and
//! only while a retry budget (tower's `TpsBudget`, Finagle's design) allows:
//! retries are capped at a fraction of the requests, so retries cannot
//! multiply the load on a failing dependency.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use fusebox_core::Config;
//! use fusebox_std::tower::{CircuitBreakerLayer, RetryPolicy};
//! use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
//! use tower::{retry::RetryLayer, service_fn, ServiceBuilder, ServiceExt};
//!
//! let config = Config::builder().consecutive_failures(5).build().unwrap();
//! let breaker = Arc::new(StdBreaker::new("llm", BreakerSpec { config, window: WindowSpec::None }).unwrap());
//! let policy = RetryPolicy::builder()
//!     .max_retries(2)
//!     .budget(0.2, 10)
//!     .backoff(Duration::from_millis(1), Duration::from_millis(10))
//!     .build()
//!     .unwrap();
//! let svc = ServiceBuilder::new()
//!     .layer(RetryLayer::new(policy))
//!     .layer(CircuitBreakerLayer::new(breaker))
//!     .service(service_fn(|_: u32| async {
//!         Ok::<_, std::io::Error>(http::Response::builder().status(200).body(()).unwrap())
//!     }));
//! let res = svc.oneshot(7).await.unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```
//!
//! ## An LLM gateway
//!
//! The whole stack, outermost first: retry with a budget, a fallback
//! answer, the breaker with the provider-aware classifier, a per-attempt
//! timeout, the client:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::{sync::Arc, time::Duration};
//! use fusebox_std::config::{FileConfig, Format};
//! use fusebox_std::tower::{CircuitBreakerLayer, FallbackLayer, HttpClassifier, RateLimited, RetryPolicy};
//! use fusebox_std::Registry;
//! use tower::{retry::RetryLayer, timeout::TimeoutLayer, ServiceBuilder, ServiceExt};
//! # let provider = tower::service_fn(|_: &'static str| async {
//! #     Ok::<_, tower::BoxError>(http::Response::builder().status(200).body("hi").unwrap())
//! # });
//!
//! let file = FileConfig::parse(Format::Toml, "llm.toml", "[breakers.openai]\npreset = \"http_api\"", std::env::vars()).unwrap();
//! let openai = Arc::new(Registry::from_config(&file).unwrap().get("openai").unwrap());
//! let llm = ServiceBuilder::new()
//!     .layer(RetryLayer::new(RetryPolicy::builder().max_retries(2).budget(0.1, 5).build().unwrap()))
//!     .layer(FallbackLayer::with(|_| Some(http::Response::new("busy, try again soon"))).counted(&openai))
//!     .layer(CircuitBreakerLayer::new(Arc::clone(&openai))
//!         .with_classifier(HttpClassifier::new().on_too_many_requests(RateLimited::Pause)))
//!     .layer(TimeoutLayer::new(Duration::from_secs(30)))
//!     .service(provider);
//! assert_eq!(llm.oneshot("hello").await.unwrap().status(), 200);
//! # }
//! ```

use super::classify::HttpClassifier;
use crate::classify::Classifier;
use crate::Error;
use fusebox_core::Outcome;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Sleep;
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::Policy;
use tower::util::rng::HasherRng;

/// A retry policy for `tower::retry::Retry` over a
/// [`CircuitBreakerService`](super::CircuitBreakerService). See the
/// [module docs](self).
pub struct RetryPolicy<K = HttpClassifier> {
    classifier: K,
    budget: Arc<TpsBudget>,
    backoff: ExponentialBackoff,
    max_retries: u32,
    patience: Duration,
    /// Retries made for this request (the policy is cloned per request).
    retries: u32,
}

impl RetryPolicy {
    /// A builder with the defaults: 2 retries, a budget of 20 % of requests
    /// plus 10 retries a second over 10 s, backoff from 50 ms to 2 s with
    /// full jitter, no patience for an open breaker, HTTP classification.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            classifier: HttpClassifier::new(),
            max_retries: 2,
            retry_ratio: 0.2,
            min_per_sec: 10,
            budget_window: Duration::from_secs(10),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            patience: Duration::ZERO,
        }
    }
}

/// Builds a [`RetryPolicy`]; every setting is checked by [`build`](Self::build).
#[derive(Clone, Debug)]
pub struct RetryPolicyBuilder<K = HttpClassifier> {
    classifier: K,
    max_retries: u32,
    retry_ratio: f32,
    min_per_sec: u32,
    budget_window: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    patience: Duration,
}

/// A [`RetryPolicyBuilder`] setting out of range: the setting and the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRetryPolicy {
    /// The setting at fault.
    pub field: &'static str,
    /// What it allows.
    pub allowed: &'static str,
}

impl fmt::Display for InvalidRetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "retry policy: `{}` must be {}", self.field, self.allowed)
    }
}

impl std::error::Error for InvalidRetryPolicy {}

impl<K> RetryPolicyBuilder<K> {
    /// Which responses are failures worth retrying, and which name a pause
    /// (default [`HttpClassifier`]); an `Err` from the inner service is
    /// always a failure.
    pub fn classifier<K2>(self, classifier: K2) -> RetryPolicyBuilder<K2> {
        RetryPolicyBuilder {
            classifier,
            max_retries: self.max_retries,
            retry_ratio: self.retry_ratio,
            min_per_sec: self.min_per_sec,
            budget_window: self.budget_window,
            backoff_min: self.backoff_min,
            backoff_max: self.backoff_max,
            patience: self.patience,
        }
    }

    /// Retries per request, at most (0 ..= 100).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The retry budget: retries may be `ratio` of the requests (0.0 ..=
    /// 10.0), plus `min_per_sec` a second (0 ..= 100 000), over the budget
    /// window (default 10 s).
    pub fn budget(mut self, ratio: f32, min_per_sec: u32) -> Self {
        self.retry_ratio = ratio;
        self.min_per_sec = min_per_sec;
        self
    }

    /// How long deposits count in the budget (1 s ..= 60 s).
    pub fn budget_window(mut self, window: Duration) -> Self {
        self.budget_window = window;
        self
    }

    /// Backoff between retries of a failure: exponential from `min` to
    /// `max`, with full jitter (`0 < max`, `min <= max`).
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// The longest the caller will wait for an open breaker (its
    /// `retry_after`) or for a pause a response asked for; longer ones are
    /// returned at once (default 0: never wait on an open breaker).
    pub fn patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// The policy, or the first setting out of range.
    pub fn build(self) -> Result<RetryPolicy<K>, InvalidRetryPolicy> {
        let bad = |field, allowed| Err(InvalidRetryPolicy { field, allowed });
        if self.max_retries > 100 {
            return bad("max_retries", "at most 100");
        }
        if !(0.0..=10.0).contains(&self.retry_ratio) {
            return bad("budget ratio", "between 0.0 and 10.0");
        }
        if self.min_per_sec > 100_000 {
            return bad("budget min_per_sec", "at most 100 000");
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&self.budget_window) {
            return bad("budget_window", "between 1 s and 60 s");
        }
        if self.backoff_max.is_zero() || self.backoff_min > self.backoff_max {
            return bad("backoff", "0 < max and min <= max");
        }
        // The checks above are `TpsBudget::new`'s and
        // `ExponentialBackoffMaker::new`'s own, so neither can panic or fail.
        let budget = TpsBudget::new(self.budget_window, self.min_per_sec, self.retry_ratio);
        let backoff = match ExponentialBackoffMaker::new(
            self.backoff_min,
            self.backoff_max,
            1.0,
            HasherRng::default(),
        ) {
            Ok(mut maker) => maker.make_backoff(),
            Err(_) => return bad("backoff", "0 < max and min <= max"),
        };
        Ok(RetryPolicy {
            classifier: self.classifier,
            budget: Arc::new(budget),
            backoff,
            max_retries: self.max_retries,
            patience: self.patience,
            retries: 0,
        })
    }
}

impl<K: Clone> Clone for RetryPolicy<K> {
    fn clone(&self) -> Self {
        RetryPolicy {
            classifier: self.classifier.clone(),
            budget: Arc::clone(&self.budget),
            backoff: self.backoff.clone(),
            max_retries: self.max_retries,
            patience: self.patience,
            retries: self.retries,
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for RetryPolicy<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("classifier", &self.classifier)
            .field("max_retries", &self.max_retries)
            .field("patience", &self.patience)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// What to do after an attempt.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Done,
    /// Retry after the backoff.
    Backoff,
    /// Retry after this pause (the breaker's or the dependency's).
    Wait(Duration),
}

impl<K> RetryPolicy<K> {
    /// Judges `result`, handing it back unchanged.
    fn next<Res, E>(&self, result: &mut Result<Res, Error<E>>) -> Next
    where
        K: Classifier<Res, E>,
    {
        let pause = |d: Duration| {
            if d <= self.patience {
                Next::Wait(d)
            } else {
                Next::Done
            }
        };
        // The classifier judges the inner service's own `Result`: take it
        // out for that (a timeout stands in meanwhile) and put it back.
        let inner: Result<Res, E> = match std::mem::replace(result, Err(Error::Timeout)) {
            Ok(res) => Ok(res),
            Err(Error::Inner(e)) => Err(e),
            Err(other) => {
                let next = match &other {
                    // Half-open or forced open: no time to wait for.
                    Error::Rejected { retry_after, .. } => retry_after.map_or(Next::Done, pause),
                    _ => Next::Backoff,
                };
                *result = Err(other);
                return next;
            }
        };
        let next = match self.classifier.retry_hint(&inner) {
            Some(d) => pause(d),
            None if self.classifier.classify(&inner) == Outcome::Failure => Next::Backoff,
            None => Next::Done,
        };
        *result = inner.map_err(Error::Inner);
        next
    }
}

impl<K, Req, Res, E> Policy<Req, Res, Error<E>> for RetryPolicy<K>
where
    K: Classifier<Res, E>,
    Req: Clone,
{
    type Future = Pin<Box<Sleep>>;

    fn retry(
        &mut self,
        _req: &mut Req,
        result: &mut Result<Res, Error<E>>,
    ) -> Option<Self::Future> {
        if self.retries == 0 {
            // One deposit per request, made when its first attempt ends.
            self.budget.deposit();
        }
        let next = self.next(result);
        if next == Next::Done || self.retries >= self.max_retries || !self.budget.withdraw() {
            return None;
        }
        self.retries += 1;
        Some(Box::pin(match next {
            Next::Wait(d) => tokio::time::sleep(d),
            _ => self.backoff.next_backoff(),
        }))
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}
