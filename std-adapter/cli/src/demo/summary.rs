//! The demo's summary: a table for people, or one JSON object.

use super::clients::Latencies;
use super::service::Dependency;
use super::Ran;
use fusebox_core::State;
use std::path::Path;

pub struct Summary<'a> {
    pub ran: &'a Ran,
    pub clients: u16,
    /// The plot's path, or why it was not written.
    pub plot: Result<&'a Path, &'a String>,
}

fn us(v: Option<u64>) -> String {
    match v {
        None => "-".to_string(),
        Some(u) if u >= 10_000 => format!("{:.0} ms", u as f64 / 1000.0),
        Some(u) if u >= 1_000 => format!("{:.1} ms", u as f64 / 1000.0),
        Some(u) => format!("{u} µs"),
    }
}

fn p50_p99(l: &Latencies) -> serde_json::Value {
    serde_json::json!({ "p50": l.quantile(0.5), "p99": l.quantile(0.99) })
}

impl Summary<'_> {
    fn table_row(cells: [&str; 14]) {
        let [name, rest @ ..] = cells;
        let widths = [7, 9, 8, 7, 7, 6, 6, 7, 10, 8, 9, 9, 10];
        let mut line = format!("{name:<10}");
        for (c, w) in rest.iter().zip(widths) {
            line.push_str(&format!(" {c:>w$}"));
        }
        println!("{line}");
    }

    pub fn table(&self) {
        let ran = self.ran;
        println!(
            "\nfusebox demo: {:.1} s{}, {} callers per dependency, service on {}\n",
            ran.end_ms as f64 / 1000.0,
            if ran.interrupted {
                " (cut short by Ctrl-C)"
            } else {
                ""
            },
            self.clients,
            ran.addr
        );
        Self::table_row([
            "breaker",
            "calls",
            "rejected",
            "reached",
            "ok",
            "failed",
            "429",
            "trips",
            "open",
            "half-open",
            "closed",
            "p50 call",
            "p99 call",
            "p50 reject",
        ]);
        let (mut calls, mut rejected) = (0, 0);
        for ((d, t), s) in Dependency::ALL.iter().zip(&ran.tracks).zip(&ran.seen) {
            let ms_in = t.ms_in(ran.end_ms);
            let secs = |i: usize| format!("{:.1}s", ms_in[i] as f64 / 1000.0);
            // What the callers saw; the breaker's own counts are in the
            // JSON summary (a 429 with Retry-After is a failure to it).
            let permitted = s.ok + s.failed + s.limited;
            Self::table_row([
                t.name,
                &(permitted + s.rejected).to_string(),
                &s.rejected.to_string(),
                &ran.served.hits(*d).to_string(),
                &s.ok.to_string(),
                &s.failed.to_string(),
                &s.limited.to_string(),
                &t.last.trips.to_string(),
                &secs(1),
                &secs(2),
                &secs(0),
                &us(s.permitted.quantile(0.5)),
                &us(s.permitted.quantile(0.99)),
                &us(s.rejections.quantile(0.5)),
            ]);
            calls += permitted + s.rejected;
            rejected += s.rejected;
        }
        println!(
            "\nThe breakers turned away {rejected} of {calls} calls ({:.0} %) without touching the network.",
            100.0 * rejected as f64 / calls.max(1) as f64
        );
        // What progressive recovery and adaptive throttling turned away
        // (counted among the rejected above).
        for t in &ran.tracks {
            let config = t.breaker.config();
            let c = t.breaker.observer().totals().snapshot();
            if let Some(up) = config.ramp_up() {
                let stages: Vec<String> = config
                    .ramp_stages()
                    .as_slice()
                    .iter()
                    .map(|p| p.to_string())
                    .collect();
                println!(
                    "{} recovers in stages ({} % over {:.1} s after each close): the ramp turned away {} calls.",
                    t.name,
                    stages.join(", "),
                    up.as_secs_f64(),
                    c.rejected_ramp
                );
            }
            if let Some(k) = config.throttle_k() {
                println!(
                    "{} throttles adaptively (K {:.2}): it turned away {} calls.",
                    t.name,
                    k.basis_points() as f64 / 10_000.0,
                    c.rejected_throttled
                );
            }
        }
        match self.plot {
            Ok(p) => println!("timeline: {}", p.display()),
            Err(e) => println!("timeline: not written ({e})"),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let ran = self.ran;
        let breakers: Vec<_> = Dependency::ALL
            .iter()
            .zip(&ran.tracks)
            .zip(&ran.seen)
            .map(|((d, t), s)| {
                let c = t.breaker.observer().totals().snapshot();
                let ms_in: serde_json::Map<_, _> = State::ALL
                    .iter()
                    .zip(t.ms_in(ran.end_ms))
                    .map(|(st, ms)| (st.as_str().to_string(), ms.into()))
                    .collect();
                let transitions: Vec<_> = t
                    .transitions
                    .iter()
                    .map(|(at, tr)| {
                        serde_json::json!({
                            "at_ms": at,
                            "epoch": tr.epoch,
                            "from": tr.from.as_str(),
                            "to": tr.to.as_str(),
                            "reason": tr.reason.as_str(),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": t.name,
                    // The breaker's own counts (its observer's totals).
                    "permitted": c.permitted,
                    "rejected": c.rejected,
                    // Of those, by the ramp after a close and by the throttle.
                    "rejected_ramp": c.rejected_ramp,
                    "rejected_throttled": c.rejected_throttled,
                    "success": c.success,
                    "failure": c.failure,
                    "ignored": c.ignored,
                    "slow": c.slow,
                    "stale": c.stale,
                    "abandoned": c.abandoned,
                    "trips": t.last.trips,
                    "state": t.last.state.as_str(),
                    "ms_in": ms_in,
                    "transitions": transitions,
                    // What the service counted.
                    "reached": ran.served.hits(*d),
                    // What the callers saw.
                    "client": {
                        "ok": s.ok,
                        "failed": s.failed,
                        "limited": s.limited,
                        "rejected": s.rejected,
                        "permitted_us": p50_p99(&s.permitted),
                        "rejected_us": p50_p99(&s.rejections),
                    },
                })
            })
            .collect();
        serde_json::json!({
            "duration_ms": ran.end_ms,
            "interrupted": ran.interrupted,
            "clients_per_dependency": self.clients,
            "breakers": breakers,
            "plot": self.plot.ok().map(|p| p.display().to_string()),
        })
    }
}
