//! `tracing` events from the registry's breakers. In a test binary of its
//! own: tracing caches each callsite's interest process-wide, so a callsite
//! first hit by a test running without a subscriber would stay silent here.

use fusebox_core::Config;
use fusebox_std::{BreakerSpec, CallExt, Registry, WindowSpec};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn consecutive(n: u32) -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(n)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

/// A subscriber that keeps "LEVEL message breaker=..." of each event.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", f.name(), v));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push_str(&format!(" {}={}", f.name(), v));
            }
        }
        let mut fields = Fields(format!("{}", event.metadata().level()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn transitions_and_rejections_are_tracing_events() {
    let recorder = Recorder::default();
    let lines = recorder.0.clone();
    tracing::subscriber::with_default(recorder, || {
        let registry = Registry::new();
        let db = registry
            .get_or_insert_with("db", || consecutive(1))
            .unwrap();
        let _ = db.call(|| Err::<(), _>(()));
        let _ = db.call(|| Ok::<(), ()>(()));
    });
    let lines = lines.lock().unwrap();
    let opened = lines
        .iter()
        .find(|l| l.contains("circuit breaker opened"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(opened.starts_with("WARN"), "{opened}");
    assert!(
        opened.contains("breaker=db") && opened.contains("reason=consecutive_failures"),
        "{opened}"
    );
    let rejected = lines.iter().find(|l| l.contains("call rejected")).unwrap();
    assert!(
        rejected.starts_with("DEBUG") && rejected.contains("state=open"),
        "{rejected}"
    );
}
