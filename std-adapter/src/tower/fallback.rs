//! Fallbacks around a [`CircuitBreakerService`](super::CircuitBreakerService):
//! an answer for the caller when the breaker rejects (or, if asked, when the
//! call fails).
//!
//! - [`FallbackLayer::value`]: a static default response.
//! - [`FallbackLayer::cached`] and [`FallbackLayer::cached_if`]: the last
//!   good response, if it is no older than a maximum age (responses must be
//!   `Clone`).
//! - [`FallbackLayer::with`]: a function of the error.
//! - [`FallbackToLayer`]: another service (a second provider, a replica),
//!   called with a clone of the request.
//!
//! Each fallback that answers is counted in
//! `circuit_breaker_fallback_executions_total{name, type}` when the layer
//! was given the [`StdBreaker`] it stands beside, with
//! `type` one of `value`, `cached`, `function`, `service`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use fusebox_core::Config;
//! use fusebox_std::tower::{CircuitBreakerLayer, FallbackLayer};
//! use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! let config = Config::builder().consecutive_failures(1).build().unwrap();
//! let breaker = Arc::new(StdBreaker::new("quotes", BreakerSpec { config, window: WindowSpec::None }).unwrap());
//! breaker.force_open();
//! let svc = ServiceBuilder::new()
//!     .layer(FallbackLayer::value("no quote today").counted(&breaker))
//!     .layer(CircuitBreakerLayer::new(Arc::clone(&breaker)).with_classifier(fusebox_std::DefaultClassifier))
//!     .service(service_fn(|_: ()| async { Ok::<_, std::io::Error>("a quote") }));
//! assert_eq!(svc.oneshot(()).await.unwrap(), "no quote today");
//! assert_eq!(breaker.observer().fallbacks("value"), 1);
//! # }
//! ```

use crate::{Error, StdBreaker};
use ::tower::util::Oneshot;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_layer::Layer;
use tower_service::Service;

/// When a fallback answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FallbackOn {
    /// Only when the breaker rejects the call (the default): the
    /// dependency's own errors reach the caller.
    #[default]
    Rejected,
    /// On any error: a rejection, a timeout or the inner service's error.
    AnyError,
}

impl FallbackOn {
    fn applies<E>(self, e: &Error<E>) -> bool {
        match self {
            FallbackOn::Rejected => e.is_rejected(),
            FallbackOn::AnyError => true,
        }
    }
}

/// Where a fallback's executions are counted.
#[derive(Clone, Default)]
struct Counter(Option<Arc<StdBreaker>>);

impl Counter {
    fn count(&self, kind: &'static str) {
        if let Some(b) = &self.0 {
            b.observer().count_fallback(kind);
        }
    }
}

/// How a [`FallbackLayer`] answers: a value, the last good response, or a
/// function of the error.
trait Strategy<Res, E>: Send + Sync {
    /// The metric's `type` label.
    fn kind(&self) -> &'static str;
    /// Notes a good response (for the cache).
    fn saw(&self, _res: &Res) {}
    /// The answer to `e`, if this strategy has one.
    fn answer(&self, e: &Error<E>) -> Option<Res>;
}

struct Value<Res>(Res);

impl<Res: Clone + Send + Sync, E> Strategy<Res, E> for Value<Res> {
    fn kind(&self) -> &'static str {
        "value"
    }
    fn answer(&self, _: &Error<E>) -> Option<Res> {
        Some(self.0.clone())
    }
}

/// The last good response and when it was seen.
struct Cached<Res> {
    max_age: Duration,
    last: Mutex<Option<(Instant, Res)>>,
    good: Box<dyn Fn(&Res) -> bool + Send + Sync>,
}

impl<Res: Clone + Send + Sync, E> Strategy<Res, E> for Cached<Res> {
    fn kind(&self) -> &'static str {
        "cached"
    }
    fn saw(&self, res: &Res) {
        if (self.good)(res) {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            *last = Some((Instant::now(), res.clone()));
        }
    }
    fn answer(&self, _: &Error<E>) -> Option<Res> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((at, res)) if at.elapsed() <= self.max_age => Some(res.clone()),
            _ => None,
        }
    }
}

struct Function<F>(F);

impl<Res, E, F> Strategy<Res, E> for Function<F>
where
    F: Fn(&Error<E>) -> Option<Res> + Send + Sync,
{
    fn kind(&self) -> &'static str {
        "function"
    }
    fn answer(&self, e: &Error<E>) -> Option<Res> {
        (self.0)(e)
    }
}

/// A layer that answers for a breaker-guarded service with a value, the
/// last good response or a function of the error. See the
/// [module docs](self).
pub struct FallbackLayer<Res, E> {
    strategy: Arc<dyn Strategy<Res, E>>,
    on: FallbackOn,
    counter: Counter,
}

impl<Res: Clone + Send + Sync + 'static, E: 'static> FallbackLayer<Res, E> {
    /// Answers with a clone of `value`.
    pub fn value(value: Res) -> Self {
        Self::of(Arc::new(Value(value)))
    }

    /// Answers with the last response (every `Ok` is one), if it was seen
    /// within `max_age`; otherwise the error stands. See
    /// [`cached_if`](Self::cached_if) when an `Ok` can be a failure (an
    /// HTTP 503).
    pub fn cached(max_age: Duration) -> Self {
        Self::cached_if(max_age, |_| true)
    }

    /// Answers with the last response for which `good` holds, if it was
    /// seen within `max_age`; otherwise the error stands.
    pub fn cached_if(
        max_age: Duration,
        good: impl Fn(&Res) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::of(Arc::new(Cached {
            max_age,
            last: Mutex::new(None),
            good: Box::new(good),
        }))
    }
}

impl<Res: 'static, E: 'static> FallbackLayer<Res, E> {
    /// Answers with `f(error)`; `None` lets the error stand. The answer
    /// need not be `Clone` (an HTTP response).
    pub fn with(f: impl Fn(&Error<E>) -> Option<Res> + Send + Sync + 'static) -> Self {
        Self::of(Arc::new(Function(f)))
    }
}

impl<Res, E> FallbackLayer<Res, E> {
    fn of(strategy: Arc<dyn Strategy<Res, E>>) -> Self {
        FallbackLayer {
            strategy,
            on: FallbackOn::Rejected,
            counter: Counter(None),
        }
    }

    /// When the fallback answers (default [`FallbackOn::Rejected`]).
    pub fn on(mut self, on: FallbackOn) -> Self {
        self.on = on;
        self
    }

    /// Counts executions in `breaker`'s metrics.
    pub fn counted(mut self, breaker: &Arc<StdBreaker>) -> Self {
        self.counter = Counter(Some(Arc::clone(breaker)));
        self
    }
}

impl<Res, E> Clone for FallbackLayer<Res, E> {
    fn clone(&self) -> Self {
        FallbackLayer {
            strategy: Arc::clone(&self.strategy),
            on: self.on,
            counter: self.counter.clone(),
        }
    }
}

impl<Res, E> fmt::Debug for FallbackLayer<Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackLayer")
            .field("type", &self.strategy.kind())
            .field("on", &self.on)
            .finish_non_exhaustive()
    }
}

impl<S, Res, E> Layer<S> for FallbackLayer<Res, E> {
    type Service = FallbackService<S, Res, E>;

    fn layer(&self, inner: S) -> Self::Service {
        FallbackService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of a [`FallbackLayer`].
pub struct FallbackService<S, Res, E> {
    inner: S,
    layer: FallbackLayer<Res, E>,
}

impl<S: Clone, Res, E> Clone for FallbackService<S, Res, E> {
    fn clone(&self) -> Self {
        FallbackService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, Res, E> fmt::Debug for FallbackService<S, Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, Req, Res, E> Service<Req> for FallbackService<S, Res, E>
where
    S: Service<Req, Response = Res, Error = Error<E>>,
{
    type Response = Res;
    type Error = Error<E>;
    type Future = FallbackFuture<S::Future, Res, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A rejection is answered by `call` (the breaker's service is ready
        // when it rejects), so readiness is the inner service's own.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        FallbackFuture {
            inner: self.inner.call(req),
            layer: Some(self.layer.clone()),
        }
    }
}

pin_project! {
    /// The future of a [`FallbackService`].
    pub struct FallbackFuture<F, Res, E> {
        #[pin]
        inner: F,
        layer: Option<FallbackLayer<Res, E>>,
    }
}

impl<F, Res, E> Future for FallbackFuture<F, Res, E>
where
    F: Future<Output = Result<Res, Error<E>>>,
{
    type Output = Result<Res, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let layer = this
            .layer
            .take()
            .expect("FallbackFuture polled after completion");
        Poll::Ready(match result {
            Ok(res) => {
                layer.strategy.saw(&res);
                Ok(res)
            }
            Err(e) if layer.on.applies(&e) => match layer.strategy.answer(&e) {
                Some(res) => {
                    layer.counter.count(layer.strategy.kind());
                    Ok(res)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        })
    }
}

/// A layer that sends a call to another service (a second provider, a
/// replica) when the breaker rejects it (or, with [`FallbackOn::AnyError`],
/// when it fails). Requests must be `Clone`: the copy for the fallback is
/// taken before the call.
#[derive(Clone)]
pub struct FallbackToLayer<S2> {
    fallback: S2,
    on: FallbackOn,
    counter: Counter,
}

impl<S2> FallbackToLayer<S2> {
    /// Falls back to `service`; its errors come back as `Error::Inner`.
    pub fn new(service: S2) -> Self {
        FallbackToLayer {
            fallback: service,
            on: FallbackOn::Rejected,
            counter: Counter(None),
        }
    }

    /// When the fallback answers (default [`FallbackOn::Rejected`]).
    pub fn on(mut self, on: FallbackOn) -> Self {
        self.on = on;
        self
    }

    /// Counts executions in `breaker`'s metrics (type `service`).
    pub fn counted(mut self, breaker: &Arc<StdBreaker>) -> Self {
        self.counter = Counter(Some(Arc::clone(breaker)));
        self
    }
}

impl<S2> fmt::Debug for FallbackToLayer<S2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackToLayer")
            .field("on", &self.on)
            .finish_non_exhaustive()
    }
}

impl<S, S2: Clone> Layer<S> for FallbackToLayer<S2> {
    type Service = FallbackTo<S, S2>;

    fn layer(&self, inner: S) -> Self::Service {
        FallbackTo {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of a [`FallbackToLayer`].
#[derive(Clone)]
pub struct FallbackTo<S, S2> {
    inner: S,
    layer: FallbackToLayer<S2>,
}

impl<S: fmt::Debug, S2> fmt::Debug for FallbackTo<S, S2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackTo")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, S2, Req, Res, E> Service<Req> for FallbackTo<S, S2>
where
    S: Service<Req, Response = Res, Error = Error<E>>,
    S2: Service<Req, Response = Res, Error = E> + Clone,
    Req: Clone,
{
    type Response = Res;
    type Error = Error<E>;
    type Future = FallbackToFuture<S::Future, S2, Req>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let spare = req.clone();
        FallbackToFuture {
            primary: self.inner.call(req),
            secondary: None,
            spare: Some((spare, self.layer.clone())),
        }
    }
}

pin_project! {
    /// The future of a [`FallbackTo`].
    pub struct FallbackToFuture<F, S2: Service<Req>, Req> {
        #[pin]
        primary: F,
        #[pin]
        secondary: Option<Oneshot<S2, Req>>,
        spare: Option<(Req, FallbackToLayer<S2>)>,
    }
}

impl<F, S2, Req, Res, E> Future for FallbackToFuture<F, S2, Req>
where
    F: Future<Output = Result<Res, Error<E>>>,
    S2: Service<Req, Response = Res, Error = E>,
{
    type Output = Result<Res, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some(secondary) = this.secondary.as_mut().as_pin_mut() {
                return secondary.poll(cx).map_err(Error::Inner);
            }
            match std::task::ready!(this.primary.as_mut().poll(cx)) {
                Err(e) => {
                    let (req, layer) = this
                        .spare
                        .take()
                        .expect("FallbackToFuture polled after completion");
                    if !layer.on.applies(&e) {
                        return Poll::Ready(Err(e));
                    }
                    layer.counter.count("service");
                    this.secondary.set(Some(Oneshot::new(layer.fallback, req)));
                }
                ok => return Poll::Ready(ok),
            }
        }
    }
}
