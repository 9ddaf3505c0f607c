//! Fallbacks in front of the breaker layer, against real HTTP servers on
//! 127.0.0.1: a static value, the last good response within its age, a
//! function of the error, a second provider; each counted in
//! `circuit_breaker_fallback_executions_total`.
#![cfg(feature = "tower")]

use axum::http::StatusCode;
use fusebox_core::{Config, State};
use fusebox_std::tower::{CircuitBreakerLayer, FallbackLayer, FallbackOn, FallbackToLayer};
use fusebox_std::{BreakerSpec, Error, Registry, StdBreaker, WindowSpec};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::{Service, ServiceBuilder, ServiceExt};

/// A server answering `GET /` with `body` and the status in `status`.
async fn server(body: &'static str, status: Arc<AtomicU16>, hits: Arc<AtomicU32>) -> SocketAddr {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let status = Arc::clone(&status);
            let hits = Arc::clone(&hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap(),
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn breaker(registry: &Registry, name: &str) -> Arc<StdBreaker> {
    let config = Config::builder()
        .consecutive_failures(2)
        .open_for(Duration::from_secs(60))
        .build()
        .unwrap();
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    registry.insert(name, spec).unwrap();
    Arc::new(registry.get(name).unwrap())
}

/// A client that reads the whole body: `(status, text)`, cloneable.
type Answer = (u16, String);

fn client() -> impl Service<
    http::Uri,
    Response = Answer,
    Error = Box<dyn std::error::Error + Send + Sync>,
    Future = impl Send,
> + Clone {
    let c = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    tower::service_fn(move |uri: http::Uri| {
        let c = c.clone();
        async move {
            let res = c
                .request(http::Request::get(uri).body(Empty::new()).unwrap())
                .await?;
            let status = res.status().as_u16();
            let body = res.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
                status,
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
    })
}

/// 5xx fail, the rest succeed.
fn by_status(
    r: &Result<Answer, Box<dyn std::error::Error + Send + Sync>>,
) -> fusebox_core::Outcome {
    match r {
        Ok((s, _)) if *s >= 500 => fusebox_core::Outcome::Failure,
        Ok(_) => fusebox_core::Outcome::Success,
        Err(_) => fusebox_core::Outcome::Failure,
    }
}

fn metric(registry: &Registry, name: &str, kind: &str) -> u64 {
    let text = registry.metrics_text();
    let key =
        format!("circuit_breaker_fallback_executions_total{{name=\"{name}\",type=\"{kind}\"}} ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("{key} not in\n{text}"));
    line[key.len()..].parse().unwrap()
}

#[tokio::test]
async fn the_last_good_answer_stands_in_while_open_and_only_within_its_age() {
    let status = Arc::new(AtomicU16::new(200));
    let hits = Arc::new(AtomicU32::new(0));
    let addr = server("fresh", Arc::clone(&status), Arc::clone(&hits)).await;
    let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
    let registry = Registry::new();
    let b = breaker(&registry, "cached");
    let svc = ServiceBuilder::new()
        .layer(
            FallbackLayer::cached_if(Duration::from_millis(300), |a: &Answer| a.0 < 500)
                .counted(&b),
        )
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)).with_classifier(by_status))
        .service(client());

    let good = svc.clone().oneshot(uri.clone()).await.unwrap();
    assert_eq!(good, (200, "fresh".to_string()));
    // The dependency fails: its 503s reach the caller (the fallback answers
    // rejections only), and the breaker opens.
    status.store(503, Ordering::SeqCst);
    for _ in 0..2 {
        assert_eq!(svc.clone().oneshot(uri.clone()).await.unwrap().0, 503);
    }
    assert_eq!(b.state(), State::Open);
    let before = hits.load(Ordering::SeqCst);
    // Rejected: the last good answer, without touching the server.
    assert_eq!(
        svc.clone().oneshot(uri.clone()).await.unwrap(),
        (200, "fresh".to_string())
    );
    assert_eq!(hits.load(Ordering::SeqCst), before);
    assert_eq!(metric(&registry, "cached", "cached"), 1);
    // Too old: the rejection stands.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let e = svc.clone().oneshot(uri.clone()).await.unwrap_err();
    assert!(e.is_rejected(), "{e:?}");
    assert_eq!(metric(&registry, "cached", "cached"), 1);
}

#[tokio::test]
async fn a_second_provider_answers_rejections_and_failures_when_asked() {
    let primary_status = Arc::new(AtomicU16::new(500));
    let primary_hits = Arc::new(AtomicU32::new(0));
    let primary = server(
        "primary",
        Arc::clone(&primary_status),
        Arc::clone(&primary_hits),
    )
    .await;
    let backup_hits = Arc::new(AtomicU32::new(0));
    let backup = server(
        "backup",
        Arc::new(AtomicU16::new(200)),
        Arc::clone(&backup_hits),
    )
    .await;

    let registry = Registry::new();
    let b = breaker(&registry, "primary");
    // The backup serves the same path on another address.
    let to_backup = {
        let c = client();
        tower::service_fn(move |uri: http::Uri| {
            let mut parts = uri.into_parts();
            parts.authority = Some(backup.to_string().parse().unwrap());
            c.clone().oneshot(http::Uri::from_parts(parts).unwrap())
        })
    };
    let svc = ServiceBuilder::new()
        .layer(
            FallbackToLayer::new(to_backup)
                .on(FallbackOn::AnyError)
                .counted(&b),
        )
        .layer(CircuitBreakerLayer::new(Arc::clone(&b)).with_classifier(by_status))
        // The primary's 5xx become errors, so `AnyError` sees them.
        .map_response(|a: Answer| a)
        .service(client().and_then(|a: Answer| async move {
            if a.0 >= 500 {
                Err(format!("primary answered {}", a.0).into())
            } else {
                Ok(a)
            }
        }));
    let uri: http::Uri = format!("http://{primary}/").parse().unwrap();
    for _ in 0..5 {
        let a = svc.clone().oneshot(uri.clone()).await.unwrap();
        assert_eq!(a, (200, "backup".to_string()));
    }
    // Two failures reached the primary; then the breaker opened and the
    // rejections went to the backup without touching it.
    assert_eq!(primary_hits.load(Ordering::SeqCst), 2);
    assert_eq!(backup_hits.load(Ordering::SeqCst), 5);
    assert_eq!(b.state(), State::Open);
    assert_eq!(metric(&registry, "primary", "service"), 5);
}

#[tokio::test]
async fn a_value_or_a_function_answers_and_errors_pass_unless_asked() {
    let registry = Registry::new();
    let b = breaker(&registry, "static");
    let failing =
        tower::service_fn(|_: ()| async { Err::<&'static str, _>(std::io::Error::other("down")) });
    let svc = ServiceBuilder::new()
        .layer(FallbackLayer::value("default").counted(&b))
        .layer(
            CircuitBreakerLayer::new(Arc::clone(&b))
                .with_classifier(fusebox_std::DefaultClassifier),
        )
        .service(failing);
    // Errors pass through (FallbackOn::Rejected), rejections get the value.
    for _ in 0..2 {
        assert!(matches!(
            svc.clone().oneshot(()).await,
            Err(Error::Inner(_))
        ));
    }
    assert_eq!(svc.clone().oneshot(()).await.unwrap(), "default");
    assert_eq!(metric(&registry, "static", "value"), 1);

    let b = breaker(&registry, "function");
    let svc = ServiceBuilder::new()
        .layer(
            FallbackLayer::with(|e: &Error<std::io::Error>| {
                (!e.is_rejected()).then_some("degraded")
            })
            .on(FallbackOn::AnyError)
            .counted(&b),
        )
        .layer(
            CircuitBreakerLayer::new(Arc::clone(&b))
                .with_classifier(fusebox_std::DefaultClassifier),
        )
        .service(failing);
    for _ in 0..2 {
        assert_eq!(svc.clone().oneshot(()).await.unwrap(), "degraded");
    }
    // The function declines rejections: the error stands.
    assert!(svc.clone().oneshot(()).await.unwrap_err().is_rejected());
    assert_eq!(metric(&registry, "function", "function"), 2);
    assert_eq!(metric(&registry, "function", "value"), 0);
}
