//! [`CircuitBreakerLayer`].

use super::classify::HttpClassifier;
use super::service::CircuitBreakerService;
use crate::breaker::CircuitBreaker;
use std::fmt;
use std::sync::Arc;
use tower_layer::Layer;

/// Wraps services in a [`CircuitBreakerService`] that shares one breaker.
pub struct CircuitBreakerLayer<B, K = HttpClassifier> {
    breaker: Arc<B>,
    classifier: K,
}

impl<B> CircuitBreakerLayer<B, HttpClassifier> {
    /// A layer over `breaker` that classifies HTTP responses with
    /// [`HttpClassifier`].
    pub fn new(breaker: Arc<B>) -> Self {
        CircuitBreakerLayer {
            breaker,
            classifier: HttpClassifier::new(),
        }
    }
}

impl<B, K> CircuitBreakerLayer<B, K> {
    /// The same layer with another classifier (any
    /// [`Classifier`](crate::Classifier) of the inner service's results).
    pub fn with_classifier<K2>(self, classifier: K2) -> CircuitBreakerLayer<B, K2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }
}

impl<B, K: Clone> Clone for CircuitBreakerLayer<B, K> {
    fn clone(&self) -> Self {
        CircuitBreakerLayer {
            breaker: Arc::clone(&self.breaker),
            classifier: self.classifier.clone(),
        }
    }
}

impl<B, K: fmt::Debug> fmt::Debug for CircuitBreakerLayer<B, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl<S, B: CircuitBreaker, K: Clone> Layer<S> for CircuitBreakerLayer<B, K> {
    type Service = CircuitBreakerService<S, B, K>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService::new(inner, Arc::clone(&self.breaker), self.classifier.clone())
    }
}
