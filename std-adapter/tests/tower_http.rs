//! The tower layer against a real HTTP server on 127.0.0.1, and its
//! readiness contract against a counting mock service.
#![cfg(feature = "tower")]

mod support;

use axum::http::StatusCode;
use fusebox_core::{Config, State};
use fusebox_std::tower::CircuitBreakerLayer;
use fusebox_std::{BreakerSpec, Error, StdBreaker, WindowSpec};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service, ServiceExt};

use support::http::{consecutive_breaker as breaker, status_server as server};

fn get(addr: SocketAddr) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("http://{addr}/"))
        .body(Empty::new())
        .unwrap()
}

#[tokio::test]
async fn opens_on_server_errors_rejects_without_hitting_the_server_then_recovers() {
    let status = Arc::new(AtomicU16::new(500));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&status), Arc::clone(&hits)).await;
    let b = breaker(3, Duration::from_millis(100));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(client);

    for _ in 0..3 {
        let res = svc.ready().await.unwrap().call(get(addr)).await.unwrap();
        assert_eq!(res.status(), 500);
    }
    assert_eq!(b.state(), State::Open);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let mut wait = Duration::ZERO;
    for _ in 0..5 {
        match svc.ready().await.unwrap().call(get(addr)).await {
            Err(Error::Rejected {
                state: State::Open,
                retry_after: Some(d),
                reason: fusebox_core::RejectReason::State,
            }) => wait = d,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "rejected calls never reach the server"
    );

    status.store(200, Ordering::SeqCst);
    tokio::time::sleep(wait + Duration::from_millis(5)).await;
    let res = svc.ready().await.unwrap().call(get(addr)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert_eq!(b.state(), State::Closed, "one good probe closes it");
    let snapshot = b.observer().totals().snapshot();
    assert_eq!(
        (snapshot.failure, snapshot.success, snapshot.rejected),
        (3, 1, 5)
    );
    assert_eq!(
        b.observer().durations().buckets().1,
        4,
        "every permitted call timed"
    );
}

#[tokio::test]
async fn too_many_requests_is_ignored_and_a_transport_error_is_a_failure() {
    let status = Arc::new(AtomicU16::new(429));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server(Arc::clone(&status), Arc::clone(&hits)).await;
    let b = breaker(2, Duration::from_secs(60));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(client);
    for _ in 0..4 {
        let res = svc.ready().await.unwrap().call(get(addr)).await.unwrap();
        assert_eq!(res.status(), 429);
    }
    assert_eq!(b.snapshot().consecutive_failures, 0);
    // A port that was just closed: connection refused.
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    for _ in 0..2 {
        let e = svc
            .ready()
            .await
            .unwrap()
            .call(get(dead))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Inner(_)), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
    }
    assert_eq!(b.state(), State::Open);
}

/// A service that is ready only when told, counting readiness polls and calls.
#[derive(Clone, Default)]
struct Mock {
    ready: Arc<std::sync::atomic::AtomicBool>,
    polled: Arc<AtomicU32>,
    called: Arc<AtomicU32>,
}

impl Service<u16> for Mock {
    type Response = http::Response<()>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        if self.ready.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, status: u16) -> Self::Future {
        assert!(
            self.ready.load(Ordering::SeqCst),
            "called without being ready"
        );
        self.called.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(http::Response::builder().status(status).body(()).unwrap()) })
    }
}

fn half_open_breaker() -> Arc<StdBreaker> {
    let config = Config::builder()
        .consecutive_failures(1)
        .half_open_permits(1)
        .build()
        .unwrap();
    let b = StdBreaker::new(
        "probe",
        BreakerSpec {
            config,
            window: WindowSpec::None,
        },
    )
    .unwrap();
    b.transition_to_half_open();
    Arc::new(b)
}

#[tokio::test]
async fn poll_ready_holds_the_probe_slot_until_call_and_a_rejection_skips_the_inner_service() {
    let b = half_open_breaker();
    let mock = Mock::default();
    mock.ready.store(true, Ordering::SeqCst);
    let layer = CircuitBreakerLayer::new(Arc::clone(&b));
    let mut first = layer.layer(mock.clone());
    let mut second = layer.layer(mock.clone());

    first.ready().await.unwrap();
    assert_eq!(
        b.snapshot().half_open_admitted,
        1,
        "the permit is taken in poll_ready"
    );
    let polled = mock.polled.load(Ordering::SeqCst);
    second.ready().await.unwrap();
    assert_eq!(
        mock.polled.load(Ordering::SeqCst),
        polled,
        "a rejected poll_ready does not poll the inner service"
    );
    let e = second.call(200).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Rejected {
                state: State::HalfOpen,
                retry_after: None,
                reason: fusebox_core::RejectReason::State,
            }
        ),
        "{e:?}"
    );
    assert_eq!(mock.called.load(Ordering::SeqCst), 0);

    drop(first);
    assert_eq!(
        b.snapshot().half_open_admitted,
        0,
        "a dropped service gives its slot back"
    );
    let res = second.ready().await.unwrap().call(200).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn a_pending_inner_service_keeps_the_permit_and_a_dropped_response_releases_it() {
    let b = half_open_breaker();
    let mock = Mock::default();
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(mock.clone());
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(svc.poll_ready(&mut cx).is_pending());
    assert_eq!(b.snapshot().half_open_admitted, 1);
    mock.ready.store(true, Ordering::SeqCst);
    assert!(svc.poll_ready(&mut cx).is_ready());
    let response = svc.call(200);
    drop(response);
    assert_eq!(
        b.snapshot().half_open_admitted,
        0,
        "a cancelled response gives its slot back"
    );
    assert_eq!(b.state(), State::HalfOpen);
}

#[tokio::test]
async fn responses_are_classified_by_a_custom_classifier() {
    let b = breaker(1, Duration::from_secs(60));
    let mock = Mock::default();
    mock.ready.store(true, Ordering::SeqCst);
    let not_found_fails = |r: &Result<http::Response<()>, std::io::Error>| match r {
        Ok(res) if res.status() == 404 => fusebox_core::Outcome::Failure,
        _ => fusebox_core::Outcome::Success,
    };
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b))
        .with_classifier(not_found_fails)
        .layer(mock);
    svc.ready().await.unwrap().call(500).await.unwrap();
    assert_eq!(b.state(), State::Closed);
    svc.ready().await.unwrap().call(404).await.unwrap();
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn retry_after_on_a_429_opens_the_breaker_for_that_long() {
    let b = breaker(100, Duration::from_secs(1));
    let inner = tower::service_fn(|_: ()| async {
        Ok::<_, std::io::Error>(
            http::Response::builder()
                .status(429)
                .header("retry-after", "30")
                .body(())
                .unwrap(),
        )
    });
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(inner);
    let res = svc.ready().await.unwrap().call(()).await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(b.state(), State::Open);
    match svc.ready().await.unwrap().call(()).await {
        Err(e @ Error::Rejected { .. }) => {
            assert!(e.retry_after_secs().unwrap() >= 29, "{e}");
        }
        other => panic!("{other:?}"),
    }
}

/// A server with a slow route and a rate-limited one whose `Retry-After`
/// is an HTTP date `limited_for` ahead; counts hits.
async fn provider(limited_for: Duration, hits: Arc<AtomicU32>) -> SocketAddr {
    let slow_hits = Arc::clone(&hits);
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::get(move || {
                let hits = Arc::clone(&slow_hits);
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/limited",
            axum::routing::get(move || {
                let hits = Arc::clone(&hits);
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let at = std::time::SystemTime::now() + limited_for;
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", httpdate::fmt_http_date(at))],
                    )
                }
            }),
        )
        .route(
            "/missing",
            axum::routing::get(|| async { StatusCode::NOT_FOUND }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn get_path(addr: SocketAddr, path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("http://{addr}{path}"))
        .body(Empty::new())
        .unwrap()
}

#[tokio::test]
async fn a_tower_timeout_inside_the_breaker_is_error_timeout_and_a_failure() {
    let hits = Arc::new(AtomicU32::new(0));
    let addr = provider(Duration::from_secs(30), Arc::clone(&hits)).await;
    let b = breaker(2, Duration::from_secs(60));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let timed = tower::timeout::TimeoutLayer::new(Duration::from_millis(100)).layer(client);
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(timed);
    for i in 0..2 {
        let e = svc
            .ready()
            .await
            .unwrap()
            .call(get_path(addr, "/slow"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Timeout), "{e:?}");
        assert!(e.is_timeout());
        if i == 0 {
            assert_eq!(b.snapshot().consecutive_failures, 1);
        }
    }
    assert_eq!(b.state(), State::Open);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_429_with_an_http_date_pauses_for_that_long_unless_told_to_ignore_it() {
    use fusebox_std::tower::{HttpClassifier, RateLimited};
    let hits = Arc::new(AtomicU32::new(0));
    let addr = provider(Duration::from_secs(40), Arc::clone(&hits)).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();

    // Ignored: never opens, never counts; a 404 counts nowhere either.
    let b = breaker(1, Duration::from_secs(1));
    let classifier = HttpClassifier::new().on_too_many_requests(RateLimited::Ignore);
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b))
        .with_classifier(classifier)
        .layer(client.clone());
    for path in ["/limited", "/limited", "/missing"] {
        let res = svc
            .ready()
            .await
            .unwrap()
            .call(get_path(addr, path))
            .await
            .unwrap();
        assert!(res.status().is_client_error());
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);

    // The default pauses for the date's distance (whole seconds; at least
    // the open period of 1 s, at most the 40 s asked for).
    let b = breaker(100, Duration::from_secs(1));
    let mut svc = CircuitBreakerLayer::new(Arc::clone(&b)).layer(client);
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(get_path(addr, "/limited"))
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(b.state(), State::Open);
    let before = hits.load(Ordering::SeqCst);
    match svc
        .ready()
        .await
        .unwrap()
        .call(get_path(addr, "/limited"))
        .await
    {
        Err(e @ Error::Rejected { .. }) => {
            let secs = e.retry_after_secs().unwrap();
            assert!((37..=40).contains(&secs), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "a rejection never reaches the server"
    );
}
