//! What travels through Redis: pub/sub messages and state-hash values, as
//! short text lines (readable with `redis-cli`).
//!
//! A message is `fb1 <kind> <instance> <epoch> <remaining_ms> <breaker>`,
//! `kind` one of `open`, `close`, `hb` (a heartbeat, breaker `-`); the
//! breaker's name is the rest of the line, so it may hold spaces. Only a
//! duration crosses machines: the open time left when it was sent.

use std::time::Duration;

const VERSION: &str = "fb1";

/// What a message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The sender's breaker opened from its own failures.
    Open,
    /// The sender's breaker closed after successful probes.
    Close,
    /// The sender is alive (and its link works).
    Heartbeat,
    /// State-hash entries only: a state saved by [`Fleet::save`](super::Fleet::save),
    /// for the same instance's restart; not news for peers.
    Saved,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Open => "open",
            Kind::Close => "close",
            Kind::Heartbeat => "hb",
            Kind::Saved => "saved",
        }
    }
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "open" => Kind::Open,
            "close" => Kind::Close,
            "hb" => Kind::Heartbeat,
            "saved" => Kind::Saved,
            _ => return None,
        })
    }
}

/// A decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What it says.
    pub kind: Kind,
    /// Who sent it.
    pub instance: String,
    /// The sender's epoch for the transition (0 for a heartbeat).
    pub epoch: u64,
    /// For an open: the time it had left when sent.
    pub remaining: Duration,
    /// The breaker (`-` for a heartbeat).
    pub breaker: String,
}

impl Message {
    /// The line sent.
    pub fn encode(&self) -> String {
        format!(
            "{VERSION} {} {} {} {} {}",
            self.kind.as_str(),
            self.instance,
            self.epoch,
            self.remaining.as_millis(),
            self.breaker
        )
    }

    /// A line received; `None` for anything else (another version, noise).
    pub fn decode(line: &str) -> Option<Message> {
        let mut parts = line.splitn(6, ' ');
        if parts.next()? != VERSION {
            return None;
        }
        let kind = Kind::parse(parts.next()?)?;
        let instance = parts.next()?.to_string();
        let epoch = parts.next()?.parse().ok()?;
        let remaining = Duration::from_millis(parts.next()?.parse().ok()?);
        let breaker = parts.next()?.to_string();
        if instance.is_empty() || breaker.is_empty() {
            return None;
        }
        Some(Message {
            kind,
            instance,
            epoch,
            remaining,
            breaker,
        })
    }
}

/// One instance's entry in a breaker's state hash (field: the instance's
/// id for its last published transition, `<id>/saved` for its last
/// [`Fleet::save`](super::Fleet::save)), with the breaker's exported state
/// when written (compact JSON of [`fusebox_core::Exported`]);
/// `stamp_ms` is the Redis server's clock when it was written, so that a
/// reader measures the entry's age on that same clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `open`, `close` or `saved`.
    pub kind: Kind,
    /// The writer's epoch.
    pub epoch: u64,
    /// Open time left when written.
    pub remaining: Duration,
    /// The exported state, as text (empty when none was saved).
    pub state: String,
    /// The server's clock at the write, in milliseconds.
    pub stamp_ms: u64,
}

impl Entry {
    /// The value written, without the stamp (the server appends it).
    pub fn encode_unstamped(kind: Kind, epoch: u64, remaining: Duration, state: &str) -> String {
        format!(
            "{} {} {} {}",
            kind.as_str(),
            epoch,
            remaining.as_millis(),
            if state.is_empty() { "-" } else { state }
        )
    }

    /// A stamped value read back.
    pub fn decode(value: &str) -> Option<Entry> {
        let (body, stamp) = value.rsplit_once(' ')?;
        let mut parts = body.splitn(4, ' ');
        let kind = Kind::parse(parts.next()?)?;
        let epoch = parts.next()?.parse().ok()?;
        let remaining = Duration::from_millis(parts.next()?.parse().ok()?);
        let state = match parts.next()? {
            "-" => String::new(),
            s => s.to_string(),
        };
        Some(Entry {
            kind,
            epoch,
            remaining,
            state,
            stamp_ms: stamp.parse().ok()?,
        })
    }

    /// Its age at `server_now_ms` (zero if that server's clock went back).
    pub fn age_at(&self, server_now_ms: u64) -> Duration {
        Duration::from_millis(server_now_ms.saturating_sub(self.stamp_ms))
    }

    /// The open time left at `server_now_ms` (zero for a close or an
    /// expired open).
    pub fn remaining_at(&self, server_now_ms: u64) -> Duration {
        self.remaining.saturating_sub(self.age_at(server_now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_spaces_in_the_breaker_name() {
        let m = Message {
            kind: Kind::Open,
            instance: "web-7".into(),
            epoch: 42,
            remaining: Duration::from_millis(1500),
            breaker: "llm api".into(),
        };
        assert_eq!(m.encode(), "fb1 open web-7 42 1500 llm api");
        assert_eq!(Message::decode(&m.encode()), Some(m));
        assert_eq!(Message::decode("fb2 open a 1 1 x"), None);
        assert_eq!(Message::decode("fb1 open a x 1 x"), None);
        assert_eq!(Message::decode("fb1 shut a 1 1 x"), None);
        assert_eq!(Message::decode("fb1 open a 1 1"), None);
    }

    #[test]
    fn entries_measure_their_age_on_the_servers_clock() {
        let v = Entry::encode_unstamped(Kind::Open, 5, Duration::from_millis(800), "");
        let e = Entry::decode(&format!("{v} 10000")).unwrap();
        assert_eq!(e.state, "");
        assert_eq!(e.remaining_at(10_300), Duration::from_millis(500));
        assert_eq!(e.remaining_at(20_000), Duration::ZERO);
        // A server clock that went back counts as no age.
        assert_eq!(e.remaining_at(9_000), Duration::from_millis(800));
        let v = Entry::encode_unstamped(Kind::Close, 6, Duration::ZERO, "v1,closed,0");
        let e = Entry::decode(&format!("{v} 1")).unwrap();
        assert_eq!(
            (e.kind, e.epoch, e.state.as_str()),
            (Kind::Close, 6, "v1,closed,0")
        );
    }
}
