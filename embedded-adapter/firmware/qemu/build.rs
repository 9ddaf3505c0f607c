//! Writes the chip's `memory.x` (chosen by TARGET) and the linker script
//! arguments for the binaries and examples of this crate.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").expect("TARGET");
    // lm3s6965evb (M3) and mps2-an386 (M4F): 256K flash, 64K RAM used.
    // micro:bit nRF51822 (M0): 256K flash, 16K RAM.
    let ram = if target.starts_with("thumbv6m") {
        "16K"
    } else {
        "64K"
    };
    fs::write(
        out.join("memory.x"),
        format!(
            "MEMORY\n{{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = {ram}\n}}\n"
        ),
    )
    .expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-examples=-Tlink.x");
    println!("cargo:rustc-env=FW_TARGET={target}");
    // The SysTick input clock that QEMU models for each machine, in Hz.
    let core_clock_hz = if target.starts_with("thumbv6m") {
        16_000_000 // micro:bit (nRF51)
    } else if target.starts_with("thumbv7em") {
        25_000_000 // mps2-an386
    } else {
        12_000_000 // lm3s6965evb
    };
    println!("cargo:rustc-env=FW_CORE_CLOCK_HZ={core_clock_hz}");
    println!("cargo:rerun-if-changed=build.rs");
}
