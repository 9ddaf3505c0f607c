//! An axum server whose handler calls a flaky dependency through a breaker,
//! with the admin router mounted under `/admin`:
//! `cargo run -p fusebox-std --features admin --example axum_server`.
//!
//! It serves on 127.0.0.1 for `FUSEBOX_EXAMPLE_SECONDS` seconds (default 2),
//! sending itself a few requests so that there is something to see; set it
//! higher and try `curl -H "Authorization: Bearer change-me"
//! 127.0.0.1:PORT/admin/breakers` (the admin routes, reads included, need
//! the token `FUSEBOX_ADMIN_TOKEN`, default `change-me`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::{admin, CallExt, Error, Registry};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = r#"
[breakers.recommendations]
preset = "http_api"
consecutive_failures = 2
open_for = "1s"
"#;

#[derive(Clone)]
struct App {
    registry: Registry,
    calls: Arc<AtomicU32>,
}

/// A dependency that fails every call after the third.
async fn recommendations(calls: &AtomicU32) -> Result<&'static str, std::io::Error> {
    if calls.fetch_add(1, Ordering::SeqCst) < 3 {
        Ok("[\"socks\", \"sandals\"]")
    } else {
        Err(std::io::Error::other("recommendations backend is down"))
    }
}

async fn home(State(app): State<App>) -> (StatusCode, String) {
    let breaker = app.registry.get("recommendations").expect("configured");
    match breaker.call_async(|| recommendations(&app.calls)).await {
        Ok(list) => (StatusCode::OK, format!("recommended: {list}")),
        Err(Error::Rejected { .. }) => (StatusCode::OK, "recommended: (none for now)".into()),
        Err(Error::Inner(e)) => (StatusCode::OK, format!("recommended: (none: {e})")),
        Err(Error::Timeout) => (StatusCode::OK, "recommended: (none: timed out)".into()),
    }
}

#[tokio::main]
async fn main() {
    let file = FileConfig::parse(Format::Toml, "inline", CONFIG, std::env::vars()).unwrap();
    let registry = Registry::from_config(&file).unwrap();
    let token = std::env::var("FUSEBOX_ADMIN_TOKEN").unwrap_or_else(|_| "change-me".into());
    let app = Router::new()
        .route("/", get(home))
        .with_state(App {
            registry: registry.clone(),
            calls: Arc::new(AtomicU32::new(0)),
        })
        .nest("/admin", admin::router_with_token(registry, &token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    println!("serving on http://{addr} (admin under /admin)");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let seconds: u64 = std::env::var("FUSEBOX_EXAMPLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for _ in 0..6 {
        let body = get_text(addr, "/", None).await;
        println!("GET / -> {body}");
    }
    println!(
        "GET /admin/breakers/recommendations -> {}",
        get_text(addr, "/admin/breakers/recommendations", Some(&token)).await
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;
}

async fn get_text(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> String {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut req = http::Request::get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = client
        .request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}
