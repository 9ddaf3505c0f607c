//! A hyper client behind a circuit breaker, against a loopback server that
//! fails for a while and then heals:
//! `cargo run -p fusebox-std --features tower --example http_client`.

use axum::http::StatusCode;
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::tower::CircuitBreakerLayer;
use fusebox_std::{Error, Registry};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::{Layer, Service, ServiceExt};

const CONFIG: &str = r#"
[breakers.upstream]
consecutive_failures = 3
open_for = "300ms"
backoff = { kind = "exponential", multiplier = 2.0, max = "2s" }
half_open_permits = 1
"#;

#[tokio::main]
async fn main() {
    // The dependency: fails until `healthy` is set; counts requests.
    let healthy = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicU32::new(0));
    let (h, n) = (Arc::clone(&healthy), Arc::clone(&hits));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let (h, n) = (Arc::clone(&h), Arc::clone(&n));
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                if h.load(Ordering::SeqCst) {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let file = FileConfig::parse(Format::Toml, "inline", CONFIG, std::env::vars()).unwrap();
    let registry = Registry::from_config(&file).unwrap();
    let mut transitions = registry.subscribe();
    tokio::spawn(async move {
        while let Ok(e) = transitions.recv().await {
            let t = e.transition;
            println!(
                "  [{}] {} -> {} ({})",
                e.breaker,
                t.from,
                t.to,
                t.reason.as_str()
            );
        }
    });

    let breaker = Arc::new(registry.get("upstream").unwrap());
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = CircuitBreakerLayer::new(breaker).layer(client);
    for i in 0..30 {
        if i == 15 {
            println!("-- the dependency heals");
            healthy.store(true, Ordering::SeqCst);
        }
        let req = http::Request::get(format!("http://{addr}/"))
            .body(Empty::new())
            .unwrap();
        match svc.ready().await.unwrap().call(req).await {
            Ok(res) => println!("call {i:2}: HTTP {}", res.status().as_u16()),
            Err(e @ Error::Rejected { .. }) => println!("call {i:2}: {e}"),
            Err(e) => println!("call {i:2}: transport error: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    println!(
        "the server saw {} requests of 30",
        hits.load(Ordering::SeqCst)
    );
    print!("{}", registry.metrics_text());
}
