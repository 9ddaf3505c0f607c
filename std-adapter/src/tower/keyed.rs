//! [`KeyedBreakerLayer`]: one breaker per key taken from the request
//! (features `tower` and `keyed`).
//!
//! The layer holds a [`KeyedBreakers`]; each request's key (by default the
//! URI's authority, [`by_authority`]) picks the breaker, built from the
//! template on first use. A failing host is cut off while the others go on.
//!
//! Unlike [`CircuitBreakerLayer`](super::CircuitBreakerLayer), the breaker
//! is known only once the request is: `poll_ready` readies the inner
//! service, and `call` asks the key's breaker. A rejected call never
//! reaches the inner service (it returns [`Error::Rejected`] at once) and
//! leaves the readiness it got unused, as tower allows.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use fusebox_core::{Config, State};
//! use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
//! use fusebox_std::tower::{by_authority, KeyedBreakerLayer};
//! use fusebox_std::{BreakerSpec, Error, WindowSpec};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//!
//! let spec = BreakerSpec {
//!     config: Config::builder().consecutive_failures(1).build().unwrap(),
//!     window: WindowSpec::None,
//! };
//! let hosts = KeyedBreakers::new("upstream", spec, KeyedConfig::default()).unwrap();
//! let mut svc = KeyedBreakerLayer::new(hosts.clone(), by_authority).layer(service_fn(
//!     |req: http::Request<()>| async move {
//!         let status = if req.uri().host() == Some("down.example") { 503 } else { 200 };
//!         Ok::<_, std::io::Error>(http::Response::builder().status(status).body(()).unwrap())
//!     },
//! ));
//! let req = |host: &str| http::Request::get(format!("http://{host}/")).body(()).unwrap();
//! let _ = svc.ready().await.unwrap().call(req("down.example")).await;
//! let err = svc.ready().await.unwrap().call(req("down.example")).await.unwrap_err();
//! assert!(matches!(err, Error::Rejected { state: State::Open, .. }));
//! let ok = svc.ready().await.unwrap().call(req("up.example")).await.unwrap();
//! assert_eq!(ok.status(), 200);
//! assert_eq!(hosts.get(&"down.example".to_string()).state(), State::Open);
//! # }
//! ```

use super::classify::HttpClassifier;
use super::future::ResponseFuture;
use crate::breaker::CircuitBreaker;
use crate::classify::Classifier;
use crate::keyed::KeyedBreakers;
use crate::std_breaker::StdBreaker;
use crate::Error;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

/// The key of an HTTP request: its URI's authority (`host[:port]`, in
/// lower case), or else its `Host` header (a server sees relative URIs),
/// or else the empty string.
///
/// ```
/// use fusebox_std::tower::by_authority;
/// let r = http::Request::get("http://API.example:8443/v1").body(()).unwrap();
/// assert_eq!(by_authority(&r), "api.example:8443");
/// let r = http::Request::get("/v1").header("host", "svc.internal").body(()).unwrap();
/// assert_eq!(by_authority(&r), "svc.internal");
/// ```
pub fn by_authority<B>(req: &http::Request<B>) -> String {
    let authority = req.uri().authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    authority.unwrap_or_default().to_ascii_lowercase()
}

/// Wraps services in a [`KeyedBreakerService`]: one breaker per key of
/// the request.
pub struct KeyedBreakerLayer<K, F, C = HttpClassifier> {
    breakers: KeyedBreakers<K>,
    key: F,
    classifier: C,
}

impl<K, F> KeyedBreakerLayer<K, F, HttpClassifier> {
    /// A layer that picks each request's breaker in `breakers` by
    /// `key(&request)` and classifies HTTP responses with
    /// [`HttpClassifier`].
    pub fn new(breakers: KeyedBreakers<K>, key: F) -> Self {
        KeyedBreakerLayer {
            breakers,
            key,
            classifier: HttpClassifier::new(),
        }
    }
}

impl<K, F, C> KeyedBreakerLayer<K, F, C> {
    /// The same layer with another classifier.
    pub fn with_classifier<C2>(self, classifier: C2) -> KeyedBreakerLayer<K, F, C2> {
        KeyedBreakerLayer {
            breakers: self.breakers,
            key: self.key,
            classifier,
        }
    }

    /// The breakers.
    pub fn breakers(&self) -> &KeyedBreakers<K> {
        &self.breakers
    }
}

impl<K, F: Clone, C: Clone> Clone for KeyedBreakerLayer<K, F, C> {
    fn clone(&self) -> Self {
        KeyedBreakerLayer {
            breakers: self.breakers.clone(),
            key: self.key.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<K, F, C: fmt::Debug> fmt::Debug for KeyedBreakerLayer<K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakerLayer")
            .field("breakers", &self.breakers)
            .field("classifier", &self.classifier)
            .finish_non_exhaustive()
    }
}

impl<S, K, F: Clone, C: Clone> Layer<S> for KeyedBreakerLayer<K, F, C> {
    type Service = KeyedBreakerService<S, K, F, C>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedBreakerService {
            inner,
            breakers: self.breakers.clone(),
            key: self.key.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service behind one breaker per key. See the [module docs](self).
pub struct KeyedBreakerService<S, K, F, C> {
    inner: S,
    breakers: KeyedBreakers<K>,
    key: F,
    classifier: C,
}

impl<S, K, F, C> KeyedBreakerService<S, K, F, C> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The breakers.
    pub fn breakers(&self) -> &KeyedBreakers<K> {
        &self.breakers
    }
}

impl<S, K, F, C, Req, Res> Service<Req> for KeyedBreakerService<S, K, F, C>
where
    S: Service<Req, Response = Res>,
    S::Error: 'static,
    K: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static,
    F: Fn(&Req) -> K,
    C: Classifier<Res, S::Error> + Clone,
{
    type Response = Res;
    type Error = Error<S::Error>;
    type Future = ResponseFuture<S::Future, StdBreaker, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let breaker = self.breakers.get(&(self.key)(&req));
        match breaker.try_acquire_owned() {
            Ok(permit) => {
                let timing = breaker
                    .call_durations()
                    .is_some()
                    .then(|| (Instant::now(), Arc::new(breaker)));
                ResponseFuture::called(
                    self.inner.call(req),
                    permit,
                    self.classifier.clone(),
                    timing,
                )
            }
            Err(r) => ResponseFuture::rejected(r),
        }
    }
}

impl<S: Clone, K, F: Clone, C: Clone> Clone for KeyedBreakerService<S, K, F, C> {
    fn clone(&self) -> Self {
        KeyedBreakerService {
            inner: self.inner.clone(),
            breakers: self.breakers.clone(),
            key: self.key.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<S: fmt::Debug, K, F, C> fmt::Debug for KeyedBreakerService<S, K, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakerService")
            .field("inner", &self.inner)
            .field("breakers", &self.breakers)
            .finish_non_exhaustive()
    }
}
