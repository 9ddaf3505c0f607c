//! The admin router over real HTTP on 127.0.0.1.
#![cfg(feature = "admin")]

use fusebox_core::{Config, State};
use fusebox_std::{admin, BreakerSpec, CallExt, Registry, WindowSpec};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;

const TOKEN: &str = "correct horse battery staple";

fn registry() -> Registry {
    let registry = Registry::new();
    let spec = || BreakerSpec {
        config: Config::builder().consecutive_failures(2).build().unwrap(),
        window: WindowSpec::None,
    };
    let db = registry.get_or_insert_with("db", spec).unwrap();
    let _ = db.call(|| Err::<(), _>("refused"));
    registry.get_or_insert_with("search", spec).unwrap();
    registry
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// Sends a request; returns the status and the body.
async fn send(method: &str, addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = client
        .request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn get_breakers_lists_each_snapshot_as_json() {
    let addr = serve(admin::AdminRouter::new(registry()).public_reads().build()).await;
    let (status, body) = send("GET", addr, "/breakers", None).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "db");
    assert_eq!(list[0]["state"], "closed");
    assert_eq!(list[0]["consecutive_failures"], 1);
    assert_eq!(list[0]["health"], "degraded");
    assert_eq!(list[0]["totals"]["failure"], 1);

    let (status, body) = send("GET", addr, "/breakers/search", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"name\":\"search\""), "{body}");
}

#[tokio::test]
async fn unknown_breaker_is_404() {
    let addr = serve(admin::router_with_token(registry(), TOKEN)).await;
    assert_eq!(
        send("GET", addr, "/breakers/nope", Some(TOKEN)).await.0,
        404
    );
    assert_eq!(
        send("POST", addr, "/breakers/nope/reset", Some(TOKEN))
            .await
            .0,
        404
    );
    assert_eq!(
        send("POST", addr, "/breakers/db/explode", Some(TOKEN))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn metrics_route_serves_the_prometheus_text() {
    let addr = serve(admin::AdminRouter::new(registry()).public_reads().build()).await;
    let (status, body) = send("GET", addr, "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("circuit_breaker_requests_total{name=\"db\",result=\"failure\"} 1"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"));
}

#[tokio::test]
async fn without_a_configured_token_mutations_are_refused_and_change_nothing() {
    let registry = registry();
    let addr = serve(
        admin::AdminRouter::new(registry.clone())
            .public_reads()
            .build(),
    )
    .await;
    let (status, _) = send("POST", addr, "/breakers/db/force-open", Some("anything")).await;
    assert_eq!(status, 403);
    assert_eq!(registry.get("db").unwrap().state(), State::Closed);
}

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_and_changes_nothing() {
    let registry = registry();
    let addr = serve(admin::router_with_token(registry.clone(), TOKEN)).await;
    for token in [
        None,
        Some("wrong"),
        Some("correct horse battery stapl"),
        Some(""),
    ] {
        for action in ["force-open", "metrics-only", "disable", "reset"] {
            let (status, _) = send("POST", addr, &format!("/breakers/db/{action}"), token).await;
            assert_eq!(status, 401, "{action} with {token:?}");
        }
        // Names do not leak: an unknown breaker also gets 401.
        assert_eq!(
            send("POST", addr, "/breakers/nope/reset", token).await.0,
            401
        );
    }
    let db = registry.get("db").unwrap().snapshot();
    assert_eq!(
        (db.state, db.consecutive_failures),
        (State::Closed, 1),
        "nothing changed"
    );
}

#[tokio::test]
async fn the_right_token_steers_the_breaker() {
    let registry = registry();
    let addr = serve(admin::router_with_token(registry.clone(), TOKEN)).await;
    let db = registry.get("db").unwrap();
    for (action, state) in [
        ("force-open", State::ForcedOpen),
        ("metrics-only", State::MetricsOnly),
        ("disable", State::Disabled),
        ("half-open", State::HalfOpen),
        ("reset", State::Closed),
    ] {
        let (status, body) =
            send("POST", addr, &format!("/breakers/db/{action}"), Some(TOKEN)).await;
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(db.state(), state, "{action}");
        assert!(
            body.contains(&format!("\"state\":\"{}\"", state.as_str())),
            "{body}"
        );
    }
}

#[tokio::test]
async fn reads_need_the_token_by_default_and_do_not_tell_which_names_exist() {
    let addr = serve(admin::router_with_token(registry(), TOKEN)).await;
    for path in [
        "/breakers",
        "/breakers/db",
        "/breakers/nope",
        "/metrics",
        "/health",
    ] {
        for token in [None, Some("wrong")] {
            let (status, body) = send("GET", addr, path, token).await;
            assert_eq!(status, 401, "{path} with {token:?}: {body}");
            assert!(!body.contains("db"), "{body}");
        }
    }
    assert_eq!(send("GET", addr, "/breakers/db", Some(TOKEN)).await.0, 200);
    assert_eq!(
        send("GET", addr, "/breakers/nope", Some(TOKEN)).await.0,
        404
    );
}

#[tokio::test]
async fn force_closed_closes_a_forced_open_breaker() {
    let registry = registry();
    let addr = serve(admin::router_with_token(registry.clone(), TOKEN)).await;
    let db = registry.get("db").unwrap();
    db.force_open();
    let (status, body) = send("POST", addr, "/breakers/db/force-closed", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(db.state(), State::Closed);
    assert_eq!(
        db.snapshot().consecutive_failures,
        0,
        "the window and run start empty"
    );
}

#[tokio::test]
async fn health_route_reports_the_worst_health_and_why() {
    let registry = registry();
    let addr = serve(admin::router_with_token(registry.clone(), TOKEN)).await;
    registry.get("search").unwrap().force_open();
    let (status, body) = send("GET", addr, "/health", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["overall"], "critical", "{body}");
    assert_eq!(v["counts"]["critical"], 1, "{body}");
    assert_eq!(v["counts"]["degraded"], 1, "{body}");
    assert_eq!(v["breakers"]["search"]["health"], "critical", "{body}");
    assert!(
        v["breakers"]["search"]["reason"]
            .as_str()
            .unwrap()
            .contains("forced open"),
        "{body}"
    );
    assert_eq!(v["breakers"]["db"]["health"], "degraded", "{body}");
    assert!(
        v["breakers"]["db"]["reason"]
            .as_str()
            .unwrap()
            .contains("1 consecutive failure"),
        "{body}"
    );
}

#[tokio::test]
async fn a_read_token_reads_and_cannot_steer() {
    let registry = registry();
    let router = admin::AdminRouter::new(registry.clone())
        .token(TOKEN)
        .read_token("dashboard")
        .build();
    let addr = serve(router).await;
    for path in ["/breakers", "/breakers/db", "/metrics", "/health"] {
        assert_eq!(
            send("GET", addr, path, Some("dashboard")).await.0,
            200,
            "{path}"
        );
        assert_eq!(send("GET", addr, path, Some(TOKEN)).await.0, 200, "{path}");
    }
    let (status, _) = send("POST", addr, "/breakers/db/force-open", Some("dashboard")).await;
    assert_eq!(status, 401);
    assert_eq!(registry.get("db").unwrap().state(), State::Closed);
}

#[tokio::test]
async fn without_any_token_or_public_reads_everything_is_refused() {
    let addr = serve(admin::AdminRouter::new(registry()).build()).await;
    for path in ["/breakers", "/breakers/db", "/metrics", "/health"] {
        assert_eq!(
            send("GET", addr, path, Some("anything")).await.0,
            403,
            "{path}"
        );
    }
}
