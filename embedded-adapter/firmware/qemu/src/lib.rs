//! Shared parts of the fusebox QEMU firmware: a SysTick time driver for
//! `embassy-time` and a tiny check-and-report harness over semihosting.
//!
//! Each binary defines the `SysTick` exception and calls [`time::on_tick`]
//! first, so that it can add its own interrupt-side work after it.
#![no_std]
#![deny(missing_docs)]

pub mod report;
pub mod time;

// Links cortex-m's `critical-section-single-core` implementation (an
// unreferenced crate would not be linked).
use cortex_m as _;
