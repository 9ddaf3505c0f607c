//! [`ResponseFuture`].

use crate::breaker::CircuitBreaker;
use crate::call;
use crate::classify::Classifier;
use crate::Error;
use ::tower::timeout::error::Elapsed;
use fusebox_core::{Outcome, Rejected, Verdict};
use pin_project_lite::pin_project;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// tower's boxed error type.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// The response of a [`CircuitBreakerService`](super::CircuitBreakerService):
    /// the inner future, recording its outcome when it completes, or a
    /// rejection. Dropped before it completes, it abandons its permit.
    pub struct ResponseFuture<F, B: CircuitBreaker, K> {
        #[pin]
        fut: Option<F>,
        permit: Option<B::OwnedPermit>,
        classifier: Option<K>,
        timing: Option<(Instant, Arc<B>)>,
        rejected: Option<Rejected>,
    }
}

impl<F, B: CircuitBreaker, K> ResponseFuture<F, B, K> {
    pub(crate) fn called(
        fut: F,
        permit: B::OwnedPermit,
        classifier: K,
        timing: Option<(Instant, Arc<B>)>,
    ) -> Self {
        ResponseFuture {
            fut: Some(fut),
            permit: Some(permit),
            classifier: Some(classifier),
            timing,
            rejected: None,
        }
    }

    pub(crate) fn rejected(r: Rejected) -> Self {
        ResponseFuture {
            fut: None,
            permit: None,
            classifier: None,
            timing: None,
            rejected: Some(r),
        }
    }
}

/// The inner service's error, or [`Error::Timeout`] when it is
/// `tower::timeout`'s `Elapsed` (bare, or boxed as tower's `BoxError`).
fn inner_error<E: 'static>(e: E) -> Error<E> {
    let any: &dyn Any = &e;
    let elapsed = any.is::<Elapsed>()
        || any
            .downcast_ref::<BoxError>()
            .is_some_and(|b| b.is::<Elapsed>());
    if elapsed {
        Error::Timeout
    } else {
        Error::Inner(e)
    }
}

/// Ends the permit, if any, through the call wrappers' own path
/// ([`call::finish`]).
#[inline]
pub(crate) fn finish<B: CircuitBreaker>(
    permit: Option<B::OwnedPermit>,
    verdict: Verdict,
    timing: &Option<(Instant, Arc<B>)>,
) {
    if let Some(mut permit) = permit {
        call::finish(&mut permit, verdict, timing.as_ref().map(|(t0, b)| (&**b, *t0)));
    }
}

impl<F, B, K, Res, E> Future for ResponseFuture<F, B, K>
where
    F: Future<Output = Result<Res, E>>,
    B: CircuitBreaker,
    K: Classifier<Res, E>,
    E: 'static,
{
    type Output = Result<Res, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(r) = this.rejected.take() {
            return Poll::Ready(Err(r.into()));
        }
        let fut = this
            .fut
            .as_mut()
            .as_pin_mut()
            .expect("ResponseFuture polled after completion");
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                this.fut.set(None);
                // A panicking classifier unwinds past the permit, abandoning it.
                let verdict = match this.classifier.take() {
                    Some(k) => Verdict::of(&k, &result),
                    None => Verdict::Record(Outcome::Ignored),
                };
                finish(this.permit.take(), verdict, this.timing);
                Poll::Ready(result.map_err(inner_error))
            }
            Err(panic) => {
                this.fut.set(None);
                finish(
                    this.permit.take(),
                    Verdict::Record(Outcome::Failure),
                    this.timing,
                );
                resume_unwind(panic)
            }
        }
    }
}
