//! `RetryPolicy` outside the breaker layer, against a real HTTP server on
//! 127.0.0.1: retries are counted by the breaker, never go into an open
//! breaker that would make them wait past the caller's patience, and stay
//! within the retry budget.
#![cfg(feature = "retry")]

mod support;

use fusebox_core::State;
use fusebox_std::tower::{CircuitBreakerLayer, RetryPolicy};
use fusebox_std::Error;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::retry::RetryLayer;
use tower::{Service, ServiceBuilder, ServiceExt};

use support::http::{consecutive_breaker as breaker, status_server as server};

/// A request that can be cloned for a retry: the URI.
#[derive(Clone)]
struct Get(http::Uri);

fn client() -> impl Service<
    Get,
    Response = http::Response<hyper::body::Incoming>,
    Error = hyper_util::client::legacy::Error,
    Future = impl Send,
> + Clone {
    let c = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    tower::service_fn(move |Get(uri): Get| {
        c.request(http::Request::get(uri).body(Empty::new()).unwrap())
    })
}

fn policy(max_retries: u32, patience: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .max_retries(max_retries)
        // A generous budget: these tests are about the breaker.
        .budget(10.0, 1_000)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .patience(patience)
        .build()
        .unwrap()
}

/// Retries a 5xx or an error twice, with no breaker to ask.
#[derive(Clone)]
struct TwoRetriesOn5xx(u32);

impl<B, E> tower::retry::Policy<Get, http::Response<B>, E> for TwoRetriesOn5xx {
    type Future = std::future::Ready<()>;
    fn retry(
        &mut self,
        _: &mut Get,
        result: &mut Result<http::Response<B>, E>,
    ) -> Option<Self::Future> {
        let failed = result
            .as_ref()
            .map_or(true, |r| r.status().is_server_error());
        (failed && self.0 < 2).then(|| {
            self.0 += 1;
            std::future::ready(())
        })
    }
    fn clone_request(&mut self, req: &Get) -> Option<Get> {
        Some(req.clone())
    }
}

#[tokio::test]
async fn retry_outside_the_breaker_spares_the_dependency() {
    // The dependency fails every call. The breaker trips after 3 failures.
    let status = Arc::new(AtomicU16::new(503));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&status), Arc::clone(&hits)).await;
    let uri: http::Uri = format!("http://{addr}/").parse().unwrap();

    // Right: retry → breaker → client. Each attempt is a permit; once the
    // breaker opens, retries are refused at once (no patience for 60 s).
    let b = breaker(3, Duration::from_secs(60));
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(policy(2, Duration::ZERO)))
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)))
        .service(client());
    for _ in 0..5 {
        let _ = svc.clone().oneshot(Get(uri.clone())).await;
    }
    assert_eq!(b.state(), State::Open);
    let right = hits.swap(0, Ordering::SeqCst);
    assert_eq!(right, 3, "the breaker stops the retries at its threshold");

    // Wrong: breaker → retry → client (the same 2 retries on a 5xx, by a
    // plain policy, since nothing inside can be rejected). One permit covers
    // three attempts, and the breaker sees one failure for every three the
    // dependency had.
    let b = breaker(3, Duration::from_secs(60));
    let svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)))
        .layer(RetryLayer::new(TwoRetriesOn5xx(0)))
        .service(client());
    for _ in 0..5 {
        let _ = svc.clone().oneshot(Get(uri.clone())).await;
    }
    assert_eq!(b.state(), State::Open);
    let wrong = hits.load(Ordering::SeqCst);
    assert_eq!(wrong, 9, "3 permits x 3 attempts reached the dependency");
}

#[tokio::test]
async fn a_rejection_is_retried_only_when_its_retry_after_fits_the_patience() {
    let status = Arc::new(AtomicU16::new(503));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&status), Arc::clone(&hits)).await;
    let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
    let b = breaker(1, Duration::from_millis(200));

    // Trip it: one failing attempt, then the retry is rejected with a
    // retry_after of about 200 ms, past a patience of 50 ms.
    let impatient = ServiceBuilder::new()
        .layer(RetryLayer::new(policy(3, Duration::from_millis(50))))
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)))
        .service(client());
    let e = impatient
        .clone()
        .oneshot(Get(uri.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Rejected {
                state: State::Open,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A patient caller waits out the open period and its retry probes the
    // now healthy dependency.
    status.store(200, Ordering::SeqCst);
    let patient = ServiceBuilder::new()
        .layer(RetryLayer::new(policy(3, Duration::from_secs(1))))
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)))
        .service(client());
    let started = std::time::Instant::now();
    let res = patient.oneshot(Get(uri.clone())).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "it waited for the breaker"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn the_budget_caps_retries_at_a_fraction_of_requests() {
    let status = Arc::new(AtomicU16::new(500));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&status), Arc::clone(&hits)).await;
    let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
    // A breaker that never trips, and a budget of 10 % with no reserve.
    let b = breaker(1_000_000, Duration::from_secs(1));
    let policy = RetryPolicy::builder()
        .max_retries(3)
        .budget(0.1, 0)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)))
        .service(client());
    for _ in 0..100 {
        let _ = svc.clone().oneshot(Get(uri.clone())).await;
    }
    let total = hits.load(Ordering::SeqCst);
    // Without the budget: 400 hits. With it: 100 requests and about 10 retries.
    assert!(
        (105..=115).contains(&total),
        "{total} hits for 100 requests"
    );
}

#[test]
fn bad_settings_are_named() {
    let e = RetryPolicy::builder()
        .max_retries(1_000)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "max_retries");
    let e = RetryPolicy::builder().budget(-1.0, 0).build().unwrap_err();
    assert_eq!(e.field, "budget ratio");
    let e = RetryPolicy::builder()
        .budget_window(Duration::from_secs(600))
        .build()
        .unwrap_err();
    assert_eq!(e.field, "budget_window");
    let e = RetryPolicy::builder()
        .backoff(Duration::from_secs(2), Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("backoff"), "{e}");
}
