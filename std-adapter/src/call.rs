//! [`CallExt`]: run a closure or a future through a breaker.
//!
//! Each call asks for a permit, runs, lets a [`Classifier`] judge the result
//! and records the outcome. A panic in the protected code is recorded as a
//! failure and resumed; a panic in the classifier, or a future dropped before
//! it finishes, abandons the permit (see [`fusebox_core::Abandon`]), which
//! gives a half-open probe slot back.

use crate::breaker::{CircuitBreaker, RecordPermit};
use crate::classify::{Classifier, DefaultClassifier};
use crate::error::Error;
use fusebox_core::{Outcome, Verdict};
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

#[cfg(feature = "tokio")]
type Deadline = tokio::time::Sleep;
#[cfg(not(feature = "tokio"))]
type Deadline = std::future::Pending<()>;

/// Calls through a breaker. Implemented for every [`CircuitBreaker`]: any
/// [`fusebox_core::Breaker`] and [`StdBreaker`](crate::StdBreaker).
///
/// ```
/// use fusebox_core::{Breaker, Config, State};
/// use fusebox_std::{CallExt, Error, StdClock};
///
/// let db: Breaker<StdClock> =
///     Breaker::new(StdClock, Config::builder().consecutive_failures(2).build().unwrap());
/// assert_eq!(db.call(|| Ok::<_, &str>(42)).unwrap(), 42);
/// let _ = db.call(|| Err::<u32, _>("timeout"));
/// let _ = db.call(|| Err::<u32, _>("timeout"));
/// assert_eq!(db.state(), State::Open);
/// let cached = db.call_with_fallback(|| Ok::<_, &str>(1), |_e: Error<&str>| 0);
/// assert_eq!(cached, 0);
/// ```
pub trait CallExt: CircuitBreaker {
    /// Runs `f` if the breaker permits; `Ok` is a success, `Err` a failure.
    #[inline]
    fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, Error<E>> {
        self.call_classified(&DefaultClassifier, f)
    }

    /// Runs `f` if the breaker permits, and lets `classifier` judge the result.
    ///
    /// Inlined: out of line, its `Result` comes back through memory and
    /// the call costs about twice the permit API it wraps (criterion group
    /// `call_api`).
    #[inline]
    fn call_classified<T, E, K: Classifier<T, E>>(
        &self,
        classifier: &K,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, Error<E>> {
        // Ended by reference where it lies, never moved (see `finish`).
        let mut permit = self.acquire()?;
        let timing = self.call_durations().map(|_| (self, Instant::now()));
        let result = match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(panic) => {
                finish_panicked(&mut permit, timing);
                resume_unwind(panic)
            }
        };
        // A panicking classifier unwinds past `permit`, which abandons it.
        let verdict = Verdict::of(classifier, &result);
        finish(&mut permit, verdict, timing);
        result.map_err(Error::Inner)
    }

    /// Like [`call`](Self::call), turning every error (rejection included)
    /// into a value with `fallback`.
    fn call_with_fallback<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(Error<E>) -> T,
    ) -> T {
        self.call(f).unwrap_or_else(fallback)
    }

    /// Runs the future `f()` if the breaker permits. Runtime-agnostic: the
    /// permit is asked for at the first poll, and a future dropped before it
    /// completes abandons its permit.
    fn call_async<F, Fut, T, E>(&self, f: F) -> CallFuture<'_, Self, F, Fut, DefaultClassifier>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_async_classified(DefaultClassifier, f)
    }

    /// [`call_async`](Self::call_async) with a classifier.
    fn call_async_classified<F, Fut, T, E, K>(
        &self,
        classifier: K,
        f: F,
    ) -> CallFuture<'_, Self, F, Fut, K>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classifier<T, E>,
    {
        CallFuture {
            breaker: self,
            make: Some(f),
            classifier,
            permit: None,
            started: None,
            timeout: None,
            fut: None,
            deadline: None,
        }
    }

    /// [`call_async`](Self::call_async), turning every error into a value
    /// with `fallback`.
    fn call_async_with_fallback<F, Fut, T, E, G>(
        &self,
        f: F,
        fallback: G,
    ) -> WithFallback<CallFuture<'_, Self, F, Fut, DefaultClassifier>, G>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        G: FnOnce(Error<E>) -> T,
    {
        WithFallback {
            inner: self.call_async(f),
            fallback: Some(fallback),
        }
    }

    /// [`call_async`](Self::call_async) with a time limit (on tokio's timer):
    /// a call still running after `timeout` is dropped, recorded as a
    /// failure, and returns [`Error::Timeout`]. The timer starts with the
    /// call, at the first poll, which must happen inside a tokio runtime
    /// with its time driver enabled (tokio panics otherwise).
    #[cfg(feature = "tokio")]
    fn call_async_timeout<F, Fut, T, E>(
        &self,
        timeout: Duration,
        f: F,
    ) -> CallFuture<'_, Self, F, Fut, DefaultClassifier>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut call = self.call_async(f);
        call.timeout = Some(timeout);
        call
    }
}

impl<B: CircuitBreaker + ?Sized> CallExt for B {}

/// Records a call whose protected code panicked as a failure.
#[cold]
#[inline(never)]
fn finish_panicked<B: CircuitBreaker + ?Sized, P: RecordPermit>(
    permit: &mut P,
    timing: Option<(&B, Instant)>,
) {
    finish(permit, Verdict::Record(Outcome::Failure), timing);
}

/// Ends `permit` with `verdict`; `timing` is the breaker and the call's
/// start when the breaker wants call durations. The one place a call is
/// timed and its verdict applied, for the call wrappers and the tower
/// services alike.
///
/// Always inlined, and the permit taken by reference: an untimed call on a
/// core breaker must reach the core's inlined record path with the permit
/// still in registers, and where the record is out of line (a
/// `StdBreaker`'s observer), it must get the address of the permit where it
/// lies. Moving the permit into an out-of-line call copies it with wide
/// loads right after its narrow stores: a store-forwarding stall that cost
/// more than the record itself.
#[inline(always)]
pub(crate) fn finish<B: CircuitBreaker + ?Sized, P: RecordPermit>(
    permit: &mut P,
    verdict: Verdict,
    timing: Option<(&B, Instant)>,
) {
    match timing {
        None => {
            let _ = permit.conclude_in_place(verdict, None);
        }
        Some((breaker, t0)) => finish_timed(breaker, permit, verdict, t0),
    }
}

/// [`finish`] for a timed call: two clock reads and a histogram update
/// dwarf a call, so this stays out of line.
#[inline(never)]
fn finish_timed<B: CircuitBreaker + ?Sized, P: RecordPermit>(
    breaker: &B,
    permit: &mut P,
    verdict: Verdict,
    t0: Instant,
) {
    let took = breaker.call_durations().map(|durations| {
        let took = t0.elapsed();
        durations.observe(took);
        took
    });
    let _ = permit.conclude_in_place(verdict, took);
}

pin_project! {
    /// The future of [`CallExt::call_async`].
    #[must_use = "futures do nothing unless polled"]
    pub struct CallFuture<'a, B, F, Fut, K>
    where
        B: CircuitBreaker,
        B: ?Sized,
    {
        breaker: &'a B,
        make: Option<F>,
        classifier: K,
        permit: Option<B::Permit<'a>>,
        started: Option<Instant>,
        timeout: Option<Duration>,
        #[pin]
        fut: Option<Fut>,
        #[pin]
        deadline: Option<Deadline>,
    }
}

impl<'a, B, F, Fut, T, E, K> Future for CallFuture<'a, B, F, Fut, K>
where
    B: CircuitBreaker + ?Sized,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    K: Classifier<T, E>,
{
    type Output = Result<T, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let breaker: &'a B = this.breaker;
        if this.fut.is_none() {
            let make = this
                .make
                .take()
                .expect("CallFuture polled after completion");
            let mut permit = match breaker.acquire() {
                Ok(p) => p,
                Err(r) => return Poll::Ready(Err(r.into())),
            };
            *this.started = breaker.call_durations().map(|_| Instant::now());
            match catch_unwind(AssertUnwindSafe(make)) {
                Ok(fut) => this.fut.set(Some(fut)),
                Err(panic) => {
                    finish_panicked(&mut permit, this.started.map(|t0| (breaker, t0)));
                    resume_unwind(panic)
                }
            }
            *this.permit = Some(permit);
            #[cfg(feature = "tokio")]
            if let Some(t) = *this.timeout {
                this.deadline.set(Some(tokio::time::sleep(t)));
            }
        }
        let fut = this
            .fut
            .as_mut()
            .as_pin_mut()
            .expect("CallFuture polled after completion");
        let polled = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
        let permit = this.permit.take();
        match polled {
            Err(panic) => {
                this.fut.set(None);
                if let Some(mut p) = permit {
                    finish_panicked(&mut p, this.started.map(|t0| (breaker, t0)));
                }
                resume_unwind(panic)
            }
            Ok(Poll::Ready(result)) => {
                this.fut.set(None);
                this.deadline.set(None);
                let verdict = Verdict::of(this.classifier, &result);
                if let Some(mut p) = permit {
                    finish(&mut p, verdict, this.started.map(|t0| (breaker, t0)));
                }
                Poll::Ready(result.map_err(Error::Inner))
            }
            Ok(Poll::Pending) => {
                *this.permit = permit;
                let expired = match this.deadline.as_mut().as_pin_mut() {
                    Some(d) => d.poll(cx).is_ready(),
                    None => false,
                };
                if expired {
                    this.fut.set(None);
                    this.deadline.set(None);
                    if let Some(mut p) = this.permit.take() {
                        let failure = Verdict::Record(Outcome::Failure);
                        finish(&mut p, failure, this.started.map(|t0| (breaker, t0)));
                    }
                    return Poll::Ready(Err(Error::Timeout));
                }
                Poll::Pending
            }
        }
    }
}

pin_project! {
    /// The future of [`CallExt::call_async_with_fallback`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithFallback<Fut, G> {
        #[pin]
        inner: Fut,
        fallback: Option<G>,
    }
}

impl<Fut, G, T, E> Future for WithFallback<Fut, G>
where
    Fut: Future<Output = Result<T, Error<E>>>,
    G: FnOnce(Error<E>) -> T,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => {
                let fallback = this
                    .fallback
                    .take()
                    .expect("WithFallback polled after completion");
                Poll::Ready(fallback(e))
            }
        }
    }
}
