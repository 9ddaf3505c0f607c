//! This instance's news, out: transitions taken from the registry's
//! broadcast into a bounded queue (full: dropped and counted), then
//! published by one task that alone waits on Redis.

use super::link::{Link, PUBLISH};
use super::wire::{Entry, Kind, Message};
use super::{adopt, Shared};
use crate::observe::TransitionEvent;
use fusebox_core::{Clock, State, TransitionReason};
use redis::Client;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{interval, Instant, MissedTickBehavior};

/// How long a breaker's state hash outlives its last write.
pub(crate) const STATE_TTL: Duration = Duration::from_secs(24 * 3600);

/// A transition waiting to be published.
#[derive(Debug)]
pub(crate) struct Outgoing {
    kind: Kind,
    breaker: Arc<str>,
    epoch: u64,
    /// For an open: its deadline on [`StdClock`](crate::StdClock).
    open_until: Option<u64>,
    queued_at: Instant,
}

/// Whether a transition is this instance's own evidence about the
/// dependency, worth telling peers: opens from its own failures (never an
/// adopted open, an operator's move or a half-open timeout, so that no
/// instance echoes what it was told), and closes after successful probes.
fn news_of(ev: &TransitionEvent) -> Option<Outgoing> {
    let t = &ev.transition;
    let kind = match (t.to, t.reason) {
        (
            State::Open,
            TransitionReason::ConsecutiveFailures
            | TransitionReason::FailureRate
            | TransitionReason::SlowCallRate
            | TransitionReason::TripPredicate
            | TransitionReason::TripHint
            | TransitionReason::HintExtended
            | TransitionReason::ProbeFailed
            | TransitionReason::ProbeSlow,
        ) => Kind::Open,
        (State::Closed, TransitionReason::ProbesSucceeded) => Kind::Close,
        _ => return None,
    };
    Some(Outgoing {
        kind,
        breaker: Arc::clone(&ev.breaker),
        epoch: t.epoch,
        open_until: if kind == Kind::Open {
            t.open_until
        } else {
            None
        },
        queued_at: Instant::now(),
    })
}

/// Moves the registry's transitions into the publication queue without
/// ever waiting: a full queue drops the news and counts it.
pub(crate) async fn forward(
    shared: Arc<Shared>,
    mut events: broadcast::Receiver<TransitionEvent>,
    queue: mpsc::Sender<Outgoing>,
) {
    loop {
        match events.recv().await {
            Ok(ev) => {
                let Some(out) = news_of(&ev) else { continue };
                if let Err(e) = queue.try_send(out) {
                    let out = match e {
                        mpsc::error::TrySendError::Full(o) => o,
                        mpsc::error::TrySendError::Closed(_) => return,
                    };
                    shared.stats.bump(&out.breaker, |c| c.drops += 1);
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Relaxed: a statistic.
                shared.lost_events.fetch_add(n, Ordering::Relaxed);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Publishes the queue's news and a heartbeat every `heartbeat`.
pub(crate) async fn publish(
    shared: Arc<Shared>,
    client: Client,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    let mut link = Link::new(client, &shared.config);
    let mut beat = interval(shared.config.heartbeat);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let heartbeat = Message {
        kind: Kind::Heartbeat,
        instance: shared.config.instance.clone(),
        epoch: 0,
        remaining: Duration::ZERO,
        breaker: "-".into(),
    }
    .encode();
    loop {
        tokio::select! {
            biased;
            out = queue.recv() => match out {
                Some(out) => send(&shared, &mut link, out).await,
                None => return,
            },
            _ = beat.tick() => {
                let cmd = redis::cmd("PUBLISH").arg(&shared.channel).arg(&heartbeat).clone();
                if link.run(move |mut c| async move { cmd.query_async::<i64>(&mut c).await }).await.is_none() {
                    // Relaxed: a statistic.
                    shared.link_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// One transition, retried (after the link's backoff) until Redis takes
/// it or it is no longer news: an open whose time ran out, a close older
/// than the quorum interval.
async fn send(shared: &Shared, link: &mut Link, out: Outgoing) {
    let config = &shared.config;
    loop {
        let remaining = match out.open_until {
            Some(until) => Duration::from_nanos(until.saturating_sub(crate::StdClock.now())),
            None => Duration::ZERO,
        };
        let expired = match out.kind {
            Kind::Open => remaining.is_zero(),
            _ => out.queued_at.elapsed() > config.interval,
        };
        if expired {
            shared.stats.bump(&out.breaker, |c| c.drops += 1);
            return;
        }
        let message = Message {
            kind: out.kind,
            instance: config.instance.clone(),
            epoch: out.epoch,
            remaining,
            breaker: out.breaker.to_string(),
        }
        .encode();
        let state = shared
            .registry
            .get(&out.breaker)
            .map(|b| adopt::encode(&b.export()))
            .unwrap_or_default();
        let entry = Entry::encode_unstamped(out.kind, out.epoch, remaining, &state);
        let cmd = redis::cmd("EVAL")
            .arg(PUBLISH)
            .arg(1)
            .arg(shared.state_key(&out.breaker))
            .arg(&config.instance)
            .arg(&shared.channel)
            .arg(message)
            .arg(entry)
            .arg(STATE_TTL.as_millis() as u64)
            .clone();
        let sent = link
            .run(move |mut c| async move { cmd.query_async::<i64>(&mut c).await })
            .await;
        match sent {
            Some(_) => {
                shared.stats.bump(&out.breaker, |c| c.publications += 1);
                return;
            }
            None => shared.stats.bump(&out.breaker, |c| c.store_errors += 1),
        }
    }
}
