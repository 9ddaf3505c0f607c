//! # fusebox-std
//!
//! The `std` adapter of [fusebox](fusebox_core): a clock, call wrappers,
//! config files, a registry, metrics and a `tower` layer over the lock-free
//! core. It holds no state-machine logic of its own: every decision (when to
//! trip, when to probe, what is stale) is the core's; this crate asks for
//! permits and records outcomes.
//!
//! ## Calls
//!
//! [`CallExt`] works on any core [`Breaker`](fusebox_core::Breaker) and on a
//! [`StdBreaker`]:
//!
//! ```
//! use std::time::Duration;
//! use fusebox_core::{Breaker, Config, Outcome, State};
//! use fusebox_std::{CallExt, Error, StdClock};
//!
//! let config = Config::builder()
//!     .consecutive_failures(3)
//!     .open_for(Duration::from_secs(10))
//!     .build()
//!     .unwrap();
//! let inventory: Breaker<StdClock> = Breaker::new(StdClock, config);
//!
//! // `Ok` is a success, `Err` a failure...
//! let n: Result<u32, Error<std::io::Error>> = inventory.call(|| Ok(12));
//! assert_eq!(n.unwrap(), 12);
//! // ...unless a classifier says otherwise (it sees the `Ok` value too).
//! let status = |r: &Result<u16, ()>| match r {
//!     Ok(s) if *s >= 500 => Outcome::Failure,
//!     Ok(429) => Outcome::Ignored,
//!     Ok(_) => Outcome::Success,
//!     Err(_) => Outcome::Failure,
//! };
//! for _ in 0..3 {
//!     let _ = inventory.call_classified(&status, || Ok(503));
//! }
//! assert_eq!(inventory.state(), State::Open);
//! match inventory.call(|| Ok::<_, ()>(1)) {
//!     // About 10 s (the core rounds deadlines up to its timer unit, never down).
//!     Err(Error::Rejected { retry_after, .. }) => assert!(retry_after.unwrap() > Duration::from_secs(9)),
//!     other => panic!("{other:?}"),
//! }
//! // Or degrade gracefully.
//! assert_eq!(inventory.call_with_fallback(|| Ok::<_, ()>(1), |_| 0), 0);
//! ```
//!
//! Async calls are runtime-agnostic: the future asks for its permit when
//! first polled, and a future dropped before it completes (a cancelled
//! request, an aborted task, a lost `select!`) gives its permit back; it
//! never counts as a success. With feature `tokio`,
//! `CallExt::call_async_timeout` adds a per-call time limit.
//!
//! ```
//! # futures::executor::block_on(async {
//! use fusebox_core::{Breaker, Config};
//! use fusebox_std::{CallExt, StdClock};
//!
//! let b: Breaker<StdClock> = Breaker::new(StdClock, Config::builder().consecutive_failures(5).build().unwrap());
//! let v = b.call_async(|| async { Ok::<_, std::io::Error>("pong") }).await.unwrap();
//! assert_eq!(v, "pong");
//! # });
//! ```
//!
//! A panic in the protected code is recorded as a failure and resumed; a
//! panic in a classifier abandons the permit (see [`fusebox_core::Abandon`]).
//!
//! ## Config files and the registry
//!
//! [`config::FileConfig`] reads TOML or YAML (one schema, presets,
//! `FUSEBOX_<NAME>_<FIELD>` environment overrides, durations like `"250ms"`),
//! and a [`Registry`] holds the named breakers of a program:
//!
//! ```
//! use fusebox_std::config::{FileConfig, Format};
//! use fusebox_std::{CallExt, Health, Registry};
//!
//! let file = FileConfig::parse(Format::Yaml, "fusebox.yaml", r#"
//! breakers:
//!   payments: { preset: http_api, open_for: 20s }
//!   ledger:
//!     consecutive_failures: 3
//!     failure_rate: 0.5
//!     minimum_calls: 20
//!     window: { kind: count, size: 100 }
//! "#, std::env::vars()).unwrap();
//! let registry = Registry::from_config(&file).unwrap();
//! let ledger = registry.get("ledger").unwrap();
//! let _ = ledger.call(|| Ok::<_, ()>(()));
//! assert_eq!(registry.health().overall, Health::Healthy);
//! assert!(registry.metrics_text().contains("circuit_breaker_state{name=\"ledger\"} 0"));
//! ```
//!
//! Breakers built from a config learn their window size at run time: a
//! [`StdBreaker`] keeps its window in the core's
//! [`DynCountWindow`](fusebox_core::DynCountWindow) or
//! [`DynTimeWindow`](fusebox_core::DynTimeWindow) over a boxed slice,
//! allocated once when it is built.
//!
//! ## Observation
//!
//! Every [`StdBreaker`] reports through a [`StdObserver`]: `tracing` events
//! (target `fusebox`: `WARN` when a breaker opens, `INFO` for other
//! transitions, `DEBUG` for rejections), striped running totals, a
//! call-duration histogram, and a broadcast of [`TransitionEvent`]s
//! ([`Registry::subscribe`]). [`metrics`] exposes a registry to Prometheus
//! and, with feature `otel`, to OpenTelemetry.
//!
//! ## Tower
//!
//! With feature `tower`, `tower::CircuitBreakerLayer` puts a breaker in
//! front of any service; the permit is taken in `poll_ready` and a rejection
//! is returned by `call` without touching the inner service. With feature
//! `grpc`, `tower::grpc::GrpcBreakerLayer` does the same for gRPC clients,
//! recording each call when its status arrives (usually in the trailers).
//! With feature `admin`, the `admin` module is an `axum` router to inspect and steer a registry.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `tokio` | `CallExt::call_async_timeout`, on tokio's timer |
//! | `tower` | `tower::CircuitBreakerLayer`, the provider-aware `HttpClassifier`, fallbacks (`FallbackLayer`, `FallbackToLayer`) |
//! | `stream` | `stream::GuardedStream`: one permit for a stream's life (token streams, SSE) (implies `tokio`) |
//! | `deadpool` | `pool::GuardedPool`: a `deadpool` connection pool (Redis, Postgres, SQLite, ...) behind a breaker; a SQL example in `examples/sqlite_pool.rs` |
//! | `keyed` | `keyed::KeyedBreakers`: breakers per key (host, tenant, model) in a `moka` cache, with a cap on open keys; with `tower`, `tower::KeyedBreakerLayer` keys each request (by default by its URI authority) |
//! | `watch` | `reload::ConfigWatcher`: reloads a registry when its config file changes (`notify`, debounced); `Registry::reload` itself needs no feature |
//! | `grpc` | `tower::grpc::GrpcBreakerLayer`: gRPC clients (tonic's `Channel`), judged by the status in the trailers or a trailers-only response, with `GrpcClassifier` and server pushback (implies `tower`) |
//! | `retry` | `tower::RetryPolicy`: retries outside the breaker, with a budget and backoff (implies `tower`, `tokio`) |
//! | `backon` | `retry`: closures and futures through `CallExt`, retried on `backon`'s backoff (exponential, jitter), waiting for an open breaker only within the caller's patience, with a retry budget (implies `tokio`) |
//! | `otel` | `metrics::otel::register`: a registry's metrics as OpenTelemetry observable instruments, beside Prometheus (the `opentelemetry` API crate only) |
//! | `admin` | the `admin` router, `POST /reload` included (implies `tower`) |
//! | `fleet` | `fleet::Fleet`: instances share their breakers' opens through Redis (pub/sub and a state hash), advisory, adopted by quorum, off the hot path |
//! | `persist` | `persist`: breaker state saved to a file at every transition, restored at start-up (`Registry::restore_from`, `Registry::persist_to`) |
//!
//! No feature is on by default: a plain `fusebox-std = "0.1"` builds the
//! core, the call wrappers, config files, the registry and metrics, and
//! nothing of tokio beyond its broadcast channel. The `fusebox`
//! command-line tool (`demo`, `simulate`, `check-config`) is its own crate,
//! `fusebox-cli`, so a library never compiles its HTTP client, server and
//! plotting.
//!
//! ## Semantics worth knowing
//!
//! - A success never trips a breaker, so rates are judged when a failure (or
//!   slow call) is recorded: when a success lifts the window to
//!   `minimum_calls`, the breaker trips at the next failure, not at that
//!   success (DESIGN.md §3; unlike Resilience4j).
//! - An outcome recorded after its episode ended (the breaker tripped or
//!   closed meanwhile) is *stale*: it is counted in the totals as stale and
//!   changes nothing.
//!
//! ## Decisions where DESIGN.md is silent
//!
//! - Health ([`Health::of`]): open or forced open is critical; half-open and
//!   disabled are degraded; closed is degraded once the failure rate (or the
//!   consecutive run) reaches half its trip threshold.
//! - Presets fill fields one by one, but a `window` or `backoff` table in the
//!   file replaces the preset's whole table (its `kind` may differ).
//! - An environment variable applies to the breaker with the longest name
//!   that it matches; one that matches a breaker but no field is an error;
//!   variables never create breakers.
//! - `circuit_breaker_state` is one gauge per breaker whose value encodes the
//!   state; the rate gauges are absent below `minimum_calls` rather than 0.
//! - HTTP responses (`tower::HttpClassifier`): 5xx, 408 and
//!   transport errors fail; other 4xx count nowhere (the request was wrong,
//!   not the dependency); a 429 or 503 that names a time (`Retry-After` in
//!   seconds or as an HTTP date, `retry-after-ms`, `RateLimit-Reset`, the
//!   providers' reset headers) pauses the breaker for it; each is a knob.
//! - gRPC (`tower::grpc`): `OK` succeeds; `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
//!   `RESOURCE_EXHAUSTED`, `INTERNAL`, `UNKNOWN` and `DATA_LOSS` fail; the
//!   other codes count nowhere; `grpc-retry-pushback-ms` (or `Retry-After`)
//!   on `UNAVAILABLE` / `RESOURCE_EXHAUSTED` pauses the breaker. A rejection
//!   is answered as a trailers-only `UNAVAILABLE`, not an error.
//! - A `tower::timeout` inside the breaker layer is `Error::Timeout`, as a
//!   call wrapper's own timeout is.
//! - The tower layer records a panic in the inner future as a failure and
//!   resumes it, as the call wrappers do.
//! - The admin router checks the token before looking the breaker up, so an
//!   unauthorised caller cannot probe for names (401 either way).
//!
//! ## Clock
//!
//! [`StdClock`] counts nanoseconds from a process-wide base `Instant`. The
//! core reads it only where a rule needs the time (an open deadline, a
//! slow-call duration, a time-window bucket). Call wrappers on a
//! [`StdBreaker`] read `Instant::now` twice per call to fill the duration
//! histogram and hand that duration to the core, which then reads no clock
//! of its own at record time; a program that does not want the histogram
//! turns that off with [`StdObserver::set_call_timing`].
//!
//! [`CoarseClock`] is the cheaper option for core breakers that read the
//! clock on every call (time windows, slow-call detection): one atomic load,
//! at about 1 ms resolution, kept by a background thread. A [`StdBreaker`]
//! with a time window runs on it; the others run on [`StdClock`]. The
//! choice was made by benchmark against `Instant` and the TSC reads of the
//! `quanta` crate (design.md, "The std clock").
//!
//! ## Cost
//!
//! Median of 7 runs of 2 million operations, one thread, release build
//! (`cargo run --release -p fusebox-std --example cost`), on the project's
//! 2-core x86-64 development machine (shared with other builds, so treat the
//! figures as rough):
//!
//! | operation | ns |
//! |---|---|
//! | `Instant::now()` | 51 |
//! | [`StdClock`]`.now()` | 57 |
//! | [`CoarseClock`]`.now()` | 0.3 |
//! | core `Breaker<StdClock>` (consecutive rule): `try_acquire` + `success` | 29 |
//! | the same through [`CallExt::call`] | 21 |
//! | [`StdBreaker`], no window: `try_acquire` + `success` (observer's totals) | 44 |
//! | [`StdBreaker`], no window: `call`, timed for the histogram | 255 |
//! | [`StdBreaker`], no window: `call`, call timing off | 86 |
//! | [`StdBreaker`], count window of 100: `call` | 251 |
//! | [`StdBreaker`], time window of 60 buckets: `call` | 348 |
//! | core `Breaker<StdClock, TimeWindow<60>>`: `try_acquire` + `success` | 105 |
//! | core `Breaker<CoarseClock, TimeWindow<60>>`: `try_acquire` + `success` | 47 |
//! | [`StdBreaker`] forced open: `call` rejected | 16 |
//!
//! `Instant::now` is slow on this virtual machine (about 50 ns; 20-30 ns is
//! usual on bare metal), which is why call timing dominates a `StdBreaker`
//! call and why [`CoarseClock`] halves the cost of a time-window breaker.
//! The call wrappers themselves add nothing measurable over a bare
//! `try_acquire` + `success` on a core breaker.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "admin")]
pub mod admin;
pub mod alerts;
mod breaker;
mod call;
mod classify;
mod clock;
mod coarse_clock;
pub mod config;
mod error;
#[cfg(feature = "fleet")]
pub mod fleet;
#[cfg(feature = "keyed")]
pub mod keyed;
pub mod metrics;
pub mod observe;
#[cfg(feature = "persist")]
pub mod persist;
#[cfg(feature = "deadpool")]
pub mod pool;
mod registry;
pub mod reload;
#[cfg(feature = "backon")]
pub mod retry;
mod std_breaker;
#[cfg(feature = "stream")]
pub mod stream;
#[cfg(feature = "tower")]
pub mod tower;

pub use alerts::{Alert, AlertHook};
pub use breaker::{CircuitBreaker, RecordPermit};
pub use call::{CallExt, CallFuture, WithFallback};
pub use classify::{Classifier, DefaultClassifier};
pub use clock::StdClock;
pub use coarse_clock::{CoarseClock, DefaultClock, COARSE_RESOLUTION};
pub use error::Error;
pub use observe::{StdObserver, TransitionEvent, TransitionHook, TrippedWindow};
pub use registry::{Health, HealthReport, Registry};
pub use std_breaker::{
    count_window, time_window, BreakerSpec, StdBreaker, StdCore, StdOwnedPermit, StdPermit,
    StdWindow, WindowSpec, MAX_COUNT_WINDOW_SIZE, MAX_TIME_STRIPES, MAX_TIME_WINDOW_BUCKETS,
};

/// The core crate, re-exported.
pub use fusebox_core as core;

/// The README's quick starts, compiled and run as doc tests so they stay
/// true (with every feature their examples use: README's test command).
#[cfg(all(doctest, feature = "retry"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeQuickStarts;
