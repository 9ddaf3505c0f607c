//! The window of one closed or metrics-only episode (DESIGN.md §3, §13).

use std::collections::VecDeque;

use super::WindowKind;

/// Window aggregates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Outcomes in the window (ignored ones never enter).
    pub calls: u32,
    /// Failures among them.
    pub failures: u32,
    /// Slow outcomes among them (success or failure).
    pub slow: u32,
}

/// The recorded outcomes of the current closed (or metrics-only) episode.
#[derive(Clone, Debug)]
pub(super) enum Window {
    None,
    /// (failure, slow), oldest first, at most `size`.
    Count {
        size: usize,
        outcomes: VecDeque<(bool, bool)>,
    },
    /// (slot, failure, slow) of every record of the episode.
    Time {
        buckets: u64,
        width: u64,
        records: Vec<(u64, bool, bool)>,
    },
}

impl Window {
    pub(super) fn new(kind: WindowKind) -> Self {
        match kind {
            WindowKind::None => Window::None,
            WindowKind::Count { size } => Window::Count {
                size,
                outcomes: VecDeque::new(),
            },
            WindowKind::Time { buckets, span } => Window::Time {
                buckets,
                width: (span / buckets).max(1),
                records: Vec::new(),
            },
        }
    }

    pub(super) fn clear(&mut self) {
        match self {
            Window::None => {}
            Window::Count { outcomes, .. } => outcomes.clear(),
            Window::Time { records, .. } => records.clear(),
        }
    }

    pub(super) fn push(&mut self, now: u64, failure: bool, slow: bool) {
        match self {
            Window::None => {}
            Window::Count { size, outcomes } => {
                if outcomes.len() == *size {
                    outcomes.pop_front();
                }
                outcomes.push_back((failure, slow));
            }
            Window::Time { width, records, .. } => records.push((now / *width, failure, slow)),
        }
    }

    pub(super) fn counts(&self, now: u64) -> Counts {
        let mut c = Counts::default();
        let mut add = |failure: bool, slow: bool| {
            c.calls += 1;
            c.failures += failure as u32;
            c.slow += slow as u32;
        };
        match self {
            Window::None => {}
            Window::Count { outcomes, .. } => outcomes.iter().for_each(|&(f, s)| add(f, s)),
            Window::Time {
                buckets,
                width,
                records,
            } => {
                let current = now / *width;
                // A bucket older than B slots reads as empty.
                for &(slot, f, s) in records {
                    if slot + *buckets > current {
                        add(f, s);
                    }
                }
            }
        }
        c
    }
}
