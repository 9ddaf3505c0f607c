//! Peers' news, in: one pub/sub subscription (replaced when it fails or
//! falls silent for three heartbeats), and at every (re)subscription a
//! read of the state hashes, which covers what was missed meanwhile.

use super::link::{backoff, seed_of, Link, READ_STATE};
use super::quorum::{News, Report, Verdict};
use super::wire::{Entry, Kind, Message};
use super::{adopt, Shared};
use redis::Client;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::{sleep, timeout};

/// Subscribes, joins, listens; again after any failure, after a backoff.
pub(crate) async fn listen(shared: Arc<Shared>, client: Client) {
    let config = &shared.config;
    let mut link = Link::new(client.clone(), config);
    let seed = seed_of(&config.instance);
    let silence = config.heartbeat * 3;
    let mut failures = 0u32;
    loop {
        if failures > 0 {
            // Relaxed: a statistic.
            shared.link_errors.fetch_add(1, Ordering::Relaxed);
            sleep(backoff(
                config.backoff_min,
                config.backoff_max,
                failures,
                seed,
            ))
            .await;
        }
        failures = failures.saturating_add(1);
        let Ok(Ok(mut pubsub)) =
            timeout(config.command_timeout * 2, client.get_async_pubsub()).await
        else {
            continue;
        };
        if !matches!(
            timeout(config.command_timeout, pubsub.subscribe(&shared.channel)).await,
            Ok(Ok(()))
        ) {
            continue;
        }
        if !join(&shared, &mut link).await {
            continue;
        }
        // Release: pairs with the Acquire load in `Fleet::listening`.
        shared.listening.store(true, Ordering::Release);
        shared.joins.send_modify(|n| *n += 1);
        let mut stream = pubsub.into_on_message();
        loop {
            let next = poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut stream), cx));
            match timeout(silence, next).await {
                Ok(Some(msg)) => {
                    if let Ok(line) = msg.get_payload::<String>() {
                        on_message(&shared, &line);
                    }
                }
                // Closed, or silent: not even our own heartbeat came back.
                _ => break,
            }
        }
        // Release: as above.
        shared.listening.store(false, Ordering::Release);
        // A session that ended waits the shortest backoff before the next.
        failures = 1;
    }
}

fn on_message(shared: &Shared, line: &str) {
    let Some(m) = Message::decode(line) else {
        return;
    };
    if m.instance == shared.config.instance {
        return;
    }
    let now = shared.origin.elapsed();
    let news = match m.kind {
        // A saved state never travels as a message; one that does is noise.
        Kind::Heartbeat | Kind::Saved => {
            shared.ledger().heard(&m.instance, now);
            return;
        }
        Kind::Open => News::Open {
            remaining: m.remaining,
        },
        Kind::Close => News::Close,
    };
    if shared.registry.get(&m.breaker).is_none() {
        // Not a breaker of this instance: only a sign of life.
        shared.ledger().heard(&m.instance, now);
        return;
    }
    let verdict = shared.ledger().report(Report {
        breaker: &m.breaker,
        instance: &m.instance,
        epoch: m.epoch,
        news,
        received: now,
    });
    apply(shared, &m.breaker, verdict);
}

/// Carries out a verdict on the local breaker of that name (news about a
/// breaker this instance does not have is kept in the ledger only).
fn apply(shared: &Shared, name: &str, verdict: Verdict) {
    let Some(b) = shared.registry.get(name) else {
        return;
    };
    match verdict {
        Verdict::Adopt { open_for, .. } => adopt_now(shared, &b, name, open_for),
        Verdict::ProbeEarly => {
            let epoch = shared.adopted().remove(name);
            if let Some(epoch) = epoch {
                if adopt::probe_early(&b, epoch) {
                    shared.stats.bump(name, |c| c.early_probes += 1);
                }
            }
        }
        Verdict::AlreadyAdopted { open_for } => {
            // Adopted already, unless the breaker left that open meanwhile.
            let held = shared.adopted().get(name).copied();
            if held.is_some_and(|epoch| epoch != b.snapshot().epoch) {
                adopt_now(shared, &b, name, open_for);
            }
        }
        Verdict::Waiting { .. } | Verdict::Noted | Verdict::Duplicate => {}
    }
}

fn adopt_now(shared: &Shared, b: &crate::StdBreaker, name: &str, open_for: std::time::Duration) {
    match adopt::adopt_open(b, open_for) {
        Some(epoch) => {
            shared.adopted().insert(name.to_string(), epoch);
            shared.stats.bump(name, |c| c.adoptions += 1);
        }
        None => {
            // Not held: the next report may try again (after an operator
            // leaves forced open, say).
            shared.ledger().forget_adoption(name);
            shared.stats.bump(name, |c| c.adoptions_refused += 1);
        }
    }
}

/// Reads every local breaker's state hash: peers' opens still running go
/// through the quorum rule (a new instance joins an outage in progress),
/// and at the first join this instance's own saved state is restored.
async fn join(shared: &Shared, link: &mut Link) -> bool {
    let first = shared.joins.borrow().eq(&0);
    for b in shared.registry.breakers() {
        let name = b.name().to_string();
        let cmd = redis::cmd("EVAL")
            .arg(READ_STATE)
            .arg(1)
            .arg(shared.state_key(&name))
            .clone();
        let read = link
            .run(move |mut c| async move { cmd.query_async::<(u64, Vec<String>)>(&mut c).await })
            .await;
        let Some((server_ms, fields)) = read else {
            shared.stats.bump(&name, |c| c.store_errors += 1);
            return false;
        };
        let me = &shared.config.instance;
        let entries: Vec<(&str, Entry)> = fields
            .chunks_exact(2)
            .filter_map(|pair| Some((pair[0].as_str(), Entry::decode(&pair[1])?)))
            .collect();
        // First this instance's own newest entry (news or save), at the
        // first join only: restored before any peer's open is adopted.
        let own = entries
            .iter()
            .filter(|(field, _)| field.strip_suffix("/saved").unwrap_or(field) == me)
            .max_by_key(|(_, e)| e.stamp_ms);
        if let Some((_, own)) = own.filter(|_| first) {
            if adopt::restore_own(&b, &own.state, own.age_at(server_ms)) {
                shared.stats.bump(&name, |c| c.restores += 1);
            }
        }
        for (instance, entry) in &entries {
            if instance.ends_with("/saved") || instance == me {
                continue;
            }
            let remaining = entry.remaining_at(server_ms);
            let news = match entry.kind {
                Kind::Open if !remaining.is_zero() => News::Open { remaining },
                Kind::Close => News::Close,
                _ => continue,
            };
            let now = shared.origin.elapsed();
            let verdict = shared.ledger().report(Report {
                breaker: &name,
                instance,
                epoch: entry.epoch,
                news,
                received: now,
            });
            if verdict != Verdict::ProbeEarly {
                apply(shared, &name, verdict);
            }
        }
    }
    true
}
