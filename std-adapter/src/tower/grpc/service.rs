//! [`GrpcBreakerLayer`] and [`GrpcBreakerService`].

use super::body::Pending;
use super::classify::GrpcClassifier;
use super::future::GrpcResponseFuture;
use crate::breaker::CircuitBreaker;
use crate::tower::service::Readiness;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

/// Wraps gRPC client services (a `tonic::transport::Channel`, or any
/// `Service<http::Request<_>>`) in a [`GrpcBreakerService`] that shares one
/// breaker. See the [module docs](super).
pub struct GrpcBreakerLayer<B> {
    breaker: Arc<B>,
    classifier: GrpcClassifier,
}

impl<B> GrpcBreakerLayer<B> {
    /// A layer over `breaker` that judges statuses with
    /// [`GrpcClassifier::new`].
    pub fn new(breaker: Arc<B>) -> Self {
        GrpcBreakerLayer {
            breaker,
            classifier: GrpcClassifier::new(),
        }
    }

    /// The same layer with another classifier.
    pub fn with_classifier(self, classifier: GrpcClassifier) -> Self {
        GrpcBreakerLayer { classifier, ..self }
    }
}

impl<B> Clone for GrpcBreakerLayer<B> {
    fn clone(&self) -> Self {
        GrpcBreakerLayer {
            breaker: Arc::clone(&self.breaker),
            classifier: self.classifier,
        }
    }
}

impl<B> fmt::Debug for GrpcBreakerLayer<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcBreakerLayer")
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl<S, B: CircuitBreaker> Layer<S> for GrpcBreakerLayer<B> {
    type Service = GrpcBreakerService<S, B>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcBreakerService::new(inner, Arc::clone(&self.breaker), self.classifier)
    }
}

/// A gRPC client service behind a circuit breaker. See the
/// [module docs](super).
pub struct GrpcBreakerService<S, B: CircuitBreaker> {
    inner: S,
    breaker: Arc<B>,
    classifier: GrpcClassifier,
    readiness: Readiness<B::OwnedPermit>,
}

impl<S, B: CircuitBreaker> GrpcBreakerService<S, B> {
    /// `inner` behind `breaker`, judged by `classifier`.
    pub fn new(inner: S, breaker: Arc<B>, classifier: GrpcClassifier) -> Self {
        GrpcBreakerService {
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

impl<S, B, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcBreakerService<S, B>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    B: CircuitBreaker,
{
    type Response = http::Response<super::GrpcBody<ResBody, B>>;
    // The inner error, unchanged: a rejection is a response (see the module
    // docs), so tonic maps transport errors exactly as it would without
    // the layer.
    type Error = S::Error;
    type Future = GrpcResponseFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.readiness
            .poll_ready(&self.breaker, &mut self.inner, cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        match self.readiness.take() {
            Readiness::Permitted(permit) => {
                let started = self.breaker.call_durations().map(|_| Instant::now());
                let pending = Pending {
                    permit,
                    classifier: self.classifier,
                    timing: started.map(|t| (t, Arc::clone(&self.breaker))),
                };
                GrpcResponseFuture::called(self.inner.call(req), pending)
            }
            Readiness::Rejected(r) => GrpcResponseFuture::rejected(r),
            Readiness::Unasked => {
                panic!("GrpcBreakerService::call without a successful poll_ready")
            }
        }
    }
}

impl<S: Clone, B: CircuitBreaker> Clone for GrpcBreakerService<S, B> {
    /// A clone asks for its own permit: permits are never shared.
    fn clone(&self) -> Self {
        GrpcBreakerService::new(
            self.inner.clone(),
            Arc::clone(&self.breaker),
            self.classifier,
        )
    }
}

impl<S: fmt::Debug, B: CircuitBreaker> fmt::Debug for GrpcBreakerService<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcBreakerService")
            .field("inner", &self.inner)
            .field("readiness", &self.readiness.name())
            .finish_non_exhaustive()
    }
}
