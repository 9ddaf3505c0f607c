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

/// What `poll_ready` left for `call` (shared with the gRPC service).
pub(crate) enum Readiness<P> {
    /// `poll_ready` has not asked yet (or `call` took the answer).
    Unasked,
    /// Permitted: the permit waits for `call`.
    Permitted(P),
    /// Rejected: `call` returns this without touching the inner service.
    Rejected(Rejected),
}

impl<P> Readiness<P> {
    /// DESIGN.md §13: asks `breaker` once per `call`, then polls `inner`
    /// only if permitted. A rejection is ready at once: `call` answers it
    /// without the inner service, which is never called unpolled. An inner
    /// error abandons the permit.
    pub(crate) fn poll_ready<B, S, Req>(
        &mut self,
        breaker: &Arc<B>,
        inner: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), S::Error>>
    where
        B: CircuitBreaker<OwnedPermit = P>,
        S: Service<Req>,
    {
        if let Readiness::Unasked = self {
            *self = match B::acquire_owned(breaker) {
                Ok(p) => Readiness::Permitted(p),
                Err(r) => Readiness::Rejected(r),
            };
        }
        match self {
            Readiness::Rejected(_) => Poll::Ready(Ok(())),
            _ => match inner.poll_ready(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => {
                    // The service is failed; its permit is abandoned.
                    *self = Readiness::Unasked;
                    Poll::Ready(Err(e))
                }
            },
        }
    }

    /// The answer for `call`, leaving `Unasked`.
    pub(crate) fn take(&mut self) -> Readiness<P> {
        std::mem::replace(self, Readiness::Unasked)
    }

    /// For `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Readiness::Unasked => "unasked",
            Readiness::Permitted(_) => "permitted",
            Readiness::Rejected(_) => "rejected",
        }
    }
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
        self.readiness
            .poll_ready(&self.breaker, &mut self.inner, cx)
            .map_err(Error::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.readiness.take() {
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
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("readiness", &self.readiness.name())
            .finish_non_exhaustive()
    }
}
