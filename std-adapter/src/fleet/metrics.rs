//! The fleet's counters in the Prometheus exposition, beside the
//! registry's own ([`RegistryCollector`](crate::metrics::RegistryCollector)).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `circuit_breaker_fleet_adoptions_total` | counter | `name` |
//! | `circuit_breaker_fleet_adoptions_refused_total` | counter | `name` |
//! | `circuit_breaker_fleet_publications_total` | counter | `name` |
//! | `circuit_breaker_fleet_drops_total` | counter | `name` |
//! | `circuit_breaker_fleet_store_errors_total` | counter | `name` |
//! | `circuit_breaker_fleet_early_probes_total` | counter | `name` |
//! | `circuit_breaker_fleet_restores_total` | counter | `name` |
//! | `circuit_breaker_fleet_link_errors_total` | counter | |
//! | `circuit_breaker_fleet_live_instances` | gauge | |

use super::{FleetCounts, Shared};
use crate::metrics::label;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A `prometheus-client` [`Collector`] of a [`Fleet`](super::Fleet)'s
/// counters ([`Fleet::collector`](super::Fleet::collector)); it outlives
/// the fleet's tasks and then shows their last values.
pub struct FleetCollector {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for FleetCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetCollector")
            .field("instance", &self.shared.config.instance)
            .finish()
    }
}

type Pick = fn(&FleetCounts) -> u64;

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let counts = self.shared.stats.all();
        let families: [(&str, &str, Pick); 7] = [
            ("adoptions", "Peers' opens adopted", |c| c.adoptions),
            (
                "adoptions_refused",
                "Adoptions the breaker did not take",
                |c| c.adoptions_refused,
            ),
            ("publications", "Own opens and closes published", |c| {
                c.publications
            }),
            ("drops", "Own opens and closes dropped unpublished", |c| {
                c.drops
            }),
            (
                "store_errors",
                "Redis commands that failed or timed out",
                |c| c.store_errors,
            ),
            (
                "early_probes",
                "Adopted opens ended by a peer's close",
                |c| c.early_probes,
            ),
            ("restores", "Own states restored at start-up", |c| {
                c.restores
            }),
        ];
        for (name, help, pick) in families {
            let name = format!("circuit_breaker_fleet_{name}");
            let mut m = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
            for (breaker, c) in &counts {
                m.encode_family(&[("name", label(breaker).as_ref())])?
                    .encode_counter::<NoLabelSet, _, u64>(&pick(c), None)?;
            }
        }
        let mut m = encoder.encode_descriptor(
            "circuit_breaker_fleet_link_errors",
            "Failed or silent Redis connections",
            None,
            MetricType::Counter,
        )?;
        // Relaxed: a statistic.
        let v = self.shared.link_errors.load(Ordering::Relaxed);
        m.encode_counter::<NoLabelSet, _, u64>(&v, None)?;
        let mut m = encoder.encode_descriptor(
            "circuit_breaker_fleet_live_instances",
            "Instances heard within three heartbeats, this one included",
            None,
            MetricType::Gauge,
        )?;
        let live = self.shared.ledger().live(self.shared.origin.elapsed()) as i64;
        m.encode_gauge(&live)?;
        Ok(())
    }
}
