//! A `tower` middleware: [`CircuitBreakerLayer`] (feature `tower`).
//!
//! The service asks its breaker for a permit in `poll_ready`, the way
//! `tower::limit::ConcurrencyLimit` acquires its semaphore, and keeps it
//! until `call` (DESIGN.md §13, "Tower readiness"):
//!
//! - permitted: `poll_ready` then polls the inner service, and `call` sends
//!   the request with the held permit; the response future records the
//!   outcome that the classifier gives (by default [`HttpClassifier`]: 5xx,
//!   408 and transport errors fail, a 429 or 503 that names a time pauses
//!   the breaker for it, other 4xx count nowhere, the rest succeeds);
//! - rejected: `poll_ready` returns `Ready(Ok(()))` *without* polling the
//!   inner service, and the next `call` returns [`Error::Rejected`] at once:
//!   the request never reaches the inner service.
//!
//! A timeout is [`Error::Timeout`] whichever layer produced it: put
//! `tower::timeout::TimeoutLayer` inside the breaker layer, and its
//! `Elapsed` error (bare or boxed) comes out as `Error::Timeout`, recorded
//! as a failure.
//!
//! One breaker per host, tenant or model: [`keyed::KeyedBreakerLayer`]
//! (features `tower` and `keyed`) takes the key from each request (by
//! default its URI's authority).
//!
//! gRPC clients need [`grpc::GrpcBreakerLayer`] instead (feature `grpc`):
//! a gRPC status usually arrives in the trailers, after this layer has
//! recorded the response's headers.
//!
//! A service dropped between `poll_ready` and `call`, or a response future
//! dropped before it completes, abandons its permit (a half-open slot comes
//! back). Permits are owned (`'static`), so services and futures can be
//! spawned.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::Arc;
//! use fusebox_core::{Config, State};
//! use fusebox_std::tower::CircuitBreakerLayer;
//! use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//!
//! let config = Config::builder().consecutive_failures(1).build().unwrap();
//! let breaker = Arc::new(StdBreaker::new("api", BreakerSpec { config, window: WindowSpec::None }).unwrap());
//! let mut svc = CircuitBreakerLayer::new(Arc::clone(&breaker)).layer(service_fn(|_: ()| async {
//!     Ok::<_, std::io::Error>(http::Response::builder().status(503).body(()).unwrap())
//! }));
//! let res = svc.ready().await.unwrap().call(()).await.unwrap();
//! assert_eq!(res.status(), 503);
//! assert_eq!(breaker.state(), State::Open);
//! let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
//! assert!(matches!(err, Error::Rejected { state: State::Open, .. }));
//! # }
//! ```
//!
//! [`Error::Rejected`]: crate::Error::Rejected
//! [`Error::Timeout`]: crate::Error::Timeout

mod classify;
mod error;
pub mod fallback;
mod future;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "keyed")]
pub mod keyed;
mod layer;
#[cfg(feature = "retry")]
pub mod retry;
mod service;

pub use classify::{retry_after, HttpClassifier, RateLimited};
pub use fallback::{FallbackLayer, FallbackOn, FallbackToLayer};
pub use future::ResponseFuture;
#[cfg(feature = "keyed")]
pub use keyed::{by_authority, KeyedBreakerLayer, KeyedBreakerService};
pub use layer::CircuitBreakerLayer;
#[cfg(feature = "retry")]
pub use retry::{InvalidRetryPolicy, RetryPolicy, RetryPolicyBuilder};
pub use service::CircuitBreakerService;
