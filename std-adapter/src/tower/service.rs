//! [`CircuitBreakerService`].

use super::future::ResponseFuture;
use crate::breaker::CircuitBreaker;
use crate::classify::Classifier;
use crate::Error;
use fusebox_core::Rejected;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tower_service::Service;

/// What `poll_ready` left for `call`.
enum Readiness<P> {
    /// `poll_ready` has not asked yet (or `call` took the answer).
    Unasked,
    /// Permitted: the permit waits for `call`.
    Permitted(P),
    /// Rejected: `call` returns this without touching the inner service.
    Rejected(Rejected),
}

/// A service behind a circuit breaker. See the [module docs](super).
pub struct CircuitBreakerService<S, B: CircuitBreaker, K> {
    inner: S,
    breaker: Arc<B>,
    classifier: K,
    readiness: Readiness<B::OwnedPermit>,
}

impl<S, B: CircuitBreaker, K> CircuitBreakerService<S, B, K> {
    /// `inner` behind `breaker`, judged by `classifier`.
    pub fn new(inner: S, breaker: Arc<B>, classifier: K) -> Self {
        CircuitBreakerService {
            inner,
            breaker,
            classifier,
            readiness: Readiness::Unasked,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<B> {
        &self.breaker
    }
}

impl<S, B, K, Req, Res> Service<Req> for CircuitBreakerService<S, B, K>
where
    S: Service<Req, Response = Res>,
    S::Error: 'static,
    B: CircuitBreaker,
    K: Classifier<Res, S::Error> + Clone,
{
    type Response = Res;
    type Error = Error<S::Error>;
    type Future = ResponseFuture<S::Future, B, K>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if let Readiness::Unasked = self.readiness {
            self.readiness = match B::acquire_owned(&self.breaker) {
                Ok(p) => Readiness::Permitted(p),
                Err(r) => Readiness::Rejected(r),
            };
        }
        match self.readiness {
            // Ready: `call` answers with the rejection; the inner service is
            // not polled, so it is never called without being ready.
            Readiness::Rejected(_) => Poll::Ready(Ok(())),
            _ => match self.inner.poll_ready(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => {
                    // The service is failed; its permit is abandoned.
                    self.readiness = Readiness::Unasked;
                    Poll::Ready(Err(Error::Inner(e)))
                }
            },
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match std::mem::replace(&mut self.readiness, Readiness::Unasked) {
            Readiness::Permitted(permit) => {
                let started = self.breaker.call_durations().map(|_| Instant::now());
                ResponseFuture::called(
                    self.inner.call(req),
                    permit,
                    self.classifier.clone(),
                    started.map(|t| (t, Arc::clone(&self.breaker))),
                )
            }
            Readiness::Rejected(r) => ResponseFuture::rejected(r),
            Readiness::Unasked => {
                panic!("CircuitBreakerService::call without a successful poll_ready")
            }
        }
    }
}

impl<S: Clone, B: CircuitBreaker, K: Clone> Clone for CircuitBreakerService<S, B, K> {
    /// A clone asks for its own permit: permits are never shared.
    fn clone(&self) -> Self {
        CircuitBreakerService::new(
            self.inner.clone(),
            Arc::clone(&self.breaker),
            self.classifier.clone(),
        )
    }
}

impl<S: fmt::Debug, B: CircuitBreaker, K> fmt::Debug for CircuitBreakerService<S, B, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let readiness = match self.readiness {
            Readiness::Unasked => "unasked",
            Readiness::Permitted(_) => "permitted",
            Readiness::Rejected(_) => "rejected",
        };
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("readiness", &readiness)
            .finish_non_exhaustive()
    }
}
