//! A loopback HTTP server and a consecutive-failures breaker, shared by the
//! tower, retry and gRPC tests.
#![allow(dead_code)]

use axum::http::StatusCode;
use fusebox_core::Config;
use fusebox_std::{BreakerSpec, StdBreaker, WindowSpec};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A server on 127.0.0.1 answering `GET /` with the status in `status`,
/// counting hits.
pub async fn status_server(status: Arc<AtomicU16>, hits: Arc<AtomicU32>) -> SocketAddr {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let status = Arc::clone(&status);
            let hits = Arc::clone(&hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    serve(app).await
}

/// Serves `app` on a free port of 127.0.0.1.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A breaker named `upstream` that trips after `failures` in a row.
pub fn consecutive_breaker(failures: u32, open_for: Duration) -> Arc<StdBreaker> {
    let config = Config::builder()
        .consecutive_failures(failures)
        .open_for(open_for)
        .build()
        .unwrap();
    let spec = BreakerSpec {
        config,
        window: WindowSpec::None,
    };
    Arc::new(StdBreaker::new("upstream", spec).unwrap())
}
