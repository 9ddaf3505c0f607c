//! An `axum` router to inspect and steer the breakers of a [`Registry`]
//! (feature `admin`, opt-in).
//!
//! | route | answer |
//! |---|---|
//! | `GET /breakers` | every breaker's snapshot, as a JSON array |
//! | `GET /breakers/{name}` | one breaker's snapshot as JSON, or 404 |
//! | `GET /metrics` | [`Registry::metrics_text`] (OpenMetrics text) |
//! | `POST /breakers/{name}/force-open` | [`StdBreaker::force_open`] |
//! | `POST /breakers/{name}/metrics-only` | [`StdBreaker::metrics_only`] |
//! | `POST /breakers/{name}/disable` | [`StdBreaker::disable`] |
//! | `POST /breakers/{name}/half-open` | [`StdBreaker::transition_to_half_open`] |
//! | `POST /breakers/{name}/reset` | [`StdBreaker::reset`] |
//!
//! Mutating routes need `Authorization: Bearer <token>`, compared in
//! constant time. Without a configured token ([`router`]) they answer 403
//! and change nothing; with one ([`router_with_token`]) a missing or wrong
//! token answers 401 and changes nothing, whether or not the breaker exists
//! (so that names do not leak); a right token and an unknown breaker answer
//! 404. Mount the router under a path of your own with `Router::nest`.

use crate::clock::StdClock;
use crate::registry::Registry;
use crate::std_breaker::StdBreaker;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusebox_core::Clock;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Clone)]
struct Admin {
    registry: Registry,
    token: Option<Arc<[u8]>>,
}

/// A read-only admin router: mutating routes answer 403.
pub fn router(registry: Registry) -> Router {
    build(Admin {
        registry,
        token: None,
    })
}

/// An admin router whose mutating routes accept `Authorization: Bearer
/// <token>`.
///
/// # Panics
/// If `token` is empty.
pub fn router_with_token(registry: Registry, token: impl AsRef<str>) -> Router {
    let token = token.as_ref().as_bytes();
    assert!(
        !token.is_empty(),
        "an empty admin token would accept anyone"
    );
    build(Admin {
        registry,
        token: Some(Arc::from(token)),
    })
}

fn build(admin: Admin) -> Router {
    Router::new()
        .route("/breakers", get(list))
        .route("/breakers/{name}", get(one))
        .route("/breakers/{name}/{action}", post(steer))
        .route("/metrics", get(metrics))
        .with_state(admin)
}

/// A breaker as the admin routes show it.
pub fn snapshot_json(b: &StdBreaker) -> Value {
    let s = b.snapshot();
    let now = StdClock.now();
    let rate = |r: Option<fusebox_core::Ratio>| r.map(|r| r.basis_points() as f64 / 10_000.0);
    let t = b.observer().totals().snapshot();
    json!({
        "name": b.name(),
        "state": s.state.as_str(),
        "health": b.health().as_str(),
        "epoch": s.epoch,
        "window": { "calls": s.window.calls, "failures": s.window.failures, "slow": s.window.slow },
        "failure_rate": rate(s.failure_rate),
        "slow_call_rate": rate(s.slow_call_rate),
        "consecutive_failures": s.consecutive_failures,
        "half_open_admitted": s.half_open_admitted,
        "half_open_succeeded": s.half_open_succeeded,
        "trips": s.trips,
        "open_remaining_ms": s.open_until.map(|u| u.saturating_sub(now) / 1_000_000),
        "backoff_level": s.backoff_level,
        "probe_eligible": s.probe_eligible,
        "totals": {
            "success": t.success, "failure": t.failure, "ignored": t.ignored,
            "rejected": t.rejected, "slow": t.slow, "stale": t.stale, "abandoned": t.abandoned,
        },
    })
}

async fn list(State(admin): State<Admin>) -> Json<Value> {
    Json(Value::Array(
        admin
            .registry
            .breakers()
            .iter()
            .map(snapshot_json)
            .collect(),
    ))
}

async fn one(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    match admin.registry.get(&name) {
        Some(b) => Json(snapshot_json(&b)).into_response(),
        None => not_found(&name),
    }
}

async fn metrics(State(admin): State<Admin>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        admin.registry.metrics_text(),
    )
        .into_response()
}

fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no breaker named {name:?}") })),
    )
        .into_response()
}

/// Equal without an early exit, so that the time taken does not tell how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

async fn steer(
    State(admin): State<Admin>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = &admin.token else {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "mutations are disabled: no admin token is configured" })),
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if !given.is_some_and(|g| constant_time_eq(g, token)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token" })),
        )
            .into_response();
    }
    let Some(b) = admin.registry.get(&name) else {
        return not_found(&name);
    };
    match action.as_str() {
        "force-open" => b.force_open(),
        "metrics-only" => b.metrics_only(),
        "disable" => b.disable(),
        "half-open" => b.transition_to_half_open(),
        "reset" => b.reset(),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": format!("no action {action:?}; use force-open, metrics-only, disable, half-open or reset")
                })),
            )
                .into_response()
        }
    }
    Json(snapshot_json(&b)).into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison_needs_equal_length_and_bytes() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
    }
}
