//! The demo's dependency: a loopback HTTP service with three routes that
//! fail on one schedule, each in its own way.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The parts of the run, as fractions of `--duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Every route answers well (with a little noise on `inventory`).
    Healthy,
    /// Every route fails in its own way.
    Outage,
    /// Routes fail and heal in turns.
    Flapping,
    /// Healthy again.
    Recovery,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Healthy,
        Phase::Outage,
        Phase::Flapping,
        Phase::Recovery,
    ];

    /// Where the phase starts, as a fraction of the run.
    pub fn starts_at(self) -> f64 {
        match self {
            Phase::Healthy => 0.0,
            Phase::Outage => 0.2,
            Phase::Flapping => 0.5,
            Phase::Recovery => 0.75,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Outage => "outage",
            Phase::Flapping => "flapping",
            Phase::Recovery => "recovery",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Phase::Healthy => "all dependencies answer (inventory fails 1 call in 50)",
            Phase::Outage => {
                "inventory answers 503, payments is slow or hangs, search answers 429 + Retry-After"
            }
            Phase::Flapping => "the dependencies fail and heal in alternate twentieths of the run",
            Phase::Recovery => "all dependencies answer again (inventory: 1 call in 50 fails)",
        }
    }
}

/// Which phase a moment of the run is in, and whether the dependencies fail.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub start: Instant,
    pub total: Duration,
}

impl Schedule {
    pub fn phase_at(&self, elapsed: Duration) -> Phase {
        let f = elapsed.as_secs_f64() / self.total.as_secs_f64();
        Phase::ALL
            .into_iter()
            .rev()
            .find(|p| f >= p.starts_at())
            .unwrap_or(Phase::Healthy)
    }

    /// Whether the dependencies fail at `elapsed`: all through the outage,
    /// and in alternate slots of a twentieth of the run while flapping.
    pub fn failing(&self, elapsed: Duration) -> bool {
        match self.phase_at(elapsed) {
            Phase::Outage => true,
            Phase::Flapping => {
                let slot = self.total.as_secs_f64() / 20.0;
                ((elapsed.as_secs_f64() / slot) as u64).is_multiple_of(2)
            }
            Phase::Healthy | Phase::Recovery => false,
        }
    }
}

/// The three routes, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// Fails fast with 503.
    Inventory,
    /// Answers slowly, and sometimes not at all, while failing.
    Payments,
    /// Answers 429 with `Retry-After` while failing.
    Search,
}

impl Dependency {
    pub const ALL: [Dependency; 3] = [
        Dependency::Inventory,
        Dependency::Payments,
        Dependency::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dependency::Inventory => "inventory",
            Dependency::Payments => "payments",
            Dependency::Search => "search",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How the service misbehaves.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// A slow payments answer.
    pub slow: Duration,
    /// A hung payments answer (longer than the clients' timeout).
    pub hang: Duration,
    /// `Retry-After` of search's 429s, in seconds.
    pub retry_after_s: u64,
}

/// The service's side of the story: requests that reached each route.
#[derive(Debug, Default)]
pub struct Served {
    hits: [AtomicU64; 3],
}

impl Served {
    pub fn hits(&self, d: Dependency) -> u64 {
        // Relaxed: a statistic, read once the callers have stopped.
        self.hits[d.index()].load(Ordering::Relaxed)
    }

    fn hit(&self, d: Dependency) -> u64 {
        // Relaxed: a count; its value only spreads noise and hangs.
        self.hits[d.index()].fetch_add(1, Ordering::Relaxed)
    }
}

/// Serves the three routes on `127.0.0.1` until the runtime stops.
pub async fn start(
    schedule: Schedule,
    behaviour: Behaviour,
) -> std::io::Result<(SocketAddr, Arc<Served>)> {
    let served = Arc::new(Served::default());
    let mut app = axum::Router::new();
    for dep in Dependency::ALL {
        let served = Arc::clone(&served);
        app = app.route(
            &format!("/{}", dep.name()),
            axum::routing::get(move || {
                let served = Arc::clone(&served);
                async move { answer(dep, &schedule, &behaviour, &served).await }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        // The server lives as long as the runtime; an accept error ends it
        // and the clients then count transport failures.
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, served))
}

async fn answer(
    dep: Dependency,
    schedule: &Schedule,
    behaviour: &Behaviour,
    served: &Served,
) -> Response {
    let n = served.hit(dep);
    let failing = schedule.failing(schedule.start.elapsed());
    match dep {
        Dependency::Inventory => {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if failing || n % 50 == 49 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        Dependency::Payments => {
            let wait = match (failing, n % 10) {
                (true, 9) => behaviour.hang,
                (true, _) => behaviour.slow,
                (false, _) => Duration::from_millis(15),
            };
            tokio::time::sleep(wait).await;
            StatusCode::OK.into_response()
        }
        Dependency::Search => {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if failing {
                let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
                r.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    HeaderValue::from(behaviour.retry_after_s),
                );
                r
            } else {
                StatusCode::OK.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_fractions_of_the_run() {
        let s = Schedule {
            start: Instant::now(),
            total: Duration::from_secs(20),
        };
        let at = |ms| s.phase_at(Duration::from_millis(ms));
        assert_eq!(at(0), Phase::Healthy);
        assert_eq!(at(3_999), Phase::Healthy);
        assert_eq!(at(4_000), Phase::Outage);
        assert_eq!(at(9_999), Phase::Outage);
        assert_eq!(at(10_000), Phase::Flapping);
        assert_eq!(at(15_000), Phase::Recovery);
        assert_eq!(at(25_000), Phase::Recovery);
    }

    #[test]
    fn flapping_alternates_every_twentieth_of_the_run() {
        let s = Schedule {
            start: Instant::now(),
            total: Duration::from_secs(20),
        };
        let failing = |ms| s.failing(Duration::from_millis(ms));
        assert!(!failing(1_000));
        assert!(failing(5_000));
        assert!(failing(10_500));
        assert!(!failing(11_500));
        assert!(failing(12_500));
        assert!(!failing(13_500));
        assert!(!failing(16_000));
    }
}
