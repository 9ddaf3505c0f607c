//! Adoption by quorum: what peers reported, and whether an instance should
//! adopt an open it did not see itself.
//!
//! [`Ledger`] is pure bookkeeping: it reads no clock and does no I/O. The
//! fleet's link feeds it each report with the time it was received (a
//! duration since the link started), and applies its [`Verdict`] to the
//! local breaker. Only durations enter it, never another machine's clock.

use std::collections::HashMap;
use std::time::Duration;

/// How many distinct peers must report an open before an instance adopts it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quorum {
    /// At least this many distinct other instances (1: any one peer).
    pub at_least: u32,
    /// Optionally, at least this fraction (0..=1) of the live instances
    /// (this one included), rounded up; the larger of the two counts.
    pub fraction: Option<f64>,
}

impl Quorum {
    /// Any one peer's open is adopted.
    pub const ANY: Quorum = Quorum {
        at_least: 1,
        fraction: None,
    };

    /// At least `n` distinct peers (`n` of 0 is taken as 1).
    pub const fn at_least(n: u32) -> Quorum {
        Quorum {
            at_least: if n == 0 { 1 } else { n },
            fraction: None,
        }
    }

    /// Peers needed when `live` instances (this one included) are live.
    pub fn needed(&self, live: usize) -> usize {
        let by_count = self.at_least.max(1) as usize;
        let by_share = self
            .fraction
            .map_or(0, |f| (f.clamp(0.0, 1.0) * live as f64).ceil() as usize);
        by_count.max(by_share)
    }
}

/// What a peer said about one of its breakers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum News {
    /// It opened (from its own failures), for `remaining` from when it said so.
    Open {
        /// The open time left when the report was received.
        remaining: Duration,
    },
    /// Its probes succeeded: it closed.
    Close,
}

/// One report: (breaker, instance, epoch, news, time received).
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    /// The breaker's name.
    pub breaker: &'a str,
    /// The reporting instance.
    pub instance: &'a str,
    /// The reporter's epoch for that transition (repeats are duplicates).
    pub epoch: u64,
    /// What it reported.
    pub news: News,
    /// When it was received, on the receiver's monotonic clock.
    pub received: Duration,
}

/// What the receiver should do about a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Enough peers report an open: adopt it for `open_for` (the
    /// `needed`-th longest time any of them has left, so that no single
    /// peer decides how long the fleet stays open).
    Adopt {
        /// How long to stay open.
        open_for: Duration,
        /// Distinct peers with an open report in force.
        reporters: usize,
    },
    /// An open was reported, not yet by enough peers.
    Waiting {
        /// Distinct peers with an open report in force.
        reporters: usize,
        /// Peers needed.
        needed: usize,
    },
    /// An open adopted earlier ends no earlier (within the slack) than
    /// this one would: nothing to do, unless the local breaker has left
    /// that adopted open meanwhile (an operator's reset, a local close), in
    /// which case the caller adopts `open_for` anyway.
    AlreadyAdopted {
        /// What an adoption now would be.
        open_for: Duration,
    },
    /// A peer closed while this instance holds an adopted open: probe now
    /// rather than wait for the period to end.
    ProbeEarly,
    /// Nothing to do (a close while nothing was adopted).
    Noted,
    /// The same (instance, epoch, news) was seen already (the state hash
    /// read at join repeats what pub/sub delivered).
    Duplicate,
}

/// The ledger's rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
    /// How many peers must agree.
    pub quorum: Quorum,
    /// A report counts for at most this long after it was received.
    pub interval: Duration,
    /// A peer is live for this long after anything was heard from it.
    pub peer_ttl: Duration,
    /// A new adoption while one is in force only if it ends at least this
    /// much later (saves a transition per report of one outage).
    pub refresh_slack: Duration,
}

#[derive(Clone, Copy, Debug)]
struct OpenReport {
    until: Duration,
    received: Duration,
}

#[derive(Debug, Default)]
struct Book {
    opens: HashMap<String, OpenReport>,
    last: HashMap<String, (u64, bool)>,
    adopted_until: Option<Duration>,
}

/// Past this many peers (or remembered reports of one breaker), the
/// silent ones are forgotten: instance ids come from the network.
const PRUNE_AT: usize = 1024;

/// Reports per breaker and peer, and the peers heard lately.
#[derive(Debug)]
pub struct Ledger {
    rules: Rules,
    books: HashMap<String, Book>,
    peers: HashMap<String, Duration>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new(rules: Rules) -> Ledger {
        Ledger {
            rules,
            books: HashMap::new(),
            peers: HashMap::new(),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Something (a heartbeat, a report) was heard from `instance` at `now`.
    pub fn heard(&mut self, instance: &str, now: Duration) {
        match self.peers.get_mut(instance) {
            Some(t) => *t = (*t).max(now),
            None => {
                if self.peers.len() >= PRUNE_AT {
                    // Instance ids come from the network: forget the
                    // silent ones rather than grow without bound.
                    let ttl = self.rules.peer_ttl;
                    self.peers.retain(|_, t| now.saturating_sub(*t) <= ttl);
                }
                self.peers.insert(instance.to_string(), now);
            }
        }
    }

    /// Live instances at `now`, this one included.
    pub fn live(&self, now: Duration) -> usize {
        let ttl = self.rules.peer_ttl;
        1 + self
            .peers
            .values()
            .filter(|t| now.saturating_sub(**t) <= ttl)
            .count()
    }

    /// Takes a report and says what to do.
    pub fn report(&mut self, r: Report<'_>) -> Verdict {
        self.heard(r.instance, r.received);
        let now = r.received;
        let live = self.live(now);
        let rules = self.rules;
        let book = self.books.entry(r.breaker.to_string()).or_default();
        let is_open = matches!(r.news, News::Open { .. });
        if book.last.get(r.instance) == Some(&(r.epoch, is_open)) {
            return Verdict::Duplicate;
        }
        if book.last.len() >= PRUNE_AT {
            // Only the duplicates of reports still in force matter.
            let opens = &book.opens;
            book.last.retain(|i, _| opens.contains_key(i));
        }
        book.last.insert(r.instance.to_string(), (r.epoch, is_open));
        match r.news {
            News::Close => {
                book.opens.remove(r.instance);
                match book.adopted_until.take() {
                    Some(until) if until > now => Verdict::ProbeEarly,
                    _ => Verdict::Noted,
                }
            }
            News::Open { remaining } => {
                book.opens.insert(
                    r.instance.to_string(),
                    OpenReport {
                        until: now + remaining,
                        received: now,
                    },
                );
                book.opens.retain(|_, o| {
                    o.until > now && now.saturating_sub(o.received) <= rules.interval
                });
                let needed = rules.quorum.needed(live);
                let reporters = book.opens.len();
                if reporters < needed {
                    return Verdict::Waiting { reporters, needed };
                }
                let mut left: Vec<Duration> = book.opens.values().map(|o| o.until - now).collect();
                left.sort_unstable_by(|a, b| b.cmp(a));
                let open_for = left[needed - 1];
                let until = now + open_for;
                if let Some(held) = book.adopted_until {
                    if held > now && until <= held + rules.refresh_slack {
                        return Verdict::AlreadyAdopted { open_for };
                    }
                }
                book.adopted_until = Some(until);
                Verdict::Adopt {
                    open_for,
                    reporters,
                }
            }
        }
    }

    /// The breaker's adopted open ended early (the local breaker moved on:
    /// a local probe, an operator): forget it.
    pub fn forget_adoption(&mut self, breaker: &str) {
        if let Some(b) = self.books.get_mut(breaker) {
            b.adopted_until = None;
        }
    }
}

#[cfg(test)]
mod tests;
