//! The demo's callers: hyper clients behind the tower layer, one service
//! per dependency, several tasks per service.

use super::service::Dependency;
use fusebox_std::tower::{CircuitBreakerLayer, CircuitBreakerService, HttpClassifier};
use fusebox_std::{Error, StdBreaker};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_layer::Layer;
use tower_service::Service;

type Request = http::Request<Empty<Bytes>>;
type Response = http::Response<Incoming>;

/// Why a call that reached for the service got no response.
#[derive(Debug)]
pub enum CallError {
    /// No response within the clients' timeout.
    Timeout,
    /// The connection failed.
    Transport(hyper_util::client::legacy::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => f.write_str("timed out"),
            CallError::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

/// The shared hyper client with a per-request timeout, as a tower service.
/// Inside the breaker, so a timeout counts as a failure.
#[derive(Clone)]
pub struct TimedClient {
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

impl TimedClient {
    pub fn new(timeout: Duration) -> Self {
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(usize::MAX)
            .build_http();
        TimedClient { client, timeout }
    }
}

impl Service<Request> for TimedClient {
    type Response = Response;
    type Error = CallError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, CallError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), CallError>> {
        // The legacy client queues requests itself; it is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let fut = self.client.request(req);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r.map_err(CallError::Transport),
                Err(_) => Err(CallError::Timeout),
            }
        })
    }
}

/// Latencies in quarter-octave buckets: bucket `i` holds durations of
/// about 2^(i/4) µs (within 19 %), in constant memory however long the run.
#[derive(Clone, Debug)]
pub struct Latencies {
    counts: [u64; 128],
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies { counts: [0; 128] }
    }
}

impl Latencies {
    fn bucket(us: u64) -> usize {
        // 4 * log2(us), floored; 0 and 1 µs share bucket 0.
        let us = us.max(1) as f64;
        ((us.log2() * 4.0) as usize).min(127)
    }

    pub fn add(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.counts[Self::bucket(us)] += 1;
    }

    fn merge(&mut self, o: &Latencies) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
    }

    /// The `q`-quantile in µs (its bucket's geometric middle, within 9 %),
    /// or `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n: u64 = self.counts.iter().sum();
        if n == 0 {
            return None;
        }
        let rank = ((n as f64 * q).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        self.counts.iter().enumerate().find_map(|(i, c)| {
            seen += c;
            (seen >= rank).then(|| 2f64.powf((i as f64 + 0.5) / 4.0).round() as u64)
        })
    }
}

/// What the callers of one dependency saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Permitted calls answered with a success (2xx–4xx but 429).
    pub ok: u64,
    /// Permitted calls that failed: 5xx, timeout or transport error.
    pub failed: u64,
    /// Permitted calls answered 429 (counted nowhere; `Retry-After` opens).
    pub limited: u64,
    /// Calls the breaker turned away without touching the network.
    pub rejected: u64,
    /// How long each permitted call took.
    pub permitted: Latencies,
    /// How long each rejection took.
    pub rejections: Latencies,
}

impl Seen {
    fn merge(&mut self, o: &Seen) {
        self.ok += o.ok;
        self.failed += o.failed;
        self.limited += o.limited;
        self.rejected += o.rejected;
        self.permitted.merge(&o.permitted);
        self.rejections.merge(&o.rejections);
    }
}

/// How the callers of each dependency run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The service.
    pub addr: SocketAddr,
    /// Callers per dependency.
    pub tasks: usize,
    /// Pause between one caller's calls.
    pub think: Duration,
    /// When to stop calling.
    pub deadline: Instant,
    /// Set to stop early (Ctrl-C).
    pub stop: Arc<AtomicBool>,
}

/// Runs the plan's callers of `dep` behind `breaker`; returns what they saw.
pub async fn drive(dep: Dependency, breaker: StdBreaker, client: TimedClient, plan: Plan) -> Seen {
    let svc = CircuitBreakerLayer::new(Arc::new(breaker)).layer(client);
    let uri: http::Uri = format!("http://{}/{}", plan.addr, dep.name())
        .parse()
        .expect("a loopback URI");
    let handles: Vec<_> = (0..plan.tasks)
        .map(|_| tokio::spawn(caller(svc.clone(), uri.clone(), plan.clone())))
        .collect();
    let mut seen = Seen::default();
    for h in handles {
        if let Ok(s) = h.await {
            seen.merge(&s);
        }
    }
    seen
}

type Guarded = CircuitBreakerService<TimedClient, StdBreaker, HttpClassifier>;

async fn caller(mut svc: Guarded, uri: http::Uri, plan: Plan) -> Seen {
    let mut seen = Seen::default();
    // Relaxed: a flag polled between calls; lateness of one call is harmless.
    while Instant::now() < plan.deadline && !plan.stop.load(Ordering::Relaxed) {
        let req = http::Request::get(uri.clone())
            .body(Empty::new())
            .expect("a GET request");
        let began = Instant::now();
        let result = match poll_fn(|cx| svc.poll_ready(cx)).await {
            Ok(()) => svc.call(req).await,
            Err(e) => Err(e),
        };
        let took = began.elapsed();
        match result {
            Ok(res) => {
                let status = res.status();
                // Read the (empty) body so the connection goes back to the pool.
                let _ = res.into_body().collect().await;
                if status == http::StatusCode::TOO_MANY_REQUESTS {
                    seen.limited += 1;
                } else if status.is_server_error() {
                    seen.failed += 1;
                } else {
                    seen.ok += 1;
                }
                seen.permitted.add(took);
            }
            Err(Error::Rejected { .. }) => {
                seen.rejected += 1;
                seen.rejections.add(took);
            }
            Err(_) => {
                seen.failed += 1;
                seen.permitted.add(took);
            }
        }
        if Instant::now() < plan.deadline {
            tokio::time::sleep(plan.think).await;
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_fall_in_the_bucket_of_the_value() {
        let mut l = Latencies::default();
        assert_eq!(l.quantile(0.5), None);
        for us in [1, 1, 1, 1000, 1000, 1000, 1000, 300_000] {
            l.add(Duration::from_micros(us));
        }
        assert_eq!(l.quantile(0.25), Some(1));
        let p50 = l.quantile(0.5).unwrap();
        assert!((841..=1000).contains(&p50), "{p50}");
        let p99 = l.quantile(0.99).unwrap();
        assert!((252_000..=300_000).contains(&p99), "{p99}");
    }
}
