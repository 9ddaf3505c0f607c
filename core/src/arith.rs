//! 64-bit division and multiplication that stay small on 32-bit chips.
//!
//! Deadlines, backoffs and durations are `u64` tick counts. On a 32-bit
//! target a `u64` `/` or `%`, even by a constant, is a call to the compiler's
//! `__aeabi_uldivmod`, about 1 KB of flash on a Cortex-M0. [`div_rem`] keeps
//! the native operator where the target divides 64-bit words in hardware and
//! uses a few dozen bytes of shift-and-subtract elsewhere, with a 32-bit
//! divide for the common case of operands that fit. [`checked_mul`] does the
//! same for an overflow-checked product, which is three multiplications and
//! an overflow test inline at every use on a 32-bit target.

/// `(n / d, n % d)`, exactly as the operators compute them; `d` must not be 0.
#[inline]
pub(crate) const fn div_rem(n: u64, d: u64) -> (u64, u64) {
    if cfg!(target_pointer_width = "64") {
        (n / d, n % d)
    } else {
        div_rem_narrow(n, d)
    }
}

/// [`div_rem`] without a 64-bit divide: out of line, so each firmware has
/// one copy of it.
#[inline(never)]
const fn div_rem_narrow(n: u64, d: u64) -> (u64, u64) {
    if n < d {
        return (0, n);
    }
    if (n | d) >> 32 == 0 {
        // Both fit 32 bits: one hardware (M3) or runtime-library (M0) divide.
        let (n, d) = (n as u32, d as u32);
        return ((n / d) as u64, (n % d) as u64);
    }
    if d >> 63 != 0 {
        // d <= n < 2^64 < 2d: the quotient is 1, and `r << 1` below would overflow.
        return (1, n - d);
    }
    // Restoring division: the dividend shifts out of `q` into `r` one bit
    // at a time, and the quotient's bits shift into `q` behind it.
    let (mut q, mut r) = (n, 0u64);
    let mut i = 0;
    while i < 64 {
        r = (r << 1) | (q >> 63);
        q <<= 1;
        if r >= d {
            r -= d;
            q |= 1;
        }
        i += 1;
    }
    (q, r)
}

/// `a.checked_mul(b)`, for a multiplier that fits 32 bits.
#[inline]
pub(crate) const fn checked_mul(a: u64, b: u32) -> Option<u64> {
    if cfg!(target_pointer_width = "64") {
        a.checked_mul(b as u64)
    } else {
        checked_mul_narrow(a, b)
    }
}

/// [`checked_mul`] as two 32 x 32 -> 64 products, out of line.
#[inline(never)]
const fn checked_mul_narrow(a: u64, b: u32) -> Option<u64> {
    let high = (a >> 32) * b as u64;
    if high >> 32 != 0 {
        return None;
    }
    ((a & 0xffff_ffff) * b as u64).checked_add(high << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_division_matches_the_operators() {
        let values = [
            0u64,
            1,
            2,
            3,
            7,
            625,
            9_999,
            10_000,
            1_000_000,
            999_983,
            1_000_000_000,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
            1 << 32,
            (1 << 32) + 1,
            0x1234_5678_9abc_def0,
            1 << 62,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 12_345,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let check = |n: u64, d: u64| {
            if d != 0 {
                assert_eq!(div_rem_narrow(n, d), (n / d, n % d), "{n} / {d}");
                assert_eq!(div_rem(n, d), (n / d, n % d), "{n} / {d}");
            }
        };
        for &n in &values {
            for &d in &values {
                check(n, d);
            }
        }
        for _ in 0..10_000 {
            // xorshift64: operands of every width, not only the listed ones.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (n, d) = (x, x.rotate_left(17) >> (x % 64));
            check(n, d);
            check(n >> (x % 61), d);
        }
    }

    #[test]
    fn narrow_multiplication_matches_checked_mul() {
        let values = [
            0u64,
            1,
            2,
            10_000,
            u32::MAX as u64,
            1 << 32,
            (1 << 32) + 1,
            0x1_0000_0001,
            u64::MAX / 10_000,
            u64::MAX / 10_000 + 1,
            u64::MAX / u32::MAX as u64,
            u64::MAX / u32::MAX as u64 + 1,
            u64::MAX,
        ];
        let factors = [0u32, 1, 2, 9_999, 10_000, 20_000, 1 << 31, u32::MAX];
        let check = |a: u64, b: u32| {
            assert_eq!(
                checked_mul_narrow(a, b),
                a.checked_mul(b as u64),
                "{a} * {b}"
            );
            assert_eq!(checked_mul(a, b), a.checked_mul(b as u64), "{a} * {b}");
        };
        for &a in &values {
            for &b in &factors {
                check(a, b);
                check(a.wrapping_sub(1), b);
            }
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x >> (x % 64), (x >> 7) as u32 >> (x % 32));
        }
    }
}
