//! The only place that names an atomic implementation.
//!
//! Normally the atomics are `portable_atomic`'s (which are `core`'s on chips
//! with native compare-and-swap, and critical sections on chips without it
//! when the application enables `critical-section`). Under
//! `--cfg fusebox_loom` they are loom's, so loom sees every access.
//!
//! Every shared word is *native width*: [`Word`] is `u64` where the target has
//! lock-free 64-bit atomics and `u32` elsewhere (`--cfg fusebox_narrow` forces
//! the 32-bit layout on the host so tests cover it). No `AtomicU64` is ever
//! used on a 32-bit chip, so no lock-based fallback can sit under a breaker.

#[cfg(all(not(fusebox_loom), target_has_atomic = "64", not(fusebox_narrow)))]
pub(crate) use portable_atomic::AtomicU64;
#[cfg(not(fusebox_loom))]
pub(crate) use portable_atomic::{AtomicU32, Ordering};

#[cfg(all(fusebox_loom, target_has_atomic = "64", not(fusebox_narrow)))]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(fusebox_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};

/// The native word of this target (see the module docs).
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub(crate) type Word = u64;
/// The atomic holding a [`Word`].
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub(crate) type AtomicWord = AtomicU64;
/// The native word of this target (see the module docs).
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub(crate) type Word = u32;
/// The atomic holding a [`Word`].
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub(crate) type AtomicWord = AtomicU32;

/// Bits in a [`Word`].
pub(crate) const WORD_BITS: u32 = Word::BITS;

/// A new atomic word, `const` outside loom (loom's atomics are not `const`).
#[cfg(not(fusebox_loom))]
pub(crate) const fn atomic_word(v: Word) -> AtomicWord {
    AtomicWord::new(v)
}
/// A new atomic word, `const` outside loom (loom's atomics are not `const`).
#[cfg(fusebox_loom)]
pub(crate) fn atomic_word(v: Word) -> AtomicWord {
    AtomicWord::new(v)
}

/// A new `AtomicU32`, `const` outside loom.
#[cfg(not(fusebox_loom))]
pub(crate) const fn atomic_u32(v: u32) -> AtomicU32 {
    AtomicU32::new(v)
}
/// A new `AtomicU32`, `const` outside loom.
#[cfg(fusebox_loom)]
pub(crate) fn atomic_u32(v: u32) -> AtomicU32 {
    AtomicU32::new(v)
}

/// This thread's index in the running loom execution (0 for the model's own
/// thread, then in spawn order): the same in every execution loom replays,
/// which a stack address is not. loom shows the index only through `Debug`
/// (`ThreadId(2)`), so the digits are read from there.
#[cfg(fusebox_loom)]
pub(crate) fn loom_thread_index() -> usize {
    struct Digits(usize);
    impl core::fmt::Write for Digits {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for d in s.bytes().filter(u8::is_ascii_digit) {
                self.0 = self.0 * 10 + usize::from(d - b'0');
            }
            Ok(())
        }
    }
    let mut n = Digits(0);
    let _ = core::fmt::write(&mut n, format_args!("{:?}", loom::thread::current().id()));
    n.0
}

/// Aligns `T` to its own cache line so that cores writing neighbouring
/// stripes do not share a line (128 bytes covers the adjacent-line prefetch
/// of x86-64 and the 128-byte lines of recent Arm server cores; 32 on
/// microcontrollers, which have no data cache to speak of).
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(32))
)]
pub(crate) struct CachePadded<T>(pub(crate) T);
