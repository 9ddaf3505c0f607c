//! An `axum` router to inspect and steer the breakers of a [`Registry`]
//! (feature `admin`, opt-in).
//!
//! | route | answer |
//! |---|---|
//! | `GET /breakers` | every breaker's snapshot, as a JSON array |
//! | `GET /breakers/{name}` | one breaker's snapshot as JSON, or 404 |
//! | `GET /health` | [`Registry::health`]: the worst health, counts, and each breaker's health and why |
//! | `GET /metrics` | [`Registry::metrics_text`] (OpenMetrics text) |
//! | `POST /breakers/{name}/force-open` | [`StdBreaker::force_open`] |
//! | `POST /breakers/{name}/force-closed` | [`StdBreaker::force_closed`] (the same as `reset`) |
//! | `POST /breakers/{name}/metrics-only` | [`StdBreaker::metrics_only`] |
//! | `POST /breakers/{name}/disable` | [`StdBreaker::disable`] |
//! | `POST /breakers/{name}/half-open` | [`StdBreaker::transition_to_half_open`] |
//! | `POST /breakers/{name}/reset` | [`StdBreaker::reset`] |
//! | `POST /reload` | [`Registry::reload_file`] from the file given to [`AdminRouter::reload_from`]: the report as JSON (200), or the error (422, nothing changed); 404 without a file |
//!
//! # Access
//!
//! Every route needs `Authorization: Bearer <token>` by default, reads
//! included: breaker names, states and totals tell an outsider what the
//! service depends on and how it is doing. Build the router with
//! [`AdminRouter`]:
//!
//! - [`token`](AdminRouter::token): the admin token, good for every route.
//! - [`read_token`](AdminRouter::read_token): a second token, good for the
//!   `GET` routes only (for dashboards and health checkers).
//! - [`public_reads`](AdminRouter::public_reads): the `GET` routes need no
//!   token. An explicit opt-out, for a port that only a trusted network
//!   reaches.
//!
//! A request without a token that the route accepts answers 401 and
//! changes nothing, before the breaker is looked up, so that a 404 never
//! tells an outsider which names exist; with a right token, an unknown
//! breaker answers 404. Mutating routes of a router without an admin token
//! answer 403; so do reads of a router with neither a token nor
//! `public_reads`.
//!
//! Tokens are compared as SHA-256 digests in constant time ([`subtle`]), so
//! that the time taken tells neither how much of a guess was right nor how
//! long the token is. Mount the router under a path of your own with
//! `Router::nest`.
//!
//! ```
//! use fusebox_std::{admin::AdminRouter, Registry};
//! let registry = Registry::new();
//! let router: axum::Router = AdminRouter::new(registry)
//!     .token("a long random admin secret")
//!     .read_token("the dashboard's secret")
//!     .build();
//! ```

use crate::clock::StdClock;
use crate::registry::{Health, Registry};
use crate::reload::{Change, ReloadReport};
use crate::std_breaker::StdBreaker;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusebox_core::Clock;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path as FsPath;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// A token, kept as its SHA-256 digest: comparing two digests of fixed
/// length in constant time tells nothing about the token's length.
#[derive(Clone, Copy)]
struct Token([u8; 32]);

impl Token {
    /// # Panics
    /// If `token` is empty: it would accept anyone.
    fn new(token: &str) -> Token {
        assert!(
            !token.is_empty(),
            "an empty admin token would accept anyone"
        );
        Token(Sha256::digest(token.as_bytes()).into())
    }

    fn matches(&self, given: &[u8]) -> bool {
        let given: [u8; 32] = Sha256::digest(given).into();
        self.0.ct_eq(&given).into()
    }
}

/// Who may do what: see the [module docs](self).
#[derive(Clone)]
pub struct AdminRouter {
    registry: Registry,
    admin: Option<Token>,
    read: Option<Token>,
    public_reads: bool,
    reload_from: Option<Arc<FsPath>>,
}

impl AdminRouter {
    /// A router over `registry` that accepts nothing until given a token
    /// (or [`public_reads`](Self::public_reads)).
    pub fn new(registry: Registry) -> AdminRouter {
        AdminRouter {
            registry,
            admin: None,
            read: None,
            public_reads: false,
            reload_from: None,
        }
    }

    /// The admin token: every route accepts it.
    ///
    /// # Panics
    /// If `token` is empty.
    pub fn token(mut self, token: impl AsRef<str>) -> AdminRouter {
        self.admin = Some(Token::new(token.as_ref()));
        self
    }

    /// A token for the `GET` routes only.
    ///
    /// # Panics
    /// If `token` is empty.
    pub fn read_token(mut self, token: impl AsRef<str>) -> AdminRouter {
        self.read = Some(Token::new(token.as_ref()));
        self
    }

    /// The `GET` routes need no token: only for a port that no untrusted
    /// client can reach. Mutating routes still need the admin token.
    pub fn public_reads(mut self) -> AdminRouter {
        self.public_reads = true;
        self
    }

    /// `POST /reload` reloads the registry from the config file at `path`
    /// (admin token only). The path is fixed here, never taken from a
    /// request.
    pub fn reload_from(mut self, path: impl AsRef<FsPath>) -> AdminRouter {
        self.reload_from = Some(Arc::from(path.as_ref()));
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        Router::new()
            .route("/breakers", get(list))
            .route("/breakers/{name}", get(one))
            .route("/breakers/{name}/{action}", post(steer))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .route("/reload", post(reload))
            .with_state(self)
    }

    /// `None` if a read may go on, else the answer.
    fn refuse_read(&self, headers: &HeaderMap) -> Option<Response> {
        if self.public_reads {
            return None;
        }
        if self.admin.is_none() && self.read.is_none() {
            return Some(forbidden(
                "reads are disabled: no admin or read token is configured",
            ));
        }
        let given = bearer(headers);
        // Both tokens are checked, so the time does not say which matched.
        let admin = self
            .admin
            .is_some_and(|t| given.is_some_and(|g| t.matches(g)));
        let read = self
            .read
            .is_some_and(|t| given.is_some_and(|g| t.matches(g)));
        if admin | read {
            None
        } else {
            Some(unauthorized())
        }
    }

    /// `None` if a mutation may go on, else the answer.
    fn refuse_write(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(token) = &self.admin else {
            return Some(forbidden(
                "mutations are disabled: no admin token is configured",
            ));
        };
        if bearer(headers).is_some_and(|g| token.matches(g)) {
            None
        } else {
            Some(unauthorized())
        }
    }
}

/// An admin router whose routes all accept `Authorization: Bearer <token>`
/// (and need it): `AdminRouter::new(registry).token(token).build()`.
///
/// # Panics
/// If `token` is empty.
pub fn router_with_token(registry: Registry, token: impl AsRef<str>) -> Router {
    AdminRouter::new(registry).token(token).build()
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
}

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({ "error": "missing or wrong bearer token" })),
    )
        .into_response()
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

async fn list(State(admin): State<AdminRouter>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin.refuse_read(&headers) {
        return refused;
    }
    Json(Value::Array(
        admin
            .registry
            .breakers()
            .iter()
            .map(snapshot_json)
            .collect(),
    ))
    .into_response()
}

async fn one(
    State(admin): State<AdminRouter>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admin.refuse_read(&headers) {
        return refused;
    }
    match admin.registry.get(&name) {
        Some(b) => Json(snapshot_json(&b)).into_response(),
        None => not_found(&name),
    }
}

async fn health(State(admin): State<AdminRouter>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin.refuse_read(&headers) {
        return refused;
    }
    let report = admin.registry.health();
    let breakers: serde_json::Map<String, Value> = admin
        .registry
        .breakers()
        .iter()
        .map(|b| {
            let (health, reason) = b.health_and_reason();
            (
                b.name().to_string(),
                json!({ "health": health.as_str(), "reason": reason }),
            )
        })
        .collect();
    Json(json!({
        "overall": report.overall.as_str(),
        "counts": {
            "healthy": report.count(Health::Healthy),
            "degraded": report.count(Health::Degraded),
            "critical": report.count(Health::Critical),
        },
        "breakers": breakers,
    }))
    .into_response()
}

async fn metrics(State(admin): State<AdminRouter>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin.refuse_read(&headers) {
        return refused;
    }
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

async fn steer(
    State(admin): State<AdminRouter>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admin.refuse_write(&headers) {
        return refused;
    }
    let Some(b) = admin.registry.get(&name) else {
        return not_found(&name);
    };
    match action.as_str() {
        "force-open" => b.force_open(),
        "force-closed" => b.force_closed(),
        "metrics-only" => b.metrics_only(),
        "disable" => b.disable(),
        "half-open" => b.transition_to_half_open(),
        "reset" => b.reset(),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": format!("no action {action:?}; use force-open, force-closed, metrics-only, disable, half-open or reset")
                })),
            )
                .into_response()
        }
    }
    Json(snapshot_json(&b)).into_response()
}

/// A reload report as `POST /reload` answers it.
pub fn reload_json(report: &ReloadReport) -> Value {
    let breakers: serde_json::Map<String, Value> = report
        .breakers
        .iter()
        .map(|(name, change)| {
            let mut v = json!({ "change": change.as_str() });
            if let Change::Reconfigured(c) = change {
                let parts =
                    |ps: &[crate::reload::Part]| ps.iter().map(|p| p.as_str()).collect::<Vec<_>>();
                v["from"] = json!(c.from.as_str());
                v["to"] = json!(c.to.as_str());
                v["open_remaining_ms"] = json!(c.open_for.map(|d| d.as_millis() as u64));
                v["clamped"] = json!(c.clamped);
                v["kept"] = json!(parts(&c.kept));
                v["reset"] = json!(parts(&c.reset));
            }
            (name.clone(), v)
        })
        .collect();
    json!({ "source": report.source, "breakers": breakers })
}

async fn reload(State(admin): State<AdminRouter>, headers: HeaderMap) -> Response {
    if let Some(refused) = admin.refuse_write(&headers) {
        return refused;
    }
    let Some(path) = &admin.reload_from else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no config file to reload from (AdminRouter::reload_from)" })),
        )
            .into_response();
    };
    // A config file is small (at most `MAX_FILE_BYTES`): read in place.
    match admin.registry.reload_file(path) {
        Ok(report) => Json(reload_json(&report)).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string(), "changed": false })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    fn matches(token: &[u8], guess: &[u8]) -> bool {
        Token::new(std::str::from_utf8(token).unwrap()).matches(guess)
    }

    /// The fastest of many runs, in nanoseconds.
    fn fastest(token: &[u8], guess: &[u8]) -> u128 {
        (0..200)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(matches(std::hint::black_box(token), guess));
                start.elapsed().as_nanos()
            })
            .min()
            .unwrap()
    }

    #[test]
    fn the_time_to_refuse_a_guess_does_not_tell_the_tokens_length() {
        let guess = vec![b'x'; 1 << 16];
        let same_length = vec![b'y'; 1 << 16];
        let longer = vec![b'y'; (1 << 16) + 1];
        let (a, b) = (fastest(&same_length, &guess), fastest(&longer, &guess));
        assert!(
            a.max(b) < 4 * a.min(b).max(1),
            "token of the guess's length: {a} ns; one byte longer: {b} ns"
        );
    }

    #[test]
    fn token_comparison_needs_equal_length_and_bytes() {
        assert!(matches(b"s3cret", b"s3cret"));
        assert!(!matches(b"s3cret", b"s3creT"));
        assert!(!matches(b"s3cret", b"s3cre"));
        assert!(!matches(b"s3cret", b""));
    }
}
